#include "net/checksum.h"

#include <bit>
#include <cstring>

namespace gputls::net {

// RFC 1071 1.2: the one's-complement sum does not depend on byte order, so
// words are added in native order, 32 bits at a time into a 64-bit
// accumulator, and the folded result is swapped to network order once.
uint32_t checksum_partial(const uint8_t* data, size_t len, uint32_t sum) {
  uint64_t acc = 0;
  while (len >= 8) {
    uint64_t w;
    std::memcpy(&w, data, 8);
    acc += (w & 0xffffffffu) + (w >> 32);
    data += 8;
    len -= 8;
  }
  while (len >= 2) {
    uint16_t h;
    std::memcpy(&h, data, 2);
    acc += h;
    data += 2;
    len -= 2;
  }
  if (len) {  // the odd byte is the high byte of a zero-padded big-endian word
    uint16_t h = 0;
    std::memcpy(&h, data, 1);
    acc += h;
  }
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  uint32_t v = uint32_t(acc);
  if constexpr (std::endian::native == std::endian::little) v = ((v & 0xff) << 8) | (v >> 8);
  uint64_t s = uint64_t(sum) + v;
  return uint32_t((s & 0xffffffff) + (s >> 32));
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
