#include "gputls/kernels/rsa_launch.h"

namespace gputls::kernels {
namespace {

constexpr uint32_t kThreadsPerBlock = 64;

__global__ void rsa_batch_kernel(RsaBatch b) {
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < b.count) rsa_batch_item(b, i);
}

}  // namespace

cudaError_t launch_rsa_batch(const RsaBatch& batch, cudaStream_t stream) {
  if (batch.count == 0) return cudaSuccess;
  const uint32_t blocks = (batch.count + kThreadsPerBlock - 1) / kThreadsPerBlock;
  rsa_batch_kernel<<<blocks, kThreadsPerBlock, 0, stream>>>(batch);
  return cudaGetLastError();
}

}  // namespace gputls::kernels
