// A stand-in for the CUDA backend in tests without a GPU: asynchronous (its
// own thread, like the real one), optionally slow, and able to fail batches
// as a device would. Echo is computed; other key ops are never computed here,
// so a key-op batch that "succeeds" would be a bug: they always report device
// errors, which the engine must re-run on the CPU. AES-GCM (aes_host_twin) is
// the exception: it stages the batch as the CUDA backend does (AesGcmStaging)
// and runs the kernels' host twin on per-key state built as the CUDA backend
// builds it, so GPU-less tests cover that path; it can fail part of a batch
// (fail_from). ECDSA signing (ec_host_twin) is the other: nonces and digests
// staged and signatures released by the CUDA backend's own helpers
// (ecdsa_inputs.h: hedged nonce, fault check), the batch run by the kernel's
// host twin, with faults injected as a device could suffer them (ec_fault):
// a bit of the result, of d, or of k between k G and k^-1.
#pragma once

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

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
#include "gputls/kernels/ec_batch.h"
#include "gputls/kernels/mlkem_batch.h"
#include "../src/aes_gcm_staging.h"
#include "../src/ecdsa_inputs.h"

namespace gputls::engine::testing {

class FakeGpu final : public Backend {
 public:
  struct Options {
    std::chrono::microseconds delay{0};  // per batch
    uint32_t fail_batches = 0;           // the first N batches fail with kDeviceError
    bool take_keys = true;               // prepare_key succeeds
    bool keys_unusable = false;          // ... but the key's state says it is unusable (an upload that failed later)
    bool aes_host_twin = false;          // compute AES-GCM batches with the kernels' host twin
    uint32_t fail_from = UINT32_MAX;     // AES-GCM: requests from this index of a batch on fail (device died mid-batch)
    uint32_t max_record = UINT32_MAX;    // AES-GCM: accepts() refuses longer records
    bool ec_host_twin = false;           // compute ECDSA sign batches with the kernels' host twin
    // ECDSA faults, in every item i of a batch with i % ec_fault_period == 0
    // (0: none). ec_fault_bit: which bit (of r || s, of d or of k, from the
    // least significant end of the big-endian string).
    enum class EcFault { kNone, kResultBit, kKeyBit, kNonceBit } ec_fault = EcFault::kNone;
    uint32_t ec_fault_period = 0;
    uint32_t ec_fault_bit = 0;
    // While *hold is true, batches wait before the "device" runs them: a
    // test launches several batches and knows each is still in flight when
    // the engine picks a device for the next (queue depth, not timing).
    const std::atomic<bool>* hold = nullptr;
  };
  struct Counters {
    std::atomic<uint64_t> batches{0}, requests{0}, failed_batches{0};
    std::atomic<uint64_t> aes_computed{0}, aes_keys_wiped{0}, aes_keys_not_wiped{0};
    std::atomic<uint64_t> ec_signed{0}, ec_faults{0}, ec_withheld{0};
    std::mutex mu;
    std::vector<std::vector<uint8_t>> faulty_signatures;  // what the "device" produced under a fault
  };

  // Per-key EC state as the CUDA backend keeps it: d at the curve's width
  // (the device table's copy), the public point and the checker's key.
  struct EcState final : BackendKeyState {
    uint32_t curve = 0;
    SecureBytes d;
    std::vector<uint8_t> pub;
    EcdsaPublicKey check_key;
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
    if (o_.keys_unusable) {
      k.device_state[device_index()] = std::make_unique<UnusableState>();
      return Status::kOk;
    }
    if (k.type == KeyType::kEc && o_.ec_host_twin) return prepare_ec(k);
    if (k.type == KeyType::kAes && o_.aes_host_twin) {
      auto st = std::make_unique<AesState>(c_);
      if (!kernels::aes_gcm_key_init(st->key, k.aes.key.data(), k.aes.key.size())) return Status::kBadKey;
      k.device_state[device_index()] = std::move(st);
      return Status::kOk;
    }
    k.device_state[device_index()] = std::make_unique<BackendKeyState>();
    return Status::kOk;
  }
  struct UnusableState final : BackendKeyState {
    bool usable() const override { return false; }
  };
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
      while (o_.hold && o_.hold->load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      if (o_.delay.count()) std::this_thread::sleep_for(o_.delay);
      const bool aes = o_.aes_host_twin && (b->op == Op::kAesGcmSeal || b->op == Op::kAesGcmOpen);
      const bool ecdsa = o_.ec_host_twin && b->op == Op::kEcdsaSign;
      const bool mlkem = is_mlkem(b->op);
      bool fail = fail_left_ > 0 || (b->op != Op::kEcho && !aes && !ecdsa && !mlkem);
      if (fail_left_ > 0) --fail_left_;
      if ((aes || ecdsa || mlkem) && !fail) {
        if (aes) run_aes(b);
        else if (mlkem) run_mlkem(b);
        else run_ecdsa(b);
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
      keys[i] = static_cast<const AesState*>(b->keys[i]->device_state_for(device_index()))->key;
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

  // ML-KEM-768 as the CUDA backend stages it: inputs packed at the op's
  // stride, the kernels' host twin, outputs and statuses copied back.
  void run_mlkem(Batch* b) {
    const size_t n = b->size(), in_stride = mlkem_in_len(b->op), out_stride = mlkem_out_len(b->op);
    std::vector<uint8_t> d_in(n * in_stride), d_out(n * out_stride, 0xee);
    std::vector<uint32_t> status(n, 0xeeeeeeee);
    for (size_t i = 0; i < n; ++i) std::memcpy(d_in.data() + i * in_stride, b->requests[i]->in, in_stride);
    kernels::MlkemBatch mb;
    mb.in = d_in.data();
    mb.out = d_out.data();
    mb.status = status.data();
    mb.count = static_cast<uint32_t>(n);
    mb.op = mlkem_kernel_op(b->op);
    kernels::mlkem_batch_host(mb);
    for (size_t i = 0; i < n; ++i) {
      std::memcpy(b->requests[i]->out, d_out.data() + i * out_stride, out_stride);
      b->results[i] = status[i] == kernels::kMlkemOk ? Status::kOk : Status::kCryptoFailure;
    }
    OPENSSL_cleanse(d_in.data(), d_in.size());
    OPENSSL_cleanse(d_out.data(), d_out.size());
  }

  // As CudaBackend::prepare_ec: d at the curve's width, Q = d G by the
  // kernels' host twin, Q as a key of the checker.
  Status prepare_ec(KeyEntry& k) {
    if (k.bits != 256 && k.bits != 384) return Status::kUnsupported;
    auto st = std::make_unique<EcState>();
    st->curve = k.bits == 256 ? kernels::ec::kEcP256 : kernels::ec::kEcP384;
    const size_t w = k.bits / 8;
    const SecureBytes& priv = k.ec.priv;
    if (priv.size() > w) return Status::kBadKey;
    st->d.assign(w, 0);
    std::memcpy(st->d.data() + (w - priv.size()), priv.data(), priv.size());
    st->pub.resize(2 * w);
    if (kernels::ec::ec_op(kernels::ec::kEcKeygen, kernels::ec::curve(st->curve), st->d.data(), nullptr, nullptr,
                           nullptr, 0, nullptr, st->pub.data(), kernels::ec::base_table_host(st->curve)) !=
        kernels::ec::kEcOk)
      return Status::kBadKey;
    st->check_key = checker_.public_key(st->curve, st->pub.data());
    if (!st->check_key) return Status::kUnsupported;
    k.device_state[device_index()] = std::move(st);
    return Status::kOk;
  }

  static void flip(uint8_t* be, size_t len, uint32_t bit) { be[len - 1 - (bit / 8) % len] ^= uint8_t(1u << (bit % 8)); }

  // An ECDSA sign batch as CudaBackend::start_ec / finish_ec run it: hedged
  // nonces and digests staged by ecdsa_inputs, the kernel's host twin over a
  // "device" scalar table, every signature through release_ecdsa_signature.
  void run_ecdsa(Batch* b) {
    const uint32_t n = static_cast<uint32_t>(b->size());
    const uint32_t curve = b->bits == 256 ? kernels::ec::kEcP256 : kernels::ec::kEcP384;
    const size_t B = b->bits / 8;
    SecureBytes table(n * B), nonces(n * B);
    std::vector<uint8_t> digests(n * B), out(n * 2 * B, 0xcc);
    std::vector<uint32_t> idx(n), status(n, 0xffffffffu);
    bool staged = true;
    for (uint32_t i = 0; i < n; ++i) {
      const auto* k = static_cast<const EcState*>(b->keys[i]->device_state_for(device_index()));
      std::memcpy(table.data() + i * B, k->d.data(), B);
      idx[i] = i;
      const Request& r = *b->requests[i];
      const SecureBytes& d = b->keys[i]->ec.priv;
      staged = staged && draw_ecdsa_nonce(nonces.data() + i * B, curve, d.data(), d.size(), r.in, r.in_len);
      put_ecdsa_digest(digests.data() + i * B, r.in, r.in_len, B);
    }
    const bool faults = o_.ec_fault != Options::EcFault::kNone && o_.ec_fault_period != 0;
    if (staged && faults && o_.ec_fault == Options::EcFault::kKeyBit)
      for (uint32_t i = 0; i < n; i += o_.ec_fault_period) flip(table.data() + i * B, B, o_.ec_fault_bit);
    kernels::EcBatch eb;
    eb.scalars = table.data();
    eb.scalar_index = idx.data();
    eb.nonces = nonces.data();
    eb.digests = digests.data();
    eb.digest_bytes = static_cast<uint32_t>(B);
    eb.out = out.data();
    eb.status = status.data();
    eb.count = n;
    eb.curve = curve;
    eb.op = kernels::ec::kEcSign;
    if (staged) kernels::ec_batch_host(eb);
    if (staged && faults) {
      for (uint32_t i = 0; i < n; i += o_.ec_fault_period) {
        uint8_t* rs = out.data() + i * 2 * B;
        if (o_.ec_fault == Options::EcFault::kResultBit) flip(rs, 2 * B, o_.ec_fault_bit);
        if (o_.ec_fault == Options::EcFault::kNonceBit)
          nonce_fault(curve, B, table.data() + i * B, nonces.data() + i * B, digests.data() + i * B, rs);
        c_->ec_faults++;
        std::lock_guard<std::mutex> lock(c_->mu);
        c_->faulty_signatures.emplace_back(rs, rs + 2 * B);
      }
    }
    for (uint32_t i = 0; i < n; ++i) {
      Request& r = *b->requests[i];
      if (!staged) {
        b->results[i] = Status::kDeviceError;
        continue;
      }
      const auto* k = static_cast<const EcState*>(b->keys[i]->device_state_for(device_index()));
      b->results[i] = release_ecdsa_signature(checker_, k->check_key.get(), status[i], out.data() + i * 2 * B, B, r.in,
                                              r.in_len, r.out);
      (b->results[i] == Status::kOk ? c_->ec_signed : c_->ec_withheld)++;
    }
  }

  // k flipped in one bit while k G runs, the right k used for k^-1: r' =
  // x(k' G) mod n, s = k^-1 (e + r' d) mod n (e: the staged digest, which
  // for P-256 / P-384 is the integer the kernel takes).
  void nonce_fault(uint32_t curve, size_t B, const uint8_t* d, const uint8_t* k, const uint8_t* e, uint8_t* rs) {
    SecureBytes k2(k, k + B), tmp(2 * B);
    flip(k2.data(), B, o_.ec_fault_bit);
    uint32_t st = 0;
    kernels::EcBatch one;
    one.scalars = d;
    one.nonces = k2.data();
    one.digests = e;
    one.digest_bytes = static_cast<uint32_t>(B);
    one.out = tmp.data();
    one.status = &st;
    one.count = 1;
    one.curve = curve;
    one.op = kernels::ec::kEcSign;
    kernels::ec_batch_host(one);  // r' = x(k' G) mod n in tmp[0, B)
    EC_GROUP* g = EC_GROUP_new_by_curve_name(curve == kernels::ec::kEcP256 ? NID_X9_62_prime256v1 : NID_secp384r1);
    BN_CTX* bc = BN_CTX_new();
    BIGNUM *bk = BN_bin2bn(k, int(B), nullptr), *bd = BN_bin2bn(d, int(B), nullptr),
           *be = BN_bin2bn(e, int(B), nullptr), *br = BN_bin2bn(tmp.data(), int(B), nullptr), *bs = BN_new();
    const BIGNUM* order = EC_GROUP_get0_order(g);
    BN_mod_mul(bs, br, bd, order, bc);       // r' d
    BN_mod_add(bs, bs, be, order, bc);       // e + r' d
    BN_mod_inverse(bk, bk, order, bc);       // k^-1
    BN_mod_mul(bs, bs, bk, order, bc);       // s
    std::memcpy(rs, tmp.data(), B);
    BN_bn2binpad(bs, rs + B, int(B));
    for (BIGNUM* x : {bk, bd, be, br, bs}) BN_clear_free(x);
    BN_CTX_free(bc);
    EC_GROUP_free(g);
  }

  const Options o_;
  Counters* c_;
  const EcdsaChecker checker_;
  uint32_t fail_left_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch*> q_;
  bool stop_ = false;
  std::atomic<uint32_t> busy_{0};
  std::thread worker_;
};

}  // namespace gputls::engine::testing
