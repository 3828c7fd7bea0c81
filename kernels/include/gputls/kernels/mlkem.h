// ML-KEM-768 (FIPS 203), written once for host and device (GT_HD): key
// generation, encapsulation (a TLS server's side) and decapsulation (a
// client's), from the caller's randomness (d, z for keygen; m for encaps), so
// the batch kernels and their host twin compute the same bytes and
// Wycheproof's vectors test both. OpenSSL 3.0 has no ML-KEM: this code is the
// CPU path too.
//
// Secrets: d, z, the secret vectors s, e, y, e1, e2, m, the seeds sigma and r,
// the decapsulation key and every shared secret. They are only ever operands
// of arithmetic: reductions mod q by a constant (compiled to multiplications),
// compression by multiply and shift, CBD sampling by bit counting, and
// decapsulation's re-encryption compare and implicit rejection by mask. The
// one data-dependent loop, SampleNTT's rejection sampling, reads the public
// seed rho only. The encapsulation-key check (coefficients < q) branches on
// the public key.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gputls/kernels/gt_hd.h"
#include "gputls/kernels/keccak.h"

namespace gputls::kernels::mlkem {

constexpr uint32_t kN = 256, kQ = 3329, kK = 3;
constexpr uint32_t kEta = 2;             // eta1 = eta2 = 2 for ML-KEM-768
constexpr uint32_t kDu = 10, kDv = 4;
constexpr uint32_t kPolyBytes = 384;     // 256 coefficients of 12 bits
constexpr uint32_t kEkBytes = kPolyBytes * kK + 32;              // 1184
constexpr uint32_t kDkPkeBytes = kPolyBytes * kK;                 // 1152
constexpr uint32_t kDkBytes = kDkPkeBytes + kEkBytes + 32 + 32;   // 2400
constexpr uint32_t kCtBytes = 32 * (kDu * kK + kDv);             // 1088
constexpr uint32_t kSharedBytes = 32;
constexpr uint32_t kInvN = 3303;  // 128^-1 mod q (the inverse NTT's final scale)

// Powers of zeta = 17 in bit-reversed order (FIPS 203 section 4.3): zetas[i] =
// 17^BitRev7(i), gammas[i] = 17^(2 BitRev7(i) + 1), mod q. Public constants,
// computed by mlkem_tables() on the host; the device reads a copy.
struct Tables {
  uint16_t zetas[128];
  uint16_t gammas[128];
};

struct Poly {
  uint16_t c[kN];  // coefficients in [0, q)
};

namespace detail {

GT_HD uint32_t reduce(uint32_t x) { return x % kQ; }  // a constant divisor: multiply and shift, no divide
GT_HD uint32_t add(uint32_t a, uint32_t b) { return reduce(a + b); }
GT_HD uint32_t sub(uint32_t a, uint32_t b) { return reduce(a + kQ - b); }
GT_HD uint32_t mul(uint32_t a, uint32_t b) { return reduce(a * b); }

GT_HD void wipe(void* p, size_t n) {
  volatile uint8_t* v = static_cast<volatile uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) v[i] = 0;
}

// FIPS 203 algorithm 9.
GT_HD void ntt(Poly& f, const Tables& t) {
  uint32_t i = 1;
  for (uint32_t len = 128; len >= 2; len /= 2)
    for (uint32_t start = 0; start < kN; start += 2 * len) {
      const uint32_t zeta = t.zetas[i++];
      for (uint32_t j = start; j < start + len; ++j) {
        const uint32_t u = mul(zeta, f.c[j + len]);
        f.c[j + len] = static_cast<uint16_t>(sub(f.c[j], u));
        f.c[j] = static_cast<uint16_t>(add(f.c[j], u));
      }
    }
}

// FIPS 203 algorithm 10.
GT_HD void inv_ntt(Poly& f, const Tables& t) {
  uint32_t i = 127;
  for (uint32_t len = 2; len <= 128; len *= 2)
    for (uint32_t start = 0; start < kN; start += 2 * len) {
      const uint32_t zeta = t.zetas[i--];
      for (uint32_t j = start; j < start + len; ++j) {
        const uint32_t u = f.c[j];
        f.c[j] = static_cast<uint16_t>(add(u, f.c[j + len]));
        f.c[j + len] = static_cast<uint16_t>(mul(zeta, sub(f.c[j + len], u)));
      }
    }
  for (uint32_t j = 0; j < kN; ++j) f.c[j] = static_cast<uint16_t>(mul(f.c[j], kInvN));
}

// r += a * b in the NTT domain (FIPS 203 algorithms 11 and 12).
GT_HD void basemul_acc(Poly& r, const Poly& a, const Poly& b, const Tables& t) {
  for (uint32_t i = 0; i < 128; ++i) {
    const uint32_t a0 = a.c[2 * i], a1 = a.c[2 * i + 1], b0 = b.c[2 * i], b1 = b.c[2 * i + 1];
    const uint32_t c0 = reduce(a0 * b0 + mul(a1 * b1 % kQ, t.gammas[i]));
    const uint32_t c1 = reduce(a0 * b1 + a1 * b0);
    r.c[2 * i] = static_cast<uint16_t>(add(r.c[2 * i], c0));
    r.c[2 * i + 1] = static_cast<uint16_t>(add(r.c[2 * i + 1], c1));
  }
}

GT_HD void poly_add(Poly& r, const Poly& a) {
  for (uint32_t j = 0; j < kN; ++j) r.c[j] = static_cast<uint16_t>(add(r.c[j], a.c[j]));
}

GT_HD void poly_zero(Poly& r) {
  for (uint32_t j = 0; j < kN; ++j) r.c[j] = 0;
}

// SampleNTT (FIPS 203 algorithm 7): rejection sampling from SHAKE128(rho || j || i).
// Its loop length depends on rho alone, which is public.
GT_HD void sample_ntt(Poly& a, const uint8_t rho[32], uint8_t j, uint8_t i) {
  keccak::Sponge xof;
  xof.init(keccak::kShake128Rate);
  xof.absorb(rho, 32);
  const uint8_t ji[2] = {j, i};
  xof.absorb(ji, 2);
  xof.finish(keccak::kShakeDomain);
  uint32_t n = 0;
  while (n < kN) {
    uint8_t b[3];
    xof.squeeze(b, 3);
    const uint32_t d1 = b[0] | (uint32_t{b[1]} & 0x0f) << 8;
    const uint32_t d2 = b[1] >> 4 | uint32_t{b[2]} << 4;
    if (d1 < kQ) a.c[n++] = static_cast<uint16_t>(d1);
    if (d2 < kQ && n < kN) a.c[n++] = static_cast<uint16_t>(d2);
  }
}

// SamplePolyCBD_2 (FIPS 203 algorithm 8) of PRF_2(seed, nonce) = SHAKE256(seed || nonce, 128 bytes).
GT_HD void sample_cbd(Poly& f, const uint8_t seed[32], uint8_t nonce) {
  uint8_t buf[64 * kEta];
  keccak::shake256(buf, sizeof buf, seed, 32, &nonce, 1);
  for (uint32_t k = 0; k < sizeof buf; ++k) {
    const uint32_t v = buf[k];
    for (uint32_t h = 0; h < 2; ++h) {  // two coefficients a byte: bits 4h .. 4h + 3
      const uint32_t x = (v >> (4 * h) & 1) + (v >> (4 * h + 1) & 1);
      const uint32_t y = (v >> (4 * h + 2) & 1) + (v >> (4 * h + 3) & 1);
      f.c[2 * k + h] = static_cast<uint16_t>(reduce(x + kQ - y));
    }
  }
  wipe(buf, sizeof buf);
}

// ByteEncode_d / ByteDecode_d (FIPS 203 algorithms 5 and 6): a little-endian bit stream.
GT_HD void byte_encode(uint8_t* out, const Poly& f, uint32_t d) {
  uint32_t acc = 0, bits = 0, k = 0;
  for (uint32_t j = 0; j < kN; ++j) {
    acc |= uint32_t{f.c[j]} << bits;
    bits += d;
    while (bits >= 8) {  // d and j are public
      out[k++] = static_cast<uint8_t>(acc);
      acc >>= 8;
      bits -= 8;
    }
  }
}

// Raw d-bit values (for d = 12 up to 4095: the caller reduces or checks them).
GT_HD void byte_decode(Poly& f, const uint8_t* in, uint32_t d) {
  uint32_t acc = 0, bits = 0, k = 0;
  const uint32_t mask = (1u << d) - 1;
  for (uint32_t j = 0; j < kN; ++j) {
    while (bits < d) {
      acc |= uint32_t{in[k++]} << bits;
      bits += 8;
    }
    f.c[j] = static_cast<uint16_t>(acc & mask);
    acc >>= d;
    bits -= d;
  }
}

// Compress_d and Decompress_d (FIPS 203 section 4.2.1): rounding by multiply and shift.
GT_HD uint32_t compress(uint32_t x, uint32_t d) { return (((x << d) + kQ / 2) / kQ) & ((1u << d) - 1); }
GT_HD uint32_t decompress(uint32_t y, uint32_t d) { return (y * kQ + (1u << (d - 1))) >> d; }

// t_hat (decoded, reduced) from an encapsulation key; false when a
// coefficient is not below q (FIPS 203 section 7.2's modulus check). The key is public.
GT_HD bool decode_ek(Poly t_hat[kK], const uint8_t* ek) {
  bool ok = true;
  for (uint32_t i = 0; i < kK; ++i) {
    byte_decode(t_hat[i], ek + kPolyBytes * i, 12);
    for (uint32_t j = 0; j < kN; ++j) ok &= t_hat[i].c[j] < kQ;
  }
  return ok;
}

// K-PKE.Encrypt (FIPS 203 algorithm 14) with t_hat already decoded.
GT_HD void pke_encrypt(uint8_t c[kCtBytes], const Poly t_hat[kK], const uint8_t rho[32], const uint8_t m[32],
                       const uint8_t r[32], const Tables& t) {
  Poly y[kK];
  uint8_t nonce = 0;
  for (uint32_t i = 0; i < kK; ++i) {
    sample_cbd(y[i], r, nonce++);
    ntt(y[i], t);
  }
  Poly a, acc, e;
  for (uint32_t i = 0; i < kK; ++i) {  // u[i] = InvNTT(sum_j A[j][i] y[j]) + e1[i]
    poly_zero(acc);
    for (uint32_t j = 0; j < kK; ++j) {
      sample_ntt(a, rho, static_cast<uint8_t>(i), static_cast<uint8_t>(j));  // A^T: A[j][i] = SampleNTT(rho || i || j)
      basemul_acc(acc, a, y[j], t);
    }
    inv_ntt(acc, t);
    sample_cbd(e, r, nonce++);
    poly_add(acc, e);
    Poly u;  // decaps re-encrypts under the secret m': not public until compared
    for (uint32_t j = 0; j < kN; ++j) u.c[j] = static_cast<uint16_t>(compress(acc.c[j], kDu));
    byte_encode(c + 32 * kDu * i, u, kDu);
    wipe(&u, sizeof u);
  }
  poly_zero(acc);  // v = InvNTT(t_hat^T y) + e2 + Decompress_1(m)
  for (uint32_t j = 0; j < kK; ++j) basemul_acc(acc, t_hat[j], y[j], t);
  inv_ntt(acc, t);
  sample_cbd(e, r, nonce++);
  poly_add(acc, e);
  for (uint32_t j = 0; j < kN; ++j) {
    const uint32_t bit = m[j / 8] >> (j % 8) & 1;
    acc.c[j] = static_cast<uint16_t>(add(acc.c[j], bit * ((kQ + 1) / 2)));
  }
  Poly v;
  for (uint32_t j = 0; j < kN; ++j) v.c[j] = static_cast<uint16_t>(compress(acc.c[j], kDv));
  byte_encode(c + 32 * kDu * kK, v, kDv);
  wipe(y, sizeof y);
  wipe(&acc, sizeof acc);
  wipe(&e, sizeof e);
  wipe(&v, sizeof v);
  wipe(&a, sizeof a);  // public, but cheap: nothing of the operation stays on the stack

}

// K-PKE.Decrypt (FIPS 203 algorithm 15).
GT_HD void pke_decrypt(uint8_t m[32], const uint8_t* dk_pke, const uint8_t c[kCtBytes], const Tables& t) {
  Poly acc, s, u;
  poly_zero(acc);
  for (uint32_t i = 0; i < kK; ++i) {
    byte_decode(u, c + 32 * kDu * i, kDu);
    for (uint32_t j = 0; j < kN; ++j) u.c[j] = static_cast<uint16_t>(decompress(u.c[j], kDu));
    ntt(u, t);
    byte_decode(s, dk_pke + kPolyBytes * i, 12);
    for (uint32_t j = 0; j < kN; ++j) s.c[j] = static_cast<uint16_t>(reduce(s.c[j]));
    basemul_acc(acc, s, u, t);
  }
  inv_ntt(acc, t);
  Poly v;
  byte_decode(v, c + 32 * kDu * kK, kDv);
  for (uint32_t j = 0; j < 32; ++j) m[j] = 0;
  for (uint32_t j = 0; j < kN; ++j) {  // w = v - s^T u, then Compress_1
    const uint32_t w = sub(decompress(v.c[j], kDv), acc.c[j]);
    m[j / 8] = static_cast<uint8_t>(m[j / 8] | compress(w, 1) << (j % 8));
  }
  wipe(&acc, sizeof acc);
  wipe(&s, sizeof s);
}

}  // namespace detail

// FIPS 203 section 7.2's modulus check alone, for a caller that only
// validates an encapsulation key (a TLS server receiving a share).
GT_HD bool ek_passes_modulus_check(const uint8_t* ek) {
  Poly t_hat[kK];
  return detail::decode_ek(t_hat, ek);
}

// ML-KEM.KeyGen_internal (FIPS 203 algorithm 16): ek (1184 bytes) and dk
// (2400 bytes: dk_PKE || ek || H(ek) || z) from the seeds d and z.
GT_HD void keygen(uint8_t ek[kEkBytes], uint8_t dk[kDkBytes], const uint8_t d[32], const uint8_t z[32],
                  const Tables& t) {
  using namespace detail;
  uint8_t rho_sigma[64];
  const uint8_t k = kK;
  keccak::sha3_512(rho_sigma, d, 32, &k, 1);  // (rho, sigma) = G(d || k)
  const uint8_t* rho = rho_sigma;  // public: it ends up in ek
  const uint8_t* sigma = rho_sigma + 32;
  GT_DECLASSIFY(rho_sigma, 32);
  Poly s[kK];
  uint8_t nonce = 0;
  for (uint32_t i = 0; i < kK; ++i) {
    sample_cbd(s[i], sigma, nonce++);
    ntt(s[i], t);
  }
  Poly a, acc;
  for (uint32_t i = 0; i < kK; ++i) {  // t_hat[i] = sum_j A[i][j] s_hat[j] + e_hat[i]
    sample_cbd(acc, sigma, nonce++);
    ntt(acc, t);
    for (uint32_t j = 0; j < kK; ++j) {
      sample_ntt(a, rho, static_cast<uint8_t>(j), static_cast<uint8_t>(i));  // A[i][j] = SampleNTT(rho || j || i)
      basemul_acc(acc, a, s[j], t);
    }
    byte_encode(ek + kPolyBytes * i, acc, 12);
  }
  for (uint32_t i = 0; i < 32; ++i) ek[kDkPkeBytes + i] = rho[i];
  for (uint32_t i = 0; i < kK; ++i) byte_encode(dk + kPolyBytes * i, s[i], 12);
  for (uint32_t i = 0; i < kEkBytes; ++i) dk[kDkPkeBytes + i] = ek[i];
  keccak::sha3_256(dk + kDkPkeBytes + kEkBytes, ek, kEkBytes);
  for (uint32_t i = 0; i < 32; ++i) dk[kDkPkeBytes + kEkBytes + 32 + i] = z[i];
  wipe(rho_sigma, sizeof rho_sigma);
  wipe(s, sizeof s);
  wipe(&acc, sizeof acc);
}

// ML-KEM.Encaps_internal (FIPS 203 algorithm 17) behind the encapsulation-key
// check of section 7.2: false, with nothing written, when a coefficient of ek
// is not below q (TLS: illegal_parameter).
GT_HD bool encaps(uint8_t shared[kSharedBytes], uint8_t c[kCtBytes], const uint8_t ek[kEkBytes], const uint8_t m[32],
                  const Tables& t) {
  using namespace detail;
  Poly t_hat[kK];
  if (!decode_ek(t_hat, ek)) return false;
  uint8_t h[32], kr[64];
  keccak::sha3_256(h, ek, kEkBytes);
  keccak::sha3_512(kr, m, 32, h, 32);  // (K, r) = G(m || H(ek))
  pke_encrypt(c, t_hat, ek + kDkPkeBytes, m, kr + 32, t);
  for (uint32_t i = 0; i < kSharedBytes; ++i) shared[i] = kr[i];
  wipe(kr, sizeof kr);
  return true;
}

// ML-KEM.Decaps (FIPS 203 algorithm 18, with algorithm 21's implicit
// rejection) behind the decapsulation-key check of section 7.3 (H(ek) as
// stored in dk): false, with nothing written, when that check fails. A
// ciphertext that does not re-encrypt to itself yields J(z || c), chosen by
// mask.
GT_HD bool decaps(uint8_t shared[kSharedBytes], const uint8_t dk[kDkBytes], const uint8_t c[kCtBytes],
                  const Tables& t) {
  using namespace detail;
  const uint8_t* ek = dk + kDkPkeBytes;
  const uint8_t* h = ek + kEkBytes;
  const uint8_t* z = h + 32;
  uint8_t hek[32];
  keccak::sha3_256(hek, ek, kEkBytes);
  uint32_t hash_diff = 0;
  for (uint32_t i = 0; i < 32; ++i) hash_diff |= static_cast<uint32_t>(hek[i] ^ h[i]);
  if (hash_diff != 0) return false;  // a malformed key (public verdict), not a secret comparison
  Poly t_hat[kK];
  (void)decode_ek(t_hat, ek);  // the key's own ek: its modulus is the keygen's business
  uint8_t m[32], kr[64], reject[kSharedBytes], c2[kCtBytes];
  pke_decrypt(m, dk, c, t);
  keccak::sha3_512(kr, m, 32, h, 32);               // (K', r') = G(m' || h)
  keccak::shake256(reject, sizeof reject, z, 32, c, kCtBytes);  // K_bar = J(z || c)
  pke_encrypt(c2, t_hat, ek + kDkPkeBytes, m, kr + 32, t);
  uint32_t diff = 0;
  for (uint32_t i = 0; i < kCtBytes; ++i) diff |= static_cast<uint32_t>(c[i] ^ c2[i]);
  const uint8_t keep = static_cast<uint8_t>(((diff | (0u - diff)) >> 31) - 1);  // 0xff iff c == c'
  for (uint32_t i = 0; i < kSharedBytes; ++i)
    shared[i] = static_cast<uint8_t>((kr[i] & keep) | (reject[i] & static_cast<uint8_t>(~keep)));
  wipe(m, sizeof m);
  wipe(kr, sizeof kr);
  wipe(reject, sizeof reject);
  wipe(c2, sizeof c2);
  return true;
}

// The input checks of FIPS 203 sections 7.1-7.3 on byte strings of any
// length (the host's entry points; the batch kernels take fixed sizes):
// false, with nothing written, for a wrong length or a failed check.
inline bool keygen_from_seed(uint8_t ek[kEkBytes], uint8_t dk[kDkBytes], const uint8_t* seed, size_t seed_len,
                             const Tables& t) {
  if (seed_len != 64) return false;  // d || z
  keygen(ek, dk, seed, seed + 32, t);
  return true;
}

inline bool encaps_checked(uint8_t shared[kSharedBytes], uint8_t c[kCtBytes], const uint8_t* ek, size_t ek_len,
                           const uint8_t m[32], const Tables& t) {
  return ek_len == kEkBytes && encaps(shared, c, ek, m, t);
}

inline bool decaps_checked(uint8_t shared[kSharedBytes], const uint8_t* dk, size_t dk_len, const uint8_t* c,
                           size_t c_len, const Tables& t) {
  return dk_len == kDkBytes && c_len == kCtBytes && decaps(shared, dk, c, t);
}

// The zeta tables (host; the device's copy comes from device_table).
inline const Tables& tables() {
  static const Tables t = [] {
    Tables r{};
    auto bitrev7 = [](uint32_t i) {
      uint32_t o = 0;
      for (int b = 0; b < 7; ++b) o |= (i >> b & 1) << (6 - b);
      return o;
    };
    auto power = [](uint32_t e) {
      uint32_t x = 1;
      for (uint32_t k = 0; k < e; ++k) x = x * 17 % kQ;
      return x;
    };
    for (uint32_t i = 0; i < 128; ++i) {
      r.zetas[i] = static_cast<uint16_t>(power(bitrev7(i)));
      r.gammas[i] = static_cast<uint16_t>(power(2 * bitrev7(i) + 1));
    }
    return r;
  }();
  return t;
}

}  // namespace gputls::kernels::mlkem
