// Bounded FIFO of pending requests for one (op, key size). A full queue
// refuses new requests (the caller gets kBusy) instead of blocking or growing.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "gputls/engine/op.h"
#include "gputls/engine/request.h"
#include "gputls/engine/stats.h"

namespace gputls::engine {

class RequestQueue {
 public:
  // flush_at: the depth that makes a full batch (Config::batch_size, or
  // Config::gpu_batch_size for a queue whose batches go to the GPU).
  RequestQueue(Op op, uint32_t bits, uint32_t capacity, uint32_t flush_at)
      : op_(op), bits_(bits), flush_at_(flush_at), ring_(capacity) {}

  Op op() const { return op_; }
  uint32_t bits() const { return bits_; }
  uint32_t flush_at() const { return flush_at_; }
  OpStats& stats() { return stats_; }

  // Returns false when full. *depth_after is the queue length after the push.
  bool push(Request* r, uint64_t now_ns, size_t* depth_after) {
    std::lock_guard<std::mutex> lock(mu_);
    if (count_ == ring_.size()) return false;
    if (count_ == 0) oldest_ns_ = now_ns;
    ring_[(head_ + count_) % ring_.size()] = r;
    *depth_after = ++count_;
    return true;
  }

  // Moves up to max requests, oldest first, into out.
  size_t pop(size_t max, std::vector<Request*>& out) {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = count_ < max ? count_ : max;
    for (size_t i = 0; i < n; ++i) {
      out.push_back(ring_[head_]);
      head_ = (head_ + 1) % ring_.size();
    }
    count_ -= n;
    oldest_ns_ = count_ ? ring_[head_]->enqueue_ns() : 0;
    return n;
  }

  size_t depth() const {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
  }
  // Enqueue time of the oldest request, 0 when empty.
  uint64_t oldest_ns() const {
    std::lock_guard<std::mutex> lock(mu_);
    return oldest_ns_;
  }

 private:
  const Op op_;
  const uint32_t bits_;
  const uint32_t flush_at_;
  mutable std::mutex mu_;
  std::vector<Request*> ring_;
  size_t head_ = 0, count_ = 0;
  uint64_t oldest_ns_ = 0;
  OpStats stats_;
};

}  // namespace gputls::engine
