#include "device_table.h"
#include "gputls/kernels/x25519_launch.h"

namespace gputls::kernels {
namespace {

constexpr uint32_t kThreadsPerBlock = 128;

// Registers: unbounded, ptxas takes 166 (12 warps per SM, no spill). The
// static model reports min blocks 4 as a variant (128 registers, 16 warps,
// small spills); its in-order simulation puts one warp at 0.46 instructions a
// cycle, so about 2.2 warps per scheduler (9 per SM) already fill the issue
// slots and the extra warps buy nothing it can count. A GPU run decides.
#ifndef GPUTLS_X25519_MIN_BLOCKS
#define GPUTLS_X25519_MIN_BLOCKS 1
#endif

__global__ void __launch_bounds__(kThreadsPerBlock, GPUTLS_X25519_MIN_BLOCKS) x25519_batch_kernel(X25519Batch b) {
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < b.count) x25519_batch_item(b, i);
}

}  // namespace

cudaError_t launch_x25519_batch(const X25519Batch& batch, cudaStream_t stream) {
  if (batch.count == 0) return cudaSuccess;
  X25519Batch b = batch;
  if (b.op == kX25519Keygen && !b.base_table) {
    // Keygen reads the fixed-base table from device global memory (uploaded once).
    const ed25519::BaseTable& host = ed25519::base_table_host();
    const void* dev = nullptr;
    const cudaError_t e = device_table(&host, sizeof host, &dev);
    if (e != cudaSuccess) return e;
    b.base_table = static_cast<const ed25519::BaseTable*>(dev);
  }
  const uint32_t blocks = (b.count + kThreadsPerBlock - 1) / kThreadsPerBlock;
  x25519_batch_kernel<<<blocks, kThreadsPerBlock, 0, stream>>>(b);
  return cudaGetLastError();
}

}  // namespace gputls::kernels
