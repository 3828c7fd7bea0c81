// Segment output: data within min(peer window, cwnd), FIN, SYN-ACK, RST.
#include <algorithm>

#include "net/checksum.h"
#include "net/tcp_stack.h"

namespace gputls::net {

uint16_t TcpStack::advertised_window(Tcb& t) {
  uint32_t free = uint32_t(t.rcvq.free());
  if (t.rcvq.capacity() == 0) free = cfg_.rcv_buf;  // SYN_RCVD: buffers come at establishment
  uint32_t wnd = free >> t.rcv_wscale;
  wnd = std::min<uint32_t>(wnd, 0xffff);
  // Never shrink the window already offered (RFC 9293 3.8.6.2.2).
  uint32_t edge = t.rcv_nxt + (wnd << t.rcv_wscale);
  if (seq_lt(edge, t.rcv_adv)) {
    wnd = std::min<uint32_t>((t.rcv_adv - t.rcv_nxt + (1u << t.rcv_wscale) - 1) >> t.rcv_wscale, 0xffff);
    edge = t.rcv_nxt + (wnd << t.rcv_wscale);
  }
  t.rcv_adv = edge;
  return uint16_t(wnd);
}

void TcpStack::send_raw(const MacAddr& dst_mac, Ipv4Addr dst, uint16_t sport, uint16_t dport, uint32_t seq,
                        uint32_t ack, uint8_t flags, uint16_t window, const CookieParams* synack_opts) {
  size_t opt_len = synack_opts ? 8 : 0;  // MSS (4) + NOP + window scale (3)
  size_t l4 = kTcpMinHeaderLen + opt_len;
  uint8_t* p = out_.begin_ipv4(dst_mac, dst, kIpProtoTcp, l4);
  if (!p) return;
  store16(p, sport);
  store16(p + 2, dport);
  store32(p + 4, seq);
  store32(p + 8, ack);
  p[12] = uint8_t((l4 / 4) << 4);
  p[13] = flags;
  store16(p + 14, window);
  store16(p + 16, 0);
  store16(p + 18, 0);
  if (synack_opts) {
    p[20] = kTcpOptMss;
    p[21] = 4;
    store16(p + 22, synack_opts->mss);
    if (synack_opts->has_wscale) {
      p[24] = kTcpOptNop;
      p[25] = kTcpOptWscale;
      p[26] = 3;
      p[27] = synack_opts->wscale;
    } else {
      p[24] = p[25] = p[26] = p[27] = kTcpOptNop;
    }
  }
  uint32_t sum = pseudo_header_sum(out_.ip(), dst, kIpProtoTcp, l4);
  store16(p + 16, checksum_finish(checksum_partial(p, l4, sum)));
  out_.commit_ipv4();
  stats_.tcp_tx_segments.add();
}

void TcpStack::send_synack(Tcb& t) {
  CookieParams opts{cfg_.mss, t.rcv_wscale != 0 || t.snd_wscale != 0, t.rcv_wscale};
  // A window scale is offered only if the peer offered one (RFC 7323 2.2):
  // t.rcv_wscale is nonzero exactly then (set at SYN time).
  send_raw(t.rmac, t.rip, t.lport, t.rport, t.iss, t.rcv_nxt, kTcpSyn | kTcpAck,
           uint16_t(std::min<uint32_t>(cfg_.rcv_buf, 0xffff)), &opts);
  t.rcv_adv = t.rcv_nxt + std::min<uint32_t>(cfg_.rcv_buf, 0xffff);
}

void TcpStack::send_rst_for(const MacAddr& dst_mac, Ipv4Addr dst, const TcpView& seg) {
  if (seg.flags & kTcpRst) return;  // never answer a RST
  if (seg.flags & kTcpAck) {
    send_raw(dst_mac, dst, seg.dst_port, seg.src_port, seg.ack, 0, kTcpRst, 0, nullptr);
  } else {
    uint32_t len = uint32_t(seg.payload_len) + ((seg.flags & kTcpSyn) ? 1 : 0) + ((seg.flags & kTcpFin) ? 1 : 0);
    send_raw(dst_mac, dst, seg.dst_port, seg.src_port, 0, seg.seq + len, kTcpRst | kTcpAck, 0, nullptr);
  }
  stats_.tcp_rst_sent.add();
}

// One segment from the send queue at `seq` with data_len bytes (plus FIN when
// it ends at the FIN's sequence number and flags ask for it).
bool TcpStack::send_segment(Tcb& t, uint32_t seq, uint8_t flags, size_t data_len) {
  size_t l4 = kTcpMinHeaderLen + data_len;
  uint8_t* p = out_.begin_ipv4(t.rmac, t.rip, kIpProtoTcp, l4);
  if (!p) return false;
  store16(p, t.lport);
  store16(p + 2, t.rport);
  store32(p + 4, seq);
  store32(p + 8, t.rcv_nxt);
  p[12] = uint8_t((kTcpMinHeaderLen / 4) << 4);
  p[13] = flags;
  store16(p + 14, advertised_window(t));
  store16(p + 16, 0);
  store16(p + 18, 0);
  if (data_len) t.sndq.copy_out(seq - t.snd_una, p + kTcpMinHeaderLen, data_len);
  uint32_t sum = pseudo_header_sum(out_.ip(), t.rip, kIpProtoTcp, l4);
  store16(p + 16, checksum_finish(checksum_partial(p, l4, sum)));
  out_.commit_ipv4();
  stats_.tcp_tx_segments.add();
  return true;
}

void TcpStack::output(Tcb& t, uint64_t now_us) {
  if (t.state == TcpState::kSynRcvd || t.state == TcpState::kTimeWait || t.state == TcpState::kFree) return;
  bool can_fin = t.fin_queued && !t.fin_acked;
  for (;;) {
    uint32_t end = t.data_end();
    uint32_t unsent = seq_lt(t.snd_nxt, end) ? end - t.snd_nxt : 0;
    uint32_t wnd = std::min(t.snd_wnd, t.cwnd);
    uint32_t in_flight = t.snd_nxt - t.snd_una;
    uint32_t usable = wnd > in_flight ? wnd - in_flight : 0;
    uint32_t len = std::min({uint32_t(t.mss), unsent, usable});
    // The FIN goes with (or after) the last data byte; once sent, snd_nxt is
    // end + 1 and this is false until an RTO rolls snd_nxt back.
    bool fin_now = can_fin && t.snd_nxt + len == end;
    if (len == 0 && !fin_now) break;
    uint8_t flags = kTcpAck | (len ? kTcpPsh : 0) | (fin_now ? kTcpFin : 0);
    bool retrans = seq_lt(t.snd_nxt, t.snd_max);
    if (!send_segment(t, t.snd_nxt, flags, len)) {
      // No tx buffer: retry from the retransmission timer rather than wait
      // for traffic that may never come.
      if (!t.rto_at) t.rto_at = now_us + t.rto_us;
      break;
    }
    t.ack_pending = false;
    if (retrans) stats_.tcp_retransmits.add();
    if (!t.rtt_timing && !retrans && (len || fin_now)) {
      t.rtt_timing = true;
      t.rtt_seq = t.snd_nxt;
      t.rtt_start_us = now_us;
    }
    t.snd_nxt += len + (fin_now ? 1 : 0);
    if (seq_gt(t.snd_nxt, t.snd_max)) t.snd_max = t.snd_nxt;
    if (!t.rto_at) t.rto_at = now_us + t.rto_us;
    if (fin_now) break;
  }
  // Data waits but the peer's window is closed and nothing is in flight:
  // the persist timer probes it (RFC 9293 3.8.6.1).
  if (t.snd_wnd == 0 && t.snd_nxt == t.snd_una && seq_lt(t.snd_nxt, t.data_end()) && !t.persist_at) {
    t.persist_at = now_us + t.rto_us;
    t.persist_backoff = 0;
  }
}

}  // namespace gputls::net
