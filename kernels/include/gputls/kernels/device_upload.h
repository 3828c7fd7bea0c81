// A host-to-device copy that has landed when it returns. cudaMemcpy from
// pageable memory returns once the bytes are staged, not once the DMA into
// device memory finished, and it runs on the legacy default stream, which
// the backends' non-blocking batch streams do not wait for: a batch launched
// right after a key's (or a table's) upload could read the slot before it
// landed. Synchronising the legacy stream after the copy closes that window:
// every batch launched afterwards, on any stream, sees the bytes.
// (Key registration and first-use table uploads are rare; the wait is a few
// microseconds on the thread that owns the CUDA calls.)
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

namespace gputls::kernels {

inline cudaError_t upload_and_wait(void* device_dst, const void* host_src, size_t bytes) {
  const cudaError_t e = cudaMemcpy(device_dst, host_src, bytes, cudaMemcpyHostToDevice);
  return e != cudaSuccess ? e : cudaStreamSynchronize(cudaStreamLegacy);
}

}  // namespace gputls::kernels
