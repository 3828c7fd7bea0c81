#include "gputls/kernels/rsa_launch.h"

namespace gputls::kernels {
namespace {

constexpr uint32_t kThreadsPerBlock = 64;

// Generic path: runtime limb counts (finite-field DH, other RSA sizes).
__global__ void __launch_bounds__(kThreadsPerBlock) rsa_batch_kernel(RsaBatch b) {
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < b.count) rsa_batch_item(b, i);
}

// Blocks per SM the register allocation must allow. RSA-2048 (H = 32): 6 caps
// the kernel at 168 registers, 12 warps per SM; what spills then is set-up and
// check code outside the exponentiation's window loop (scripts/gpu-model.sh
// reports both). Larger halves need every register they can get.
constexpr int min_blocks_for(int h) { return h == 32 ? 6 : 1; }

// RSA-2048/3072/4096: compile-time half size H, operands in registers.
template <int H>
__global__ void __launch_bounds__(kThreadsPerBlock, min_blocks_for(H)) rsa_crt_fixed_kernel(RsaBatch b) {
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < b.count) rsa_batch_item_fixed<H>(b, i);
}

}  // namespace

cudaError_t launch_rsa_batch(const RsaBatch& batch, cudaStream_t stream) {
  if (batch.count == 0) return cudaSuccess;
  const uint32_t blocks = (batch.count + kThreadsPerBlock - 1) / kThreadsPerBlock;
  switch (rsa_fixed_half_limbs(batch.op, batch.bytes)) {
    case 32: rsa_crt_fixed_kernel<32><<<blocks, kThreadsPerBlock, 0, stream>>>(batch); break;
    case 48: rsa_crt_fixed_kernel<48><<<blocks, kThreadsPerBlock, 0, stream>>>(batch); break;
    case 64: rsa_crt_fixed_kernel<64><<<blocks, kThreadsPerBlock, 0, stream>>>(batch); break;
    default: rsa_batch_kernel<<<blocks, kThreadsPerBlock, 0, stream>>>(batch); break;
  }
  return cudaGetLastError();
}

}  // namespace gputls::kernels
