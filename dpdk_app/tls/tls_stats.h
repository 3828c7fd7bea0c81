// Per-lcore TLS termination counters (written by the lcore, read by the stats
// thread; net::Counter semantics). Alerts are counted by their TLS code; the
// JSON names them (tls_stats_json).
#pragma once

#include <array>
#include <string>

#include <nlohmann/json.hpp>

#include "net/stats.h"

namespace gputls::tls {

// Why a handshake did not complete. Names are the stats JSON keys.
enum class HandshakeFailure : uint8_t {
  kAlertSent,        // we rejected the client (bad ClientHello, no shared cipher, bad certificate ...)
  kAlertReceived,    // the client rejected us
  kHandshakeTimeout, // the client stalled mid-handshake
  kPeerClosed,       // FIN before the handshake completed
  kTcpReset,         // RST / retransmission timeout before the handshake completed
  kMalformed,        // not TLS at all (e.g. plain HTTP), rejected without an alert
  kInternal,         // a failure outside the protocol (out of memory, provider refusal)
  kMemoryLimit,      // the connection's TLS and proxy buffers did not fit in --mem-limit
  kCount
};
std::string_view handshake_failure_name(HandshakeFailure f);

struct alignas(64) TlsStats {
  net::Counter handshakes_full, handshakes_resumed, handshake_failures;
  std::array<net::Counter, size_t(HandshakeFailure::kCount)> failures;
  std::array<net::Counter, 256> alerts_sent, alerts_received;  // by alert description code
  net::Counter client_certs_verified, async_pauses, active, bytes_in, bytes_out;
  net::Counter close_notify_sent, close_notify_received, errors_after_handshake;
  net::Counter progress_timeouts;  // established, no application byte moved for --progress-timeout-s
  net::Counter drained_jobs;       // SSLs kept after their connection until their paused job ended

  void fail(HandshakeFailure f) {
    handshake_failures.add();
    failures[size_t(f)].add();
  }
};

// {"handshakes_full": n, ..., "failures": {name: n}, "alerts_sent": {name: n}, ...}
nlohmann::json tls_stats_json(const TlsStats& s);

}  // namespace gputls::tls
