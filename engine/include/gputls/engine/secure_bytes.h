// Byte buffers for key material: wiped with OPENSSL_cleanse when freed or
// resized, so secrets never linger in freed heap memory.
#pragma once

#include <openssl/crypto.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace gputls::engine {

template <class T>
struct CleansingAllocator {
  using value_type = T;
  CleansingAllocator() noexcept = default;
  template <class U>
  CleansingAllocator(const CleansingAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept {
    OPENSSL_cleanse(p, n * sizeof(T));
    std::allocator<T>{}.deallocate(p, n);
  }
  template <class U>
  bool operator==(const CleansingAllocator<U>&) const noexcept { return true; }
};

using SecureBytes = std::vector<uint8_t, CleansingAllocator<uint8_t>>;

// Wipes the contents now (the vector keeps its size, filled with zeros).
inline void wipe(SecureBytes& b) { OPENSSL_cleanse(b.data(), b.size()); }

}  // namespace gputls::engine
