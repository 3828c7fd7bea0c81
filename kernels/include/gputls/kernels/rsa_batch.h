// RSA private-key operations by CRT (rsa_crt_fixed.h: RSA-2048, -3072, -4096,
// two threads per request, each RSA result checked with the public exponent
// before release) and plain modular exponentiation (for finite-field DH,
// runtime limb counts, one thread per request); many keys per batch. Range
// checks and releases are masked: nothing branches on secret-derived values.
#pragma once

#include <cstdint>

#include "gputls/kernels/modexp.h"
#include "gputls/kernels/mp.h"
#include "gputls/kernels/rsa_crt_fixed.h"
#include "gputls/kernels/rsa_key_layout.h"

namespace gputls::kernels {

// Scratch words per request for a modulus of `limbs` limbs (RSA: 2h).
GT_HD constexpr int rsa_scratch_words(int limbs) { return rsa_fixed_scratch_words(limbs / 2); }
GT_HD constexpr int modexp_scratch_words(int limbs) { return 5 * limbs + 2 + mp::mont_exp_scratch(limbs); }

enum BatchOp : uint32_t { kBatchRsaCrt = 0, kBatchModExp = 1 };

// A batch: item i reads key keys[i], input in[i*bytes ..], writes out[i*bytes ..]
// and status[i], using scratch_words words of scratch: RSA limb-major across
// the batch (word w at scratch[w * count + i]), modexp at
// scratch[i*scratch_words ..]. All pointers are in the
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
  if (b.op == kBatchModExp) {
    b.status[i] = modexp(b.keys[i], in, out, s);
  } else {  // an RSA size without a compile-time path (rsa_fixed_half_limbs): refused
    for (uint32_t j = 0; j < b.bytes; ++j) out[j] = 0;
    b.status[i] = kRsaKeySize;
  }
}

// The compile-time path (rsa_crt_fixed.h) for RSA-2048, -3072 and -4096
// batches: its scratch is limb-major across the batch (word w of item i at
// scratch[w * count + i]), so the threads of a warp access it coalesced.
// Two threads per request (rsa_crt_fixed.h).
// Returns the half size H it serves, 0 for the generic path.
GT_HD constexpr int rsa_fixed_half_limbs(uint32_t op, uint32_t bytes) {
  return op == kBatchRsaCrt && (bytes == 256 || bytes == 384 || bytes == 512) ? static_cast<int>(bytes / 8) : 0;
}

// Phase P (rsa_crt_fixed.h) of thread t of a batch on the compile-time path:
// request t / 2, CRT half t % 2; scratch limb-major across the 2 * count
// threads. A key of another size than the batch is refused (public).
template <int H, int P>
GT_HD void rsa_batch_thread_fixed(const RsaBatch& b, uint32_t t) {
  const uint32_t i = t >> 1;
  const int half = static_cast<int>(t & 1);
  const uint32_t* key = b.keys[i];
  const FixedRsaKey<H> k{key};
  const FixedRsaScratch<H> s{mpf::Lane{b.scratch + t, 2 * b.count}};
  const bool size_ok = static_cast<int>(key[0]) == H;
  if constexpr (P == 1) {
    if (size_ok) rsa_crt_phase1<H>(k, b.in + static_cast<size_t>(i) * b.bytes, s, half);
  } else if constexpr (P == 2) {
    if (size_ok && half == 0) rsa_crt_phase2<H>(k, s, b.fault_bit ? b.fault_bit[i] : 0);
  } else if constexpr (P == 3) {
    if (size_ok) rsa_crt_phase3<H>(k, s, half);
  } else if (half == 0) {
    uint8_t* out = b.out + static_cast<size_t>(i) * b.bytes;
    if (size_ok) {
      b.status[i] = rsa_crt_phase4<H>(s, out);
    } else {
      for (uint32_t j = 0; j < b.bytes; ++j) out[j] = 0;
      b.status[i] = kRsaKeySize;
    }
  }
}

template <int H>
inline void rsa_batch_host_fixed(const RsaBatch& b) {
  for (uint32_t t = 0; t < 2 * b.count; ++t) rsa_batch_thread_fixed<H, 1>(b, t);
  for (uint32_t t = 0; t < 2 * b.count; ++t) rsa_batch_thread_fixed<H, 2>(b, t);
  for (uint32_t t = 0; t < 2 * b.count; ++t) rsa_batch_thread_fixed<H, 3>(b, t);
  for (uint32_t t = 0; t < 2 * b.count; ++t) rsa_batch_thread_fixed<H, 4>(b, t);
}

// Host twin of the kernels: the same bodies, looped over the thread indices
// (phase by phase where the kernel synchronises), chosen as the launcher
// chooses the kernel.
inline void rsa_batch_host(const RsaBatch& b) {
  switch (rsa_fixed_half_limbs(b.op, b.bytes)) {
    case 32: return rsa_batch_host_fixed<32>(b);
    case 48: return rsa_batch_host_fixed<48>(b);
    case 64: return rsa_batch_host_fixed<64>(b);
    default: for (uint32_t i = 0; i < b.count; ++i) rsa_batch_item(b, i); return;
  }
}

}  // namespace gputls::kernels
