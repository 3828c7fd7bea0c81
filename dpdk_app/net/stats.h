// Per-core statistics. Each lcore is the only writer of its CoreStats; the
// stats reporter (another thread) reads them while the lcore runs. Counters are
// relaxed atomics written with load+store (no locked instruction on the fast
// path, no torn reads for the reader).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

namespace gputls::net {

class Counter {
 public:
  void add(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void sub(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
  void set(uint64_t n) { v_.store(n, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// Why a received packet (or a segment's effect) was dropped. Names are stable:
// they are the keys of the stats JSON and the netns tests look them up.
enum class Drop : uint8_t {
  kRuntFrame,          // shorter than the headers it claims
  kUnknownEtherType,   // not IPv4 or ARP
  kNotForUs,           // IPv4/ARP addressed to another host
  kArpMalformed,
  kIpBadVersion,       // version != 4 or IHL < 5
  kIpBadLength,        // total length inconsistent with the frame
  kIpBadChecksum,
  kIpFragment,         // fragments are not reassembled
  kIpTtlZero,
  kIpUnknownProto,
  kIcmpBadChecksum,
  kIcmpUnhandled,      // ICMP types other than echo request
  kTcpBadChecksum,
  kTcpBadHeader,       // data offset out of range, bad options
  kTcpBadFlags,        // SYN+FIN, SYN+RST, no flags, FIN/PSH/URG without ACK ...
  kTcpNoListener,      // segment for a closed port (answered with RST)
  kTcpNoConnection,    // non-SYN segment for no connection (answered with RST)
  kTcpOutOfWindow,     // sequence outside the receive window (answered with ACK)
  kTcpBadAck,          // ACK for data never sent
  kTcpRstIgnored,      // RST not exactly at rcv_nxt (challenge ACK, RFC 5961)
  kTcpSynInWindow,     // SYN on a synchronized connection (challenge ACK)
  kTcpBacklogFull,     // SYN with the half-open backlog full and cookies off
  kTcpConnTableFull,   // no connection slot (or buffer memory) left
  kTcpPerSourceLimit,  // SYN (or cookie ACK) from a source at its connection limit
  kTcpOooOverflow,     // out-of-order segment beyond the reassembly bound
  kTcpZeroWindow,      // data while our receive window is zero (probe: ACKed)
  kTxNoBuffer,         // no mbuf / tx ring full
  kImpairDrop,         // dropped on purpose by the test impairment
  kCount
};

std::string_view drop_name(Drop d);

struct alignas(64) CoreStats {
  Counter rx_packets, rx_bytes, tx_packets, tx_bytes;
  Counter arp_replies, arp_requests_sent, icmp_echo_replies;
  Counter tcp_rx_segments, tcp_tx_segments, tcp_retransmits, tcp_fast_retransmits, tcp_rto_expirations;
  Counter tcp_dup_segments, tcp_ooo_segments, tcp_zero_window_probes_sent;
  Counter tcp_syn_received, tcp_syn_cookies_sent, tcp_syn_cookies_accepted;
  Counter tcp_conns_opened, tcp_conns_closed, tcp_conns_reset, tcp_conns_idle_timeout;
  Counter tcp_rst_sent, tcp_challenge_acks, tcp_time_wait_recycled;
  // Gauges.
  Counter tcp_conns_active, tcp_half_open, tcp_time_wait;
  Counter mem_bytes_in_use, mem_bytes_limit, mem_bytes_peak;
  // Fast-path cost per loop iteration with traffic, for cycles per packet
  // (rx + tx packets): proc_cycles from after the rx burst to after the tx
  // burst; stack_cycles the protocol work alone (input, timers, services,
  // building frames), without the driver's tx burst.
  Counter proc_cycles, stack_cycles, proc_packets;
  // The busy-polling loop: every iteration and those that did work (packets
  // in or out), with their TSC cycles. A polling core always shows 100% CPU;
  // busy_cycles / loop_cycles is how much of it served traffic.
  Counter loop_iterations, busy_iterations, loop_cycles, busy_cycles;
  std::array<Counter, size_t(Drop::kCount)> drops;

  void drop(Drop d) { drops[size_t(d)].add(); }
  uint64_t drops_total() const {
    uint64_t t = 0;
    for (auto& c : drops) t += c.get();
    return t;
  }
};

}  // namespace gputls::net
