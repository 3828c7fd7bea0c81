// CUDA backend: device detection, pinned staging, several streams, batch
// launch and completion on one worker thread. Kernels come from kernels/.
#include "gputls/engine/cuda_backend.h"

#include <cuda_runtime_api.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "aes_gcm_staging.h"
#include "gputls/kernels/aes_gcm_launch.h"
#include "gputls/kernels/device_upload.h"
#include "ecdsa_inputs.h"
#include "gputls/kernels/ec_launch.h"
#include "gputls/kernels/echo_launch.h"
#include "gputls/kernels/key_blob.h"
#include "gputls/kernels/mlkem_launch.h"
#include "gputls/kernels/rsa_launch.h"
#include "gputls/kernels/x25519_launch.h"

namespace gputls::engine {
namespace {

// Staging for one batch in flight: pinned host buffers and device buffers of
// the same capacity, and the stream and event the batch runs on.
struct Slot {
  cudaStream_t stream = nullptr;
  cudaEvent_t done = nullptr;
  uint8_t *h_in = nullptr, *h_out = nullptr, *d_in = nullptr, *d_out = nullptr;
  size_t cap = 0;
  uint32_t* d_scratch = nullptr;  // per-request working memory of the RSA kernel
  size_t scratch_cap = 0;         // bytes
  size_t out_len = 0;  // bytes of h_out the batch uses (wiped after completion)
  size_t in_wipe_len = 0;  // bytes of h_in holding secrets (ECDSA nonces), wiped after completion
  Batch* batch = nullptr;
  cudaError_t launch_error = cudaSuccess;
  AesGcmStaging aes;  // the layout of an AES-GCM batch, kept until it completes
};

class CudaBackend;

// An RSA or DH key blob's device copy: a block the worker takes from its
// pool (or allocates) and uploads into after registration returns; set on
// the worker, read there by the key's batches, which it runs after the upload.
struct DeviceBlob {
  uint32_t* words = nullptr;
  std::atomic<bool> failed{false};  // the upload failed: the key's batches re-run on the CPU
};

struct CudaKey final : BackendKeyState {
  CudaKey(CudaBackend* b, std::shared_ptr<DeviceBlob> d, size_t w) : backend(b), blob(std::move(d)), count(w) {}
  ~CudaKey() override;
  bool usable() const override { return !blob->failed.load(); }
  CudaBackend* backend;
  std::shared_ptr<DeviceBlob> blob;
  size_t count;  // words
};

// d as a w-byte big-endian scalar (leading zero bytes beyond w dropped);
// false when it does not fit.
bool fixed_width(const SecureBytes& priv, size_t w, SecureBytes* out) {
  size_t skip = 0;
  while (priv.size() - skip > w && priv[skip] == 0) ++skip;
  if (priv.size() - skip > w) return false;
  out->assign(w, 0);
  std::memcpy(out->data() + (w - (priv.size() - skip)), priv.data() + skip, priv.size() - skip);
  return true;
}

// A scalar's upload into its table slot, queued on the worker at
// registration (the registering thread does not wait for it) and run before
// any batch that could use the key. A failed upload fails those batches
// (their requests re-run on the CPU) instead of computing with a stale slot.
using UploadFailed = std::shared_ptr<std::atomic<bool>>;

// An X25519 private key: a 32-byte slot of the device-resident scalar table.
struct CudaX25519Key final : BackendKeyState {
  CudaX25519Key(CudaBackend* b, uint32_t s, UploadFailed f) : backend(b), slot(s), upload_failed(std::move(f)) {}
  ~CudaX25519Key() override;
  bool usable() const override { return !upload_failed->load(); }
  CudaBackend* backend;
  uint32_t slot;
  UploadFailed upload_failed;
};

// A P-256 / P-384 private key: a slot of its curve's device-resident scalar table.
struct CudaEcKey final : BackendKeyState {
  CudaEcKey(CudaBackend* b, uint32_t c, uint32_t s, UploadFailed f)
      : backend(b), curve(c), slot(s), upload_failed(std::move(f)) {}
  ~CudaEcKey() override;
  bool usable() const override { return !upload_failed->load(); }
  CudaBackend* backend;
  uint32_t curve;  // kernels::ec::EcCurveId
  uint32_t slot;
  UploadFailed upload_failed;
  // d*G and its checker key, made on the worker at the key's first signature
  // or verification: an ephemeral ECDH key never needs them, and computing
  // d*G at registration cost the host a scalar multiplication per key that
  // the device's own key generation repeats.
  mutable std::once_flag pub_once;
  mutable std::vector<uint8_t> pub;  // X || Y of d*G (public), for verify: the device table holds only scalars
  mutable EcdsaPublicKey check_key;  // pub as an OpenSSL key of the backend's checker: every signature is verified with it
};

// An AES key: a slot of the device-resident AesGcmKey table (round keys and
// powers of H, computed on the host at registration).
struct CudaAesKey final : BackendKeyState {
  CudaAesKey(CudaBackend* b, uint32_t s) : backend(b), slot(s) {}
  ~CudaAesKey() override;
  CudaBackend* backend;
  uint32_t slot;
};


bool is_ec_op(Op op) {
  return op == Op::kEcKeygen || op == Op::kEcdhDerive || op == Op::kEcdsaSign || op == Op::kEcdsaVerify;
}

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
  bool supports(Op op, uint32_t bits) const override {
    switch (op) {
      case Op::kEcho: return true;
      case Op::kRsaPriv: return bits == 2048 || bits == 3072 || bits == 4096;
      case Op::kModExp: return bits == 2048 || bits == 3072;
      case Op::kX25519Derive:
      case Op::kX25519Keygen: return true;
      case Op::kEcKeygen:
      case Op::kEcdhDerive:
      case Op::kEcdsaSign:
      case Op::kEcdsaVerify: return bits == 256 || bits == 384;
      case Op::kAesGcmSeal:
      case Op::kAesGcmOpen: return bits == 128 || bits == 256;
      case Op::kMlkemKeygen:
      case Op::kMlkemEncaps:
      case Op::kMlkemDecaps: return true;
      default: return false;
    }
  }

  // AES-GCM records the kernels serve: at most kGcmMaxBlocks GHASH blocks.
  bool accepts(const Request& r) const override {
    if (!is_aead(r.op)) return true;
    return r.in_len <= UINT32_MAX && r.aead->aad_len <= UINT32_MAX &&
           kernels::gcm_servable(static_cast<uint32_t>(r.in_len), static_cast<uint32_t>(r.aead->aad_len));
  }

  // Precomputes the key's Montgomery constants on the host, uploads them once.
  Status prepare_key(KeyEntry& key) override {
    if (key.type == KeyType::kX25519) return prepare_x25519(key);
    if (key.type == KeyType::kEc) return prepare_ec(key);
    if (key.type == KeyType::kAes) return prepare_aes(key);
    std::string why;
    kernels::KeyBlob blob;
    if (key.type == KeyType::kRsa && supports(Op::kRsaPriv, key.bits)) {
      const RsaKeyMaterial& m = key.rsa;
      blob = kernels::make_rsa_key_blob(m.n, m.e, m.p, m.q, m.dp, m.dq, m.qinv, &why);
    } else if (key.type == KeyType::kDh && supports(Op::kModExp, key.bits)) {
      blob = kernels::make_modexp_key_blob(key.dh.p, key.dh.priv, &why);
    }
    if (blob.empty()) return Status::kUnsupported;
    // Queued, not waited for (as the scalar keys): the worker takes a block of
    // the blob's size from its pool and uploads; the host blob (secret words)
    // is wiped when the task, its last owner, is gone.
    auto dev = std::make_shared<DeviceBlob>();
    auto host = std::make_shared<kernels::KeyBlob>(std::move(blob));
    const size_t count = host->size();
    post_to_worker([this, dev, host] {
      cudaError_t err = take_block(host->size(), &dev->words);
      if (err == cudaSuccess) err = kernels::upload_and_wait(dev->words, host->data(), host->size() * sizeof(uint32_t));
      if (err != cudaSuccess) dev->failed.store(true);
      return err;
    });
    key.device_state[device_index()] = std::make_unique<CudaKey>(this, std::move(dev), count);
    return Status::kOk;
  }

  // A device block of `words` words for a key blob: a freed key's block of
  // the same size when there is one (wiped when it was freed), else a new
  // one. cudaFree synchronizes the whole device: with a DH key per handshake
  // it ran once per handshake. Worker thread only.
  cudaError_t take_block(size_t words, uint32_t** out) {
    std::vector<uint32_t*>& pool = blob_blocks_[words];
    if (!pool.empty()) {
      *out = pool.back();
      pool.pop_back();
      return cudaSuccess;
    }
    return cudaMalloc(reinterpret_cast<void**>(out), words * sizeof(uint32_t));
  }

  // X25519 scalars live in one device table (uploaded once per key, a slot
  // each), so a batch names its keys by slot and carries no key bytes.
  Status prepare_x25519(KeyEntry& key) {
    if (key.x25519.priv.size() != kernels::kX25519Bytes) return Status::kBadKey;
    uint32_t slot;
    {
      std::lock_guard<std::mutex> lock(x_mu_);
      if (x_free_.empty()) return Status::kUnsupported;  // table full: this key runs on the CPU
      slot = x_free_.back();
      x_free_.pop_back();
    }
    auto failed = std::make_shared<std::atomic<bool>>(false);
    post_upload(failed, key.x25519.priv, [this, slot](const uint8_t* d, size_t n) {
      return kernels::upload_and_wait(x_table_ + size_t{slot} * kernels::kX25519Bytes, d, n);
    });
    key.device_state[device_index()] = std::make_unique<CudaX25519Key>(this, slot, std::move(failed));
    return Status::kOk;
  }

  // P-256 / P-384 scalars: one device table per curve, a slot per key, d
  // uploaded once as a fixed-width big-endian scalar. The CPU backend has
  // already checked 1 <= d < n.
  Status prepare_ec(KeyEntry& key) {
    if (key.bits != 256 && key.bits != 384) return Status::kUnsupported;
    const uint32_t curve = key.bits == 256 ? kernels::ec::kEcP256 : kernels::ec::kEcP384;
    const size_t w = key.bits / 8;
    SecureBytes d;
    if (!fixed_width(key.ec.priv, w, &d)) return Status::kBadKey;
    // Signatures made on the device are verified before release: no checker,
    // no GPU for EC keys.
    if (!checker_.ready()) return Status::kUnsupported;
    uint32_t slot;
    {
      std::lock_guard<std::mutex> lock(ec_mu_);
      if (ec_free_[curve].empty()) return Status::kUnsupported;  // table full: this key runs on the CPU
      slot = ec_free_[curve].back();
      ec_free_[curve].pop_back();
    }
    auto failed = std::make_shared<std::atomic<bool>>(false);
    post_upload(failed, d, [this, curve, slot, w](const uint8_t* p, size_t n) {
      return kernels::upload_and_wait(ec_table_[curve] + size_t{slot} * w, p, n);
    });
    key.device_state[device_index()] = std::make_unique<CudaEcKey>(this, curve, slot, std::move(failed));
    return Status::kOk;
  }

  // d*G of an EC key (the kernels' host twin) and its checker key, once: a
  // host scalar multiplication on the worker, once per signing key and
  // device (a server's certificate key), never for an ephemeral ECDH key.
  // False when either cannot be made: the key's signatures are then never
  // released from the device (the CPU signs) and its verifications fail over.
  bool ensure_public(const CudaEcKey& k, const KeyEntry& key) {
    std::call_once(k.pub_once, [&] {
      const size_t w = k.curve == kernels::ec::kEcP256 ? 32 : 48;
      SecureBytes d;
      if (!fixed_width(key.ec.priv, w, &d)) return;
      std::vector<uint8_t> pub(2 * w);
      if (kernels::ec::ec_op(kernels::ec::kEcKeygen, kernels::ec::curve(k.curve), d.data(), nullptr, nullptr, nullptr,
                             0, nullptr, pub.data(), kernels::ec::base_table_host(k.curve)) != kernels::ec::kEcOk)
        return;
      k.check_key = checker_.public_key(k.curve, pub.data());
      if (k.check_key) k.pub = std::move(pub);
    });
    return !k.pub.empty();
  }

  // Queues a scalar's upload (a copy of it, wiped once uploaded) on the
  // worker; the table it goes into is allocated on first use. Tasks run in
  // order and before batches, so the key's first batch finds it uploaded.
  template <class Upload>
  void post_upload(const UploadFailed& failed, const SecureBytes& scalar, Upload upload) {
    auto copy = std::make_shared<SecureBytes>(scalar);
    post_to_worker([this, failed, copy, upload]() {
      cudaError_t err = ensure_tables();
      if (err == cudaSuccess) err = upload(copy->data(), copy->size());
      OPENSSL_cleanse(copy->data(), copy->size());
      if (err != cudaSuccess) failed->store(true);
      return err;
    });
  }

  // The X25519 and P-256 / P-384 scalar tables (on the worker).
  cudaError_t ensure_tables() {
    cudaError_t err = cudaSuccess;
    if (!x_table_) err = cudaMalloc(reinterpret_cast<void**>(&x_table_), size_t{kX25519Slots} * kernels::kX25519Bytes);
    for (uint32_t c : {kernels::ec::kEcP256, kernels::ec::kEcP384}) {
      const size_t w = c == kernels::ec::kEcP256 ? 32 : 48;
      if (err == cudaSuccess && !ec_table_[c]) err = cudaMalloc(reinterpret_cast<void**>(&ec_table_[c]), size_t{kEcSlots} * w);
    }
    return err;
  }

  // AES keys: round keys and powers of H computed once on the host (the
  // kernels' own key set-up), uploaded into a slot of the device table, the
  // host copy wiped.
  Status prepare_aes(KeyEntry& key) {
    auto st = std::make_unique<kernels::AesGcmKey>();
    const bool ok = kernels::aes_gcm_key_init(*st, key.aes.key.data(), key.aes.key.size());
    if (!ok) return Status::kBadKey;
    uint32_t slot;
    {
      std::lock_guard<std::mutex> lock(aes_mu_);
      if (aes_free_.empty()) {
        OPENSSL_cleanse(st.get(), sizeof *st);
        return Status::kUnsupported;  // table full: this key runs on the CPU
      }
      slot = aes_free_.back();
      aes_free_.pop_back();
    }
    const kernels::AesGcmKey* src = st.get();
    cudaError_t e = run_on_worker([&] {
      cudaError_t err = cudaSuccess;
      if (!aes_table_)
        err = cudaMalloc(reinterpret_cast<void**>(&aes_table_), size_t{kAesSlots} * sizeof(kernels::AesGcmKey));
      if (err == cudaSuccess) err = kernels::upload_and_wait(aes_table_ + slot, src, sizeof *src);
      return err;
    });
    OPENSSL_cleanse(st.get(), sizeof *st);
    if (e != cudaSuccess) {
      std::lock_guard<std::mutex> lock(aes_mu_);
      aes_free_.push_back(slot);
      return Status::kDeviceError;
    }
    key.device_state[device_index()] = std::make_unique<CudaAesKey>(this, slot);
    return Status::kOk;
  }

  // Key releases wipe the key's device copy and return its table slot only
  // after the wipe (the slot is free once the task ran), without waiting: see
  // post_to_worker.
  void release_aes(uint32_t slot) {
    post_to_worker([this, slot] {
      const cudaError_t e = cudaMemset(aes_table_ + slot, 0, sizeof(kernels::AesGcmKey));
      std::lock_guard<std::mutex> lock(aes_mu_);
      aes_free_.push_back(slot);
      return e;
    });
  }

  void release_ec(uint32_t curve, uint32_t slot) {
    const size_t w = curve == kernels::ec::kEcP256 ? 32 : 48;
    post_to_worker([this, curve, slot, w] {
      const cudaError_t e = ec_table_[curve] ? cudaMemset(ec_table_[curve] + size_t{slot} * w, 0, w) : cudaSuccess;
      std::lock_guard<std::mutex> lock(ec_mu_);
      ec_free_[curve].push_back(slot);
      return e;
    });
  }

  void release_x25519(uint32_t slot) {
    post_to_worker([this, slot] {
      const cudaError_t e =
          x_table_ ? cudaMemset(x_table_ + size_t{slot} * kernels::kX25519Bytes, 0, kernels::kX25519Bytes) : cudaSuccess;
      std::lock_guard<std::mutex> lock(x_mu_);
      x_free_.push_back(slot);
      return e;
    });
  }

  // Wipes a key's device copy and returns its block to the pool, on the
  // worker (called from ~CudaKey).
  void release_key(std::shared_ptr<DeviceBlob> d, size_t words) {
    post_to_worker([this, d, words] {
      if (!d->words) return cudaSuccess;
      cudaError_t e = cudaMemset(d->words, 0, words * sizeof(uint32_t));
      std::vector<uint32_t*>& pool = blob_blocks_[words];
      if (pool.size() < kPooledBlocksPerSize) {
        pool.push_back(d->words);
      } else if (e == cudaSuccess) {
        e = cudaFree(d->words);  // past a burst: the pool keeps no more than it usually needs
      }
      d->words = nullptr;
      return e;
    });
  }
  bool idle() const override { return busy_.load() == 0; }

  // Runs f on the worker thread (which owns every CUDA call) and waits for it.
  // On the worker itself (a key's last request completing there frees it) it
  // runs inline: queueing would wait on ourselves.
  cudaError_t run_on_worker(std::function<cudaError_t()> f) {
    if (std::this_thread::get_id() == worker_.get_id()) return f();
    std::packaged_task<cudaError_t()> task(std::move(f));
    auto result = task.get_future();
    queue_task(std::move(task));
    return result.get();
  }

  // Runs f on the worker thread without waiting for it. For key releases: a
  // key lives on every device the engine drives, and its last request may
  // finish on another device's worker, which frees it there; two workers
  // each waiting for the other to free a key would deadlock. Tasks run in
  // order, so a later upload into a released slot follows its wipe, and the
  // worker runs every queued task before it stops.
  void post_to_worker(std::function<cudaError_t()> f) {
    if (std::this_thread::get_id() == worker_.get_id()) {
      f();
      return;
    }
    queue_task(std::packaged_task<cudaError_t()>(std::move(f)));
  }

  void queue_task(std::packaged_task<cudaError_t()>&& task) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

  void launch(Batch* b) override {
    busy_.fetch_add(1);
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_.push_back(b);
    }
    cv_.notify_one();
  }

 private:
  // Runs every queued task, in order, without holding mu_ while one runs.
  void run_tasks(std::unique_lock<std::mutex>& lock) {
    while (!tasks_.empty()) {
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  void run(std::promise<std::string>& ready) {
    std::string why = init();
    ready.set_value(why);
    if (!why.empty()) return;
    std::deque<Slot*> in_flight;
    for (;;) {
      std::unique_lock<std::mutex> lock(mu_);
      if (in_flight.empty())
        cv_.wait(lock, [this] { return stop_ || !pending_.empty() || !tasks_.empty(); });
      run_tasks(lock);  // key uploads and frees go before batches
      if (stop_ && pending_.empty() && in_flight.empty()) break;
      // Fill every free slot first, so copies and kernels of several batches overlap.
      while (!pending_.empty() && in_flight.size() < slots_.size()) {
        run_tasks(lock);  // an upload queued while the last batch started goes first
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
      return "GPUTLS_CUDA_DEVICE names device " + std::to_string(opts_.device) + " but only " +
             std::to_string(count) + " device(s) exist";
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
    cudaFree(s.d_scratch);  // wiped after every batch that used it
    s.d_scratch = nullptr;
    s.scratch_cap = 0;
  }

  static cudaError_t reserve_scratch(Slot& s, size_t need) {
    if (need <= s.scratch_cap) return cudaSuccess;
    cudaFree(s.d_scratch);
    s.d_scratch = nullptr;
    s.scratch_cap = 0;
    cudaError_t e = cudaMalloc(reinterpret_cast<void**>(&s.d_scratch), need);
    if (e == cudaSuccess) s.scratch_cap = need;
    return e;
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
  // and an event on the slot's stream. False when it failed at once (the
  // batch is then already finished, as device errors).
  bool start_batch(Slot& s, Batch* b) {
    s.batch = b;
    cudaError_t e;
    if (fail_left_ > 0) {
      --fail_left_;
      e = cudaErrorLaunchFailure;  // injected fault
    } else {
      e = b->op == Op::kEcho                                              ? start_echo(s, *b)
          : b->op == Op::kX25519Derive || b->op == Op::kX25519Keygen ? start_x25519(s, *b)
          : is_ec_op(b->op)                                           ? start_ec(s, *b)
          : is_aead(b->op)                                          ? start_aes(s, *b)
          : is_mlkem(b->op)                                         ? start_mlkem(s, *b)
                                                                      : start_rsa(s, *b);
      if (e == cudaSuccess) e = cudaEventRecord(s.done, s.stream);
    }
    s.launch_error = e;
    if (e != cudaSuccess) {
      finish_batch(s);
      return false;
    }
    return true;
  }

  // Echo layout: in = [offsets u32 x n | lengths u32 x n | pad to 16 | payloads], out = payloads.
  cudaError_t start_echo(Slot& s, const Batch& b) {
    const uint32_t n = static_cast<uint32_t>(b.size());
    const size_t header = (size_t{n} * 2 * sizeof(uint32_t) + 15) & ~size_t{15};
    size_t data = 0;
    for (Request* r : b.requests) data += r->in_len;
    cudaError_t e = reserve(s, header + data);
    if (e != cudaSuccess) return e;
    auto* off = reinterpret_cast<uint32_t*>(s.h_in);
    uint32_t* len = off + n;
    size_t pos = 0;
    for (uint32_t i = 0; i < n; ++i) {
      const Request& r = *b.requests[i];
      off[i] = static_cast<uint32_t>(pos);
      len[i] = static_cast<uint32_t>(r.in_len);
      if (r.in_len) std::memcpy(s.h_in + header + pos, r.in, r.in_len);
      pos += r.in_len;
    }
    s.out_len = data;
    kernels::EchoBatch eb;
    eb.in = s.d_in + header;
    eb.out = s.d_out;
    eb.offset = reinterpret_cast<const uint32_t*>(s.d_in);
    eb.length = eb.offset + n;
    eb.count = n;
    if ((e = cudaMemcpyAsync(s.d_in, s.h_in, header + data, cudaMemcpyHostToDevice, s.stream)) != cudaSuccess ||
        (e = kernels::launch_echo_batch(eb, s.stream)) != cudaSuccess)
      return e;
    return cudaMemcpyAsync(s.h_out, s.d_out, data, cudaMemcpyDeviceToHost, s.stream);
  }

  // RSA / modexp layout: in = [key pointers u64 x n | inputs n x bytes],
  // out = [outputs n x bytes | status u32 x n]. Outputs and scratch hold
  // secrets: wiped on the device once copied back.
  cudaError_t start_rsa(Slot& s, const Batch& b) {
    const uint32_t n = static_cast<uint32_t>(b.size());
    const uint32_t bytes = (b.bits + 7) / 8;
    const int limbs = static_cast<int>(bytes / 4);
    const bool modexp = b.op == Op::kModExp;
    const uint32_t sw =
        static_cast<uint32_t>(modexp ? kernels::modexp_scratch_words(limbs) : kernels::rsa_scratch_words(limbs));
    const size_t keys_len = size_t{n} * sizeof(uint64_t);
    const size_t in_len = keys_len + size_t{n} * bytes;
    const size_t out_len = size_t{n} * bytes + size_t{n} * sizeof(uint32_t);
    const size_t scratch_len = size_t{n} * sw * sizeof(uint32_t);
    cudaError_t e = reserve(s, in_len > out_len ? in_len : out_len);
    if (e == cudaSuccess) e = reserve_scratch(s, scratch_len);
    if (e != cudaSuccess) return e;
    auto* keys = reinterpret_cast<uint64_t*>(s.h_in);
    for (uint32_t i = 0; i < n; ++i) {
      const auto* key = static_cast<const CudaKey*>(b.keys[i]->device_state_for(device_index()));
      if (key->blob->failed.load()) return cudaErrorUnknown;  // the whole batch re-runs on the CPU
      keys[i] = reinterpret_cast<uint64_t>(key->blob->words);
      std::memcpy(s.h_in + keys_len + size_t{i} * bytes, b.requests[i]->in, bytes);
    }
    s.out_len = out_len;
    kernels::RsaBatch rb;
    rb.keys = reinterpret_cast<const uint32_t* const*>(s.d_in);
    rb.in = s.d_in + keys_len;
    rb.out = s.d_out;
    rb.status = reinterpret_cast<uint32_t*>(s.d_out + size_t{n} * bytes);
    rb.scratch = s.d_scratch;
    rb.count = n;
    rb.bytes = bytes;
    rb.scratch_words = sw;
    rb.op = modexp ? kernels::kBatchModExp : kernels::kBatchRsaCrt;
    if ((e = cudaMemcpyAsync(s.d_in, s.h_in, in_len, cudaMemcpyHostToDevice, s.stream)) != cudaSuccess ||
        (e = kernels::launch_rsa_batch(rb, s.stream)) != cudaSuccess ||
        (e = cudaMemcpyAsync(s.h_out, s.d_out, out_len, cudaMemcpyDeviceToHost, s.stream)) != cudaSuccess ||
        (e = cudaMemsetAsync(s.d_out, 0, out_len, s.stream)) != cudaSuccess)
      return e;
    return cudaMemsetAsync(s.d_scratch, 0, scratch_len, s.stream);
  }

  // X25519 layout: in = [slot u32 x n | pad to 16 | peer points n x 32 (derive only)],
  // out = [shared secrets or public keys n x 32 | status u32 x n].
  cudaError_t start_x25519(Slot& s, const Batch& b) {
    const uint32_t n = static_cast<uint32_t>(b.size());
    constexpr size_t kB = kernels::kX25519Bytes;
    const size_t idx_len = (size_t{n} * sizeof(uint32_t) + 15) & ~size_t{15};
    const bool keygen = b.op == Op::kX25519Keygen;
    const size_t in_len = idx_len + (keygen ? 0 : n * kB);
    const size_t out_len = n * kB + n * sizeof(uint32_t);
    cudaError_t e = reserve(s, in_len > out_len ? in_len : out_len);
    if (e != cudaSuccess) return e;
    auto* idx = reinterpret_cast<uint32_t*>(s.h_in);
    for (uint32_t i = 0; i < n; ++i) {
      const auto* key = static_cast<const CudaX25519Key*>(b.keys[i]->device_state_for(device_index()));
      if (key->upload_failed->load()) return cudaErrorUnknown;  // the whole batch re-runs on the CPU
      idx[i] = key->slot;
      if (!keygen) std::memcpy(s.h_in + idx_len + i * kB, b.requests[i]->in, kB);
    }
    s.out_len = out_len;
    kernels::X25519Batch xb;
    xb.scalars = x_table_;
    xb.scalar_index = reinterpret_cast<const uint32_t*>(s.d_in);
    xb.peer = keygen ? nullptr : s.d_in + idx_len;
    xb.out = s.d_out;
    xb.status = reinterpret_cast<uint32_t*>(s.d_out + n * kB);
    xb.count = n;
    xb.op = keygen ? kernels::kX25519Keygen : kernels::kX25519Derive;
    if ((e = cudaMemcpyAsync(s.d_in, s.h_in, in_len, cudaMemcpyHostToDevice, s.stream)) != cudaSuccess ||
        (e = kernels::launch_x25519_batch(xb, s.stream)) != cudaSuccess ||
        (e = cudaMemcpyAsync(s.h_out, s.d_out, out_len, cudaMemcpyDeviceToHost, s.stream)) != cudaSuccess)
      return e;
    return cudaMemsetAsync(s.d_out, 0, out_len, s.stream);
  }

  // EC layout (B = coordinate bytes), in = [slot u32 x n | pad to 16 | data],
  // data: derive: peer X || Y n x 2B; sign: nonces n x B | digests n x B
  // (each truncated / left-padded to B bytes on the host: the same integer
  // FIPS 186-4 takes, so one digest width serves the batch); verify: public
  // points X || Y n x 2B | digests n x B (as for sign) | r || s n x 2B; keygen: none.
  // out = [results n x 2B | status u32 x n]. Nonces are secret: the device
  // input is wiped after the kernel, the host staging after completion.

  cudaError_t start_ec(Slot& s, const Batch& b) {
    const uint32_t n = static_cast<uint32_t>(b.size());
    const uint32_t curve = b.bits == 256 ? kernels::ec::kEcP256 : kernels::ec::kEcP384;
    const kernels::ec::Curve& c = kernels::ec::curve(curve);  // host constants
    const size_t B = static_cast<size_t>(kernels::ec::coord_bytes(c));
    const size_t idx_len = (size_t{n} * sizeof(uint32_t) + 15) & ~size_t{15};
    const bool derive = b.op == Op::kEcdhDerive, sign = b.op == Op::kEcdsaSign, verify = b.op == Op::kEcdsaVerify;
    const size_t data_len = derive ? n * 2 * B : sign ? n * 2 * B : verify ? n * 5 * B : 0;
    const size_t in_len = idx_len + data_len;
    const size_t out_len = n * 2 * B + n * sizeof(uint32_t);
    cudaError_t e = reserve(s, in_len > out_len ? in_len : out_len);
    if (e != cudaSuccess) return e;
    auto* idx = reinterpret_cast<uint32_t*>(s.h_in);
    uint8_t* data = s.h_in + idx_len;
    s.in_wipe_len = in_len;
    for (uint32_t i = 0; i < n; ++i) {
      const auto* key = static_cast<const CudaEcKey*>(b.keys[i]->device_state_for(device_index()));
      if (key->upload_failed->load()) return cudaErrorUnknown;  // the whole batch re-runs on the CPU
      if ((sign || verify) && !ensure_public(*key, *b.keys[i])) {
        key->upload_failed->store(true);  // no public point: the key's later requests go to the CPU
        return cudaErrorUnknown;
      }
      idx[i] = key->slot;
      const Request& r = *b.requests[i];
      if (derive) {
        std::memcpy(data + i * 2 * B, r.in + 1, 2 * B);  // skip the 04 prefix (checked at submit)
      } else if (sign) {
        // Hedged with d and the digest (a repeated DRBG state cannot repeat k
        // for another message); no randomness: the CPU signs instead.
        const SecureBytes& d = b.keys[i]->ec.priv;
        if (!draw_ecdsa_nonce(data + i * B, curve, d.data(), d.size(), r.in, r.in_len)) return cudaErrorUnknown;
        put_ecdsa_digest(data + n * B + i * B, r.in, r.in_len, B);
      } else if (verify) {
        std::memcpy(data + i * 2 * B, key->pub.data(), 2 * B);
        put_ecdsa_digest(data + n * 2 * B + i * B, r.in + 1, r.in[0], B);  // L checked at submit
        std::memcpy(data + n * 3 * B + i * 2 * B, r.in + 1 + 64, 2 * B);
      }
    }
    s.out_len = out_len;
    kernels::EcBatch eb;
    eb.scalars = ec_table_[curve];
    eb.scalar_index = reinterpret_cast<const uint32_t*>(s.d_in);
    eb.points = derive || verify ? s.d_in + idx_len : nullptr;
    eb.nonces = sign ? s.d_in + idx_len : nullptr;
    eb.digests = sign ? s.d_in + idx_len + n * B : verify ? s.d_in + idx_len + n * 2 * B : nullptr;
    eb.sigs = verify ? s.d_in + idx_len + n * 3 * B : nullptr;
    eb.digest_bytes = sign || verify ? static_cast<uint32_t>(B) : 0;
    eb.out = s.d_out;
    eb.status = reinterpret_cast<uint32_t*>(s.d_out + n * 2 * B);
    eb.count = n;
    eb.curve = curve;
    eb.op = derive   ? kernels::ec::kEcDerive
            : sign   ? kernels::ec::kEcSign
            : verify ? kernels::ec::kEcVerify
                     : kernels::ec::kEcKeygen;
    return launch_wiped(s, in_len, out_len, out_len, [&] { return kernels::launch_ec_batch(eb, s.stream); });
  }

  // On s.stream: the staged inputs to the device, the kernel, the device's
  // copy of the inputs wiped (they hold secrets), `copy_back` bytes of output
  // to the host, then `wipe_out` bytes of device output wiped.
  template <class Launch>
  cudaError_t launch_wiped(Slot& s, size_t in_len, size_t copy_back, size_t wipe_out, Launch launch) {
    cudaError_t e;
    if ((e = cudaMemcpyAsync(s.d_in, s.h_in, in_len, cudaMemcpyHostToDevice, s.stream)) != cudaSuccess ||
        (e = launch()) != cudaSuccess || (e = cudaMemsetAsync(s.d_in, 0, in_len, s.stream)) != cudaSuccess ||
        (e = cudaMemcpyAsync(s.h_out, s.d_out, copy_back, cudaMemcpyDeviceToHost, s.stream)) != cudaSuccess)
      return e;
    return cudaMemsetAsync(s.d_out, 0, wipe_out, s.stream);
  }

  // ML-KEM-768: inputs at the op's fixed stride (seeds, messages, decapsulation
  // keys: secrets, wiped on the device after the kernel and on the host after
  // completion); out = outputs at their stride, then a status per request.
  cudaError_t start_mlkem(Slot& s, const Batch& b) {
    const uint32_t n = static_cast<uint32_t>(b.size());
    const size_t in_stride = mlkem_in_len(b.op), out_stride = mlkem_out_len(b.op);
    const size_t in_len = n * in_stride, out_len = n * out_stride + n * sizeof(uint32_t);
    cudaError_t e = reserve(s, in_len > out_len ? in_len : out_len);
    if (e != cudaSuccess) return e;
    for (uint32_t i = 0; i < n; ++i) std::memcpy(s.h_in + i * in_stride, b.requests[i]->in, in_stride);
    s.in_wipe_len = in_len;
    s.out_len = out_len;
    kernels::MlkemBatch mb;
    mb.in = s.d_in;
    mb.out = s.d_out;
    mb.status = reinterpret_cast<uint32_t*>(s.d_out + n * out_stride);
    mb.count = n;
    mb.op = mlkem_kernel_op(b.op);
    return launch_wiped(s, in_len, out_len, out_len, [&] { return kernels::launch_mlkem_batch(mb, s.stream); });
  }

  void finish_mlkem(Slot& s, Batch* b) {
    const size_t out_stride = mlkem_out_len(b->op);
    const auto* status = reinterpret_cast<const uint32_t*>(s.h_out + b->size() * out_stride);
    for (size_t i = 0; i < b->size(); ++i) {
      std::memcpy(b->requests[i]->out, s.h_out + i * out_stride, out_stride);
      // A key failing FIPS 203's checks is refused as the CPU refuses it (output zeroed).
      b->results[i] = status[i] == kernels::kMlkemOk       ? Status::kOk
                      : status[i] == kernels::kMlkemBadKey ? Status::kCryptoFailure
                                                           : Status::kDeviceError;
    }
  }

  // AES-GCM: the batch as AesGcmStaging lays it out; inputs (plaintexts for
  // seal) wiped on the device after the kernels, outputs after the copy back,
  // the host staging after completion.
  cudaError_t start_aes(Slot& s, const Batch& b) {
    s.aes.plan(b);
    const size_t in_len = s.aes.in_len(), out_len = s.aes.out_len();
    cudaError_t e = reserve(s, in_len > out_len ? in_len : out_len);
    if (e != cudaSuccess) return e;
    std::vector<uint32_t> slots(b.size());
    for (size_t i = 0; i < b.size(); ++i)
      slots[i] = static_cast<const CudaAesKey*>(b.keys[i]->device_state_for(device_index()))->slot;
    const kernels::AesGcmBatch kb = s.aes.fill(b, slots, s.h_in, s.d_in, s.d_out, aes_table_);
    s.in_wipe_len = in_len;
    s.out_len = s.aes.copy_back_len();
    return launch_wiped(s, in_len, s.out_len, out_len, [&] { return kernels::launch_aes_gcm_batch(kb, s.stream); });
  }

  void finish_ec(Slot& s, Batch* b) {
    const size_t B = b->bits / 8;
    const size_t n = b->size();
    const auto* status = reinterpret_cast<const uint32_t*>(s.h_out + n * 2 * B);
    for (size_t i = 0; i < n; ++i) {
      Request& r = *b->requests[i];
      const uint8_t* res = s.h_out + i * 2 * B;
      if (b->op == Op::kEcdsaVerify) {
        // Valid or not, the request succeeded; a bad public point cannot
        // happen (it is d*G) and is refused like any crypto failure.
        r.out[0] = status[i] == kernels::ec::kEcOk ? 1 : 0;
        b->results[i] = status[i] == kernels::ec::kEcOk || status[i] == kernels::ec::kEcBadSignature ? Status::kOk
                        : status[i] == kernels::ec::kEcBadPoint                                      ? Status::kCryptoFailure
                                                                                                     : Status::kDeviceError;
        continue;
      }
      if (b->op == Op::kEcdsaSign) {
        // The fault check: released only when OpenSSL verifies it with the
        // key's public point; otherwise the CPU signs (a device error).
        const auto* key = static_cast<const CudaEcKey*>(b->keys[i]->device_state_for(device_index()));
        b->results[i] = release_ecdsa_signature(checker_, key->check_key.get(), status[i], res, B, r.in, r.in_len, r.out);
        continue;
      }
      if (b->op == Op::kEcKeygen) {
        r.out[0] = 0x04;
        std::memcpy(r.out + 1, res, 2 * B);
      } else {
        std::memcpy(r.out, res, B);
      }
      // Invalid peer point / scalar: refused, as the CPU refuses it; anything
      // unexpected: the CPU computes afresh.
      b->results[i] = status[i] == kernels::ec::kEcOk                                                ? Status::kOk
                      : status[i] == kernels::ec::kEcBadPoint || status[i] == kernels::ec::kEcBadScalar ? Status::kCryptoFailure
                                                                                                      : Status::kDeviceError;
    }
  }

  void finish_batch(Slot& s) {
    Batch* b = s.batch;
    cudaError_t e = s.launch_error;
    if (e == cudaSuccess) e = cudaEventSynchronize(s.done);
    if (s.in_wipe_len) {
      // Secrets staged for the device: once nothing reads them any more.
      if (e != cudaSuccess) {
        cudaStreamSynchronize(s.stream);
        cudaMemset(s.d_in, 0, s.in_wipe_len);  // best effort: the wipe queued after the kernel may not have run
      }
      OPENSSL_cleanse(s.h_in, s.in_wipe_len);
      s.in_wipe_len = 0;
    }
    if (e != cudaSuccess) {
      // Results (shared secrets, plaintexts, ML-KEM keys) may sit in d_out when
      // the kernel ran but a later copy or wipe failed: best effort, as above.
      if (s.out_len) {
        cudaStreamSynchronize(s.stream);
        cudaMemset(s.d_out, 0, s.out_len);
      }
      for (auto& res : b->results) res = Status::kDeviceError;
    } else if (is_ec_op(b->op)) {
      finish_ec(s, b);
    } else if (is_aead(b->op)) {
      s.aes.collect(*b, s.h_out);
    } else if (is_mlkem(b->op)) {
      finish_mlkem(s, b);
    } else if (b->op == Op::kEcho) {
      size_t pos = 0;
      for (size_t i = 0; i < b->size(); ++i) {
        Request& r = *b->requests[i];
        if (r.in_len) std::memcpy(r.out, s.h_out + pos, r.in_len);
        pos += r.in_len;
        b->results[i] = Status::kOk;
      }
    } else if (b->op == Op::kX25519Derive || b->op == Op::kX25519Keygen) {
      const auto* status = reinterpret_cast<const uint32_t*>(s.h_out + b->size() * kernels::kX25519Bytes);
      for (size_t i = 0; i < b->size(); ++i) {
        std::memcpy(b->requests[i]->out, s.h_out + i * kernels::kX25519Bytes, kernels::kX25519Bytes);
        // All-zero shared secret (low-order peer): refused, as the CPU refuses it.
        b->results[i] = status[i] == kernels::kX25519Ok ? Status::kOk : Status::kCryptoFailure;
      }
    } else {
      const size_t bytes = (b->bits + 7) / 8;
      const auto* status = reinterpret_cast<const uint32_t*>(s.h_out + b->size() * bytes);
      for (size_t i = 0; i < b->size(); ++i) {
        Request& r = *b->requests[i];
        std::memcpy(r.out, s.h_out + i * bytes, bytes);
        // A failed public-exponent check means the device computed wrongly:
        // a device error, so the engine re-runs the request on the CPU.
        b->results[i] = status[i] == kernels::kRsaOk           ? Status::kOk
                        : status[i] == kernels::kRsaInputRange ? Status::kCryptoFailure
                                                               : Status::kDeviceError;
      }
    }
    if (s.out_len) OPENSSL_cleanse(s.h_out, s.out_len);  // results may be secrets (premaster, DH shared value)
    s.out_len = 0;
    s.batch = nullptr;
    s.launch_error = cudaSuccess;
    b->finish();
    busy_.fetch_sub(1);
  }

  void teardown() {
    if (aes_table_) {
      cudaMemset(aes_table_, 0, size_t{kAesSlots} * sizeof(kernels::AesGcmKey));
      cudaFree(aes_table_);
      aes_table_ = nullptr;
    }
    for (uint32_t c = 0; c < kernels::ec::kEcCurveCount; ++c) {
      if (!ec_table_[c]) continue;
      cudaMemset(ec_table_[c], 0, size_t{kEcSlots} * (c == kernels::ec::kEcP256 ? 32 : 48));
      cudaFree(ec_table_[c]);
      ec_table_[c] = nullptr;
    }
    if (x_table_) {
      cudaMemset(x_table_, 0, size_t{kX25519Slots} * kernels::kX25519Bytes);
      cudaFree(x_table_);
      x_table_ = nullptr;
    }
    for (auto& [words, pool] : blob_blocks_)  // wiped when their keys were freed
      for (uint32_t* p : pool) cudaFree(p);
    blob_blocks_.clear();
    for (Slot& s : slots_) {
      release_buffers(s);
      if (s.done) cudaEventDestroy(s.done);
      if (s.stream) cudaStreamDestroy(s.stream);
      s.done = nullptr;
      s.stream = nullptr;
    }
  }

  const CudaBackendOptions opts_;
  const EcdsaChecker checker_;  // verifies every ECDSA signature made on the device before release
  uint32_t fail_left_;  // worker thread only
  std::string desc_;
  std::vector<Slot> slots_;  // worker thread only
  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch*> pending_;
  std::deque<std::packaged_task<cudaError_t()>> tasks_;
  bool stop_ = false;
  std::atomic<uint32_t> busy_{0};

  static constexpr uint32_t kX25519Slots = 1u << 16;  // 2 MiB of device memory
  uint8_t* x_table_ = nullptr;                         // allocated and used on the worker only
  std::map<size_t, std::vector<uint32_t*>> blob_blocks_;  // free key-blob blocks by size: worker only
  static constexpr size_t kPooledBlocksPerSize = 256;     // at most this many kept per size
  std::mutex x_mu_;
  std::vector<uint32_t> x_free_ = [] {
    std::vector<uint32_t> v(kX25519Slots);
    for (uint32_t i = 0; i < kX25519Slots; ++i) v[i] = kX25519Slots - 1 - i;
    return v;
  }();

  static constexpr uint32_t kAesSlots = 1u << 14;  // about 3.2 KiB each: 52 MiB of device memory
  kernels::AesGcmKey* aes_table_ = nullptr;          // allocated and used on the worker only
  std::mutex aes_mu_;
  std::vector<uint32_t> aes_free_ = free_list(kAesSlots);

  static constexpr uint32_t kEcSlots = 1u << 16;  // per curve: 2 MiB (P-256), 3 MiB (P-384)
  uint8_t* ec_table_[kernels::ec::kEcCurveCount] = {};  // allocated and used on the worker only
  std::mutex ec_mu_;
  std::vector<uint32_t> ec_free_[kernels::ec::kEcCurveCount] = {free_list(kEcSlots), free_list(kEcSlots)};

  static std::vector<uint32_t> free_list(uint32_t slots) {
    std::vector<uint32_t> v(slots);
    for (uint32_t i = 0; i < slots; ++i) v[i] = slots - 1 - i;
    return v;
  }
};

CudaKey::~CudaKey() { backend->release_key(std::move(blob), count); }
CudaX25519Key::~CudaX25519Key() { backend->release_x25519(slot); }
CudaEcKey::~CudaEcKey() { backend->release_ec(curve, slot); }
CudaAesKey::~CudaAesKey() { backend->release_aes(slot); }

}  // namespace

bool cuda_compiled_in() { return true; }

int cuda_device_count(std::string* why) {
  // On a thread of its own: the CUDA runtime is never called on a caller's
  // thread (an OpenSSL ASYNC_JOB runs on a 32 KiB stack).
  int count = 0;
  cudaError_t e = cudaSuccess;
  std::thread([&] { e = cudaGetDeviceCount(&count); }).join();
  if (e != cudaSuccess) {
    *why = cudaGetErrorString(e);
    return 0;
  }
  if (count == 0) *why = "no CUDA device";
  return count;
}

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
