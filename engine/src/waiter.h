// A blocked caller of Engine::wait(). Lives on the caller's stack; the
// completing thread signals it after publishing the request's result.
#pragma once

#include <condition_variable>
#include <mutex>

namespace gputls::engine {

class alignas(8) Waiter {  // aligned: the low bit of its address marks "done" in Request
 public:
  void signal() {
    std::lock_guard<std::mutex> lock(mu_);
    signalled_ = true;
    cv_.notify_one();
  }
  void wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return signalled_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool signalled_ = false;
};

}  // namespace gputls::engine
