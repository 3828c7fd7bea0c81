// ARP reply and resolve, ICMP echo, IPv4 drops, through one core's stack.
#include <gtest/gtest.h>

#include "net/checksum.h"
#include "sim_peer.h"

using namespace gputls::net;
using namespace gputls::test;

TEST(Arp, RepliesToRequestsForOurAddressOnly) {
  SimPeer p;
  p.deliver(p.arp_frame(kArpRequest, SimPeer::kServerIp, kBroadcastMac));
  auto f = p.take_frames();
  ASSERT_EQ(f.size(), 1u);
  const uint8_t* a = f[0].data() + 14;
  EXPECT_EQ(load16(f[0].data() + 12), kEtherTypeArp);
  EXPECT_EQ(load16(a + 6), kArpReply);
  EXPECT_EQ(load_mac(a + 8), SimPeer::kServerMac);
  EXPECT_EQ(load32(a + 14), SimPeer::kServerIp);
  EXPECT_EQ(load_mac(a + 18), SimPeer::kPeerMac);
  EXPECT_EQ(load_mac(f[0].data()), SimPeer::kPeerMac);
  EXPECT_EQ(p.stats.arp_replies.get(), 1u);
  // The request taught us the peer's MAC.
  EXPECT_EQ(p.stack.arp().lookup(SimPeer::kPeerIp, p.now_us), SimPeer::kPeerMac);

  p.deliver(p.arp_frame(kArpRequest, 0x0a000063, kBroadcastMac));
  EXPECT_TRUE(p.take_frames().empty());
  EXPECT_EQ(drops(p.stats, Drop::kNotForUs), 1u);
}

TEST(Arp, ResolveSendsOneRequestThenLearnsTheReply) {
  SimPeer p;
  auto& arp = p.stack.arp();
  EXPECT_FALSE(arp.resolve(SimPeer::kPeerIp, p.now_us, p.stack.writer(), p.stats));
  EXPECT_FALSE(arp.resolve(SimPeer::kPeerIp, p.now_us + 10, p.stack.writer(), p.stats));  // rate limited
  auto f = p.take_frames();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(load_mac(f[0].data()), kBroadcastMac);
  EXPECT_EQ(load16(f[0].data() + 14 + 6), kArpRequest);
  EXPECT_EQ(load32(f[0].data() + 14 + 24), SimPeer::kPeerIp);
  p.deliver(p.arp_frame(kArpReply, SimPeer::kServerIp, SimPeer::kServerMac));
  EXPECT_EQ(arp.resolve(SimPeer::kPeerIp, p.now_us, p.stack.writer(), p.stats), SimPeer::kPeerMac);
  EXPECT_EQ(p.stats.arp_requests_sent.get(), 1u);
}

TEST(Icmp, EchoRequestGetsAMatchingReply) {
  SimPeer p;
  p.deliver(p.icmp_echo_frame(0x1234, 7, "hello, appliance"));
  auto f = p.take_frames();
  ASSERT_EQ(f.size(), 1u);
  Ipv4View ip;
  Drop why;
  ASSERT_TRUE(parse_ipv4(f[0].data() + 14, f[0].size() - 14, ip, why));
  EXPECT_EQ(ip.dst, SimPeer::kPeerIp);
  EXPECT_EQ(ip.proto, kIpProtoIcmp);
  EXPECT_EQ(ip.payload[0], kIcmpEchoReply);
  EXPECT_EQ(load16(ip.payload + 4), 0x1234);
  EXPECT_EQ(load16(ip.payload + 6), 7);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ip.payload + 8), ip.payload_len - 8), "hello, appliance");
  EXPECT_EQ(checksum_finish(checksum_partial(ip.payload, ip.payload_len)), 0);
  EXPECT_EQ(p.stats.icmp_echo_replies.get(), 1u);
}

TEST(Icmp, BadChecksumAndOtherTypesAreCounted) {
  SimPeer p;
  auto f = p.icmp_echo_frame(1, 1, "x");
  f[34 + 2] ^= 0xff;
  p.deliver(f);
  EXPECT_EQ(drops(p.stats, Drop::kIcmpBadChecksum), 1u);
  EXPECT_TRUE(p.take_frames().empty());
}

TEST(Ipv4, FragmentsAndBadFramesAreDroppedAndCounted) {
  SimPeer p;
  auto f = p.icmp_echo_frame(1, 1, "frag");
  f[14 + 6] = 0x20;  // MF
  f[14 + 10] = f[14 + 11] = 0;
  store16(f.data() + 24, checksum_finish(checksum_partial(f.data() + 14, 20)));
  p.deliver(f);
  EXPECT_EQ(drops(p.stats, Drop::kIpFragment), 1u);
  std::vector<uint8_t> runt(10, 0);
  p.deliver(runt);
  EXPECT_EQ(drops(p.stats, Drop::kRuntFrame), 1u);
  auto v6 = p.icmp_echo_frame(1, 1, "x");
  store16(v6.data() + 12, 0x86dd);
  p.deliver(v6);
  EXPECT_EQ(drops(p.stats, Drop::kUnknownEtherType), 1u);
  EXPECT_TRUE(p.take_frames().empty());
  EXPECT_EQ(p.stats.rx_packets.get(), 3u);
}
