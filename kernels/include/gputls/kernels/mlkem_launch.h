// Launcher of the ML-KEM-768 batch kernel (CUDA builds only). Pointers in the
// batch are device pointers; asynchronous on `stream`.
#pragma once

#include <cuda_runtime_api.h>

#include "gputls/kernels/mlkem_batch.h"

namespace gputls::kernels {

cudaError_t launch_mlkem_batch(const MlkemBatch& batch, cudaStream_t stream);

}  // namespace gputls::kernels
