// Server-side TCP for one core: connection table, segment input, output,
// timers, and the per-connection calls the application uses. Nothing here is
// shared with other cores (RSS keeps a flow on one core), so nothing locks.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <deque>
#include <vector>

#include "net/flow_table.h"
#include "net/frame_writer.h"
#include "net/stats.h"
#include "net/syn_cookie.h"
#include "net/tcp_app.h"
#include "net/tcp_config.h"
#include "net/tcp_conn.h"
#include "net/timer_wheel.h"

namespace gputls::net {

// Receive+send buffer blocks for established connections; the total is capped
// (the memory bound in the stats) and freed blocks are reused.
class BufferPool {
 public:
  BufferPool(size_t block_size, uint64_t limit_bytes, CoreStats& stats);
  uint8_t* take();            // nullptr when the limit is reached
  void give(uint8_t* block);
  // Bytes an application layer holds for a connection (TLS state, proxy
  // buffers), counted against the same limit; false when they do not fit.
  bool reserve(uint64_t bytes);
  void unreserve(uint64_t bytes);
  size_t block_size() const { return block_; }

 private:
  size_t block_;
  uint64_t limit_, in_use_ = 0;
  CoreStats& stats_;
  std::vector<std::unique_ptr<uint8_t[]>> all_;
  std::vector<uint8_t*> free_;
};

class TcpStack {
 public:
  TcpStack(const TcpConfig& cfg, FrameWriter& out, CoreStats& stats, TcpApp& app, const SipKey& secret);

  void listen(uint16_t port) { listeners_.push_back(port); }
  bool listening(uint16_t port) const;

  // A TCP segment addressed to us (IPv4 already validated, checksum not yet).
  void input(const MacAddr& src_mac, const Ipv4View& ip, uint64_t now_us);
  // Runs due timers, then sends what input and the app made pending (data,
  // ACKs). Call once per loop iteration, after the rx burst.
  void poll(uint64_t now_us);

  // Application calls (see TcpApp). All take stale ids gracefully.
  bool valid(ConnId c) const;
  size_t readable(ConnId c) const;
  size_t recv(ConnId c, uint8_t* dst, size_t len);
  size_t send_space(ConnId c) const;
  size_t send(ConnId c, const uint8_t* src, size_t len);
  // Asks for on_writable once send buffer space frees (send() does this by
  // itself when it could not take everything).
  void notify_when_writable(ConnId c);
  void close(ConnId c);  // FIN after the queued data
  void abort(ConnId c);  // RST now
  uint16_t local_port(ConnId c) const;
  // Connection memory an application holds beyond the TCP rings, charged to
  // the same --mem-limit (false: it does not fit; refuse the connection).
  bool reserve_memory(uint64_t bytes) { return pool_.reserve(bytes); }
  void release_memory(uint64_t bytes) { pool_.unreserve(bytes); }

  const TcpConfig& config() const { return cfg_; }
  // Entries in the TIME_WAIT queue (at most one per TIME_WAIT TCB, plus
  // stale ones not yet at its front): for tests.
  size_t time_wait_queue_size() const { return time_wait_order_.size(); }
  size_t connections() const { return by_key_.size(); }
  const Tcb* tcb(ConnId c) const { return valid(c) ? &tcbs_[c.slot] : nullptr; }

 private:
  // input
  void input_no_tcb(const MacAddr& src_mac, const Ipv4View& ip, const TcpView& seg, uint64_t now_us);
  void input_synrcvd_syn(Tcb& t, const TcpView& seg);
  void input_tcb(Tcb& t, const MacAddr& src_mac, const TcpView& seg, uint64_t now_us);
  bool process_ack(Tcb& t, const TcpView& seg, uint64_t now_us);
  void process_data(Tcb& t, uint32_t seq, const uint8_t* data, size_t len);
  void process_fin(Tcb& t, uint64_t now_us);
  void update_rtt(Tcb& t, uint64_t sample_us);
  void establish(Tcb& t, uint64_t now_us);

  // output
  void output(Tcb& t, uint64_t now_us);
  bool send_segment(Tcb& t, uint32_t seq, uint8_t flags, size_t data_len);
  void send_ack(Tcb& t) { send_segment(t, t.snd_nxt, kTcpAck, 0); t.ack_pending = false; }
  void send_synack(Tcb& t);
  void send_rst_for(const MacAddr& dst_mac, Ipv4Addr dst, const TcpView& seg);
  void send_raw(const MacAddr& dst_mac, Ipv4Addr dst, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                uint8_t flags, uint16_t window, const CookieParams* synack_opts);
  uint16_t advertised_window(Tcb& t);
  void mark_pending(Tcb& t);

  // timers and lifetime
  void arm(Tcb& t);
  void run_timers(Tcb& t, uint64_t now_us);
  void on_rto(Tcb& t, uint64_t now_us);
  void enter_time_wait(Tcb& t, uint64_t now_us);
  void release(Tcb& t, CloseReason why);
  void free_buffers(Tcb& t);
  void send_rst(Tcb& t);  // RST at snd_nxt for an existing connection
  Tcb* alloc_tcb(uint64_t key, uint64_t now_us);
  // Releases the oldest TCB still in TIME_WAIT; false if there is none.
  bool recycle_time_wait();
  // Drops the oldest entries of time_wait_order_ that are stale.
  void trim_time_wait_order();
  // Releases the TIME_WAIT TCBs whose time is up (a restarted one goes to
  // the back of the queue instead).
  void expire_time_wait(uint64_t now_us);
  // A slot for a new connection from rip: false (and the drop counted) when
  // the source is at its limit or no slot is left even after recycling.
  bool admit_new(Ipv4Addr rip);
  static bool counts_for_source(TcpState s) { return s != TcpState::kFree && s != TcpState::kTimeWait; }
  uint32_t new_iss(Ipv4Addr rip, uint16_t rport, uint16_t lport, uint64_t now_us) const;
  ConnId id_of(const Tcb& t) const { return ConnId{uint32_t(&t - tcbs_.data()), t.gen}; }
  Tcb* get(ConnId c);
  void set_state(Tcb& t, TcpState s);

  TcpConfig cfg_;
  FrameWriter& out_;
  CoreStats& stats_;
  TcpApp& app_;
  SipKey secret_;
  SynCookies cookies_;
  BufferPool pool_;
  std::vector<uint16_t> listeners_;
  std::vector<Tcb> tcbs_;
  std::vector<uint32_t> free_slots_;
  FlowTable by_key_;  // flow key -> slot
  // TIME_WAIT TCBs in expiry order (time_wait_us is the same for all and the
  // clock only moves forward), oldest first, one entry each: they expire from
  // the front and are recycled from it under pressure, and never enter the
  // timer wheel, which under a high connection rate they would fill. An entry
  // is stale (skipped) once its TCB left TIME_WAIT; a TIME_WAIT restarted by
  // a retransmitted FIN keeps its entry, moved to the back when it comes due
  // (a new entry per FIN would let a peer grow the queue at its packet rate).
  struct TimeWaitEntry {
    uint32_t slot, gen;
    uint64_t at;
  };
  std::deque<TimeWaitEntry> time_wait_order_;
  FlowTable per_source_;  // source address -> connections counted for it
  std::vector<uint32_t> pending_;
  TimerWheel timers_;
  uint64_t now_us_ = 0;
};

}  // namespace gputls::net
