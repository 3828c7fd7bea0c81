// Launcher of the ECDH/ECDSA batch kernel (CUDA builds only). Pointers in the
// batch are device pointers; asynchronous on `stream`.
#pragma once

#include <cuda_runtime_api.h>

#include "gputls/kernels/ec_batch.h"

namespace gputls::kernels {

cudaError_t launch_ec_batch(const EcBatch& batch, cudaStream_t stream);

}  // namespace gputls::kernels
