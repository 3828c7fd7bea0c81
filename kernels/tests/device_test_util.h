// What the kernels' `gpu` tests share: why there is no usable device (so a
// test skips and says so), and a device buffer that frees itself.
#pragma once

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <string>

namespace gputls::kernels::testing {

// Empty when a CUDA device is usable; otherwise what a skipped test prints.
inline std::string no_device_reason() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) return std::string("no usable GPU: ") + cudaGetErrorString(e);
  if (count == 0) return "no usable GPU: no CUDA device";
  return {};
}

// n elements of T in device memory (one spare byte, so n = 0 still allocates).
template <class T>
struct DeviceBuffer {
  explicit DeviceBuffer(size_t n) {
    EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(&p), n * sizeof(T) + 1), cudaSuccess);
  }
  ~DeviceBuffer() { cudaFree(p); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  T* p = nullptr;
};

}  // namespace gputls::kernels::testing
