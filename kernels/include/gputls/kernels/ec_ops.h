// The P-256 / P-384 operations (keygen, ECDH, ECDSA sign and verify) on
// the curve arithmetic of p256.h and the fixed-base multiplication of
// ec_fixed_base.h, written once for host and device (GT_HD). See p256.h for
// the constant-time rules they follow.
#pragma once

#include <cstdint>

#include "gputls/kernels/ec_fixed_base.h"
#include "gputls/kernels/p256.h"

namespace gputls::kernels::ec {

// k G by the fixed-base table when there is one, else by the variable-base
// routine (the choice depends on the pointer only: public).
GT_HD void generator_mul(Point& r, const uint32_t* k, const Curve& c, const uint32_t* g_table) {
  if (g_table) {
    fixed_base_mul(r, k, c, g_table);
  } else {
    generator(r, c);
    scalar_mul(r, r, k, c);
  }
}

// Per-request result codes.
enum EcStatus : uint32_t {
  kEcOk = 0,
  kEcBadPoint = 1,         // peer point / public key invalid (off curve, coordinate >= p), or result at infinity
  kEcBadScalar = 2,        // private key or nonce not in [1, n-1]
  kEcRetry = 3,            // ECDSA sign: r == 0 or s == 0; sign again with a fresh nonce
  kEcBadSignature = 4,     // ECDSA verify: the signature does not verify
  kEcBadRequest = 5,       // unknown curve or op
};

enum EcOp : uint32_t {
  kEcKeygen = 0,  // out = X || Y of d * G
  kEcDerive = 1,  // out = x(d * Q) (coord_bytes), Q the validated peer point
  kEcSign = 2,    // out = r || s for digest, d, nonce k
  kEcVerify = 3,  // status kEcOk or kEcBadSignature for digest, public key Q, signature r || s
};

// One operation (see EcOp). All byte strings are big-endian, coord_bytes(c)
// per coordinate or scalar. scalar: d (keygen, derive, sign); nonce: k (sign);
// point: Q as X || Y (derive, verify); digest (sign, verify); sig: r || s
// (verify). out is written for keygen/sign (2 * coord_bytes) and derive
// (coord_bytes): zero unless the status is kEcOk. op is public.
// g_table: the curve's fixed-base table (base_table_host or its device copy)
// for the multiples of G (keygen, sign, verify's u1 G); null: the
// variable-base routine on G (same results, slower).
GT_EC_FN uint32_t ec_op(uint32_t op, const Curve& c, const uint8_t* scalar, const uint8_t* nonce, const uint8_t* point,
                        const uint8_t* digest, uint32_t digest_len, const uint8_t* sig, uint8_t* out,
                        const uint32_t* g_table) {
  const int L = c.limbs;
  // Zero-initialised: only c.limbs of each are used, which the host compiler
  // cannot see (it would warn of uninitialised reads).
  uint32_t k[kMaxLimbs] = {}, x[kMaxLimbs] = {}, y[kMaxLimbs] = {};
  Point base = {}, res = {};
  uint32_t point_ok = ~0u;

  if (op == kEcVerify) {
    // Public inputs only.
    uint32_t r[kMaxLimbs], s[kMaxLimbs], e[kMaxLimbs], w[kMaxLimbs], u1[kMaxLimbs], u2[kMaxLimbs];
    point_ok = decode_point(base, point, c);
    mp::from_be(r, sig, L);
    mp::from_be(s, sig + 4 * L, L);
    const uint32_t rs_ok = scalar_ok_mask(r, c) & scalar_ok_mask(s, c);
    digest_to_scalar(e, digest, digest_len, c);
    nmul(w, s, c.r2n, c);                               // s R
    mont_pow(w, w, c.nm2, c.n, c.n0inv, c.onen, L);     // s^-1 R
    nmul(u1, e, w, c);                                  // e / s
    nmul(u2, r, w, c);                                  // r / s
    Point p1;
    generator_mul(p1, u1, c, g_table);
    scalar_mul(res, base, u2, c);
    point_add(res, p1, res, c);
    const uint32_t inf = to_affine(x, y, res, c);
    reduce_once_n(x, x, c);
    const uint32_t ok = point_ok & rs_ok & ~inf & eq_mask(x, r, L);
    return sel32(ok, kEcOk, sel32(point_ok, kEcBadSignature, kEcBadPoint));
  }

  // Keygen, derive, sign: one scalar multiplication, base and scalar by op.
  mp::from_be(k, op == kEcSign ? nonce : scalar, L);
  uint32_t scalar_ok = scalar_ok_mask(k, c);
  if (op == kEcDerive) {
    point_ok = decode_point(base, point, c);
    scalar_mul(res, base, k, c);
  } else {
    generator_mul(res, k, c, g_table);
  }
  const uint32_t inf = to_affine(x, y, res, c);
  point_ok &= ~inf;

  if (op == kEcKeygen || op == kEcDerive) {
    const uint32_t ok = point_ok & scalar_ok;
    put_masked(out, x, ok, c);
    if (op == kEcKeygen) put_masked(out + 4 * L, y, ok, c);
    return sel32(scalar_ok, sel32(point_ok, kEcOk, kEcBadPoint), kEcBadScalar);
  }

  // Sign: r = x mod n, s = k^-1 (e + r d) mod n, all in Montgomery form mod n.
  uint32_t r[kMaxLimbs], d[kMaxLimbs], e[kMaxLimbs], km[kMaxLimbs];
  reduce_once_n(r, x, c);
  mp::from_be(d, scalar, L);
  scalar_ok &= scalar_ok_mask(d, c);
  digest_to_scalar(e, digest, digest_len, c);
  nmul(km, k, c.r2n, c);                              // k R
  mont_pow(km, km, c.nm2, c.n, c.n0inv, c.onen, L);   // k^-1 R
  nmul(d, d, c.r2n, c);                               // d R
  nmul(d, r, d, c);                                   // r d (plain, < n)
  {
    uint32_t t[kMaxLimbs];
    mp::mod_add(d, d, e, c.n, t, L);                  // e + r d  (both < n)
  }
  nmul(y, km, d, c);                                  // s = k^-1 (e + r d)
  const uint32_t rs_ok = ~is_zero_mask(r, L) & ~is_zero_mask(y, L);
  const uint32_t ok = scalar_ok & rs_ok;
  put_masked(out, r, ok, c);
  put_masked(out + 4 * L, y, ok, c);
  return sel32(scalar_ok, sel32(rs_ok, kEcOk, kEcRetry), kEcBadScalar);
}

}  // namespace gputls::kernels::ec
