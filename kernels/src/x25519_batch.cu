#include "device_table.h"
#include "gputls/kernels/x25519_launch.h"

namespace gputls::kernels {
namespace {

constexpr uint32_t kThreadsPerBlock = 128;

__global__ void __launch_bounds__(kThreadsPerBlock) x25519_batch_kernel(X25519Batch b) {
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
