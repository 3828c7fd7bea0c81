// Engine statistics: lock-free counters updated on the hot path, exported as
// JSON on request.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

#include "gputls/engine/op.h"
#include "gputls/engine/status.h"

namespace gputls::engine {

// Why a request did not run where the policy wanted it.
enum class Fallback : uint8_t {
  kNoDevice = 0,     // policy gpu, but no usable GPU
  kUnsupported,      // the GPU backend has no kernel for this op / key size
  kKeyNotOnDevice,   // the GPU backend could not take this key at registration
  kDeviceError,      // the GPU failed the batch; the request was re-run on the CPU
  kRecordSize,       // AES-GCM record below GPUTLS_AES_GPU_MIN_BYTES or above the kernels' maximum
  kDeviceOut,        // the GPU is out of rotation after failing batches in a row (probed again later)
  kCount
};
std::string_view fallback_name(Fallback f);

// count / sum / max of a duration in nanoseconds.
struct DurationStat {
  std::atomic<uint64_t> count{0}, sum_ns{0}, max_ns{0};
  void add(uint64_t ns) { add_many(1, ns, ns); }
  // n durations at once (a batch's): one update of each counter instead of n,
  // since every atomic read-modify-write costs on the per-record path.
  void add_many(uint64_t n, uint64_t total_ns, uint64_t largest_ns) {
    if (n == 0) return;
    count.fetch_add(n, std::memory_order_relaxed);
    sum_ns.fetch_add(total_ns, std::memory_order_relaxed);
    uint64_t m = max_ns.load(std::memory_order_relaxed);
    while (largest_ns > m && !max_ns.compare_exchange_weak(m, largest_ns, std::memory_order_relaxed)) {
    }
  }
};

constexpr size_t kStatusCount = static_cast<size_t>(Status::kBadIvLength) + 1;

// Counters of one queue: one op at one key size.
struct OpStats {
  // Batch-size histogram bucket b holds sizes in (2^(b-1), 2^b]; bucket 0 is size 1.
  static constexpr size_t kHistBuckets = 17;
  static size_t bucket_of(size_t n) {
    size_t b = 0;
    while ((size_t{1} << b) < n && b + 1 < kHistBuckets) ++b;
    return b;
  }

  // Read them through counts(): submitted, completed, batches, batch_hist and
  // served hold queued requests only; a run_now() request is counted once,
  // in ran_now (a batch of one served by the CPU), since each atomic
  // read-modify-write is a measurable part of a small record's cost.
  std::atomic<uint64_t> submitted{0}, completed{0}, failed{0}, busy{0}, batches{0};
  std::atomic<uint64_t> ran_now{0}, ran_now_failed{0};
  std::array<std::atomic<uint64_t>, kHistBuckets> batch_hist{};
  std::array<std::atomic<uint64_t>, static_cast<size_t>(BackendKind::kCount)> served{};
  std::array<std::atomic<uint64_t>, static_cast<size_t>(Fallback::kCount)> fallbacks{};
  std::array<std::atomic<uint64_t>, kStatusCount> errors{};
  // Per queued request: queue_wait from submit() to launch, service from
  // launch to the batch's finish. run_now() requests are in neither.
  DurationStat queue_wait, service;

  void count_served(BackendKind k, uint64_t n = 1) {
    if (n) served[static_cast<size_t>(k)].fetch_add(n, std::memory_order_relaxed);
  }
  void count_fallback(Fallback f, uint64_t n = 1) {
    fallbacks[static_cast<size_t>(f)].fetch_add(n, std::memory_order_relaxed);
  }
  void count_error(Status s) { errors[static_cast<size_t>(s)].fetch_add(1, std::memory_order_relaxed); }

  // Every request, queued or run at once: what stats_json and tests report.
  struct Counts {
    uint64_t submitted, completed, failed, busy, batches;
    std::array<uint64_t, kHistBuckets> batch_hist;
    std::array<uint64_t, static_cast<size_t>(BackendKind::kCount)> served;
    std::array<uint64_t, static_cast<size_t>(Fallback::kCount)> fallbacks;
    std::array<uint64_t, kStatusCount> errors;
    uint64_t served_by(BackendKind k) const { return served[static_cast<size_t>(k)]; }
    uint64_t fallback(Fallback f) const { return fallbacks[static_cast<size_t>(f)]; }
  };
  Counts counts() const;
};

}  // namespace gputls::engine
