// Shared by the ctgrind-style checks: mark memory secret (undefined) or public
// (defined) for valgrind memcheck, and read back what it holds as undefined.
// Outside valgrind the client requests do nothing.
#pragma once

#include <valgrind/memcheck.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace gputls::kernels::ct {

template <class T>
void mark_secret(const T* p, size_t count) {
  VALGRIND_MAKE_MEM_UNDEFINED(p, count * sizeof(T));
}
template <class T>
void mark_public(const T* p, size_t count) {
  VALGRIND_MAKE_MEM_DEFINED(p, count * sizeof(T));
}

// How many bytes of [p, p + n) memcheck holds as (partly) undefined; -1 when
// not under valgrind. Reads shadow memory only: reports nothing.
inline long undefined_bytes(const void* p, size_t n) {
  std::vector<uint8_t> vbits(n);
  if (VALGRIND_GET_VBITS(p, vbits.data(), n) != 1) return -1;
  long u = 0;
  for (uint8_t v : vbits) u += v != 0;
  return u;
}

inline unsigned long errors_so_far() { return static_cast<unsigned long>(VALGRIND_COUNT_ERRORS); }

}  // namespace gputls::kernels::ct
