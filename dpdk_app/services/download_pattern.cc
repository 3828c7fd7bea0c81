#include "services/download_pattern.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cstring>

namespace gputls::services {

DownloadPattern::DownloadPattern() : table_(kPeriod) {
  uint8_t counter[8], digest[SHA256_DIGEST_LENGTH];
  for (uint64_t k = 0, pos = 0; pos < kPeriod; ++k) {
    for (int i = 0; i < 8; ++i) counter[i] = uint8_t(k >> (56 - 8 * i));
    SHA256(counter, sizeof counter, digest);
    size_t n = std::min<size_t>(sizeof digest, kPeriod - pos);
    std::memcpy(table_.data() + pos, digest, n);
    pos += n;
  }
}

void DownloadPattern::fill(uint64_t offset, uint8_t* dst, size_t len) const {
  size_t pos = size_t(offset % kPeriod);
  while (len) {
    size_t n = std::min(len, kPeriod - pos);
    std::memcpy(dst, table_.data() + pos, n);
    dst += n;
    len -= n;
    pos = 0;
  }
}

}  // namespace gputls::services
