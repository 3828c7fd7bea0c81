// Retransmission: RFC 6298 RTO with backoff and Karn, fast retransmit.
#include <gtest/gtest.h>

#include "sim_peer.h"

using namespace gputls::net;
using namespace gputls::test;

namespace {
struct Open {
  uint32_t sseq;
  ConnId id;
};
Open open(SimPeer& p, uint64_t rtt_us = 10'000) {
  p.send(40000, 1000, 0, kTcpSyn, "", 65535, {1460, 7});
  auto s = p.take_segments();
  p.advance_us(rtt_us);
  p.send(40000, 1001, s[0].seq + 1, kTcpAck);
  return Open{s[0].seq + 1, p.recorder.last};
}
void queue(SimPeer& p, ConnId id, size_t n) {
  std::string d(n, 'q');
  for (size_t i = 0; i < n; ++i) d[i] = char(i * 31);
  p.stack.tcp().send(id, reinterpret_cast<const uint8_t*>(d.data()), d.size());
  p.stack.poll(p.now_us);
}
}  // namespace

TEST(TcpLoss, RtoFollowsRfc6298AndBacksOff) {
  SimPeer p;
  Open o = open(p, 10'000);
  const Tcb* t = p.stack.tcp().tcb(o.id);
  // First sample R = 10 ms: SRTT = R, RTTVAR = R/2, RTO = max(SRTT + 4 RTTVAR, 200 ms).
  EXPECT_EQ(t->srtt_us, 10'000u);
  EXPECT_EQ(t->rttvar_us, 5'000u);
  EXPECT_EQ(t->rto_us, 200'000u);
  queue(p, o.id, 100);
  ASSERT_EQ(p.take_segments().size(), 1u);
  p.advance_us(199'000);
  EXPECT_TRUE(p.take_segments().empty());
  p.advance_us(2'000);
  auto s = p.take_segments();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seq, o.sseq);
  EXPECT_EQ(s[0].data.size(), 100u);
  EXPECT_EQ(t->rto_us, 400'000u);  // doubled
  p.advance_us(398'000);  // the retransmission went out at +201 ms
  EXPECT_TRUE(p.take_segments().empty());
  p.advance_us(3'000);  // due at +601 ms; timers fire within one 128 us wheel tick
  EXPECT_EQ(p.take_segments().size(), 1u);
  EXPECT_EQ(p.stats.tcp_rto_expirations.get(), 2u);
  // The ACK of a retransmitted segment gives no RTT sample (Karn).
  p.send(40000, 1001, o.sseq + 100, kTcpAck);
  EXPECT_EQ(t->srtt_us, 10'000u);
  EXPECT_EQ(t->retransmits, 0u);
}

TEST(TcpLoss, RetransmissionsExhaustedResetTheConnection) {
  TcpConfig cfg;
  cfg.max_retransmits = 3;
  SimPeer p(cfg);
  Open o = open(p);
  queue(p, o.id, 10);
  p.advance_us(20'000'000);
  ASSERT_EQ(p.recorder.closed.size(), 1u);
  EXPECT_EQ(p.recorder.close_reasons[0], CloseReason::kTimeout);
  auto s = p.take_segments();
  ASSERT_FALSE(s.empty());
  EXPECT_TRUE(s.back().has(kTcpRst));
  EXPECT_EQ(p.stats.mem_bytes_in_use.get(), 0u);
}

TEST(TcpLoss, ThreeDuplicateAcksTriggerFastRetransmit) {
  SimPeer p;
  Open o = open(p);
  queue(p, o.id, 5 * 1460);
  auto s = p.take_segments();
  ASSERT_EQ(s.size(), 5u);
  // Segment 0 lost: the peer acks nothing new three times.
  for (int i = 0; i < 2; ++i) p.send(40000, 1001, o.sseq, kTcpAck);
  EXPECT_TRUE(p.take_segments().empty());
  p.send(40000, 1001, o.sseq, kTcpAck);
  s = p.take_segments();
  ASSERT_GE(s.size(), 1u);
  EXPECT_EQ(s[0].seq, o.sseq);
  EXPECT_EQ(s[0].data.size(), 1460u);
  EXPECT_EQ(p.stats.tcp_fast_retransmits.get(), 1u);
  EXPECT_EQ(p.stats.tcp_rto_expirations.get(), 0u);
  const Tcb* t = p.stack.tcp().tcb(o.id);
  EXPECT_TRUE(t->in_recovery);
  p.send(40000, 1001, o.sseq + 5 * 1460, kTcpAck);  // everything arrived
  EXPECT_FALSE(t->in_recovery);
  EXPECT_EQ(t->cwnd, t->ssthresh);
}

TEST(TcpLoss, PartialAckRetransmitsTheNextHole) {
  SimPeer p;
  Open o = open(p);
  queue(p, o.id, 6 * 1460);
  p.take_segments();
  for (int i = 0; i < 3; ++i) p.send(40000, 1001, o.sseq, kTcpAck);
  p.take_segments();
  p.send(40000, 1001, o.sseq + 2 * 1460, kTcpAck);  // segments 0-1 in, 2 lost as well
  auto s = p.take_segments();
  ASSERT_GE(s.size(), 1u);
  EXPECT_EQ(s[0].seq, o.sseq + 2 * 1460);
}
