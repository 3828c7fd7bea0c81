// Checksums and header parsing against independently known values.
#include <gtest/gtest.h>

#include <cstring>

#include "net/checksum.h"
#include "net/net_stack.h"
#include "net/ooo_ranges.h"
#include "net/byte_ring.h"
#include "net/siphash.h"

using namespace gputls::net;

TEST(Checksum, Rfc1071Example) {
  // RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (folded).
  const uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(checksum_finish(checksum_partial(d, sizeof d)), uint16_t(~0xddf2));
}

TEST(Checksum, KnownIpv4Header) {
  // A textbook IPv4 header whose checksum field is b861.
  uint8_t h[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(checksum_finish(checksum_partial(h, sizeof h)), 0xb861);
  h[10] = 0xb8;
  h[11] = 0x61;
  EXPECT_EQ(checksum_finish(checksum_partial(h, sizeof h)), 0);
}

TEST(Checksum, OddLengthPadsWithZero) {
  const uint8_t a[] = {0x12, 0x34, 0x56};
  const uint8_t b[] = {0x12, 0x34, 0x56, 0x00};
  EXPECT_EQ(checksum_partial(a, 3), checksum_partial(b, 4));
}

TEST(SipHash, ReferenceVector) {
  // From the SipHash paper, appendix A: key 00..0f, message 00..0e.
  SipKey k{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
  uint8_t m[15];
  for (int i = 0; i < 15; ++i) m[i] = uint8_t(i);
  EXPECT_EQ(siphash24(k, m, sizeof m), 0xa129ca6149be45e5ULL);
}

TEST(Ipv4Parse, RejectsBadHeaders) {
  uint8_t h[] = {0x45, 0x00, 0x00, 0x14, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06,
                 0x00, 0x00, 0x0a, 0x00, 0x00, 0x02, 0x0a, 0x00, 0x00, 0x01};
  auto fix = [&] { h[10] = h[11] = 0; store16(h + 10, checksum_finish(checksum_partial(h, 20))); };
  Ipv4View ip;
  Drop why;
  fix();
  EXPECT_TRUE(parse_ipv4(h, 20, ip, why));
  EXPECT_EQ(ip.src, 0x0a000002u);
  h[11] ^= 1;
  EXPECT_FALSE(parse_ipv4(h, 20, ip, why));
  EXPECT_EQ(why, Drop::kIpBadChecksum);
  h[6] = 0x20;  // more fragments
  fix();
  EXPECT_FALSE(parse_ipv4(h, 20, ip, why));
  EXPECT_EQ(why, Drop::kIpFragment);
  h[6] = 0x00; h[7] = 0x10;  // offset 16
  fix();
  EXPECT_FALSE(parse_ipv4(h, 20, ip, why));
  EXPECT_EQ(why, Drop::kIpFragment);
  h[7] = 0; h[0] = 0x65;  // version 6
  fix();
  EXPECT_FALSE(parse_ipv4(h, 20, ip, why));
  EXPECT_EQ(why, Drop::kIpBadVersion);
  h[0] = 0x45; h[3] = 0x40;  // total length past the frame
  fix();
  EXPECT_FALSE(parse_ipv4(h, 20, ip, why));
  EXPECT_EQ(why, Drop::kIpBadLength);
  h[3] = 0x14; h[8] = 0;
  fix();
  EXPECT_FALSE(parse_ipv4(h, 20, ip, why));
  EXPECT_EQ(why, Drop::kIpTtlZero);
}

TEST(OooRanges, MergesAndAdvances) {
  OooRanges r(3);
  EXPECT_TRUE(r.add(10, 20));
  EXPECT_TRUE(r.add(30, 40));
  EXPECT_TRUE(r.add(20, 30));  // bridges the two
  ASSERT_EQ(r.count(), 1u);
  EXPECT_TRUE(r.add(50, 60));
  EXPECT_TRUE(r.add(70, 80));
  EXPECT_FALSE(r.add(90, 100));  // a fourth hole is refused
  EXPECT_EQ(r.advance(10), 30u);  // 0..10 arrived: 10..40 follows in order
  ASSERT_EQ(r.count(), 2u);
  EXPECT_EQ(r.ranges()[0].begin, 10u);  // 50 - 40
}

TEST(ByteRing, WrapsAround) {
  uint8_t mem[8];
  ByteRing r;
  r.attach(mem, sizeof mem);
  const uint8_t a[] = {1, 2, 3, 4, 5, 6};
  EXPECT_EQ(r.append(a, 6), 6u);
  r.consume(4);
  EXPECT_EQ(r.append(a, 6), 6u);  // wraps
  EXPECT_EQ(r.append(a, 1), 0u);  // full
  uint8_t out[8];
  r.copy_out(0, out, 8);
  const uint8_t want[] = {5, 6, 1, 2, 3, 4, 5, 6};
  EXPECT_EQ(0, memcmp(out, want, 8));
}

// The plain RFC 1071 loop, 16 bits at a time.
static uint16_t reference_checksum(const uint8_t* d, size_t n, uint32_t sum) {
  uint64_t acc = sum;
  size_t i = 0;
  for (; i + 1 < n; i += 2) acc += uint32_t(d[i]) << 8 | d[i + 1];
  if (i < n) acc += uint32_t(d[i]) << 8;
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return uint16_t(~acc);
}

// The word-at-a-time sum against the plain RFC 1071 loop on random buffers of
// every length (past a full frame, so every path of the 32-byte loop and its
// tail runs) and alignment.
TEST(Checksum, MatchesReferenceLoop) {
  static uint8_t buf[1600];
  uint32_t x = 12345;
  for (auto& b : buf) b = uint8_t((x = x * 1103515245 + 12345) >> 16);
  for (size_t off = 0; off < 8; ++off)
    for (size_t n = 0; n + off <= sizeof buf; ++n)
      ASSERT_EQ(checksum_finish(checksum_partial(buf + off, n, 0xabcd)), reference_checksum(buf + off, n, 0xabcd))
          << "offset " << off << " length " << n;
}

// All-ones data carries out of every 64-bit add; all-zero data must not turn
// into 0xffff (nor the reverse), with and without a pseudo-header sum.
TEST(Checksum, CarriesAndZerosMatchReferenceLoop) {
  static uint8_t ones[1600], zeros[1600];
  std::memset(ones, 0xff, sizeof ones);
  for (uint32_t sum : {0u, 1u, 0xffffu, 0xfffeffffu})
    for (size_t n = 0; n <= sizeof ones; ++n) {
      ASSERT_EQ(checksum_finish(checksum_partial(ones, n, sum)), reference_checksum(ones, n, sum))
          << "ones, length " << n << " sum " << sum;
      ASSERT_EQ(checksum_finish(checksum_partial(zeros, n, sum)), reference_checksum(zeros, n, sum))
          << "zeros, length " << n << " sum " << sum;
    }
  // Words ~0, ~0, 1, 0 (little-endian): their 128-bit sum is 2^65 - 1, whose
  // halves 2^64 - 1 and 1 overflow when folded: the end-around carry.
  uint8_t fold[32] = {};
  std::memset(fold, 0xff, 16);
  fold[16] = 1;
  for (uint32_t sum : {0u, 1u, 0xffffu})
    ASSERT_EQ(checksum_finish(checksum_partial(fold, sizeof fold, sum)), reference_checksum(fold, sizeof fold, sum))
        << "folding carry, sum " << sum;
}
