// Elliptic-curve micro-benchmarks (names: op/impl/batch, see DESIGN.md); items are operations.
// Ops: x25519_keygen, x25519_derive, and for c in p256, p384: c_keygen, c_ecdh_derive,
// c_ecdsa_sign (digest of the coordinate width), c_ecdsa_verify (OpenSSL's signatures).
//   <op>/openssl/1      OpenSSL's default provider called directly, one core. keygen is
//                       EVP_PKEY_keygen (a fresh key pair: d and d*G); derive uses a preloaded
//                       peer key; verify re-encodes nothing (DER made once)
//   <op>/engine_cpu/B   the engine with policy cpu in poll mode (no threads, one core). keygen
//                       is what a server pays per ephemeral key: each item registers a fresh
//                       private key, generates its public value and frees the key
//   <op>/engine_gpu/B   the engine with policy gpu and a flusher thread; skipped without a usable
//                       GPU, or when any request was served elsewhere than the GPU
//   <op>/kernel_host/B  the batch kernel's host twin (the GPU's own per-item code, compiled for
//                       the CPU, looped over the items on one core) on the same inputs as
//                       kernel_gpu: compares the kernels' algorithms (e.g. fixed-base keygen
//                       against variable-base derive) without a GPU; every status is checked
//   <op>/kernel_gpu/B   the batch kernel alone on device-resident inputs (64 keys / peers /
//                       signatures cycled over the batch), timed with CUDA events (CUDA builds
//                       only; skipped without a device); every status is checked after the run
#include <benchmark/benchmark.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "gputls/engine/cuda_backend.h"
#include "gputls/engine/engine.h"
#include "gputls/kernels/ec_batch.h"
#include "gputls/kernels/x25519.h"
#include "../engine/tests/test_keys.h"
#include "micro_common.h"

#if GPUTLS_HAVE_CUDA
#include <cuda_runtime_api.h>

#include "micro_cuda.h"

#include "gputls/kernels/ec_launch.h"
#include "gputls/kernels/x25519_launch.h"
#endif

namespace gputls::engine {
namespace {

using testing::Bytes;
using bench::engine_for;

constexpr size_t kDistinct = 64;  // distinct keys / peers / signatures, cycled over a batch

enum class Kind { kKeygen, kDerive, kSign, kVerify };

struct Spec {
  std::string name;  // e.g. p256_ecdsa_sign
  int bits;          // 255 (X25519), 256, 384
  Kind kind;
};

bool is_x25519(const Spec& s) { return s.bits == 255; }
size_t coord(const Spec& s) { return is_x25519(s) ? 32 : static_cast<size_t>(s.bits / 8); }

Op op_of(const Spec& s) {
  if (is_x25519(s)) return s.kind == Kind::kKeygen ? Op::kX25519Keygen : Op::kX25519Derive;
  switch (s.kind) {
    case Kind::kKeygen: return Op::kEcKeygen;
    case Kind::kDerive: return Op::kEcdhDerive;
    case Kind::kSign: return Op::kEcdsaSign;
    case Kind::kVerify: return Op::kEcdsaVerify;
  }
  return Op::kEcho;
}

size_t out_len(const Spec& s) {
  const size_t B = coord(s);
  if (is_x25519(s)) return 32;
  switch (s.kind) {
    case Kind::kKeygen: return 1 + 2 * B;
    case Kind::kDerive: return B;
    case Kind::kSign: return 2 * B;
    case Kind::kVerify: return 1;
  }
  return 0;
}

EVP_PKEY* new_key(const Spec& s) { return is_x25519(s) ? testing::x25519_key() : testing::ec_key(s.bits); }

// OpenSSL's signature over the digest as DER and as fixed-width r || s.
bool openssl_sign(EVP_PKEY* k, const Bytes& digest, size_t w, Bytes* der, Bytes* rs) {
  der->assign(160, 0);
  size_t len = der->size();
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new(k, nullptr);
  const bool ok = c && EVP_PKEY_sign_init(c) == 1 && EVP_PKEY_sign(c, der->data(), &len, digest.data(), digest.size()) == 1;
  EVP_PKEY_CTX_free(c);
  if (!ok) return false;
  der->resize(len);
  const unsigned char* p = der->data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
  if (!sig) return false;
  rs->assign(2 * w, 0);
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs->data(), static_cast<int>(w));
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs->data() + w, static_cast<int>(w));
  ECDSA_SIG_free(sig);
  return true;
}

// Inputs for kDistinct requests on one key: peers' public values (derive),
// digests (sign), verify inputs L || digest || pad || r || s (verify).
struct Inputs {
  EVP_PKEY* key = nullptr;
  std::vector<EVP_PKEY*> peers;
  std::vector<Bytes> in;   // engine request input, per distinct item
  std::vector<Bytes> der;  // verify: DER signatures
  std::vector<Bytes> digest;
  ~Inputs() {
    EVP_PKEY_free(key);
    for (auto* p : peers) EVP_PKEY_free(p);
  }
};

bool make_inputs(const Spec& s, Inputs* x) {
  x->key = new_key(s);
  if (!x->key) return false;
  const size_t B = coord(s);
  for (size_t i = 0; i < kDistinct; ++i) {
    switch (s.kind) {
      case Kind::kKeygen: x->in.emplace_back(); break;
      case Kind::kDerive: {
        EVP_PKEY* peer = new_key(s);
        if (!peer) return false;
        x->peers.push_back(peer);
        x->in.push_back(is_x25519(s) ? testing::x25519_public(peer) : testing::ec_public(peer));
        break;
      }
      case Kind::kSign:
        x->in.push_back(testing::random_bytes(B));
        x->digest.push_back(x->in.back());
        break;
      case Kind::kVerify: {
        Bytes digest = testing::random_bytes(B), der, rs;
        if (!openssl_sign(x->key, digest, B, &der, &rs)) return false;
        Bytes in(1 + 64 + 2 * B, 0);
        in[0] = static_cast<uint8_t>(B);
        std::copy(digest.begin(), digest.end(), in.begin() + 1);
        std::copy(rs.begin(), rs.end(), in.begin() + 65);
        x->in.push_back(std::move(in));
        x->der.push_back(std::move(der));
        x->digest.push_back(std::move(digest));
        break;
      }
    }
  }
  return true;
}

// CPU time of the whole process (every thread: the engine's too).
double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

void BM_openssl(benchmark::State& state, Spec s) {
  Inputs x;
  if (!make_inputs(s, &x)) {
    state.SkipWithError("input setup failed");
    return;
  }
  Bytes out(160);
  size_t i = 0;
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) {
    bool ok = false;
    const size_t j = i++ % kDistinct;
    if (s.kind == Kind::kKeygen) {
      EVP_PKEY* k = new_key(s);
      ok = k != nullptr;
      EVP_PKEY_free(k);
    } else {
      EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(nullptr, x.key, nullptr);
      size_t len = out.size();
      if (s.kind == Kind::kDerive)
        ok = c && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, x.peers[j]) == 1 &&
             EVP_PKEY_derive(c, out.data(), &len) == 1;
      else if (s.kind == Kind::kSign)
        ok = c && EVP_PKEY_sign_init(c) == 1 &&
             EVP_PKEY_sign(c, out.data(), &len, x.digest[j].data(), x.digest[j].size()) == 1;
      else
        ok = c && EVP_PKEY_verify_init(c) == 1 &&
             EVP_PKEY_verify(c, x.der[j].data(), x.der[j].size(), x.digest[j].data(), x.digest[j].size()) == 1;
      EVP_PKEY_CTX_free(c);
    }
    if (!ok) {
      state.SkipWithError("OpenSSL failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  if (state.iterations())
    state.counters["host_cpu_us"] = 1e6 * (process_cpu_seconds() - cpu0) / static_cast<double>(state.iterations());
}

Status register_key(Engine& eng, const Spec& s, EVP_PKEY* k, KeyHandle* h) {
  return is_x25519(s) ? eng.register_x25519_key(testing::x25519_material(k), h)
                      : eng.register_ec_key(testing::ec_material(k, s.bits), h);
}

// A fresh private key for keygen rows: 32 random bytes (X25519), or a
// scalar below the group order (registration refuses the rare one that is not).
Status register_fresh_key(Engine& eng, const Spec& s, KeyHandle* h) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    Status st;
    if (is_x25519(s)) {
      X25519KeyMaterial m;
      m.priv.resize(32);
      RAND_priv_bytes(m.priv.data(), 32);
      st = eng.register_x25519_key(m, h);
    } else {
      EcKeyMaterial m;
      m.curve_bits = static_cast<uint32_t>(s.bits);
      m.priv.resize(static_cast<size_t>(s.bits / 8));
      RAND_priv_bytes(m.priv.data(), static_cast<int>(m.priv.size()));
      st = eng.register_ec_key(m, h);
    }
    if (st != Status::kBadKey) return st;
  }
  return Status::kBadKey;
}

// One iteration = one batch of B requests, submitted then completed.
// keygen: each request on a fresh key, registered before and freed after.
void run_batches(benchmark::State& state, Engine& eng, const Spec& s, KeyHandle key, const Inputs& x, bool polled) {
  const size_t batch = static_cast<size_t>(state.range(0));
  const size_t olen = out_len(s);
  std::vector<Request> reqs(batch);
  std::vector<uint8_t> out(batch * olen);
  for (size_t i = 0; i < batch; ++i) {
    const Bytes& in = x.in[i % kDistinct];
    reqs[i].op = op_of(s);
    reqs[i].key = key;
    reqs[i].in = in.empty() ? nullptr : in.data();
    reqs[i].in_len = in.size();
    reqs[i].out = out.data() + i * olen;
    reqs[i].out_len = olen;
  }
  bool failed = false;
  const bool fresh_keys = s.kind == Kind::kKeygen;
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) {
    size_t submitted = 0;
    for (auto& r : reqs) {
      if (fresh_keys && register_fresh_key(eng, s, &r.key) != Status::kOk) {
        state.SkipWithError("key registration failed");
        failed = true;
        break;
      }
      if (eng.submit(r) != Status::kOk) {
        state.SkipWithError("submit refused");
        failed = true;
        break;
      }
      ++submitted;
    }
    if (polled) eng.poll(true);
    for (size_t i = 0; i < submitted; ++i) {
      if (eng.wait(reqs[i]) != Status::kOk && !failed) {
        state.SkipWithError("request failed");
        failed = true;
      }
      if (fresh_keys) (void)eng.free_key(reqs[i].key);
    }
    if (failed) break;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
  if (state.iterations())
    state.counters["host_cpu_us"] = 1e6 * (process_cpu_seconds() - cpu0) / static_cast<double>(state.iterations() * batch);
  if (!failed && s.kind == Kind::kVerify)
    for (size_t i = 0; i < batch; ++i)
      if (out[i] != 1) {
        state.SkipWithError("a valid signature did not verify");
        break;
      }
}

void BM_engine(benchmark::State& state, Spec s, bool gpu) {
  const auto batch = static_cast<uint32_t>(state.range(0));
  auto eng = engine_for(gpu ? Policy::kGpu : Policy::kCpu, batch, gpu ? 1 : 0);
  if (!eng || (gpu && !eng->gpu_available())) {
    state.SkipWithError(eng ? "no usable GPU" : "engine creation failed");
    return;
  }
  Inputs x;
  KeyHandle h;
  if (!make_inputs(s, &x) || register_key(*eng, s, x.key, &h) != Status::kOk) {
    state.SkipWithError("key registration failed");
    return;
  }
  run_batches(state, *eng, s, h, x, !gpu);
  if (!gpu || state.error_occurred()) return;
  eng->shutdown();
  // A GPU row must measure the GPU (see micro_rsa).
  const OpStats* st = eng->op_stats(op_of(s), is_x25519(s) ? 255u : static_cast<uint32_t>(s.bits));
  if (st) {
    const uint64_t total = st->counts().submitted;
    const uint64_t on_gpu = st->counts().served_by(BackendKind::kCuda);
    if (on_gpu != total) {
      const std::string msg = std::to_string(total - on_gpu) + " of " + std::to_string(total) +
                              " requests were not served by the GPU (engine fell back to the CPU)";
      state.SkipWithError(msg.c_str());
      return;
    }
    const uint64_t batches = st->counts().batches;
    if (batches) state.counters["avg_batch"] = static_cast<double>(total) / static_cast<double>(batches);
  }
}

// Appends n copies of the kDistinct byte strings, cycled.
std::vector<uint8_t> cycled(const std::vector<Bytes>& v, size_t n, size_t skip = 0) {
  std::vector<uint8_t> r;
  for (size_t i = 0; i < n; ++i) r.insert(r.end(), v[i % v.size()].begin() + static_cast<std::ptrdiff_t>(skip), v[i % v.size()].end());
  return r;
}

// Host inputs of a batch of `count` items for the kernels (kernel_gpu,
// kernel_host): kDistinct keys by slot, per-op inputs cycled over the batch.
struct BatchInputs {
  std::vector<uint8_t> scalars, idx_bytes, points, digests, sigs, nonces;
  std::vector<uint32_t> idx;
};

bool make_batch_inputs(benchmark::State& state, const Spec& s, uint32_t count, BatchInputs* in) {
  const size_t B = coord(s);
  std::vector<Bytes> scalars, pubs, peers, digests, sigs, nonces;
  for (size_t i = 0; i < kDistinct; ++i) {
    EVP_PKEY* k = new_key(s);
    if (!k) {
      state.SkipWithError("key generation failed");
      return false;
    }
    if (is_x25519(s)) {
      const auto m = testing::x25519_material(k);  // one object: begin and end of the same key
      scalars.emplace_back(m.priv.begin(), m.priv.end());
    } else {
      const EcKeyMaterial m = testing::ec_material(k, s.bits);
      scalars.emplace_back(m.priv.begin(), m.priv.end());
      Bytes pub = testing::ec_public(k);
      pubs.emplace_back(pub.begin() + 1, pub.end());
      Bytes nonce = testing::random_bytes(B);
      nonce[0] &= 0x7f;  // below n
      nonce[B - 1] |= 1;  // not zero
      nonces.push_back(std::move(nonce));
      Bytes digest = testing::random_bytes(B), der, rs;
      if (!openssl_sign(k, digest, B, &der, &rs)) {
        EVP_PKEY_free(k);
        state.SkipWithError("OpenSSL sign failed");
        return false;
      }
      digests.push_back(std::move(digest));
      sigs.push_back(std::move(rs));
    }
    EVP_PKEY* peer = new_key(s);
    peers.push_back(is_x25519(s) ? testing::x25519_public(peer) : testing::ec_public(peer));
    EVP_PKEY_free(peer);
    EVP_PKEY_free(k);
  }
  in->scalars = cycled(scalars, kDistinct);
  in->idx.resize(count);
  for (uint32_t i = 0; i < count; ++i) in->idx[i] = i % kDistinct;
  in->idx_bytes.assign(reinterpret_cast<const uint8_t*>(in->idx.data()),
                       reinterpret_cast<const uint8_t*>(in->idx.data()) + in->idx.size() * sizeof(uint32_t));
  if (s.kind == Kind::kDerive) in->points = cycled(peers, count, is_x25519(s) ? 0 : 1);  // EC: skip the 04
  if (s.kind == Kind::kVerify) {
    in->points = cycled(pubs, count);
    in->sigs = cycled(sigs, count);
  }
  if (s.kind == Kind::kSign || s.kind == Kind::kVerify) in->digests = cycled(digests, count);
  if (s.kind == Kind::kSign) in->nonces = cycled(nonces, count);
  return true;
}

// The kernels' batch descriptors over the given buffers (host or device memory).
kernels::X25519Batch x25519_batch(const Spec& s, uint32_t count, const uint8_t* scalars, const uint32_t* idx,
                                  const uint8_t* points, uint8_t* out, uint32_t* status) {
  kernels::X25519Batch xb;
  xb.scalars = scalars;
  xb.scalar_index = idx;
  xb.peer = s.kind == Kind::kDerive ? points : nullptr;
  xb.out = out;
  xb.status = status;
  xb.count = count;
  xb.op = s.kind == Kind::kKeygen ? kernels::kX25519Keygen : kernels::kX25519Derive;
  return xb;
}

kernels::EcBatch ec_batch(const Spec& s, uint32_t count, const BatchInputs& in, const uint8_t* scalars,
                          const uint32_t* idx, const uint8_t* nonces, const uint8_t* points, const uint8_t* digests,
                          const uint8_t* sigs, uint8_t* out, uint32_t* status) {
  kernels::EcBatch eb;
  eb.scalars = scalars;
  eb.scalar_index = idx;
  eb.nonces = s.kind == Kind::kSign ? nonces : nullptr;
  eb.points = in.points.empty() ? nullptr : points;
  eb.digests = in.digests.empty() ? nullptr : digests;
  eb.sigs = s.kind == Kind::kVerify ? sigs : nullptr;
  eb.digest_bytes = in.digests.empty() ? 0 : static_cast<uint32_t>(coord(s));
  eb.out = out;
  eb.status = status;
  eb.count = count;
  eb.curve = s.bits == 256 ? kernels::ec::kEcP256 : kernels::ec::kEcP384;
  eb.op = s.kind == Kind::kKeygen   ? kernels::ec::kEcKeygen
          : s.kind == Kind::kDerive ? kernels::ec::kEcDerive
          : s.kind == Kind::kSign   ? kernels::ec::kEcSign
                                    : kernels::ec::kEcVerify;
  return eb;
}

// Skips the row unless every item's status is ok.
void check_statuses(benchmark::State& state, const Spec& s, const std::vector<uint32_t>& status) {
  const uint32_t ok = is_x25519(s) ? uint32_t{kernels::kX25519Ok} : uint32_t{kernels::ec::kEcOk};
  const auto bad = std::count_if(status.begin(), status.end(), [ok](uint32_t st) { return st != ok; });
  if (bad) {
    const std::string msg = std::to_string(bad) + " of " + std::to_string(status.size()) + " items did not return ok";
    state.SkipWithError(msg.c_str());
  }
}

// The host twin of the batch kernel (the GPU's own code compiled for the CPU,
// one core): what the GPU path computes per item, without a GPU.
void BM_kernel_host(benchmark::State& state, Spec s) {
  const auto count = static_cast<uint32_t>(state.range(0));
  BatchInputs in;
  if (!make_batch_inputs(state, s, count, &in)) return;
  std::vector<uint8_t> out(size_t{count} * 2 * coord(s));
  std::vector<uint32_t> status(count, 0xffffffffu);
  const kernels::X25519Batch xb =
      x25519_batch(s, count, in.scalars.data(), in.idx.data(), in.points.data(), out.data(), status.data());
  const kernels::EcBatch eb = ec_batch(s, count, in, in.scalars.data(), in.idx.data(), in.nonces.data(),
                                       in.points.data(), in.digests.data(), in.sigs.data(), out.data(), status.data());
  // The fixed-base tables are built once per process, before timing.
  if (is_x25519(s))
    kernels::ed25519::base_table_host();
  else
    kernels::ec::base_table_host(eb.curve);
  for (auto _ : state) {
    if (is_x25519(s))
      kernels::x25519_batch_host(xb);
    else
      kernels::ec_batch_host(eb);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * count));
  check_statuses(state, s, status);
}

#if GPUTLS_HAVE_CUDA
using bench::cuda_ok;
using bench::CudaStreamEvents;
using bench::DeviceBuffer;
using bench::have_gpu;

void BM_kernel(benchmark::State& state, Spec s) {
  if (!have_gpu(state)) return;
  const auto count = static_cast<uint32_t>(state.range(0));
  const size_t B = coord(s);
  BatchInputs in;
  if (!make_batch_inputs(state, s, count, &in)) return;
  const std::vector<uint8_t>&h_scalars = in.scalars, &h_idx = in.idx_bytes, &h_points = in.points,
                             &h_digests = in.digests, &h_sigs = in.sigs, &h_nonces = in.nonces;

  DeviceBuffer d_scalars, d_idx, d_points, d_digests, d_sigs, d_nonces, d_out, d_status;
  CudaStreamEvents se;
  if (!cuda_ok(state, d_scalars.alloc(h_scalars.size()), "cudaMalloc") ||
      !cuda_ok(state, d_idx.alloc(h_idx.size()), "cudaMalloc") ||
      !cuda_ok(state, d_points.alloc(h_points.size()), "cudaMalloc") ||
      !cuda_ok(state, d_digests.alloc(h_digests.size()), "cudaMalloc") ||
      !cuda_ok(state, d_sigs.alloc(h_sigs.size()), "cudaMalloc") ||
      !cuda_ok(state, d_nonces.alloc(h_nonces.size()), "cudaMalloc") ||
      !cuda_ok(state, d_out.alloc(size_t{count} * 2 * B), "cudaMalloc") ||
      !cuda_ok(state, d_status.alloc(size_t{count} * sizeof(uint32_t)), "cudaMalloc") ||
      !cuda_ok(state, d_scalars.put(h_scalars), "cudaMemcpy") || !cuda_ok(state, d_idx.put(h_idx), "cudaMemcpy") ||
      !cuda_ok(state, d_points.put(h_points), "cudaMemcpy") ||
      !cuda_ok(state, d_digests.put(h_digests), "cudaMemcpy") || !cuda_ok(state, d_sigs.put(h_sigs), "cudaMemcpy") ||
      !cuda_ok(state, d_nonces.put(h_nonces), "cudaMemcpy") ||
      !cuda_ok(state, cudaMemset(d_status.p, 0xff, size_t{count} * sizeof(uint32_t)), "cudaMemset") ||
      !cuda_ok(state, cudaStreamCreateWithFlags(&se.stream, cudaStreamNonBlocking), "cudaStreamCreate") ||
      !cuda_ok(state, cudaEventCreate(&se.start), "cudaEventCreate") ||
      !cuda_ok(state, cudaEventCreate(&se.stop), "cudaEventCreate"))
    return;

  const kernels::X25519Batch xb =
      x25519_batch(s, count, d_scalars.as<const uint8_t>(), d_idx.as<const uint32_t>(), d_points.as<const uint8_t>(),
                   d_out.as<uint8_t>(), d_status.as<uint32_t>());
  const kernels::EcBatch eb = ec_batch(s, count, in, d_scalars.as<const uint8_t>(), d_idx.as<const uint32_t>(),
                                       d_nonces.as<const uint8_t>(), d_points.as<const uint8_t>(),
                                       d_digests.as<const uint8_t>(), d_sigs.as<const uint8_t>(), d_out.as<uint8_t>(),
                                       d_status.as<uint32_t>());
  time_launches(state, se, count, [&] {
    return is_x25519(s) ? kernels::launch_x25519_batch(xb, se.stream) : kernels::launch_ec_batch(eb, se.stream);
  });
  if (state.error_occurred()) return;
  std::vector<uint32_t> status(count);
  if (!cuda_ok(state, cudaMemcpy(status.data(), d_status.p, count * sizeof(uint32_t), cudaMemcpyDeviceToHost),
               "cudaMemcpy status"))
    return;
  check_statuses(state, s, status);
}
#endif

void register_all() {
  std::vector<Spec> specs = {{"x25519_keygen", 255, Kind::kKeygen}, {"x25519_derive", 255, Kind::kDerive}};
  for (int bits : {256, 384}) {
    const std::string c = "p" + std::to_string(bits);
    specs.push_back({c + "_keygen", bits, Kind::kKeygen});
    specs.push_back({c + "_ecdh_derive", bits, Kind::kDerive});
    specs.push_back({c + "_ecdsa_sign", bits, Kind::kSign});
    specs.push_back({c + "_ecdsa_verify", bits, Kind::kVerify});
  }
  for (const Spec& s : specs) {
    // CPU rows: default min time (0.5 s, or --benchmark_min_time); 54 CPU rows.
    benchmark::RegisterBenchmark((s.name + "/openssl/1").c_str(), BM_openssl, s);
    benchmark::RegisterBenchmark((s.name + "/engine_cpu").c_str(), BM_engine, s, false)->Arg(1)->Arg(64);
    benchmark::RegisterBenchmark((s.name + "/kernel_host").c_str(), BM_kernel_host, s)->Arg(64);
    benchmark::RegisterBenchmark((s.name + "/engine_gpu").c_str(), BM_engine, s, true)
        ->Arg(64)
        ->Arg(1024)
        ->Arg(16384)
        ->Arg(65536)
        ->UseRealTime();
#if GPUTLS_HAVE_CUDA
    benchmark::RegisterBenchmark((s.name + "/kernel_gpu").c_str(), BM_kernel, s)
        ->Arg(64)
        ->Arg(1024)
        ->Arg(16384)
        ->Arg(65536)
        ->UseManualTime();
#endif
  }
}

}  // namespace
}  // namespace gputls::engine

int main(int argc, char** argv) { return gputls::engine::bench::run_micro_benchmarks(argc, argv, gputls::engine::register_all); }
