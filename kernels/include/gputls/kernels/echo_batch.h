// Echo batch: output = input for many requests in one launch. It carries no
// cryptography; it proves the engine's GPU path end to end (staging, copies,
// launch, completion) and sets the pattern every kernel follows:
//   batch struct -> GT_HD per-item body -> __global__ kernel -> launcher,
// with a host twin that loops the same body over the thread indices.
#pragma once

#include <cstdint>

#include "gputls/kernels/gt_hd.h"

namespace gputls::kernels {

// Requests packed back to back; item i occupies [offset[i], offset[i] + length[i])
// in both in and out.
struct EchoBatch {
  const uint8_t* in = nullptr;
  uint8_t* out = nullptr;
  const uint32_t* offset = nullptr;
  const uint32_t* length = nullptr;
  uint32_t count = 0;
};

// One item, one cooperating group of `lanes` threads, this thread being `lane`.
GT_HD void echo_item(const EchoBatch& b, uint32_t item, uint32_t lane, uint32_t lanes) {
  const uint32_t off = b.offset[item], len = b.length[item];
  for (uint32_t i = lane; i < len; i += lanes) b.out[off + i] = b.in[off + i];
}

// Host twin of the kernel: the same body over the same (block, thread) grid.
inline void echo_batch_host(const EchoBatch& b, uint32_t threads_per_item = 128) {
  for (uint32_t item = 0; item < b.count; ++item)
    for (uint32_t lane = 0; lane < threads_per_item; ++lane) echo_item(b, item, lane, threads_per_item);
}

}  // namespace gputls::kernels
