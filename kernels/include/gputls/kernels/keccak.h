// Keccak-f[1600] and the FIPS 202 sponges ML-KEM needs (SHA3-256, SHA3-512,
// SHAKE128, SHAKE256), written once for host and device (GT_HD). The rho
// rotations and pi lane order are compile-time functions of the step and the
// round constants are computed from their LFSR (FIPS 202 algorithm 5) at
// compile time, so the same code runs on both sides with nothing to upload.
// Nothing here branches on or indexes by the data; input and output lengths
// are public.
//
// Inside Keccak-f every index into the 25-lane state is a compile-time
// constant (the rho-pi walk is expanded by template, the lane loops
// unrolled): on the device the permutation's state lives in 50 registers
// (before, the pi walk ran as 24 loops over a state in local memory). The
// sponge around it keeps its state in memory and reads and writes bytes at
// run-time positions, which are public (lengths and the block position).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

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

// Round constant rc of round `round` (FIPS 202 algorithms 5 and 6: the LFSR
// x^8 + x^6 + x^5 + x^4 + 1 from 1, seven bits a round at positions 2^j - 1).
GT_HD constexpr uint64_t round_constant(int round) {
  uint32_t lfsr = 1;
  uint64_t rc = 0;
  for (int r = 0; r <= round; ++r) {
    rc = 0;
    for (int j = 0; j < 7; ++j) {
      rc |= uint64_t{lfsr & 1} << ((1 << j) - 1);
      lfsr = ((lfsr << 1) ^ ((lfsr >> 7) * 0x71u)) & 0xffu;
    }
  }
  return rc;
}

GT_HD uint64_t rotl64(uint64_t v, int n) { return n == 0 ? v : (v << n) | (v >> (64 - n)); }

// One step of rho-pi with its lane and rotation fixed at compile time.
template <int I>
GT_HD void rho_pi_step(uint64_t s[25], uint64_t& t) {
  constexpr int j = pi_lane(I);
  constexpr int r = rho_rotation(I);
  const uint64_t next = s[j];
  s[j] = rotl64(t, r);
  t = next;
}

template <int... I>
GT_HD void rho_pi(uint64_t s[25], std::integer_sequence<int, I...>) {
  uint64_t t = s[1];
  (rho_pi_step<I>(s, t), ...);
}

GT_HD uint64_t load64_le(const uint8_t* p) {
  uint64_t v = 0;
GT_UNROLL
  for (int b = 0; b < 8; ++b) v |= uint64_t{p[b]} << (8 * b);
  return v;
}

}  // namespace detail

// Out of line on the device (GT_HD_NOINLINE): Keccak-f and the sponge's
// steps with loops (absorb, squeeze; the rest is a few instructions). ML-KEM calls them from about twenty places; one copy each keeps the
// kernel small, and the static model counts each call (GT_CALLED) and each
// loop's trips (GT_TRIP). Keccak-f copies the state into registers on entry
// and back on exit (50 local loads and stores against about 5,700
// instructions of rounds), so the sponge may index its state in memory at run
// time, a byte at a time, without costing the rounds anything.

// Keccak-f[1600] on 25 lanes, lane (x, y) at index x + 5 y.
GT_HD_NOINLINE void permute(uint64_t state[25]) {
  GT_CALLED("keccak::permute");
  uint64_t s[25];
GT_UNROLL
  for (int i = 0; i < 25; ++i) s[i] = state[i];
  // Computed at compile time; a table read at the same index by every thread
  // of a warp (one read-only load a round instead of the LFSR's ~20 instructions).
  static constexpr uint64_t kRoundConstants[24] = {
      detail::round_constant(0),  detail::round_constant(1),  detail::round_constant(2),  detail::round_constant(3),
      detail::round_constant(4),  detail::round_constant(5),  detail::round_constant(6),  detail::round_constant(7),
      detail::round_constant(8),  detail::round_constant(9),  detail::round_constant(10), detail::round_constant(11),
      detail::round_constant(12), detail::round_constant(13), detail::round_constant(14), detail::round_constant(15),
      detail::round_constant(16), detail::round_constant(17), detail::round_constant(18), detail::round_constant(19),
      detail::round_constant(20), detail::round_constant(21), detail::round_constant(22), detail::round_constant(23)};
  static_assert(kRoundConstants[0] == 1 && kRoundConstants[23] == 0x8000000080008008ull, "FIPS 202 round constants");
  GT_UNROLL_BY(1) for (int round = 0; round < 24; ++round) { GT_TRIP(1);
    uint64_t c[5];
GT_UNROLL
    for (int x = 0; x < 5; ++x) c[x] = s[x] ^ s[x + 5] ^ s[x + 10] ^ s[x + 15] ^ s[x + 20];
GT_UNROLL
    for (int x = 0; x < 5; ++x) {
      const uint64_t d = c[(x + 4) % 5] ^ detail::rotl64(c[(x + 1) % 5], 1);
GT_UNROLL
      for (int y = 0; y < 25; y += 5) s[x + y] ^= d;
    }
    detail::rho_pi(s, std::make_integer_sequence<int, 24>{});
GT_UNROLL
    for (int y = 0; y < 25; y += 5) {
      uint64_t row[5];
GT_UNROLL
      for (int x = 0; x < 5; ++x) row[x] = s[y + x];
GT_UNROLL
      for (int x = 0; x < 5; ++x) s[y + x] = row[x] ^ (~row[(x + 1) % 5] & row[(x + 2) % 5]);
    }
    s[0] ^= kRoundConstants[round];
  }
GT_UNROLL
  for (int i = 0; i < 25; ++i) state[i] = s[i];
}

// A sponge: absorb, finish with the domain's padding, squeeze. Input bytes
// are XORed into the state's lanes (little-endian, FIPS 202's byte order) and
// output bytes read from them, at the byte position `pos` of the current
// block; Keccak-f runs a whole block at a time.
struct Sponge {
  uint64_t s[25];
  uint32_t rate;  // bytes, a multiple of 8, at most 168 (SHAKE128)
  uint32_t pos;   // bytes absorbed into (or squeezed from) the current block

  GT_HD void init(uint32_t rate_bytes) {
GT_UNROLL
    for (int i = 0; i < 25; ++i) s[i] = 0;
    rate = rate_bytes;
    pos = 0;
  }

  GT_HD void xor_byte(uint32_t at, uint32_t b) { s[at / 8] ^= uint64_t{b} << (8 * (at % 8)); }
  GT_HD uint8_t byte(uint32_t at) const { return static_cast<uint8_t>(s[at / 8] >> (8 * (at % 8))); }

  // Bytes to the next lane boundary one at a time, then whole lanes, then the
  // rest; Keccak-f after each full block.
  GT_HD_NOINLINE void absorb(const uint8_t* in, size_t len) {
    GT_CALLED("keccak::Sponge::absorb");
    size_t k = 0;
    GT_UNROLL_BY(1) for (; k < len && pos % 8 != 0; ++k) { GT_TRIP(1);
      xor_byte(pos++, in[k]);
      if (pos == rate) {
        permute(s);
        pos = 0;
      }
    }
    if (reinterpret_cast<uintptr_t>(in + k) % 8 == 0) {  // one 8-byte load a lane (an address is public)
      GT_UNROLL_BY(1) for (; k + 8 <= len; k += 8) { GT_TRIP(1);
        s[pos / 8] ^= load_aligned_le<uint64_t>(in + k);
        pos += 8;
        if (pos == rate) {
          permute(s);
          pos = 0;
        }
      }
    } else {
      GT_UNROLL_BY(1) for (; k + 8 <= len; k += 8) { GT_TRIP(1);
        s[pos / 8] ^= detail::load64_le(in + k);
        pos += 8;
        if (pos == rate) {
          permute(s);
          pos = 0;
        }
      }
    }
    GT_UNROLL_BY(1) for (; k < len; ++k) { GT_TRIP(1);
      xor_byte(pos++, in[k]);
    }
  }

  // Padding: the domain bits (0x06 for SHA3, 0x1f for SHAKE) then the final
  // 1; then Keccak-f, the first output block ready at pos 0.
  GT_HD void finish(uint8_t domain) {
    xor_byte(pos, domain);
    xor_byte(rate - 1, 0x80);
    permute(s);
    pos = 0;
  }

  // The rest of the current block used up: the next one.
  GT_HD void next_block() {
    permute(s);
    pos = 0;
  }

  GT_HD_NOINLINE void squeeze(uint8_t* out, size_t len) {
    GT_CALLED("keccak::Sponge::squeeze");
    GT_UNROLL_BY(1) for (size_t k = 0; k < len; ++k) { GT_TRIP(1);
      if (pos == rate) next_block();
      out[k] = byte(pos++);
    }
  }

  // Secret inputs (keys, seeds) pass through the state: wiped by the owner.
  GT_HD void wipe() {
    volatile uint64_t* v = s;
GT_UNROLL
    for (int i = 0; i < 25; ++i) v[i] = 0;
  }
};

constexpr uint32_t kSha3_256Rate = 136, kSha3_512Rate = 72, kShake128Rate = 168, kShake256Rate = 136;
constexpr uint8_t kSha3Domain = 0x06, kShakeDomain = 0x1f;

// One-shot digests of up to two concatenated inputs (ML-KEM's H, G, J, PRF).
GT_HD_NOINLINE void one_shot(uint32_t rate, uint8_t domain, uint8_t* out, size_t outlen, const uint8_t* a, size_t alen,
                    const uint8_t* b, size_t blen) {
  GT_CALLED("keccak::one_shot");
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
