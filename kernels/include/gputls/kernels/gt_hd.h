// GT_HD marks arithmetic written once for both compilers: nvcc builds it for
// the device, g++ for the host, so host tests run the device's own code.
#pragma once

#if defined(__CUDACC__)
#define GT_HD __host__ __device__ __forceinline__
#define GT_DEVICE_BUILD 1
#else
#define GT_HD inline
#define GT_DEVICE_BUILD 0
#endif
