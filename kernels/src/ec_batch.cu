#include "gputls/kernels/ec_launch.h"

namespace gputls::kernels {
namespace {

constexpr uint32_t kThreadsPerBlock = 128;

__global__ void __launch_bounds__(kThreadsPerBlock) ec_batch_kernel(EcBatch b) {
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < b.count) ec_batch_item(b, i);
}

}  // namespace

cudaError_t launch_ec_batch(const EcBatch& batch, cudaStream_t stream) {
  if (batch.count == 0) return cudaSuccess;
  const uint32_t blocks = (batch.count + kThreadsPerBlock - 1) / kThreadsPerBlock;
  ec_batch_kernel<<<blocks, kThreadsPerBlock, 0, stream>>>(batch);
  return cudaGetLastError();
}

}  // namespace gputls::kernels
