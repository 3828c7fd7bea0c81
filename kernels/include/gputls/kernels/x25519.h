// X25519 (RFC 7748 section 5) by the Montgomery ladder, written once for host
// and device (GT_HD), and its batch: one thread per request on the GPU, the
// same per-item body looped on the host (x25519_batch_host). Key generation
// (the fixed base u = 9) uses the precomputed Edwards table of
// x25519_fixed_base.h instead of the ladder.
//
// Secrets: the scalars (private keys) and the derived outputs (shared
// secrets). The ladder runs a fixed 255 steps whatever the scalar, swaps by
// mask, and reads the scalar only at public positions; the fixed-base path
// scans its table with masks; the all-zero check on the result (RFC 7748
// section 6.1) is a masked OR, reported as a status.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gputls/kernels/fe25519.h"
#include "gputls/kernels/x25519_fixed_base.h"

namespace gputls::kernels {

// Per-request result codes.
enum X25519Status : uint32_t {
  kX25519Ok = 0,
  kX25519ZeroSecret = 1,  // the result is all zero (low-order peer point): refuse it
};

enum X25519Op : uint32_t {
  kX25519Derive = 0,  // out = X25519(scalar, peer u): the shared secret
  kX25519Keygen = 1,  // out = X25519(scalar, 9): the public key; peer unused
};

constexpr uint32_t kX25519Bytes = 32;
constexpr uint32_t kX25519A24 = 121665;  // (486662 - 2) / 4

namespace x25519_detail {

// The scalar's 32-bit word w (little endian), clamped (RFC 7748 section 5):
// bits 0..2 cleared, bit 255 cleared, bit 254 set. w is public.
GT_HD uint32_t clamped_word(const uint8_t scalar[32], int w) {
  uint32_t k = fe25519::load_le32(scalar + 4 * w);
  if (w == 0) k &= ~7u;
  if (w == 7) k = (k & 0x7fffffffu) | 0x40000000u;
  return k;
}

// x-coordinate of [clamp(scalar)] (x1 : 1), projectively as (x2 : z2).
GT_HD void ladder(fe25519::Fe& x2, fe25519::Fe& z2, const uint8_t scalar[32], const fe25519::Fe& x1) {
  using namespace fe25519;
  Fe x3, z3, a, b, c, d, aa, bb, e, da, cb;
  set_small(x2, 1);
  set_small(z2, 0);
  copy(x3, x1);
  set_small(z3, 1);
  uint32_t swap = 0;
  // Bits 254 down to 0 (bit 255 is clamped to zero and skipped, as in RFC 7748).
  GT_FE_NO_UNROLL
  for (int w = 7; w >= 0; --w) {
    const uint32_t k = clamped_word(scalar, w);
    GT_FE_NO_UNROLL
    for (int t = (w == 7 ? 30 : 31); t >= 0; --t) {
      const uint32_t bit = (k >> t) & 1;
      swap ^= bit;
      const uint32_t mask = 0u - swap;
      cswap(x2, x3, mask);
      cswap(z2, z3, mask);
      swap = bit;
      add(a, x2, z2);      // A = x2 + z2
      sub(b, x2, z2);      // B = x2 - z2
      add(c, x3, z3);      // C = x3 + z3
      sub(d, x3, z3);      // D = x3 - z3
      sq(aa, a);           // AA = A^2
      sq(bb, b);           // BB = B^2
      mul(da, d, a);       // DA = D * A
      mul(cb, c, b);       // CB = C * B
      sub(e, aa, bb);      // E = AA - BB
      add(x3, da, cb);
      sq(x3, x3);          // x3 = (DA + CB)^2
      sub(z3, da, cb);
      sq(z3, z3);
      mul(z3, z3, x1);     // z3 = x1 * (DA - CB)^2
      mul(x2, aa, bb);     // x2 = AA * BB
      mul_small(a, e, kX25519A24);
      add(a, aa, a);
      mul(z2, e, a);       // z2 = E * (AA + a24 * E)
    }
  }
  const uint32_t mask = 0u - swap;
  cswap(x2, x3, mask);
  cswap(z2, z3, mask);
}

// out = x2 / z2, encoded; returns the status (all-zero result refused).
GT_HD uint32_t finish(uint8_t out[32], const fe25519::Fe& x2, const fe25519::Fe& z2) {
  fe25519::Fe zi;
  fe25519::invert(zi, z2);
  fe25519::mul(zi, x2, zi);
  const uint32_t acc = fe25519::to_bytes(out, zi);
  // All-ones when acc == 0, without a branch. The output is then already all
  // zero, so nothing needs wiping; the caller must not use it.
  const uint32_t zero = ((acc | (0u - acc)) >> 31) - 1u;
  return zero & kX25519ZeroSecret;
}

// out = X25519(scalar, x1) for a decoded u-coordinate x1.
GT_HD uint32_t scalarmult(uint8_t out[32], const uint8_t scalar[32], const fe25519::Fe& x1) {
  fe25519::Fe x2, z2;
  ladder(x2, z2, scalar, x1);
  return finish(out, x2, z2);
}

}  // namespace x25519_detail

// RFC 7748 X25519(scalar, u): out = u-coordinate of [clamp(scalar)] u, with
// u's top bit ignored and non-canonical u accepted (reduced mod p). Returns
// kX25519ZeroSecret (out all zero) for a low-order u, else kX25519Ok.
GT_HD uint32_t x25519(uint8_t out[32], const uint8_t scalar[32], const uint8_t u[32]) {
  fe25519::Fe x1;
  fe25519::from_bytes(x1, u);
  return x25519_detail::scalarmult(out, scalar, x1);
}

// Key generation: out = X25519(scalar, 9), the public key, by the fixed-base
// table (the same value as x25519(out, scalar, 9), faster). Never all zero for
// a clamped scalar, but the status is computed the same way.
GT_HD uint32_t x25519_base(uint8_t out[32], const uint8_t scalar[32], const ed25519::BaseTable& table) {
  fe25519::Fe num, den;
  ed25519::base_mul(num, den, scalar, table);
  return x25519_detail::finish(out, num, den);
}

// A batch: item i uses the scalar at scalars + 32 * slot, where slot is
// scalar_index[i] when scalar_index is set (keys resident in a table) or i
// otherwise; reads peer + 32 i (derive only), writes out + 32 i and status[i].
// The op is the same for the whole batch. All pointers are in the memory
// space of whoever runs the batch (device for the kernel). Slots are public.
struct X25519Batch {
  const uint8_t* scalars = nullptr;        // secret
  const uint32_t* scalar_index = nullptr;  // optional
  const uint8_t* peer = nullptr;           // count * 32; unused for keygen
  uint8_t* out = nullptr;                  // count * 32; secret for derive
  uint32_t* status = nullptr;              // count
  uint32_t count = 0;
  uint32_t op = kX25519Derive;
  // Keygen: the fixed-base table in the runner's memory. x25519_batch_host and
  // the CUDA launcher fill it when null; a null table on the device falls back
  // to the ladder on u = 9 (same result, slower).
  const ed25519::BaseTable* base_table = nullptr;
};

GT_HD void x25519_batch_item(const X25519Batch& b, uint32_t i) {
  const uint32_t slot = b.scalar_index ? b.scalar_index[i] : i;
  const uint8_t* k = b.scalars + static_cast<size_t>(slot) * kX25519Bytes;
  uint8_t* out = b.out + static_cast<size_t>(i) * kX25519Bytes;
  fe25519::Fe num, den;
  if (b.op == kX25519Keygen && b.base_table) {
    ed25519::base_mul(num, den, k, *b.base_table);
  } else {
    // One ladder for derive (and keygen without a table): only the point differs.
    fe25519::Fe x1;
    if (b.op == kX25519Keygen)
      fe25519::set_small(x1, 9);
    else
      fe25519::from_bytes(x1, b.peer + static_cast<size_t>(i) * kX25519Bytes);
    x25519_detail::ladder(num, den, k, x1);
  }
  b.status[i] = x25519_detail::finish(out, num, den);
}

// Host twin of the kernel: the same body, looped over the thread indices.
// Keygen reads the host's copy of the fixed-base table unless one is given.
inline void x25519_batch_host(const X25519Batch& b) {
  X25519Batch h = b;
  if (h.op == kX25519Keygen && !h.base_table) h.base_table = &ed25519::base_table_host();
  for (uint32_t i = 0; i < h.count; ++i) x25519_batch_item(h, i);
}

}  // namespace gputls::kernels
