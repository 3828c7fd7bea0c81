// Arithmetic in GF(2^255 - 19), written once for host and device (GT_HD), for
// X25519 (RFC 7748).
//
// Representation: ten unsigned 32-bit limbs in radix 2^25.5 (ref10 / donna
// layout): h = sum h[i] * 2^ceil(25.5 i), even limbs 26 bits wide, odd limbs 25.
// Products are 32 x 32 -> 64-bit (one IMAD.WIDE.U32 on the GPU); nothing needs
// a 128-bit type, and the sums of ten products fit in 64 bits with room to
// spare, so a multiplication is 100 multiply-adds and one carry chain.
//
// Limb bounds (checked by FieldMatchesBignumAtLimbBounds in the tests):
//   reduced: even limbs < 2^26, odd limbs <= 2^25 + 2^17. Produced by
//            from_bytes, mul, sq, mul_small, carry; accepted everywhere.
//   loose:   even limbs < 3 * 2^26, odd limbs < 3 * 2^25 + 2^17. Produced by
//            add and sub of two reduced elements; accepted by mul, sq,
//            mul_small and to_bytes, but NOT by add or sub.
//   With loose inputs the ten-term sums stay below 2^62.2, 19 * limb and
//   38 * odd limb below 2^31.9.
//
// Constant time: no branch and no memory index depends on a limb value. Loop
// bounds and indices are public constants; the only data-dependent choice,
// cswap, is done with a mask.
#pragma once

#include <cstdint>

#include "gputls/kernels/gt_hd.h"

// Full unrolling of the fixed 10-limb loops (so limbs stay in registers on the
// device), and no unrolling of long public loops (squaring chains, the ladder)
// to keep nvcc compile time and code size bounded.
#if defined(__CUDA_ARCH__)
#define GT_FE_UNROLL _Pragma("unroll")
#define GT_FE_NO_UNROLL _Pragma("unroll 1")
#elif defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define GT_FE_UNROLL _Pragma("GCC unroll 16")
#define GT_FE_NO_UNROLL
#else
#define GT_FE_UNROLL
#define GT_FE_NO_UNROLL
#endif

namespace gputls::kernels::fe25519 {

struct Fe {
  uint32_t v[10];
};

constexpr uint32_t kMask26 = (1u << 26) - 1;
constexpr uint32_t kMask25 = (1u << 25) - 1;

GT_HD constexpr int limb_bits(int i) { return (i & 1) ? 25 : 26; }
GT_HD constexpr uint32_t limb_mask(int i) { return (i & 1) ? kMask25 : kMask26; }

GT_HD void set_small(Fe& h, uint32_t x) {  // x < 2^25
  h.v[0] = x;
  GT_FE_UNROLL
  for (int i = 1; i < 10; ++i) h.v[i] = 0;
}

GT_HD void copy(Fe& h, const Fe& f) {
  GT_FE_UNROLL
  for (int i = 0; i < 10; ++i) h.v[i] = f.v[i];
}

// h = f + g. Inputs reduced, output loose.
GT_HD void add(Fe& h, const Fe& f, const Fe& g) {
  GT_FE_UNROLL
  for (int i = 0; i < 10; ++i) h.v[i] = f.v[i] + g.v[i];
}

// h = f - g, computed as f + 2p - g limb by limb (2p's limbs are at least
// every reduced limb, so nothing goes negative). Inputs reduced, output loose.
GT_HD void sub(Fe& h, const Fe& f, const Fe& g) {
  GT_FE_UNROLL
  for (int i = 0; i < 10; ++i) {
    const uint32_t two_p = i == 0 ? 2 * (kMask26 - 18) : 2 * limb_mask(i);
    h.v[i] = f.v[i] + two_p - g.v[i];
  }
}

// Carries 64-bit limb sums (< 2^63) into a reduced element. Two interleaved
// chains (as in ref10) for instruction-level parallelism; the carry out of the
// top limb wraps around times 19 (2^255 = 19 mod p).
GT_HD void carry_wide(Fe& h, uint64_t t[10]) {
  uint64_t c;
  c = t[0] >> 26; t[1] += c; t[0] &= kMask26;
  c = t[4] >> 26; t[5] += c; t[4] &= kMask26;
  c = t[1] >> 25; t[2] += c; t[1] &= kMask25;
  c = t[5] >> 25; t[6] += c; t[5] &= kMask25;
  c = t[2] >> 26; t[3] += c; t[2] &= kMask26;
  c = t[6] >> 26; t[7] += c; t[6] &= kMask26;
  c = t[3] >> 25; t[4] += c; t[3] &= kMask25;
  c = t[7] >> 25; t[8] += c; t[7] &= kMask25;
  c = t[4] >> 26; t[5] += c; t[4] &= kMask26;
  c = t[8] >> 26; t[9] += c; t[8] &= kMask26;
  c = t[9] >> 25; t[0] += 19 * c; t[9] &= kMask25;
  c = t[0] >> 26; t[1] += c; t[0] &= kMask26;
  GT_FE_UNROLL
  for (int i = 0; i < 10; ++i) h.v[i] = static_cast<uint32_t>(t[i]);
}

// h = f with its limbs carried: input loose, output reduced (h may alias f).
// Needed before add or sub, which accept reduced inputs only.
GT_HD void reduce(Fe& h, const Fe& f) {
  uint64_t t[10];
  GT_FE_UNROLL
  for (int i = 0; i < 10; ++i) t[i] = f.v[i];
  carry_wide(h, t);
}

// h = f * g. Inputs loose, output reduced; h may alias f or g.
// Term f[i] g[j] has weight 2^(o_i + o_j) with o_k = ceil(25.5 k): twice
// 2^o_(i+j) when i and j are both odd, and 2^255 = 19 once i + j >= 10.
GT_HD void mul(Fe& h, const Fe& f, const Fe& g) {
  GT_COUNT("fe25519::mul", 10);
  uint32_t f2[10], g19[10];
  uint64_t t[10];
  GT_FE_UNROLL
  for (int i = 0; i < 10; ++i) {
    f2[i] = (i & 1) ? 2 * f.v[i] : f.v[i];
    g19[i] = 19 * g.v[i];
    t[i] = 0;
  }
  GT_FE_UNROLL
  for (int i = 0; i < 10; ++i) {
    GT_FE_UNROLL
    for (int j = 0; j < 10; ++j) {
      const uint32_t a = (i & j & 1) ? f2[i] : f.v[i];
      const uint32_t b = (i + j >= 10) ? g19[j] : g.v[j];
      t[(i + j) % 10] += static_cast<uint64_t>(a) * b;
    }
  }
  carry_wide(h, t);
}

// h = f^2 (55 products instead of 100). Input loose, output reduced; h may alias f.
GT_HD void sq(Fe& h, const Fe& f) {
  GT_COUNT("fe25519::sq", 10);
  uint32_t f2[10], f19[10], f38[10];
  uint64_t t[10];
  GT_FE_UNROLL
  for (int i = 0; i < 10; ++i) {
    f2[i] = 2 * f.v[i];
    f19[i] = 19 * f.v[i];
    f38[i] = (i & 1) ? 38 * f.v[i] : 0;  // only odd limbs need 38 (and only they fit)
    t[i] = 0;
  }
  GT_FE_UNROLL
  for (int i = 0; i < 10; ++i) {
    // Diagonal: f[i]^2, times 2 for odd i, times 19 once 2i >= 10.
    const uint32_t d = (2 * i >= 10) ? ((i & 1) ? f38[i] : f19[i]) : ((i & 1) ? f2[i] : f.v[i]);
    t[(2 * i) % 10] += static_cast<uint64_t>(f.v[i]) * d;
    // Cross terms, counted twice.
    GT_FE_UNROLL
    for (int j = i + 1; j < 10; ++j) {
      const bool odd = (i & j & 1) != 0;
      const uint32_t b = (i + j >= 10) ? (odd ? f38[j] : f19[j]) : (odd ? f2[j] : f.v[j]);
      t[(i + j) % 10] += static_cast<uint64_t>(f2[i]) * b;
    }
  }
  carry_wide(h, t);
}

// h = f^(2^n), n >= 1 public. Input loose, output reduced.
GT_HD void sq_n(Fe& h, const Fe& f, int n) {
  sq(h, f);
  GT_FE_NO_UNROLL
  for (int i = 1; i < n; ++i) sq(h, h);
}

// h = f * k for a small constant k < 2^17 (121665 in the ladder). Input loose, output reduced.
GT_HD void mul_small(Fe& h, const Fe& f, uint32_t k) {
  uint64_t t[10];
  GT_FE_UNROLL
  for (int i = 0; i < 10; ++i) t[i] = static_cast<uint64_t>(f.v[i]) * k;
  carry_wide(h, t);
}

// h = f^(p-2) = 1/f (0 for f = 0), by Fermat with ref10's fixed chain:
// 254 squarings and 11 multiplications. Input loose, output reduced.
GT_HD void invert(Fe& out, const Fe& z) {
  Fe t0, t1, t2, t3;
  sq(t0, z);              // z^2
  sq_n(t1, t0, 2);        // z^8
  mul(t1, z, t1);         // z^9
  mul(t0, t0, t1);        // z^11
  sq(t2, t0);             // z^22
  mul(t1, t1, t2);        // z^(2^5 - 1)
  sq_n(t2, t1, 5);
  mul(t1, t2, t1);        // z^(2^10 - 1)
  sq_n(t2, t1, 10);
  mul(t2, t2, t1);        // z^(2^20 - 1)
  sq_n(t3, t2, 20);
  mul(t2, t3, t2);        // z^(2^40 - 1)
  sq_n(t2, t2, 10);
  mul(t1, t2, t1);        // z^(2^50 - 1)
  sq_n(t2, t1, 50);
  mul(t2, t2, t1);        // z^(2^100 - 1)
  sq_n(t3, t2, 100);
  mul(t2, t3, t2);        // z^(2^200 - 1)
  sq_n(t2, t2, 50);
  mul(t1, t2, t1);        // z^(2^250 - 1)
  sq_n(t1, t1, 5);        // z^(2^255 - 2^5)
  mul(out, t1, t0);       // z^(2^255 - 21) = z^(p - 2)
}

// Swaps f and g when mask is all ones, leaves them when it is zero; no branch.
GT_HD void cswap(Fe& f, Fe& g, uint32_t mask) {
  GT_FE_UNROLL
  for (int i = 0; i < 10; ++i) {
    const uint32_t x = mask & (f.v[i] ^ g.v[i]);
    f.v[i] ^= x;
    g.v[i] ^= x;
  }
}

GT_HD uint32_t load_le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}

GT_HD void store_le32(uint8_t* p, uint32_t x) {
  p[0] = static_cast<uint8_t>(x);
  p[1] = static_cast<uint8_t>(x >> 8);
  p[2] = static_cast<uint8_t>(x >> 16);
  p[3] = static_cast<uint8_t>(x >> 24);
}

// 32 little-endian bytes to a reduced element. The top bit (bit 255) is
// ignored (RFC 7748 section 5); values in [p, 2^255) are accepted as they are
// (non-canonical, they are congruent to value - p and the arithmetic is mod p).
GT_HD void from_bytes(Fe& h, const uint8_t s[32]) {
  uint32_t w[8];
  GT_FE_UNROLL
  for (int i = 0; i < 8; ++i) w[i] = load_le32(s + 4 * i);
  h.v[0] = w[0] & kMask26;                          // bits   0..25
  h.v[1] = ((w[0] >> 26) | (w[1] << 6)) & kMask25;  // bits  26..50
  h.v[2] = ((w[1] >> 19) | (w[2] << 13)) & kMask26; // bits  51..76
  h.v[3] = ((w[2] >> 13) | (w[3] << 19)) & kMask25; // bits  77..101
  h.v[4] = (w[3] >> 6) & kMask26;                   // bits 102..127
  h.v[5] = w[4] & kMask25;                          // bits 128..152
  h.v[6] = ((w[4] >> 25) | (w[5] << 7)) & kMask26;  // bits 153..178
  h.v[7] = ((w[5] >> 19) | (w[6] << 13)) & kMask25; // bits 179..203
  h.v[8] = ((w[6] >> 12) | (w[7] << 20)) & kMask26; // bits 204..229
  h.v[9] = (w[7] >> 6) & kMask25;                   // bits 230..254 (bit 255 dropped)
}

// Canonical encoding: the unique value in [0, p), 32 little-endian bytes (top
// bit clear). Input reduced or loose (limbs < 2^31). Returns the OR of the
// eight output words: zero exactly when f = 0 mod p (for a masked zero test).
GT_HD uint32_t to_bytes(uint8_t s[32], const Fe& f) {
  uint32_t h[10];
  GT_FE_UNROLL
  for (int i = 0; i < 10; ++i) h[i] = f.v[i];
  // 1. Carry once around: all limbs in range except h[1] <= 2^25, so h < 2p.
  GT_FE_UNROLL
  for (int i = 0; i < 9; ++i) {
    h[i + 1] += h[i] >> limb_bits(i);
    h[i] &= limb_mask(i);
  }
  h[0] += 19 * (h[9] >> 25);
  h[9] &= kMask25;
  h[1] += h[0] >> 26;
  h[0] &= kMask26;
  // 2. q = 1 exactly when h >= p, i.e. h + 19 >= 2^255: the carry out of h + 19.
  uint32_t q = (h[0] + 19) >> 26;
  GT_FE_UNROLL
  for (int i = 1; i < 10; ++i) q = (h[i] + q) >> limb_bits(i);
  // 3. h - q p = h + 19 q - q 2^255: add 19 q, carry, drop bit 255.
  h[0] += 19 * q;
  GT_FE_UNROLL
  for (int i = 0; i < 9; ++i) {
    h[i + 1] += h[i] >> limb_bits(i);
    h[i] &= limb_mask(i);
  }
  h[9] &= kMask25;
  uint32_t w[8];
  w[0] = h[0] | (h[1] << 26);
  w[1] = (h[1] >> 6) | (h[2] << 19);
  w[2] = (h[2] >> 13) | (h[3] << 13);
  w[3] = (h[3] >> 19) | (h[4] << 6);
  w[4] = h[5] | (h[6] << 25);
  w[5] = (h[6] >> 7) | (h[7] << 19);
  w[6] = (h[7] >> 13) | (h[8] << 12);
  w[7] = (h[8] >> 20) | (h[9] << 6);
  uint32_t any = 0;
  GT_FE_UNROLL
  for (int i = 0; i < 8; ++i) {
    store_le32(s + 4 * i, w[i]);
    any |= w[i];
  }
  return any;
}

}  // namespace gputls::kernels::fe25519
