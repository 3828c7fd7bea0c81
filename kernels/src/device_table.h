// Public precomputed tables (fixed-base multiples of a generator) copied to
// device global memory once per device and kept for the life of the process:
// the launchers pass their device address in the batch, so the kernel reads
// the very table the host twin reads. The copies are never freed (public
// data, under 250 KB per device); a cudaDeviceReset would invalidate them, and
// nothing in gputls resets a device.
#pragma once

#include <cuda_runtime_api.h>

#include "gputls/kernels/device_upload.h"

#include <cstddef>
#include <map>
#include <mutex>
#include <utility>

namespace gputls::kernels {

// The device copy of `bytes` bytes at `host` (a table with static storage
// duration) on the current device; uploaded on first use (a copy that has
// landed when this returns, once per table and device), then reused.
inline cudaError_t device_table(const void* host, size_t bytes, const void** out) {
  int dev = 0;
  cudaError_t e = cudaGetDevice(&dev);
  if (e != cudaSuccess) return e;
  static std::mutex mu;
  static std::map<std::pair<int, const void*>, void*> tables;
  std::lock_guard<std::mutex> lock(mu);
  const auto key = std::make_pair(dev, host);
  if (const auto it = tables.find(key); it != tables.end()) {
    *out = it->second;
    return cudaSuccess;
  }
  void* d = nullptr;
  if ((e = cudaMalloc(&d, bytes)) != cudaSuccess) return e;
  if ((e = upload_and_wait(d, host, bytes)) != cudaSuccess) {  // landed before any batch reads it
    cudaFree(d);
    return e;
  }
  tables.emplace(key, d);
  *out = d;
  return cudaSuccess;
}

}  // namespace gputls::kernels
