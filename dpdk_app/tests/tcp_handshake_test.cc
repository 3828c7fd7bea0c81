// Three-way handshake, options, listeners, bad segments and RST rules.
#include <gtest/gtest.h>

#include "net/checksum.h"
#include "sim_peer.h"

using namespace gputls::net;
using namespace gputls::test;

TEST(TcpHandshake, SynAckCarriesMssAndWindowScaleAndOpensOnAck) {
  SimPeer p;
  p.send(40000, 1000, 0, kTcpSyn, "", 65535, {1400, 5});
  auto s = p.take_segments();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(s[0].has(kTcpSyn | kTcpAck));
  EXPECT_EQ(s[0].ack, 1001u);
  EXPECT_EQ(s[0].mss, 1460);
  EXPECT_EQ(s[0].wscale, 7);
  EXPECT_EQ(p.stats.tcp_half_open.get(), 1u);
  EXPECT_TRUE(p.recorder.opened.empty());
  p.send(40000, 1001, s[0].seq + 1, kTcpAck);
  ASSERT_EQ(p.recorder.opened.size(), 1u);
  EXPECT_EQ(p.stats.tcp_half_open.get(), 0u);
  EXPECT_EQ(p.stats.tcp_conns_active.get(), 1u);
  const Tcb* t = p.stack.tcp().tcb(p.recorder.last);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->mss, 1400);  // min(ours, theirs)
  EXPECT_EQ(t->snd_wscale, 5);
  EXPECT_EQ(t->snd_wnd, 65535u << 5);
  EXPECT_EQ(p.stats.mem_bytes_in_use.get(), 128u * 1024);
}

TEST(TcpHandshake, NoWindowScaleUnlessThePeerOffersIt) {
  SimPeer p;
  p.send(40000, 1000, 0, kTcpSyn, "", 65535, {1460, std::nullopt});
  auto s = p.take_segments();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_FALSE(s[0].wscale.has_value());
  EXPECT_EQ(s[0].mss, 1460);
}

TEST(TcpHandshake, LostSynAckIsRetransmittedWithBackoffThenGivenUp) {
  TcpConfig cfg;
  cfg.max_synack_retransmits = 2;
  SimPeer p(cfg);
  p.send(40000, 1000, 0, kTcpSyn);
  ASSERT_EQ(p.take_segments().size(), 1u);
  p.advance_us(999'000);
  EXPECT_TRUE(p.take_segments().empty());
  p.advance_us(2'000);  // 1 s initial RTO
  EXPECT_EQ(p.take_segments().size(), 1u);
  p.advance_us(1'990'000);
  EXPECT_TRUE(p.take_segments().empty());
  p.advance_us(20'000);  // backed off to 2 s
  EXPECT_EQ(p.take_segments().size(), 1u);
  p.advance_us(5'000'000);  // third expiry: given up, no RST for a half-open
  EXPECT_TRUE(p.take_segments().empty());
  EXPECT_EQ(p.stats.tcp_half_open.get(), 0u);
  EXPECT_EQ(p.stack.tcp().connections(), 0u);
}

TEST(TcpHandshake, RetransmittedSynGetsTheSameSynAck) {
  SimPeer p;
  p.send(40000, 1000, 0, kTcpSyn);
  auto a = p.take_segments();
  p.send(40000, 1000, 0, kTcpSyn);
  auto b = p.take_segments();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].seq, b[0].seq);
  EXPECT_EQ(p.stats.tcp_half_open.get(), 1u);
}

TEST(TcpHandshake, ClosedPortGetsRst) {
  SimPeer p;
  p.send(40000, 1000, 0, kTcpSyn, "", 65535, {}, 81);
  auto s = p.take_segments();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(s[0].has(kTcpRst | kTcpAck));
  EXPECT_EQ(s[0].ack, 1001u);
  EXPECT_EQ(drops(p.stats, Drop::kTcpNoListener), 1u);
}

TEST(TcpHandshake, AckWithoutConnectionGetsRstAtItsAck) {
  SimPeer p;
  p.send(40000, 5000, 777777, kTcpAck, "data");
  auto s = p.take_segments();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, kTcpRst);
  EXPECT_EQ(s[0].seq, 777777u);
  EXPECT_EQ(drops(p.stats, Drop::kTcpNoConnection), 1u);
}

TEST(TcpHandshake, WrongAckInSynRcvdIsRefused) {
  SimPeer p;
  p.send(40000, 1000, 0, kTcpSyn);
  auto s = p.take_segments();
  p.send(40000, 1001, s[0].seq + 5, kTcpAck);
  auto r = p.take_segments();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].has(kTcpRst));
  EXPECT_TRUE(p.recorder.opened.empty());
  EXPECT_EQ(drops(p.stats, Drop::kTcpBadAck), 1u);
}

TEST(TcpBadSegments, InvalidFlagCombinationsAreDroppedSilently) {
  SimPeer p;
  p.send(40000, 1, 0, kTcpSyn | kTcpFin);
  p.send(40000, 1, 0, kTcpSyn | kTcpRst);
  p.send(40000, 1, 0, 0);                            // null scan
  p.send(40000, 1, 0, kTcpFin | kTcpPsh | kTcpUrg);  // xmas
  p.send(40000, 1, 0, kTcpFin);                      // FIN without ACK
  EXPECT_TRUE(p.take_segments().empty());
  EXPECT_EQ(drops(p.stats, Drop::kTcpBadFlags), 5u);
  EXPECT_EQ(p.stack.tcp().connections(), 0u);
}

TEST(TcpBadSegments, BadChecksumAndHeaderLengthAreCounted) {
  SimPeer p;
  auto f = p.tcp_frame(40000, 80, 1, 0, kTcpSyn);
  f[34 + 16] ^= 0x55;
  p.deliver(f);
  EXPECT_EQ(drops(p.stats, Drop::kTcpBadChecksum), 1u);
  auto g = p.tcp_frame(40000, 80, 1, 0, kTcpSyn);
  g[34 + 12] = 0xf0;  // 60-byte header in a 20-byte segment
  g[34 + 16] = g[34 + 17] = 0;
  uint32_t sum = pseudo_header_sum(SimPeer::kPeerIp, SimPeer::kServerIp, kIpProtoTcp, 20);
  store16(g.data() + 34 + 16, checksum_finish(checksum_partial(g.data() + 34, 20, sum)));
  p.deliver(g);
  EXPECT_EQ(drops(p.stats, Drop::kTcpBadHeader), 1u);
  EXPECT_TRUE(p.take_segments().empty());
}

TEST(TcpRst, ExactRstClosesInWindowRstGetsChallengeAck) {
  SimPeer p;
  auto sa = p.handshake(40000, 1000);
  p.take_segments();
  p.send(40000, 1001 + 100, sa.seq + 1, kTcpRst);  // in window, not exact
  auto s = p.take_segments();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, kTcpAck);
  EXPECT_EQ(s[0].ack, 1001u);
  EXPECT_EQ(p.stats.tcp_challenge_acks.get(), 1u);
  EXPECT_TRUE(p.recorder.closed.empty());
  p.send(40000, 1001 + 10'000'000, sa.seq + 1, kTcpRst);  // outside: ignored silently
  EXPECT_TRUE(p.take_segments().empty());
  p.send(40000, 1001, sa.seq + 1, kTcpRst);
  ASSERT_EQ(p.recorder.closed.size(), 1u);
  EXPECT_EQ(p.recorder.close_reasons[0], CloseReason::kReset);
  EXPECT_EQ(p.stats.tcp_conns_reset.get(), 1u);
  EXPECT_EQ(p.stats.mem_bytes_in_use.get(), 0u);
}

TEST(TcpRst, SynOnEstablishedConnectionGetsChallengeAck) {
  SimPeer p;
  auto sa = p.handshake(40000, 1000);
  p.take_segments();
  p.send(40000, 1005, 0, kTcpSyn);
  auto s = p.take_segments();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, kTcpAck);
  EXPECT_EQ(drops(p.stats, Drop::kTcpSynInWindow), 1u);
  EXPECT_TRUE(p.recorder.closed.empty());
  (void)sa;
}

TEST(TcpLimits, ConnectionMemoryIsBounded) {
  TcpConfig cfg;
  cfg.rcv_buf = cfg.snd_buf = 4096;
  cfg.mem_limit_bytes = 3 * 8192;  // three connections' buffers
  SimPeer p(cfg);
  for (uint16_t i = 0; i < 4; ++i) p.handshake(40000 + i, 1000);
  EXPECT_EQ(p.recorder.opened.size(), 3u);
  EXPECT_EQ(drops(p.stats, Drop::kTcpConnTableFull), 1u);
  EXPECT_EQ(p.stats.mem_bytes_in_use.get(), 3u * 8192);
  EXPECT_LE(p.stats.mem_bytes_peak.get(), p.stats.mem_bytes_limit.get());
}

// Issue 22.5: the peer's MAC follows only accepted segments. A blind segment
// from another MAC (out of the window, or an inexact RST) must not redirect
// the connection's frames; an accepted one (the peer's gateway changed) does.
TEST(TcpPeerMac, FollowsOnlyAcceptedSegments) {
  SimPeer p;
  auto sa = p.handshake(40000, 1000);
  p.advance_us(500'000);
  p.take_frames();
  const MacAddr kOther{0x02, 0, 0, 0, 0, 0x66};
  auto from = [&](const MacAddr& mac, uint32_t seq, uint8_t flags, const std::string& data) {
    auto f = p.tcp_frame(40000, 80, seq, sa.seq + 1, flags, data);
    std::copy(mac.begin(), mac.end(), f.begin() + 6);  // Ethernet source
    p.deliver(f);
    p.advance_us(500'000);  // any delayed ACK goes out
  };
  auto last_dst = [&] {
    auto frames = p.take_frames();
    MacAddr dst{};
    if (frames.empty()) {
      ADD_FAILURE() << "the stack sent nothing";
    } else {
      std::copy(frames.back().begin(), frames.back().begin() + 6, dst.begin());
    }
    return dst;
  };
  from(kOther, 1001 + 10'000'000, kTcpAck, "blind");  // out of the window: answered with an ACK
  EXPECT_EQ(last_dst(), SimPeer::kPeerMac);
  from(kOther, 1001 + 100, kTcpRst, "");  // in the window, not exact: challenge ACK
  EXPECT_EQ(last_dst(), SimPeer::kPeerMac);
  EXPECT_EQ(p.stats.tcp_challenge_acks.get(), 1u);
  from(kOther, 1001, kTcpAck | kTcpPsh, "hello");  // accepted: the peer moved
  EXPECT_EQ(p.recorder.received, "hello");
  EXPECT_EQ(last_dst(), kOther);
}

// Issue 22.2: one source may hold at most max_per_source connections
// (half-open and open; TIME_WAIT does not count); others are still served.
TEST(TcpLimits, PerSourceLimitLeavesOtherSourcesServed) {
  TcpConfig cfg;
  cfg.max_per_source = 3;
  SimPeer p(cfg);
  p.peer_ip = 0x0a000063;  // 10.0.0.99
  for (uint16_t i = 0; i < 3; ++i) p.send(uint16_t(30000 + i), 7000, 0, kTcpSyn);
  EXPECT_EQ(p.take_segments().size(), 3u);
  p.send(30003, 7000, 0, kTcpSyn);
  EXPECT_TRUE(p.take_segments().empty()) << "a fourth connection from the same source";
  EXPECT_EQ(drops(p.stats, Drop::kTcpPerSourceLimit), 1u);
  p.peer_ip = SimPeer::kPeerIp;
  p.handshake(40000, 1000);
  EXPECT_EQ(p.recorder.opened.size(), 1u) << "another source is served";
  p.peer_ip = 0x0a000063;
  p.advance_us(200'000'000);  // the half-open ones expire
  p.take_segments();
  p.send(30004, 7000, 0, kTcpSyn);
  EXPECT_EQ(p.take_segments().size(), 1u) << "the source's count went down as its connections went";
}
