// One connection's state (TCB, RFC 793 section 3.2 names).
#pragma once

#include <cstdint>

#include "net/byte_ring.h"
#include "net/ooo_ranges.h"
#include "net/wire.h"

namespace gputls::net {

enum class TcpState : uint8_t {
  kFree, kSynRcvd, kEstablished, kCloseWait, kLastAck, kFinWait1, kFinWait2, kClosing, kTimeWait
};
const char* tcp_state_name(TcpState s);

inline bool seq_lt(uint32_t a, uint32_t b) { return int32_t(a - b) < 0; }
inline bool seq_le(uint32_t a, uint32_t b) { return int32_t(a - b) <= 0; }
inline bool seq_gt(uint32_t a, uint32_t b) { return int32_t(a - b) > 0; }
inline bool seq_ge(uint32_t a, uint32_t b) { return int32_t(a - b) >= 0; }

struct Tcb {
  TcpState state = TcpState::kFree;
  uint32_t gen = 0;
  uint64_t key = 0;
  Ipv4Addr rip = 0;
  uint16_t rport = 0, lport = 0;
  MacAddr rmac{};

  // Send side. Data in sndq starts at snd_una; the FIN (once queued) takes
  // the sequence number right after the last data byte.
  uint32_t iss = 0, snd_una = 0, snd_nxt = 0, snd_max = 0;
  uint32_t snd_wnd = 0, snd_wl1 = 0, snd_wl2 = 0;
  uint8_t snd_wscale = 0, rcv_wscale = 0;
  uint16_t mss = 536;
  uint32_t cwnd = 0, ssthresh = 0xffffffff;
  uint32_t dupacks = 0, recover = 0;
  bool in_recovery = false;
  bool fin_queued = false;   // app closed: FIN follows the data
  bool fin_acked = false;
  bool want_writable = false;

  // RFC 6298 state.
  uint64_t srtt_us = 0, rttvar_us = 0, rto_us = 0;
  bool rtt_valid = false;
  bool rtt_timing = false;
  uint32_t rtt_seq = 0;
  uint64_t rtt_start_us = 0;
  uint32_t retransmits = 0;   // consecutive RTO expirations
  uint64_t rto_at = 0;        // 0: not running
  uint64_t persist_at = 0;    // zero-window probe
  uint32_t persist_backoff = 0;

  // Receive side.
  uint32_t irs = 0, rcv_nxt = 0, rcv_adv = 0;  // rcv_adv: right edge last advertised
  bool fin_received = false;
  ByteRing rcvq, sndq;
  OooRanges ooo;

  uint64_t last_rx_us = 0;
  uint64_t time_wait_at = 0;
  uint64_t timer_at = 0;      // time of the earliest timer entry queued for this TCB (0: none)
  bool ack_pending = false;
  bool in_pending = false;
  bool app_open = false;      // on_open delivered, on_closed owed

  uint32_t data_end() const { return snd_una + uint32_t(sndq.size()); }
  uint32_t fin_seq() const { return data_end(); }
};

}  // namespace gputls::net
