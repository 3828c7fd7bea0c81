// ECDH / ECDSA batches on NIST P-256 and P-384 (p256.h): one thread per
// request on the GPU, the same per-item body looped on the host
// (ec_batch_host).
//
// Secrets: private keys, nonces, shared secrets and signatures' intermediates
// (see p256.h for how each is kept out of branches and addresses). Nonces are
// supplied by the caller from a CSPRNG; the kernels never generate one. A
// kEcRetry status (r == 0 or s == 0) means: sign again with a fresh nonce.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gputls/kernels/ec_ops.h"

namespace gputls::kernels {

using ec::EcOp;
using ec::EcStatus;

// A batch on one curve. With B = coordinate bytes (32 for P-256, 48 for
// P-384), item i:
//   op       ops[i] when ops is set, else op (public)
//   scalar   scalars + B * slot, slot = scalar_index[i] when set (keys resident
//            in a table) else i: the private key d (keygen, derive, sign)
//   nonce    nonces + B * i: k for sign (secret, from the caller's CSPRNG)
//   point    points + 2B * i: X || Y, the peer (derive) or the public key (verify)
//   digest   digests + digest_bytes * i (sign, verify); truncated to the
//            curve's bit length here (leftmost bits)
//   sig      sigs + 2B * i: r || s (verify)
//   out      out + 2B * i: X || Y (keygen), x (derive, first B bytes), r || s (sign)
//   status   status[i]: an EcStatus
// g_table is the curve's fixed-base table (k G for keygen, sign, verify) in
// the runner's memory: ec_batch_host and the CUDA launcher fill it when null.
// Big-endian, fixed-width byte strings throughout. Unused inputs may be null.
// All pointers are in the memory space of whoever runs the batch (device for
// the kernel). Slots, ops and the curve are public.
struct EcBatch {
  const uint32_t* ops = nullptr;           // optional, per item
  const uint8_t* scalars = nullptr;        // secret
  const uint32_t* scalar_index = nullptr;  // optional
  const uint8_t* nonces = nullptr;         // secret
  const uint8_t* points = nullptr;
  const uint8_t* digests = nullptr;
  const uint8_t* sigs = nullptr;
  uint8_t* out = nullptr;  // secret for derive
  uint32_t* status = nullptr;
  uint32_t count = 0;
  uint32_t curve = ec::kEcP256;
  uint32_t op = ec::kEcDerive;
  uint32_t digest_bytes = 0;
  const uint32_t* g_table = nullptr;  // null on the device: variable-base k G (same results, slower)
};

GT_HD void ec_batch_item(const EcBatch& b, uint32_t i) {
  const uint32_t op = b.ops ? b.ops[i] : b.op;
  if (b.curve >= ec::kEcCurveCount || op > ec::kEcVerify) {
    b.status[i] = ec::kEcBadRequest;
    return;
  }
  const ec::Curve& c = ec::curve(b.curve);
  const size_t B = static_cast<size_t>(ec::coord_bytes(c));
  const uint32_t slot = b.scalar_index ? b.scalar_index[i] : i;
  const bool uses_scalar = op != ec::kEcVerify;
  const bool uses_point = op == ec::kEcDerive || op == ec::kEcVerify;
  const bool uses_digest = op == ec::kEcSign || op == ec::kEcVerify;
  b.status[i] = ec::ec_op(op, c, uses_scalar ? b.scalars + B * slot : nullptr,
                          op == ec::kEcSign ? b.nonces + B * i : nullptr, uses_point ? b.points + 2 * B * i : nullptr,
                          uses_digest ? b.digests + static_cast<size_t>(b.digest_bytes) * i : nullptr, b.digest_bytes,
                          op == ec::kEcVerify ? b.sigs + 2 * B * i : nullptr, b.out + 2 * B * i, b.g_table);
}

// Host twin of the kernel: the same body, looped over the thread indices,
// with the host's copy of the fixed-base table unless one is given.
inline void ec_batch_host(const EcBatch& b) {
  EcBatch h = b;
  if (!h.g_table && h.curve < ec::kEcCurveCount) h.g_table = ec::base_table_host(h.curve);
  for (uint32_t i = 0; i < h.count; ++i) ec_batch_item(h, i);
}

}  // namespace gputls::kernels
