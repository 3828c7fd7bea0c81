// RSA private-key operation by CRT for one compile-time half size H (limbs of
// one prime): the kernel body for the key sizes the GPU serves (2048, 3072,
// 4096 bits), built on mp_fixed.h. The result is checked with the public
// exponent before release (Bellcore: one faulty CRT half would hand an
// attacker a factor of n); range check, check and release are all masked.
//
// The check is done modulo p and modulo q (m^e = c mod n exactly when it holds
// mod p and mod q, as n = pq), so it runs on H-limb operands in registers like
// the rest; m < n is checked too. A fault in either CRT half, in Garner's
// recombination or in the final value shows as a mismatch.
//
// Scratch (words of the request's Lane, limb-major across the batch):
//   c 2H | m 2H | table 16H | tmp H | xc 2H (c*R mod p, mod q) | half results 2H
#pragma once

#include <cstdint>

#include "gputls/kernels/mp_fixed.h"
#include "gputls/kernels/rsa_key_layout.h"

namespace gputls::kernels {

GT_HD constexpr int rsa_fixed_scratch_words(int h) { return 25 * h; }

// The key's parts at compile-time offsets from the blob (rsa_key_layout.h), so
// the kernel keeps one pointer live instead of eleven.
template <int H>
struct FixedRsaKey {
  const uint32_t* w;
  GT_HD const uint32_t* part(int i) const { return w + kKeyHeaderWords + i * H; }
  GT_HD const uint32_t* prime(int half) const { return part(half); }            // p, q
  GT_HD const uint32_t* dexp(int half) const { return part(2 + half); }         // dp, dq
  GT_HD const uint32_t* qinv() const { return part(4); }
  GT_HD const uint32_t* r2(int half) const { return part(5 + 2 * half); }      // r2p, r2q
  GT_HD const uint32_t* r3(int half) const { return part(6 + 2 * half); }      // r3p, r3q
  GT_HD const uint32_t* n() const { return part(9); }
  GT_HD uint32_t m0inv(int half) const { return w[1 + half]; }
  GT_HD uint64_t e() const { return static_cast<uint64_t>(w[4]) | (static_cast<uint64_t>(w[5]) << 32); }
};

// Scratch words of one request, at compile-time offsets.
template <int H>
struct FixedRsaScratch {
  static constexpr int L = 2 * H;
  mpf::Lane s;
  GT_HD mpf::Lane c() const { return s; }                                        // input, 2H
  GT_HD mpf::Lane res() const { return s.at(L); }                               // result, 2H
  GT_HD mpf::Lane table() const { return s.at(2 * L); }                         // 16H
  GT_HD mpf::Lane tmp() const { return s.at(2 * L + mpf::kTableEntries * H); }  // H
  GT_HD mpf::Lane xc(int half) const { return s.at(2 * L + (mpf::kTableEntries + 1 + half) * H); }
  GT_HD mpf::Lane half_out(int half) const { return s.at(2 * L + (mpf::kTableEntries + 3 + half) * H); }
};

// c*R mod P (Montgomery form of c mod P) for a 2H-limb c: c_hi*R^3/R + c_lo*R^2/R.
template <int H>
GT_HD void to_mont_mod(uint32_t (&a)[H], mpf::Lane c, const uint32_t* r2, const uint32_t* r3, mpf::Lane tmp,
                       const uint32_t (&m)[H], uint32_t m0inv) {
  mpf::load<H>(a, c.at(H));
  mpf::mont_mul<H>(a, mpf::Limbs{r3}, m, m0inv);
  mpf::store<H>(tmp, a);
  mpf::load<H>(a, c);
  mpf::mont_mul<H>(a, mpf::Limbs{r2}, m, m0inv);
  mpf::mod_add<H>(a, tmp, m);
}

template <int H>
GT_HD uint32_t rsa_crt_fixed(const uint32_t* key, const uint8_t* in, uint8_t* out, mpf::Lane lane, uint32_t fault_bit) {
  constexpr int L = 2 * H;
  const FixedRsaKey<H> k{key};
  if (static_cast<int>(key[0]) != H) {  // public: the key's size, not its value
    for (int i = 0; i < 4 * L; ++i) out[i] = 0;
    return kRsaKeySize;
  }
  const FixedRsaScratch<H> s{lane};
  mpf::from_be(s.c(), in, L);
  const uint32_t in_range = mpf::lt_mask(s.c(), mpf::Limbs{k.n()}, L);

  uint32_t m[H], a[H];
  GT_ROLLED for (int half = 0; half < 2; ++half) {
    const uint32_t P0 = k.m0inv(half);
    mpf::load<H>(m, mpf::Limbs{k.prime(half)});
    mpf::load<H>(a, mpf::Limbs{k.r2(half)});
    mpf::mont_mul<H>(a, mpf::Unit{}, m, P0);  // R mod P: Montgomery one
    mpf::store<H>(s.table(), a);
    to_mont_mod<H>(a, s.c(), k.r2(half), k.r3(half), s.tmp(), m, P0);
    mpf::store<H>(s.xc(half), a);
    mpf::store<H>(s.table().at(H), a);
    mpf::mont_exp<H>(a, s.table(), s.tmp(), k.dexp(half), H, m, P0);
    mpf::store<H>(s.half_out(half), a);
  }

  // Garner: m = m2 + q * ((m1 - m2) * qinv mod p). m1 is in p's Montgomery
  // form; m2 leaves q's and enters p's.
  mpf::load<H>(m, mpf::Limbs{k.prime(1)});
  mpf::load<H>(a, s.half_out(1));
  mpf::mont_mul<H>(a, mpf::Unit{}, m, k.m0inv(1));
  mpf::store<H>(s.half_out(1), a);  // m2, plain
  mpf::load<H>(m, mpf::Limbs{k.prime(0)});
  mpf::mont_mul<H>(a, mpf::Limbs{k.r2(0)}, m, k.m0inv(0));
  mpf::store<H>(s.tmp(), a);
  mpf::load<H>(a, s.half_out(0));
  mpf::mod_sub<H>(a, s.tmp(), m);
  mpf::mont_mul<H>(a, mpf::Limbs{k.qinv()}, m, k.m0inv(0));
  const mpf::Lane res = s.res();
  mpf::mul_wide<H>(res, a, mpf::Limbs{k.prime(1)});
  {
    uint64_t carry = 0;
    const mpf::Lane m2 = s.half_out(1);
    GT_ROLLED for (int i = 0; i < L; ++i) {
      const uint64_t x = static_cast<uint64_t>(res[i]) + (i < H ? m2[i < H ? i : 0] : 0u) + carry;
      res[i] = static_cast<uint32_t>(x);
      carry = x >> 32;
    }
  }

  if (fault_bit) res[static_cast<int>(((fault_bit - 1) >> 5) % L)] ^= 1u << ((fault_bit - 1) & 31);

  // Public check, mod p and mod q: (m mod P)^e == c mod P, all in Montgomery form
  // (both sides fully reduced, so equal exactly when congruent). e is public.
  const uint64_t e = k.e();
  int top = 63;
  while (top > 0 && !((e >> top) & 1)) --top;
  uint32_t diff = 0;
  GT_ROLLED for (int half = 0; half < 2; ++half) {
    const uint32_t P0 = k.m0inv(half);
    mpf::load<H>(m, mpf::Limbs{k.prime(half)});
    to_mont_mod<H>(a, res, k.r2(half), k.r3(half), s.tmp(), m, P0);
    const mpf::Lane base = s.table();  // the exponentiation's table is free again
    mpf::store<H>(base, a);
    GT_ROLLED for (int b = top - 1; b >= 0; --b) {
      mpf::square<H>(a, m, P0, s.tmp());
      if ((e >> b) & 1) mpf::mont_mul<H>(a, base, m, P0);
    }
    const mpf::Lane want = s.xc(half);
    GT_UNROLL for (int j = 0; j < H; ++j) diff |= a[j] ^ want[j];
  }
  const uint32_t ok = mp::ct_eq_mask(diff, 0) & mpf::lt_mask(res, mpf::Limbs{k.n()}, L);
  const uint32_t release = in_range & ok;
  GT_ROLLED for (int i = 0; i < L; ++i) res[i] &= release;
  mpf::to_be(out, res, L);
  return (~in_range & kRsaInputRange) | (in_range & ~ok & kRsaFault);
}

}  // namespace gputls::kernels
