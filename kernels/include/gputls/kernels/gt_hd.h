// GT_HD marks arithmetic written once for both compilers: nvcc builds it for
// the device, g++ for the host, so host tests run the device's own code.
#pragma once

#include <cstdint>
#include <cstring>

// GT_UNROLL / GT_ROLLED: nvcc's loop pragmas, nothing for the host compiler
// (which would warn about a pragma it does not know).
#if defined(__CUDACC__)
#define GT_UNROLL _Pragma("unroll")
#define GT_ROLLED _Pragma("unroll 1")
#else
#define GT_UNROLL
#define GT_ROLLED
#endif

#if defined(__CUDACC__)
#define GT_HD __host__ __device__ __forceinline__
#define GT_DEVICE_BUILD 1
#else
#define GT_HD inline
#define GT_DEVICE_BUILD 0
#endif

// GT_HD_NOINLINE: for big bodies called from many places, one out-of-line
// copy each on the device (short nvcc compile times, small kernels and
// binaries); plain inline on the host.
#if defined(__CUDACC__)
#define GT_HD_NOINLINE __host__ __device__ __noinline__ inline
#else
#define GT_HD_NOINLINE inline
#endif

// GT_DECLASSIFY(p, n): bytes computed from secrets that the algorithm makes
// public (ML-KEM's rho, which is part of the public key). Nothing, except in
// the constant-time check's build (GPUTLS_CT_CHECK), where valgrind memcheck
// is told those bytes are public so branches on them are not reported.
#if defined(GPUTLS_CT_CHECK) && !defined(__CUDA_ARCH__)
#include <valgrind/memcheck.h>
#define GT_DECLASSIFY(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#else
#define GT_DECLASSIFY(p, n) ((void)0)
#endif

// GT_COUNT(name, n): counting build for the static performance model
// (scripts/gpu-model.sh). Empty unless GPUTLS_MODEL_COUNT is defined, and always
// empty in device code: the kernels and the normal host build are unchanged.
// With it, a host program (scripts/gpu_model_count.cc) defines the counter and
// runs one operation of each kernel's host twin to count its primitives exactly.
#if defined(GPUTLS_MODEL_COUNT) && !defined(__CUDA_ARCH__)
namespace gputls::kernels::model {
void count(const char* name, int n);
}  // namespace gputls::kernels::model
#define GT_COUNT(name, n) ::gputls::kernels::model::count(name, static_cast<int>(n))
#else
#define GT_COUNT(name, n) ((void)0)
#endif

// Counted code (the ML-KEM kernel): every loop's trips and every out-of-line
// function's calls come from the counting build, so the model weights each
// SASS instruction exactly without a rule per loop. A counted loop is written
//   GT_UNROLL_BY(u) for (...) { GT_TRIP(u);
// on one line: nvcc unrolls it by exactly u (1: not at all; the trip count a
// multiple of u), and the counting build counts its source trips under
// "trip:<file>:<line of the for>/u", which the model divides by u for the one
// SASS loop whose back edge carries that line. GT_CALLED(name) at the top of a
// GT_HD_NOINLINE function counts its calls. In a function template, whose
// instantiations are separate SASS functions, GT_TRIP_OF(u, A) and
// GT_CALLED_OF(name, A) count per value A of its (first) integer parameter.
#define GT_PRAGMA_(x) _Pragma(#x)
#if defined(__CUDACC__)
#define GT_UNROLL_BY(u) GT_PRAGMA_(unroll u)
#else
#define GT_UNROLL_BY(u)
#endif
#if defined(GPUTLS_MODEL_COUNT) && !defined(__CUDA_ARCH__)
namespace gputls::kernels::model {
void count_trip(const char* file, int line, int unroll, long arg);
}  // namespace gputls::kernels::model
#define GT_TRIP(u) ::gputls::kernels::model::count_trip(__FILE__, __LINE__, (u), -1)
#define GT_TRIP_OF(u, a) ::gputls::kernels::model::count_trip(__FILE__, __LINE__, (u), static_cast<long>(a))
#define GT_CALLED(name) ::gputls::kernels::model::count(name, 0)
#define GT_CALLED_OF(name, a) ::gputls::kernels::model::count(name, static_cast<int>(a))
#else
#define GT_TRIP(u) ((void)0)
#define GT_TRIP_OF(u, a) ((void)0)
#define GT_CALLED(name) ((void)0)
#define GT_CALLED_OF(name, a) ((void)0)
#endif

namespace gputls::kernels {

// Byte reversal of a 32-bit word: one PRMT on the device.
#if defined(__CUDACC__)
__host__ __device__ __forceinline__ uint32_t bswap32(uint32_t x) {
#if defined(__CUDA_ARCH__)
  return __byte_perm(x, 0, 0x0123);
#else
  return __builtin_bswap32(x);
#endif
}
#else
inline uint32_t bswap32(uint32_t x) { return __builtin_bswap32(x); }
#endif

// A word type that may alias any other (GNU may_alias, as char does): byte
// buffers read and written a word at a time without breaking type-based
// aliasing rules.
template <typename W>
using word_alias __attribute__((__may_alias__)) = W;

// Little-endian words at an address aligned to their size: one load or store
// on the device (a misaligned address faults there: callers guarantee the
// alignment), memcpy on the host (any address). Both sides are little-endian.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian hosts only");
template <typename W>
GT_HD W load_aligned_le(const uint8_t* p) {
#if defined(__CUDA_ARCH__)
  return *reinterpret_cast<const word_alias<W>*>(p);
#else
  W w;
  std::memcpy(&w, p, sizeof w);
  return w;
#endif
}

template <typename W>
GT_HD void store_aligned_le(uint8_t* p, W w) {
#if defined(__CUDA_ARCH__)
  *reinterpret_cast<word_alias<W>*>(p) = w;
#else
  std::memcpy(p, &w, sizeof w);
#endif
}

// Truth table of a 3-input logic function f(a, b, c), as LOP3 wants it: f
// evaluated on a = 0xf0, b = 0xcc, c = 0xaa.
template <typename F>
#if defined(__CUDACC__)
__host__ __device__
#endif
constexpr uint32_t lop3_table(F f) {
  return f(0xf0u, 0xccu, 0xaau) & 0xffu;
}

// Any 3-input logic function in one instruction on the device: ptxas does not
// always find the single LOP3 for a function written as an expression tree.
// On the host, the same function from its truth table.
template <uint32_t Lut>
#if defined(__CUDACC__)
__host__ __device__ __forceinline__
#else
inline
#endif
uint32_t lop3(uint32_t a, uint32_t b, uint32_t c) {
#if defined(__CUDA_ARCH__)
  uint32_t r;
  asm("lop3.b32 %0, %1, %2, %3, %4;" : "=r"(r) : "r"(a), "r"(b), "r"(c), "n"(Lut));
  return r;
#else
  uint32_t r = 0;
  for (uint32_t i = 0; i < 8; ++i)
    if ((Lut >> i) & 1) r |= ((i & 4) ? a : ~a) & ((i & 2) ? b : ~b) & ((i & 1) ? c : ~c);
  return r;
#endif
}

}  // namespace gputls::kernels
