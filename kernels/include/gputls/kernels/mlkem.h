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

struct alignas(16) Poly {
  uint16_t c[kN];  // coefficients in [0, q)
};

// On the device every function below with a loop that is not unrolled is
// out of line (GT_HD_NOINLINE): one copy each, so that the static model counts its calls
// and its loops' trips in the host twin (GT_CALLED, GT_TRIP) and weights the
// kernel's SASS exactly. Polynomials live in the thread's stack (local memory)
// either way; a call costs a few instructions against hundreds to thousands.
namespace detail {

GT_HD uint32_t reduce(uint32_t x) { return x % kQ; }  // a constant divisor: multiply and shift, no divide
GT_HD uint32_t add(uint32_t a, uint32_t b) { return reduce(a + b); }
GT_HD uint32_t sub(uint32_t a, uint32_t b) { return reduce(a + kQ - b); }
GT_HD uint32_t mul(uint32_t a, uint32_t b) { return reduce(a * b); }

// Zeroes n bytes the compiler may not drop: 32-bit stores where p and n allow
// (every polynomial and buffer here), bytes otherwise. Addresses and sizes are public.
GT_HD_NOINLINE void wipe(void* p, size_t n) {
  GT_CALLED("mlkem::wipe");
  if (reinterpret_cast<uintptr_t>(p) % 4 == 0 && n % 4 == 0) {
    volatile word_alias<uint32_t>* w = static_cast<volatile word_alias<uint32_t>*>(p);  // may alias the bytes
    GT_UNROLL_BY(1) for (size_t i = 0; i < n / 4; ++i) { GT_TRIP(1);
      w[i] = 0;
    }
    return;
  }
  volatile uint8_t* v = static_cast<volatile uint8_t*>(p);
  GT_UNROLL_BY(1) for (size_t i = 0; i < n; ++i) { GT_TRIP(1);
    v[i] = 0;
  }
}

// The NTT and its inverse (FIPS 203 algorithms 9 and 10) a few layers per
// pass: a pass loads 2^K coefficients x[m] = f[base + S m] into registers,
// runs the K layers of butterflies among them (len = S 2^l, l < K) and stores
// them back, so a polynomial crosses local memory twice per transform instead
// of once per layer (7). Layer len = L pairs f[p] with f[p + L]; its zeta
// index, counting algorithm 9's i, is 128 / L + p / (2 L) (algorithm 10's
// i = 256 / L - 1 - p / (2 L)); here p / (2 L) = seg * (S 2^K) / (2 L) + m /
// 2^(l + 1) for base = seg * S 2^K + o, o < S. Same arithmetic, same results.
template <uint32_t K, uint32_t S, bool kInverse>
GT_HD void ntt_pass(uint32_t x[1u << K], uint32_t seg, const Tables& t) {
  constexpr uint32_t kSpan = S << K;  // coefficients a segment of this pass covers
GT_UNROLL
  for (uint32_t step = 0; step < K; ++step) {
    const uint32_t l = kInverse ? step : K - 1 - step;  // forward: longest len first
    const uint32_t len = S << l;
GT_UNROLL
    for (uint32_t m = 0; m < (1u << K); ++m) {
      if (m >> l & 1) continue;  // compile-time: m and l are unrolled
      const uint32_t group = seg * (kSpan / (2 * len)) + (m >> (l + 1));
      const uint32_t zeta = t.zetas[kInverse ? 256 / len - 1 - group : 128 / len + group];
      const uint32_t a = x[m], b = x[m + (1u << l)];
      if (!kInverse) {
        const uint32_t u = mul(zeta, b);
        x[m + (1u << l)] = sub(a, u);
        x[m] = add(a, u);
      } else {
        x[m] = add(a, b);
        x[m + (1u << l)] = mul(zeta, sub(b, a));
      }
    }
  }
}

// One pass: x[m] = f[base + S m] (m < 2^K) through K layers in registers and
// back, scaled by 128^-1 on the way out for the inverse's last pass.
template <uint32_t K, uint32_t S, bool kInverse, bool kScale = false>
GT_HD void ntt_block(Poly& f, uint32_t base, uint32_t seg, const Tables& t) {
  uint32_t x[1u << K];
GT_UNROLL
  for (uint32_t m = 0; m < (1u << K); ++m) x[m] = f.c[base + S * m];
  ntt_pass<K, S, kInverse>(x, seg, t);
GT_UNROLL
  for (uint32_t m = 0; m < (1u << K); ++m) f.c[base + S * m] = static_cast<uint16_t>(kScale ? mul(x[m], kInvN) : x[m]);
}

// Layers len 128..16 over x[m] = f[j + 16 m] (16 passes), then len 8..2 over
// x[m] = f[16 seg + o + 2 m] (32 passes).
GT_HD_NOINLINE void ntt(Poly& f, const Tables& t) {
  GT_CALLED("mlkem::ntt");
  GT_UNROLL_BY(1) for (uint32_t j = 0; j < 16; ++j) { GT_TRIP(1);
    ntt_block<4, 16, false>(f, j, 0, t);
  }
  GT_UNROLL_BY(1) for (uint32_t q = 0; q < 32; ++q) { GT_TRIP(1);
    ntt_block<3, 2, false>(f, 16 * (q >> 1) + (q & 1), q >> 1, t);
  }
}

// Layers len 2..8, then 16..128 with the final scaling by 128^-1 before the store.
GT_HD_NOINLINE void inv_ntt(Poly& f, const Tables& t) {
  GT_CALLED("mlkem::inv_ntt");
  GT_UNROLL_BY(1) for (uint32_t q = 0; q < 32; ++q) { GT_TRIP(1);
    ntt_block<3, 2, true>(f, 16 * (q >> 1) + (q & 1), q >> 1, t);
  }
  GT_UNROLL_BY(1) for (uint32_t j = 0; j < 16; ++j) { GT_TRIP(1);
    ntt_block<4, 16, true, true>(f, j, 0, t);
  }
}

// r += a * b in the NTT domain (FIPS 203 algorithms 11 and 12).
GT_HD_NOINLINE void basemul_acc(Poly& r, const Poly& a, const Poly& b, const Tables& t) {
  GT_CALLED("mlkem::basemul_acc");
  GT_UNROLL_BY(2) for (uint32_t i = 0; i < 128; ++i) { GT_TRIP(2);
    const uint32_t a0 = a.c[2 * i], a1 = a.c[2 * i + 1], b0 = b.c[2 * i], b1 = b.c[2 * i + 1];
    const uint32_t c0 = reduce(a0 * b0 + mul(a1 * b1 % kQ, t.gammas[i]));
    const uint32_t c1 = reduce(a0 * b1 + a1 * b0);
    r.c[2 * i] = static_cast<uint16_t>(add(r.c[2 * i], c0));
    r.c[2 * i + 1] = static_cast<uint16_t>(add(r.c[2 * i + 1], c1));
  }
}

GT_HD_NOINLINE void poly_add(Poly& r, const Poly& a) {
  GT_CALLED("mlkem::poly_add");
  GT_UNROLL_BY(4) for (uint32_t j = 0; j < kN; ++j) { GT_TRIP(4);
    r.c[j] = static_cast<uint16_t>(add(r.c[j], a.c[j]));
  }
}

GT_HD_NOINLINE void poly_zero(Poly& r) {
  GT_CALLED("mlkem::poly_zero");
  GT_UNROLL_BY(8) for (uint32_t j = 0; j < kN; ++j) { GT_TRIP(8);
    r.c[j] = 0;
  }
}

// SampleNTT (FIPS 203 algorithm 7): rejection sampling from SHAKE128(rho || j
// || i), read from the sponge's lanes three at a time (24 bytes, 16
// candidates); a block is 7 such groups. Its loop length depends on rho
// alone, which is public.
GT_HD_NOINLINE void sample_ntt(Poly& a, const uint8_t rho[32], uint8_t j, uint8_t i) {
  GT_CALLED("mlkem::sample_ntt");
  keccak::Sponge xof;
  xof.init(keccak::kShake128Rate);
  xof.absorb(rho, 32);
  const uint8_t ji[2] = {j, i};
  xof.absorb(ji, 2);
  xof.finish(keccak::kShakeDomain);
  uint32_t n = 0;
  GT_UNROLL_BY(1) for (uint32_t block = 0; n < kN; ++block) { GT_TRIP(1);
    if (block > 0) xof.next_block();
    GT_UNROLL_BY(1) for (uint32_t g = 0; g < keccak::kShake128Rate / 24; ++g) { GT_TRIP(1);
      const uint64_t w0 = xof.s[3 * g], w1 = xof.s[3 * g + 1], w2 = xof.s[3 * g + 2];
      uint32_t d[16];  // 12-bit candidates: bits 12 k .. 12 k + 11 of w2:w1:w0
GT_UNROLL
      for (int k = 0; k < 16; ++k) {
        const int bit = 12 * k;
        const uint64_t lo = bit < 64 ? w0 : bit < 128 ? w1 : w2;
        const uint64_t hi = bit + 12 <= 64 ? w0 : bit + 12 <= 128 ? w1 : w2;
        const int sh = bit % 64;
        const uint64_t v = sh + 12 <= 64 ? lo >> sh : (lo >> sh) | (hi << (64 - sh));
        d[k] = static_cast<uint32_t>(v) & 0xfff;
      }
GT_UNROLL
      for (int k = 0; k < 16; ++k)
        if (d[k] < kQ && n < kN) a.c[n++] = static_cast<uint16_t>(d[k]);
    }
  }
}

// SamplePolyCBD_2 (FIPS 203 algorithm 8) of PRF_2(seed, nonce) = SHAKE256(seed
// || nonce, 128 bytes), read from the sponge's first 16 lanes: coefficient 16 l
// + h takes bits 4h .. 4h + 3 of lane l, x = the sum of the first two, y = the
// sum of the other two. Sums of bit pairs by mask and add, no branch.
GT_HD_NOINLINE void sample_cbd(Poly& f, const uint8_t seed[32], uint8_t nonce) {
  GT_CALLED("mlkem::sample_cbd");
  keccak::Sponge prf;
  prf.init(keccak::kShake256Rate);
  prf.absorb(seed, 32);
  prf.absorb(&nonce, 1);
  prf.finish(keccak::kShakeDomain);
  static_assert(64 * kEta <= keccak::kShake256Rate, "PRF output in one block");
  GT_UNROLL_BY(1) for (uint32_t l = 0; l < 64 * kEta / 8; ++l) { GT_TRIP(1);
    const uint64_t w = prf.s[l];
    const uint64_t pairs = (w & 0x5555555555555555ull) + (w >> 1 & 0x5555555555555555ull);
GT_UNROLL
    for (uint32_t h = 0; h < 16; ++h) {
      const uint32_t x = static_cast<uint32_t>(pairs >> (4 * h)) & 3;
      const uint32_t y = static_cast<uint32_t>(pairs >> (4 * h + 2)) & 3;
      f.c[16 * l + h] = static_cast<uint16_t>(reduce(x + kQ - y));
    }
  }
  prf.wipe();
}

// ByteEncode_D / ByteDecode_D (FIPS 203 algorithms 5 and 6): a little-endian
// bit stream, read and written a 32-bit word at a time, G coefficients (G * D
// bits, a whole number of words) per step. Every buffer passed here is 4-byte
// aligned (request strides and offsets are multiples of 8, stack buffers
// alignas(8)); launch_mlkem_batch refuses misaligned request buffers.
template <uint32_t D>
struct BitGroup {
  static constexpr uint32_t kCoeffs = D % 32 == 0 ? 1 : D % 16 == 0 ? 2 : D % 8 == 0 ? 4 : D % 4 == 0 ? 8
                                                     : D % 2 == 0 ? 16 : 32;
  static constexpr uint32_t kWords = kCoeffs * D / 32;
};

template <uint32_t D>
GT_HD_NOINLINE void byte_encode(uint8_t* out, const Poly& f) {
  GT_CALLED_OF("mlkem::byte_encode", D);
  using G = BitGroup<D>;
  GT_UNROLL_BY(1) for (uint32_t g = 0; g < kN / G::kCoeffs; ++g) { GT_TRIP_OF(1, D);
    uint32_t w[G::kWords] = {};
GT_UNROLL
    for (uint32_t k = 0; k < G::kCoeffs; ++k) {
      const uint32_t v = f.c[G::kCoeffs * g + k], bit = D * k, sh = bit % 32;
      w[bit / 32] |= v << sh;
      if (sh + D > 32) w[bit / 32 + 1] |= v >> (32 - sh);  // compile-time: k is unrolled
    }
GT_UNROLL
    for (uint32_t i = 0; i < G::kWords; ++i) store_aligned_le<uint32_t>(out + 4 * (G::kWords * g + i), w[i]);
  }
}

// Raw D-bit values (for D = 12 up to 4095: the caller reduces or checks them).
template <uint32_t D>
GT_HD_NOINLINE void byte_decode(Poly& f, const uint8_t* in) {
  GT_CALLED_OF("mlkem::byte_decode", D);
  using G = BitGroup<D>;
  GT_UNROLL_BY(1) for (uint32_t g = 0; g < kN / G::kCoeffs; ++g) { GT_TRIP_OF(1, D);
    uint32_t w[G::kWords];
GT_UNROLL
    for (uint32_t i = 0; i < G::kWords; ++i) w[i] = load_aligned_le<uint32_t>(in + 4 * (G::kWords * g + i));
GT_UNROLL
    for (uint32_t k = 0; k < G::kCoeffs; ++k) {
      const uint32_t bit = D * k, sh = bit % 32;
      uint32_t v = w[bit / 32] >> sh;
      if (sh + D > 32) v |= w[bit / 32 + 1] << (32 - sh);  // compile-time: k is unrolled
      f.c[G::kCoeffs * g + k] = static_cast<uint16_t>(v & ((1u << D) - 1));
    }
  }
}

// n bytes (a multiple of 4, both buffers 4-byte aligned) a word at a time.
GT_HD_NOINLINE void copy_words(uint8_t* dst, const uint8_t* src, uint32_t n) {
  GT_CALLED("mlkem::copy_words");
  GT_UNROLL_BY(1) for (uint32_t i = 0; i < n; i += 4) { GT_TRIP(1);
    store_aligned_le<uint32_t>(dst + i, load_aligned_le<uint32_t>(src + i));
  }
}

// Compress_d and Decompress_d (FIPS 203 section 4.2.1): rounding by multiply and shift.
GT_HD uint32_t compress(uint32_t x, uint32_t d) { return (((x << d) + kQ / 2) / kQ) & ((1u << d) - 1); }
GT_HD uint32_t decompress(uint32_t y, uint32_t d) { return (y * kQ + (1u << (d - 1))) >> d; }

// t_hat (decoded, reduced) from an encapsulation key; false when a
// coefficient is not below q (FIPS 203 section 7.2's modulus check). The key is public.
GT_HD_NOINLINE bool decode_ek(Poly t_hat[kK], const uint8_t* ek) {
  GT_CALLED("mlkem::decode_ek");
  uint32_t ok = 1;
  GT_UNROLL_BY(1) for (uint32_t i = 0; i < kK; ++i) { GT_TRIP(1);
    byte_decode<12>(t_hat[i], ek + kPolyBytes * i);
    GT_UNROLL_BY(4) for (uint32_t j = 0; j < kN; ++j) { GT_TRIP(4);
      ok &= t_hat[i].c[j] < kQ;
    }
  }
  return ok != 0;
}

// Compress_D of every coefficient, then ByteEncode_D (a secret under decaps'
// re-encryption until compared).
template <uint32_t D>
GT_HD_NOINLINE void compress_encode(uint8_t* out, Poly& scratch, const Poly& f) {
  GT_CALLED_OF("mlkem::compress_encode", D);
  GT_UNROLL_BY(4) for (uint32_t j = 0; j < kN; ++j) { GT_TRIP_OF(4, D);
    scratch.c[j] = static_cast<uint16_t>(compress(f.c[j], D));
  }
  byte_encode<D>(out, scratch);
}

// K-PKE.Encrypt (FIPS 203 algorithm 14) with t_hat already decoded.
GT_HD_NOINLINE void pke_encrypt(uint8_t c[kCtBytes], const Poly t_hat[kK], const uint8_t rho[32],
                                const uint8_t m[32], const uint8_t r[32], const Tables& t) {
  GT_CALLED("mlkem::pke_encrypt");
  Poly y[kK];
  uint8_t nonce = 0;
  GT_UNROLL_BY(1) for (uint32_t i = 0; i < kK; ++i) { GT_TRIP(1);
    sample_cbd(y[i], r, nonce++);
    ntt(y[i], t);
  }
  Poly a, acc, e;
  GT_UNROLL_BY(1) for (uint32_t i = 0; i < kK; ++i) { GT_TRIP(1);  // u[i] = InvNTT(sum_j A[j][i] y[j]) + e1[i]
    poly_zero(acc);
    GT_UNROLL_BY(1) for (uint32_t j = 0; j < kK; ++j) { GT_TRIP(1);
      sample_ntt(a, rho, static_cast<uint8_t>(i), static_cast<uint8_t>(j));  // A^T: A[j][i] = SampleNTT(rho || i || j)
      basemul_acc(acc, a, y[j], t);
    }
    inv_ntt(acc, t);
    sample_cbd(e, r, nonce++);
    poly_add(acc, e);
    compress_encode<kDu>(c + 32 * kDu * i, e, acc);  // e (added, no longer needed) as the scratch
  }
  poly_zero(acc);  // v = InvNTT(t_hat^T y) + e2 + Decompress_1(m)
  GT_UNROLL_BY(1) for (uint32_t j = 0; j < kK; ++j) { GT_TRIP(1);
    basemul_acc(acc, t_hat[j], y[j], t);
  }
  inv_ntt(acc, t);
  sample_cbd(e, r, nonce++);
  poly_add(acc, e);
  GT_UNROLL_BY(8) for (uint32_t j = 0; j < kN; ++j) { GT_TRIP(8);
    const uint32_t bit = m[j / 8] >> (j % 8) & 1;
    acc.c[j] = static_cast<uint16_t>(add(acc.c[j], bit * ((kQ + 1) / 2)));
  }
  compress_encode<kDv>(c + 32 * kDu * kK, e, acc);
  wipe(y, sizeof y);
  wipe(&acc, sizeof acc);
  wipe(&e, sizeof e);
  wipe(&a, sizeof a);  // public, but cheap: nothing of the operation stays on the stack
}

// K-PKE.Decrypt (FIPS 203 algorithm 15).
GT_HD_NOINLINE void pke_decrypt(uint8_t m[32], const uint8_t* dk_pke, const uint8_t c[kCtBytes], const Tables& t) {
  GT_CALLED("mlkem::pke_decrypt");
  Poly acc, s, u;
  poly_zero(acc);
  GT_UNROLL_BY(1) for (uint32_t i = 0; i < kK; ++i) { GT_TRIP(1);
    byte_decode<kDu>(u, c + 32 * kDu * i);
    GT_UNROLL_BY(4) for (uint32_t j = 0; j < kN; ++j) { GT_TRIP(4);
      u.c[j] = static_cast<uint16_t>(decompress(u.c[j], kDu));
    }
    ntt(u, t);
    byte_decode<12>(s, dk_pke + kPolyBytes * i);
    GT_UNROLL_BY(4) for (uint32_t j = 0; j < kN; ++j) { GT_TRIP(4);
      s.c[j] = static_cast<uint16_t>(reduce(s.c[j]));
    }
    basemul_acc(acc, s, u, t);
  }
  inv_ntt(acc, t);
  byte_decode<kDv>(u, c + 32 * kDu * kK);  // v
  GT_UNROLL_BY(1) for (uint32_t j = 0; j < 32; ++j) { GT_TRIP(1);  // w = v - s^T u, then Compress_1
    uint32_t byte = 0;
GT_UNROLL
    for (uint32_t b = 0; b < 8; ++b) {
      const uint32_t w = sub(decompress(u.c[8 * j + b], kDv), acc.c[8 * j + b]);
      byte |= compress(w, 1) << b;
    }
    m[j] = static_cast<uint8_t>(byte);
  }
  wipe(&acc, sizeof acc);
  wipe(&s, sizeof s);
}

}  // namespace detail

// FIPS 203 section 7.2's modulus check alone, for a caller that only
// validates an encapsulation key (a TLS server receiving a share).
GT_HD bool ek_passes_modulus_check(const uint8_t* ek) {
  Poly t_hat[kK];  // public: nothing to wipe
  return detail::decode_ek(t_hat, ek);
}

// ML-KEM.KeyGen_internal (FIPS 203 algorithm 16): ek (1184 bytes) and dk
// (2400 bytes: dk_PKE || ek || H(ek) || z) from the seeds d and z.
GT_HD_NOINLINE void keygen(uint8_t ek[kEkBytes], uint8_t dk[kDkBytes], const uint8_t d[32], const uint8_t z[32],
                           const Tables& t) {
  GT_CALLED("mlkem::keygen");
  using namespace detail;
  alignas(8) uint8_t rho_sigma[64];
  const uint8_t k = kK;
  keccak::sha3_512(rho_sigma, d, 32, &k, 1);  // (rho, sigma) = G(d || k)
  const uint8_t* rho = rho_sigma;  // public: it ends up in ek
  const uint8_t* sigma = rho_sigma + 32;
  GT_DECLASSIFY(rho_sigma, 32);
  Poly s[kK];
  uint8_t nonce = 0;
  GT_UNROLL_BY(1) for (uint32_t i = 0; i < kK; ++i) { GT_TRIP(1);
    sample_cbd(s[i], sigma, nonce++);
    ntt(s[i], t);
  }
  Poly a, acc;
  GT_UNROLL_BY(1) for (uint32_t i = 0; i < kK; ++i) { GT_TRIP(1);  // t_hat[i] = sum_j A[i][j] s_hat[j] + e_hat[i]
    sample_cbd(acc, sigma, nonce++);
    ntt(acc, t);
    GT_UNROLL_BY(1) for (uint32_t j = 0; j < kK; ++j) { GT_TRIP(1);
      sample_ntt(a, rho, static_cast<uint8_t>(j), static_cast<uint8_t>(i));  // A[i][j] = SampleNTT(rho || j || i)
      basemul_acc(acc, a, s[j], t);
    }
    byte_encode<12>(ek + kPolyBytes * i, acc);
  }
  copy_words(ek + kDkPkeBytes, rho, 32);
  GT_UNROLL_BY(1) for (uint32_t i = 0; i < kK; ++i) { GT_TRIP(1);
    byte_encode<12>(dk + kPolyBytes * i, s[i]);
  }
  copy_words(dk + kDkPkeBytes, ek, kEkBytes);
  keccak::sha3_256(dk + kDkPkeBytes + kEkBytes, ek, kEkBytes);
  copy_words(dk + kDkPkeBytes + kEkBytes + 32, z, 32);
  wipe(rho_sigma, sizeof rho_sigma);
  wipe(s, sizeof s);
  wipe(&acc, sizeof acc);
}

// ML-KEM.Encaps_internal (FIPS 203 algorithm 17) behind the encapsulation-key
// check of section 7.2: false, with nothing written, when a coefficient of ek
// is not below q (TLS: illegal_parameter).
GT_HD_NOINLINE bool encaps(uint8_t shared[kSharedBytes], uint8_t c[kCtBytes], const uint8_t ek[kEkBytes],
                           const uint8_t m[32], const Tables& t) {
  GT_CALLED("mlkem::encaps");
  using namespace detail;
  Poly t_hat[kK];
  if (!decode_ek(t_hat, ek)) return false;
  alignas(8) uint8_t h[32], kr[64];
  keccak::sha3_256(h, ek, kEkBytes);
  keccak::sha3_512(kr, m, 32, h, 32);  // (K, r) = G(m || H(ek))
  pke_encrypt(c, t_hat, ek + kDkPkeBytes, m, kr + 32, t);
  copy_words(shared, kr, kSharedBytes);
  wipe(kr, sizeof kr);
  return true;
}

// ML-KEM.Decaps (FIPS 203 algorithm 18, with algorithm 21's implicit
// rejection) behind the decapsulation-key check of section 7.3 (H(ek) as
// stored in dk): false, with nothing written, when that check fails. A
// ciphertext that does not re-encrypt to itself yields J(z || c), chosen by
// mask.
GT_HD_NOINLINE bool decaps(uint8_t shared[kSharedBytes], const uint8_t dk[kDkBytes], const uint8_t c[kCtBytes],
                           const Tables& t) {
  GT_CALLED("mlkem::decaps");
  using namespace detail;
  const uint8_t* ek = dk + kDkPkeBytes;
  const uint8_t* h = ek + kEkBytes;
  const uint8_t* z = h + 32;
  alignas(8) uint8_t hek[32];
  keccak::sha3_256(hek, ek, kEkBytes);
  uint32_t hash_diff = 0;
  GT_UNROLL_BY(8) for (uint32_t i = 0; i < 32; i += 4) { GT_TRIP(8);
    hash_diff |= load_aligned_le<uint32_t>(hek + i) ^ load_aligned_le<uint32_t>(h + i);
  }
  if (hash_diff != 0) return false;  // a malformed key (public verdict), not a secret comparison
  Poly t_hat[kK];
  (void)decode_ek(t_hat, ek);  // the key's own ek: its modulus is the keygen's business
  alignas(8) uint8_t m[32], kr[64], reject[kSharedBytes], c2[kCtBytes];
  pke_decrypt(m, dk, c, t);
  keccak::sha3_512(kr, m, 32, h, 32);               // (K', r') = G(m' || h)
  keccak::shake256(reject, sizeof reject, z, 32, c, kCtBytes);  // K_bar = J(z || c)
  pke_encrypt(c2, t_hat, ek + kDkPkeBytes, m, kr + 32, t);
  uint32_t diff = 0;
  GT_UNROLL_BY(8) for (uint32_t i = 0; i < kCtBytes; i += 4) { GT_TRIP(8);
    diff |= load_aligned_le<uint32_t>(c + i) ^ load_aligned_le<uint32_t>(c2 + i);
  }
  const uint32_t keep = ((diff | (0u - diff)) >> 31) - 1;  // all ones iff c == c'
  GT_UNROLL_BY(8) for (uint32_t i = 0; i < kSharedBytes; i += 4) { GT_TRIP(8);
    const uint32_t k = load_aligned_le<uint32_t>(kr + i), r = load_aligned_le<uint32_t>(reject + i);
    store_aligned_le<uint32_t>(shared + i, (k & keep) | (r & ~keep));
  }
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
