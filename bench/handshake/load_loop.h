// What both loads share while they run: the stop condition (duration or
// count), the first failure, the live progress line, and the CPU of the
// thread that drives them.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "live_histogram.h"
#include "runner.h"

namespace gputls::bench {

struct LoadState {
  explicit LoadState(const RunConfig& c) : cfg(c) {}
  const RunConfig& cfg;
  std::atomic<uint64_t> done{0};
  std::atomic<bool> stop{false};
  LiveHistogram latency;

  // One completed (verified, data exchanged) handshake.
  void completed(double ms) {
    latency.add(ms);
    const uint64_t total = done.fetch_add(1, std::memory_order_relaxed) + 1;
    if (cfg.count && total >= cfg.count) request_stop();
  }
  // Stops the workers and wakes the driving thread (it times the run).
  void request_stop() {
    stop.store(true, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mu_);
    wake_.notify_all();
  }
  // Sleeps up to `ms`, or until a stop is requested.
  void sleep_unless_stopped(int ms) {
    std::unique_lock<std::mutex> lock(mu_);
    wake_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping(); });
  }
  bool stopping() const { return stop.load(std::memory_order_relaxed); }
  // The first failure wins; every worker then stops.
  void fail(const std::string& e) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (error_.empty()) error_ = e;
    }
    request_stop();
  }
  std::string error() const {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::string error_;
};

// The warm-up before a measured run: two handshakes per thread, one
// connection each, no live line, at most --duration seconds (1 to 10).
inline RunConfig warmup_config(const RunConfig& cfg) {
  RunConfig w = cfg;
  w.concurrency = cfg.threads;
  w.count = static_cast<uint64_t>(2 * cfg.threads);
  w.time_limit_s = std::clamp(cfg.duration_s, 1.0, 10.0);
  w.progress = false;
  return w;
}

struct LoadTimes {
  double wall_s = 0;
  double process_cpu_s = 0;  // the whole process over the run
  double driver_cpu_s = 0;   // this (progress) thread's share of it
};

// Runs worker(i) for i in [0, cfg.threads) on their own threads and, on this
// one, stops them after the duration (or when the count is reached) and draws
// the live line when stdout is a terminal. `before_start` and after-join
// process CPU bracket the run.
LoadTimes drive_load(LoadState& st, const std::function<void(int)>& worker);

}  // namespace gputls::bench
