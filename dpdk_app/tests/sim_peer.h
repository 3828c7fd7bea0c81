// A simulated peer for the protocol unit tests: it builds the frames a kernel
// client would send (its own header writer, checksums included), feeds them
// to one core's NetStack at a test-controlled time and decodes what the stack
// sends back. Nothing is random: every test is deterministic.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/net_stack.h"

namespace gputls::test {

using net::MacAddr;

// Collects frames the stack sends.
class MemorySink : public net::FrameSink {
 public:
  uint8_t* begin_frame(size_t max_len) override {
    if (fail) return nullptr;
    cur_.assign(max_len, 0);
    return cur_.data();
  }
  void commit_frame(size_t len) override {
    cur_.resize(len);
    frames.push_back(cur_);
  }
  std::vector<std::vector<uint8_t>> frames;
  bool fail = false;

 private:
  std::vector<uint8_t> cur_;
};

// Records application events; reads everything that arrives when auto_read.
class RecordingApp : public net::TcpApp {
 public:
  void on_open(net::TcpStack&, net::ConnId c, uint16_t) override { opened.push_back(c); last = c; }
  void on_readable(net::TcpStack& tcp, net::ConnId c) override {
    ++readable_events;
    if (!auto_read) return;
    uint8_t buf[4096];
    while (size_t n = tcp.recv(c, buf, sizeof buf)) received.append(reinterpret_cast<char*>(buf), n);
  }
  void on_writable(net::TcpStack&, net::ConnId) override { ++writable_events; }
  void on_peer_fin(net::TcpStack&, net::ConnId) override { ++peer_fins; }
  void on_closed(net::TcpStack&, net::ConnId c, net::CloseReason why) override {
    closed.push_back(c);
    close_reasons.push_back(why);
  }
  bool auto_read = true;
  std::vector<net::ConnId> opened, closed;
  std::vector<net::CloseReason> close_reasons;
  net::ConnId last;
  std::string received;
  int readable_events = 0, writable_events = 0, peer_fins = 0;
};

// A decoded TCP segment the stack sent.
struct Seg {
  uint8_t flags = 0;
  uint32_t seq = 0, ack = 0;
  uint16_t window = 0, src_port = 0, dst_port = 0;
  std::optional<uint16_t> mss;
  std::optional<uint8_t> wscale;
  std::string data;
  bool has(uint8_t f) const { return (flags & f) == f; }
};

struct SegmentOptions {
  std::optional<uint16_t> mss;
  std::optional<uint8_t> wscale;
};

class SimPeer {
 public:
  static constexpr net::Ipv4Addr kServerIp = 0x0a000001;  // 10.0.0.1
  static constexpr net::Ipv4Addr kPeerIp = 0x0a000002;    // 10.0.0.2
  static constexpr MacAddr kServerMac{0x02, 0, 0, 0, 0, 1};
  static constexpr MacAddr kPeerMac{0x02, 0, 0, 0, 0, 2};

  explicit SimPeer(net::TcpConfig tcp = {}, net::TcpApp* app = nullptr);

  // Frame builders (the peer's side).
  std::vector<uint8_t> tcp_frame(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                                 const std::string& data = "", uint16_t window = 65535,
                                 const SegmentOptions& opts = {}) const;
  std::vector<uint8_t> icmp_echo_frame(uint16_t id, uint16_t seqno, const std::string& data) const;
  std::vector<uint8_t> arp_frame(uint16_t op, net::Ipv4Addr target_ip, const MacAddr& eth_dst) const;

  // Deliver a frame at the current time, then run the stack's poll.
  void deliver(const std::vector<uint8_t>& frame);
  void send(uint16_t sport, uint32_t seq, uint32_t ack, uint8_t flags, const std::string& data = "",
            uint16_t window = 65535, const SegmentOptions& opts = {}, uint16_t dport = 80) {
    deliver(tcp_frame(sport, dport, seq, ack, flags, data, window, opts));
  }
  // Advances the clock and polls (timers fire).
  void advance_us(uint64_t us);

  // Decoded TCP segments the stack sent since the last call (non-TCP frames skipped).
  std::vector<Seg> take_segments();
  std::vector<std::vector<uint8_t>> take_frames();

  // Three-way handshake from sport (client ISN isn) with MSS 1460 and window
  // scale 7 unless told otherwise; returns the server's SYN-ACK.
  Seg handshake(uint16_t sport, uint32_t isn, const SegmentOptions& opts = {1460, 7}, uint16_t dport = 80);

  // The source address of the TCP frames built from now on (tests of
  // per-source limits switch it; ARP and ICMP stay at kPeerIp).
  net::Ipv4Addr peer_ip = kPeerIp;
  net::CoreStats stats;
  MemorySink sink;
  RecordingApp recorder;
  net::TcpApp& app;
  net::NetStack stack;
  uint64_t now_us = 1'000'000;
};

uint64_t drops(const net::CoreStats& s, net::Drop d);

}  // namespace gputls::test
