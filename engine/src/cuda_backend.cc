// CUDA backend: device detection, pinned staging, several streams, batch
// launch and completion on one worker thread. Kernels come from kernels/.
#include "gputls/engine/cuda_backend.h"

#include <cuda_runtime_api.h>
#include <openssl/crypto.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "gputls/kernels/echo_launch.h"

namespace gputls::engine {
namespace {

// Staging for one batch in flight: pinned host buffers and device buffers of
// the same capacity, and the stream and event the batch runs on.
struct Slot {
  cudaStream_t stream = nullptr;
  cudaEvent_t done = nullptr;
  uint8_t *h_in = nullptr, *h_out = nullptr, *d_in = nullptr, *d_out = nullptr;
  size_t cap = 0;
  size_t data_off = 0, data_len = 0;  // where the batch's payload sits in the buffers
  Batch* batch = nullptr;
  cudaError_t launch_error = cudaSuccess;
};

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(const CudaBackendOptions& o) : opts_(o), fail_left_(o.fail_batches) {}

  // Starts the worker and waits for its device probe. Empty string: ready.
  std::string start() {
    std::promise<std::string> ready;
    auto probe = ready.get_future();
    worker_ = std::thread([this, &ready] { run(ready); });
    std::string why = probe.get();
    if (!why.empty()) worker_.join();
    return why;
  }

  ~CudaBackend() override {
    if (!worker_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }

  BackendKind kind() const override { return BackendKind::kCuda; }
  std::string description() const override { return desc_; }
  bool supports(Op op, uint32_t) const override { return op == Op::kEcho; }
  Status prepare_key(KeyEntry&) override { return Status::kUnsupported; }  // no key ops on the GPU yet
  bool idle() const override { return busy_.load() == 0; }

  void launch(Batch* b) override {
    busy_.fetch_add(1);
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_.push_back(b);
    }
    cv_.notify_one();
  }

 private:
  void run(std::promise<std::string>& ready) {
    std::string why = init();
    ready.set_value(why);
    if (!why.empty()) return;
    std::deque<Slot*> in_flight;
    for (;;) {
      std::unique_lock<std::mutex> lock(mu_);
      if (in_flight.empty())
        cv_.wait(lock, [this] { return stop_ || !pending_.empty(); });
      if (stop_ && pending_.empty() && in_flight.empty()) break;
      // Fill every free slot first, so copies and kernels of several batches overlap.
      while (!pending_.empty() && in_flight.size() < slots_.size()) {
        Batch* b = pending_.front();
        pending_.pop_front();
        Slot* s = free_slot();
        lock.unlock();
        if (start_batch(*s, b)) in_flight.push_back(s);
        lock.lock();
      }
      lock.unlock();
      if (!in_flight.empty()) {
        Slot* s = in_flight.front();
        in_flight.pop_front();
        finish_batch(*s);
      }
    }
    teardown();
  }

  std::string init() {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) return cudaGetErrorString(e);
    if (count == 0) return "no CUDA device";
    if (opts_.device < 0 || opts_.device >= count)
      return "GPUTLS_CUDA_DEVICE=" + std::to_string(opts_.device) + " but only " + std::to_string(count) +
             " device(s)";
    if ((e = cudaSetDevice(opts_.device)) != cudaSuccess) return cudaGetErrorString(e);
    cudaDeviceProp prop{};
    if ((e = cudaGetDeviceProperties(&prop, opts_.device)) != cudaSuccess) return cudaGetErrorString(e);
    desc_ = prop.name;
    slots_.resize(opts_.streams < 2 ? 2 : opts_.streams);
    for (Slot& s : slots_) {
      if ((e = cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking)) != cudaSuccess ||
          (e = cudaEventCreateWithFlags(&s.done, cudaEventDisableTiming)) != cudaSuccess) {
        teardown();
        return cudaGetErrorString(e);
      }
    }
    return "";
  }

  Slot* free_slot() {
    for (Slot& s : slots_)
      if (!s.batch) return &s;
    return nullptr;  // unreachable: callers check in_flight < slots
  }

  static void release_buffers(Slot& s) {
    if (s.h_in) OPENSSL_cleanse(s.h_in, s.cap);  // staged inputs may be secret
    if (s.h_out) OPENSSL_cleanse(s.h_out, s.cap);
    if (s.d_in) cudaMemset(s.d_in, 0, s.cap);
    if (s.d_out) cudaMemset(s.d_out, 0, s.cap);
    cudaFreeHost(s.h_in);
    cudaFreeHost(s.h_out);
    cudaFree(s.d_in);
    cudaFree(s.d_out);
    s.h_in = s.h_out = s.d_in = s.d_out = nullptr;
    s.cap = 0;
  }

  static cudaError_t reserve(Slot& s, size_t need) {
    if (need <= s.cap) return cudaSuccess;
    release_buffers(s);
    size_t cap = need < (1u << 20) ? (1u << 20) : need;
    cudaError_t e;
    if ((e = cudaHostAlloc(reinterpret_cast<void**>(&s.h_in), cap, cudaHostAllocDefault)) != cudaSuccess ||
        (e = cudaHostAlloc(reinterpret_cast<void**>(&s.h_out), cap, cudaHostAllocDefault)) != cudaSuccess ||
        (e = cudaMalloc(reinterpret_cast<void**>(&s.d_in), cap)) != cudaSuccess || (e = cudaMalloc(reinterpret_cast<void**>(&s.d_out), cap)) != cudaSuccess) {
      release_buffers(s);
      return e;
    }
    s.cap = cap;
    return cudaSuccess;
  }

  // Packs the batch into pinned memory and queues copy in, kernel, copy out
  // and an event on the slot's stream. False when it failed at once.
  bool start_batch(Slot& s, Batch* b) {
    s.batch = b;
    const uint32_t n = static_cast<uint32_t>(b->size());
    if (fail_left_ > 0) {
      --fail_left_;
      s.launch_error = cudaErrorLaunchFailure;  // injected fault
      finish_batch(s);
      return false;
    }
    size_t header = (size_t{n} * 2 * sizeof(uint32_t) + 15) & ~size_t{15};
    size_t data = 0;
    for (Request* r : b->requests) data += r->in_len;
    cudaError_t e = reserve(s, header + data);
    if (e == cudaSuccess) {
      auto* off = reinterpret_cast<uint32_t*>(s.h_in);
      uint32_t* len = off + n;
      size_t pos = 0;
      for (uint32_t i = 0; i < n; ++i) {
        const Request& r = *b->requests[i];
        off[i] = static_cast<uint32_t>(pos);
        len[i] = static_cast<uint32_t>(r.in_len);
        if (r.in_len) std::memcpy(s.h_in + header + pos, r.in, r.in_len);
        pos += r.in_len;
      }
      s.data_off = header;
      s.data_len = data;
      kernels::EchoBatch eb;
      eb.in = s.d_in + header;
      eb.out = s.d_out;
      eb.offset = reinterpret_cast<const uint32_t*>(s.d_in);
      eb.length = eb.offset + n;
      eb.count = n;
      if ((e = cudaMemcpyAsync(s.d_in, s.h_in, header + data, cudaMemcpyHostToDevice, s.stream)) == cudaSuccess &&
          (e = kernels::launch_echo_batch(eb, s.stream)) == cudaSuccess &&
          (e = cudaMemcpyAsync(s.h_out, s.d_out, data, cudaMemcpyDeviceToHost, s.stream)) == cudaSuccess)
        e = cudaEventRecord(s.done, s.stream);
    }
    s.launch_error = e;
    if (e != cudaSuccess) {
      finish_batch(s);
      return false;
    }
    return true;
  }

  void finish_batch(Slot& s) {
    Batch* b = s.batch;
    cudaError_t e = s.launch_error;
    if (e == cudaSuccess) e = cudaEventSynchronize(s.done);
    if (e == cudaSuccess) {
      size_t pos = 0;
      for (size_t i = 0; i < b->size(); ++i) {
        Request& r = *b->requests[i];
        if (r.in_len) std::memcpy(r.out, s.h_out + pos, r.in_len);
        pos += r.in_len;
        b->results[i] = Status::kOk;
      }
    } else {
      for (auto& res : b->results) res = Status::kDeviceError;
    }
    s.batch = nullptr;
    s.launch_error = cudaSuccess;
    b->finish();
    busy_.fetch_sub(1);
  }

  void teardown() {
    for (Slot& s : slots_) {
      release_buffers(s);
      if (s.done) cudaEventDestroy(s.done);
      if (s.stream) cudaStreamDestroy(s.stream);
      s.done = nullptr;
      s.stream = nullptr;
    }
  }

  const CudaBackendOptions opts_;
  uint32_t fail_left_;  // worker thread only
  std::string desc_;
  std::vector<Slot> slots_;  // worker thread only
  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch*> pending_;
  bool stop_ = false;
  std::atomic<uint32_t> busy_{0};
};

}  // namespace

bool cuda_compiled_in() { return true; }

std::unique_ptr<Backend> make_cuda_backend(const CudaBackendOptions& options, std::string* why) {
  auto b = std::make_unique<CudaBackend>(options);
  std::string err = b->start();
  if (!err.empty()) {
    *why = err;
    return nullptr;
  }
  return b;
}

}  // namespace gputls::engine
