// What every engine micro-benchmark shares: an engine configured for batch
// sweeps, and a main() that records which GPU (or why none) in the JSON context.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>

#include "gputls/engine/cuda_backend.h"
#include "gputls/engine/engine.h"

namespace gputls::engine::bench {

// An engine whose batches hold `batch` requests. A batch launches when its
// last request arrives or a caller blocks on an idle device; with
// `hold_batches` the deadline (100 ms) cannot split a batch while the
// benchmark is still submitting it, otherwise the engine's default applies.
inline std::unique_ptr<Engine> engine_for(Policy p, uint32_t batch, uint32_t flushers, bool hold_batches = true) {
  Config c;
  c.policy = p;
  c.batch_size = batch;
  c.flusher_threads = flushers;
  if (hold_batches) c.deadline_us = 100000;
  c.auto_min_batch = 1;
  c.queue_capacity = batch * 2;
  c.quiet = true;
  std::string err;
  return Engine::create(c, &err);
}

// main() of a micro-benchmark: `register_all` adds the benchmarks; the
// context names the GPU, or says why there is none.
inline int run_micro_benchmarks(int argc, char** argv, void (*register_all)()) {
  benchmark::Initialize(&argc, argv);
  std::string why;
  auto gpu = make_cuda_backend({}, &why);
  benchmark::AddCustomContext("gputls_gpu", gpu ? gpu->description() : "none (" + why + ")");
  gpu.reset();
  if (register_all) register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace gputls::engine::bench
