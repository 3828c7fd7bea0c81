// The batching engine: per-(op, key size) bounded queues, a key table, a
// flush policy (batch size, deadline, idle device with a blocked caller) and
// backends (cpu, cuda, null) chosen by policy. It drives every GPU it is told
// to (Config::cuda_devices): keys live on each, and a batch goes to the
// device in rotation with the fewest requests in flight.
//
//   Engine::create(config) -> engine
//   engine->register_rsa_key(material, &handle)
//   Request r{...}; engine->submit(r); engine->wait(r)   // or poll(), eventfd, callback
//   engine->free_key(handle)
//
// Thread safety: every public method may be called from any thread of the
// process that created the engine. After fork() the child gets kWrongProcess
// from this engine and must use for_this_process() (CUDA contexts and threads
// do not survive fork).
#pragma once

#include <sys/types.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gputls/engine/backend.h"
#include "gputls/engine/config.h"
#include "gputls/engine/key.h"
#include "gputls/engine/key_table.h"
#include "gputls/engine/request.h"
#include "gputls/engine/stats.h"
#include "gputls/engine/status.h"

namespace gputls::engine {

class RequestQueue;
struct GpuDevice;
class SyncBackend;

class Engine {
 public:
  // Never fails for lack of a GPU: without one the engine runs on the CPU and
  // prints one notice line to stderr (unless config.quiet). Fails (nullptr,
  // *error set) only when the CPU backend itself cannot start.
  static std::unique_ptr<Engine> create(const Config& config, std::string* error);

  // The engine of the calling process, created on first use from *config
  // (or from the environment when config is null). A child after fork() gets
  // a fresh engine of its own; the parent's is abandoned in the child (its
  // threads do not exist there).
  static Engine* for_this_process(std::string* error, const Config* config = nullptr);
  // The same once it exists for this process, else nullptr: no lock, no
  // allocation (callers ask per record).
  static Engine* this_process();

  ~Engine();  // shutdown(), then frees everything
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  Status register_rsa_key(const RsaKeyMaterial& key, KeyHandle* out);
  Status register_x25519_key(const X25519KeyMaterial& key, KeyHandle* out);
  Status register_dh_key(const DhKeyMaterial& key, KeyHandle* out);
  // kBadKey for a curve other than P-256/P-384 or d outside [1, n-1].
  Status register_ec_key(const EcKeyMaterial& key, KeyHandle* out);
  // AES-128 / AES-256 for AES-GCM records; kBadKey for any other key length.
  Status register_aes_key(const AesKeyMaterial& key, KeyHandle* out);
  // Later submits with h get kStaleKey; requests already in flight finish
  // with the key, whose material is wiped when the last of them completes.
  Status free_key(KeyHandle h);

  // kOk: accepted, completion will be signalled. Anything else: rejected,
  // nothing will be signalled, r.status() stays pending.
  Status submit(Request& r);
  // Runs r at once on the calling thread with the CPU backend: no queue, no
  // thread handoff. For blocking callers when batching cannot pay (no GPU,
  // policy cpu). Same checks, key references and stats as submit(); returns
  // the final status (r is done, its completion signalled, when it returns).
  Status run_now(Request& r);

  // A registered AES key's fast path for the records run_now() would serve:
  // the key table lookup, the check of the op against the key and the
  // search for the (op, key size) queue that run_now() makes per request are
  // made once, here. A record is a few hundred instructions on the CPU, and
  // those steps were a quarter of what gputls added to OpenSSL's own cost.
  // The lane holds no key reference: it is valid while the caller keeps
  // `key` registered (not freed) and in this process.
  struct AeadLane {
    KeyEntry* entry = nullptr;
    RequestQueue* queue[2] = {};  // kAesGcmSeal, kAesGcmOpen
    // The CPU backend's function for the key's records and its argument.
    AeadRecordFn record = nullptr;
    void* record_state = nullptr;
    // Records below this size count a kRecordSize fallback, as run_now()
    // counts them (a GPU would take larger ones); 0 without a GPU or under
    // policy cpu. Fixed for the engine's life, so found once here.
    size_t fallback_below = 0;
    explicit operator bool() const { return entry != nullptr; }
  };
  // kOk and *lane set for a live AES key, else the status run_now would give.
  Status aead_lane(KeyHandle key, AeadLane* lane);
  // run_now() for an AES-GCM seal or open of the lane's key: the same checks
  // of the record, the same result, completion and counters.
  Status run_now(const AeadLane& lane, Request& r);
  // The same for a caller that needs only the status: one record (a's nonce,
  // AAD and tag; len bytes from in to out, which may be the same buffer)
  // with no Request to fill, complete and read back. Same checks, result
  // (a failed record's output wiped) and counters (ran_now, ran_now_failed,
  // failed and its error, the record-size fallback); nothing else to signal.
  Status run_record_now(const AeadLane& lane, bool seal, const AeadParams& a, const uint8_t* in, uint8_t* out,
                        size_t len);
  // True when run_now is the better choice for a blocking caller: nothing
  // could batch it onto a GPU.
  bool prefers_run_now() const {
    return config_.policy == Policy::kCpu || (devices_.empty() && config_.policy != Policy::kNull);
  }
  // The same for one request: also true, with a GPU, for an AES-GCM record
  // below aes_gpu_min_bytes (the CPU serves it anyway; queueing it would only
  // add a thread handoff and, under SSL_MODE_ASYNC, a paused job).
  bool prefers_run_now(Op op, size_t in_len) const {
    return prefers_run_now() || (config_.policy != Policy::kNull && is_aead(op) && in_len < config_.aes_gpu_min_bytes);
  }
  // Blocks until r is done and returns its status. Drives poll() itself when
  // the engine has no flusher threads.
  Status wait(Request& r);
  // Flushes every queue that is due (full, past its deadline, or any when
  // force), on the calling thread. Returns the number of batches launched.
  size_t poll(bool force = false);
  // Stops accepting requests, then completes every queued request and waits
  // for every batch in flight. Idempotent.
  void shutdown();

  // Stats as JSON: config, device, keys, and per (op, key size) counters.
  std::string stats_json() const;
  // Counters of one queue, nullptr if nothing was ever submitted to it.
  const OpStats* op_stats(Op op, uint32_t bits) const;

  bool gpu_available() const { return !devices_.empty(); }
  // GPUs the engine drives (those of Config::cuda_devices that started).
  size_t device_count() const { return devices_.size(); }
  // The GPU's name; with several, their count, names and ordinals; or "none (why)".
  std::string gpu_description() const;
  const Config& config() const { return config_; }

 private:
  explicit Engine(const Config& config);
  class Entering;
  struct Route;
  Status init(std::string* error);
  void start_devices();
  void start_cuda_devices();
  void add_device(int ordinal, std::unique_ptr<Backend> backend);
  Status register_key(std::unique_ptr<KeyEntry> entry, KeyHandle* out);
  Status validate(const Request& r, const KeyEntry* key) const;
  RequestQueue* queue_for(Op op, uint32_t bits);
  bool due(RequestQueue& q, uint64_t now_ns, bool force) const;
  Route choose_route(RequestQueue& q, size_t n);
  Route device_route(RequestQueue& q);
  GpuDevice* least_loaded_device(Op op, uint32_t bits, bool* probe);
  GpuDevice* device_holding(const KeyEntry& key, const RequestQueue& q, const GpuDevice& not_this) const;
  bool any_device_supports(Op op, uint32_t bits) const;
  bool any_device_idle() const;
  size_t flush(RequestQueue& q, bool force);
  Status admit(Request& r, RequestQueue** queue);
  Status reject(Status s);
  Status run_admitted_now(Request& r, RequestQueue& q, KeyEntry* entry);
  void launch(RequestQueue& q, std::vector<Request*>&& reqs);
  void split_for_device(RequestQueue& q, const GpuDevice& device, std::vector<Request*>& reqs,
                        std::vector<Request*>& cpu_reqs, std::vector<std::vector<Request*>>& elsewhere);
  void start_batch(RequestQueue& q, Backend& backend, GpuDevice* device, std::vector<Request*>&& reqs);
  // device: the GPU that ran b, nullptr for the CPU and null backends.
  void finish_batch(Batch* b, GpuDevice* device);
  // may_have_waiter: false only for run_now(), whose caller is not yet
  // waiting, so completion is a plain store instead of an exchange.
  void complete(Request& r, Status s, bool may_have_waiter);
  void flusher_loop();
  void wake_flusher();

  const Config config_;
  const pid_t owner_pid_;
  std::unique_ptr<SyncBackend> cpu_;
  std::unique_ptr<Backend> null_;
  // The GPUs, each with its backend and circuit breaker; devices_[i]->index == i.
  // Filled by init() and never changed after, so read without a lock.
  std::vector<std::unique_ptr<GpuDevice>> devices_;
  std::string no_gpu_reason_ = "not requested by the policy";
  std::unique_ptr<KeyTable> keys_;

  // Queues are created on first use and never removed until destruction;
  // readers scan queues_[0, queue_count_) without a lock.
  static constexpr size_t kMaxQueues = 64;
  std::mutex queues_mu_;
  std::array<std::unique_ptr<RequestQueue>, kMaxQueues> queues_;
  std::atomic<size_t> queue_count_{0};

  std::atomic<bool> accepting_{true};
  std::atomic<uint32_t> submitting_{0};  // callers inside submit(); shutdown waits them out
  std::mutex shutdown_mu_;
  std::atomic<uint64_t> queued_{0};      // requests in queues
  std::atomic<uint64_t> in_flight_{0};   // batches launched, not finished
  std::atomic<uint32_t> blocked_{0};     // callers inside wait()
  std::array<std::atomic<uint64_t>, kStatusCount> rejected_{};  // submit() refusals by status

  // Condition variables with waiters cannot be destroyed in a forked child
  // (glibc waits for the parent's waiters forever): they live on the heap so
  // ~Engine can abandon them there.
  struct Sync {
    std::mutex flusher_mu, drain_mu;
    std::condition_variable flusher_cv, drain_cv;
  };
  std::unique_ptr<Sync> sync_ = std::make_unique<Sync>();
  std::mutex& flusher_mu_ = sync_->flusher_mu;
  std::condition_variable& flusher_cv_ = sync_->flusher_cv;
  bool flusher_stop_ = false;
  bool flusher_kick_ = false;
  // Flushers asleep with nothing queued: only they need a submit()'s kick.
  // A flusher timing a deadline wakes by itself, no later than any request
  // queued after it went to sleep needs (deadlines only get later).
  std::atomic<uint32_t> flushers_untimed_{0};
  std::vector<std::thread> flushers_;

  std::mutex& drain_mu_ = sync_->drain_mu;
  std::condition_variable& drain_cv_ = sync_->drain_cv;  // signalled when in_flight_ drops to 0
};

}  // namespace gputls::engine
