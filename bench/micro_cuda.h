// What the micro-benchmarks' kernel_gpu rows share (CUDA builds only): a GPU
// probe that skips the row with the reason, error checks that skip it with
// the failing call named, and device memory / stream+event holders freed on
// scope exit.
#pragma once

#include <benchmark/benchmark.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gputls::engine::bench {

// False (the row skipped with what failed) unless e is cudaSuccess.
inline bool cuda_ok(benchmark::State& state, cudaError_t e, const char* what) {
  if (e == cudaSuccess) return true;
  const std::string msg = std::string(what) + ": " + cudaGetErrorString(e);
  state.SkipWithError(msg.c_str());
  return false;
}

// False (the row skipped, saying why) without a usable CUDA device.
inline bool have_gpu(benchmark::State& state) {
  int devices = 0;
  const cudaError_t probe = cudaGetDeviceCount(&devices);
  if (probe == cudaSuccess && devices > 0) return true;
  const std::string msg =
      std::string("no usable GPU: ") + (probe != cudaSuccess ? cudaGetErrorString(probe) : "no CUDA device");
  state.SkipWithError(msg.c_str());
  return false;
}

// Device memory freed on scope exit; a zero-byte request still gets a
// (16-byte) allocation so kernels always receive a valid pointer.
struct DeviceBuffer {
  void* p = nullptr;
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() {
    if (p) cudaFree(p);
  }
  cudaError_t alloc(size_t bytes) { return cudaMalloc(&p, bytes ? bytes : 16); }
  cudaError_t put(const std::vector<uint8_t>& v) { return cudaMemcpy(p, v.data(), v.size(), cudaMemcpyHostToDevice); }
  template <class T>
  T* as() const {
    return static_cast<T*>(p);
  }
};

struct CudaStreamEvents {
  cudaStream_t stream = nullptr;
  cudaEvent_t start = nullptr, stop = nullptr;
  CudaStreamEvents() = default;
  CudaStreamEvents(const CudaStreamEvents&) = delete;
  CudaStreamEvents& operator=(const CudaStreamEvents&) = delete;
  ~CudaStreamEvents() {
    if (start) cudaEventDestroy(start);
    if (stop) cudaEventDestroy(stop);
    if (stream) cudaStreamDestroy(stream);
  }
};

// The timed loop of a kernel_gpu row: each iteration one launch of `count`
// operations on se.stream, timed by CUDA events (the row uses manual time);
// stops at the first CUDA error (the state then carries it).
template <class Launch>
void time_launches(benchmark::State& state, CudaStreamEvents& se, uint32_t count, Launch launch) {
  for (auto _ : state) {
    if (!cuda_ok(state, cudaEventRecord(se.start, se.stream), "cudaEventRecord") ||
        !cuda_ok(state, launch(), "launch") || !cuda_ok(state, cudaEventRecord(se.stop, se.stream), "cudaEventRecord") ||
        !cuda_ok(state, cudaStreamSynchronize(se.stream), "cudaStreamSynchronize"))
      break;
    float ms = 0;
    if (!cuda_ok(state, cudaEventElapsedTime(&ms, se.start, se.stop), "cudaEventElapsedTime")) break;
    state.SetIterationTime(static_cast<double>(ms) / 1e3);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * count));
}

}  // namespace gputls::engine::bench
