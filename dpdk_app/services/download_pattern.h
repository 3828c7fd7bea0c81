// The bytes the download service streams: byte i of every download is
// table[i % kPeriod], where the table is SHA-256(0) || SHA-256(1) || ...
// (counters as 8-byte big-endian) cut to kPeriod bytes. The period is not a
// power of two, so misplaced segments change the digest; clients rebuild the
// table independently (python: hashlib) to check what they received.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace gputls::services {

class DownloadPattern {
 public:
  static constexpr size_t kPeriod = 1048573;  // largest prime below 2^20
  DownloadPattern();
  // Copies len bytes of the stream starting at offset into dst.
  void fill(uint64_t offset, uint8_t* dst, size_t len) const;

 private:
  std::vector<uint8_t> table_;
};

}  // namespace gputls::services
