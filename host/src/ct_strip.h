// Leading-zero strip of a DH shared secret in constant time. OpenSSL 3.0's
// DH_compute_key (the default provider's derive without `pad`) returns the
// secret without its leading zero bytes, so the output length depends on
// the secret; that length is the one thing this lets out. How many zeros
// there are is counted over every byte, and the shift is log2(len) passes
// of masked selects over the whole buffer: no branch and no memory index
// depends on the secret's bytes.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gputls::host {

// All ones when x == 0, else 0.
inline size_t ct_is_zero(size_t x) { return 0 - ((~x & (x - 1)) >> (sizeof(size_t) * 8 - 1)); }

// Moves buf[zeros..len) to buf[0..len-zeros) where zeros counts the leading
// zero bytes, zeroes the tail, and returns len - zeros.
inline size_t ct_strip_leading_zeros(uint8_t* buf, size_t len) {
  size_t zeros = 0, still = ~size_t{0};  // still: no nonzero byte seen yet
  for (size_t i = 0; i < len; ++i) {
    still &= ct_is_zero(buf[i]);
    zeros += still & 1;
  }
  // Shift left by `zeros` bytes, one power of two at a time: pass `s` moves
  // everything by s when bit s of zeros is set, touching every byte either way.
  for (size_t s = 1; s < len && s != 0; s <<= 1) {
    const uint8_t take = static_cast<uint8_t>(~ct_is_zero(zeros & s));
    for (size_t i = 0; i < len; ++i) {
      const uint8_t moved = i + s < len ? buf[i + s] : 0;  // i, s and len are public
      buf[i] = static_cast<uint8_t>((moved & take) | (buf[i] & ~take));
    }
  }
  const size_t n = len - zeros;
  for (size_t i = 0; i < len; ++i) {
    // keep: i < n, from the borrow of i - n (both below 2^63).
    const uint8_t keep = static_cast<uint8_t>(0 - ((i - n) >> (sizeof(size_t) * 8 - 1)));
    buf[i] &= keep;
  }
  return n;
}

}  // namespace gputls::host
