// AES-GCM record micro-benchmarks (names: op/impl/batch, see DESIGN.md). Ops:
// aes128gcm_seal_<bytes>, aes128gcm_open_<bytes>, aes256gcm_seal_<bytes> for
// records of 64, 1024 and 16384 bytes with a 13-byte AAD (the TLS 1.2 record
// header) and a fresh 96-bit nonce per record. items_per_second counts
// records, bytes_per_second payload bytes.
//   <op>/openssl/B             OpenSSL's EVP AES-GCM called directly (AES-NI / VAES), one
//                              core: B records per iteration over 64 keys, one context per key
//                              (as a server keeps one per connection), re-initialised with the IV
//   <op>/openssl/B/threads:N   the same on every core (N = the machine's cores)
//   <op>/engine_cpu/1          the engine with policy cpu, one record through run_now(): what
//                              the provider does per record when no GPU can batch it. The
//                              engine calls the default provider's GCM functions directly,
//                              without EVP's per-call wrapper, so it can beat the openssl row
//   <op>/engine_cpu/B          the engine with policy cpu in poll mode (one core): submit B
//                              records, poll, then wait for them (the batched path)
//   <op>/engine_gpu/B          the engine with policy gpu (records from host memory, results
//                              back to host memory), GPUTLS_AES_GPU_MIN_BYTES = 0; skipped
//                              without a usable GPU or when any record ran elsewhere
//   <op>/kernel_gpu/B          the two batch kernels alone on device-resident records (64
//                              keys), timed with CUDA events; statuses checked after the run
//   pcie_h2d_pinned/kernel_gpu/<MiB>, pcie_d2h_pinned/kernel_gpu/<MiB>
//                              pinned host <-> device copies of <MiB> MiB: the PCIe bound the
//                              engine_gpu rows are measured against (bytes_per_second)
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gputls/engine/cuda_backend.h"
#include "gputls/engine/engine.h"
#include "gputls/kernels/aes_gcm.h"
#include "../engine/tests/test_keys.h"

#if GPUTLS_HAVE_CUDA
#include <cuda_runtime_api.h>

#include "micro_cuda.h"

#include "gputls/kernels/aes_gcm_launch.h"
#endif

namespace gputls::engine {
namespace {

using testing::Bytes;

constexpr size_t kKeys = 64;  // distinct keys (connections) cycled over a batch
constexpr size_t kAad = 13;

struct Spec {
  std::string name;  // e.g. aes128gcm_seal_16384
  size_t key_bytes;
  bool seal;
  size_t len;
};

// Records of one spec: keys, nonces, AAD, inputs (for open: valid
// ciphertexts and tags from OpenSSL), outputs.
struct Records {
  std::vector<Bytes> keys;
  size_t count = 0;
  Bytes nonces, aad, in, out, tags;
};

const EVP_CIPHER* cipher_of(const Spec& s) { return s.key_bytes == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm(); }

// One record through a context that already holds its key: what a TLS
// server's record layer does per record.
bool evp_record(EVP_CIPHER_CTX* c, bool seal, const uint8_t* iv, const uint8_t* aad, const uint8_t* in, size_t len,
                uint8_t* out, uint8_t* tag) {
  int n = 0;
  uint8_t fin[16];
  bool ok = EVP_CipherInit_ex2(c, nullptr, nullptr, iv, seal ? 1 : 0, nullptr) == 1 &&
            EVP_CipherUpdate(c, nullptr, &n, aad, static_cast<int>(kAad)) == 1 &&
            EVP_CipherUpdate(c, out, &n, in, static_cast<int>(len)) == 1;
  if (ok && !seal) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
  ok = ok && EVP_CipherFinal_ex(c, fin, &n) == 1;
  if (ok && seal) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
  return ok;
}

struct Contexts {
  std::vector<EVP_CIPHER_CTX*> ctx;
  ~Contexts() {
    for (auto* c : ctx) EVP_CIPHER_CTX_free(c);
  }
  bool init(const Spec& s, const std::vector<Bytes>& keys) {
    for (const Bytes& k : keys) {
      ctx.push_back(EVP_CIPHER_CTX_new());
      if (!ctx.back() || EVP_EncryptInit_ex2(ctx.back(), cipher_of(s), k.data(), nullptr, nullptr) != 1) return false;
    }
    return true;
  }
};

bool make_records(const Spec& s, size_t count, Records* r) {
  r->count = count;
  for (size_t k = 0; k < kKeys; ++k) r->keys.push_back(testing::random_bytes(s.key_bytes));
  r->nonces = testing::random_bytes(12 * count);
  r->aad = testing::random_bytes(kAad * count);
  r->in = testing::random_bytes(s.len * count);
  r->out.assign(s.len * count, 0);
  r->tags.assign(16 * count, 0);
  if (s.seal) return true;
  // Open: valid ciphertexts and tags, sealed by OpenSSL.
  Contexts c;
  if (!c.init(s, r->keys)) return false;
  Bytes ct(s.len * count);
  for (size_t i = 0; i < count; ++i)
    if (!evp_record(c.ctx[i % kKeys], true, &r->nonces[12 * i], &r->aad[kAad * i], &r->in[s.len * i], s.len,
                    &ct[s.len * i], &r->tags[16 * i]))
      return false;
  r->in = std::move(ct);
  return true;
}

void set_counters(benchmark::State& state, const Spec& s, size_t records_per_iteration) {
  const auto n = static_cast<int64_t>(state.iterations() * records_per_iteration);
  state.SetItemsProcessed(n);
  state.SetBytesProcessed(n * static_cast<int64_t>(s.len));
}

// Every thread has its own records and contexts (threads:N rows: all cores).
void BM_openssl(benchmark::State& state, Spec s) {
  const auto batch = static_cast<size_t>(state.range(0));
  Records r;
  Contexts c;
  if (!make_records(s, std::max(batch, kKeys), &r) || !c.init(s, r.keys)) {
    state.SkipWithError("OpenSSL set-up failed");
    return;
  }
  for (auto _ : state) {
    for (size_t i = 0; i < batch; ++i) {
      if (!evp_record(c.ctx[i % kKeys], s.seal, &r.nonces[12 * i], &r.aad[kAad * i], &r.in[s.len * i], s.len,
                      &r.out[s.len * i], &r.tags[16 * i])) {
        state.SkipWithError("OpenSSL failed");
        return;
      }
    }
  }
  set_counters(state, s, batch);
}

std::unique_ptr<Engine> engine_for(Policy p, uint32_t batch, uint32_t flushers) {
  Config c;
  c.policy = p;
  c.batch_size = batch;
  c.flusher_threads = flushers;
  c.deadline_us = 100000;  // as micro_rsa: the deadline must not split batches while submitting
  c.auto_min_batch = 1;
  c.aes_gpu_min_bytes = 0;
  c.queue_capacity = batch * 2;
  c.quiet = true;
  std::string err;
  return Engine::create(c, &err);
}

void BM_engine(benchmark::State& state, Spec s, bool gpu) {
  const auto batch = static_cast<uint32_t>(state.range(0));
  auto eng = engine_for(gpu ? Policy::kGpu : Policy::kCpu, batch, gpu ? 1 : 0);
  if (!eng || (gpu && !eng->gpu_available())) {
    state.SkipWithError(eng ? "no usable GPU" : "engine creation failed");
    return;
  }
  Records r;
  if (!make_records(s, batch, &r)) {
    state.SkipWithError("record set-up failed");
    return;
  }
  std::vector<KeyHandle> handles(kKeys);
  for (size_t k = 0; k < kKeys; ++k) {
    AesKeyMaterial m;
    m.key.assign(r.keys[k].begin(), r.keys[k].end());
    if (eng->register_aes_key(m, &handles[k]) != Status::kOk) {
      state.SkipWithError("key registration failed");
      return;
    }
  }
  std::vector<AeadParams> aead(batch);
  std::vector<Request> reqs(batch);
  for (size_t i = 0; i < batch; ++i) {
    aead[i].nonce = &r.nonces[12 * i];
    aead[i].aad = &r.aad[kAad * i];
    aead[i].aad_len = kAad;
    aead[i].tag = &r.tags[16 * i];
    reqs[i].op = s.seal ? Op::kAesGcmSeal : Op::kAesGcmOpen;
    reqs[i].key = handles[i % kKeys];
    reqs[i].in = &r.in[s.len * i];
    reqs[i].in_len = s.len;
    reqs[i].out = &r.out[s.len * i];
    reqs[i].out_len = s.len;
    reqs[i].aead = &aead[i];
  }
  if (!gpu && batch == 1) {
    for (auto _ : state) {
      if (eng->run_now(reqs[0]) != Status::kOk) {
        state.SkipWithError("a record was refused or failed");
        return;
      }
    }
    set_counters(state, s, batch);
    return;
  }
  for (auto _ : state) {
    size_t submitted = 0;
    for (auto& q : reqs) {
      if (eng->submit(q) != Status::kOk) break;
      ++submitted;
    }
    if (!gpu) eng->poll(true);
    bool ok = submitted == reqs.size();
    for (size_t i = 0; i < submitted; ++i) ok = eng->wait(reqs[i]) == Status::kOk && ok;
    if (!ok) {
      state.SkipWithError("a record was refused or failed");
      return;
    }
  }
  set_counters(state, s, batch);
  if (!gpu) return;
  eng->shutdown();
  // A GPU row must measure the GPU (see micro_rsa).
  const OpStats* st = eng->op_stats(reqs[0].op, static_cast<uint32_t>(8 * s.key_bytes));
  if (st) {
    const uint64_t total = st->counts().submitted, on_gpu = st->counts().served_by(BackendKind::kCuda);
    if (on_gpu != total) {
      const std::string msg = std::to_string(total - on_gpu) + " of " + std::to_string(total) +
                              " records were not served by the GPU (engine fell back to the CPU)";
      state.SkipWithError(msg.c_str());
      return;
    }
    if (const uint64_t batches = st->counts().batches)
      state.counters["avg_batch"] = static_cast<double>(total) / static_cast<double>(batches);
  }
}

#if GPUTLS_HAVE_CUDA
using bench::cuda_ok;
using bench::CudaStreamEvents;
using bench::have_gpu;

// Device allocations of one benchmark, freed (after a wipe) at the end.
struct DeviceArena {
  std::vector<std::pair<void*, size_t>> blocks;
  ~DeviceArena() {
    for (auto& [p, n] : blocks) {
      cudaMemset(p, 0, n);
      cudaFree(p);
    }
  }
  template <class T>
  cudaError_t alloc(T** p, size_t bytes) {
    cudaError_t e = cudaMalloc(reinterpret_cast<void**>(p), bytes ? bytes : 16);
    if (e == cudaSuccess) blocks.emplace_back(*p, bytes ? bytes : 16);
    return e;
  }
};

void BM_kernel(benchmark::State& state, Spec s) {
  if (!have_gpu(state)) return;
  const auto count = static_cast<uint32_t>(state.range(0));
  Records r;
  if (!make_records(s, count, &r)) {
    state.SkipWithError("record set-up failed");
    return;
  }
  std::vector<kernels::AesGcmKey> keys(kKeys);
  for (size_t k = 0; k < kKeys; ++k) kernels::aes_gcm_key_init(keys[k], r.keys[k].data(), r.keys[k].size());
  DeviceArena arena;
  uint8_t *d_in, *d_out, *d_aad, *d_tags;
  kernels::AesGcmKey* d_keys;
  kernels::AesGcmRecord* d_recs;
  uint32_t *d_start, *d_acc, *d_status;
  std::vector<kernels::AesGcmRecord> recs(count);
  std::vector<uint32_t> start(count + 1);
  CudaStreamEvents se;  // destroyed on every return, the early ones too
  if (!cuda_ok(state, arena.alloc(&d_in, r.in.size()), "cudaMalloc") ||
      !cuda_ok(state, arena.alloc(&d_out, r.out.size()), "cudaMalloc") ||
      !cuda_ok(state, arena.alloc(&d_aad, r.aad.size()), "cudaMalloc") ||
      !cuda_ok(state, arena.alloc(&d_tags, r.tags.size()), "cudaMalloc") ||
      !cuda_ok(state, arena.alloc(&d_keys, kKeys * sizeof(kernels::AesGcmKey)), "cudaMalloc") ||
      !cuda_ok(state, arena.alloc(&d_recs, count * sizeof(kernels::AesGcmRecord)), "cudaMalloc") ||
      !cuda_ok(state, arena.alloc(&d_start, (count + 1) * sizeof(uint32_t)), "cudaMalloc") ||
      !cuda_ok(state, arena.alloc(&d_acc, count * 16), "cudaMalloc") ||
      !cuda_ok(state, arena.alloc(&d_status, count * sizeof(uint32_t)), "cudaMalloc"))
    return;
  for (uint32_t i = 0; i < count; ++i) {
    recs[i].in = d_in + s.len * i;
    recs[i].out = d_out + s.len * i;
    recs[i].aad = d_aad + kAad * i;
    recs[i].tag = d_tags + 16 * i;
    recs[i].len = static_cast<uint32_t>(s.len);
    recs[i].aad_len = kAad;
    recs[i].key_slot = i % kKeys;
    recs[i].op = s.seal ? kernels::kAesGcmSeal : kernels::kAesGcmOpen;
    std::memcpy(recs[i].nonce, &r.nonces[12 * i], 12);
  }
  kernels::AesGcmBatch b;
  b.items = kernels::aes_gcm_plan(recs.data(), count, start.data());
  b.records = d_recs;
  b.chunk_start = d_start;
  b.keys = d_keys;
  b.acc = d_acc;
  b.status = d_status;
  b.count = count;
  if (!cuda_ok(state, cudaMemcpy(d_in, r.in.data(), r.in.size(), cudaMemcpyHostToDevice), "cudaMemcpy") ||
      !cuda_ok(state, cudaMemcpy(d_aad, r.aad.data(), r.aad.size(), cudaMemcpyHostToDevice), "cudaMemcpy") ||
      !cuda_ok(state, cudaMemcpy(d_tags, r.tags.data(), r.tags.size(), cudaMemcpyHostToDevice), "cudaMemcpy") ||
      !cuda_ok(state, cudaMemcpy(d_keys, keys.data(), kKeys * sizeof(kernels::AesGcmKey), cudaMemcpyHostToDevice),
               "cudaMemcpy") ||
      !cuda_ok(state, cudaMemcpy(d_recs, recs.data(), count * sizeof(kernels::AesGcmRecord), cudaMemcpyHostToDevice),
               "cudaMemcpy") ||
      !cuda_ok(state, cudaMemcpy(d_start, start.data(), start.size() * sizeof(uint32_t), cudaMemcpyHostToDevice),
               "cudaMemcpy") ||
      !cuda_ok(state, cudaStreamCreateWithFlags(&se.stream, cudaStreamNonBlocking), "cudaStreamCreate") ||
      !cuda_ok(state, cudaEventCreate(&se.start), "cudaEventCreate") ||
      !cuda_ok(state, cudaEventCreate(&se.stop), "cudaEventCreate"))
    return;
  for (auto _ : state) {
    float ms = 0;
    if (!cuda_ok(state, cudaEventRecord(se.start, se.stream), "cudaEventRecord") ||
        !cuda_ok(state, kernels::launch_aes_gcm_batch(b, se.stream), "launch") ||
        !cuda_ok(state, cudaEventRecord(se.stop, se.stream), "cudaEventRecord") ||
        !cuda_ok(state, cudaStreamSynchronize(se.stream), "cudaStreamSynchronize") ||
        !cuda_ok(state, cudaEventElapsedTime(&ms, se.start, se.stop), "cudaEventElapsedTime"))
      break;
    state.SetIterationTime(static_cast<double>(ms) / 1e3);
  }
  set_counters(state, s, count);
  std::vector<uint32_t> status(count, 1);
  if (!state.error_occurred() &&
      cuda_ok(state, cudaMemcpy(status.data(), d_status, count * sizeof(uint32_t), cudaMemcpyDeviceToHost), "cudaMemcpy")) {
    const auto bad = std::count_if(status.begin(), status.end(), [](uint32_t st) { return st != kernels::kAesGcmOk; });
    if (bad) {
      const std::string msg = std::to_string(bad) + " of " + std::to_string(count) + " records did not return ok";
      state.SkipWithError(msg.c_str());
    }
  }
  OPENSSL_cleanse(keys.data(), keys.size() * sizeof(kernels::AesGcmKey));
}

// Pinned host <-> device copies: the bound for records that start and end in host memory.
void BM_pcie(benchmark::State& state, bool to_device) {
  if (!have_gpu(state)) return;
  const size_t bytes = static_cast<size_t>(state.range(0)) << 20;
  uint8_t *h = nullptr, *d = nullptr;
  CudaStreamEvents se;
  if (cuda_ok(state, cudaHostAlloc(reinterpret_cast<void**>(&h), bytes, cudaHostAllocDefault), "cudaHostAlloc") &&
      cuda_ok(state, cudaMalloc(reinterpret_cast<void**>(&d), bytes), "cudaMalloc") &&
      cuda_ok(state, cudaStreamCreateWithFlags(&se.stream, cudaStreamNonBlocking), "cudaStreamCreate") &&
      cuda_ok(state, cudaEventCreate(&se.start), "cudaEventCreate") &&
      cuda_ok(state, cudaEventCreate(&se.stop), "cudaEventCreate")) {
    std::memset(h, 0x5a, bytes);
    for (auto _ : state) {
      float ms = 0;
      if (!cuda_ok(state, cudaEventRecord(se.start, se.stream), "cudaEventRecord") ||
          !cuda_ok(state,
                   to_device ? cudaMemcpyAsync(d, h, bytes, cudaMemcpyHostToDevice, se.stream)
                             : cudaMemcpyAsync(h, d, bytes, cudaMemcpyDeviceToHost, se.stream),
                   "cudaMemcpyAsync") ||
          !cuda_ok(state, cudaEventRecord(se.stop, se.stream), "cudaEventRecord") ||
          !cuda_ok(state, cudaStreamSynchronize(se.stream), "cudaStreamSynchronize") ||
          !cuda_ok(state, cudaEventElapsedTime(&ms, se.start, se.stop), "cudaEventElapsedTime"))
        break;
      state.SetIterationTime(static_cast<double>(ms) / 1e3);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  }
  cudaFree(d);
  cudaFreeHost(h);
}
#endif

void register_all() {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<Spec> specs;
  for (size_t len : {64u, 1024u, 16384u}) {
    const std::string n = std::to_string(len);
    specs.push_back({"aes128gcm_seal_" + n, 16, true, len});
    specs.push_back({"aes128gcm_open_" + n, 16, false, len});
    specs.push_back({"aes256gcm_seal_" + n, 32, true, len});
  }
  for (const Spec& s : specs) {
    // GPU batches capped at 256 MiB of payload per batch.
    std::vector<int64_t> gpu_batches;
    for (int64_t b : {64, 1024, 16384, 65536})
      if (static_cast<size_t>(b) * s.len <= (size_t{256} << 20)) gpu_batches.push_back(b);
    // All cores first, then one core: bench_table.py takes the last openssl row as the reference.
    benchmark::RegisterBenchmark((s.name + "/openssl").c_str(), BM_openssl, s)->Arg(64)->Threads(cores)->UseRealTime();
    benchmark::RegisterBenchmark((s.name + "/openssl").c_str(), BM_openssl, s)->Arg(1)->Arg(64);
    benchmark::RegisterBenchmark((s.name + "/engine_cpu").c_str(), BM_engine, s, false)->Arg(1)->Arg(64);
    auto* eg = benchmark::RegisterBenchmark((s.name + "/engine_gpu").c_str(), BM_engine, s, true);
    for (int64_t b : gpu_batches) eg->Arg(b);
    eg->UseRealTime();
#if GPUTLS_HAVE_CUDA
    auto* kg = benchmark::RegisterBenchmark((s.name + "/kernel_gpu").c_str(), BM_kernel, s);
    kg->Arg(1);
    for (int64_t b : gpu_batches) kg->Arg(b);
    kg->UseManualTime();
#endif
  }
#if GPUTLS_HAVE_CUDA
  benchmark::RegisterBenchmark("pcie_h2d_pinned/kernel_gpu", BM_pcie, true)->Arg(1)->Arg(64)->Arg(256)->UseManualTime();
  benchmark::RegisterBenchmark("pcie_d2h_pinned/kernel_gpu", BM_pcie, false)->Arg(1)->Arg(64)->Arg(256)->UseManualTime();
#endif
}

}  // namespace
}  // namespace gputls::engine

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::string why;
  auto gpu = gputls::engine::make_cuda_backend({}, &why);
  benchmark::AddCustomContext("gputls_gpu", gpu ? gpu->description() : "none (" + why + ")");
  gpu.reset();
  gputls::engine::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
