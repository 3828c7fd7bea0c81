// Keccak-f[1600] and the FIPS 202 sponges ML-KEM needs (SHA3-256, SHA3-512,
// SHAKE128, SHAKE256), written once for host and device (GT_HD). No table:
// the rho rotations and pi lane order are compile-time functions of the step,
// the round constants come from their LFSR (FIPS 202 algorithm 5), so the
// same code runs on both sides with nothing to upload. Nothing here branches
// on or indexes by the data; input and output lengths are public.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gputls/kernels/gt_hd.h"

namespace gputls::kernels::keccak {

namespace detail {

GT_HD constexpr int rho_rotation(int i) { return ((i + 1) * (i + 2) / 2) % 64; }

// Lane reached after i + 1 steps of pi's walk (x, y) -> (y, 2x + 3y) from (1, 0).
GT_HD constexpr int pi_lane(int i) {
  int x = 1, y = 0;
  for (int k = 0; k <= i; ++k) {
    const int nx = y, ny = (2 * x + 3 * y) % 5;
    x = nx;
    y = ny;
  }
  return x + 5 * y;
}

GT_HD uint64_t rotl64(uint64_t v, int n) { return n == 0 ? v : (v << n) | (v >> (64 - n)); }

}  // namespace detail

// Keccak-f[1600] on 25 lanes, lane (x, y) at index x + 5 y.
GT_HD void permute(uint64_t s[25]) {
  uint32_t lfsr = 1;  // round constants: FIPS 202 rc(t), x^8 + x^6 + x^5 + x^4 + 1
  for (int round = 0; round < 24; ++round) {
    uint64_t c[5];
    for (int x = 0; x < 5; ++x) c[x] = s[x] ^ s[x + 5] ^ s[x + 10] ^ s[x + 15] ^ s[x + 20];
    for (int x = 0; x < 5; ++x) {
      const uint64_t d = c[(x + 4) % 5] ^ detail::rotl64(c[(x + 1) % 5], 1);
      for (int y = 0; y < 25; y += 5) s[x + y] ^= d;
    }
    uint64_t t = s[1];
GT_UNROLL
    for (int i = 0; i < 24; ++i) {
      const int j = detail::pi_lane(i);
      const uint64_t next = s[j];
      s[j] = detail::rotl64(t, detail::rho_rotation(i));
      t = next;
    }
    for (int y = 0; y < 25; y += 5) {
      uint64_t row[5];
      for (int x = 0; x < 5; ++x) row[x] = s[y + x];
      for (int x = 0; x < 5; ++x) s[y + x] = row[x] ^ (~row[(x + 1) % 5] & row[(x + 2) % 5]);
    }
    uint64_t rc = 0;
    for (int j = 0; j < 7; ++j) {
      rc |= uint64_t{lfsr & 1} << ((1 << j) - 1);
      lfsr = ((lfsr << 1) ^ ((lfsr >> 7) * 0x71u)) & 0xffu;
    }
    s[0] ^= rc;
  }
}

// A sponge: absorb, finish with the domain's padding, squeeze.
struct Sponge {
  uint64_t s[25];
  uint32_t rate;  // bytes
  uint32_t pos;   // bytes absorbed into (or squeezed from) the current block

  GT_HD void init(uint32_t rate_bytes) {
    for (int i = 0; i < 25; ++i) s[i] = 0;
    rate = rate_bytes;
    pos = 0;
  }

  GT_HD void xor_byte(uint32_t i, uint8_t v) { s[i / 8] ^= uint64_t{v} << (8 * (i % 8)); }

  GT_HD void absorb(const uint8_t* in, size_t len) {
    for (size_t k = 0; k < len; ++k) {
      xor_byte(pos, in[k]);
      if (++pos == rate) {
        permute(s);
        pos = 0;
      }
    }
  }

  // Padding: the domain bits (0x06 for SHA3, 0x1f for SHAKE) then the final 1.
  GT_HD void finish(uint8_t domain) {
    xor_byte(pos, domain);
    xor_byte(rate - 1, 0x80);
    permute(s);
    pos = 0;
  }

  GT_HD void squeeze(uint8_t* out, size_t len) {
    for (size_t k = 0; k < len; ++k) {
      if (pos == rate) {
        permute(s);
        pos = 0;
      }
      out[k] = static_cast<uint8_t>(s[pos / 8] >> (8 * (pos % 8)));
      ++pos;
    }
  }

  // Secret inputs (keys, seeds) pass through the state: wiped by the owner.
  GT_HD void wipe() {
    volatile uint64_t* v = s;
    for (int i = 0; i < 25; ++i) v[i] = 0;
  }
};

constexpr uint32_t kSha3_256Rate = 136, kSha3_512Rate = 72, kShake128Rate = 168, kShake256Rate = 136;
constexpr uint8_t kSha3Domain = 0x06, kShakeDomain = 0x1f;

// One-shot digests of up to two concatenated inputs (ML-KEM's H, G, J, PRF).
GT_HD void one_shot(uint32_t rate, uint8_t domain, uint8_t* out, size_t outlen, const uint8_t* a, size_t alen,
                    const uint8_t* b, size_t blen) {
  Sponge sp;
  sp.init(rate);
  sp.absorb(a, alen);
  sp.absorb(b, blen);
  sp.finish(domain);
  sp.squeeze(out, outlen);
  sp.wipe();
}

GT_HD void sha3_256(uint8_t out[32], const uint8_t* a, size_t alen, const uint8_t* b = nullptr, size_t blen = 0) {
  one_shot(kSha3_256Rate, kSha3Domain, out, 32, a, alen, b, blen);
}

GT_HD void sha3_512(uint8_t out[64], const uint8_t* a, size_t alen, const uint8_t* b = nullptr, size_t blen = 0) {
  one_shot(kSha3_512Rate, kSha3Domain, out, 64, a, alen, b, blen);
}

GT_HD void shake256(uint8_t* out, size_t outlen, const uint8_t* a, size_t alen, const uint8_t* b = nullptr,
                    size_t blen = 0) {
  one_shot(kShake256Rate, kShakeDomain, out, outlen, a, alen, b, blen);
}

}  // namespace gputls::kernels::keccak
