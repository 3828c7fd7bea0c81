// A stand-in for the CUDA backend in tests without a GPU: asynchronous (its
// own thread, like the real one), optionally slow, and able to fail batches
// as a device would. Echo is computed; other key ops are never computed here,
// so a key-op batch that "succeeds" would be a bug: they always report device
// errors, which the engine must re-run on the CPU. AES-GCM (aes_host_twin) is
// the exception: it stages the batch as the CUDA backend does (AesGcmStaging)
// and runs the kernels' host twin on per-key state built as the CUDA backend
// builds it, so GPU-less tests cover that path; it can fail part of a batch
// (fail_from).
#pragma once

#include <openssl/crypto.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "gputls/engine/backend.h"
#include "gputls/kernels/aes_gcm.h"
#include "../src/aes_gcm_staging.h"

namespace gputls::engine::testing {

class FakeGpu final : public Backend {
 public:
  struct Options {
    std::chrono::microseconds delay{0};  // per batch
    uint32_t fail_batches = 0;           // the first N batches fail with kDeviceError
    bool take_keys = true;               // prepare_key succeeds
    bool aes_host_twin = false;          // compute AES-GCM batches with the kernels' host twin
    uint32_t fail_from = UINT32_MAX;     // AES-GCM: requests from this index of a batch on fail (device died mid-batch)
    uint32_t max_record = UINT32_MAX;    // AES-GCM: accepts() refuses longer records
  };
  struct Counters {
    std::atomic<uint64_t> batches{0}, requests{0}, failed_batches{0};
    std::atomic<uint64_t> aes_computed{0}, aes_keys_wiped{0}, aes_keys_not_wiped{0};
  };

  // Per-key AES-GCM state as the CUDA backend keeps it (round keys, powers of
  // H); checks on destruction that the wipe left nothing behind.
  struct AesState final : BackendKeyState {
    explicit AesState(Counters* c) : c_(c) {}
    ~AesState() override {
      OPENSSL_cleanse(&key, sizeof key);
      const auto* p = reinterpret_cast<const volatile uint8_t*>(&key);
      uint8_t any = 0;
      for (size_t i = 0; i < sizeof key; ++i) any |= p[i];
      (any ? c_->aes_keys_not_wiped : c_->aes_keys_wiped)++;
    }
    kernels::AesGcmKey key;
    Counters* c_;
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
  bool accepts(const Request& r) const override { return r.in_len <= o_.max_record; }
  Status prepare_key(KeyEntry& k) override {
    if (!o_.take_keys) return Status::kUnsupported;
    if (k.type == KeyType::kAes && o_.aes_host_twin) {
      auto st = std::make_unique<AesState>(c_);
      if (!kernels::aes_gcm_key_init(st->key, k.aes.key.data(), k.aes.key.size())) return Status::kBadKey;
      k.state[static_cast<size_t>(BackendKind::kCuda)] = std::move(st);
      return Status::kOk;
    }
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
      const bool aes = o_.aes_host_twin && (b->op == Op::kAesGcmSeal || b->op == Op::kAesGcmOpen);
      bool fail = fail_left_ > 0 || (b->op != Op::kEcho && !aes);
      if (fail_left_ > 0) --fail_left_;
      if (aes && !fail) {
        run_aes(b);
        c_->batches++;
        c_->requests += b->size();
        b->finish();
        busy_.fetch_sub(1);
        lock.lock();
        continue;
      }
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

  // The batch staged exactly as the CUDA backend stages it (AesGcmStaging),
  // with host buffers standing in for device memory and the kernels' host
  // twin for the kernels; requests from fail_from on report device errors.
  void run_aes(Batch* b) {
    const size_t n = b->size();
    std::vector<kernels::AesGcmKey> keys(n);  // the "device" key table: one slot per record
    std::vector<uint32_t> slots(n);
    for (size_t i = 0; i < n; ++i) {
      keys[i] = static_cast<const AesState*>(b->keys[i]->state_for(BackendKind::kCuda))->key;
      slots[i] = static_cast<uint32_t>(i);
    }
    AesGcmStaging staging;
    staging.plan(*b);
    std::vector<uint8_t> h_in(staging.in_len()), d_in(staging.in_len()), d_out(staging.out_len(), 0xee),
        h_out(staging.copy_back_len());
    const kernels::AesGcmBatch kb = staging.fill(*b, slots, h_in.data(), d_in.data(), d_out.data(), keys.data());
    std::memcpy(d_in.data(), h_in.data(), h_in.size());  // "host to device"
    kernels::aes_gcm_batch_host(kb);
    std::memcpy(h_out.data(), d_out.data(), h_out.size());  // "device to host"
    staging.collect(*b, h_out.data());
    OPENSSL_cleanse(keys.data(), keys.size() * sizeof(kernels::AesGcmKey));
    for (size_t i = 0; i < n; ++i) {
      if (i >= o_.fail_from)
        b->results[i] = Status::kDeviceError;
      else
        c_->aes_computed++;
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
