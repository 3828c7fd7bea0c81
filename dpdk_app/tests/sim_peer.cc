#include "sim_peer.h"

#include <stdexcept>

#include "net/checksum.h"
#include "net/tcp_parse.h"

namespace gputls::test {

using namespace gputls::net;

namespace {
StackConfig make_config(const TcpConfig& tcp) {
  StackConfig c;
  c.mac = SimPeer::kServerMac;
  c.ip = SimPeer::kServerIp;
  c.tcp = tcp;
  c.secret = SipKey{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  return c;
}

void put_eth_ip(std::vector<uint8_t>& f, const MacAddr& dst, uint8_t proto, size_t l4_len,
                Ipv4Addr src = SimPeer::kPeerIp) {
  f.assign(14 + 20 + l4_len, 0);
  store_mac(f.data(), dst);
  store_mac(f.data() + 6, SimPeer::kPeerMac);
  store16(f.data() + 12, 0x0800);
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  store16(ip + 2, uint16_t(20 + l4_len));
  ip[8] = 64;
  ip[9] = proto;
  store32(ip + 12, src);
  store32(ip + 16, SimPeer::kServerIp);
  store16(ip + 10, checksum_finish(checksum_partial(ip, 20)));
}
}  // namespace

SimPeer::SimPeer(TcpConfig tcp, TcpApp* a)
    : app(a ? *a : static_cast<TcpApp&>(recorder)), stack(make_config(tcp), sink, stats, app) {
  stack.tcp().listen(80);
}

std::vector<uint8_t> SimPeer::tcp_frame(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                                        const std::string& data, uint16_t window,
                                        const SegmentOptions& opts) const {
  std::vector<uint8_t> o;
  if (opts.mss) { o.push_back(2); o.push_back(4); o.push_back(uint8_t(*opts.mss >> 8)); o.push_back(uint8_t(*opts.mss)); }
  if (opts.wscale) { o.push_back(1); o.push_back(3); o.push_back(3); o.push_back(*opts.wscale); }
  while (o.size() % 4) o.push_back(0);
  size_t hl = 20 + o.size(), l4 = hl + data.size();
  std::vector<uint8_t> f;
  put_eth_ip(f, kServerMac, kIpProtoTcp, l4, peer_ip);
  uint8_t* t = f.data() + 34;
  store16(t, sport);
  store16(t + 2, dport);
  store32(t + 4, seq);
  store32(t + 8, ack);
  t[12] = uint8_t((hl / 4) << 4);
  t[13] = flags;
  store16(t + 14, window);
  std::copy(o.begin(), o.end(), t + 20);
  std::copy(data.begin(), data.end(), t + hl);
  store16(t + 16, checksum_finish(checksum_partial(t, l4, pseudo_header_sum(peer_ip, kServerIp, kIpProtoTcp, l4))));
  return f;
}

std::vector<uint8_t> SimPeer::icmp_echo_frame(uint16_t id, uint16_t seqno, const std::string& data) const {
  std::vector<uint8_t> f;
  put_eth_ip(f, kServerMac, kIpProtoIcmp, 8 + data.size());
  uint8_t* p = f.data() + 34;
  p[0] = kIcmpEchoRequest;
  store16(p + 4, id);
  store16(p + 6, seqno);
  std::copy(data.begin(), data.end(), p + 8);
  store16(p + 2, checksum_finish(checksum_partial(p, 8 + data.size())));
  return f;
}

std::vector<uint8_t> SimPeer::arp_frame(uint16_t op, Ipv4Addr target_ip, const MacAddr& eth_dst) const {
  std::vector<uint8_t> f(60, 0);
  store_mac(f.data(), eth_dst);
  store_mac(f.data() + 6, kPeerMac);
  store16(f.data() + 12, kEtherTypeArp);
  uint8_t* a = f.data() + 14;
  store16(a, 1);
  store16(a + 2, 0x0800);
  a[4] = 6;
  a[5] = 4;
  store16(a + 6, op);
  store_mac(a + 8, kPeerMac);
  store32(a + 14, kPeerIp);
  store32(a + 24, target_ip);
  return f;
}

void SimPeer::deliver(const std::vector<uint8_t>& frame) {
  stack.input(frame.data(), frame.size(), now_us);
  stack.poll(now_us);
}

void SimPeer::advance_us(uint64_t us) {
  // Step in 1 ms increments so timers fire at their own time.
  uint64_t end = now_us + us;
  while (now_us < end) {
    now_us = std::min(end, now_us + 1000);
    stack.poll(now_us);
  }
}

std::vector<std::vector<uint8_t>> SimPeer::take_frames() {
  auto f = std::move(sink.frames);
  sink.frames.clear();
  return f;
}

std::vector<Seg> SimPeer::take_segments() {
  std::vector<Seg> out;
  for (auto& f : take_frames()) {
    if (f.size() < 34 || load16(f.data() + 12) != kEtherTypeIpv4) continue;
    Ipv4View ip;
    Drop why;
    if (!parse_ipv4(f.data() + 14, f.size() - 14, ip, why) || ip.proto != kIpProtoTcp) continue;
    // The stack's output must carry correct checksums: parse_tcp checks them.
    std::swap(ip.src, ip.dst);  // pseudo header is symmetric in src/dst
    TcpView v;
    if (!parse_tcp(ip, v, why) && why == Drop::kTcpBadChecksum) {
      throw std::runtime_error("stack sent a TCP segment with a bad checksum");
    }
    Seg s;
    s.flags = ip.payload[13];
    s.src_port = load16(ip.payload);
    s.dst_port = load16(ip.payload + 2);
    s.seq = load32(ip.payload + 4);
    s.ack = load32(ip.payload + 8);
    s.window = load16(ip.payload + 14);
    if (v.has_mss) s.mss = v.mss;
    if (v.has_wscale) s.wscale = v.wscale;
    size_t hl = size_t(ip.payload[12] >> 4) * 4;
    s.data.assign(reinterpret_cast<const char*>(ip.payload + hl), ip.payload_len - hl);
    out.push_back(s);
  }
  return out;
}

Seg SimPeer::handshake(uint16_t sport, uint32_t isn, const SegmentOptions& opts, uint16_t dport) {
  send(sport, isn, 0, kTcpSyn, "", 65535, opts, dport);
  auto segs = take_segments();
  if (segs.size() != 1 || !segs[0].has(kTcpSyn | kTcpAck)) throw std::runtime_error("no SYN-ACK");
  send(sport, isn + 1, segs[0].seq + 1, kTcpAck, "", 65535, {}, dport);
  return segs[0];
}

uint64_t drops(const CoreStats& s, Drop d) { return s.drops[size_t(d)].get(); }

}  // namespace gputls::test
