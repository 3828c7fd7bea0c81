// Launcher of the RSA / modexp batch kernel (CUDA builds only). Pointers in
// the batch are device pointers; asynchronous on `stream`.
#pragma once

#include <cuda_runtime_api.h>

#include "gputls/kernels/rsa_batch.h"

namespace gputls::kernels {

cudaError_t launch_rsa_batch(const RsaBatch& batch, cudaStream_t stream);

}  // namespace gputls::kernels
