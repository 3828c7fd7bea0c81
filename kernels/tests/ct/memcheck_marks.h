// Shared by the ctgrind-style checks: mark memory secret (undefined) or public
// (defined) for valgrind memcheck, and read back what it holds as undefined.
// Outside valgrind the client requests do nothing.
#pragma once

#include <valgrind/memcheck.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
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

// A check program's failures: each printed with the program's name, and
// counted for its exit status.
class Failures {
 public:
  explicit Failures(const char* program) : program_(program) {}
  void operator()(const std::string& what) {
    std::fprintf(stderr, "%s: FAIL: %s\n", program_, what.c_str());
    ++count_;
  }
  int count() const { return count_; }

 private:
  const char* program_;
  int count_ = 0;
};

}  // namespace gputls::kernels::ct
