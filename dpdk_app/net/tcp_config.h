// TCP settings, per core. Defaults suit a LAN server; the appliance's flags
// override them. Memory bound: every established connection owns one block of
// rcv_buf + snd_buf bytes from a pool capped at mem_limit_bytes.
#pragma once

#include <algorithm>
#include <cstdint>

namespace gputls::net {

struct TcpConfig {
  uint16_t mss = 1460;               // advertised (MTU 1500 - 40)
  uint8_t wscale = 7;                // our window scale, used when the peer offers one
  uint32_t rcv_buf = 64 * 1024;      // per connection
  uint32_t snd_buf = 64 * 1024;      // per connection
  uint32_t max_connections = 8192;   // TCBs per core: half-open + established + TIME_WAIT
  uint32_t max_half_open = 512;      // SYN_RCVD backlog; beyond it SYN cookies (or drop)
  bool syn_cookies = true;
  uint32_t max_ooo_ranges = 8;       // out-of-order holes kept per connection
  uint64_t mem_limit_bytes = 0;      // 0: max_connections * (rcv_buf + snd_buf)
  uint32_t initial_cwnd_segments = 10;
  uint64_t rto_initial_us = 1'000'000;  // RFC 6298 2.1
  uint64_t rto_min_us = 200'000;        // RFC says 1 s; 200 ms like Linux for LAN peers
  uint64_t rto_max_us = 60'000'000;
  uint32_t max_retransmits = 10;        // then the connection is reset
  uint32_t max_synack_retransmits = 4;
  uint64_t time_wait_us = 4'000'000;    // 2*MSL, short: the server closes actively only on idle/done
  // TIME_WAIT may hold at most this many TCBs (0: half of max_connections);
  // beyond it, and whenever a new connection finds the table full, the
  // oldest TIME_WAIT TCB is recycled (as kernels do under pressure).
  uint32_t max_time_wait = 0;
  // Connections (half-open and open, not TIME_WAIT) one source address may
  // hold on a core (0: a quarter of max_connections); its SYNs beyond it are
  // dropped, counted as tcp_per_source_limit.
  uint32_t max_per_source = 0;
  uint64_t idle_timeout_us = 120'000'000;

  uint32_t effective_max_time_wait() const { return max_time_wait ? max_time_wait : std::max(1u, max_connections / 2); }
  uint32_t effective_max_per_source() const { return max_per_source ? max_per_source : std::max(1u, max_connections / 4); }
  uint64_t effective_mem_limit() const {
    return mem_limit_bytes ? mem_limit_bytes : uint64_t(max_connections) * (rcv_buf + snd_buf);
  }
};

}  // namespace gputls::net
