// One core's network stack: Ethernet demux, ARP, IPv4 header checks, ICMP
// echo and TCP. Pure C++: frames in (input), frames out (FrameSink), time
// passed in, so tests drive it deterministically and the DPDK port layer is a
// thin wrapper around it.
#pragma once

#include <cstdint>

#include "net/arp_cache.h"
#include "net/frame_writer.h"
#include "net/stats.h"
#include "net/tcp_stack.h"

namespace gputls::net {

struct StackConfig {
  MacAddr mac{};
  Ipv4Addr ip = 0;
  TcpConfig tcp;
  SipKey secret;  // per-core key for ISNs and SYN cookies
};

class NetStack {
 public:
  NetStack(const StackConfig& cfg, FrameSink& sink, CoreStats& stats, TcpApp& app);

  // One received Ethernet frame (FCS stripped).
  void input(const uint8_t* frame, size_t len, uint64_t now_us);
  // Timers and pending output; call after each rx burst (and when idle).
  void poll(uint64_t now_us) { tcp_.poll(now_us); }

  TcpStack& tcp() { return tcp_; }
  ArpCache& arp() { return arp_; }
  FrameWriter& writer() { return out_; }
  CoreStats& stats() { return stats_; }

 private:
  void input_arp(const uint8_t* frame, size_t len, uint64_t now_us);
  void input_ipv4(const uint8_t* frame, size_t len, uint64_t now_us);
  void input_icmp(const MacAddr& src_mac, const Ipv4View& ip);

  StackConfig cfg_;
  CoreStats& stats_;
  FrameWriter out_;
  ArpCache arp_;
  TcpStack tcp_;
};

// Parses and checks an IPv4 header (version, IHL, lengths, checksum,
// fragments, TTL); false with the reason otherwise.
bool parse_ipv4(const uint8_t* p, size_t len, Ipv4View& ip, Drop& why);

}  // namespace gputls::net
