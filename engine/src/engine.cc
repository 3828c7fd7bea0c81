#include "gputls/engine/engine.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>

#include "backends.h"
#include "gpu_device.h"
#include "gputls/engine/cuda_backend.h"
#include "request_queue.h"
#include "waiter.h"

namespace gputls::engine {
namespace {

// getpid() is a system call (glibc no longer caches it) and submit(), wait()
// and poll() check the process on every call: the pid is cached, and a
// pthread_atfork child handler refreshes it in a forked child.
std::atomic<pid_t> g_pid{0};
void refresh_pid() { g_pid.store(getpid(), std::memory_order_relaxed); }
pid_t current_pid() {
  static const bool registered = [] {
    refresh_pid();
    pthread_atfork(nullptr, nullptr, refresh_pid);
    return true;
  }();
  (void)registered;
  return g_pid.load(std::memory_order_relaxed);
}

uint64_t now_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

// An AES-GCM record: a 96-bit IV, a 16-byte tag, buffers where lengths say
// so, out as long as in and either the same buffer or not overlapping it
// (in-place is served, a shifted overlap is not); lengths below 2^30 (EVP
// takes int lengths).
Status validate_aead(const AeadParams* a, const uint8_t* in_p, size_t in_len, const uint8_t* out_p, size_t out_len) {
  if (!a) return Status::kInvalidArgument;
  if (a->nonce_len != 12) return Status::kBadIvLength;
  constexpr size_t kMax = size_t{1} << 30;
  if (!a->nonce || !a->tag || a->tag_len != 16 || (a->aad_len && !a->aad) || a->aad_len >= kMax ||
      in_len >= kMax || out_len != in_len || (in_len && (!in_p || !out_p)))
    return Status::kInvalidArgument;
  const auto in = reinterpret_cast<uintptr_t>(in_p), out = reinterpret_cast<uintptr_t>(out_p);
  if (in_len && in != out && in < out + in_len && out < in + in_len) return Status::kInvalidArgument;
  return Status::kOk;
}

Status validate_aead(const Request& r) { return validate_aead(r.aead, r.in, r.in_len, r.out, r.out_len); }

size_t expected_len(Op op, const KeyEntry* key) {
  switch (op) {
    case Op::kRsaPriv:
    case Op::kModExp: return (key->bits + 7) / 8;
    case Op::kX25519Derive: return 32;
    case Op::kEcKeygen: return 1 + 2 * size_t{key->bits / 8};  // 04 || X || Y
    case Op::kEcdhDerive: return 1 + 2 * size_t{key->bits / 8};  // the peer's 04 || X || Y
    case Op::kEcdsaVerify: return 1 + 64 + 2 * size_t{key->bits / 8};  // L || digest (padded to 64) || r || s
    default: return 0;
  }
}

// Why the named CUDA devices did not start, as one line: the reason alone
// when one device was asked for or all failed alike, else each device's.
std::string join_reasons(const std::vector<std::pair<int, std::string>>& failed) {
  bool alike = true;
  for (const auto& f : failed) alike &= f.second == failed[0].second;
  if (alike) return failed.empty() ? std::string() : failed[0].second;
  std::string all;
  for (const auto& [ordinal, why] : failed)
    all += (all.empty() ? "" : "; ") + std::string("device ") + std::to_string(ordinal) + ": " + why;
  return all;
}

}  // namespace

// Where a batch goes: a device's backend, the CPU or the null backend.
struct Engine::Route {
  Backend* backend;
  GpuDevice* device = nullptr;  // set when backend is a device's
  bool probe = false;           // the device admitted this batch to probe it after its back-off
  bool fallback = false;        // the policy wanted a GPU; the CPU serves, counted under why
  Fallback why = Fallback::kNoDevice;
};

Engine::Engine(const Config& config) : config_(config), owner_pid_(current_pid()) {}

std::unique_ptr<Engine> Engine::create(const Config& config, std::string* error) {
  std::unique_ptr<Engine> e(new Engine(config));
  if (e->init(error) != Status::kOk) return nullptr;
  return e;
}

Status Engine::init(std::string* error) {
  cpu_ = make_cpu_backend(error);
  if (!cpu_) return Status::kUnsupported;
  null_ = make_null_backend();
  start_devices();
  keys_ = std::make_unique<KeyTable>(config_.max_keys, nullptr);
  for (uint32_t i = 0; i < config_.flusher_threads; ++i) flushers_.emplace_back([this] { flusher_loop(); });
  return Status::kOk;
}

void Engine::start_devices() {
  if (!config_.gpu_backend_factories.empty()) {
    for (size_t i = 0; i < config_.gpu_backend_factories.size(); ++i)
      add_device(static_cast<int>(i), config_.gpu_backend_factories[i]());
  } else if (config_.gpu_backend_factory) {
    add_device(0, config_.gpu_backend_factory());
  } else if (config_.policy == Policy::kGpu || config_.policy == Policy::kAuto) {
    start_cuda_devices();
  }
}

// One CUDA backend per device named by GPUTLS_CUDA_DEVICE. A device that does
// not start is left out with a notice; the others serve.
void Engine::start_cuda_devices() {
  std::vector<int> ordinals = config_.cuda_devices;
  std::string why;
  if (config_.all_cuda_devices) {
    const int visible = cuda_device_count(&why);
    ordinals.clear();
    for (int i = 0; i < visible && i < static_cast<int>(kMaxDevices); ++i) ordinals.push_back(i);
    if (visible > static_cast<int>(kMaxDevices) && !config_.quiet)
      std::fprintf(stderr, "gputls: %d CUDA devices visible; driving the first %u\n", visible, kMaxDevices);
  }
  std::vector<std::pair<int, std::string>> failed;
  for (int ordinal : ordinals) {
    CudaBackendOptions opts;
    opts.device = ordinal;
    std::string device_why;
    if (auto b = make_cuda_backend(opts, &device_why))
      add_device(ordinal, std::move(b));
    else
      failed.emplace_back(ordinal, device_why);
  }
  if (!failed.empty()) why = join_reasons(failed);
  if (devices_.empty()) {
    no_gpu_reason_ = why;
    if (!config_.quiet) std::fprintf(stderr, "gputls: no usable GPU (%s); running on the CPU\n", why.c_str());
  } else if (!failed.empty() && !config_.quiet) {
    std::fprintf(stderr, "gputls: %zu of %zu GPUs not usable (%s); running on the other %zu\n", failed.size(),
                 ordinals.size(), why.c_str(), devices_.size());
  }
}

void Engine::add_device(int ordinal, std::unique_ptr<Backend> backend) {
  if (!backend || devices_.size() == kMaxDevices) return;
  const auto index = static_cast<uint32_t>(devices_.size());
  devices_.push_back(std::make_unique<GpuDevice>(index, ordinal, std::move(backend)));
}

Engine::~Engine() {
  if (current_pid() != owner_pid_) {
    // A forked child: the threads, and any CUDA context, belong to the parent.
    // Joining or freeing them here would hang or crash, so abandon them.
    new std::vector<std::thread>(std::move(flushers_));
    for (auto& d : devices_) (void)d.release();
    (void)keys_.release();
    (void)sync_.release();
    return;
  }
  shutdown();
  keys_.reset();  // before the backends: key state may hold backend resources
}

// ---------------------------------------------------------------- keys

Status Engine::register_key(std::unique_ptr<KeyEntry> entry, KeyHandle* out) {
  if (current_pid() != owner_pid_) return Status::kWrongProcess;
  if (!accepting_.load()) return Status::kShutdown;
  Status s = cpu_->prepare_key(*entry);  // validates the key and sets bits
  if (s != Status::kOk) return s;
  // On every device: a device that cannot take the key leaves its slot empty,
  // and the key's requests go to a device that holds it, or else to the CPU
  // (counted as kKeyNotOnDevice).
  for (auto& d : devices_) (void)d->backend->prepare_key(*entry);
  return keys_->insert(std::move(entry), out);
}

Status Engine::register_rsa_key(const RsaKeyMaterial& key, KeyHandle* out) {
  // Multi-prime keys and keys without CRT parameters are not served here:
  // the caller runs them on its own CPU path.
  if (key.prime_count != 2 || key.p.empty() || key.q.empty() || key.dp.empty() || key.dq.empty() ||
      key.qinv.empty())
    return Status::kUnsupported;
  auto e = std::make_unique<KeyEntry>();
  e->type = KeyType::kRsa;
  e->rsa = key;
  return register_key(std::move(e), out);
}

Status Engine::register_x25519_key(const X25519KeyMaterial& key, KeyHandle* out) {
  if (key.priv.size() != 32) return Status::kBadKey;
  auto e = std::make_unique<KeyEntry>();
  e->type = KeyType::kX25519;
  e->x25519 = key;
  return register_key(std::move(e), out);
}

Status Engine::register_dh_key(const DhKeyMaterial& key, KeyHandle* out) {
  if (key.p.empty() || key.priv.empty()) return Status::kBadKey;
  auto e = std::make_unique<KeyEntry>();
  e->type = KeyType::kDh;
  e->dh = key;
  return register_key(std::move(e), out);
}

Status Engine::register_ec_key(const EcKeyMaterial& key, KeyHandle* out) {
  if ((key.curve_bits != 256 && key.curve_bits != 384) || key.priv.empty()) return Status::kBadKey;
  auto e = std::make_unique<KeyEntry>();
  e->type = KeyType::kEc;
  e->ec = key;
  e->bits = key.curve_bits;  // the CPU backend checks 1 <= d < n
  return register_key(std::move(e), out);
}

Status Engine::register_aes_key(const AesKeyMaterial& key, KeyHandle* out) {
  if (key.key.size() != 16 && key.key.size() != 32) return Status::kBadKey;
  auto e = std::make_unique<KeyEntry>();
  e->type = KeyType::kAes;
  e->aes = key;
  e->bits = static_cast<uint32_t>(key.key.size() * 8);
  return register_key(std::move(e), out);
}

Status Engine::free_key(KeyHandle h) {
  if (current_pid() != owner_pid_) return Status::kWrongProcess;
  return keys_->free_key(h);
}

// ---------------------------------------------------------------- submit

Status Engine::validate(const Request& r, const KeyEntry* key) const {
  if (r.op == Op::kEcho) {
    if (r.in_len && (!r.in || !r.out || r.out_len < r.in_len)) return Status::kInvalidArgument;
    return Status::kOk;
  }
  if (r.op == Op::kX25519Keygen) return r.out && r.out_len == 32 ? Status::kOk : Status::kInvalidArgument;
  if (is_mlkem(r.op)) {
    return r.in && r.out && r.in_len == mlkem_in_len(r.op) && r.out_len == mlkem_out_len(r.op)
               ? Status::kOk
               : Status::kInvalidArgument;
  }
  if (is_aead(r.op)) return validate_aead(r);
  if (r.op == Op::kEcKeygen)
    return r.out && r.out_len == expected_len(r.op, key) ? Status::kOk : Status::kInvalidArgument;
  if (r.op == Op::kEcdhDerive) {
    // Uncompressed points only (04 || X || Y); the backend validates the point.
    if (!r.in || !r.out || r.in_len != expected_len(r.op, key) || r.in[0] != 0x04 || r.out_len != key->bits / 8)
      return Status::kInvalidArgument;
    return Status::kOk;
  }
  if (r.op == Op::kEcdsaSign) {
    if (!r.in || !r.out || r.in_len < 1 || r.in_len > 64 || r.out_len != 2 * size_t{key->bits / 8})
      return Status::kInvalidArgument;
    return Status::kOk;
  }
  if (r.op == Op::kEcdsaVerify) {
    if (!r.in || !r.out || r.in_len != expected_len(r.op, key) || r.in[0] < 1 || r.in[0] > 64 || r.out_len != 1)
      return Status::kInvalidArgument;
    return Status::kOk;
  }
  size_t n = expected_len(r.op, key);
  if (!r.in || !r.out || r.in_len != n || r.out_len != n) return Status::kInvalidArgument;
  return Status::kOk;
}

RequestQueue* Engine::queue_for(Op op, uint32_t bits) {
  size_t n = queue_count_.load(std::memory_order_acquire);
  for (size_t i = 0; i < n; ++i)
    if (queues_[i]->op() == op && queues_[i]->bits() == bits) return queues_[i].get();
  std::lock_guard<std::mutex> lock(queues_mu_);
  n = queue_count_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < n; ++i)
    if (queues_[i]->op() == op && queues_[i]->bits() == bits) return queues_[i].get();
  if (n == kMaxQueues) return nullptr;
  // A queue the GPU serves flushes at the GPU's batch size: one thread per
  // request, a batch of 64 fills half an SM for the kernel's whole latency.
  const bool to_gpu =
      (config_.policy == Policy::kGpu || config_.policy == Policy::kAuto) && any_device_supports(op, bits);
  // A full queue is always a full batch (a capacity below the batch size
  // would otherwise leave it to the deadline).
  const uint32_t flush_at = std::min(to_gpu ? config_.gpu_batch_size : config_.batch_size, config_.queue_capacity);
  queues_[n] = std::make_unique<RequestQueue>(op, bits, config_.queue_capacity, flush_at);
  queue_count_.store(n + 1, std::memory_order_release);
  return queues_[n].get();
}

// Checks r and takes its key reference; on success r is ready to queue or run.
Status Engine::reject(Status s) {
  rejected_[static_cast<size_t>(s)].fetch_add(1, std::memory_order_relaxed);
  return s;
}

Status Engine::admit(Request& r, RequestQueue** queue) {
  if (r.op >= Op::kCount) return reject(Status::kInvalidArgument);
  if (!accepting_.load()) return reject(Status::kShutdown);
  KeyEntry* entry = nullptr;
  const KeyType kt = op_key_type(r.op);
  if (kt != KeyType::kNone) {
    Status s = keys_->acquire(r.key, &entry);
    if (s != Status::kOk) return reject(s);
    if (entry->type != kt) {
      keys_->release(r.key);
      return reject(Status::kInvalidArgument);
    }
  }
  Status s = validate(r, entry);
  RequestQueue* q = s == Status::kOk ? queue_for(r.op, entry ? entry->bits : 0) : nullptr;
  if (s == Status::kOk && !q) s = Status::kUnsupported;
  if (s != Status::kOk) {
    if (entry) keys_->release(r.key);
    return reject(s);
  }
  r.state_.store(0, std::memory_order_relaxed);
  r.entry_ = entry;
  r.queue_ = q;
  r.served_by = BackendKind::kNone;
  *queue = q;
  return Status::kOk;
}

// Marks a caller inside submit()/run_now(): shutdown() waits such callers
// out after it stops accepting, so no request slips in behind the drain.
class Engine::Entering {
 public:
  explicit Entering(std::atomic<uint32_t>& c) : c_(c) { c_.fetch_add(1); }
  ~Entering() { c_.fetch_sub(1); }
  Entering(const Entering&) = delete;
  Entering& operator=(const Entering&) = delete;

 private:
  std::atomic<uint32_t>& c_;
};

Status Engine::submit(Request& r) {
  if (current_pid() != owner_pid_) return Status::kWrongProcess;
  Entering entering(submitting_);
  RequestQueue* q = nullptr;
  if (Status s = admit(r, &q); s != Status::kOk) return s;
  r.enqueue_ns_ = now_ns();
  size_t depth = 0;
  if (!q->push(&r, r.enqueue_ns_, &depth)) {
    if (r.entry_) keys_->release(r.key);
    q->stats().busy.fetch_add(1, std::memory_order_relaxed);
    rejected_[static_cast<size_t>(Status::kBusy)].fetch_add(1, std::memory_order_relaxed);
    return Status::kBusy;
  }
  q->stats().submitted.fetch_add(1, std::memory_order_relaxed);
  queued_.fetch_add(1);
  // Wake a flusher for a full batch, or for a first request when it sleeps
  // with nothing to time (otherwise it is already timing an earlier deadline:
  // a kick then only makes it look and sleep again, and costs this caller a
  // futex wake per request).
  if (!flushers_.empty() && (depth >= q->flush_at() || flushers_untimed_.load() != 0)) wake_flusher();
  return Status::kOk;
}

Status Engine::run_now(Request& r) {
  if (current_pid() != owner_pid_) return Status::kWrongProcess;
  Entering entering(submitting_);
  RequestQueue* q = nullptr;
  if (Status s = admit(r, &q); s != Status::kOk) return s;
  return run_admitted_now(r, *q, r.entry_);
}

Status Engine::aead_lane(KeyHandle key, AeadLane* lane) {
  if (current_pid() != owner_pid_) return Status::kWrongProcess;
  *lane = AeadLane{};
  KeyEntry* entry = nullptr;
  if (Status s = keys_->acquire(key, &entry); s != Status::kOk) return s;
  Status s = entry->type == KeyType::kAes ? Status::kOk : Status::kInvalidArgument;
  RequestQueue* seal = s == Status::kOk ? queue_for(Op::kAesGcmSeal, entry->bits) : nullptr;
  RequestQueue* open = s == Status::kOk ? queue_for(Op::kAesGcmOpen, entry->bits) : nullptr;
  if (s == Status::kOk && (!seal || !open)) s = Status::kUnsupported;
  void* state = nullptr;
  const AeadRecordFn record = s == Status::kOk ? cpu_->aead_record_fn(*entry, &state) : nullptr;
  if (s == Status::kOk && !record) s = Status::kUnsupported;
  const bool gpu_would_take = !devices_.empty() && config_.policy != Policy::kCpu;  // run_admitted_now's test
  if (s == Status::kOk)
    *lane = AeadLane{entry, {seal, open}, record, state, gpu_would_take ? size_t{config_.aes_gpu_min_bytes} : 0};
  keys_->release(key);  // the caller's registration keeps the entry alive
  return s;
}

Status Engine::run_now(const AeadLane& lane, Request& r) {
  if (current_pid() != owner_pid_) return Status::kWrongProcess;
  Entering entering(submitting_);
  if (!lane || !is_aead(r.op)) return reject(Status::kInvalidArgument);
  if (!accepting_.load()) return reject(Status::kShutdown);
  if (Status s = validate_aead(r); s != Status::kOk) return reject(s);
  RequestQueue& q = *lane.queue[r.op == Op::kAesGcmOpen ? 1 : 0];
  r.state_.store(0, std::memory_order_relaxed);
  r.entry_ = nullptr;  // no reference taken, none to release at completion
  r.queue_ = &q;
  r.served_by = BackendKind::kNone;
  return run_admitted_now(r, q, lane.entry);
}

Status Engine::run_record_now(const AeadLane& lane, bool seal, const AeadParams& a, const uint8_t* in, uint8_t* out,
                              size_t len) {
  if (current_pid() != owner_pid_) return Status::kWrongProcess;
  Entering entering(submitting_);
  if (!lane) return reject(Status::kInvalidArgument);
  if (!accepting_.load()) return reject(Status::kShutdown);
  if (Status s = validate_aead(&a, in, len, out, len); s != Status::kOk) return reject(s);
  OpStats& st = lane.queue[seal ? 0 : 1]->stats();
  if (len < lane.fallback_below) st.count_fallback(Fallback::kRecordSize);
  const Status s = lane.record(lane.record_state, seal, a, in, out, len);
  st.ran_now.fetch_add(1, std::memory_order_relaxed);
  if (s != Status::kOk) {  // as run_admitted_now() and complete() count and wipe a failed one
    st.ran_now_failed.fetch_add(1, std::memory_order_relaxed);
    st.failed.fetch_add(1, std::memory_order_relaxed);
    st.count_error(s);
    if (len) OPENSSL_cleanse(out, len);
  }
  return s;
}

// One request on the CPU backend right here: no queue, no Batch, no
// allocation, no clock read (two would be a quarter of what a small AES-GCM
// record adds to OpenSSL's own cost). Counted once, in ran_now
// (OpStats::counts() reads it as a batch of one served by the CPU); not in
// queue_wait or service.
Status Engine::run_admitted_now(Request& r, RequestQueue& q, KeyEntry* entry) {
  OpStats& st = q.stats();
  // A record the GPU would have taken but for its size: counted as launch()
  // counts the small records of a queued batch.
  if (!devices_.empty() && config_.policy != Policy::kCpu && is_aead(r.op) && r.in_len < config_.aes_gpu_min_bytes)
    st.count_fallback(Fallback::kRecordSize);
  const Status s = cpu_->run_one(q.op(), entry, r);
  r.served_by = BackendKind::kCpu;
  st.ran_now.fetch_add(1, std::memory_order_relaxed);
  if (s != Status::kOk) st.ran_now_failed.fetch_add(1, std::memory_order_relaxed);
  complete(r, s, /*may_have_waiter=*/false);
  return s;
}

// ---------------------------------------------------------------- flush

bool Engine::due(RequestQueue& q, uint64_t now, bool force) const {
  size_t depth = q.depth();
  if (depth == 0) return false;
  if (force || depth >= q.flush_at()) return true;
  uint64_t oldest = q.oldest_ns();
  if (oldest && now - oldest >= uint64_t{config_.deadline_us} * 1000) return true;
  // A blocked caller and an idle device: waiting longer only adds latency.
  return blocked_.load(std::memory_order_relaxed) > 0 && any_device_idle();
}

// True without devices too: nothing on a GPU is worth waiting for.
bool Engine::any_device_idle() const {
  for (const auto& d : devices_)
    if (d->backend->idle()) return true;
  return devices_.empty();
}

bool Engine::any_device_supports(Op op, uint32_t bits) const {
  for (const auto& d : devices_)
    if (d->backend->supports(op, bits)) return true;
  return false;
}

size_t Engine::poll(bool force) {
  if (current_pid() != owner_pid_) return 0;
  size_t launched = 0;
  const size_t n = queue_count_.load(std::memory_order_acquire);
  for (size_t i = 0; i < n; ++i) launched += flush(*queues_[i], force);
  return launched;
}

size_t Engine::flush(RequestQueue& q, bool force) {
  size_t launched = 0;
  while (due(q, now_ns(), force)) {
    std::vector<Request*> reqs;
    reqs.reserve(q.flush_at());
    size_t n = q.pop(q.flush_at(), reqs);
    if (n == 0) break;
    queued_.fetch_sub(n);
    launch(q, std::move(reqs));
    ++launched;
  }
  return launched;
}

Engine::Route Engine::choose_route(RequestQueue& q, size_t n) {
  const auto cpu_for = [this](Fallback why) { return Route{cpu_.get(), nullptr, false, true, why}; };
  switch (config_.policy) {
    case Policy::kNull: return {null_.get()};
    case Policy::kCpu: return {cpu_.get()};
    case Policy::kAuto:
      if (n < config_.auto_min_batch || !any_device_supports(q.op(), q.bits())) return {cpu_.get()};
      return device_route(q);
    case Policy::kGpu:
      if (devices_.empty()) return cpu_for(Fallback::kNoDevice);
      if (!any_device_supports(q.op(), q.bits())) return cpu_for(Fallback::kUnsupported);
      return device_route(q);
  }
  return {cpu_.get()};
}

// The least loaded device that admits the batch; when every device is out of
// rotation after failing batches in a row, the CPU (and one batch at a time
// probes a device once its back-off passed).
Engine::Route Engine::device_route(RequestQueue& q) {
  bool probe = false;
  if (GpuDevice* d = least_loaded_device(q.op(), q.bits(), &probe)) return {d->backend.get(), d, probe};
  return {cpu_.get(), nullptr, false, true, Fallback::kDeviceOut};
}

// Queue depth decides: of the devices serving (op, bits), the one with the
// fewest requests in flight that admits a batch. Admission is asked in that
// order and only until one says yes, since a device due for a probe takes
// the batch as its probe.
namespace {
// Of the devices `take` accepts, the one with the fewest requests in flight.
template <class Take>
GpuDevice* least_loaded(const std::vector<std::unique_ptr<GpuDevice>>& devices, Take take) {
  GpuDevice* best = nullptr;
  for (const auto& d : devices)
    if (take(*d) && (!best || d->in_flight() < best->in_flight())) best = d.get();
  return best;
}
}  // namespace

GpuDevice* Engine::least_loaded_device(Op op, uint32_t bits, bool* probe) {
  static_assert(kMaxDevices <= 32, "refused devices are a bit mask");
  uint32_t refused = 0;
  const uint64_t now = now_ns();
  for (;;) {
    GpuDevice* best = least_loaded(devices_, [&](const GpuDevice& d) {
      return !((refused >> d.index) & 1) && d.backend->supports(op, bits);
    });
    if (!best) return nullptr;
    const DeviceRotation::Admit a = best->rotation.admit(now);
    if (a != DeviceRotation::Admit::kNo) {
      *probe = a == DeviceRotation::Admit::kProbe;
      return best;
    }
    refused |= 1u << best->index;
  }
}

// Another device in rotation that serves q and holds the key, the least
// loaded of them; nullptr when none does.
GpuDevice* Engine::device_holding(const KeyEntry& key, const RequestQueue& q, const GpuDevice& not_this) const {
  return least_loaded(devices_, [&](const GpuDevice& d) {
    return &d != &not_this && d.holds(key) && d.rotation.in_rotation() && d.backend->supports(q.op(), q.bits());
  });
}

void Engine::launch(RequestQueue& q, std::vector<Request*>&& reqs) {
  const uint64_t t = now_ns();
  uint64_t wait_sum = 0, wait_max = 0;
  for (Request* r : reqs) {
    const uint64_t w = t - r->enqueue_ns_;
    wait_sum += w;
    wait_max = w > wait_max ? w : wait_max;
  }
  q.stats().queue_wait.add_many(reqs.size(), wait_sum, wait_max);

  const Route route = choose_route(q, reqs.size());
  if (route.fallback) q.stats().count_fallback(route.why, reqs.size());

  std::vector<Request*> cpu_reqs;
  std::vector<std::vector<Request*>> elsewhere;  // by device index
  // Keyless ops (echo, ML-KEM) go wherever the batch goes.
  if (route.device && op_key_type(q.op()) != KeyType::kNone) split_for_device(q, *route.device, reqs, cpu_reqs, elsewhere);
  if (route.probe && reqs.empty()) route.device->rotation.cancel_probe();  // nothing went to the device to probe it
  start_batch(q, *cpu_, nullptr, std::move(cpu_reqs));
  for (size_t i = 0; i < elsewhere.size(); ++i)
    start_batch(q, *devices_[i]->backend, devices_[i].get(), std::move(elsewhere[i]));
  start_batch(q, *route.backend, route.device, std::move(reqs));
}

// Keeps in reqs what `device` serves. A request whose key the device could
// not take goes to another device in rotation that holds it (elsewhere, by
// device index), or else to the CPU; AES-GCM records too small to pay for the
// copies (or too large for the kernels) go to the CPU. Both CPU batches are
// counted as fallbacks, by reason.
void Engine::split_for_device(RequestQueue& q, const GpuDevice& device, std::vector<Request*>& reqs,
                              std::vector<Request*>& cpu_reqs, std::vector<std::vector<Request*>>& elsewhere) {
  const bool aead = is_aead(q.op());
  size_t kept = 0, no_key = 0, sized = 0;
  for (Request* r : reqs) {
    const GpuDevice* to = device.holds(*r->entry_) ? &device : device_holding(*r->entry_, q, device);
    if (!to) {
      ++no_key;
      cpu_reqs.push_back(r);
    } else if (aead && (r->in_len < config_.aes_gpu_min_bytes || !to->backend->accepts(*r))) {
      ++sized;
      cpu_reqs.push_back(r);
    } else if (to == &device) {
      reqs[kept++] = r;
    } else {
      elsewhere.resize(devices_.size());
      elsewhere[to->index].push_back(r);
    }
  }
  reqs.resize(kept);
  if (no_key) q.stats().count_fallback(Fallback::kKeyNotOnDevice, no_key);
  if (sized) q.stats().count_fallback(Fallback::kRecordSize, sized);
}

void Engine::start_batch(RequestQueue& q, Backend& backend, GpuDevice* device, std::vector<Request*>&& reqs) {
  if (reqs.empty()) return;
  auto* b = new Batch;
  b->op = q.op();
  b->bits = q.bits();
  b->requests = std::move(reqs);
  b->keys.reserve(b->requests.size());
  for (Request* r : b->requests) b->keys.push_back(r->entry_);
  b->results.assign(b->requests.size(), Status::kPending);
  b->backend = backend.kind();
  b->launch_ns = now_ns();
  b->on_finish = [this, device](Batch* done) { finish_batch(done, device); };
  q.stats().batches.fetch_add(1, std::memory_order_relaxed);
  q.stats().batch_hist[OpStats::bucket_of(b->size())].fetch_add(1, std::memory_order_relaxed);
  in_flight_.fetch_add(1);
  if (device) device->requests_in_flight.fetch_add(b->size(), std::memory_order_relaxed);
  backend.launch(b);
}

void Engine::finish_batch(Batch* b, GpuDevice* device) {
  RequestQueue& q = *b->requests[0]->queue_;
  OpStats& st = q.stats();
  const uint64_t service = now_ns() - b->launch_ns;
  st.service.add_many(b->size(), service * b->size(), service);

  // Device errors: re-run those requests on the CPU, never fail them
  // outright, and count the batch against the device that failed it.
  if (device) {
    bool device_failed = false;
    for (Status s : b->results) device_failed |= s == Status::kDeviceError;
    device->rotation.record(device_failed, now_ns());
  }
  if (b->backend != BackendKind::kCpu) {
    uint64_t rerun = 0;
    for (size_t i = 0; i < b->size(); ++i) {
      if (b->results[i] != Status::kDeviceError) continue;
      b->results[i] = cpu_->run_one(b->op, b->keys[i], *b->requests[i]);
      b->requests[i]->served_by = BackendKind::kCpu;
      ++rerun;
    }
    if (rerun) {
      st.count_fallback(Fallback::kDeviceError, rerun);
      st.count_served(BackendKind::kCpu, rerun);
    }
  }

  // Counters once per batch (per-record atomics are a measurable share of a
  // small record's cost), and before any request is published, so a woken
  // caller sees them.
  uint64_t here = 0, ok = 0;
  for (size_t i = 0; i < b->size(); ++i) {
    Request& r = *b->requests[i];
    if (r.served_by == BackendKind::kNone) {
      r.served_by = b->backend;
      ++here;
    }
    if (b->results[i] == Status::kOk) ++ok;
  }
  st.count_served(b->backend, here);
  if (ok) st.completed.fetch_add(ok, std::memory_order_relaxed);
  if (device) {
    device->batches.fetch_add(1, std::memory_order_relaxed);
    device->requests_served.fetch_add(here, std::memory_order_relaxed);
    device->requests_in_flight.fetch_sub(b->size(), std::memory_order_relaxed);
  }
  for (size_t i = 0; i < b->size(); ++i) complete(*b->requests[i], b->results[i], /*may_have_waiter=*/true);
  delete b;

  if (in_flight_.fetch_sub(1) == 1) {
    std::lock_guard<std::mutex> lock(drain_mu_);
    drain_cv_.notify_all();
  }
  // The device went idle with callers blocked: let a flusher send them now.
  if (!flushers_.empty() && blocked_.load() > 0 && queued_.load() > 0) wake_flusher();
}

void Engine::complete(Request& r, Status s, bool may_have_waiter) {
  RequestQueue& q = *r.queue_;
  if (s != Status::kOk) {  // successes are counted by the caller, per batch
    q.stats().failed.fetch_add(1, std::memory_order_relaxed);
    q.stats().count_error(s);
    if (r.out && r.out_len) OPENSSL_cleanse(r.out, r.out_len);  // no partial result leaves a failed request
  }
  if (r.entry_) keys_->release(r.key);
  // The eventfd is written before completion is published: once done() is
  // true the caller may close its fd (a write after that could land in a
  // reused descriptor) and drain it for good (a write after its drain would
  // leave it readable, and an event loop resuming on it would spin). A
  // reader woken by the fd may see done() false for a moment.
  if (r.notify_fd >= 0) {
    uint64_t one = 1;
    ssize_t w = ::write(r.notify_fd, &one, sizeof one);
    (void)w;  // an eventfd write fails only on counter overflow, which a reader prevents
  }
  auto* cb = r.on_complete;
  void* user = r.user;
  // Publishing completion is the last access to r: the caller may free it now.
  const uintptr_t done = (static_cast<uintptr_t>(s) << 1) | Request::kDoneBit;
  if (may_have_waiter) {
    uintptr_t prev = r.state_.exchange(done, std::memory_order_acq_rel);
    if (prev != 0) reinterpret_cast<Waiter*>(prev)->signal();
  } else {
    r.state_.store(done, std::memory_order_release);  // run_now(): its caller is this thread
  }
  if (cb) cb(user, s);
}

// ---------------------------------------------------------------- wait

Status Engine::wait(Request& r) {
  if (current_pid() != owner_pid_) return Status::kWrongProcess;
  if (r.done()) return r.status();  // the common case after poll(): no blocking, nothing to count
  blocked_.fetch_add(1);
  if (flushers_.empty()) {
    while (!r.done()) {
      if (poll(false) == 0) std::this_thread::yield();
    }
  } else {
    Waiter w;
    uintptr_t expected = 0;
    if (r.state_.compare_exchange_strong(expected, reinterpret_cast<uintptr_t>(&w), std::memory_order_acq_rel)) {
      wake_flusher();
      w.wait();
    }
  }
  blocked_.fetch_sub(1);
  return r.status();
}

// ---------------------------------------------------------------- flusher

void Engine::wake_flusher() {
  std::lock_guard<std::mutex> lock(flusher_mu_);
  flusher_kick_ = true;
  flusher_cv_.notify_one();
}

void Engine::flusher_loop() {
  std::unique_lock<std::mutex> lock(flusher_mu_);
  while (!flusher_stop_) {
    flusher_kick_ = false;
    lock.unlock();
    size_t launched = poll(false);
    lock.lock();
    if (flusher_stop_) break;
    if (launched || flusher_kick_) continue;
    // Sleep until the earliest deadline, or until kicked. flushers_untimed_
    // and queued_ are a Dekker pair with submit(): either we see its request
    // (and time its deadline) or it sees us untimed and kicks.
    flushers_untimed_.fetch_add(1);
    if (queued_.load() == 0) {
      flusher_cv_.wait(lock, [this] { return flusher_kick_ || flusher_stop_; });
      flushers_untimed_.fetch_sub(1);
    } else {
      flushers_untimed_.fetch_sub(1);
      uint64_t earliest = UINT64_MAX;
      const size_t n = queue_count_.load(std::memory_order_acquire);
      for (size_t i = 0; i < n; ++i) {
        uint64_t o = queues_[i]->oldest_ns();
        if (o && o < earliest) earliest = o;
      }
      if (earliest != UINT64_MAX) {
        uint64_t wake = earliest + uint64_t{config_.deadline_us} * 1000;
        uint64_t t = now_ns();
        if (wake > t)
          flusher_cv_.wait_for(lock, std::chrono::nanoseconds(wake - t),
                               [this] { return flusher_kick_ || flusher_stop_; });
      }
    }
  }
}

// ---------------------------------------------------------------- shutdown

void Engine::shutdown() {
  if (current_pid() != owner_pid_) return;
  std::lock_guard<std::mutex> once(shutdown_mu_);
  accepting_.store(false);
  while (submitting_.load() != 0) std::this_thread::yield();
  {
    std::lock_guard<std::mutex> lock(flusher_mu_);
    flusher_stop_ = true;
    flusher_cv_.notify_all();
  }
  for (auto& t : flushers_) t.join();
  flushers_.clear();
  while (queued_.load() != 0) poll(true);
  std::unique_lock<std::mutex> lock(drain_mu_);
  drain_cv_.wait(lock, [this] { return in_flight_.load() == 0; });
}

// ---------------------------------------------------------------- process

namespace {
std::mutex g_process_mu;
Engine* g_process_engine = nullptr;
pid_t g_process_pid = 0;
void lock_process_engine() { g_process_mu.lock(); }
void unlock_process_engine() { g_process_mu.unlock(); }

// The process's engine and the pid it belongs to, published together (one
// pointer) so the provider's per-record call finds it without the mutex.
// Never freed: one small record per process image that created an engine.
struct ProcessEngine {
  Engine* engine;
  pid_t pid;
};
std::atomic<const ProcessEngine*> g_published{nullptr};
}  // namespace

Engine* Engine::this_process() {
  const ProcessEngine* p = g_published.load(std::memory_order_acquire);
  return p && p->pid == current_pid() ? p->engine : nullptr;
}

Engine* Engine::for_this_process(std::string* error, const Config* given) {
  if (Engine* e = this_process()) return e;
  static const int registered = pthread_atfork(lock_process_engine, unlock_process_engine, unlock_process_engine);
  (void)registered;
  std::lock_guard<std::mutex> lock(g_process_mu);
  if (g_process_engine && g_process_pid == current_pid()) return g_process_engine;
  // First use, or first use in a forked child: the parent's engine (if any)
  // is abandoned here on purpose, see ~Engine.
  std::optional<Config> config = given ? std::optional<Config>(*given) : Config::from_env(error);
  if (!config) return nullptr;
  g_process_engine = create(*config, error).release();
  g_process_pid = current_pid();
  if (g_process_engine) g_published.store(new ProcessEngine{g_process_engine, g_process_pid}, std::memory_order_release);
  return g_process_engine;
}

std::string Engine::gpu_description() const {
  if (devices_.empty()) return "none (" + no_gpu_reason_ + ")";
  if (devices_.size() == 1) return devices_[0]->backend->description();
  std::string all = std::to_string(devices_.size()) + " GPUs: ";
  for (const auto& d : devices_)
    all += (d->index ? ", " : "") + d->backend->description() + " (device " + std::to_string(d->ordinal) + ")";
  return all;
}

const OpStats* Engine::op_stats(Op op, uint32_t bits) const {
  const size_t n = queue_count_.load(std::memory_order_acquire);
  for (size_t i = 0; i < n; ++i)
    if (queues_[i]->op() == op && queues_[i]->bits() == bits) return &queues_[i]->stats();
  return nullptr;
}

}  // namespace gputls::engine
