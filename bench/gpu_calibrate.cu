// Calibration of the static model's assumptions (scripts/gpu_model.py
// ASSUMPTIONS) on a real GPU: issue rates of the instructions the kernels are
// made of, and the bandwidth of the access patterns they use. Run first by
// scripts/gpu-check.sh; prints one JSON object.
//
// Rates are thread-operations per SM per clock, the model's unit, with the
// clock measured while the kernels run (clock64 against %globaltimer), so a
// GPU that does not hold its boost clock is not misread as a slow pipe.
//
// Each throughput kernel runs 8 independent dependency chains per thread at
// full occupancy, so latency is hidden and the pipe's rate is what is timed.
// The instruction is written in inline PTX so ptxas emits the one named
// (mad.lo -> IMAD, mad.hi -> IMAD.HI.U32, mad.wide -> IMAD.WIDE.U32, lop3 ->
// LOP3.LUT, fma.f64 -> DFMA; checked in the SASS of this build: one such
// instruction per step and nothing else in the loop but its counter).
#include <cuda_runtime_api.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <type_traits>
#include <vector>

namespace {

enum Op { kImad, kImadHi, kImadWide, kLop3, kDfma };
const char* const kOpNames[] = {"imad", "imad_hi", "imad_wide", "lop3", "dfma"};
const char* const kOpSass[] = {"IMAD", "IMAD.HI.U32", "IMAD.WIDE.U32", "LOP3.LUT", "DFMA"};
constexpr int kChains = 8;
constexpr int kUnroll = 16;
constexpr int kThreads = 256;

// The register type each instruction's chains run through.
template <int OP>
using ChainT = std::conditional_t<OP == kDfma, double, std::conditional_t<OP == kImadWide, uint64_t, uint32_t>>;

template <int OP>
__device__ __forceinline__ void step(ChainT<OP>& a, ChainT<OP> b, ChainT<OP> c) {
  if constexpr (OP == kImad) {
    asm volatile("mad.lo.u32 %0, %0, %1, %2;" : "+r"(a) : "r"(b), "r"(c));
  } else if constexpr (OP == kImadHi) {
    asm volatile("mad.hi.u32 %0, %0, %1, %2;" : "+r"(a) : "r"(b), "r"(c));
  } else if constexpr (OP == kImadWide) {  // a = lo(a) * b + a: one IMAD.WIDE.U32
    asm volatile("mad.wide.u32 %0, %1, %2, %0;" : "+l"(a) : "r"(static_cast<uint32_t>(a)), "r"(static_cast<uint32_t>(b)));
  } else if constexpr (OP == kLop3) {
    asm volatile("lop3.b32 %0, %0, %1, %2, 0x96;" : "+r"(a) : "r"(b), "r"(c));
  } else {
    asm volatile("fma.rn.f64 %0, %0, %1, %2;" : "+d"(a) : "d"(b), "d"(c));
  }
}

// Per thread: kChains chains x kUnroll steps x iters. The sum of every chain is
// written out so no step is dead code.
template <int OP>
__global__ void __launch_bounds__(kThreads) throughput_kernel(ChainT<OP>* out, uint32_t iters, ChainT<OP> b,
                                                              ChainT<OP> c) {
  using T = ChainT<OP>;
  T a[kChains];
#pragma unroll
  for (int k = 0; k < kChains; ++k) a[k] = static_cast<T>(threadIdx.x + 977u * k) + b;
  for (uint32_t i = 0; i < iters; ++i) {
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
#pragma unroll
      for (int k = 0; k < kChains; ++k) step<OP>(a[k], b, c);
    }
  }
  T x = 0;
#pragma unroll
  for (int k = 0; k < kChains; ++k) x += a[k];
  out[blockIdx.x * blockDim.x + threadIdx.x] = x;
}

// Reads `accesses` 4-byte words per thread, `rounds` times, through L2 only
// (ld.global.cg: the L1 cannot serve a repeat). Thread t's access k is at word
// k * stride_k + t * stride_t: limb-major (stride_k = threads, stride_t = 1: a
// warp's 32 accesses fill one 128 B line) or per-thread sectors (stride_k = 8,
// stride_t = 8 * accesses: every access its own 32 B sector, as the generic
// kernels' per-thread scratch did).
__global__ void __launch_bounds__(kThreads) read_kernel(const uint32_t* __restrict__ buf, uint32_t* out,
                                                        uint32_t accesses, uint64_t stride_k, uint64_t stride_t,
                                                        uint32_t rounds) {
  const uint64_t t = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x;
  uint32_t x = 0;
  for (uint32_t r = 0; r < rounds; ++r)
    for (uint32_t k = 0; k < accesses; ++k) x += __ldcg(buf + k * stride_k + t * stride_t) ^ r;
  out[t] = x;
}

// One thread spins and records SM cycles and nanoseconds: the clock the SMs ran at.
__global__ void clock_kernel(unsigned long long* out, unsigned long long spin_cycles) {
  unsigned long long t0, t1;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
  const long long c0 = clock64();
  while (clock64() - c0 < static_cast<long long>(spin_cycles)) {
  }
  const long long c1 = clock64();
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t1));
  out[0] = static_cast<unsigned long long>(c1 - c0);
  out[1] = t1 - t0;
}

bool ok(cudaError_t e, const char* what, std::string* err) {
  if (e == cudaSuccess) return true;
  *err = std::string(what) + ": " + cudaGetErrorString(e);
  return false;
}

// Seconds of one launch of f (timed with events, after one warm-up launch).
template <class F>
double time_launch(F f, std::string* err) {
  cudaEvent_t a, b;
  if (!ok(cudaEventCreate(&a), "cudaEventCreate", err) || !ok(cudaEventCreate(&b), "cudaEventCreate", err)) return -1;
  f();
  if (!ok(cudaDeviceSynchronize(), "warm-up", err)) return -1;
  cudaEventRecord(a);
  f();
  cudaEventRecord(b);
  if (!ok(cudaEventSynchronize(b), "cudaEventSynchronize", err) || !ok(cudaGetLastError(), "launch", err)) return -1;
  float ms = 0;
  cudaEventElapsedTime(&ms, a, b);
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return ms / 1e3;
}

}  // namespace

int main() {
  std::string err;
  int dev = 0, count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    std::printf("{\"error\": \"no usable GPU\"}\n");
    return 3;
  }
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, dev);
  int clock_khz = 0;
  cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, dev);
  const int sms = prop.multiProcessorCount;
  const int blocks = sms * (prop.maxThreadsPerMultiProcessor / kThreads);

  uint32_t* d_out = nullptr;
  unsigned long long* d_clk = nullptr;
  if (!ok(cudaMalloc(&d_out, sizeof(double) * blocks * kThreads), "cudaMalloc", &err) ||
      !ok(cudaMalloc(&d_clk, 2 * sizeof(unsigned long long)), "cudaMalloc", &err)) {
    std::printf("{\"error\": \"%s\"}\n", err.c_str());
    return 1;
  }

  // Measured SM clock (after the GPU is busy: the throughput kernels run first
  // once in time_launch's warm-up, so the clock is sampled after them too).
  auto measure_clock = [&]() -> double {
    clock_kernel<<<1, 1>>>(d_clk, 200000000ull);
    unsigned long long h[2] = {0, 0};
    if (cudaMemcpy(h, d_clk, sizeof h, cudaMemcpyDeviceToHost) != cudaSuccess || h[1] == 0) return 0;
    return static_cast<double>(h[0]) / static_cast<double>(h[1]);  // GHz
  };

  std::string rows;
  double ghz_sum = 0;
  int ghz_n = 0;
  const uint32_t iters = 200;  // about 0.4 s per instruction on an H100
  for (int op = kImad; op <= kDfma; ++op) {
    auto launch = [&]() {
      switch (op) {
        case kImad: throughput_kernel<kImad><<<blocks, kThreads>>>(d_out, iters, 3u, 5u); break;
        case kImadHi: throughput_kernel<kImadHi><<<blocks, kThreads>>>(d_out, iters, 3u, 5u); break;
        case kImadWide:
          throughput_kernel<kImadWide><<<blocks, kThreads>>>(reinterpret_cast<uint64_t*>(d_out), iters, 3u, 0u);
          break;
        case kLop3: throughput_kernel<kLop3><<<blocks, kThreads>>>(d_out, iters, 3u, 5u); break;
        default:
          throughput_kernel<kDfma><<<blocks, kThreads>>>(reinterpret_cast<double*>(d_out), iters, 1.0000001, 1e-9);
          break;
      }
    };
    const double s = time_launch(launch, &err);
    const double ghz = measure_clock();
    if (ghz > 0) ghz_sum += ghz, ++ghz_n;
    const double ops = static_cast<double>(blocks) * kThreads * iters * kUnroll * kChains;
    const double clk = (ghz > 0 ? ghz : clock_khz / 1e6) * 1e9;
    char row[512];
    std::snprintf(row, sizeof row,
                  "%s{\"name\": \"%s\", \"sass\": \"%s\", \"seconds\": %.6f, \"thread_ops\": %.0f, "
                  "\"per_sm_per_clock\": %.2f, \"clock_ghz_measured\": %.3f%s}",
                  rows.empty() ? "" : ", ", kOpNames[op], kOpSass[op], s, ops, s > 0 ? ops / s / sms / clk : -1.0,
                  ghz, s > 0 ? "" : ", \"error\": \"launch failed\"");
    rows += row;
  }

  // Memory: a 24 MiB buffer (fits the L2 of an H100/H200, not the L1s) read
  // limb-major and per-thread, and a 2 GiB buffer read limb-major (HBM).
  std::string mem;
  struct Pattern {
    const char* name;
    size_t bytes;
    bool coalesced;
    uint32_t rounds;
  } const patterns[] = {{"l2_coalesced", 24u << 20, true, 8},
                        {"l2_per_thread_sector", 24u << 20, false, 8},
                        {"hbm_coalesced", size_t{2} << 30, true, 4}};
  for (const Pattern& p : patterns) {
    uint32_t* buf = nullptr;
    if (cudaMalloc(&buf, p.bytes) != cudaSuccess) {
      cudaGetLastError();
      continue;
    }
    cudaMemset(buf, 1, p.bytes);
    const uint64_t threads = static_cast<uint64_t>(blocks) * kThreads;
    const uint32_t words = static_cast<uint32_t>(p.bytes / 4 / threads / (p.coalesced ? 1 : 8));
    uint32_t* out = nullptr;
    cudaMalloc(&out, threads * 4);
    auto launch = [&]() {
      read_kernel<<<blocks, kThreads>>>(buf, out, words, p.coalesced ? threads : 8, p.coalesced ? 1 : 8ull * words,
                                        p.rounds);
    };
    const double s = time_launch(launch, &err);
    const double ghz = measure_clock();
    const double clk = (ghz > 0 ? ghz : clock_khz / 1e6) * 1e9;
    // Bytes the memory system moves: 4 B per access coalesced, a 32 B sector per
    // access when every thread touches its own sector.
    const double accesses = static_cast<double>(threads) * words * p.rounds;
    const double moved = accesses * (p.coalesced ? 4.0 : 32.0);
    char row[512];
    std::snprintf(row, sizeof row,
                  "%s{\"name\": \"%s\", \"buffer_bytes\": %zu, \"seconds\": %.6f, \"bytes_moved\": %.0f, "
                  "\"tb_per_s\": %.3f, \"bytes_per_clock_per_sm\": %.2f}",
                  mem.empty() ? "" : ", ", p.name, p.bytes, s, moved, s > 0 ? moved / s / 1e12 : -1.0,
                  s > 0 ? moved / s / sms / clk : -1.0);
    mem += row;
    cudaFree(out);
    cudaFree(buf);
  }

  std::printf("{\"kind\": \"calibration\", \"device\": \"%s\", \"sms\": %d, \"clock_ghz_max\": %.3f, "
              "\"clock_ghz_measured_mean\": %.3f, \"threads_per_sm\": %d, \"instructions\": [%s], \"memory\": [%s]%s}\n",
              prop.name, sms, clock_khz / 1e6, ghz_n ? ghz_sum / ghz_n : 0.0, prop.maxThreadsPerMultiProcessor,
              rows.c_str(), mem.c_str(), err.empty() ? "" : (", \"error\": \"" + err + "\"").c_str());
  cudaFree(d_out);
  cudaFree(d_clk);
  return err.empty() ? 0 : 1;
}
