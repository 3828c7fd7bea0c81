// The CUDA backend. All CUDA runtime calls happen on the backend's own
// worker thread: never on a caller's thread (an OpenSSL ASYNC_JOB runs on a
// 32 KiB stack), and never before the engine is asked for a GPU.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "gputls/engine/backend.h"

namespace gputls::engine {

struct CudaBackendOptions {
  int device = 0;  // CUDA ordinal
  uint32_t streams = 2;  // batches in flight at once, each with its own staging buffers
  // Tests: fail the first fail_batches batches as if the device had faulted
  // (results kDeviceError), to prove the engine re-runs them on the CPU.
  uint32_t fail_batches = 0;
};

// nullptr with *why set when gputls was built without CUDA or no usable
// device exists ("CUDA driver version is insufficient ...", "no CUDA device").
std::unique_ptr<Backend> make_cuda_backend(const CudaBackendOptions& options, std::string* why);

// True when this build contains the CUDA backend.
bool cuda_compiled_in();

// The CUDA devices visible to this process (GPUTLS_CUDA_DEVICE=all): 0 with
// *why set when none is usable or gputls was built without CUDA.
int cuda_device_count(std::string* why);

}  // namespace gputls::engine
