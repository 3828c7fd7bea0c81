// Layout of a precomputed key as the kernels read it: one flat array of
// 32-bit words, uploaded to the device once at key registration. Built on
// the host by rsa_key_blob.h.
//
// RSA-CRT key, h = limbs of one prime (n has 2h limbs):
//   [0] h  [1] p0inv  [2] q0inv  [3] 0  [4] e low  [5] e high  [6] kind  [7] 0
//   p q dp dq qinv r2p r3p r2q r3q (h limbs each)  n (2h limbs)
// (The public check runs mod p and mod q, rsa_crt_fixed.h: nothing mod n.)
// Modexp key (x^d mod m, for finite-field DH), L = limbs of m:
//   [0] L  [1] m0inv  [2..5] 0  [6] kind  [7] 0   m r2m d (L limbs each)
// rK = 2^(32 * K * limbs) mod prime: Montgomery constants.
#pragma once

#include <cstdint>

#include "gputls/kernels/gt_hd.h"

namespace gputls::kernels {

// Per-request result codes of the RSA / modexp kernels.
enum RsaStatus : uint32_t {
  kRsaOk = 0,
  kRsaInputRange = 1,  // input >= modulus
  kRsaFault = 2,       // public-exponent check failed: result withheld
  kRsaKeySize = 3,     // key of another size than the batch: not computed
};

enum KeyKind : uint32_t { kKeyRsaCrt = 1, kKeyModExp = 2 };
constexpr int kKeyHeaderWords = 8;
constexpr int kMaxRsaHalfLimbs = 64;  // RSA-4096

GT_HD constexpr int rsa_key_words(int h) { return kKeyHeaderWords + 9 * h + 2 * h; }
GT_HD constexpr int modexp_key_words(int l) { return kKeyHeaderWords + 3 * l; }

struct RsaKeyView {
  int h;
  uint32_t p0inv, q0inv;
  uint64_t e;
  const uint32_t *p, *q, *dp, *dq, *qinv, *r2p, *r3p, *r2q, *r3q, *n;
};

GT_HD RsaKeyView rsa_key_view(const uint32_t* k) {
  RsaKeyView v;
  v.h = static_cast<int>(k[0]);
  v.p0inv = k[1];
  v.q0inv = k[2];
  v.e = static_cast<uint64_t>(k[4]) | (static_cast<uint64_t>(k[5]) << 32);
  const uint32_t* a = k + kKeyHeaderWords;
  const int h = v.h;
  v.p = a;
  v.q = a + h;
  v.dp = a + 2 * h;
  v.dq = a + 3 * h;
  v.qinv = a + 4 * h;
  v.r2p = a + 5 * h;
  v.r3p = a + 6 * h;
  v.r2q = a + 7 * h;
  v.r3q = a + 8 * h;
  v.n = a + 9 * h;
  return v;
}

struct ModExpKeyView {
  int l;
  uint32_t m0inv;
  const uint32_t *m, *r2m, *d;
};

GT_HD ModExpKeyView modexp_key_view(const uint32_t* k) {
  ModExpKeyView v;
  v.l = static_cast<int>(k[0]);
  v.m0inv = k[1];
  v.m = k + kKeyHeaderWords;
  v.r2m = v.m + v.l;
  v.d = v.m + 2 * v.l;
  return v;
}

}  // namespace gputls::kernels
