// Data both ways, reassembly, duplicates, flow control.
#include <gtest/gtest.h>

#include "sim_peer.h"

using namespace gputls::net;
using namespace gputls::test;

namespace {
struct Conn {
  SimPeer& p;
  uint32_t cseq, sseq;  // next client seq, next expected server seq
  void data(const std::string& d, uint32_t at, uint16_t win = 65535) { p.send(40000, at, sseq, kTcpAck, d, win); }
  void ack(uint32_t a, uint16_t win = 65535) { p.send(40000, cseq, a, kTcpAck, "", win); }
};
Conn open(SimPeer& p) {
  auto sa = p.handshake(40000, 1000);
  p.take_segments();
  return Conn{p, 1001, sa.seq + 1};
}
std::string pattern(size_t n) {
  std::string s(n, 0);
  for (size_t i = 0; i < n; ++i) s[i] = char('a' + (i * 7) % 26);
  return s;
}
}  // namespace

TEST(TcpData, InOrderDataIsDeliveredAndAcked) {
  SimPeer p;
  Conn c = open(p);
  c.data("hello ", 1001);
  c.data("world", 1007);
  EXPECT_EQ(p.recorder.received, "hello world");
  auto s = p.take_segments();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].ack, 1012u);
  EXPECT_EQ(s[1].window, (64u * 1024) >> 7);  // everything read: full window, scaled
}

TEST(TcpData, OutOfOrderSegmentsAreReassembled) {
  SimPeer p;
  Conn c = open(p);
  c.data("CCCC", 1009);
  c.data("BBBB", 1005);
  EXPECT_EQ(p.recorder.received, "");
  auto s = p.take_segments();
  ASSERT_EQ(s.size(), 2u);  // duplicate ACKs tell the peer where the hole is
  EXPECT_EQ(s[0].ack, 1001u);
  EXPECT_EQ(s[1].ack, 1001u);
  c.data("AAAA", 1001);
  EXPECT_EQ(p.recorder.received, "AAAABBBBCCCC");
  s = p.take_segments();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].ack, 1013u);
  EXPECT_EQ(p.stats.tcp_ooo_segments.get(), 2u);
}

TEST(TcpData, OverlappingAndDuplicateSegmentsAreTrimmed) {
  SimPeer p;
  Conn c = open(p);
  c.data("abcdef", 1001);
  c.data("abcdef", 1001);          // exact duplicate
  c.data("defghi", 1004);          // overlaps 3 bytes
  EXPECT_EQ(p.recorder.received, "abcdefghi");
  EXPECT_EQ(p.stats.tcp_dup_segments.get(), 1u);
  auto s = p.take_segments();
  EXPECT_EQ(s.back().ack, 1010u);
}

TEST(TcpData, OutOfOrderHolesAreBounded) {
  TcpConfig cfg;
  cfg.max_ooo_ranges = 2;
  SimPeer p(cfg);
  Conn c = open(p);
  c.data("x", 1011);
  c.data("x", 1021);
  c.data("x", 1031);  // a third hole: refused
  EXPECT_EQ(drops(p.stats, Drop::kTcpOooOverflow), 1u);
  c.data(std::string(20, 'y') + "x", 1001);  // fills up to 1021 inclusive
  EXPECT_EQ(p.recorder.received.size(), 21u);
  EXPECT_EQ(p.take_segments().back().ack, 1022u);
}

TEST(TcpData, ServerDataIsSegmentedByMssAndCwnd) {
  SimPeer p;
  Conn c = open(p);
  std::string big = pattern(20000);
  ConnId id = p.recorder.last;
  EXPECT_EQ(p.stack.tcp().send(id, reinterpret_cast<const uint8_t*>(big.data()), big.size()), big.size());
  p.stack.poll(p.now_us);
  auto s = p.take_segments();
  ASSERT_EQ(s.size(), 10u);  // initial cwnd 10 segments
  std::string got;
  for (auto& x : s) {
    EXPECT_LE(x.data.size(), 1460u);
    EXPECT_EQ(x.seq, c.sseq + got.size());
    got += x.data;
  }
  c.ack(c.sseq + uint32_t(got.size()));
  for (auto& x : p.take_segments()) got += x.data;
  EXPECT_EQ(got, big.substr(0, got.size()));
  EXPECT_GT(got.size(), 14600u);  // cwnd grew
}

TEST(TcpData, PeerWindowLimitsAndZeroWindowIsProbed) {
  SimPeer p;
  Conn c = open(p);
  ConnId id = p.recorder.last;
  std::string d = pattern(5000);
  // The peer advertises 1000 bytes (scale 7: 1000 >> 7 rounds; use raw 8 -> 1024).
  c.ack(c.sseq, 8);
  p.stack.tcp().send(id, reinterpret_cast<const uint8_t*>(d.data()), d.size());
  p.stack.poll(p.now_us);
  auto s = p.take_segments();
  size_t sent = 0;
  for (auto& x : s) sent += x.data.size();
  EXPECT_EQ(sent, 1024u);
  c.ack(c.sseq + 1024, 0);  // all acked, window closed
  EXPECT_TRUE(p.take_segments().empty());
  p.advance_us(1'100'000);  // persist timer: a probe
  s = p.take_segments();
  ASSERT_GE(s.size(), 1u);
  EXPECT_EQ(s[0].seq, c.sseq + 1024 - 1);
  EXPECT_GE(p.stats.tcp_zero_window_probes_sent.get(), 1u);
  c.ack(c.sseq + 1024, 100);  // window opens
  s = p.take_segments();
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s[0].seq, c.sseq + 1024);
  EXPECT_EQ(s[0].data, d.substr(1024, s[0].data.size()));
}

TEST(TcpData, OurZeroWindowRefusesDataAndReopensOnRead) {
  TcpConfig cfg;
  cfg.rcv_buf = 4096;
  SimPeer p(cfg);
  p.recorder.auto_read = false;
  Conn c = open(p);
  c.data(pattern(4096), 1001);
  auto s = p.take_segments();
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s.back().window, 0u);
  c.data("z", 1001 + 4096);  // zero-window probe from the peer
  s = p.take_segments();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].ack, 1001u + 4096);
  EXPECT_EQ(s[0].window, 0u);
  EXPECT_EQ(drops(p.stats, Drop::kTcpZeroWindow), 1u);
  uint8_t buf[4096];
  EXPECT_EQ(p.stack.tcp().recv(p.recorder.last, buf, sizeof buf), 4096u);
  p.stack.poll(p.now_us);
  s = p.take_segments();
  ASSERT_EQ(s.size(), 1u);  // window update
  EXPECT_EQ(s[0].window, 4096u >> 7);
}

TEST(TcpData, OutOfWindowSegmentGetsAckAndIsCounted) {
  SimPeer p;
  Conn c = open(p);
  c.data("far", 1001 + 10'000'000);
  auto s = p.take_segments();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].ack, 1001u);
  EXPECT_EQ(drops(p.stats, Drop::kTcpOutOfWindow), 1u);
  c.data("x", 1001, 65535);
  p.send(40000, 1002, c.sseq + 5000, kTcpAck);  // acks data never sent
  EXPECT_EQ(drops(p.stats, Drop::kTcpBadAck), 1u);
}

TEST(TcpData, SendBackpressureAndWritableEvent) {
  TcpConfig cfg;
  cfg.snd_buf = 4096;
  SimPeer p(cfg);
  Conn c = open(p);
  ConnId id = p.recorder.last;
  std::string d = pattern(6000);
  EXPECT_EQ(p.stack.tcp().send(id, reinterpret_cast<const uint8_t*>(d.data()), d.size()), 4096u);
  EXPECT_EQ(p.stack.tcp().send_space(id), 0u);
  p.stack.poll(p.now_us);
  p.take_segments();
  c.ack(c.sseq + 2000);
  EXPECT_EQ(p.recorder.writable_events, 1);
  EXPECT_EQ(p.stack.tcp().send_space(id), 2000u);
}

TEST(TcpData, NoTxBufferIsCountedAndRetriedByTheTimer) {
  SimPeer p;
  Conn c = open(p);
  ConnId id = p.recorder.last;
  p.sink.fail = true;
  p.stack.tcp().send(id, reinterpret_cast<const uint8_t*>("later"), 5);
  p.stack.poll(p.now_us);
  EXPECT_TRUE(p.take_segments().empty());
  EXPECT_GE(drops(p.stats, Drop::kTxNoBuffer), 1u);
  p.sink.fail = false;
  p.advance_us(1'100'000);
  auto s = p.take_segments();
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s[0].data, "later");
  EXPECT_EQ(s[0].seq, c.sseq);
}
