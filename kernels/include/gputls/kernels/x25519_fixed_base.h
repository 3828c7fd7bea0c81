// Fixed-base X25519 (key generation): [clamp(k)] of the base point u = 9,
// computed on the birationally equivalent twisted Edwards curve
// edwards25519 (-x^2 + y^2 = 1 + d x^2 y^2, d = -121665/121666) from a table
// of precomputed multiples, then mapped back with u = (1 + y) / (1 - y),
// projectively u = (Z + Y) / (Z - Y) (RFC 7748 section 4.1).
//
// Why this is X25519(k, 9): the map (x, y) -> u = (1 + y) / (1 - y) is a group
// isomorphism from edwards25519 onto curve25519 (up to the sign of v, which
// X25519 ignores), and the Edwards point B with y = 4/5 maps to u = 9. So
// u([k]B) = u-coordinate of [k] (u = 9), for every k. A clamped k is
// 2^254 + 8m < 2^255 and never a multiple of the group order (an odd prime
// times 8 exceeds 2^255 for the multiples that are divisible by 8), so
// Z - Y != 0; the status would still report an all-zero output if it were.
//
// Method (a signed radix-16 fixed-base comb, as in Bernstein et al.'s
// Ed25519 paper): the clamped scalar is recoded into 64 signed digits
// e_i in [-8, 8], k = sum e_i 16^i; the table row r holds j * 256^r * B for
// j = 1..8 (32 rows of 8 affine points). Then
//   [k]B = 16 * sum_{i odd} e_i 16^(i-1) B + sum_{i even} e_i 16^i B:
// 64 mixed additions and 4 doublings, against the ladder's 255 steps.
//
// Constant time: every digit's entry is fetched by a masked scan of all 8
// entries of its (public) row, the identity chosen by mask for digit 0 and the
// negation (swap y+x and y-x, negate 2dxy) applied by mask; the recoding is
// arithmetic only. Row indices and loop bounds are public.
//
// The table is built once on the host with this same arithmetic
// (base_table_host); the CUDA launcher uploads that host table to device
// global memory once per device, so host twin and device read identical
// entries.
#pragma once

#include <cstdint>

#include "gputls/kernels/fe25519.h"

namespace gputls::kernels::ed25519 {

using fe25519::Fe;

// An affine point as (y + x, y - x, 2 d x y): what a mixed addition needs.
struct Niels {
  Fe ypx, ymx, xy2d;
};

// Extended coordinates (X : Y : Z : T), x = X/Z, y = Y/Z, T = XY/Z.
struct Ext {
  Fe X, Y, Z, T;
};

constexpr int kBaseRows = 32;  // row r: multiples of 256^r B
constexpr int kBaseCols = 8;   // column j: (j + 1) 256^r B
constexpr int kDigits = 64;    // signed radix-16 digits of a 256-bit scalar

struct BaseTable {
  Niels e[kBaseRows][kBaseCols];
};

GT_HD void set_identity(Ext& p) {
  fe25519::set_small(p.X, 0);
  fe25519::set_small(p.Y, 1);
  fe25519::set_small(p.Z, 1);
  fe25519::set_small(p.T, 0);
}

// p = p + q, q affine. Hisil-Wong-Carter-Dawson 2008 unified mixed addition
// for a = -1 (8M), complete on edwards25519 (d is not a square). Inputs'
// limbs reduced (q's xy2d may be loose); output reduced.
GT_HD void add_niels(Ext& p, const Niels& q) {
  using namespace fe25519;
  Fe a, b, c, d, e, f, g, h;
  sub(a, p.Y, p.X);
  mul(a, a, q.ymx);   // A = (Y1 - X1)(y2 - x2)
  add(b, p.Y, p.X);
  mul(b, b, q.ypx);   // B = (Y1 + X1)(y2 + x2)
  mul(c, p.T, q.xy2d);  // C = T1 2d x2 y2
  mul_small(d, p.Z, 2);  // D = 2 Z1 (reduced, so D - C below is in range)
  sub(e, b, a);
  sub(f, d, c);
  add(g, d, c);
  add(h, b, a);
  mul(p.X, e, f);
  mul(p.Y, g, h);
  mul(p.T, e, h);
  mul(p.Z, f, g);
}

// p = 2p. HWCD 2008 doubling for a = -1 (4M + 4S); output reduced.
GT_HD void dbl(Ext& p) {
  using namespace fe25519;
  Fe a, b, c, s, t, e, g, f, h, zero;
  sq(a, p.X);
  sq(b, p.Y);
  sq(c, p.Z);
  mul_small(c, c, 2);  // C = 2 Z^2
  add(s, a, b);
  reduce(s, s);        // A + B
  add(t, p.X, p.Y);
  sq(t, t);
  sub(e, t, s);        // E = (X + Y)^2 - A - B
  sub(g, b, a);
  reduce(g, g);        // G = -A + B
  sub(f, g, c);        // F = G - C
  set_small(zero, 0);
  sub(h, zero, s);     // H = -A - B
  mul(p.X, e, f);
  mul(p.Y, g, h);
  mul(p.T, e, h);
  mul(p.Z, f, g);
}

// The clamped scalar (RFC 7748 section 5) as 64 signed radix-16 digits in
// [-8, 8], two at a time (the digits of byte j), so no digit array is kept:
// each pass of base_mul walks the bytes in order and carries `carry` from one
// call to the next. Arithmetic only, no branch on the digits (j is public).
GT_HD void recode_byte(const uint8_t scalar[32], int j, int32_t& carry, int32_t& lo, int32_t& hi) {
  uint32_t byte = scalar[j];
  if (j == 0) byte &= 248u;
  if (j == 31) byte = (byte & 127u) | 64u;
  lo = static_cast<int32_t>(byte & 15u) + carry;
  carry = (lo + 8) >> 4;  // 1 when the digit is >= 8: borrow 16 from the next digit
  lo -= carry * 16;
  hi = static_cast<int32_t>(byte >> 4) + carry;
  if (j < 31) {  // the top digit keeps its carry: after clamping it is at most 8
    carry = (hi + 8) >> 4;
    hi -= carry * 16;
  }
}

// r = digit * (row's base point), digit in [-8, 8], by a masked scan of the
// row's 8 entries (every entry read, whatever the digit).
GT_HD void select(Niels& r, const Niels* row, int32_t digit) {
  using namespace fe25519;
  const uint32_t neg = static_cast<uint32_t>(digit >> 31);       // all ones when negative
  const uint32_t mag = (static_cast<uint32_t>(digit) ^ neg) - neg;  // |digit|
  set_small(r.ypx, 1);  // the identity: (1, 1, 0)
  set_small(r.ymx, 1);
  set_small(r.xy2d, 0);
  GT_FE_NO_UNROLL
  for (int j = 0; j < kBaseCols; ++j) {
    const uint32_t d = mag ^ static_cast<uint32_t>(j + 1);
    const uint32_t m = ((d | (0u - d)) >> 31) - 1u;  // all ones when mag == j + 1
    GT_FE_UNROLL
    for (int i = 0; i < 10; ++i) {
      r.ypx.v[i] = (row[j].ypx.v[i] & m) | (r.ypx.v[i] & ~m);
      r.ymx.v[i] = (row[j].ymx.v[i] & m) | (r.ymx.v[i] & ~m);
      r.xy2d.v[i] = (row[j].xy2d.v[i] & m) | (r.xy2d.v[i] & ~m);
    }
  }
  // -(x, y) = (-x, y): y + x and y - x trade places, 2dxy changes sign.
  cswap(r.ypx, r.ymx, neg);
  Fe zero, minus;
  set_small(zero, 0);
  sub(minus, zero, r.xy2d);
  reduce(minus, minus);
  cswap(r.xy2d, minus, neg);
}

// u = num / den is X25519(scalar, 9): num = Z + Y, den = Z - Y of [k]B. The
// odd digits first (rows of 16^(2j+1) B), four doublings, then the even ones.
GT_HD void base_mul(Fe& num, Fe& den, const uint8_t scalar[32], const BaseTable& table) {
  Ext p;
  Niels q;
  set_identity(p);
  int32_t carry = 0, lo, hi;
  GT_FE_NO_UNROLL
  for (int j = 0; j < kDigits / 2; ++j) {
    recode_byte(scalar, j, carry, lo, hi);
    select(q, table.e[j], hi);
    add_niels(p, q);
  }
  GT_FE_NO_UNROLL
  for (int i = 0; i < 4; ++i) dbl(p);
  carry = 0;
  GT_FE_NO_UNROLL
  for (int j = 0; j < kDigits / 2; ++j) {
    recode_byte(scalar, j, carry, lo, hi);
    select(q, table.e[j], lo);
    add_niels(p, q);
  }
  fe25519::add(num, p.Z, p.Y);
  fe25519::sub(den, p.Z, p.Y);
}

// ---- The table (host only: built once, then copied to devices) --------------

// The edwards25519 base point B (RFC 8032 section 5.1), little-endian: the
// point with y = 4/5 and even x. The tests check that it is on the curve and
// maps to u = 9.
inline constexpr uint8_t kBaseX[32] = {0x1a, 0xd5, 0x25, 0x8f, 0x60, 0x2d, 0x56, 0xc9, 0xb2, 0xa7, 0x25,
                                       0x95, 0x60, 0xc7, 0x2c, 0x69, 0x5c, 0xdc, 0xd6, 0xfd, 0x31, 0xe2,
                                       0xa4, 0xc0, 0xfe, 0x53, 0x6e, 0xcd, 0xd3, 0x36, 0x69, 0x21};
inline constexpr uint8_t kBaseY[32] = {0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                                       0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                                       0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66};

// d = -121665 / 121666.
inline void curve_d(Fe& d) {
  Fe num, den, zero;
  fe25519::set_small(num, 121665);
  fe25519::set_small(den, 121666);
  fe25519::set_small(zero, 0);
  fe25519::sub(num, zero, num);
  fe25519::invert(den, den);
  fe25519::mul(d, num, den);
}

inline void to_niels(Niels& n, const Fe& x, const Fe& y, const Fe& d2) {
  fe25519::add(n.ypx, y, x);
  fe25519::reduce(n.ypx, n.ypx);
  fe25519::sub(n.ymx, y, x);
  fe25519::reduce(n.ymx, n.ymx);
  fe25519::mul(n.xy2d, x, y);
  fe25519::mul(n.xy2d, n.xy2d, d2);
}

inline void from_affine(Ext& p, const Fe& x, const Fe& y) {
  fe25519::copy(p.X, x);
  fe25519::copy(p.Y, y);
  fe25519::set_small(p.Z, 1);
  fe25519::mul(p.T, x, y);
}

inline void to_affine(Fe& x, Fe& y, const Ext& p) {
  Fe zi;
  fe25519::invert(zi, p.Z);
  fe25519::mul(x, p.X, zi);
  fe25519::mul(y, p.Y, zi);
}

inline BaseTable build_base_table() {
  BaseTable t;
  Fe d2, bx, by, x, y;
  curve_d(d2);
  fe25519::add(d2, d2, d2);
  fe25519::reduce(d2, d2);
  fe25519::from_bytes(bx, kBaseX);
  fe25519::from_bytes(by, kBaseY);
  for (int r = 0; r < kBaseRows; ++r) {  // (bx, by) = 256^r B
    Niels base;
    to_niels(base, bx, by, d2);
    t.e[r][0] = base;
    Ext p;
    from_affine(p, bx, by);
    for (int j = 1; j < kBaseCols; ++j) {
      add_niels(p, base);  // (j + 1) 256^r B
      to_affine(x, y, p);
      to_niels(t.e[r][j], x, y, d2);
    }
    from_affine(p, bx, by);
    for (int i = 0; i < 8; ++i) dbl(p);
    to_affine(bx, by, p);
  }
  return t;
}

// The table, built on first use (thread-safe) and kept for the process.
inline const BaseTable& base_table_host() {
  static const BaseTable table = build_base_table();
  return table;
}

}  // namespace gputls::kernels::ed25519
