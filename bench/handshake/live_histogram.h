// A lock-free latency histogram (log-linear buckets, about 6% wide) that
// worker threads add to and the progress line reads while a run goes on.
// The summary's percentiles come from the exact per-handshake samples.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstdint>

namespace gputls::bench {

class LiveHistogram {
 public:
  void add(double ms) {
    const double us = ms * 1000.0;
    buckets_[index(us <= 0 ? 0 : static_cast<uint64_t>(us))].fetch_add(1, std::memory_order_relaxed);
  }
  // The q-quantile in milliseconds (the middle of its bucket); 0 when empty.
  double quantile_ms(double q) const {
    uint64_t total = 0;
    for (const auto& b : buckets_) total += b.load(std::memory_order_relaxed);
    if (total == 0) return 0;
    const auto rank = static_cast<uint64_t>(q * static_cast<double>(total - 1)) + 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += buckets_[i].load(std::memory_order_relaxed);
      if (seen >= rank) return middle_us(i) / 1000.0;
    }
    return middle_us(kBuckets - 1) / 1000.0;
  }

 private:
  static constexpr size_t kSub = 16;  // sub-buckets per power of two
  static constexpr size_t kBuckets = 40 * kSub;
  static size_t index(uint64_t us) {
    if (us < kSub) return us;
    const int e = std::bit_width(us) - 1;  // >= 4
    const size_t i = static_cast<size_t>(e - 3) * kSub + ((us >> (e - 4)) & (kSub - 1));
    return i < kBuckets ? i : kBuckets - 1;
  }
  static double middle_us(size_t i) {
    if (i < kSub) return static_cast<double>(i) + 0.5;
    const int e = static_cast<int>(i / kSub) + 3;
    const double lo = static_cast<double>((kSub + i % kSub) << (e - 4));
    return lo + static_cast<double>(uint64_t{1} << (e - 4)) / 2;
  }
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
};

}  // namespace gputls::bench
