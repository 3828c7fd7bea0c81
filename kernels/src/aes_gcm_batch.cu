#include "gputls/kernels/aes_gcm_launch.h"

namespace gputls::kernels {
namespace {

constexpr uint32_t kThreadsPerBlock = 128;

__global__ void __launch_bounds__(kThreadsPerBlock) aes_gcm_pass1_kernel(AesGcmBatch b) {
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < b.items) aes_gcm_pass1(b, i);
}

__global__ void __launch_bounds__(kThreadsPerBlock) aes_gcm_pass2_kernel(AesGcmBatch b) {
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < b.items) aes_gcm_pass2(b, i);
}

}  // namespace

cudaError_t launch_aes_gcm_batch(const AesGcmBatch& batch, cudaStream_t stream) {
  if (batch.count == 0 || batch.items == 0) return cudaSuccess;
  const size_t acc_bytes = size_t{batch.count} * 4 * sizeof(uint32_t);
  const uint32_t blocks = (batch.items + kThreadsPerBlock - 1) / kThreadsPerBlock;
  cudaError_t e = cudaMemsetAsync(batch.acc, 0, acc_bytes, stream);
  if (e != cudaSuccess) return e;
  aes_gcm_pass1_kernel<<<blocks, kThreadsPerBlock, 0, stream>>>(batch);
  if ((e = cudaGetLastError()) != cudaSuccess) return e;
  aes_gcm_pass2_kernel<<<blocks, kThreadsPerBlock, 0, stream>>>(batch);
  if ((e = cudaGetLastError()) != cudaSuccess) return e;
  return cudaMemsetAsync(batch.acc, 0, acc_bytes, stream);
}

}  // namespace gputls::kernels
