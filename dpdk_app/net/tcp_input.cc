// Segment input (RFC 9293 3.10.7, with RFC 5961's RST/SYN hardening).
#include <algorithm>

#include "net/tcp_parse.h"
#include "net/tcp_stack.h"

namespace gputls::net {

namespace {
uint64_t flow_key(Ipv4Addr rip, uint16_t rport, uint16_t lport) {
  return uint64_t(rip) << 32 | uint64_t(rport) << 16 | lport;
}
}  // namespace

void TcpStack::input(const MacAddr& src_mac, const Ipv4View& ip, uint64_t now_us) {
  now_us_ = now_us;
  TcpView seg;
  Drop why;
  if (!parse_tcp(ip, seg, why)) {
    stats_.drop(why);
    return;
  }
  stats_.tcp_rx_segments.add();
  const uint32_t* slot = by_key_.find(flow_key(ip.src, seg.src_port, seg.dst_port));
  if (!slot) {
    input_no_tcb(src_mac, ip, seg, now_us);
    return;
  }
  Tcb& t = tcbs_[*slot];
  input_tcb(t, src_mac, seg, now_us);
  if (t.state != TcpState::kFree) mark_pending(t);
}

void TcpStack::input_no_tcb(const MacAddr& src_mac, const Ipv4View& ip, const TcpView& seg, uint64_t now_us) {
  if (!listening(seg.dst_port)) {
    stats_.drop(Drop::kTcpNoListener);
    send_rst_for(src_mac, ip.src, seg);
    return;
  }
  if (seg.flags & kTcpRst) {
    stats_.drop(Drop::kTcpNoConnection);
    return;
  }
  uint64_t key = flow_key(ip.src, seg.src_port, seg.dst_port);
  if ((seg.flags & kTcpSyn) && !(seg.flags & kTcpAck)) {
    stats_.tcp_syn_received.add();
    if (!admit_new(ip.src)) return;
    uint16_t peer_mss = seg.has_mss ? seg.mss : 536;
    if (stats_.tcp_half_open.get() >= cfg_.max_half_open || free_slots_.empty()) {
      if (!cfg_.syn_cookies) {
        stats_.drop(free_slots_.empty() ? Drop::kTcpConnTableFull : Drop::kTcpBacklogFull);
        return;
      }
      // Backlog full: answer statelessly; the connection exists only once
      // the final ACK returns a valid cookie.
      CookieParams p{std::min(peer_mss, cfg_.mss), seg.has_wscale, std::min<uint8_t>(seg.wscale, 14)};
      uint32_t cookie = cookies_.make(ip.src, seg.src_port, ip.dst, seg.dst_port, seg.seq, p, now_us);
      CookieParams ours{cfg_.mss, seg.has_wscale, cfg_.wscale};
      send_raw(src_mac, ip.src, seg.dst_port, seg.src_port, cookie, seg.seq + 1, kTcpSyn | kTcpAck,
               uint16_t(std::min<uint32_t>(cfg_.rcv_buf, 0xffff)), &ours);
      stats_.tcp_syn_cookies_sent.add();
      return;
    }
    Tcb* t = alloc_tcb(key, now_us);
    t->rip = ip.src;
    t->rport = seg.src_port;
    t->lport = seg.dst_port;
    t->rmac = src_mac;
    t->irs = seg.seq;
    t->rcv_nxt = seg.seq + 1;  // data on a SYN is not accepted (peer resends it)
    t->iss = new_iss(ip.src, seg.src_port, seg.dst_port, now_us);
    t->snd_una = t->iss;
    t->snd_nxt = t->snd_max = t->iss + 1;
    t->mss = std::min(peer_mss, cfg_.mss);
    if (t->mss < 64) t->mss = 64;  // a tiny MSS would turn every byte into a packet
    if (seg.has_wscale) {
      t->snd_wscale = std::min<uint8_t>(seg.wscale, 14);
      t->rcv_wscale = cfg_.wscale;
    }
    t->snd_wnd = seg.window;  // never scaled in a SYN
    t->snd_wl1 = seg.seq;
    set_state(*t, TcpState::kSynRcvd);
    send_synack(*t);
    t->rtt_timing = true;
    t->rtt_seq = t->iss;
    t->rtt_start_us = now_us;
    t->rto_at = now_us + t->rto_us;
    arm(*t);
    return;
  }
  if ((seg.flags & kTcpAck) && !(seg.flags & kTcpSyn) && cfg_.syn_cookies) {
    auto p = cookies_.check(ip.src, seg.src_port, ip.dst, seg.dst_port, seg.seq - 1, seg.ack - 1, now_us);
    if (p) {
      if (!admit_new(ip.src)) return;
      if (free_slots_.empty()) {
        stats_.drop(Drop::kTcpConnTableFull);
        return;
      }
      Tcb* t = alloc_tcb(key, now_us);
      t->rip = ip.src;
      t->rport = seg.src_port;
      t->lport = seg.dst_port;
      t->rmac = src_mac;
      t->irs = seg.seq - 1;
      t->rcv_nxt = seg.seq;
      t->iss = seg.ack - 1;
      t->snd_una = t->snd_nxt = t->snd_max = seg.ack;
      t->mss = p->mss;
      if (p->has_wscale) {
        t->snd_wscale = p->wscale;
        t->rcv_wscale = cfg_.wscale;
      }
      t->rcv_adv = t->rcv_nxt + std::min<uint32_t>(cfg_.rcv_buf, 0xffff);
      t->snd_wnd = uint32_t(seg.window) << t->snd_wscale;
      t->snd_wl1 = seg.seq;
      t->snd_wl2 = seg.ack;
      set_state(*t, TcpState::kSynRcvd);  // for a moment: establish() moves it on
      establish(*t, now_us);
      if (t->state == TcpState::kFree) return;
      stats_.tcp_syn_cookies_accepted.add();
      input_tcb(*t, src_mac, seg, now_us);  // the ACK may carry data
      if (t->state != TcpState::kFree) mark_pending(*t);
      return;
    }
  }
  stats_.drop(Drop::kTcpNoConnection);
  send_rst_for(src_mac, ip.src, seg);
}

void TcpStack::update_rtt(Tcb& t, uint64_t r) {
  // RFC 6298 2.2 / 2.3, alpha 1/8, beta 1/4, G = 1 ms.
  if (!t.rtt_valid) {
    t.srtt_us = r;
    t.rttvar_us = r / 2;
    t.rtt_valid = true;
  } else {
    uint64_t diff = t.srtt_us > r ? t.srtt_us - r : r - t.srtt_us;
    t.rttvar_us = (3 * t.rttvar_us + diff) / 4;
    t.srtt_us = (7 * t.srtt_us + r) / 8;
  }
  t.rto_us = std::clamp<uint64_t>(t.srtt_us + std::max<uint64_t>(1000, 4 * t.rttvar_us), cfg_.rto_min_us,
                                  cfg_.rto_max_us);
}

bool TcpStack::process_ack(Tcb& t, const TcpView& seg, uint64_t now_us) {
  uint32_t ack = seg.ack;
  if (seq_gt(ack, t.snd_max)) {  // acknowledges data never sent
    stats_.drop(Drop::kTcpBadAck);
    t.ack_pending = true;
    return false;
  }
  if (seq_lt(ack, t.snd_una)) return true;  // old ACK: ignore it, keep the data
  bool window_changed = false;
  if (seq_lt(t.snd_wl1, seg.seq) || (t.snd_wl1 == seg.seq && seq_le(t.snd_wl2, ack))) {
    uint32_t wnd = uint32_t(seg.window) << t.snd_wscale;
    window_changed = wnd != t.snd_wnd;
    t.snd_wnd = wnd;
    t.snd_wl1 = seg.seq;
    t.snd_wl2 = ack;
    if (wnd) t.persist_at = 0;
  }
  if (ack == t.snd_una) {
    // RFC 5681 duplicate ACK: nothing new, no data, same window, data outstanding.
    bool dup = seg.payload_len == 0 && !(seg.flags & kTcpFin) && !window_changed && t.snd_max != t.snd_una;
    if (!dup) return true;
    ++t.dupacks;
    if (t.dupacks == 3 && !t.in_recovery) {
      uint32_t flight = t.snd_max - t.snd_una;
      t.ssthresh = std::max<uint32_t>(flight / 2, 2u * t.mss);
      t.recover = t.snd_max;
      t.in_recovery = true;
      t.rtt_timing = false;
      uint32_t len = std::min<uint32_t>(t.mss, t.data_end() - t.snd_una);
      bool fin = t.fin_queued && !t.fin_acked && t.snd_una + len == t.data_end() && seq_gt(t.snd_max, t.data_end());
      if (len || fin) {
        send_segment(t, t.snd_una, kTcpAck | (fin ? kTcpFin : 0), len);
        stats_.tcp_retransmits.add();
        stats_.tcp_fast_retransmits.add();
      }
      t.cwnd = t.ssthresh + 3u * t.mss;
      t.rto_at = now_us + t.rto_us;
    } else if (t.in_recovery) {
      t.cwnd += t.mss;  // each further dup ACK means a segment left the network
    }
    return true;
  }
  // New data acknowledged.
  uint32_t acked = ack - t.snd_una;
  uint32_t data_acked = acked;
  if (t.fin_queued && !t.fin_acked && seq_gt(ack, t.data_end())) {
    t.fin_acked = true;
    data_acked = acked - 1;
  }
  t.sndq.consume(data_acked);
  t.snd_una = ack;
  if (seq_lt(t.snd_nxt, t.snd_una)) t.snd_nxt = t.snd_una;
  if (t.rtt_timing && seq_gt(ack, t.rtt_seq)) {
    update_rtt(t, now_us - t.rtt_start_us);
    t.rtt_timing = false;
  }
  t.retransmits = 0;
  if (t.in_recovery) {
    if (seq_ge(ack, t.recover)) {
      t.in_recovery = false;
      t.cwnd = t.ssthresh;
    } else {
      // NewReno partial ACK (RFC 6582): the next hole is lost too; resend it.
      uint32_t len = std::min<uint32_t>(t.mss, t.data_end() - t.snd_una);
      if (len) {
        send_segment(t, t.snd_una, kTcpAck, len);
        stats_.tcp_retransmits.add();
      }
      t.cwnd = t.cwnd > acked ? t.cwnd - acked + t.mss : t.mss;
    }
  } else if (t.cwnd < t.ssthresh) {
    t.cwnd += std::min<uint32_t>(acked, t.mss);  // slow start
  } else {
    t.cwnd += std::max<uint32_t>(1, uint32_t(uint64_t(t.mss) * t.mss / t.cwnd));  // congestion avoidance
  }
  t.dupacks = 0;
  t.rto_at = t.snd_una == t.snd_max ? 0 : now_us + t.rto_us;
  if (t.want_writable && t.app_open && t.sndq.free() > 0 && !t.fin_queued) {
    t.want_writable = false;
    app_.on_writable(*this, id_of(t));
  }
  return true;
}

void TcpStack::process_data(Tcb& t, uint32_t seq, const uint8_t* data, size_t len) {
  if (seq_lt(seq, t.rcv_nxt)) {  // trim what we already have
    uint32_t skip = t.rcv_nxt - seq;
    if (skip >= len) {
      stats_.tcp_dup_segments.add();
      t.ack_pending = true;
      return;
    }
    data += skip;
    len -= skip;
    seq = t.rcv_nxt;
  }
  uint32_t offset = seq - t.rcv_nxt;
  size_t window = t.rcvq.free();
  if (offset >= window) {
    stats_.drop(window == 0 ? Drop::kTcpZeroWindow : Drop::kTcpOutOfWindow);
    t.ack_pending = true;
    return;
  }
  len = std::min(len, window - offset);  // trim what does not fit
  t.ack_pending = true;
  if (offset > 0) {
    if (!t.ooo.add(offset, offset + uint32_t(len))) {
      stats_.drop(Drop::kTcpOooOverflow);
      return;
    }
    t.rcvq.write_at(t.rcvq.size() + offset, data, len);
    stats_.tcp_ooo_segments.add();
    return;
  }
  t.rcvq.write_at(t.rcvq.size(), data, len);
  uint32_t extra = t.ooo.empty() ? 0 : t.ooo.advance(uint32_t(len));
  t.rcvq.commit(len + extra);
  t.rcv_nxt += uint32_t(len) + extra;
  if (t.app_open) app_.on_readable(*this, id_of(t));
}

void TcpStack::process_fin(Tcb& t, uint64_t now_us) {
  t.rcv_nxt += 1;
  t.fin_received = true;
  t.ack_pending = true;
  switch (t.state) {
    case TcpState::kEstablished:
      set_state(t, TcpState::kCloseWait);
      if (t.app_open) app_.on_peer_fin(*this, id_of(t));
      break;
    case TcpState::kFinWait1:
      if (t.fin_acked) {
        send_ack(t);
        enter_time_wait(t, now_us);
      } else {
        set_state(t, TcpState::kClosing);
      }
      break;
    case TcpState::kFinWait2:
      send_ack(t);
      enter_time_wait(t, now_us);
      break;
    default:
      break;
  }
}

// The peer's (or its gateway's) MAC is followed only from segments that
// pass every check (in the window, acknowledging what was sent, neither RST
// nor SYN): a blind segment from elsewhere must not redirect the connection's
// frames, its challenge ACK included.
void TcpStack::input_tcb(Tcb& t, const MacAddr& src_mac, const TcpView& seg, uint64_t now_us) {
  if (t.state == TcpState::kTimeWait) {
    if (seg.flags & kTcpRst) {
      release(t, CloseReason::kNormal);
    } else if ((seg.flags & kTcpSyn) && !(seg.flags & kTcpAck) && seq_gt(seg.seq, t.rcv_nxt)) {
      // A new incarnation of the same tuple (RFC 1122 4.2.2.13): let it in.
      Ipv4View ip;
      ip.src = t.rip;
      ip.dst = out_.ip();
      release(t, CloseReason::kNormal);
      input_no_tcb(src_mac, ip, seg, now_us);  // the new incarnation's sender
    } else if (seg.flags & kTcpFin || seg.payload_len) {
      send_ack(t);  // our last ACK was lost: the peer resent its FIN
      // Restart only for the FIN itself (RFC 9293 3.10.7.4: its sequence
      // number ends at rcv_nxt), so a blind sender cannot hold the TCB.
      if ((seg.flags & kTcpFin) && seg.seq + uint32_t(seg.payload_len) + 1 == t.rcv_nxt)
        t.time_wait_at = now_us + cfg_.time_wait_us;
    }
    return;
  }
  if (t.state == TcpState::kSynRcvd) {
    if (seg.flags & kTcpRst) {
      if (seg.seq == t.rcv_nxt) release(t, CloseReason::kReset);
      else stats_.drop(Drop::kTcpRstIgnored);
      return;
    }
    if (seg.flags & kTcpSyn) {
      if (!(seg.flags & kTcpAck) && seg.seq == t.irs) {
        stats_.tcp_dup_segments.add();
        send_synack(t);  // our SYN-ACK was lost
      } else {
        stats_.drop(Drop::kTcpSynInWindow);
      }
      return;
    }
    if (seg.ack != t.snd_nxt) {
      stats_.drop(Drop::kTcpBadAck);
      send_rst_for(t.rmac, t.rip, seg);
      return;
    }
    if (t.rtt_timing && t.retransmits == 0) update_rtt(t, now_us - t.rtt_start_us);
    t.rtt_timing = false;
    t.retransmits = 0;
    t.rto_at = 0;
    t.snd_una = seg.ack;
    t.snd_wnd = uint32_t(seg.window) << t.snd_wscale;
    t.snd_wl1 = seg.seq;
    t.snd_wl2 = seg.ack;
    t.rmac = src_mac;
    establish(t, now_us);
    if (t.state == TcpState::kFree) return;
  }

  // Synchronized states: acceptability of the sequence number first.
  size_t seg_len = seg.payload_len + ((seg.flags & kTcpFin) ? 1 : 0);
  uint32_t wnd = uint32_t(t.rcvq.free());
  bool acceptable;
  if (seg_len == 0) {
    acceptable = wnd == 0 ? seg.seq == t.rcv_nxt : (seq_ge(seg.seq, t.rcv_nxt) && seq_lt(seg.seq, t.rcv_nxt + wnd));
  } else if (wnd == 0) {
    acceptable = false;
  } else {
    uint32_t last = seg.seq + uint32_t(seg_len) - 1;
    acceptable = (seq_ge(seg.seq, t.rcv_nxt) && seq_lt(seg.seq, t.rcv_nxt + wnd)) ||
                 (seq_ge(last, t.rcv_nxt) && seq_lt(last, t.rcv_nxt + wnd));
  }
  if (!acceptable) {
    if (seg.flags & kTcpRst) {
      stats_.drop(Drop::kTcpRstIgnored);
      return;
    }
    if (seq_le(seg.seq + uint32_t(seg_len), t.rcv_nxt)) {
      stats_.tcp_dup_segments.add();  // retransmission or reordered old segment
    } else if (wnd == 0) {
      stats_.drop(Drop::kTcpZeroWindow);  // the peer's zero-window probe: answer with our window
    } else {
      stats_.drop(Drop::kTcpOutOfWindow);
    }
    if (seg_len > 0 || wnd == 0) t.ack_pending = true;
    return;
  }
  t.last_rx_us = now_us;
  if (seg.flags & kTcpRst) {
    if (seg.seq == t.rcv_nxt) {
      release(t, CloseReason::kReset);
    } else {  // in the window but not exact: maybe blind injection (RFC 5961 3.2)
      stats_.drop(Drop::kTcpRstIgnored);
      stats_.tcp_challenge_acks.add();
      t.ack_pending = true;
    }
    return;
  }
  if (seg.flags & kTcpSyn) {  // RFC 5961 4.2: challenge ACK, keep the connection
    stats_.drop(Drop::kTcpSynInWindow);
    stats_.tcp_challenge_acks.add();
    t.ack_pending = true;
    return;
  }
  if (!process_ack(t, seg, now_us)) return;
  t.rmac = src_mac;
  if (t.fin_acked) {
    if (t.state == TcpState::kFinWait1) {
      set_state(t, TcpState::kFinWait2);
    } else if (t.state == TcpState::kClosing) {
      enter_time_wait(t, now_us);
      return;
    } else if (t.state == TcpState::kLastAck) {
      release(t, CloseReason::kNormal);
      return;
    }
  }
  bool takes_data = t.state == TcpState::kEstablished || t.state == TcpState::kFinWait1 ||
                    t.state == TcpState::kFinWait2;
  if (seg.payload_len && takes_data) process_data(t, seg.seq, seg.payload, seg.payload_len);
  if (t.state == TcpState::kFree) return;
  if ((seg.flags & kTcpFin) && !t.fin_received && seg.seq + uint32_t(seg.payload_len) == t.rcv_nxt) {
    process_fin(t, now_us);
  }
}

}  // namespace gputls::net
