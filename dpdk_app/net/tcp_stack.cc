// Connection table, application calls, timers and connection lifetime.
#include "net/tcp_stack.h"

#include <algorithm>

namespace gputls::net {

namespace {
// The flow tables' hash multipliers: secret, one per table (purpose 1, 2, ...).
uint64_t flow_table_multiplier(const SipKey& secret, uint8_t purpose) {
  const uint8_t label[] = {'f', 'l', 'o', 'w', purpose};
  return siphash24(secret, label, sizeof label);
}
}  // namespace

const char* tcp_state_name(TcpState s) {
  switch (s) {
    case TcpState::kFree: return "FREE";
    case TcpState::kSynRcvd: return "SYN_RCVD";
    case TcpState::kEstablished: return "ESTABLISHED";
    case TcpState::kCloseWait: return "CLOSE_WAIT";
    case TcpState::kLastAck: return "LAST_ACK";
    case TcpState::kFinWait1: return "FIN_WAIT_1";
    case TcpState::kFinWait2: return "FIN_WAIT_2";
    case TcpState::kClosing: return "CLOSING";
    case TcpState::kTimeWait: return "TIME_WAIT";
  }
  return "?";
}

std::string_view close_reason_name(CloseReason r) {
  switch (r) {
    case CloseReason::kNormal: return "normal";
    case CloseReason::kReset: return "reset";
    case CloseReason::kTimeout: return "timeout";
    case CloseReason::kIdle: return "idle";
    case CloseReason::kAborted: return "aborted";
  }
  return "?";
}

BufferPool::BufferPool(size_t block_size, uint64_t limit_bytes, CoreStats& stats)
    : block_(block_size), limit_(limit_bytes), stats_(stats) {
  stats_.mem_bytes_limit.set(limit_bytes);
}

uint8_t* BufferPool::take() {
  if (in_use_ + block_ > limit_) return nullptr;
  uint8_t* b;
  if (!free_.empty()) {
    b = free_.back();
    free_.pop_back();
  } else {
    all_.push_back(std::make_unique<uint8_t[]>(block_));
    b = all_.back().get();
  }
  in_use_ += block_;
  stats_.mem_bytes_in_use.set(in_use_);
  if (in_use_ > stats_.mem_bytes_peak.get()) stats_.mem_bytes_peak.set(in_use_);
  return b;
}

bool BufferPool::reserve(uint64_t bytes) {
  if (in_use_ + bytes > limit_) return false;
  in_use_ += bytes;
  stats_.mem_bytes_in_use.set(in_use_);
  if (in_use_ > stats_.mem_bytes_peak.get()) stats_.mem_bytes_peak.set(in_use_);
  return true;
}

void BufferPool::unreserve(uint64_t bytes) {
  in_use_ -= bytes;
  stats_.mem_bytes_in_use.set(in_use_);
}

void BufferPool::give(uint8_t* block) {
  free_.push_back(block);
  in_use_ -= block_;
  stats_.mem_bytes_in_use.set(in_use_);
}

TcpStack::TcpStack(const TcpConfig& cfg, FrameWriter& out, CoreStats& stats, TcpApp& app, const SipKey& secret)
    : cfg_(cfg),
      out_(out),
      stats_(stats),
      app_(app),
      secret_(secret),
      cookies_(secret),
      pool_(size_t(cfg.rcv_buf) + cfg.snd_buf, cfg.effective_mem_limit(), stats),
      by_key_(cfg.max_connections, flow_table_multiplier(secret, 1)),
      per_source_(cfg.max_connections, flow_table_multiplier(secret, 2)) {
  tcbs_.resize(cfg_.max_connections);
  free_slots_.reserve(cfg_.max_connections);
  for (uint32_t i = cfg_.max_connections; i-- > 0;) free_slots_.push_back(i);
}

bool TcpStack::listening(uint16_t port) const {
  return std::find(listeners_.begin(), listeners_.end(), port) != listeners_.end();
}

Tcb* TcpStack::get(ConnId c) {
  if (c.slot >= tcbs_.size()) return nullptr;
  Tcb& t = tcbs_[c.slot];
  if (t.state == TcpState::kFree || t.gen != c.gen || !t.app_open) return nullptr;
  return &t;
}

bool TcpStack::valid(ConnId c) const { return const_cast<TcpStack*>(this)->get(c) != nullptr; }

size_t TcpStack::readable(ConnId c) const {
  const Tcb* t = const_cast<TcpStack*>(this)->get(c);
  return t ? t->rcvq.size() : 0;
}

size_t TcpStack::recv(ConnId c, uint8_t* dst, size_t len) {
  Tcb* t = get(c);
  if (!t) return 0;
  len = std::min(len, t->rcvq.size());
  uint32_t before = t->rcv_adv;
  t->rcvq.copy_out(0, dst, len);
  t->rcvq.consume(len);
  // Window update when the window opened by a useful amount (RFC 1122
  // 4.2.3.3 receiver SWS avoidance) or from zero.
  uint32_t edge = t->rcv_nxt + uint32_t(t->rcvq.free());
  uint32_t opened = edge - before;
  if (len && (t->rcv_adv == t->rcv_nxt || opened >= std::min<uint32_t>(2u * t->mss, t->rcvq.capacity() / 2))) {
    t->ack_pending = true;
    mark_pending(*t);
  }
  return len;
}

size_t TcpStack::send_space(ConnId c) const {
  const Tcb* t = const_cast<TcpStack*>(this)->get(c);
  if (!t || t->fin_queued || t->sndq.capacity() == 0) return 0;
  return t->sndq.free();
}

size_t TcpStack::send(ConnId c, const uint8_t* src, size_t len) {
  Tcb* t = get(c);
  if (!t || t->fin_queued || t->sndq.capacity() == 0) return 0;
  size_t n = t->sndq.append(src, len);
  if (n < len) t->want_writable = true;
  if (n) mark_pending(*t);
  return n;
}

void TcpStack::notify_when_writable(ConnId c) {
  if (Tcb* t = get(c)) t->want_writable = true;
}

void TcpStack::close(ConnId c) {
  Tcb* t = get(c);
  if (!t || t->fin_queued) return;
  t->fin_queued = true;
  if (t->state == TcpState::kEstablished) set_state(*t, TcpState::kFinWait1);
  else if (t->state == TcpState::kCloseWait) set_state(*t, TcpState::kLastAck);
  mark_pending(*t);
}

void TcpStack::abort(ConnId c) {
  Tcb* t = get(c);
  if (!t) return;
  send_rst(*t);
  release(*t, CloseReason::kAborted);
}

uint16_t TcpStack::local_port(ConnId c) const {
  const Tcb* t = const_cast<TcpStack*>(this)->get(c);
  return t ? t->lport : 0;
}

void TcpStack::mark_pending(Tcb& t) {
  if (t.in_pending) return;
  t.in_pending = true;
  pending_.push_back(uint32_t(&t - tcbs_.data()));
}

void TcpStack::set_state(Tcb& t, TcpState s) {
  const bool counted = counts_for_source(t.state), counts = counts_for_source(s);
  if (counted != counts) {
    const Ipv4Addr src = Ipv4Addr(t.key >> 32);  // flow_key: the peer's address in the top half
    if (counts) {
      // At most one entry per connection: the table (max_connections) has room.
      if (uint32_t* n = per_source_.find(src)) ++*n;
      else per_source_.insert(src, 1);
    } else if (uint32_t* n = per_source_.find(src); n && --*n == 0) {
      per_source_.erase(src);
    }
  }
  if (t.state == TcpState::kSynRcvd) stats_.tcp_half_open.sub();
  if (t.state == TcpState::kTimeWait) stats_.tcp_time_wait.sub();
  if (s == TcpState::kSynRcvd) stats_.tcp_half_open.add();
  if (s == TcpState::kTimeWait) stats_.tcp_time_wait.add();
  t.state = s;
}

uint32_t TcpStack::new_iss(Ipv4Addr rip, uint16_t rport, uint16_t lport, uint64_t now_us) const {
  // RFC 6528: a keyed hash of the tuple plus a clock ticking every 4 us.
  uint8_t buf[8];
  store32(buf, rip);
  store16(buf + 4, rport);
  store16(buf + 6, lport);
  return uint32_t(siphash24(secret_, buf, sizeof buf)) + uint32_t(now_us / 4);
}

void TcpStack::trim_time_wait_order() {
  while (!time_wait_order_.empty()) {
    const TimeWaitEntry& e = time_wait_order_.front();
    const Tcb& t = tcbs_[e.slot];
    if (t.gen == e.gen && t.state == TcpState::kTimeWait) return;
    time_wait_order_.pop_front();
  }
}

void TcpStack::expire_time_wait(uint64_t now_us) {
  for (trim_time_wait_order(); !time_wait_order_.empty() && time_wait_order_.front().at <= now_us;
       trim_time_wait_order()) {
    const TimeWaitEntry e = time_wait_order_.front();
    time_wait_order_.pop_front();
    Tcb& t = tcbs_[e.slot];
    if (t.time_wait_at > e.at) {
      // Restarted by a retransmitted FIN: to the back. Entries queued since
      // the restart may be due later than it, so it can expire late (by at
      // most the time since its restart), never early; the queue keeps one
      // entry per TCB whatever the peer sends.
      time_wait_order_.push_back(TimeWaitEntry{e.slot, e.gen, t.time_wait_at});
      continue;
    }
    release(t, CloseReason::kNormal);
  }
}

bool TcpStack::recycle_time_wait() {
  trim_time_wait_order();
  if (time_wait_order_.empty()) return false;
  Tcb& t = tcbs_[time_wait_order_.front().slot];
  time_wait_order_.pop_front();
  release(t, CloseReason::kNormal);
  stats_.tcp_time_wait_recycled.add();
  return true;
}

bool TcpStack::admit_new(Ipv4Addr rip) {
  if (const uint32_t* n = per_source_.find(rip); n && *n >= cfg_.effective_max_per_source()) {
    stats_.drop(Drop::kTcpPerSourceLimit);
    return false;
  }
  if (free_slots_.empty()) recycle_time_wait();
  return true;
}

Tcb* TcpStack::alloc_tcb(uint64_t key, uint64_t now_us) {
  // by_key_ has room for every slot, so a free slot means room for its key.
  if (free_slots_.empty() || by_key_.size() >= by_key_.capacity()) return nullptr;
  uint32_t slot = free_slots_.back();
  free_slots_.pop_back();
  Tcb& t = tcbs_[slot];
  uint32_t gen = t.gen + 1;
  t = Tcb{};
  t.gen = gen;
  t.key = key;
  t.ooo.set_max(cfg_.max_ooo_ranges);
  t.last_rx_us = now_us;
  t.rto_us = cfg_.rto_initial_us;
  by_key_.insert(key, slot);
  return &t;
}

void TcpStack::establish(Tcb& t, uint64_t now_us) {
  uint8_t* block = pool_.take();
  if (!block) {
    // Out of connection memory: refuse the connection rather than exceed the bound.
    stats_.drop(Drop::kTcpConnTableFull);
    send_rst(t);
    release(t, CloseReason::kAborted);
    return;
  }
  t.rcvq.attach(block, cfg_.rcv_buf);
  t.sndq.attach(block + cfg_.rcv_buf, cfg_.snd_buf);
  set_state(t, TcpState::kEstablished);
  t.cwnd = cfg_.initial_cwnd_segments * t.mss;
  t.last_rx_us = now_us;
  t.app_open = true;
  stats_.tcp_conns_opened.add();
  stats_.tcp_conns_active.add();
  app_.on_open(*this, id_of(t), t.lport);
}

void TcpStack::release(Tcb& t, CloseReason why) {
  if (t.state == TcpState::kFree) return;
  bool was_open = t.app_open;
  t.app_open = false;
  free_buffers(t);
  if (was_open) {
    stats_.tcp_conns_active.sub();
    stats_.tcp_conns_closed.add();
    if (why == CloseReason::kReset) stats_.tcp_conns_reset.add();
    if (why == CloseReason::kIdle) stats_.tcp_conns_idle_timeout.add();
  }
  set_state(t, TcpState::kFree);
  by_key_.erase(t.key);
  uint32_t slot = uint32_t(&t - tcbs_.data());
  free_slots_.push_back(slot);
  if (was_open) app_.on_closed(*this, ConnId{slot, t.gen}, why);
}

void TcpStack::free_buffers(Tcb& t) {
  if (!t.rcvq.memory()) return;
  pool_.give(t.rcvq.memory());  // one block holds both rings
  t.rcvq.detach();
  t.sndq.detach();
}

void TcpStack::send_rst(Tcb& t) {
  send_raw(t.rmac, t.rip, t.lport, t.rport, t.snd_nxt, 0, kTcpRst, 0, nullptr);
  stats_.tcp_rst_sent.add();
}

void TcpStack::enter_time_wait(Tcb& t, uint64_t now_us) {
  // TIME_WAIT keeps only the TCB: buffers go back to the pool at once, and
  // the application hears the connection is closed.
  bool was_open = t.app_open;
  t.app_open = false;
  free_buffers(t);
  set_state(t, TcpState::kTimeWait);
  t.rto_at = 0;
  t.persist_at = 0;
  t.timer_at = 0;  // its timer entries are stale now: the TIME_WAIT queue times it
  t.time_wait_at = now_us + cfg_.time_wait_us;
  time_wait_order_.push_back(TimeWaitEntry{uint32_t(&t - tcbs_.data()), t.gen, t.time_wait_at});
  if (stats_.tcp_time_wait.get() > cfg_.effective_max_time_wait()) recycle_time_wait();
  if (was_open) {
    stats_.tcp_conns_active.sub();
    stats_.tcp_conns_closed.add();
    app_.on_closed(*this, id_of(t), CloseReason::kNormal);
  }
}

// Keeps one timer entry at or before the TCB's earliest deadline (TIME_WAIT
// is timed by its own queue).
void TcpStack::arm(Tcb& t) {
  if (t.state == TcpState::kFree || t.state == TcpState::kTimeWait) return;
  uint64_t at = t.last_rx_us + cfg_.idle_timeout_us;
  if (t.rto_at) at = std::min(at, t.rto_at);
  if (t.persist_at) at = std::min(at, t.persist_at);
  if (t.timer_at && t.timer_at <= at) return;
  t.timer_at = at;
  timers_.push(TimerWheel::Entry{at, uint32_t(&t - tcbs_.data()), t.gen});
}

void TcpStack::run_timers(Tcb& t, uint64_t now_us) {
  if (t.state == TcpState::kTimeWait) return;  // expire_time_wait's
  if (now_us >= t.last_rx_us + cfg_.idle_timeout_us) {
    if (t.state != TcpState::kSynRcvd) {
      send_rst(t);
    }
    release(t, CloseReason::kIdle);
    return;
  }
  if (t.rto_at && now_us >= t.rto_at) {
    on_rto(t, now_us);
    if (t.state == TcpState::kFree) return;
  }
  if (t.persist_at && now_us >= t.persist_at) {
    // Zero-window probe: an old sequence number makes the peer answer with an
    // ACK that carries its current window (RFC 9293 3.8.6.1).
    t.persist_at = 0;
    if (t.snd_wnd == 0 && t.data_end() != t.snd_nxt) {
      send_segment(t, t.snd_una - 1, kTcpAck, 0);
      stats_.tcp_zero_window_probes_sent.add();
      t.persist_backoff = std::min<uint32_t>(t.persist_backoff + 1, 16);
      t.persist_at = now_us + std::min(t.rto_us << t.persist_backoff, cfg_.rto_max_us);
    }
  }
}

void TcpStack::on_rto(Tcb& t, uint64_t now_us) {
  t.rto_at = 0;
  uint32_t limit = t.state == TcpState::kSynRcvd ? cfg_.max_synack_retransmits : cfg_.max_retransmits;
  if (t.retransmits >= limit) {
    if (t.state != TcpState::kSynRcvd) {
      send_rst(t);
    }
    release(t, CloseReason::kTimeout);
    return;
  }
  ++t.retransmits;
  stats_.tcp_rto_expirations.add();
  t.rto_us = std::min(t.rto_us * 2, cfg_.rto_max_us);  // RFC 6298 5.5 back off
  t.rtt_timing = false;                               // Karn: no samples from retransmits
  if (t.state == TcpState::kSynRcvd) {
    send_synack(t);
    stats_.tcp_retransmits.add();
    t.rto_at = now_us + t.rto_us;
    return;
  }
  uint32_t flight = t.snd_max - t.snd_una;
  t.ssthresh = std::max<uint32_t>(flight / 2, 2u * t.mss);  // RFC 5681 (4)
  t.cwnd = t.mss;
  t.in_recovery = false;
  t.dupacks = 0;
  t.snd_nxt = t.snd_una;  // go back: resend from the first unacknowledged byte
  output(t, now_us);
}

void TcpStack::poll(uint64_t now_us) {
  now_us_ = now_us;
  expire_time_wait(now_us);
  timers_.expire(now_us, [&](const TimerWheel::Entry& e) {
    Tcb& t = tcbs_[e.slot];
    if (t.state == TcpState::kFree || t.gen != e.gen || t.timer_at != e.at) return;  // superseded
    t.timer_at = 0;
    run_timers(t, now_us);
    if (t.state != TcpState::kFree && t.gen == e.gen) arm(t);
  });
  // Output for everything input or the app touched: data, FIN, pure ACKs.
  for (size_t i = 0; i < pending_.size(); ++i) {
    Tcb& t = tcbs_[pending_[i]];
    t.in_pending = false;
    if (t.state == TcpState::kFree) continue;
    output(t, now_us);
    if (t.state == TcpState::kFree) continue;
    if (t.ack_pending) send_ack(t);
    arm(t);
  }
  pending_.clear();
}

}  // namespace gputls::net
