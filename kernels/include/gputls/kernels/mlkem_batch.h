// ML-KEM-768 over a batch of requests, written once for host and device: one
// per-item body (mlkem_batch_item) that the CUDA kernel runs one thread per
// request and the host twin loops over (mlkem_batch_host). Requests of a batch
// share one operation; inputs and outputs are packed at fixed strides.
//
// One thread per operation, polynomials in the thread's stack (local memory),
// Keccak-f's state in registers; see mlkem.h for how the static model counts it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gputls/kernels/mlkem.h"

namespace gputls::kernels {

enum MlkemOp : uint32_t { kMlkemKeygen = 0, kMlkemEncaps = 1, kMlkemDecaps = 2 };

enum MlkemStatus : uint32_t {
  kMlkemOk = 0,
  kMlkemBadKey = 1,      // encaps: ek fails the modulus check; decaps: dk's H(ek) does not match. Output zeroed
  kMlkemBadRequest = 2,  // unknown op: nothing computed, nothing written (its sizes are unknown)
};

// Bytes per request, by op: keygen d || z -> ek || dk; encaps ek || m -> K || c;
// decaps dk || c -> K.
GT_HD constexpr uint32_t mlkem_in_bytes(uint32_t op) {
  return op == kMlkemKeygen ? 64 : op == kMlkemEncaps ? mlkem::kEkBytes + 32 : mlkem::kDkBytes + mlkem::kCtBytes;
}
GT_HD constexpr uint32_t mlkem_out_bytes(uint32_t op) {
  return op == kMlkemKeygen   ? mlkem::kEkBytes + mlkem::kDkBytes
         : op == kMlkemEncaps ? mlkem::kSharedBytes + mlkem::kCtBytes
                              : mlkem::kSharedBytes;
}

// Requests are read and written a word at a time on the device (mlkem.h):
// every request, and every field in one, starts 8-byte aligned in a batch
// whose buffers are.
static_assert(mlkem_in_bytes(kMlkemKeygen) % 8 == 0 && mlkem_in_bytes(kMlkemEncaps) % 8 == 0 &&
                  mlkem_in_bytes(kMlkemDecaps) % 8 == 0 && mlkem_out_bytes(kMlkemKeygen) % 8 == 0 &&
                  mlkem_out_bytes(kMlkemEncaps) % 8 == 0 && mlkem_out_bytes(kMlkemDecaps) % 8 == 0,
              "request strides");
static_assert(mlkem::kEkBytes % 8 == 0 && mlkem::kDkBytes % 8 == 0 && mlkem::kSharedBytes % 8 == 0 &&
                  mlkem::kDkPkeBytes % 8 == 0 && mlkem::kPolyBytes % 8 == 0 && (32 * mlkem::kDu) % 8 == 0,
              "field offsets");

struct MlkemBatch {
  const uint8_t* in = nullptr;  // count * mlkem_in_bytes(op); secret (seeds, m, dk)
  uint8_t* out = nullptr;       // count * mlkem_out_bytes(op); secret (dk, K)
  uint32_t* status = nullptr;   // count
  uint32_t count = 0;
  uint32_t op = kMlkemEncaps;
  const mlkem::Tables* tables = nullptr;  // in the runner's memory; filled when null
};

GT_HD void mlkem_batch_item(const MlkemBatch& b, uint32_t i) {
  const uint32_t op = b.op;
  if (op > kMlkemDecaps) {
    b.status[i] = kMlkemBadRequest;
    return;
  }
  const uint8_t* in = b.in + static_cast<size_t>(i) * mlkem_in_bytes(op);
  uint8_t* out = b.out + static_cast<size_t>(i) * mlkem_out_bytes(op);
  const mlkem::Tables& t = *b.tables;
  bool ok = true;
  if (op == kMlkemKeygen)
    mlkem::keygen(out, out + mlkem::kEkBytes, in, in + 32, t);
  else if (op == kMlkemEncaps)
    ok = mlkem::encaps(out, out + mlkem::kSharedBytes, in, in + mlkem::kEkBytes, t);
  else
    ok = mlkem::decaps(out, in, in + mlkem::kDkBytes, t);
  if (!ok) {  // public verdict on a public key: nothing partial is released
    GT_UNROLL_BY(1) for (uint32_t k = 0; k < mlkem_out_bytes(op); ++k) { GT_TRIP(1);
      out[k] = 0;
    }
  }
  b.status[i] = ok ? kMlkemOk : kMlkemBadKey;
}

inline void mlkem_batch_host(const MlkemBatch& b) {
  MlkemBatch h = b;
  if (!h.tables) h.tables = &mlkem::tables();
  for (uint32_t i = 0; i < h.count; ++i) mlkem_batch_item(h, i);
}

// One request through the host twin (the CPU paths): its MlkemStatus.
inline uint32_t mlkem_run_one(uint32_t op, const uint8_t* in, uint8_t* out) {
  uint32_t status = kMlkemBadRequest;
  MlkemBatch b;
  b.in = in;
  b.out = out;
  b.status = &status;
  b.count = 1;
  b.op = op;
  mlkem_batch_host(b);
  return status;
}

}  // namespace gputls::kernels
