#include "net/checksum.h"

#include <bit>
#include <cstring>

namespace gputls::net {

namespace {
// s += w, counting the carry out in c (compilers emit an add and an adc).
inline void add_word(uint64_t& s, uint64_t& c, uint64_t w) {
  s += w;
  c += s < w;
}
inline uint64_t load64(const uint8_t* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}
}  // namespace

// RFC 1071 1.2: the one's-complement sum does not depend on byte order, so
// words are added in native order and the folded result is swapped to network
// order once. Whole 64-bit words are added with their carries counted apart
// (2^64 = 1 mod 0xffff, so each carry is worth one), in two chains so
// consecutive adds do not wait on each other: about a third of the
// instructions of adding 32-bit halves, on every frame the appliance checks
// or sends.
uint32_t checksum_partial(const uint8_t* data, size_t len, uint32_t sum) {
  uint64_t s0 = 0, s1 = 0, c0 = 0, c1 = 0;
  while (len >= 32) {
    add_word(s0, c0, load64(data));
    add_word(s1, c1, load64(data + 8));
    add_word(s0, c0, load64(data + 16));
    add_word(s1, c1, load64(data + 24));
    data += 32;
    len -= 32;
  }
  while (len >= 8) {
    add_word(s0, c0, load64(data));
    data += 8;
    len -= 8;
  }
  // The last 1-7 bytes in fixed-size pieces (a variable-length memcpy would be
  // a call, and most frames' headers end here); every piece starts at an even
  // offset, so adding its native value adds its 16-bit words. An odd last
  // byte is the high byte of a zero-padded big-endian word.
  uint64_t tail = 0;
  if (len >= 4) {
    uint32_t w;
    std::memcpy(&w, data, 4);
    tail += w;
    data += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t h;
    std::memcpy(&h, data, 2);
    tail += h;
    data += 2;
    len -= 2;
  }
  if (len) {
    uint16_t h = 0;
    std::memcpy(&h, data, 1);
    tail += h;
  }
  add_word(s1, c1, tail);
  // Value = s0 + s1 + 2^64 (c0 + c1) = s + 2^64 c = s + c (mod 0xffff).
  const uint64_t s = s0 + s1;
  const uint64_t c = c0 + c1 + (s < s0);
  uint64_t acc = s + c;
  acc += acc < c;  // end-around carry: cannot carry again (acc < c after a wrap)
  acc = (acc & 0xffffffff) + (acc >> 32);
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  uint32_t v = uint32_t(acc);
  if constexpr (std::endian::native == std::endian::little) v = ((v & 0xff) << 8) | (v >> 8);
  const uint64_t total = uint64_t(sum) + v;
  return uint32_t((total & 0xffffffff) + (total >> 32));
}

uint16_t checksum_finish(uint32_t sum) {
  uint64_t s = sum;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return uint16_t(~s);
}

uint32_t pseudo_header_sum(Ipv4Addr src, Ipv4Addr dst, uint8_t proto, size_t l4_len) {
  uint64_t s = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + l4_len;
  while (s >> 32) s = (s & 0xffffffff) + (s >> 32);
  return uint32_t(s);
}

}  // namespace gputls::net
