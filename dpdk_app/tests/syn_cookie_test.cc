// SYN flood protection: bounded backlog, then stateless SYN cookies.
#include <gtest/gtest.h>

#include "net/syn_cookie.h"
#include "sim_peer.h"

using namespace gputls::net;
using namespace gputls::test;

TEST(SynCookie, RoundTripAndForgeryAndAge) {
  SynCookies c(SipKey{1, 2});
  CookieParams p{1350, true, 7};
  uint64_t now = 1'000'000'000;
  uint32_t k = c.make(1, 2, 3, 4, 5000, p, now);
  auto got = c.check(1, 2, 3, 4, 5000, k, now + 1000);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->mss, 1300);  // largest table entry <= 1350
  EXPECT_TRUE(got->has_wscale);
  EXPECT_EQ(got->wscale, 7);
  EXPECT_FALSE(c.check(1, 2, 3, 5, 5000, k, now));        // other port
  EXPECT_FALSE(c.check(1, 2, 3, 4, 5001, k, now));        // other ISN
  EXPECT_FALSE(c.check(1, 2, 3, 4, 5000, k ^ 1, now));    // forged
  EXPECT_TRUE(c.check(1, 2, 3, 4, 5000, k, now + SynCookies::kPeriodUs));
  EXPECT_FALSE(c.check(1, 2, 3, 4, 5000, k, now + 3 * SynCookies::kPeriodUs));  // stale
}

// Issue 22.4: cookies are taken only within their lifetime after one was
// sent (no backlog overflow, no cookie), and the MAC (at least 24 bits)
// covers the MSS and window-scale bits too.
TEST(SynCookie, CheckedOnlyAfterARecentOverflow) {
  SynCookies sender(SipKey{1, 2}), idle(SipKey{1, 2});
  const uint64_t now = 1'000'000'000;
  const uint32_t k = sender.make(1, 2, 3, 4, 5000, CookieParams{1460, true, 7}, now);
  EXPECT_TRUE(sender.check(1, 2, 3, 4, 5000, k, now));
  EXPECT_FALSE(idle.check(1, 2, 3, 4, 5000, k, now)) << "same secret, but it sent no cookie";
  idle.make(9, 9, 9, 9, 1, CookieParams{}, now);
  EXPECT_TRUE(idle.check(1, 2, 3, 4, 5000, k, now)) << "after its own overflow";
  EXPECT_FALSE(idle.recently_sent(now + 2 * SynCookies::kPeriodUs));
}

TEST(SynCookie, MacCoversEveryEncodedField) {
  static_assert(SynCookies::kMacBits >= 24);
  SynCookies c(SipKey{3, 4});
  const uint64_t now = 5'000'000'000;
  const uint32_t k = c.make(1, 2, 3, 4, 5000, CookieParams{1460, true, 7}, now);
  ASSERT_TRUE(c.check(1, 2, 3, 4, 5000, k, now));
  for (uint32_t bit = SynCookies::kMacBits; bit < 32; ++bit)
    EXPECT_FALSE(c.check(1, 2, 3, 4, 5000, k ^ (1u << bit), now)) << "MSS / window-scale bit " << bit;
  // Guessing: 2^17 forged cookies for one tuple, none accepted (expected 2^17 * 2 / 2^25 = 0.008).
  uint32_t x = 0x12345678, accepted = 0;
  for (int i = 0; i < (1 << 17); ++i) {
    x = x * 1664525u + 1013904223u;
    if (x != k && c.check(1, 2, 3, 4, 5000, x, now)) ++accepted;
  }
  EXPECT_EQ(accepted, 0u);
}

TEST(SynCookie, StrayAckWithoutOverflowIsNotACookie) {
  SimPeer p;
  p.send(40000, 1001, 12345, kTcpAck);  // no SYN-ACK was ever sent
  EXPECT_EQ(p.stats.tcp_syn_cookies_accepted.get(), 0u);
  EXPECT_EQ(drops(p.stats, Drop::kTcpNoConnection), 1u);
  EXPECT_TRUE(p.recorder.opened.empty());
}

TEST(SynCookie, FloodBeyondBacklogGetsCookiesAndRealClientsStillConnect) {
  TcpConfig cfg;
  cfg.max_half_open = 4;
  SimPeer p(cfg);
  for (uint16_t i = 0; i < 50; ++i) p.send(20000 + i, 7000 + i, 0, kTcpSyn);  // spoofed, never ACKed
  EXPECT_EQ(p.stats.tcp_half_open.get(), 4u);
  EXPECT_EQ(p.stats.tcp_syn_cookies_sent.get(), 46u);
  EXPECT_EQ(p.stack.tcp().connections(), 4u);  // no state for the rest
  p.take_segments();
  // A real client during the flood completes with its cookie.
  p.send(40000, 1000, 0, kTcpSyn, "", 65535, {1460, 6});
  auto s = p.take_segments();
  ASSERT_EQ(s.size(), 1u);
  p.send(40000, 1001, s[0].seq + 1, kTcpAck, "GET");
  ASSERT_EQ(p.recorder.opened.size(), 1u);
  EXPECT_EQ(p.stats.tcp_syn_cookies_accepted.get(), 1u);
  EXPECT_EQ(p.stats.tcp_half_open.get(), 4u);  // the cookie connection never counted as half-open (fuzzer find)
  EXPECT_EQ(p.recorder.received, "GET");
  const Tcb* t = p.stack.tcp().tcb(p.recorder.last);
  EXPECT_EQ(t->snd_wscale, 6);
  EXPECT_EQ(t->mss, 1460);
  // A forged ACK is refused with RST.
  p.send(40001, 1001, s[0].seq + 1, kTcpAck);
  EXPECT_EQ(drops(p.stats, Drop::kTcpNoConnection), 1u);
}

TEST(SynCookie, WithoutCookiesTheBacklogBoundDropsSyns) {
  TcpConfig cfg;
  cfg.max_half_open = 4;
  cfg.syn_cookies = false;
  SimPeer p(cfg);
  for (uint16_t i = 0; i < 10; ++i) p.send(20000 + i, 7000, 0, kTcpSyn);
  EXPECT_EQ(p.stats.tcp_half_open.get(), 4u);
  EXPECT_EQ(drops(p.stats, Drop::kTcpBacklogFull), 6u);
}
