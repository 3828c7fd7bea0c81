// GT_HD marks arithmetic written once for both compilers: nvcc builds it for
// the device, g++ for the host, so host tests run the device's own code.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define GT_HD __host__ __device__ __forceinline__
#define GT_DEVICE_BUILD 1
#else
#define GT_HD inline
#define GT_DEVICE_BUILD 0
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

}  // namespace gputls::kernels
