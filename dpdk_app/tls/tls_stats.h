// Per-lcore TLS termination counters (written by the lcore, read by the stats
// thread; net::Counter semantics). Alerts are counted by their TLS code; the
// JSON names them (tls_stats_json). Completed handshakes are also counted by
// their key-exchange group.
#pragma once

#include <openssl/types.h>

#include <array>
#include <string>
#include <string_view>

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

// The key-exchange groups counted by name (OpenSSL's TLS group names, the
// stats JSON's keys under "key_exchange_groups"): gputls's post-quantum groups
// and what OpenSSL 3.0 offers; any other group counts as "other".
inline constexpr std::array<std::string_view, 13> kKeyExchangeGroups = {
    "X25519MLKEM768", "SecP256r1MLKEM768", "MLKEM768", "x25519", "secp256r1", "secp384r1", "secp521r1",
    "x448", "ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192"};
inline constexpr size_t kOtherGroup = kKeyExchangeGroups.size();

// Index of a group name in kKeyExchangeGroups (ASCII case-insensitive, as
// OpenSSL's group lists are), kOtherGroup when it is not there.
size_t key_exchange_group_index(std::string_view name);

// The group of the key exchange a completed handshake's keys come from (TLS
// 1.3 key share, TLS 1.2 ECDHE/DHE; for a resumption without one, the
// original handshake's, as OpenSSL 3.0 reports it) by OpenSSL's name for it,
// gputls's groups included; "" when there was none (TLS 1.2 RSA key
// exchange); "?" for a group OpenSSL cannot name.
std::string_view negotiated_group_name(SSL* ssl);

struct alignas(64) TlsStats {
  net::Counter handshakes_full, handshakes_resumed, handshake_failures;
  std::array<net::Counter, size_t(HandshakeFailure::kCount)> failures;
  std::array<net::Counter, 256> alerts_sent, alerts_received;  // by alert description code
  net::Counter client_certs_verified, async_pauses, active, bytes_in, bytes_out;
  net::Counter close_notify_sent, close_notify_received, errors_after_handshake;
  net::Counter progress_timeouts;  // established, no application byte moved for --progress-timeout-s
  net::Counter drained_jobs;       // SSLs kept after their connection until their paused job ended
  // Completed handshakes (full or resumed) by negotiated_group_name:
  // kKeyExchangeGroups' order, then "other"; none (RSA key exchange): not counted.
  std::array<net::Counter, kKeyExchangeGroups.size() + 1> key_exchange_groups;

  void fail(HandshakeFailure f) {
    handshake_failures.add();
    failures[size_t(f)].add();
  }
  // Counts a completed handshake's key-exchange group (none: not counted).
  void count_group(std::string_view name) {
    if (!name.empty()) key_exchange_groups[key_exchange_group_index(name)].add();
  }
};

// {"handshakes_full": n, ..., "failures": {name: n}, "alerts_sent": {name: n},
//  "key_exchange_groups": {name: n for every group in kKeyExchangeGroups, "other": n}, ...}
nlohmann::json tls_stats_json(const TlsStats& s);

}  // namespace gputls::tls
