#include "gputls/kernels/rsa_launch.h"

namespace gputls::kernels {
namespace {

constexpr uint32_t kThreadsPerBlock = 64;

// Generic path: runtime limb counts (finite-field DH, other RSA sizes).
__global__ void __launch_bounds__(kThreadsPerBlock) rsa_batch_kernel(RsaBatch b) {
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < b.count) rsa_batch_item(b, i);
}

// Blocks per SM the register allocation must allow, RSA-2048 (H = 32): 4
// gives the kernel up to 255 registers (it takes 234, nothing spills, 8 warps
// per SM); 6 caps it at 168 (12 warps per SM) and spills inside the window
// loop. The static model (scripts/gpu-model.sh) predicts 4 the faster and
// reports 6 as a variant; a GPU run decides (the model does not credit the
// extra warps with hiding latency). Larger halves need every register.
#ifndef GPUTLS_RSA2048_MIN_BLOCKS
#define GPUTLS_RSA2048_MIN_BLOCKS 4
#endif
constexpr int min_blocks_for(int h) { return h == 32 ? GPUTLS_RSA2048_MIN_BLOCKS : 1; }

// RSA-2048/3072/4096: compile-time half size H, operands in registers.
// Two threads per request, adjacent lanes (a pair never straddles a warp:
// blocks hold an even number of threads); they synchronise between phases.
template <int H>
__global__ void __launch_bounds__(kThreadsPerBlock, min_blocks_for(H)) rsa_crt_fixed_kernel(RsaBatch b) {
  const uint32_t t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= 2 * b.count) return;  // whole pairs: 2 * count is even
  const unsigned pair = 3u << (threadIdx.x & 30u);
  rsa_batch_thread_fixed<H, 1>(b, t);
  __syncwarp(pair);
  rsa_batch_thread_fixed<H, 2>(b, t);
  __syncwarp(pair);
  rsa_batch_thread_fixed<H, 3>(b, t);
  __syncwarp(pair);
  rsa_batch_thread_fixed<H, 4>(b, t);
}

}  // namespace

cudaError_t launch_rsa_batch(const RsaBatch& batch, cudaStream_t stream) {
  if (batch.count == 0) return cudaSuccess;
  const uint32_t blocks = (batch.count + kThreadsPerBlock - 1) / kThreadsPerBlock;
  const uint32_t pair_blocks = (2 * batch.count + kThreadsPerBlock - 1) / kThreadsPerBlock;
  switch (rsa_fixed_half_limbs(batch.op, batch.bytes)) {
    case 32: rsa_crt_fixed_kernel<32><<<pair_blocks, kThreadsPerBlock, 0, stream>>>(batch); break;
    case 48: rsa_crt_fixed_kernel<48><<<pair_blocks, kThreadsPerBlock, 0, stream>>>(batch); break;
    case 64: rsa_crt_fixed_kernel<64><<<pair_blocks, kThreadsPerBlock, 0, stream>>>(batch); break;
    default: rsa_batch_kernel<<<blocks, kThreadsPerBlock, 0, stream>>>(batch); break;
  }
  return cudaGetLastError();
}

}  // namespace gputls::kernels
