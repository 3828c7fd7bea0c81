// FIN sequences, TIME_WAIT and idle timeouts.
#include <gtest/gtest.h>

#include "sim_peer.h"

using namespace gputls::net;
using namespace gputls::test;

namespace {
uint32_t open(SimPeer& p) {
  auto sa = p.handshake(40000, 1000);
  p.take_segments();
  return sa.seq + 1;
}
}  // namespace

TEST(TcpClose, PassiveClose) {
  SimPeer p;
  uint32_t s0 = open(p);
  p.send(40000, 1001, s0, kTcpAck | kTcpFin, "bye");
  EXPECT_EQ(p.recorder.received, "bye");
  EXPECT_EQ(p.recorder.peer_fins, 1);
  auto s = p.take_segments();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].ack, 1005u);  // data + FIN
  p.stack.tcp().close(p.recorder.last);
  p.stack.poll(p.now_us);
  s = p.take_segments();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(s[0].has(kTcpFin | kTcpAck));
  EXPECT_EQ(s[0].seq, s0);
  EXPECT_TRUE(p.recorder.closed.empty());  // LAST_ACK
  p.send(40000, 1005, s0 + 1, kTcpAck);
  ASSERT_EQ(p.recorder.closed.size(), 1u);
  EXPECT_EQ(p.recorder.close_reasons[0], CloseReason::kNormal);
  EXPECT_EQ(p.stack.tcp().connections(), 0u);
  EXPECT_EQ(p.stats.tcp_conns_active.get(), 0u);
}

TEST(TcpClose, ActiveCloseWithDataThenTimeWait) {
  TcpConfig cfg;
  cfg.time_wait_us = 1'000'000;
  SimPeer p(cfg);
  uint32_t s0 = open(p);
  ConnId id = p.recorder.last;
  p.stack.tcp().send(id, reinterpret_cast<const uint8_t*>("abc"), 3);
  p.stack.tcp().close(id);
  EXPECT_EQ(p.stack.tcp().send(id, reinterpret_cast<const uint8_t*>("x"), 1), 0u);  // closed for sending
  p.stack.poll(p.now_us);
  auto s = p.take_segments();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].data, "abc");
  EXPECT_TRUE(s[0].has(kTcpFin));
  p.send(40000, 1001, s0 + 4, kTcpAck);  // FIN_WAIT_2
  EXPECT_EQ(p.stack.tcp().tcb(id)->state, TcpState::kFinWait2);
  p.send(40000, 1001, s0 + 4, kTcpAck | kTcpFin);
  s = p.take_segments();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].ack, 1002u);
  EXPECT_EQ(p.stats.tcp_time_wait.get(), 1u);
  EXPECT_EQ(p.recorder.closed.size(), 1u);  // app is done at TIME_WAIT
  EXPECT_EQ(p.stats.mem_bytes_in_use.get(), 0u);  // TIME_WAIT holds no buffers
  p.send(40000, 1001, s0 + 4, kTcpAck | kTcpFin);  // our ACK was lost
  s = p.take_segments();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].ack, 1002u);
  p.advance_us(1'100'000);
  EXPECT_EQ(p.stats.tcp_time_wait.get(), 0u);
  EXPECT_EQ(p.stack.tcp().connections(), 0u);
}

namespace {
// A connection we close whose peer ACKs our FIN and sends its own: TIME_WAIT
// (1 s) from now. Returns our initial sequence number.
uint32_t close_into_time_wait(SimPeer& p) {
  uint32_t s0 = open(p);
  p.stack.tcp().close(p.recorder.last);
  p.stack.poll(p.now_us);
  p.take_segments();
  p.send(40000, 1001, s0 + 1, kTcpAck | kTcpFin);
  return s0;
}
TcpConfig one_second_time_wait() {
  TcpConfig cfg;
  cfg.time_wait_us = 1'000'000;
  return cfg;
}
}  // namespace

// TIME_WAIT lasts time_wait_us from its start, and from each retransmitted
// FIN the peer sends (RFC 9293 3.10.7.4): the queue that times it keeps the
// restarted deadline, not the first.
TEST(TcpClose, TimeWaitRestartsOnARetransmittedFin) {
  SimPeer p(one_second_time_wait());
  const uint32_t s0 = close_into_time_wait(p);
  ASSERT_EQ(p.stats.tcp_time_wait.get(), 1u);
  p.advance_us(900'000);
  EXPECT_EQ(p.stats.tcp_time_wait.get(), 1u);  // not before its time
  p.send(40000, 1001, s0 + 1, kTcpAck | kTcpFin);  // our ACK was lost: restart
  p.advance_us(600'000);  // 1.5 s after the first FIN, 0.6 s after the second
  EXPECT_EQ(p.stats.tcp_time_wait.get(), 1u);
  p.advance_us(500'000);
  EXPECT_EQ(p.stats.tcp_time_wait.get(), 0u);
  EXPECT_EQ(p.stack.tcp().connections(), 0u);
}

// A peer resending its FIN at its packet rate restarts TIME_WAIT each time
// but adds nothing to the queue that times it (one entry per TCB); a FIN whose
// sequence number is not the one TIME_WAIT acknowledged is answered and does
// not extend it.
TEST(TcpClose, RetransmittedFinsKeepOneTimeWaitEntry) {
  SimPeer p(one_second_time_wait());
  const uint32_t s0 = close_into_time_wait(p);
  ASSERT_EQ(p.stats.tcp_time_wait.get(), 1u);
  p.take_segments();
  for (int i = 0; i < 10000; ++i) p.send(40000, 1001, s0 + 1, kTcpAck | kTcpFin);
  EXPECT_EQ(p.stack.tcp().time_wait_queue_size(), 1u);
  EXPECT_EQ(p.take_segments().size(), 10000u);  // each answered with an ACK
  p.advance_us(900'000);
  for (int i = 0; i < 100; ++i) p.send(40000, 5000, s0 + 1, kTcpAck | kTcpFin);  // not the FIN TIME_WAIT acked
  p.advance_us(200'000);
  EXPECT_EQ(p.stats.tcp_time_wait.get(), 0u) << "a FIN out of sequence extended TIME_WAIT";
  EXPECT_EQ(p.stack.tcp().time_wait_queue_size(), 0u);
}

TEST(TcpClose, SimultaneousClose) {
  TcpConfig cfg;
  cfg.time_wait_us = 1'000'000;
  SimPeer p(cfg);
  uint32_t s0 = open(p);
  ConnId id = p.recorder.last;
  p.stack.tcp().close(id);
  p.stack.poll(p.now_us);
  p.take_segments();
  p.send(40000, 1001, s0, kTcpAck | kTcpFin);  // peer FIN crosses ours
  EXPECT_EQ(p.stack.tcp().tcb(id)->state, TcpState::kClosing);
  p.send(40000, 1002, s0 + 1, kTcpAck);
  EXPECT_EQ(p.stats.tcp_time_wait.get(), 1u);
}

TEST(TcpClose, LostFinIsRetransmitted) {
  SimPeer p;
  uint32_t s0 = open(p);
  p.stack.tcp().close(p.recorder.last);
  p.stack.poll(p.now_us);
  ASSERT_EQ(p.take_segments().size(), 1u);
  p.advance_us(210'000);  // handshake RTT ~0: RTO at its 200 ms floor
  auto s = p.take_segments();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(s[0].has(kTcpFin));
  EXPECT_EQ(s[0].seq, s0);
}

TEST(TcpClose, IdleConnectionIsResetAndCounted) {
  TcpConfig cfg;
  cfg.idle_timeout_us = 5'000'000;
  SimPeer p(cfg);
  open(p);
  p.advance_us(4'000'000);
  EXPECT_TRUE(p.recorder.closed.empty());
  p.advance_us(1'100'000);
  ASSERT_EQ(p.recorder.closed.size(), 1u);
  EXPECT_EQ(p.recorder.close_reasons[0], CloseReason::kIdle);
  EXPECT_EQ(p.stats.tcp_conns_idle_timeout.get(), 1u);
  auto s = p.take_segments();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(s[0].has(kTcpRst));
}

TEST(TcpClose, HalfOpenConnectionsExpire) {
  TcpConfig cfg;
  cfg.max_synack_retransmits = 1;
  SimPeer p(cfg);
  for (uint16_t i = 0; i < 10; ++i) p.send(50000 + i, 1000, 0, kTcpSyn);
  EXPECT_EQ(p.stats.tcp_half_open.get(), 10u);
  p.advance_us(10'000'000);
  EXPECT_EQ(p.stats.tcp_half_open.get(), 0u);
  EXPECT_EQ(p.stack.tcp().connections(), 0u);
}

namespace {
// A connection from sport, closed by us, whose peer then ACKs our FIN and
// sends its own: it ends in TIME_WAIT.
void to_time_wait(SimPeer& p, uint16_t sport) {
  auto sa = p.handshake(sport, 1000);
  p.take_segments();
  p.stack.tcp().close(p.recorder.last);
  p.stack.poll(p.now_us);
  p.take_segments();  // our FIN
  p.send(sport, 1001, sa.seq + 2, kTcpAck | kTcpFin);
  p.take_segments();
}

// A table of max_connections TCBs of which at most max_time_wait in TIME_WAIT
// (60 s, so only recycling frees them); no per-source limit in the way.
TcpConfig time_wait_config(uint32_t max_connections, uint32_t max_time_wait) {
  TcpConfig cfg;
  cfg.max_connections = max_connections;
  cfg.max_time_wait = max_time_wait;
  cfg.max_per_source = 100;
  cfg.time_wait_us = 60'000'000;
  return cfg;
}
}  // namespace

// Issue 22.2: TIME_WAIT does not exhaust the table. A new connection that
// finds it full recycles the oldest TIME_WAIT TCB.
TEST(TcpTimeWait, OldestIsRecycledWhenTheTableIsFull) {
  SimPeer p(time_wait_config(8, 8));
  for (uint16_t i = 0; i < 8; ++i) to_time_wait(p, uint16_t(40000 + i));
  ASSERT_EQ(p.stats.tcp_time_wait.get(), 8u);
  ASSERT_EQ(p.stack.tcp().connections(), 8u);
  p.handshake(41000, 5000);
  EXPECT_EQ(p.recorder.opened.size(), 9u) << "a new connection was refused with the table full of TIME_WAIT";
  EXPECT_EQ(p.stats.tcp_time_wait_recycled.get(), 1u);
  EXPECT_EQ(p.stats.tcp_time_wait.get(), 7u);
  p.take_segments();
  p.send(40001, 1002, 0, kTcpAck | kTcpFin);  // still in TIME_WAIT: its FIN is ACKed again
  auto s = p.take_segments();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, kTcpAck);
  p.send(40000, 1002, 0, kTcpAck | kTcpFin);  // the oldest was recycled: no connection any more
  s = p.take_segments();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(s[0].has(kTcpRst));
}

TEST(TcpTimeWait, ShareOfTheTableIsBounded) {
  SimPeer p(time_wait_config(16, 4));
  for (uint16_t i = 0; i < 10; ++i) {
    to_time_wait(p, uint16_t(40000 + i));
    EXPECT_LE(p.stats.tcp_time_wait.get(), 4u);
  }
  EXPECT_EQ(p.stats.tcp_time_wait.get(), 4u);
  EXPECT_EQ(p.stats.tcp_time_wait_recycled.get(), 6u);
  EXPECT_EQ(p.stack.tcp().connections(), 4u);
  p.advance_us(61'000'000);  // the rest expire as usual
  EXPECT_EQ(p.stats.tcp_time_wait.get(), 0u);
  EXPECT_EQ(p.stack.tcp().connections(), 0u);
}
