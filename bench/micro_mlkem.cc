// ML-KEM-768 (FIPS 203) micro-benchmarks (names: op/impl/batch, see DESIGN.md), for op in
// mlkem768_keygen, mlkem768_encaps, mlkem768_decaps; items are operations. OpenSSL 3.0 has no
// ML-KEM, so there is no openssl row: the host code is the CPU reference.
//   <op>/kernel_host/1  the kernels' host code alone, one operation at a time on one core
//                       (kernels::mlkem_run_one: what the engine's CPU backend and the provider's
//                       software path run, and the GPU kernel's per-thread body compiled for the
//                       CPU). Counters: cycles_per_op = CPU time per operation x the TSC's rate
//                       (tsc_ghz, measured over the run against the steady clock: the CPU's
//                       nominal frequency where the TSC is invariant; a core running above it in
//                       turbo spends more real cycles than this says)
//   <op>/engine_cpu/B   through the engine's CPU backend in poll mode (no threads, one core)
//   <op>/engine_gpu/B   the engine with policy gpu and a flusher thread; skipped without a usable
//                       GPU, or when any request was served elsewhere than the GPU
//   <op>/kernel_gpu/B   the batch kernel alone on device-resident inputs, timed with CUDA events;
//                       skipped without a device (and in builds without CUDA)
// Every row checks what it timed: each request's status, and its output against references
// made at start-up by the host code (keygen: ek || dk from the same seed; encaps: K || c from
// the same ek and m; decaps: K), whose consistency is checked there (decapsulating each
// reference ciphertext gives its encapsulation's shared secret). Engine rows also check the
// engine's counters: every request served by the backend the row names.
#include <benchmark/benchmark.h>
#include <openssl/rand.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "gputls/engine/engine.h"
#include "gputls/kernels/mlkem_batch.h"
#include "micro_common.h"

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#if GPUTLS_HAVE_CUDA
#include <cuda_runtime_api.h>

#include "micro_cuda.h"

#include "gputls/kernels/mlkem_launch.h"
#endif

namespace gputls::engine {
namespace {

using Bytes = std::vector<uint8_t>;
using bench::engine_for;

constexpr size_t kDistinct = 64;  // distinct seeds / keys / ciphertexts, cycled over a batch

static_assert(mlkem_kernel_op(Op::kMlkemKeygen) == kernels::kMlkemKeygen &&
              mlkem_kernel_op(Op::kMlkemEncaps) == kernels::kMlkemEncaps &&
              mlkem_kernel_op(Op::kMlkemDecaps) == kernels::kMlkemDecaps);

struct Spec {
  std::string name;  // mlkem768_keygen, ...
  Op op;
};

// Per distinct item: the request's input and the output it must give.
struct Reference {
  std::vector<Bytes> in, out;
  std::string error;  // set when the references could not be made or are inconsistent
};

Bytes cat(const Bytes& a, const Bytes& b) {
  Bytes v = a;
  v.insert(v.end(), b.begin(), b.end());
  return v;
}

// Seeds, key pairs, encapsulations and decapsulations by the host code; for
// every item, decaps(dk, c) must give the K its encapsulation gave.
const Reference& reference(Op op) {
  static const auto all = [] {
    std::vector<Reference> r(3);
    Reference &kg = r[0], &en = r[1], &de = r[2];
    for (size_t i = 0; i < kDistinct; ++i) {
      Bytes seed(64), m(32);
      if (RAND_bytes(seed.data(), 64) != 1 || RAND_bytes(m.data(), 32) != 1) {
        kg.error = en.error = de.error = "RAND_bytes failed";
        break;
      }
      Bytes keys(mlkem_out_len(Op::kMlkemKeygen)), kc(mlkem_out_len(Op::kMlkemEncaps)),
          k2(mlkem_out_len(Op::kMlkemDecaps));
      const bool ok_kg = kernels::mlkem_run_one(kernels::kMlkemKeygen, seed.data(), keys.data()) == kernels::kMlkemOk;
      const Bytes pub(keys.begin(), keys.begin() + 1184), dk(keys.begin() + 1184, keys.end());
      const Bytes enc_in = cat(pub, m);
      const bool ok_en = ok_kg && kernels::mlkem_run_one(kernels::kMlkemEncaps, enc_in.data(), kc.data()) == kernels::kMlkemOk;
      const Bytes shared(kc.begin(), kc.begin() + 32), ct(kc.begin() + 32, kc.end());
      const Bytes dec_in = cat(dk, ct);
      const bool ok_de = ok_en && kernels::mlkem_run_one(kernels::kMlkemDecaps, dec_in.data(), k2.data()) == kernels::kMlkemOk;
      if (!ok_de || k2 != shared) {
        kg.error = en.error = de.error = "host code: decapsulation did not give the encapsulated shared secret";
        break;
      }
      kg.in.push_back(seed);
      kg.out.push_back(keys);
      en.in.push_back(enc_in);
      en.out.push_back(kc);
      de.in.push_back(dec_in);
      de.out.push_back(shared);
    }
    return r;
  }();
  return all[mlkem_kernel_op(op)];
}

// Count of outputs (packed at out_len, item i from reference item i % kDistinct)
// that differ from the reference; zero-length means nothing to compare.
size_t mismatches(const Reference& ref, const uint8_t* out, size_t count, size_t out_len) {
  size_t bad = 0;
  for (size_t i = 0; i < count; ++i)
    if (std::memcmp(out + i * out_len, ref.out[i % kDistinct].data(), out_len) != 0) ++bad;
  return bad;
}

void skip_on_mismatch(benchmark::State& state, size_t bad, size_t count, const char* what) {
  if (!bad) return;
  const std::string msg = std::to_string(bad) + " of " + std::to_string(count) + " " + what +
                          " outputs differ from the host code's reference";
  state.SkipWithError(msg.c_str());
}

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// The host code, one operation at a time (the provider's and the CPU
// backend's call), on this thread.
void BM_kernel_host(benchmark::State& state, Spec s) {
  const Reference& ref = reference(s.op);
  if (!ref.error.empty()) {
    state.SkipWithError(ref.error.c_str());
    return;
  }
  const uint32_t kop = mlkem_kernel_op(s.op);
  const size_t olen = mlkem_out_len(s.op);
  std::vector<uint8_t> out(kDistinct * olen, 0xaa);
  size_t i = 0, failed = 0;
  const double cpu0 = thread_cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
#if defined(__x86_64__)
  const uint64_t tsc0 = __rdtsc();
#endif
  for (auto _ : state) {
    const size_t j = i++ % kDistinct;
    failed += kernels::mlkem_run_one(kop, ref.in[j].data(), out.data() + j * olen) != kernels::kMlkemOk;
    benchmark::DoNotOptimize(out.data());
  }
#if defined(__x86_64__)
  const uint64_t tsc1 = __rdtsc();
#endif
  const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = thread_cpu_seconds() - cpu0;
  state.SetItemsProcessed(state.iterations());
  if (failed) {
    const std::string msg = std::to_string(failed) + " operations did not return ok";
    state.SkipWithError(msg.c_str());
    return;
  }
  const auto n = static_cast<double>(state.iterations());
#if defined(__x86_64__)
  if (n > 0 && ns > 0) {
    const double ghz = static_cast<double>(tsc1 - tsc0) / ns;
    state.counters["tsc_ghz"] = ghz;
    state.counters["cycles_per_op"] = cpu * 1e9 * ghz / n;
  }
#else
  (void)ns;
  (void)cpu;
  (void)n;
#endif
  skip_on_mismatch(state, mismatches(ref, out.data(), std::min<size_t>(kDistinct, state.iterations()), olen),
                   std::min<size_t>(kDistinct, state.iterations()), s.name.c_str());
}

// One iteration = one batch of B requests (no key: the secrets travel in
// the requests), submitted then completed.
void BM_engine(benchmark::State& state, Spec s, bool gpu) {
  const auto batch = static_cast<uint32_t>(state.range(0));
  const Reference& ref = reference(s.op);
  if (!ref.error.empty()) {
    state.SkipWithError(ref.error.c_str());
    return;
  }
  auto eng = engine_for(gpu ? Policy::kGpu : Policy::kCpu, batch, gpu ? 1 : 0);
  if (!eng || (gpu && !eng->gpu_available())) {
    state.SkipWithError(eng ? "no usable GPU" : "engine creation failed");
    return;
  }
  const size_t olen = mlkem_out_len(s.op);
  std::vector<Request> reqs(batch);
  std::vector<uint8_t> out(size_t{batch} * olen, 0xaa);
  for (size_t i = 0; i < batch; ++i) {
    const Bytes& in = ref.in[i % kDistinct];
    reqs[i].op = s.op;
    reqs[i].in = in.data();
    reqs[i].in_len = in.size();
    reqs[i].out = out.data() + i * olen;
    reqs[i].out_len = olen;
  }
  bool failed = false;
  for (auto _ : state) {
    size_t submitted = 0;
    for (auto& r : reqs) {
      if (eng->submit(r) != Status::kOk) {
        state.SkipWithError("submit refused");
        failed = true;
        break;
      }
      ++submitted;
    }
    if (!gpu) eng->poll(true);
    for (size_t i = 0; i < submitted; ++i)
      if (eng->wait(reqs[i]) != Status::kOk && !failed) {
        state.SkipWithError("request failed");
        failed = true;
      }
    if (failed) break;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
  if (failed) return;
  eng->shutdown();
  // Who served: every request by the backend the row names (a GPU row must measure the GPU).
  const BackendKind want = gpu ? BackendKind::kCuda : BackendKind::kCpu;
  const OpStats* st = eng->op_stats(s.op, 0);
  const uint64_t total = st ? st->counts().submitted : 0, served = st ? st->counts().served_by(want) : 0;
  const auto expected = static_cast<uint64_t>(state.iterations()) * batch;
  if (total != expected || served != total) {
    const std::string msg = std::to_string(total - std::min(total, served)) + " of " + std::to_string(total) +
                            " requests were not served by the " + (gpu ? "GPU" : "CPU backend") + " (expected " +
                            std::to_string(expected) + " requests)";
    state.SkipWithError(msg.c_str());
    return;
  }
  if (gpu && st->counts().batches)
    state.counters["avg_batch"] = static_cast<double>(total) / static_cast<double>(st->counts().batches);
  skip_on_mismatch(state, mismatches(ref, out.data(), batch, olen), batch, s.name.c_str());
}

#if GPUTLS_HAVE_CUDA
using bench::cuda_ok;
using bench::CudaStreamEvents;
using bench::DeviceBuffer;
using bench::have_gpu;

// The batch kernel alone: inputs cycled over the batch, resident on the
// device; statuses and outputs read back and checked after the run.
void BM_kernel_gpu(benchmark::State& state, Spec s) {
  if (!have_gpu(state)) return;
  const Reference& ref = reference(s.op);
  if (!ref.error.empty()) {
    state.SkipWithError(ref.error.c_str());
    return;
  }
  const auto count = static_cast<uint32_t>(state.range(0));
  const size_t ilen = mlkem_in_len(s.op), olen = mlkem_out_len(s.op);
  std::vector<uint8_t> h_in;
  h_in.reserve(size_t{count} * ilen);
  for (uint32_t i = 0; i < count; ++i) h_in.insert(h_in.end(), ref.in[i % kDistinct].begin(), ref.in[i % kDistinct].end());
  DeviceBuffer d_in, d_out, d_status;
  CudaStreamEvents se;
  if (!cuda_ok(state, d_in.alloc(h_in.size()), "cudaMalloc") ||
      !cuda_ok(state, d_out.alloc(size_t{count} * olen), "cudaMalloc") ||
      !cuda_ok(state, d_status.alloc(size_t{count} * sizeof(uint32_t)), "cudaMalloc") ||
      !cuda_ok(state, d_in.put(h_in), "cudaMemcpy") ||
      !cuda_ok(state, cudaMemset(d_status.p, 0xff, size_t{count} * sizeof(uint32_t)), "cudaMemset") ||
      !cuda_ok(state, cudaStreamCreateWithFlags(&se.stream, cudaStreamNonBlocking), "cudaStreamCreate") ||
      !cuda_ok(state, cudaEventCreate(&se.start), "cudaEventCreate") ||
      !cuda_ok(state, cudaEventCreate(&se.stop), "cudaEventCreate"))
    return;
  kernels::MlkemBatch b;
  b.in = d_in.as<const uint8_t>();
  b.out = d_out.as<uint8_t>();
  b.status = d_status.as<uint32_t>();
  b.count = count;
  b.op = mlkem_kernel_op(s.op);
  // The zeta tables' upload (once per device) before timing.
  if (!cuda_ok(state, kernels::launch_mlkem_batch(b, se.stream), "launch (warm-up)") ||
      !cuda_ok(state, cudaStreamSynchronize(se.stream), "cudaStreamSynchronize"))
    return;
  time_launches(state, se, count, [&] { return kernels::launch_mlkem_batch(b, se.stream); });
  if (state.error_occurred()) return;
  std::vector<uint32_t> status(count);
  std::vector<uint8_t> out(size_t{count} * olen);
  if (!cuda_ok(state, cudaMemcpy(status.data(), d_status.p, count * sizeof(uint32_t), cudaMemcpyDeviceToHost),
               "cudaMemcpy status") ||
      !cuda_ok(state, cudaMemcpy(out.data(), d_out.p, out.size(), cudaMemcpyDeviceToHost), "cudaMemcpy out"))
    return;
  const auto bad = std::count_if(status.begin(), status.end(), [](uint32_t v) { return v != kernels::kMlkemOk; });
  if (bad) {
    const std::string msg = std::to_string(bad) + " of " + std::to_string(count) + " items did not return ok";
    state.SkipWithError(msg.c_str());
    return;
  }
  skip_on_mismatch(state, mismatches(ref, out.data(), count, olen), count, s.name.c_str());
}
#else
// Registered in every build so the row's absence is explained, like the
// engine_gpu rows without a device.
void BM_kernel_gpu(benchmark::State& state, Spec) {
  state.SkipWithError("no usable GPU: built without CUDA (GPUTLS_CUDA=OFF or no nvcc)");
}
#endif

void register_all() {
  const Spec specs[] = {{"mlkem768_keygen", Op::kMlkemKeygen},
                        {"mlkem768_encaps", Op::kMlkemEncaps},
                        {"mlkem768_decaps", Op::kMlkemDecaps}};
  for (const Spec& s : specs) {
    benchmark::RegisterBenchmark((s.name + "/kernel_host/1").c_str(), BM_kernel_host, s);
    benchmark::RegisterBenchmark((s.name + "/engine_cpu").c_str(), BM_engine, s, false)->Arg(1)->Arg(64);
    benchmark::RegisterBenchmark((s.name + "/engine_gpu").c_str(), BM_engine, s, true)
        ->Arg(64)
        ->Arg(1024)
        ->Arg(16384)
        ->UseRealTime();
    benchmark::RegisterBenchmark((s.name + "/kernel_gpu").c_str(), BM_kernel_gpu, s)
        ->Arg(64)
        ->Arg(1024)
        ->Arg(16384)
        ->UseManualTime();
  }
}

}  // namespace
}  // namespace gputls::engine

int main(int argc, char** argv) {
  return gputls::engine::bench::run_micro_benchmarks(argc, argv, gputls::engine::register_all);
}
