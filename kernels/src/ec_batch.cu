#include "device_table.h"
#include "gputls/kernels/ec_launch.h"

namespace gputls::kernels {
namespace {

constexpr uint32_t kThreadsPerBlock = 128;

// Registers: unbounded, ptxas takes 255 (the P-384 point formulas with every
// operand in registers), 8 warps per SM. The static model reports min blocks
// 3 as a variant (168 registers, 12 warps, some spills); it does not credit
// extra warps with hiding the multiply chains' latency: a GPU run decides.
#ifndef GPUTLS_EC_MIN_BLOCKS
#define GPUTLS_EC_MIN_BLOCKS 1
#endif

__global__ void __launch_bounds__(kThreadsPerBlock, GPUTLS_EC_MIN_BLOCKS) ec_batch_kernel(EcBatch b) {
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < b.count) ec_batch_item(b, i);
}

}  // namespace

cudaError_t launch_ec_batch(const EcBatch& batch, cudaStream_t stream) {
  if (batch.count == 0) return cudaSuccess;
  EcBatch b = batch;
  if (!b.g_table && b.curve < ec::kEcCurveCount) {
    // k G reads the curve's fixed-base table from device global memory (uploaded once).
    const void* dev = nullptr;
    const cudaError_t e = device_table(ec::base_table_host(b.curve),
                                       ec::base_table_words(ec::curve(b.curve).limbs) * sizeof(uint32_t), &dev);
    if (e != cudaSuccess) return e;
    b.g_table = static_cast<const uint32_t*>(dev);
  }
  const uint32_t blocks = (b.count + kThreadsPerBlock - 1) / kThreadsPerBlock;
  ec_batch_kernel<<<blocks, kThreadsPerBlock, 0, stream>>>(b);
  return cudaGetLastError();
}

}  // namespace gputls::kernels
