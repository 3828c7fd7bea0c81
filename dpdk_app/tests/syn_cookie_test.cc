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
