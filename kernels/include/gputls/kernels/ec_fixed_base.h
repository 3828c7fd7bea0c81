// Fixed-base scalar multiplication k G on P-256 / P-384 (key generation,
// ECDSA sign's k G, verify's u1 G), written once for host and device (GT_HD),
// from a table of precomputed multiples of the generator.
//
// Method: fixed 4-bit windows without doublings. The table's window w holds
// j 16^w G for j = 1..15 (affine, Montgomery form); k G is the sum over the
// windows of the entry for k's digit w (digit 0: the point at infinity), so a
// scalar of 32 L bits costs 8 L complete additions (64 on P-256, 96 on P-384)
// instead of the variable-base routine's 32 L doublings plus 8 L additions
// and its 14-point table.
//
// Constant time: each window's entry is fetched by a masked scan of all 15
// entries (every entry read whatever the digit), the point at infinity for a
// zero digit is made by mask, and the complete RCB addition has no exceptional
// case (infinity, doubling), so nothing branches on k. Window positions are
// public.
//
// The table is built once on the host with this same arithmetic
// (base_table_host); the CUDA launcher copies that host table to device
// global memory once per device, so host twin and device read identical
// words. Sizes: P-256 61,440 bytes, P-384 138,240 bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "gputls/kernels/p256.h"

namespace gputls::kernels::ec {

constexpr int kCombBits = 4;
constexpr int kCombEntries = (1 << kCombBits) - 1;  // digits 1..15; 0 is infinity

// Windows of a curve with `limbs` 32-bit limbs, and the table's size in words.
GT_HD constexpr int base_table_windows(int limbs) { return 32 * limbs / kCombBits; }
GT_HD constexpr size_t base_table_words(int limbs) {
  return static_cast<size_t>(base_table_windows(limbs)) * kCombEntries * 2 * static_cast<size_t>(limbs);
}

// r = k G for k of N limbs (any value below 2^(32 N)); `table` is
// base_table_host(curve) or its device copy. Table layout: window w, digit j:
// x then y (N words each, Montgomery form) at (w * 15 + j - 1) * 2 N. The
// selected entry is accumulated in registers and written once.
template <int N>
GT_EC_FN void fixed_base_mul_n(Point& r, const uint32_t* k, const Curve& c, const uint32_t* table) {
  constexpr int windows = base_table_windows(N);
  Point acc, sel;
  set_infinity(acc, c);
  GT_EC_NO_UNROLL
  for (int w = 0; w < windows; ++w) {
    const uint32_t v = (k[w / 8] >> (kCombBits * (w % 8))) & static_cast<uint32_t>(kCombEntries);
    const uint32_t* row = table + static_cast<size_t>(w) * kCombEntries * 2 * N;
    uint32_t x[N] = {}, y[N] = {};
    GT_EC_NO_UNROLL
    for (int j = 0; j < kCombEntries; ++j) {
      const uint32_t mask = mp::ct_eq_mask(static_cast<uint32_t>(j + 1), v);
      const uint32_t* e = row + static_cast<size_t>(j) * 2 * N;
      GT_UNROLL for (int t = 0; t < N; ++t) {
        x[t] |= e[t] & mask;
        y[t] |= e[N + t] & mask;
      }
    }
    // Digit 0 selected nothing (x = y = 0): make it (0 : 1 : 0), infinity.
    const uint32_t zero = mp::ct_eq_mask(v, 0);
    GT_UNROLL for (int t = 0; t < N; ++t) {
      sel.x[t] = x[t];
      sel.y[t] = y[t] | (c.onep[t] & zero);
      sel.z[t] = c.onep[t] & ~zero;
    }
    point_add(acc, acc, sel, c);
  }
  r = acc;
}

GT_HD void fixed_base_mul(Point& r, const uint32_t* k, const Curve& c, const uint32_t* table) {
  if (c.limbs == 8)  // public: the curve
    fixed_base_mul_n<8>(r, k, c, table);
  else
    fixed_base_mul_n<12>(r, k, c, table);
}

// ---- The table (host only: built once, then copied to devices) --------------

inline std::vector<uint32_t> build_base_table(const Curve& c) {
  const int L = c.limbs;
  const int n = base_table_windows(L) * kCombEntries;
  std::vector<Point> pts(static_cast<size_t>(n));
  Point base;  // 16^w G
  generator(base, c);
  for (int w = 0; w < base_table_windows(L); ++w) {
    Point* row = &pts[static_cast<size_t>(w) * kCombEntries];
    row[0] = base;
    for (int j = 1; j < kCombEntries; ++j) point_add(row[j], row[j - 1], base, c);
    point_add(base, row[kCombEntries - 1], base, c);  // 16 * 16^w G
  }
  // Affine by Montgomery's trick: one inversion for all entries (no entry is
  // infinity: j 16^w < n). prefix[i] = z_0 ... z_i.
  std::vector<uint32_t> prefix(static_cast<size_t>(n) * L);
  uint32_t acc[kMaxLimbs] = {}, inv[kMaxLimbs] = {}, zinv[kMaxLimbs] = {};
  mp::copy(acc, c.onep, L);
  for (int i = 0; i < n; ++i) {
    fmul(acc, acc, pts[static_cast<size_t>(i)].z, c);
    mp::copy(&prefix[static_cast<size_t>(i) * L], acc, L);
  }
  mont_pow(inv, acc, c.pm2, c.p, c.p0inv, c.onep, L);  // 1 / (z_0 ... z_(n-1))
  std::vector<uint32_t> table(base_table_words(L));
  for (int i = n - 1; i >= 0; --i) {
    const Point& p = pts[static_cast<size_t>(i)];
    if (i > 0)
      fmul(zinv, inv, &prefix[static_cast<size_t>(i - 1) * L], c);
    else
      mp::copy(zinv, inv, L);
    fmul(inv, inv, p.z, c);  // now 1 / (z_0 ... z_(i-1))
    uint32_t* e = &table[static_cast<size_t>(i) * 2 * L];
    fmul(e, p.x, zinv, c);
    fmul(e + L, p.y, zinv, c);
  }
  return table;
}

// The table of curve `id` (< kEcCurveCount), built on first use (thread-safe)
// and kept for the process.
inline const uint32_t* base_table_host(uint32_t id) {
  if (id == kEcP256) {
    static const std::vector<uint32_t> t256 = build_base_table(curve(kEcP256));
    return t256.data();
  }
  static const std::vector<uint32_t> t384 = build_base_table(curve(kEcP384));
  return t384.data();
}

}  // namespace gputls::kernels::ec
