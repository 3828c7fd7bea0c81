// Shared set-up for engine tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "gputls/engine/cuda_backend.h"
#include "gputls/engine/engine.h"

namespace gputls::engine::testing {

inline Config cpu_config(uint32_t flushers = 1) {
  Config c;
  c.policy = Policy::kCpu;
  c.flusher_threads = flushers;
  c.quiet = true;
  return c;
}

inline std::unique_ptr<Engine> make_engine(const Config& c) {
  std::string err;
  auto e = Engine::create(c, &err);
  EXPECT_TRUE(e) << err;
  return e;
}

// Empty when the CUDA backend starts; otherwise why not (what a skipped test prints).
inline std::string no_gpu_reason() {
  std::string why;
  if (make_cuda_backend({}, &why)) return {};
  return "no usable GPU: " + why;
}

// A GPU-policy engine config whose CUDA backend fails its first
// `fail_batches` batches (the device-error path: those re-run on the CPU).
inline Config gpu_config(uint32_t batch_size, uint32_t fail_batches = 0) {
  Config c;
  c.policy = Policy::kGpu;
  c.quiet = true;
  c.batch_size = batch_size;
  c.gpu_backend_factory = [fail_batches] {
    CudaBackendOptions o;
    o.fail_batches = fail_batches;
    std::string why;
    return make_cuda_backend(o, &why);
  };
  return c;
}

// Sets up a request; buffers are the caller's.
inline void prepare(Request& r, Op op, KeyHandle key, const uint8_t* in, size_t in_len, uint8_t* out,
                    size_t out_len) {
  r.op = op;
  r.key = key;
  r.in = in;
  r.in_len = in_len;
  r.out = out;
  r.out_len = out_len;
}

}  // namespace gputls::engine::testing
