#include "net/net_stack.h"

#include <cstring>

#include "net/checksum.h"

namespace gputls::net {

NetStack::NetStack(const StackConfig& cfg, FrameSink& sink, CoreStats& stats, TcpApp& app)
    : cfg_(cfg), stats_(stats), out_(sink, stats, cfg.mac, cfg.ip), tcp_(cfg.tcp, out_, stats, app, cfg.secret) {}

void NetStack::input(const uint8_t* frame, size_t len, uint64_t now_us) {
  stats_.rx_packets.add();
  stats_.rx_bytes.add(len);
  if (len < kEthHeaderLen) {
    stats_.drop(Drop::kRuntFrame);
    return;
  }
  uint16_t type = load16(frame + 12);
  if (type == kEtherTypeIpv4) {
    input_ipv4(frame, len, now_us);
  } else if (type == kEtherTypeArp) {
    input_arp(frame, len, now_us);
  } else {
    stats_.drop(Drop::kUnknownEtherType);
  }
}

void NetStack::input_arp(const uint8_t* frame, size_t len, uint64_t now_us) {
  if (len < kEthHeaderLen + kArpLen) {
    stats_.drop(Drop::kRuntFrame);
    return;
  }
  const uint8_t* a = frame + kEthHeaderLen;
  if (load16(a) != 1 || load16(a + 2) != kEtherTypeIpv4 || a[4] != 6 || a[5] != 4) {
    stats_.drop(Drop::kArpMalformed);
    return;
  }
  uint16_t op = load16(a + 6);
  MacAddr sender_mac = load_mac(a + 8);
  Ipv4Addr sender_ip = load32(a + 14);
  Ipv4Addr target_ip = load32(a + 24);
  if (target_ip != cfg_.ip) {
    stats_.drop(Drop::kNotForUs);
    return;
  }
  // RFC 826: merge the sender into the cache when the packet is for us.
  if (sender_ip != 0) arp_.learn(sender_ip, sender_mac, now_us);
  if (op == kArpRequest) {
    if (out_.send_arp(kArpReply, sender_mac, sender_mac, sender_ip)) stats_.arp_replies.add();
  } else if (op != kArpReply) {
    stats_.drop(Drop::kArpMalformed);
  }
}

bool parse_ipv4(const uint8_t* p, size_t len, Ipv4View& ip, Drop& why) {
  if (len < kIpv4MinHeaderLen) { why = Drop::kRuntFrame; return false; }
  size_t ihl = size_t(p[0] & 0x0f) * 4;
  if ((p[0] >> 4) != 4 || ihl < kIpv4MinHeaderLen) { why = Drop::kIpBadVersion; return false; }
  size_t total = load16(p + 2);
  // Ethernet pads short frames, so the frame may be longer than total_len.
  if (ihl > len || total < ihl || total > len) { why = Drop::kIpBadLength; return false; }
  if (checksum_finish(checksum_partial(p, ihl)) != 0) { why = Drop::kIpBadChecksum; return false; }
  uint16_t frag = load16(p + 6);
  if ((frag & kIpFlagMoreFragments) || (frag & kIpFragOffsetMask)) { why = Drop::kIpFragment; return false; }
  if (p[8] == 0) { why = Drop::kIpTtlZero; return false; }
  ip.header_len = ihl;
  ip.total_len = total;
  ip.id = load16(p + 4);
  ip.ttl = p[8];
  ip.proto = p[9];
  ip.src = load32(p + 12);
  ip.dst = load32(p + 16);
  ip.payload = p + ihl;
  ip.payload_len = total - ihl;
  return true;
}

void NetStack::input_ipv4(const uint8_t* frame, size_t len, uint64_t now_us) {
  Ipv4View ip;
  Drop why;
  if (!parse_ipv4(frame + kEthHeaderLen, len - kEthHeaderLen, ip, why)) {
    stats_.drop(why);
    return;
  }
  if (ip.dst != cfg_.ip) {
    stats_.drop(Drop::kNotForUs);
    return;
  }
  MacAddr src_mac = load_mac(frame + 6);
  if (ip.proto == kIpProtoTcp) {
    tcp_.input(src_mac, ip, now_us);
  } else if (ip.proto == kIpProtoIcmp) {
    input_icmp(src_mac, ip);
  } else {
    stats_.drop(Drop::kIpUnknownProto);
  }
}

void NetStack::input_icmp(const MacAddr& src_mac, const Ipv4View& ip) {
  if (ip.payload_len < kIcmpHeaderLen) {
    stats_.drop(Drop::kRuntFrame);
    return;
  }
  if (checksum_finish(checksum_partial(ip.payload, ip.payload_len)) != 0) {
    stats_.drop(Drop::kIcmpBadChecksum);
    return;
  }
  if (ip.payload[0] != kIcmpEchoRequest || ip.payload[1] != 0) {
    stats_.drop(Drop::kIcmpUnhandled);
    return;
  }
  uint8_t* p = out_.begin_ipv4(src_mac, ip.src, kIpProtoIcmp, ip.payload_len);
  if (!p) return;
  std::memcpy(p, ip.payload, ip.payload_len);  // same id, sequence and data
  p[0] = kIcmpEchoReply;
  store16(p + 2, 0);
  store16(p + 2, checksum_finish(checksum_partial(p, ip.payload_len)));
  out_.commit_ipv4();
  stats_.icmp_echo_replies.add();
}

}  // namespace gputls::net
