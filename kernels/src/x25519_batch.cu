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
  const uint32_t blocks = (batch.count + kThreadsPerBlock - 1) / kThreadsPerBlock;
  x25519_batch_kernel<<<blocks, kThreadsPerBlock, 0, stream>>>(batch);
  return cudaGetLastError();
}

}  // namespace gputls::kernels
