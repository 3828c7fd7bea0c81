// NIST P-256 and P-384 (short Weierstrass, a = -3) in one generic body,
// written once for host and device (GT_HD): field arithmetic in Montgomery
// form on 32-bit limbs (mp_fixed.h, compile-time limb counts 8 and 12),
// complete projective formulas (Renes-Costello-Batina 2016, algorithms 4 and
// 6), so no input is an exceptional case and nothing branches on a point.
//
// Secrets: private scalars d, ECDSA nonces k, ECDH shared outputs, and every
// intermediate derived from them. Constant time:
//   - scalar multiplication: fixed 4-bit windows, 4 doublings and one complete
//     addition per window whatever the digit; the table entry is fetched by a
//     masked scan of all 16 entries (no secret-dependent index);
//   - affine conversion: Fermat, Z^(p - 2) by a fixed addition chain
//     (invert_p_n); inversion mod n: Fermat, n - 2 through mpf::mont_exp
//     (masked table scan); both exponents public;
//   - range checks (0 < d, k < n), point validation, r == 0 / s == 0 and the
//     release of outputs: masks, reported as a status, never a branch.
// Only public values steer control flow: the curve, the op, limb counts,
// window positions, the digest length.
//
// Fixed-base multiplication (keygen, ECDSA sign, verify's u1 G) is in
// ec_fixed_base.h, the operations (keygen, ECDH, ECDSA) in ec_ops.h.
//
// ECDSA verify handles public inputs only; it reuses the same constant-time
// code (two scalar multiplications and one addition), which is correct but not
// the fastest a variable-time verifier could be.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gputls/kernels/gt_hd.h"
#include "gputls/kernels/modexp.h"
#include "gputls/kernels/mp.h"
#include "gputls/kernels/mp_fixed.h"

// Big bodies are kept out of line in device builds (GT_HD_NOINLINE), their
// loops rolled there.
#define GT_EC_FN GT_HD_NOINLINE
#define GT_EC_NO_UNROLL GT_ROLLED

namespace gputls::kernels::ec {

constexpr int kMaxLimbs = 12;
constexpr int kMaxBytes = 4 * kMaxLimbs;  // 48: a P-384 coordinate or scalar

enum EcCurveId : uint32_t { kEcP256 = 0, kEcP384 = 1, kEcCurveCount = 2 };

// Constants of one curve. Field elements and scalars are little-endian 32-bit
// limbs, `limbs` of them used (the rest zero). Suffix m: Montgomery form
// (times R = 2^(32 limbs)).
struct Curve {
  int limbs;
  int bits;
  uint32_t p[kMaxLimbs];
  uint32_t r2p[kMaxLimbs];   // R^2 mod p
  uint32_t onep[kMaxLimbs];  // R mod p: Montgomery one
  uint32_t bm[kMaxLimbs];    // b
  uint32_t gxm[kMaxLimbs];   // generator x
  uint32_t gym[kMaxLimbs];   // generator y
  uint32_t pm2[kMaxLimbs];   // p - 2, Fermat exponent
  uint32_t p0inv;            // -p^-1 mod 2^32
  uint32_t n[kMaxLimbs];     // group order
  uint32_t r2n[kMaxLimbs];   // R^2 mod n
  uint32_t onen[kMaxLimbs];  // R mod n
  uint32_t nm2[kMaxLimbs];   // n - 2
  uint32_t n0inv;            // -n^-1 mod 2^32
};

// Generated from the SEC 2 / FIPS 186-4 parameters (checked by the tests
// against OpenSSL's curves).
#define GT_EC_CURVE_TABLE \
  /* P256 */ \
  {8, 256, /* limbs, bits */ \
   {0xffffffffu, 0xffffffffu, 0xffffffffu, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000001u, 0xffffffffu, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u}, /* p */ \
   {0x00000003u, 0x00000000u, 0xffffffffu, 0xfffffffbu, 0xfffffffeu, 0xffffffffu, 0xfffffffdu, 0x00000004u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u}, /* r2p */ \
   {0x00000001u, 0x00000000u, 0x00000000u, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xfffffffeu, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u}, /* onep */ \
   {0x29c4bddfu, 0xd89cdf62u, 0x78843090u, 0xacf005cdu, 0xf7212ed6u, 0xe5a220abu, 0x04874834u, 0xdc30061du, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u}, /* bm */ \
   {0x18a9143cu, 0x79e730d4u, 0x5fedb601u, 0x75ba95fcu, 0x77622510u, 0x79fb732bu, 0xa53755c6u, 0x18905f76u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u}, /* gxm */ \
   {0xce95560au, 0xddf25357u, 0xba19e45cu, 0x8b4ab8e4u, 0xdd21f325u, 0xd2e88688u, 0x25885d85u, 0x8571ff18u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u}, /* gym */ \
   {0xfffffffdu, 0xffffffffu, 0xffffffffu, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000001u, 0xffffffffu, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u}, /* pm2 */ \
   0x00000001u, /* p0inv */ \
   {0xfc632551u, 0xf3b9cac2u, 0xa7179e84u, 0xbce6faadu, 0xffffffffu, 0xffffffffu, 0x00000000u, 0xffffffffu, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u}, /* n */ \
   {0xbe79eea2u, 0x83244c95u, 0x49bd6fa6u, 0x4699799cu, 0x2b6bec59u, 0x2845b239u, 0xf3d95620u, 0x66e12d94u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u}, /* r2n */ \
   {0x039cdaafu, 0x0c46353du, 0x58e8617bu, 0x43190552u, 0x00000000u, 0x00000000u, 0xffffffffu, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u}, /* onen */ \
   {0xfc63254fu, 0xf3b9cac2u, 0xa7179e84u, 0xbce6faadu, 0xffffffffu, 0xffffffffu, 0x00000000u, 0xffffffffu, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u}, /* nm2 */ \
   0xee00bc4fu}, /* n0inv */ \
  /* P384 */ \
  {12, 384, /* limbs, bits */ \
   {0xffffffffu, 0x00000000u, 0x00000000u, 0xffffffffu, 0xfffffffeu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, /* p */ \
   {0x00000001u, 0xfffffffeu, 0x00000000u, 0x00000002u, 0x00000000u, 0xfffffffeu, 0x00000000u, 0x00000002u, 0x00000001u, 0x00000000u, 0x00000000u, 0x00000000u}, /* r2p */ \
   {0x00000001u, 0xffffffffu, 0xffffffffu, 0x00000000u, 0x00000001u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u}, /* onep */ \
   {0x9d412dccu, 0x08118871u, 0x7a4c32ecu, 0xf729add8u, 0x1920022eu, 0x77f2209bu, 0x94938ae2u, 0xe3374beeu, 0x1f022094u, 0xb62b21f4u, 0x604fbff9u, 0xcd08114bu}, /* bm */ \
   {0x49c0b528u, 0x3dd07566u, 0xa0d6ce38u, 0x20e378e2u, 0x541b4d6eu, 0x879c3afcu, 0x59a30effu, 0x64548684u, 0x614ede2bu, 0x812ff723u, 0x299e1513u, 0x4d3aadc2u}, /* gxm */ \
   {0x4b03a4feu, 0x23043dadu, 0x7bb4a9acu, 0xa1bfa8bfu, 0x2e83b050u, 0x8bade756u, 0x68f4ffd9u, 0xc6c35219u, 0x3969a840u, 0xdd800226u, 0x5a15c5e9u, 0x2b78abc2u}, /* gym */ \
   {0xfffffffdu, 0x00000000u, 0x00000000u, 0xffffffffu, 0xfffffffeu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, /* pm2 */ \
   0x00000001u, /* p0inv */ \
   {0xccc52973u, 0xecec196au, 0x48b0a77au, 0x581a0db2u, 0xf4372ddfu, 0xc7634d81u, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, /* n */ \
   {0x19b409a9u, 0x2d319b24u, 0xdf1aa419u, 0xff3d81e5u, 0xfcb82947u, 0xbc3e483au, 0x4aab1cc5u, 0xd40d4917u, 0x28266895u, 0x3fb05b7au, 0x2b39bf21u, 0x0c84ee01u}, /* r2n */ \
   {0x333ad68du, 0x1313e695u, 0xb74f5885u, 0xa7e5f24du, 0x0bc8d220u, 0x389cb27eu, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u}, /* onen */ \
   {0xccc52971u, 0xecec196au, 0x48b0a77au, 0x581a0db2u, 0xf4372ddfu, 0xc7634d81u, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, /* nm2 */ \
   0xe88fdc45u}, /* n0inv */

namespace detail {
#if defined(__CUDACC__)
static __constant__ Curve kCurvesDevice[kEcCurveCount] = {GT_EC_CURVE_TABLE};
#endif
inline constexpr Curve kCurvesHost[kEcCurveCount] = {GT_EC_CURVE_TABLE};
}  // namespace detail

// The constants of curve `id` (< kEcCurveCount): constant memory on the device.
GT_HD const Curve& curve(uint32_t id) {
#if defined(__CUDA_ARCH__)
  return detail::kCurvesDevice[id];
#else
  return detail::kCurvesHost[id];
#endif
}

GT_HD int coord_bytes(const Curve& c) { return 4 * c.limbs; }

// ---- Field arithmetic mod p (Montgomery form) -------------------------------

// One body per limb count (mp_fixed.h): a, the accumulator and p in registers,
// the multiply unrolled into IMAD carry chains. r may alias a or b (r is
// written after b's last limb is read).
template <int N>
GT_EC_FN void fmul_n(uint32_t* r, const uint32_t* a, const uint32_t* b, const Curve& c) {
  uint32_t x[N], m[N];
  mpf::load<N>(x, mpf::Limbs{a});
  mpf::load<N>(m, mpf::Limbs{c.p});
  mpf::mont_mul<N>(x, mpf::Limbs{b}, m, c.p0inv);
  GT_UNROLL for (int j = 0; j < N; ++j) r[j] = x[j];
}

GT_HD void fmul(uint32_t* r, const uint32_t* a, const uint32_t* b, const Curve& c) {
  GT_COUNT("ec::fmul", c.limbs);
  if (c.limbs == 8)  // public: the curve
    fmul_n<8>(r, a, b, c);
  else
    fmul_n<12>(r, a, b, c);
}
// r = a + b or a - b mod p, operands in registers.
template <int N, bool kSub>
GT_HD void faddsub_n(uint32_t* r, const uint32_t* a, const uint32_t* b, const Curve& c) {
  uint32_t x[N], m[N];
  mpf::load<N>(x, mpf::Limbs{a});
  mpf::load<N>(m, mpf::Limbs{c.p});
  if constexpr (kSub)
    mpf::mod_sub<N>(x, mpf::Limbs{b}, m);
  else
    mpf::mod_add<N>(x, mpf::Limbs{b}, m);
  GT_UNROLL for (int j = 0; j < N; ++j) r[j] = x[j];
}
// r may alias a or b (b is read in full before r is written).
GT_HD void fadd(uint32_t* r, const uint32_t* a, const uint32_t* b, const Curve& c) {
  if (c.limbs == 8)
    faddsub_n<8, false>(r, a, b, c);
  else
    faddsub_n<12, false>(r, a, b, c);
}
GT_HD void fsub(uint32_t* r, const uint32_t* a, const uint32_t* b, const Curve& c) {
  if (c.limbs == 8)
    faddsub_n<8, true>(r, a, b, c);
  else
    faddsub_n<12, true>(r, a, b, c);
}

// All-ones when a (n limbs) is zero.
GT_HD uint32_t is_zero_mask(const uint32_t* a, int n) {
  uint32_t acc = 0;
  for (int i = 0; i < n; ++i) acc |= a[i];
  return mp::ct_eq_mask(acc, 0);
}

// All-ones when a == b (n limbs).
GT_HD uint32_t eq_mask(const uint32_t* a, const uint32_t* b, int n) {
  uint32_t acc = 0;
  for (int i = 0; i < n; ++i) acc |= a[i] ^ b[i];
  return mp::ct_eq_mask(acc, 0);
}

GT_HD uint32_t sel32(uint32_t mask, uint32_t a, uint32_t b) { return (a & mask) | (b & ~mask); }

// r = a^e in Montgomery form (modulus m), e a public fixed exponent; the base
// may be secret (mont_exp scans its window table with masks).
template <int N>
GT_EC_FN void mont_pow_n(uint32_t* r, const uint32_t* a, const uint32_t* e, const uint32_t* m, uint32_t m0inv,
                         const uint32_t* one_m) {
  uint32_t table[mpf::kTableEntries * N], tmp[N];
  uint32_t x[N], mod[N];
  const mpf::Lane tl{table, 1};
  mpf::load<N>(mod, mpf::Limbs{m});
  mpf::load<N>(x, mpf::Limbs{a});
  GT_UNROLL for (int j = 0; j < N; ++j) table[j] = one_m[j];
  mpf::store<N>(tl.at(N), x);
  mpf::mont_exp<N>(x, tl, mpf::Lane{tmp, 1}, e, N, mod, m0inv);
  GT_UNROLL for (int j = 0; j < N; ++j) r[j] = x[j];
}

GT_HD void mont_pow(uint32_t* r, const uint32_t* a, const uint32_t* e, const uint32_t* m, uint32_t m0inv,
                    const uint32_t* one_m, int n) {
  if (n == 8)  // public: the curve
    mont_pow_n<8>(r, a, e, m, m0inv, one_m);
  else
    mont_pow_n<12>(r, a, e, m, m0inv, one_m);
}

// ---- Points: projective (X : Y : Z), coordinates in Montgomery form ----------

struct Point {
  uint32_t x[kMaxLimbs], y[kMaxLimbs], z[kMaxLimbs];
};

GT_HD void set_infinity(Point& r, const Curve& c) {
  mp::set_zero(r.x, c.limbs);
  mp::copy(r.y, c.onep, c.limbs);
  mp::set_zero(r.z, c.limbs);
}

// The field for the point formulas, in registers: the modulus, its
// Montgomery constant and the curve's b.
template <int N>
struct FieldRegs {
  uint32_t m[N], b[N];
  uint32_t m0inv;
};

// The primes' limbs as compile-time constants (N = 8: P-256, N = 12: P-384),
// so that the Montgomery reduction is specialised to each prime's shape by
// the compiler: a limb 0 drops its multiply, a limb 1 becomes an add, and
// -p^-1 mod 2^32 = 1 for both (q = t[0]). A function of the index, not a
// table, so device code folds it after unrolling; checked against the curve
// table below.
template <int N>
GT_HD constexpr uint32_t prime_limb(int j) {
  if (N == 8)  // 2^256 - 2^224 + 2^192 + 2^96 - 1
    return j < 3 ? 0xffffffffu : j < 6 ? 0u : j == 6 ? 1u : 0xffffffffu;
  // 2^384 - 2^128 - 2^96 + 2^32 - 1
  return j == 0 ? 0xffffffffu : j < 3 ? 0u : j == 3 ? 0xffffffffu : j == 4 ? 0xfffffffeu : 0xffffffffu;
}

template <int N>
constexpr bool prime_limbs_match(const Curve& c) {
  for (int j = 0; j < N; ++j)
    if (prime_limb<N>(j) != c.p[j]) return false;
  return c.limbs == N && c.p0inv == 1u;
}
static_assert(prime_limbs_match<8>(detail::kCurvesHost[kEcP256]) && prime_limbs_match<12>(detail::kCurvesHost[kEcP384]),
              "prime_limb and the curve table disagree");

template <int N>
GT_HD void load_field(FieldRegs<N>& f, const Curve& c) {
  GT_UNROLL for (int j = 0; j < N; ++j) f.m[j] = prime_limb<N>(j);
  mpf::load<N>(f.b, mpf::Limbs{c.bm});
  f.m0inv = 1u;
}

// Field operations on register operands (every limb index a constant after
// unrolling): r may be a or b.
template <int N>
GT_HD void rmul(uint32_t (&r)[N], const uint32_t (&a)[N], const uint32_t (&b)[N], const FieldRegs<N>& f) {
  uint32_t x[N];
  GT_UNROLL for (int j = 0; j < N; ++j) x[j] = a[j];
  mpf::mont_mul_regs<N>(x, b, f.m, f.m0inv);
  GT_UNROLL for (int j = 0; j < N; ++j) r[j] = x[j];
}
template <int N, bool kSub>
GT_HD void raddsub(uint32_t (&r)[N], const uint32_t (&a)[N], const uint32_t (&b)[N], const FieldRegs<N>& f) {
  uint32_t x[N];
  GT_UNROLL for (int j = 0; j < N; ++j) x[j] = a[j];
  if constexpr (kSub)
    mpf::mod_sub<N>(x, b, f.m);
  else
    mpf::mod_add<N>(x, b, f.m);
  GT_UNROLL for (int j = 0; j < N; ++j) r[j] = x[j];
}
template <int N>
GT_HD void radd(uint32_t (&r)[N], const uint32_t (&a)[N], const uint32_t (&b)[N], const FieldRegs<N>& f) {
  raddsub<N, false>(r, a, b, f);
}
template <int N>
GT_HD void rsub(uint32_t (&r)[N], const uint32_t (&a)[N], const uint32_t (&b)[N], const FieldRegs<N>& f) {
  raddsub<N, true>(r, a, b, f);
}

// A point's coordinates into registers, and back.
template <int N>
GT_HD void load_point(uint32_t (&x)[N], uint32_t (&y)[N], uint32_t (&z)[N], const Point& p) {
  mpf::load<N>(x, mpf::Limbs{p.x});
  mpf::load<N>(y, mpf::Limbs{p.y});
  mpf::load<N>(z, mpf::Limbs{p.z});
}
template <int N>
GT_HD void store_point(Point& r, const uint32_t (&x)[N], const uint32_t (&y)[N], const uint32_t (&z)[N]) {
  GT_UNROLL for (int j = 0; j < N; ++j) {
    r.x[j] = x[j];
    r.y[j] = y[j];
    r.z[j] = z[j];
  }
}

// The point formulas with every coordinate and temporary in registers: the
// points are read once at entry and the result written once at exit (before,
// each of the 40-odd field operations loaded its operands from and stored its
// result to the thread's stack).

// r = p + q for any p, q (complete: doubling, infinity and inverses included).
// RCB 2016 algorithm 4 (a = -3): 12M + 2 m_b. r may alias p or q.
template <int N>
GT_EC_FN void point_add_n(Point& r, const Point& p, const Point& q, const Curve& c) {
  FieldRegs<N> f;
  load_field<N>(f, c);
  const uint32_t(&b)[N] = f.b;
  uint32_t px[N], py[N], pz[N], qx[N], qy[N], qz[N];
  load_point<N>(px, py, pz, p);
  load_point<N>(qx, qy, qz, q);
  uint32_t t0[N], t1[N], t2[N], t3[N], t4[N], X3[N], Y3[N], Z3[N];
  rmul(t0, px, qx, f);  // 1
  rmul(t1, py, qy, f);
  rmul(t2, pz, qz, f);
  radd(t3, px, py, f);
  radd(t4, qx, qy, f);  // 5
  rmul(t3, t3, t4, f);
  radd(t4, t0, t1, f);
  rsub(t3, t3, t4, f);
  radd(t4, py, pz, f);
  radd(X3, qy, qz, f);  // 10
  rmul(t4, t4, X3, f);
  radd(X3, t1, t2, f);
  rsub(t4, t4, X3, f);
  radd(X3, px, pz, f);
  radd(Y3, qx, qz, f);  // 15
  rmul(X3, X3, Y3, f);
  radd(Y3, t0, t2, f);
  rsub(Y3, X3, Y3, f);
  rmul(Z3, b, t2, f);
  rsub(X3, Y3, Z3, f);  // 20
  radd(Z3, X3, X3, f);
  radd(X3, X3, Z3, f);
  rsub(Z3, t1, X3, f);
  radd(X3, t1, X3, f);
  rmul(Y3, b, Y3, f);  // 25
  radd(t1, t2, t2, f);
  radd(t2, t1, t2, f);
  rsub(Y3, Y3, t2, f);
  rsub(Y3, Y3, t0, f);
  radd(t1, Y3, Y3, f);  // 30
  radd(Y3, t1, Y3, f);
  radd(t1, t0, t0, f);
  radd(t0, t1, t0, f);
  rsub(t0, t0, t2, f);
  rmul(t1, t4, Y3, f);  // 35
  rmul(t2, t0, Y3, f);
  rmul(Y3, X3, Z3, f);
  radd(Y3, Y3, t2, f);
  rmul(X3, t3, X3, f);
  rsub(X3, X3, t1, f);  // 40
  rmul(Z3, t4, Z3, f);
  rmul(t1, t3, t0, f);
  radd(Z3, Z3, t1, f);
  store_point<N>(r, X3, Y3, Z3);
}

GT_HD void point_add(Point& r, const Point& p, const Point& q, const Curve& c) {
  GT_COUNT("ec::point_add", c.limbs);
  if (c.limbs == 8)  // public: the curve
    point_add_n<8>(r, p, q, c);
  else
    point_add_n<12>(r, p, q, c);
}

// r = 2p for any p (complete). RCB 2016 algorithm 6 (a = -3): 8M + 3S + 2 m_b.
// r may alias p.
template <int N>
GT_EC_FN void point_dbl_n(Point& r, const Point& p, const Curve& c) {
  FieldRegs<N> f;
  load_field<N>(f, c);
  const uint32_t(&b)[N] = f.b;
  uint32_t px[N], py[N], pz[N];
  load_point<N>(px, py, pz, p);
  uint32_t t0[N], t1[N], t2[N], t3[N], X3[N], Y3[N], Z3[N];
  rmul(t0, px, px, f);  // 1
  rmul(t1, py, py, f);
  rmul(t2, pz, pz, f);
  rmul(t3, px, py, f);
  radd(t3, t3, t3, f);  // 5
  rmul(Z3, px, pz, f);
  radd(Z3, Z3, Z3, f);
  rmul(Y3, b, t2, f);
  rsub(Y3, Y3, Z3, f);
  radd(X3, Y3, Y3, f);  // 10
  radd(Y3, X3, Y3, f);
  rsub(X3, t1, Y3, f);
  radd(Y3, t1, Y3, f);
  rmul(Y3, X3, Y3, f);
  rmul(X3, X3, t3, f);  // 15
  radd(t3, t2, t2, f);
  radd(t2, t2, t3, f);
  rmul(Z3, b, Z3, f);
  rsub(Z3, Z3, t2, f);
  rsub(Z3, Z3, t0, f);  // 20
  radd(t3, Z3, Z3, f);
  radd(Z3, Z3, t3, f);
  radd(t3, t0, t0, f);
  radd(t0, t3, t0, f);
  rsub(t0, t0, t2, f);  // 25
  rmul(t0, t0, Z3, f);
  radd(Y3, Y3, t0, f);
  rmul(t0, py, pz, f);
  radd(t0, t0, t0, f);
  rmul(Z3, t0, Z3, f);  // 30
  rsub(X3, X3, Z3, f);
  rmul(Z3, t0, t1, f);
  radd(Z3, Z3, Z3, f);
  radd(Z3, Z3, Z3, f);
  store_point<N>(r, X3, Y3, Z3);
}

GT_HD void point_dbl(Point& r, const Point& p, const Curve& c) {
  GT_COUNT("ec::point_dbl", c.limbs);
  if (c.limbs == 8)
    point_dbl_n<8>(r, p, c);
  else
    point_dbl_n<12>(r, p, c);
}

constexpr int kWindowBits = 4;
constexpr int kTableSize = 1 << kWindowBits;

// r = k * p, k an integer of N limbs (any value; reduced implicitly by the
// group order). Fixed 4-bit windows from the top: every window costs 4
// doublings (none before the first) and one complete addition, and reads all
// 16 table entries with masks, accumulating the selected entry in registers
// (written once). Neither branches nor addresses depend on k or p.
template <int N>
GT_EC_FN void scalar_mul_n(Point& r, const Point& p, const uint32_t* k, const Curve& c) {
  Point table[kTableSize];
  set_infinity(table[0], c);
  table[1] = p;
  GT_EC_NO_UNROLL
  for (int i = 2; i < kTableSize; ++i) {
    if (i & 1)
      point_add(table[i], table[i - 1], p, c);
    else
      point_dbl(table[i], table[i / 2], c);
  }
  Point acc, sel;
  set_infinity(acc, c);
  constexpr int windows = 32 * N / kWindowBits;
  GT_EC_NO_UNROLL
  for (int w = windows - 1; w >= 0; --w) {
    if (w != windows - 1) {
      GT_EC_NO_UNROLL
      for (int d = 0; d < kWindowBits; ++d) point_dbl(acc, acc, c);
    }
    const uint32_t v = (k[w / 8] >> (kWindowBits * (w % 8))) & (kTableSize - 1);
    uint32_t x[N] = {}, y[N] = {}, z[N] = {};
    GT_EC_NO_UNROLL
    for (int i = 0; i < kTableSize; ++i) {
      const uint32_t mask = mp::ct_eq_mask(static_cast<uint32_t>(i), v);
      GT_UNROLL for (int j = 0; j < N; ++j) {
        x[j] |= table[i].x[j] & mask;
        y[j] |= table[i].y[j] & mask;
        z[j] |= table[i].z[j] & mask;
      }
    }
    GT_UNROLL for (int j = 0; j < N; ++j) {
      sel.x[j] = x[j];
      sel.y[j] = y[j];
      sel.z[j] = z[j];
    }
    point_add(acc, acc, sel, c);
  }
  r = acc;
}

GT_HD void scalar_mul(Point& r, const Point& p, const uint32_t* k, const Curve& c) {
  if (c.limbs == 8)  // public: the curve
    scalar_mul_n<8>(r, p, k, c);
  else
    scalar_mul_n<12>(r, p, k, c);
}

// r = r^(2^n) m: n squarings, then one multiplication, in registers (n public).
template <int N>
GT_HD void sqn_mul(uint32_t (&r)[N], int n, const uint32_t (&m)[N], const FieldRegs<N>& f) {
  GT_ROLLED for (int i = 0; i < n; ++i) mpf::mont_sqr<N>(r, f.m, f.m0inv);
  rmul<N>(r, r, m, f);
}

// r = a^(p - 2) = 1/a mod p (0 for a = 0), Montgomery form, by a fixed
// addition chain over x_k = a^(2^k - 1) (p - 2 is public: no branch, no index
// depends on a). P-256: p - 2 = [32 ones][31 zeros][1][96 zeros][94 ones][0][1]
// from the top, 255 squarings and 13 multiplications. P-384: p - 2 = [255
// ones][0][32 ones][64 zeros][30 ones][0][1], 385 squarings and 14
// multiplications. (The 4-bit window exponentiation it replaces: 252 / 380
// squarings, about 80 / 110 multiplications and a masked table scan a window.)
template <int N>
GT_EC_FN void invert_p_n(uint32_t* r_out, const uint32_t* a, const Curve& c) {
  GT_COUNT("ec::invert_p", N);
  FieldRegs<N> f;
  load_field<N>(f, c);
  uint32_t x1[N], x2[N], r[N];
  mpf::load<N>(x1, mpf::Limbs{a});
  GT_UNROLL for (int j = 0; j < N; ++j) x2[j] = x1[j];
  sqn_mul<N>(x2, 1, x1, f);  // x2
  if constexpr (N == 8) {
    uint32_t x4[N], x8[N], x16[N], x32[N];
    GT_UNROLL for (int j = 0; j < N; ++j) x4[j] = x2[j];
    sqn_mul<N>(x4, 2, x2, f);
    GT_UNROLL for (int j = 0; j < N; ++j) x8[j] = x4[j];
    sqn_mul<N>(x8, 4, x4, f);
    GT_UNROLL for (int j = 0; j < N; ++j) x16[j] = x8[j];
    sqn_mul<N>(x16, 8, x8, f);
    GT_UNROLL for (int j = 0; j < N; ++j) x32[j] = x16[j];
    sqn_mul<N>(x32, 16, x16, f);
    GT_UNROLL for (int j = 0; j < N; ++j) r[j] = x32[j];  // [32 ones]
    sqn_mul<N>(r, 32, x1, f);    // [31 zeros][1]
    sqn_mul<N>(r, 128, x32, f);  // [96 zeros][32 ones]
    sqn_mul<N>(r, 32, x32, f);   // 64 ones
    sqn_mul<N>(r, 16, x16, f);   // 80
    sqn_mul<N>(r, 8, x8, f);     // 88
    sqn_mul<N>(r, 4, x4, f);     // 92
    sqn_mul<N>(r, 2, x2, f);     // 94
    sqn_mul<N>(r, 2, x1, f);     // [0][1]
  } else {
    static_assert(N == 12, "P-256 or P-384");
    uint32_t x3[N], x15[N], x30[N], x32[N];  // (the multiplier is never r itself: r is squared first)
    GT_UNROLL for (int j = 0; j < N; ++j) x3[j] = x2[j];
    sqn_mul<N>(x3, 1, x1, f);
    GT_UNROLL for (int j = 0; j < N; ++j) r[j] = x3[j];
    sqn_mul<N>(r, 3, x3, f);  // x6
    GT_UNROLL for (int j = 0; j < N; ++j) x15[j] = r[j];  // x6 for now
    sqn_mul<N>(r, 6, x15, f);  // x12
    sqn_mul<N>(r, 3, x3, f);   // x15
    GT_UNROLL for (int j = 0; j < N; ++j) x15[j] = r[j];
    sqn_mul<N>(r, 15, x15, f);  // x30
    GT_UNROLL for (int j = 0; j < N; ++j) x30[j] = r[j];
    GT_UNROLL for (int j = 0; j < N; ++j) x32[j] = r[j];
    sqn_mul<N>(x32, 2, x2, f);
    sqn_mul<N>(r, 30, x30, f);    // x60
    GT_UNROLL for (int j = 0; j < N; ++j) x2[j] = r[j];  // x2's last use was x32: now x60
    sqn_mul<N>(r, 60, x2, f);     // x120
    GT_UNROLL for (int j = 0; j < N; ++j) x2[j] = r[j];
    sqn_mul<N>(r, 120, x2, f);    // x240
    sqn_mul<N>(r, 15, x15, f);    // [255 ones]
    sqn_mul<N>(r, 33, x32, f);    // [0][32 ones]
    sqn_mul<N>(r, 94, x30, f);    // [64 zeros][30 ones]
    sqn_mul<N>(r, 2, x1, f);      // [0][1]
  }
  GT_UNROLL for (int j = 0; j < N; ++j) r_out[j] = r[j];
}

GT_HD void invert_p(uint32_t* r, const uint32_t* a, const Curve& c) {
  if (c.limbs == 8)  // public: the curve
    invert_p_n<8>(r, a, c);
  else
    invert_p_n<12>(r, a, c);
}

// Affine coordinates of p as plain integers (< p, not Montgomery); returns
// all-ones when p is the point at infinity (x, y then come out zero).
GT_EC_FN uint32_t to_affine(uint32_t* x, uint32_t* y, const Point& p, const Curve& c) {
  const int L = c.limbs;
  uint32_t zinv[kMaxLimbs], one[kMaxLimbs];
  invert_p(zinv, p.z, c);  // Z^(p-2) = 1/Z (0 for Z = 0)
  mp::set_zero(one, L);
  one[0] = 1;
  fmul(x, p.x, zinv, c);
  fmul(x, x, one, c);
  fmul(y, p.y, zinv, c);
  fmul(y, y, one, c);
  return is_zero_mask(p.z, L);
}

// The generator, projectively (Z = 1).
GT_HD void generator(Point& g, const Curve& c) {
  mp::copy(g.x, c.gxm, c.limbs);
  mp::copy(g.y, c.gym, c.limbs);
  mp::copy(g.z, c.onep, c.limbs);
}

// Decodes a peer point X || Y (big-endian, coord_bytes(c) each) into g and
// validates it: both coordinates < p and y^2 = x^3 - 3x + b (which also rules
// out infinity: (0, 0) is not on these curves, b != 0). Returns all-ones when
// valid. Masks only (the point is public, but its status joins secret masks).
GT_EC_FN uint32_t decode_point(Point& g, const uint8_t* xy, const Curve& c) {
  const int L = c.limbs;
  uint32_t x[kMaxLimbs] = {}, y[kMaxLimbs] = {}, lhs[kMaxLimbs], rhs[kMaxLimbs], t[kMaxLimbs];
  mp::from_be(x, xy, L);
  mp::from_be(y, xy + 4 * L, L);
  const uint32_t in_range = mp::ct_lt_mask(x, c.p, L) & mp::ct_lt_mask(y, c.p, L);
  fmul(g.x, x, c.r2p, c);  // to Montgomery form (reduces any input)
  fmul(g.y, y, c.r2p, c);
  mp::copy(g.z, c.onep, L);
  fmul(lhs, g.y, g.y, c);    // y^2
  fmul(rhs, g.x, g.x, c);    // x^2
  fmul(rhs, rhs, g.x, c);    // x^3
  fadd(t, g.x, g.x, c);
  fadd(t, t, g.x, c);        // 3x
  fsub(rhs, rhs, t, c);
  fadd(rhs, rhs, c.bm, c);   // x^3 - 3x + b
  return in_range & eq_mask(lhs, rhs, L);
}

// All-ones when 0 < k < n.
GT_HD uint32_t scalar_ok_mask(const uint32_t* k, const Curve& c) {
  return ~is_zero_mask(k, c.limbs) & mp::ct_lt_mask(k, c.n, c.limbs);
}

// r = a mod n for a < 2^bits (< 2n on these curves): one masked subtraction.
GT_HD void reduce_once_n(uint32_t* r, const uint32_t* a, const Curve& c) {
  uint32_t t[kMaxLimbs];
  const uint32_t borrow = mp::sub(t, a, c.n, c.limbs);
  mp::ct_select(r, a, t, 0u - borrow, c.limbs);
}

// e = the leftmost `bits` bits of the digest (FIPS 186-4 6.4), reduced mod n.
// Both curves' bit lengths are whole bytes, so truncation is by bytes; a
// shorter digest is its integer value. digest_len is public.
GT_HD void digest_to_scalar(uint32_t* e, const uint8_t* digest, uint32_t digest_len, const Curve& c) {
  const int nb = coord_bytes(c);
  uint8_t be[kMaxBytes];
  const int take = static_cast<int>(digest_len) < nb ? static_cast<int>(digest_len) : nb;
  for (int i = 0; i < nb; ++i) be[i] = 0;
  for (int i = 0; i < take; ++i) be[nb - take + i] = digest[i];
  mp::from_be(e, be, c.limbs);
  reduce_once_n(e, e, c);
}

// Montgomery mod n helpers.
GT_HD void nmul(uint32_t* r, const uint32_t* a, const uint32_t* b, const Curve& c) {
  uint32_t t[kMaxLimbs + 2];
  mp::mont_mul(r, a, b, c.n, c.n0inv, t, c.limbs);
}

// Output bytes released under mask: out = ok ? v : 0.
GT_HD void put_masked(uint8_t* out, const uint32_t* v, uint32_t ok, const Curve& c) {
  uint32_t m[kMaxLimbs];
  for (int i = 0; i < c.limbs; ++i) m[i] = v[i] & ok;
  mp::to_be(out, m, c.limbs);
}

}  // namespace gputls::kernels::ec
