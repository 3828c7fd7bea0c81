#include "gputls/kernels/echo_launch.h"

namespace gputls::kernels {
namespace {

constexpr uint32_t kThreadsPerItem = 128;

__global__ void echo_batch_kernel(EchoBatch b) {
  echo_item(b, blockIdx.x, threadIdx.x, blockDim.x);
}

}  // namespace

cudaError_t launch_echo_batch(const EchoBatch& batch, cudaStream_t stream) {
  if (batch.count == 0) return cudaSuccess;
  echo_batch_kernel<<<batch.count, kThreadsPerItem, 0, stream>>>(batch);
  return cudaGetLastError();
}

}  // namespace gputls::kernels
