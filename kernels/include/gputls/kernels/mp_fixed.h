// Multi-precision arithmetic with compile-time limb counts, for the RSA sizes
// the GPU serves (issue 19 part 2). Operands and accumulators are arrays of N
// 32-bit limbs indexed only by constants after unrolling, so nvcc keeps them
// in registers and turns each limb product into an IMAD carry chain; the
// other operand of a multiplication is read one limb per outer iteration from
// memory (a Lane of the limb-major scratch, or key material), except in
// mont_mul_regs (both operands in registers, for the EC sizes).
//
// Written once for host and device (GT_HD): the host twin runs this same code.
//
// Constant time: no branch and no memory index depends on limb values; only N,
// loop counters and public exponents steer control flow.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gputls/kernels/gt_hd.h"
#include "gputls/kernels/mp.h"

namespace gputls::kernels::mpf {

// One request's words in a limb-major batch scratch: word k at p[k * stride],
// stride = requests in the batch, so the threads of a warp touching the same
// word touch consecutive addresses (one coalesced access per warp).
struct Lane {
  uint32_t* p;
  uint32_t stride;
  GT_HD uint32_t& operator[](int k) const { return p[static_cast<size_t>(k) * stride]; }
  GT_HD Lane at(int k) const { return Lane{p + static_cast<size_t>(k) * stride, stride}; }
};

// Read-only limbs in plain memory (key material, the same for every thread of
// a warp serving one key).
struct Limbs {
  const uint32_t* p;
  GT_HD uint32_t operator[](int k) const { return p[k]; }
};

// The integer 1 as an operand: multiplying by it leaves Montgomery form.
struct Unit {
  GT_HD uint32_t operator[](int k) const { return k == 0 ? 1u : 0u; }
};

template <int N, class Src>
GT_HD void load(uint32_t (&r)[N], const Src& s) {
  GT_UNROLL for (int j = 0; j < N; ++j) r[j] = s[j];
}

template <int N>
GT_HD void store(Lane d, const uint32_t (&a)[N]) {
  GT_UNROLL for (int j = 0; j < N; ++j) d[j] = a[j];
}

// a = (a + top * 2^(32N)) - m when that does not go negative, else unchanged.
// For a + top * 2^(32N) < 2m: the result is fully reduced.
template <int N>
GT_HD void reduce_once(uint32_t (&a)[N], uint32_t top, const uint32_t (&m)[N]) {
  uint32_t d[N];
  uint64_t borrow = 0;
  GT_UNROLL for (int j = 0; j < N; ++j) {
    const uint64_t x = static_cast<uint64_t>(a[j]) - m[j] - borrow;
    d[j] = static_cast<uint32_t>(x);
    borrow = (x >> 32) & 1;
  }
  // keep a exactly when the subtraction borrowed past a top word of 0
  const uint32_t keep = 0u - (static_cast<uint32_t>(borrow) & (top ^ 1u));
  GT_UNROLL for (int j = 0; j < N; ++j) a[j] = (a[j] & keep) | (d[j] & ~keep);
}

// One Montgomery reduction step on t (N + 1 limbs, top word separate):
// t = (t + q * m) / 2^32 with q = t[0] * m0inv mod 2^32.
template <int N>
GT_HD void redc_step(uint32_t (&t)[N], uint32_t& top, const uint32_t (&m)[N], uint32_t m0inv) {
  const uint64_t q = static_cast<uint32_t>(t[0] * m0inv);
  uint64_t c = (static_cast<uint64_t>(t[0]) + q * m[0]) >> 32;
  GT_UNROLL for (int j = 1; j < N; ++j) {
    const uint64_t u = static_cast<uint64_t>(t[j]) + q * m[j] + c;
    t[j - 1] = static_cast<uint32_t>(u);
    c = u >> 32;
  }
  const uint64_t s = static_cast<uint64_t>(top) + c;
  t[N - 1] = static_cast<uint32_t>(s);
  top = static_cast<uint32_t>(s >> 32);
}

// One row of CIOS: t += a * bi, then one reduction step.
template <int N>
GT_HD void mont_row(uint32_t (&t)[N], uint32_t& top, const uint32_t (&a)[N], uint64_t bi, const uint32_t (&m)[N],
                    uint32_t m0inv) {
  uint64_t c = 0;
  GT_UNROLL for (int j = 0; j < N; ++j) {
    const uint64_t s = static_cast<uint64_t>(t[j]) + a[j] * bi + c;
    t[j] = static_cast<uint32_t>(s);
    c = s >> 32;
  }
  // t + top * 2^(32N) < 2m before the product row, so top stays below 2 after it
  // (no third word) and after the reduction step.
  const uint64_t s = static_cast<uint64_t>(top) + c;
  uint32_t hi = static_cast<uint32_t>(s >> 32);
  top = static_cast<uint32_t>(s);
  redc_step<N>(t, top, m, m0inv);
  top += hi;
}

// a = a * b * 2^(-32N) mod m (CIOS), fully reduced; needs a * b < 2^(32N) * m.
// a and m in registers, b read one limb per outer iteration.
template <int N, class B>
GT_HD void mont_mul(uint32_t (&a)[N], const B& b, const uint32_t (&m)[N], uint32_t m0inv) {
  GT_COUNT("mpf::mont_mul", N);
  uint32_t t[N];
  uint32_t top = 0;
  GT_UNROLL for (int j = 0; j < N; ++j) t[j] = 0;
  GT_ROLLED for (int i = 0; i < N; ++i) {
    mont_row<N>(t, top, a, b[i], m, m0inv);
  }
  GT_UNROLL for (int j = 0; j < N; ++j) a[j] = t[j];
  reduce_once<N>(a, top, m);
}

// mont_mul with b in registers too: the outer loop unrolled as well, so every
// limb of both operands is indexed by a constant (a rolled loop reading b[i]
// would put b in local memory). For the EC point formulas, N = 8 or 12.
template <int N>
GT_HD void mont_mul_regs(uint32_t (&a)[N], const uint32_t (&b)[N], const uint32_t (&m)[N], uint32_t m0inv) {
  uint32_t t[N];
  uint32_t top = 0;
  GT_UNROLL for (int j = 0; j < N; ++j) t[j] = 0;
  GT_UNROLL for (int i = 0; i < N; ++i) mont_row<N>(t, top, a, b[i], m, m0inv);
  GT_UNROLL for (int j = 0; j < N; ++j) a[j] = t[j];
  reduce_once<N>(a, top, m);
}

// a = a^2 * 2^(-32N) mod m, for a < m: the square (cross products once, doubled,
// plus the diagonal) and then N reduction steps, about three quarters of the
// limb products of mont_mul. Needs 3N registers for the operands: used for N <= 32.
template <int N>
GT_HD void mont_sqr(uint32_t (&a)[N], const uint32_t (&m)[N], uint32_t m0inv) {
  GT_COUNT("mpf::mont_sqr", N);
  uint32_t lo[N], hi[N];  // a^2 = lo + hi * 2^(32N)
  GT_UNROLL for (int j = 0; j < N; ++j) lo[j] = hi[j] = 0;
  // w[k] for k < N is lo[k], else hi[k - N]: every index is a constant after unrolling.
#define GT_W(k) (*((k) < N ? &lo[(k) < N ? (k) : 0] : &hi[(k) < N ? 0 : (k) - N]))
  GT_UNROLL for (int i = 0; i < N - 1; ++i) {
    uint64_t c = 0;
    const uint64_t ai = a[i];
    GT_UNROLL for (int j = i + 1; j < N; ++j) {
      const uint64_t s = static_cast<uint64_t>(GT_W(i + j)) + ai * a[j] + c;
      GT_W(i + j) = static_cast<uint32_t>(s);
      c = s >> 32;
    }
    GT_W(i + N) = static_cast<uint32_t>(c);
  }
  // double the cross products (they are below a^2 / 2: no bit leaves 2N limbs)
  GT_UNROLL for (int k = 2 * N - 1; k > 0; --k) GT_W(k) = (GT_W(k) << 1) | (GT_W(k - 1) >> 31);
  lo[0] <<= 1;
  uint64_t c = 0;
  GT_UNROLL for (int i = 0; i < N; ++i) {
    const uint64_t p = static_cast<uint64_t>(a[i]) * a[i];
    uint64_t s = static_cast<uint64_t>(GT_W(2 * i)) + static_cast<uint32_t>(p) + c;
    GT_W(2 * i) = static_cast<uint32_t>(s);
    s = static_cast<uint64_t>(GT_W(2 * i + 1)) + (p >> 32) + (s >> 32);
    GT_W(2 * i + 1) = static_cast<uint32_t>(s);
    c = s >> 32;
  }
#undef GT_W
  // Reduce the low half: after N steps lo + top * 2^(32N) = (lo + Q m) / 2^(32N) <= m.
  uint32_t top = 0;
  if constexpr (N <= 12) {  // EC sizes: unrolled, a few hundred instructions in all
    GT_UNROLL for (int i = 0; i < N; ++i) redc_step<N>(lo, top, m, m0inv);
  } else {  // RSA sizes: one step's code, looped
    GT_ROLLED for (int i = 0; i < N; ++i) redc_step<N>(lo, top, m, m0inv);
  }
  // a^2 / 2^(32N) mod m = lo + hi, with hi < m: below 2m, one conditional subtraction.
  c = 0;
  GT_UNROLL for (int j = 0; j < N; ++j) {
    const uint64_t s = static_cast<uint64_t>(lo[j]) + hi[j] + c;
    a[j] = static_cast<uint32_t>(s);
    c = s >> 32;
  }
  reduce_once<N>(a, top + static_cast<uint32_t>(c), m);
}

// Squaring as the size allows: the dedicated squaring while its 3N operand
// registers fit (N <= 32), else mont_mul with a copy of a in `spare` (N words).
constexpr int kSqrInRegistersMax = 32;

template <int N>
GT_HD void square(uint32_t (&a)[N], const uint32_t (&m)[N], uint32_t m0inv, Lane spare) {
  if constexpr (N <= kSqrInRegistersMax) {
    (void)spare;
    mont_sqr<N>(a, m, m0inv);
  } else {
    store<N>(spare, a);
    mont_mul<N>(a, spare, m, m0inv);
  }
}

// a = (a + b) mod m and a = (a - b) mod m, for a, b < m.
template <int N, class B>
GT_HD void mod_add(uint32_t (&a)[N], const B& b, const uint32_t (&m)[N]) {
  uint64_t c = 0;
  GT_UNROLL for (int j = 0; j < N; ++j) {
    const uint64_t s = static_cast<uint64_t>(a[j]) + b[j] + c;
    a[j] = static_cast<uint32_t>(s);
    c = s >> 32;
  }
  reduce_once<N>(a, static_cast<uint32_t>(c), m);
}

template <int N, class B>
GT_HD void mod_sub(uint32_t (&a)[N], const B& b, const uint32_t (&m)[N]) {
  uint64_t borrow = 0;
  GT_UNROLL for (int j = 0; j < N; ++j) {
    const uint64_t x = static_cast<uint64_t>(a[j]) - b[j] - borrow;
    a[j] = static_cast<uint32_t>(x);
    borrow = (x >> 32) & 1;
  }
  const uint32_t add_m = 0u - static_cast<uint32_t>(borrow);
  uint64_t c = 0;
  GT_UNROLL for (int j = 0; j < N; ++j) {
    const uint64_t s = static_cast<uint64_t>(a[j]) + (m[j] & add_m) + c;
    a[j] = static_cast<uint32_t>(s);
    c = s >> 32;
  }
}

// Fixed 4-bit windows: 16 table entries of N words in the scratch.
constexpr int kWindowBits = 4;
constexpr int kTableEntries = 1 << kWindowBits;

// sel = table[v] by a masked scan of every entry: the addresses read do not
// depend on v.
template <int N>
GT_HD void table_select(Lane sel, Lane table, uint32_t v) {
  uint32_t mask[kTableEntries];
  GT_UNROLL for (int e = 0; e < kTableEntries; ++e) mask[e] = mp::ct_eq_mask(static_cast<uint32_t>(e), v);
  GT_ROLLED for (int j = 0; j < N; ++j) {
    uint32_t x = 0;
    GT_UNROLL for (int e = 0; e < kTableEntries; ++e) x |= table[e * N + j] & mask[e];
    sel[j] = x;
  }
}

// a = a^exp in Montgomery form mod m. On entry a = base (Montgomery form),
// table entry 0 = R mod m and entry 1 = base are already stored; `tmp` is N
// words. exp has exp_limbs limbs (public length, secret bits). The table is
// kTableEntries * N words.
template <int N>
GT_HD void mont_exp(uint32_t (&a)[N], Lane table, Lane tmp, const uint32_t* exp, int exp_limbs,
                    const uint32_t (&m)[N], uint32_t m0inv) {
  GT_COUNT("mpf::mont_exp", N);
  const Lane base = table.at(N);
  GT_ROLLED for (int e = 2; e < kTableEntries; ++e) {
    mont_mul<N>(a, base, m, m0inv);
    store<N>(table.at(e * N), a);
  }
  constexpr int kPerLimb = 32 / kWindowBits;
  const int windows = kPerLimb * exp_limbs;
  auto window = [&](int w) { return (exp[w / kPerLimb] >> (kWindowBits * (w % kPerLimb))) & (kTableEntries - 1); };
  table_select<N>(tmp, table, window(windows - 1));
  load<N>(a, tmp);
  GT_ROLLED for (int w = windows - 2; w >= 0; --w) {
    GT_ROLLED for (int k = 0; k < kWindowBits; ++k) square<N>(a, m, m0inv, tmp);
    table_select<N>(tmp, table, window(w));
    mont_mul<N>(a, tmp, m, m0inv);
  }
}

// r = a * b (N x N limbs, 2N-limb result in r), a in registers.
template <int N, class B>
GT_HD void mul_wide(Lane r, const uint32_t (&a)[N], const B& b) {
  GT_ROLLED for (int k = 0; k < 2 * N; ++k) r[k] = 0;
  GT_ROLLED for (int i = 0; i < N; ++i) {
    const uint64_t bi = b[i];
    const Lane row = r.at(i);
    uint64_t c = 0;
    GT_UNROLL for (int j = 0; j < N; ++j) {
      const uint64_t s = static_cast<uint64_t>(row[j]) + a[j] * bi + c;
      row[j] = static_cast<uint32_t>(s);
      c = s >> 32;
    }
    row[N] = static_cast<uint32_t>(c);
  }
}

}  // namespace gputls::kernels::mpf
