// Launcher of the AES-GCM batch kernels (CUDA builds only). Pointers in the
// batch (records, their buffers, chunk_start, keys, acc, status) are device
// pointers, or host memory the device can address (mapped pinned memory);
// asynchronous on `stream`: clears acc, runs pass 1 (CTR + GHASH shares,
// one thread per work item), pass 2 (tags, statuses, masked zeroing), and
// clears acc again (it held the tags).
#pragma once

#include <cuda_runtime_api.h>

#include "gputls/kernels/aes_gcm.h"

namespace gputls::kernels {

cudaError_t launch_aes_gcm_batch(const AesGcmBatch& batch, cudaStream_t stream);

}  // namespace gputls::kernels
