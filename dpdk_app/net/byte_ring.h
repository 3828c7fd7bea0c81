// Fixed-capacity byte ring for one connection's send or receive data. The
// receive side also writes out-of-order data past the in-order end
// (write_at), inside the capacity, so reassembly needs no extra memory.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace gputls::net {

class ByteRing {
 public:
  ByteRing() = default;
  void attach(uint8_t* mem, size_t capacity) { mem_ = mem; cap_ = capacity; head_ = 0; size_ = 0; }
  void detach() { mem_ = nullptr; cap_ = 0; head_ = 0; size_ = 0; }
  uint8_t* memory() const { return mem_; }

  size_t capacity() const { return cap_; }
  size_t size() const { return size_; }
  size_t free() const { return cap_ - size_; }

  // Appends up to len bytes; returns how many fit.
  size_t append(const uint8_t* src, size_t len) {
    len = std::min(len, free());
    write_at(size_, src, len);
    size_ += len;
    return len;
  }
  // Writes at `offset` from the read head (offset + len <= capacity) without
  // changing size: out-of-order data waiting for the gap before it.
  void write_at(size_t offset, const uint8_t* src, size_t len) {
    size_t pos = (head_ + offset) % cap_;
    size_t first = std::min(len, cap_ - pos);
    std::memcpy(mem_ + pos, src, first);
    std::memcpy(mem_, src + first, len - first);
  }
  // Marks len bytes already written by write_at as in-order data.
  void commit(size_t len) { size_ += len; }
  // Copies len bytes starting `offset` from the head (offset + len <= size).
  void copy_out(size_t offset, uint8_t* dst, size_t len) const {
    size_t pos = (head_ + offset) % cap_;
    size_t first = std::min(len, cap_ - pos);
    std::memcpy(dst, mem_ + pos, first);
    std::memcpy(dst + first, mem_, len - first);
  }
  void consume(size_t len) {
    len = std::min(len, size_);
    head_ = cap_ ? (head_ + len) % cap_ : 0;
    size_ -= len;
  }

 private:
  uint8_t* mem_ = nullptr;
  size_t cap_ = 0, head_ = 0, size_ = 0;
};

}  // namespace gputls::net
