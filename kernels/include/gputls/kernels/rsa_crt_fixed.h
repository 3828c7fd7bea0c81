// RSA private-key operation by CRT for one compile-time half size H (limbs of
// one prime): the kernel body for the key sizes the GPU serves (2048, 3072,
// 4096 bits), built on mp_fixed.h.
//
// Two threads per request, one per CRT half, side by side in a warp: each
// exponentiates modulo its prime (phase 1); the half-0 thread recombines
// (Garner, phase 2); each checks that result modulo its own prime (phase 3);
// the half-0 thread releases it (phase 4). Between phases the pair
// synchronises (__syncwarp on the device; the host twin runs each phase for
// every thread before the next).
// Half the latency of one thread per request, and half the requests in flight
// to fill the GPU, for the same work.
//
// The result is checked with the public exponent before release (Bellcore:
// one faulty CRT half would hand an attacker a factor of n): m^e = c mod n
// exactly when it holds mod p and mod q (n = pq), and m < n. Range check,
// check and release are all masked.
//
// Scratch (words of each thread's Lane, limb-major across the batch's threads):
//   c 2H | m 2H | table 16H | tmp H | xc H (c*R mod this half's prime) |
//   half result H | check word | input-range word
#pragma once

#include <cstdint>

#include "gputls/kernels/mp_fixed.h"
#include "gputls/kernels/rsa_key_layout.h"

namespace gputls::kernels {

// RsaBatch::fault_bit (tests only): v flips bit v-1 of the result after
// Garner; v | kRsaFaultInM2 flips bit v-1 of m2 before it.
constexpr uint32_t kRsaFaultInM2 = 0x80000000u;

// Scratch words of one thread, and of one request (its two threads).
GT_HD constexpr int rsa_fixed_thread_words(int h) { return 23 * h + 2; }
GT_HD constexpr int rsa_fixed_scratch_words(int h) { return 2 * rsa_fixed_thread_words(h); }

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

// Scratch words of one thread, at compile-time offsets.
template <int H>
struct FixedRsaScratch {
  static constexpr int L = 2 * H;
  mpf::Lane s;
  GT_HD mpf::Lane c() const { return s; }                                        // input, 2H
  GT_HD mpf::Lane res() const { return s.at(L); }                               // result, 2H
  GT_HD mpf::Lane table() const { return s.at(2 * L); }                         // 16H
  GT_HD mpf::Lane tmp() const { return s.at(2 * L + mpf::kTableEntries * H); }  // H
  GT_HD mpf::Lane xc() const { return s.at(2 * L + (mpf::kTableEntries + 1) * H); }
  GT_HD mpf::Lane half_out() const { return s.at(2 * L + (mpf::kTableEntries + 2) * H); }
  GT_HD uint32_t& check() const { return s[2 * L + (mpf::kTableEntries + 3) * H]; }
  GT_HD uint32_t& in_range() const { return s[2 * L + (mpf::kTableEntries + 3) * H + 1]; }
  // The other thread of the pair: the neighbouring column.
  GT_HD FixedRsaScratch partner(int half) const { return {mpf::Lane{half ? s.p - 1 : s.p + 1, s.stride}}; }
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

// Phase 1, thread of CRT half `half`: c^d_half mod prime_half, left in the
// prime's Montgomery form in half_out; c*R mod the prime in xc.
template <int H>
GT_HD void rsa_crt_phase1(const FixedRsaKey<H>& k, const uint8_t* in, FixedRsaScratch<H> s, int half) {
  constexpr int L = 2 * H;
  mp::from_be(s.c(), in, L);
  s.in_range() = mp::ct_lt_mask(s.c(), mpf::Limbs{k.n()}, L);
  uint32_t m[H], a[H];
  const uint32_t P0 = k.m0inv(half);
  mpf::load<H>(m, mpf::Limbs{k.prime(half)});
  mpf::load<H>(a, mpf::Limbs{k.r2(half)});
  mpf::mont_mul<H>(a, mpf::Unit{}, m, P0);  // R mod P: Montgomery one
  mpf::store<H>(s.table(), a);
  to_mont_mod<H>(a, s.c(), k.r2(half), k.r3(half), s.tmp(), m, P0);
  mpf::store<H>(s.xc(), a);
  mpf::store<H>(s.table().at(H), a);
  mpf::mont_exp<H>(a, s.table(), s.tmp(), k.dexp(half), H, m, P0);
  mpf::store<H>(s.half_out(), a);
}

// Phase 2, the half-0 thread: m = m2 + q * ((m1 - m2) * qinv mod p) into its
// res (m1 in p's Montgomery form; m2 leaves q's and enters p's).
template <int H>
GT_HD void rsa_crt_phase2(const FixedRsaKey<H>& k, FixedRsaScratch<H> s, uint32_t fault_bit) {
  constexpr int L = 2 * H;
  const FixedRsaScratch<H> other = s.partner(0);
  uint32_t m[H], a[H];
  mpf::load<H>(m, mpf::Limbs{k.prime(1)});
  mpf::load<H>(a, other.half_out());
  mpf::mont_mul<H>(a, mpf::Unit{}, m, k.m0inv(1));
  mpf::store<H>(s.table(), a);  // m2, plain (the table is free once phase 1 ends)
  if (fault_bit & kRsaFaultInM2) {  // tests: a fault in Garner's input, right mod p and wrong mod q
    const uint32_t bit = (fault_bit & ~kRsaFaultInM2) - 1;
    s.table()[static_cast<int>((bit >> 5) % H)] ^= 1u << (bit & 31);
    mpf::load<H>(a, s.table());
  }
  mpf::load<H>(m, mpf::Limbs{k.prime(0)});
  mpf::mont_mul<H>(a, mpf::Limbs{k.r2(0)}, m, k.m0inv(0));
  mpf::store<H>(s.tmp(), a);
  mpf::load<H>(a, s.half_out());
  mpf::mod_sub<H>(a, s.tmp(), m);
  mpf::mont_mul<H>(a, mpf::Limbs{k.qinv()}, m, k.m0inv(0));
  const mpf::Lane res = s.res();
  mpf::mul_wide<H>(res, a, mpf::Limbs{k.prime(1)});
  uint64_t carry = 0;
  const mpf::Lane m2 = s.table();
  GT_ROLLED for (int i = 0; i < L; ++i) {
    const uint64_t x = static_cast<uint64_t>(res[i]) + (i < H ? m2[i] : 0u) + carry;
    res[i] = static_cast<uint32_t>(x);
    carry = x >> 32;
  }
  if (fault_bit && !(fault_bit & kRsaFaultInM2))
    res[static_cast<int>(((fault_bit - 1) >> 5) % L)] ^= 1u << ((fault_bit - 1) & 31);
}

// Phase 3, both threads: the public check of the value phase 2 made (the one
// phase 4 releases) modulo this thread's prime: (m mod P)^e == c mod P in
// Montgomery form (both sides fully reduced, so equal exactly when
// congruent); the mask (all-ones when it holds and m < n) goes to the check
// word. Both checks must be of the released value: a fault that kept it right
// mod p but not mod q would otherwise pass and reveal p.
template <int H>
GT_HD void rsa_crt_phase3(const FixedRsaKey<H>& k, FixedRsaScratch<H> s, int half) {
  constexpr int L = 2 * H;
  const mpf::Lane res = (half ? s.partner(1) : s).res();
  const uint64_t e = k.e();
  int top = 63;
  while (top > 0 && !((e >> top) & 1)) --top;
  const uint32_t P0 = k.m0inv(half);
  uint32_t m[H], a[H];
  mpf::load<H>(m, mpf::Limbs{k.prime(half)});
  to_mont_mod<H>(a, res, k.r2(half), k.r3(half), s.tmp(), m, P0);
  const mpf::Lane base = s.table().at(H);
  mpf::store<H>(base, a);
  GT_ROLLED for (int b = top - 1; b >= 0; --b) {
    mpf::square<H>(a, m, P0, s.tmp());
    if ((e >> b) & 1) mpf::mont_mul<H>(a, base, m, P0);
  }
  const mpf::Lane want = s.xc();
  uint32_t diff = 0;
  GT_UNROLL for (int j = 0; j < H; ++j) diff |= a[j] ^ want[j];
  s.check() = mp::ct_eq_mask(diff, 0) & mp::ct_lt_mask(res, mpf::Limbs{k.n()}, L);
}

// Phase 4, the half-0 thread: the result released only when both checks held
// and the input was in range. Returns the request's status.
template <int H>
GT_HD uint32_t rsa_crt_phase4(FixedRsaScratch<H> s, uint8_t* out) {
  constexpr int L = 2 * H;
  const uint32_t in_range = s.in_range();
  const uint32_t ok = s.check() & s.partner(0).check();
  const uint32_t release = in_range & ok;
  const mpf::Lane res = s.res();
  GT_ROLLED for (int i = 0; i < L; ++i) res[i] &= release;
  mp::to_be(out, res, L);
  return (~in_range & kRsaInputRange) | (in_range & ~ok & kRsaFault);
}

}  // namespace gputls::kernels
