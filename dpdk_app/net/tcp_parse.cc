#include "net/tcp_parse.h"

#include "net/checksum.h"

namespace gputls::net {

namespace {

bool parse_options(const uint8_t* p, size_t len, TcpView& seg) {
  size_t i = 0;
  while (i < len) {
    uint8_t kind = p[i];
    if (kind == kTcpOptEnd) break;
    if (kind == kTcpOptNop) { ++i; continue; }
    if (i + 1 >= len) return false;
    uint8_t olen = p[i + 1];
    if (olen < 2 || i + olen > len) return false;
    if (kind == kTcpOptMss) {
      if (olen != 4) return false;
      seg.has_mss = true;
      seg.mss = load16(p + i + 2);
    } else if (kind == kTcpOptWscale) {
      if (olen != 3) return false;
      seg.has_wscale = true;
      seg.wscale = p[i + 2];
    }
    i += olen;
  }
  return true;
}

// Combinations no TCP sends (RFC 9293 plus scanner patterns): SYN with FIN
// or RST, no flags (null scan), FIN/PSH/URG or data without ACK (xmas and
// FIN scans).
bool flags_valid(uint8_t f) {
  if ((f & kTcpSyn) && (f & (kTcpFin | kTcpRst))) return false;
  if ((f & 0x3f) == 0) return false;
  if (!(f & kTcpAck) && !(f & (kTcpSyn | kTcpRst))) return false;
  if (!(f & kTcpAck) && (f & (kTcpFin | kTcpPsh | kTcpUrg))) return false;
  return true;
}

}  // namespace

bool parse_tcp(const Ipv4View& ip, TcpView& seg, Drop& why) {
  const uint8_t* p = ip.payload;
  size_t len = ip.payload_len;
  if (len < kTcpMinHeaderLen) { why = Drop::kTcpBadHeader; return false; }
  uint32_t sum = pseudo_header_sum(ip.src, ip.dst, kIpProtoTcp, len);
  if (checksum_finish(checksum_partial(p, len, sum)) != 0) { why = Drop::kTcpBadChecksum; return false; }
  seg.src_port = load16(p);
  seg.dst_port = load16(p + 2);
  seg.seq = load32(p + 4);
  seg.ack = load32(p + 8);
  seg.header_len = size_t(p[12] >> 4) * 4;
  seg.flags = p[13];
  seg.window = load16(p + 14);
  if (seg.header_len < kTcpMinHeaderLen || seg.header_len > len || seg.src_port == 0 || seg.dst_port == 0) {
    why = Drop::kTcpBadHeader;
    return false;
  }
  if (!parse_options(p + kTcpMinHeaderLen, seg.header_len - kTcpMinHeaderLen, seg)) {
    why = Drop::kTcpBadHeader;
    return false;
  }
  if (!flags_valid(seg.flags)) { why = Drop::kTcpBadFlags; return false; }
  seg.payload = p + seg.header_len;
  seg.payload_len = len - seg.header_len;
  return true;
}

}  // namespace gputls::net
