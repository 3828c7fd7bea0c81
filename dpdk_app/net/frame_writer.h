// Builds Ethernet + IPv4 frames into a FrameSink: the shared header work of
// ICMP, TCP and ARP output (addresses, lengths, IPv4 checksum, padding).
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/frame_sink.h"
#include "net/stats.h"
#include "net/wire.h"

namespace gputls::net {

class FrameWriter {
 public:
  FrameWriter(FrameSink& sink, CoreStats& stats, const MacAddr& mac, Ipv4Addr ip)
      : sink_(sink), stats_(stats), mac_(mac), ip_(ip) {}

  const MacAddr& mac() const { return mac_; }
  Ipv4Addr ip() const { return ip_; }

  // Starts an IPv4 frame to (dst_mac, dst_ip) with an L4 payload of exactly
  // l4_len bytes; returns where the L4 header goes, or nullptr (no buffer).
  uint8_t* begin_ipv4(const MacAddr& dst_mac, Ipv4Addr dst_ip, uint8_t proto, size_t l4_len);
  // Finishes the IPv4 frame begun last (IPv4 checksum, padding) and queues it.
  void commit_ipv4();

  // Sends an ARP packet (request or reply).
  bool send_arp(uint16_t op, const MacAddr& eth_dst, const MacAddr& target_mac, Ipv4Addr target_ip);

 private:
  FrameSink& sink_;
  CoreStats& stats_;
  MacAddr mac_;
  Ipv4Addr ip_;
  uint8_t* frame_ = nullptr;
  size_t frame_len_ = 0;
  uint16_t ip_id_ = 0;
};

}  // namespace gputls::net
