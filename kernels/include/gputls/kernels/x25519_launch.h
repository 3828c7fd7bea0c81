// Launcher of the X25519 batch kernel (CUDA builds only). Pointers in the
// batch are device pointers; asynchronous on `stream`.
#pragma once

#include <cuda_runtime_api.h>

#include "gputls/kernels/x25519.h"

namespace gputls::kernels {

cudaError_t launch_x25519_batch(const X25519Batch& batch, cudaStream_t stream);

}  // namespace gputls::kernels
