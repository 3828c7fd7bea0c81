// Launcher of the echo kernel (CUDA builds only). Pointers in the batch are
// device pointers. Asynchronous on `stream`; returns the launch error.
#pragma once

#include <cuda_runtime_api.h>

#include "gputls/kernels/echo_batch.h"

namespace gputls::kernels {

cudaError_t launch_echo_batch(const EchoBatch& batch, cudaStream_t stream);

}  // namespace gputls::kernels
