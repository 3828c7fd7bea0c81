// Wire formats: Ethernet, ARP, IPv4, ICMP and TCP headers, read and written
// byte by byte in network order so no struct packing or alignment matters
// (frames come from NIC buffers at any offset).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace gputls::net {

using MacAddr = std::array<uint8_t, 6>;
using Ipv4Addr = uint32_t;  // host byte order everywhere inside the stack

inline constexpr MacAddr kBroadcastMac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

inline uint16_t load16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t load32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
inline void store16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v >> 8); p[1] = uint8_t(v); }
inline void store32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24); p[1] = uint8_t(v >> 16); p[2] = uint8_t(v >> 8); p[3] = uint8_t(v);
}
inline MacAddr load_mac(const uint8_t* p) { MacAddr m; std::memcpy(m.data(), p, 6); return m; }
inline void store_mac(uint8_t* p, const MacAddr& m) { std::memcpy(p, m.data(), 6); }

// Ethernet II
inline constexpr size_t kEthHeaderLen = 14;
inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr size_t kEthMinFrame = 60;  // without FCS; shorter frames are padded

// ARP for IPv4 over Ethernet
inline constexpr size_t kArpLen = 28;
inline constexpr uint16_t kArpRequest = 1;
inline constexpr uint16_t kArpReply = 2;

// IPv4
inline constexpr size_t kIpv4MinHeaderLen = 20;
inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint16_t kIpFlagMoreFragments = 0x2000;
inline constexpr uint16_t kIpFlagDontFragment = 0x4000;
inline constexpr uint16_t kIpFragOffsetMask = 0x1fff;

// ICMP
inline constexpr size_t kIcmpHeaderLen = 8;
inline constexpr uint8_t kIcmpEchoReply = 0;
inline constexpr uint8_t kIcmpEchoRequest = 8;

// TCP
inline constexpr size_t kTcpMinHeaderLen = 20;
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;
inline constexpr uint8_t kTcpUrg = 0x20;
inline constexpr uint8_t kTcpOptEnd = 0;
inline constexpr uint8_t kTcpOptNop = 1;
inline constexpr uint8_t kTcpOptMss = 2;
inline constexpr uint8_t kTcpOptWscale = 3;

// Parsed IPv4 header fields the stack uses.
struct Ipv4View {
  Ipv4Addr src = 0, dst = 0;
  uint8_t proto = 0, ttl = 0;
  uint16_t id = 0;
  size_t header_len = 0, total_len = 0;
  const uint8_t* payload = nullptr;
  size_t payload_len = 0;
};

// Parsed TCP segment.
struct TcpView {
  uint16_t src_port = 0, dst_port = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;  // raw, unscaled
  size_t header_len = 0;
  // Options (present only when the flag says so).
  bool has_mss = false, has_wscale = false;
  uint16_t mss = 0;
  uint8_t wscale = 0;
  const uint8_t* payload = nullptr;
  size_t payload_len = 0;
};

}  // namespace gputls::net
