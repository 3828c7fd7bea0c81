// A stand-in for the CUDA backend in tests without a GPU: asynchronous (its
// own thread, like the real one), optionally slow, and able to fail batches
// as a device would. Echo is computed; key ops are never computed here, so a
// key-op batch that "succeeds" would be a bug: they always report device
// errors, which the engine must re-run on the CPU.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "gputls/engine/backend.h"

namespace gputls::engine::testing {

class FakeGpu final : public Backend {
 public:
  struct Options {
    std::chrono::microseconds delay{0};  // per batch
    uint32_t fail_batches = 0;           // the first N batches fail with kDeviceError
    bool take_keys = true;               // prepare_key succeeds
  };
  struct Counters {
    std::atomic<uint64_t> batches{0}, requests{0}, failed_batches{0};
  };

  FakeGpu(Options o, Counters* c) : o_(o), c_(c), fail_left_(o.fail_batches), worker_([this] { run(); }) {}
  ~FakeGpu() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }

  BackendKind kind() const override { return BackendKind::kCuda; }
  std::string description() const override { return "fake GPU (tests)"; }
  bool supports(Op, uint32_t) const override { return true; }
  Status prepare_key(KeyEntry& k) override {
    if (!o_.take_keys) return Status::kUnsupported;
    k.state[static_cast<size_t>(BackendKind::kCuda)] = std::make_unique<BackendKeyState>();
    return Status::kOk;
  }
  bool idle() const override { return busy_.load() == 0; }
  void launch(Batch* b) override {
    busy_.fetch_add(1);
    {
      std::lock_guard<std::mutex> lock(mu_);
      q_.push_back(b);
    }
    cv_.notify_one();
  }

 private:
  void run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || !q_.empty(); });
      if (q_.empty()) return;  // stop_ and drained
      Batch* b = q_.front();
      q_.pop_front();
      lock.unlock();
      if (o_.delay.count()) std::this_thread::sleep_for(o_.delay);
      bool fail = fail_left_ > 0 || b->op != Op::kEcho;
      if (fail_left_ > 0) --fail_left_;
      for (size_t i = 0; i < b->size(); ++i) {
        Request& r = *b->requests[i];
        if (!fail && r.in_len) std::memcpy(r.out, r.in, r.in_len);
        b->results[i] = fail ? Status::kDeviceError : Status::kOk;
      }
      c_->batches++;
      c_->requests += b->size();
      if (fail) c_->failed_batches++;
      b->finish();
      busy_.fetch_sub(1);
      lock.lock();
    }
  }

  const Options o_;
  Counters* c_;
  uint32_t fail_left_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch*> q_;
  bool stop_ = false;
  std::atomic<uint32_t> busy_{0};
  std::thread worker_;
};

}  // namespace gputls::engine::testing
