// Multi-precision arithmetic on little-endian arrays of 32-bit limbs, written
// once for host and device (GT_HD). Limb counts are runtime values so one
// compiled body serves every key size; loops are not unrolled, which keeps
// nvcc compile times short.
//
// Constant time: no branch and no memory index depends on limb values. Only
// limb counts and positions (public) steer control flow; values are combined
// with masks.
#pragma once

#include <cstdint>

#include "gputls/kernels/gt_hd.h"

namespace gputls::kernels::mp {

// All-ones when x == y, else zero; no branch.
GT_HD uint32_t ct_eq_mask(uint32_t x, uint32_t y) {
  uint32_t d = x ^ y;
  return ((d | (0u - d)) >> 31) - 1u;
}

// r = mask ? a : b, limb by limb.
GT_HD void ct_select(uint32_t* r, const uint32_t* a, const uint32_t* b, uint32_t mask, int n) {
  for (int i = 0; i < n; ++i) r[i] = (a[i] & mask) | (b[i] & ~mask);
}

GT_HD void copy(uint32_t* r, const uint32_t* a, int n) {
  for (int i = 0; i < n; ++i) r[i] = a[i];
}

GT_HD void set_zero(uint32_t* r, int n) {
  for (int i = 0; i < n; ++i) r[i] = 0;
}

// r = a - b over n limbs; returns the borrow (0 or 1).
GT_HD uint32_t sub(uint32_t* r, const uint32_t* a, const uint32_t* b, int n) {
  uint64_t borrow = 0;
  for (int i = 0; i < n; ++i) {
    uint64_t d = static_cast<uint64_t>(a[i]) - b[i] - borrow;
    r[i] = static_cast<uint32_t>(d);
    borrow = (d >> 32) & 1;
  }
  return static_cast<uint32_t>(borrow);
}

// r = a + b over n limbs; returns the carry.
GT_HD uint32_t add(uint32_t* r, const uint32_t* a, const uint32_t* b, int n) {
  uint64_t carry = 0;
  for (int i = 0; i < n; ++i) {
    uint64_t s = static_cast<uint64_t>(a[i]) + b[i] + carry;
    r[i] = static_cast<uint32_t>(s);
    carry = s >> 32;
  }
  return static_cast<uint32_t>(carry);
}

// All-ones when a < b (n limbs), computed without branching on the values.
// A and B: limb pointers, or anything indexable as one (mp_fixed.h's Lane, Limbs).
template <class A, class B>
GT_HD uint32_t ct_lt_mask(const A& a, const B& b, int n) {
  uint64_t borrow = 0;
  for (int i = 0; i < n; ++i) {
    uint64_t d = static_cast<uint64_t>(a[i]) - b[i] - borrow;
    borrow = (d >> 32) & 1;
  }
  return 0u - static_cast<uint32_t>(borrow);
}

// r = (a + b) mod m, with a, b < m. tmp: n limbs.
GT_HD void mod_add(uint32_t* r, const uint32_t* a, const uint32_t* b, const uint32_t* m, uint32_t* tmp, int n) {
  uint32_t carry = add(r, a, b, n);
  uint32_t borrow = sub(tmp, r, m, n);
  // r - m is right when the sum overflowed or did not borrow.
  uint32_t use_diff = 0u - (carry | (borrow ^ 1u));
  ct_select(r, tmp, r, use_diff, n);
}

// r = (a - b) mod m, with a, b < m. tmp: n limbs.
GT_HD void mod_sub(uint32_t* r, const uint32_t* a, const uint32_t* b, const uint32_t* m, uint32_t* tmp, int n) {
  uint32_t borrow = sub(r, a, b, n);
  add(tmp, r, m, n);
  ct_select(r, tmp, r, 0u - borrow, n);
}

// -m^-1 mod 2^32 for odd m0 (Newton iteration; no branches).
GT_HD uint32_t neg_inv32(uint32_t m0) {
  uint32_t x = m0;  // correct to 3 bits for odd m0
  for (int i = 0; i < 4; ++i) x *= 2u - m0 * x;
  return 0u - x;
}

// Montgomery multiplication (CIOS): r = a * b * 2^(-32n) mod m, for a * b < 2^(32n) * m,
// result fully reduced (< m). t: scratch of n + 2 limbs, not aliasing r, a, b or m.
// r may alias a or b.
GT_HD void mont_mul(uint32_t* r, const uint32_t* a, const uint32_t* b, const uint32_t* m, uint32_t m0inv,
                    uint32_t* t, int n) {
  GT_COUNT("mp::mont_mul", n);
  for (int i = 0; i < n + 2; ++i) t[i] = 0;
  for (int i = 0; i < n; ++i) {
    uint64_t c = 0;
    const uint64_t bi = b[i];
    for (int j = 0; j < n; ++j) {
      uint64_t s = static_cast<uint64_t>(t[j]) + a[j] * bi + c;
      t[j] = static_cast<uint32_t>(s);
      c = s >> 32;
    }
    uint64_t s = static_cast<uint64_t>(t[n]) + c;
    t[n] = static_cast<uint32_t>(s);
    t[n + 1] = static_cast<uint32_t>(s >> 32);

    const uint64_t q = static_cast<uint32_t>(t[0] * m0inv);
    c = (static_cast<uint64_t>(t[0]) + q * m[0]) >> 32;
    for (int j = 1; j < n; ++j) {
      uint64_t u = static_cast<uint64_t>(t[j]) + q * m[j] + c;
      t[j - 1] = static_cast<uint32_t>(u);
      c = u >> 32;
    }
    s = static_cast<uint64_t>(t[n]) + c;
    t[n - 1] = static_cast<uint32_t>(s);
    t[n] = t[n + 1] + static_cast<uint32_t>(s >> 32);
  }
  // t < 2m: subtract m unless that borrows past the top limb.
  uint32_t borrow = sub(r, t, m, n);
  uint32_t keep_t = 0u - (borrow & (t[n] ^ 1u));  // t < m exactly when it borrowed and t[n] == 0
  ct_select(r, t, r, keep_t, n);
}

// Big-endian bytes (exactly 4n of them) to n limbs, and back. The limbs: a
// pointer, or anything indexable as one (mp_fixed.h's Lane).
template <class R>
GT_HD void from_be(R r, const uint8_t* be, int n) {
  for (int i = 0; i < n; ++i) {
    const uint8_t* p = be + 4 * (n - 1 - i);
    r[i] = (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
           (static_cast<uint32_t>(p[2]) << 8) | p[3];
  }
}

template <class A>
GT_HD void to_be(uint8_t* be, const A& a, int n) {
  for (int i = 0; i < n; ++i) {
    uint8_t* p = be + 4 * (n - 1 - i);
    const uint32_t x = a[i];  // once: the byte stores may alias the limbs
    p[0] = static_cast<uint8_t>(x >> 24);
    p[1] = static_cast<uint8_t>(x >> 16);
    p[2] = static_cast<uint8_t>(x >> 8);
    p[3] = static_cast<uint8_t>(x);
  }
}

}  // namespace gputls::kernels::mp
