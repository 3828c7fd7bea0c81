// The TCP stack's timers: a hashed timing wheel of 128 us ticks.
//
// The stack keeps at most one live entry per connection and lets superseded
// ones go stale (checked when they come due). In a binary heap every entry
// cost a push and a pop of log2(entries) sifts over an array that grew with
// the connection rate (about 1.2 s of connections: the SYN-ACK and data
// retransmission deadlines); here a push appends to its tick's bucket and a
// due bucket is walked once. An entry fires in the first expire() whose clock
// has reached its tick (at most one tick, 128 us, after its time, never
// before: retransmission timers are 200 ms and up); entries beyond the
// wheel's span (1.05 s, which holds the initial 1 s RTO) wait in the furthest
// bucket and are put back until their time comes (a two-minute idle timeout
// goes round about 115 times over its life).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace gputls::net {

class TimerWheel {
 public:
  struct Entry {
    uint64_t at;      // microseconds
    uint32_t slot, gen;  // the owner's, for its staleness check
  };
  static constexpr unsigned kTickShift = 7;  // 128 us a tick
  static constexpr size_t kBuckets = 8192;   // 1.05 s ahead

  explicit TimerWheel(uint64_t now_us = 0) : done_tick_(now_us >> kTickShift) {}

  void push(const Entry& e) {
    uint64_t tick = (e.at + (uint64_t(1) << kTickShift) - 1) >> kTickShift;  // first tick at or after `at`
    if (tick <= done_tick_) tick = done_tick_ + 1;
    if (tick > done_tick_ + kBuckets) tick = done_tick_ + kBuckets;
    buckets_[tick & (kBuckets - 1)].push_back(e);
    ++size_;
  }

  // Calls fire(entry) for every entry whose time is at or before now_us, in
  // tick order (after a gap longer than the wheel, in bucket order). fire may
  // push (a re-armed timer lands after the tick being walked).
  template <typename Fire>
  void expire(uint64_t now_us, Fire&& fire) {
    const uint64_t last = now_us >> kTickShift;
    if (last <= done_tick_) return;
    uint64_t tick = done_tick_ + 1;
    if (last - tick >= kBuckets) tick = last - kBuckets + 1;  // a long gap: every bucket once
    for (; tick <= last; ++tick) {
      std::vector<Entry>& b = buckets_[tick & (kBuckets - 1)];
      done_tick_ = tick;
      if (b.empty()) continue;
      walking_.swap(b);
      size_ -= walking_.size();
      for (const Entry& e : walking_) {
        if (e.at <= now_us) fire(e);
        else push(e);  // beyond the span when pushed: not yet
      }
      walking_.clear();
    }
  }

  size_t size() const { return size_; }

 private:
  std::array<std::vector<Entry>, kBuckets> buckets_;
  std::vector<Entry> walking_;
  uint64_t done_tick_;  // every tick up to this one has been walked
  size_t size_ = 0;
};

}  // namespace gputls::net
