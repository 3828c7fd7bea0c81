// Whether a GPU is in rotation: a circuit breaker over its batch outcomes,
// one per device the engine drives.
//
// A device that keeps failing (a sticky CUDA error, a lost device) would
// otherwise get every batch, fail it, and have the engine recompute it
// serially on the CPU: the slowest of both worlds. After kTripAfter failed
// batches in a row the device leaves rotation and its batches go to the other
// devices, or to the CPU when none is left (counted as the
// `device_out_of_rotation` fallback). When its back-off has
// passed, one batch at a time probes it: success brings it back, failure
// doubles the back-off (up to kMaxBackoffNs).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace gputls::engine {

class DeviceRotation {
 public:
  static constexpr uint32_t kTripAfter = 3;
  static constexpr uint64_t kFirstBackoffNs = 100'000'000;  // 100 ms
  static constexpr uint64_t kMaxBackoffNs = 10'000'000'000;  // 10 s

  enum class Admit { kNo, kYes, kProbe };

  // Before sending a batch to the device: kNo while it is out of rotation,
  // kYes in rotation, kProbe for one batch at a time once the back-off passed
  // (a probe that ends up with no request is handed back by cancel_probe).
  Admit admit(uint64_t now_ns) {
    const uint64_t until = out_until_ns_.load(std::memory_order_acquire);
    if (until == 0) return Admit::kYes;
    if (now_ns < until) return Admit::kNo;
    bool expected = false;
    if (!probing_.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) return Admit::kNo;
    probes_.fetch_add(1, std::memory_order_relaxed);
    return Admit::kProbe;
  }
  void cancel_probe() { probing_.store(false, std::memory_order_release); }

  // After a device batch finished: `failed` when any of its requests got a
  // device error.
  void record(bool failed, uint64_t now_ns) {
    if (!failed) {
      failed_in_row_.store(0, std::memory_order_relaxed);
      backoff_ns_.store(kFirstBackoffNs, std::memory_order_relaxed);
      out_until_ns_.store(0, std::memory_order_release);
      probing_.store(false, std::memory_order_release);
      return;
    }
    const uint32_t n = failed_in_row_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (out_until_ns_.load(std::memory_order_acquire) != 0) {  // a probe (or a straggler) failed
      const uint64_t b = std::min(2 * backoff_ns_.load(std::memory_order_relaxed), kMaxBackoffNs);
      backoff_ns_.store(b, std::memory_order_relaxed);
      out_until_ns_.store(now_ns + b, std::memory_order_release);
      probing_.store(false, std::memory_order_release);
    } else if (n >= kTripAfter) {
      trips_.fetch_add(1, std::memory_order_relaxed);
      out_until_ns_.store(now_ns + backoff_ns_.load(std::memory_order_relaxed), std::memory_order_release);
    }
  }

  // Milliseconds until the next probe may go (0 in rotation or when due).
  uint64_t retry_in_ms() const {
    const uint64_t until = out_until_ns(), now = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
    return until > now ? (until - now) / 1'000'000 : 0;
  }

  bool in_rotation() const { return out_until_ns_.load(std::memory_order_acquire) == 0; }
  uint64_t out_until_ns() const { return out_until_ns_.load(std::memory_order_acquire); }
  uint32_t failed_in_row() const { return failed_in_row_.load(std::memory_order_relaxed); }
  uint64_t trips() const { return trips_.load(std::memory_order_relaxed); }
  uint64_t probes() const { return probes_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> out_until_ns_{0};  // 0: in rotation
  std::atomic<uint64_t> backoff_ns_{kFirstBackoffNs};
  std::atomic<uint32_t> failed_in_row_{0};
  std::atomic<bool> probing_{false};
  std::atomic<uint64_t> trips_{0}, probes_{0};
};

}  // namespace gputls::engine
