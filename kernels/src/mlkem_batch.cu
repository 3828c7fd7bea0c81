#include "device_table.h"
#include "gputls/kernels/mlkem_launch.h"

namespace gputls::kernels {
namespace {

constexpr uint32_t kThreadsPerBlock = 64;

__global__ void __launch_bounds__(kThreadsPerBlock) mlkem_batch_kernel(MlkemBatch b) {
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < b.count) mlkem_batch_item(b, i);
}

}  // namespace

cudaError_t launch_mlkem_batch(const MlkemBatch& batch, cudaStream_t stream) {
  if (batch.count == 0) return cudaSuccess;
  // The kernel reads and writes requests a word at a time (mlkem.h): 8-byte
  // aligned buffers (cudaMalloc's are), strides multiples of 8 (mlkem_batch.h).
  if (reinterpret_cast<uintptr_t>(batch.in) % 8 != 0 || reinterpret_cast<uintptr_t>(batch.out) % 8 != 0)
    return cudaErrorInvalidValue;
  MlkemBatch b = batch;
  if (!b.tables) {  // the zeta tables in device global memory (uploaded once per device)
    const mlkem::Tables& host = mlkem::tables();
    const void* dev = nullptr;
    const cudaError_t e = device_table(&host, sizeof host, &dev);
    if (e != cudaSuccess) return e;
    b.tables = static_cast<const mlkem::Tables*>(dev);
  }
  const uint32_t blocks = (b.count + kThreadsPerBlock - 1) / kThreadsPerBlock;
  mlkem_batch_kernel<<<blocks, kThreadsPerBlock, 0, stream>>>(b);
  return cudaGetLastError();
}

}  // namespace gputls::kernels
