// RSA private-key operations by CRT and plain modular exponentiation (for
// finite-field DH), one thread per request, many keys per batch.
//
// Every RSA result is recomputed with the public exponent and compared with
// the input before it is released (Bellcore: one faulty CRT half would hand
// an attacker a factor of n). The comparison, the input range check and the
// output release are all masked: nothing branches on secret-derived values.
#pragma once

#include <cstdint>

#include "gputls/kernels/modexp.h"
#include "gputls/kernels/mp.h"
#include "gputls/kernels/rsa_key_layout.h"

namespace gputls::kernels {

// Per-request result codes.
enum RsaStatus : uint32_t {
  kRsaOk = 0,
  kRsaInputRange = 1,  // input >= modulus
  kRsaFault = 2,       // public-exponent check failed: result withheld
};

// Scratch words per request for a modulus of `limbs` limbs (RSA: 2h).
GT_HD constexpr int rsa_scratch_words(int limbs) { return 12 * limbs + 2 + mp::mont_exp_scratch(limbs / 2); }
GT_HD constexpr int modexp_scratch_words(int limbs) { return 5 * limbs + 2 + mp::mont_exp_scratch(limbs); }

enum BatchOp : uint32_t { kBatchRsaCrt = 0, kBatchModExp = 1 };

// A batch: item i reads key keys[i], input in[i*bytes ..], writes out[i*bytes ..]
// and status[i], using scratch[i*scratch_words ..]. All pointers are in the
// memory space of whoever runs the batch (device for the kernel).
struct RsaBatch {
  const uint32_t* const* keys = nullptr;
  const uint8_t* in = nullptr;
  uint8_t* out = nullptr;
  uint32_t* status = nullptr;
  uint32_t* scratch = nullptr;
  const uint32_t* fault_bit = nullptr;  // tests only: per item, flip result bit (v-1) before the check; 0 = none
  uint32_t count = 0;
  uint32_t bytes = 0;          // modulus bytes: 4 * limbs
  uint32_t scratch_words = 0;  // per item
  uint32_t op = kBatchRsaCrt;
};

// c^d mod n by CRT, checked with e. in/out: 8h bytes big-endian.
GT_HD uint32_t rsa_crt(const uint32_t* key, const uint8_t* in, uint8_t* out, uint32_t* s, uint32_t fault_bit) {
  const RsaKeyView k = rsa_key_view(key);
  const int h = k.h, l = 2 * h;
  uint32_t* c = s;              // l
  uint32_t* m = c + l;          // l: the result
  uint32_t* wide = m + l;       // l: m^e, scratch for products
  uint32_t* one = wide + l;     // l: the integer 1
  uint32_t* acc = one + l;      // l
  uint32_t* m1 = acc + l;       // h
  uint32_t* m2 = m1 + h;        // h
  uint32_t* x1 = m2 + h;        // h
  uint32_t* x2 = x1 + h;        // h
  uint32_t* rp = x2 + h;        // h
  uint32_t* tmp = rp + h;       // l
  uint32_t* t = tmp + l;        // l + 2
  uint32_t* ex = t + l + 2;     // mont_exp_scratch(h)

  mp::from_be(c, in, l);
  const uint32_t in_range = mp::ct_lt_mask(c, k.n, l);
  mp::set_zero(one, l);
  one[0] = 1;

  // Each half: c mod P in Montgomery form = c_hi * R^2 + c_lo * R (mod P), then c^dP.
  for (int half = 0; half < 2; ++half) {
    const uint32_t* P = half ? k.q : k.p;
    const uint32_t P0 = half ? k.q0inv : k.p0inv;
    const uint32_t* r2 = half ? k.r2q : k.r2p;
    const uint32_t* r3 = half ? k.r3q : k.r3p;
    uint32_t* res = half ? m2 : m1;
    mp::mont_mul(x1, c + h, r3, P, P0, t, h);
    mp::mont_mul(x2, c, r2, P, P0, t, h);
    mp::mod_add(x1, x1, x2, P, tmp, h);
    mp::mont_mul(rp, r2, one, P, P0, t, h);  // R mod P: Montgomery one
    mp::mont_exp(res, x1, half ? k.dq : k.dp, h, P, P0, rp, ex, h);
  }
  // Garner: m = m2 + q * ((m1 - m2) * qinv mod p). m1 stays in Montgomery form
  // mod p; m2 leaves q's Montgomery form and enters p's.
  mp::mont_mul(m2, m2, one, k.q, k.q0inv, t, h);
  mp::mont_mul(x2, m2, k.r2p, k.p, k.p0inv, t, h);
  mp::mod_sub(x1, m1, x2, k.p, tmp, h);
  mp::mont_mul(x1, x1, k.qinv, k.p, k.p0inv, t, h);
  mp::mul(m, x1, h, k.q, h);
  mp::set_zero(tmp, l);
  mp::copy(tmp, m2, h);
  mp::add(m, m, tmp, l);

  if (fault_bit) m[((fault_bit - 1) >> 5) % l] ^= 1u << ((fault_bit - 1) & 31);

  // Public check: m^e mod n == c. e is public, so plain square-and-multiply.
  mp::mont_mul(acc, k.r2n, one, k.n, k.n0inv, t, l);  // R mod n
  mp::mont_mul(wide, m, k.r2n, k.n, k.n0inv, t, l);  // m * R mod n
  int top = 63;
  while (top > 0 && !((k.e >> top) & 1)) --top;
  for (int b = top; b >= 0; --b) {
    mp::mont_mul(acc, acc, acc, k.n, k.n0inv, t, l);
    if ((k.e >> b) & 1) mp::mont_mul(acc, acc, wide, k.n, k.n0inv, t, l);
  }
  mp::mont_mul(acc, acc, one, k.n, k.n0inv, t, l);
  uint32_t diff = 0;
  for (int i = 0; i < l; ++i) diff |= acc[i] ^ c[i];
  const uint32_t ok = mp::ct_eq_mask(diff, 0);
  const uint32_t release = in_range & ok;
  for (int i = 0; i < l; ++i) m[i] &= release;
  mp::to_be(out, m, l);
  return (~in_range & kRsaInputRange) | (in_range & ~ok & kRsaFault);
}

// x^d mod m (finite-field DH), constant time in d. in/out: 4L bytes big-endian.
GT_HD uint32_t modexp(const uint32_t* key, const uint8_t* in, uint8_t* out, uint32_t* s) {
  const ModExpKeyView k = modexp_key_view(key);
  const int l = k.l;
  uint32_t* x = s;           // l
  uint32_t* one = x + l;     // l
  uint32_t* rm = one + l;    // l
  uint32_t* r = rm + l;      // l
  uint32_t* t = r + l;       // l + 2
  uint32_t* ex = t + l + 2;  // mont_exp_scratch(l)
  mp::from_be(x, in, l);
  const uint32_t in_range = mp::ct_lt_mask(x, k.m, l);
  mp::set_zero(one, l);
  one[0] = 1;
  mp::mont_mul(rm, k.r2m, one, k.m, k.m0inv, t, l);
  mp::mont_mul(x, x, k.r2m, k.m, k.m0inv, t, l);
  mp::mont_exp(r, x, k.d, l, k.m, k.m0inv, rm, ex, l);
  mp::mont_mul(r, r, one, k.m, k.m0inv, t, l);
  for (int i = 0; i < l; ++i) r[i] &= in_range;
  mp::to_be(out, r, l);
  return ~in_range & kRsaInputRange;
}

GT_HD void rsa_batch_item(const RsaBatch& b, uint32_t i) {
  const uint8_t* in = b.in + static_cast<size_t>(i) * b.bytes;
  uint8_t* out = b.out + static_cast<size_t>(i) * b.bytes;
  uint32_t* s = b.scratch + static_cast<size_t>(i) * b.scratch_words;
  if (b.op == kBatchModExp)
    b.status[i] = modexp(b.keys[i], in, out, s);
  else
    b.status[i] = rsa_crt(b.keys[i], in, out, s, b.fault_bit ? b.fault_bit[i] : 0);
}

// Host twin of the kernel: the same body, looped over the thread indices.
inline void rsa_batch_host(const RsaBatch& b) {
  for (uint32_t i = 0; i < b.count; ++i) rsa_batch_item(b, i);
}

}  // namespace gputls::kernels
