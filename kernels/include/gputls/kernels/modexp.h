// Constant-time modular exponentiation in Montgomery form: fixed 5-bit
// windows, every window's table entry fetched by a masked scan of the whole
// table, so neither branches nor addresses depend on the exponent.
#pragma once

#include "gputls/kernels/mp.h"

namespace gputls::kernels::mp {

constexpr int kWindowBits = 5;
constexpr int kTableSize = 1 << kWindowBits;

// Scratch limbs mont_exp needs for an n-limb modulus.
GT_HD constexpr int mont_exp_scratch(int n) { return kTableSize * n + 2 * n + (n + 2); }

// Bits [lo, lo + 5) of an exponent of exp_limbs limbs (bits past the end are 0).
// lo is public; the value is secret and only ever used as a mask.
GT_HD uint32_t window_at(const uint32_t* exp, int exp_limbs, int lo) {
  const int limb = lo >> 5, shift = lo & 31;
  uint32_t v = exp[limb] >> shift;
  if (shift > 32 - kWindowBits && limb + 1 < exp_limbs) v |= exp[limb + 1] << (32 - shift);
  return v & (kTableSize - 1);
}

// r = base^exp (all in Montgomery form mod m): base_m = base * R mod m,
// one_m = R mod m, result r = base^exp * R mod m. The exponent's length in
// limbs is public; its bits are not. r may alias base_m.
GT_HD void mont_exp(uint32_t* r, const uint32_t* base_m, const uint32_t* exp, int exp_limbs, const uint32_t* m,
                    uint32_t m0inv, const uint32_t* one_m, uint32_t* scratch, int n) {
  GT_COUNT("mp::mont_exp", n);
  uint32_t* table = scratch;
  uint32_t* acc = table + kTableSize * n;
  uint32_t* sel = acc + n;
  uint32_t* t = sel + n;
  copy(table, one_m, n);
  copy(table + n, base_m, n);
  for (int i = 2; i < kTableSize; ++i) mont_mul(table + i * n, table + (i - 1) * n, base_m, m, m0inv, t, n);

  copy(acc, one_m, n);
  const int windows = (32 * exp_limbs + kWindowBits - 1) / kWindowBits;
  for (int w = windows - 1; w >= 0; --w) {
    if (w != windows - 1)
      for (int k = 0; k < kWindowBits; ++k) mont_mul(acc, acc, acc, m, m0inv, t, n);
    const uint32_t v = window_at(exp, exp_limbs, w * kWindowBits);
    set_zero(sel, n);
    for (int i = 0; i < kTableSize; ++i) {
      const uint32_t mask = ct_eq_mask(static_cast<uint32_t>(i), v);
      for (int j = 0; j < n; ++j) sel[j] |= table[i * n + j] & mask;
    }
    mont_mul(acc, acc, sel, m, m0inv, t, n);
  }
  copy(r, acc, n);
}

}  // namespace gputls::kernels::mp
