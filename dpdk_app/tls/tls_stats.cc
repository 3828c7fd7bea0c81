#include "tls/tls_stats.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>

namespace gputls::tls {

std::string_view handshake_failure_name(HandshakeFailure f) {
  switch (f) {
    case HandshakeFailure::kAlertSent: return "alert_sent";
    case HandshakeFailure::kAlertReceived: return "alert_received";
    case HandshakeFailure::kHandshakeTimeout: return "handshake_timeout";
    case HandshakeFailure::kPeerClosed: return "peer_closed";
    case HandshakeFailure::kTcpReset: return "tcp_reset";
    case HandshakeFailure::kMalformed: return "malformed_input";
    case HandshakeFailure::kInternal: return "internal";
    case HandshakeFailure::kMemoryLimit: return "memory_limit";
    case HandshakeFailure::kCount: break;
  }
  return "unknown";
}

size_t key_exchange_group_index(std::string_view name) {
  auto lower = [](char c) { return char(std::tolower(uint8_t(c))); };
  for (size_t i = 0; i < kKeyExchangeGroups.size(); ++i) {
    const std::string_view g = kKeyExchangeGroups[i];
    if (g.size() == name.size() && std::equal(g.begin(), g.end(), name.begin(),
                                              [&](char a, char b) { return lower(a) == lower(b); }))
      return i;
  }
  return kOtherGroup;
}

std::string_view negotiated_group_name(SSL* ssl) {
  // OpenSSL 3.0: a NID for its own groups, TLSEXT_nid_unknown | the TLS id for
  // a provider's (gputls's ML-KEM groups); SSL_group_to_name names both.
  const long nid = SSL_get_negotiated_group(ssl);
  if (nid <= 0) return "";
  const char* name = SSL_group_to_name(ssl, int(nid));
  return name && *name ? name : "?";
}

namespace {

// "handshake failure" -> "handshake_failure"; unknown codes by number.
std::string alert_name(int code) {
  const char* s = SSL_alert_desc_string_long(code);
  std::string out;
  if (!s || std::string_view(s) == "unknown") return "alert_" + std::to_string(code);
  for (const char* p = s; *p; ++p) out += (*p == ' ' || *p == '-') ? '_' : char(std::tolower(uint8_t(*p)));
  return out;
}

nlohmann::json alerts_json(const std::array<net::Counter, 256>& a) {
  nlohmann::json j = nlohmann::json::object();
  for (int i = 0; i < 256; ++i)
    if (uint64_t v = a[i].get()) j[alert_name(i)] = v;
  return j;
}

}  // namespace

nlohmann::json tls_stats_json(const TlsStats& s) {
  nlohmann::json j;
#define GT_FIELD(name) j[#name] = s.name.get()
  GT_FIELD(handshakes_full); GT_FIELD(handshakes_resumed); GT_FIELD(handshake_failures);
  GT_FIELD(client_certs_verified); GT_FIELD(async_pauses); GT_FIELD(active); GT_FIELD(bytes_in);
  GT_FIELD(bytes_out); GT_FIELD(close_notify_sent); GT_FIELD(close_notify_received);
  GT_FIELD(errors_after_handshake); GT_FIELD(progress_timeouts); GT_FIELD(drained_jobs);
#undef GT_FIELD
  nlohmann::json f = nlohmann::json::object();
  for (size_t i = 0; i < s.failures.size(); ++i)
    f[std::string(handshake_failure_name(HandshakeFailure(i)))] = s.failures[i].get();
  j["failures"] = f;
  j["alerts_sent"] = alerts_json(s.alerts_sent);
  j["alerts_received"] = alerts_json(s.alerts_received);
  nlohmann::json g = nlohmann::json::object();
  for (size_t i = 0; i < kKeyExchangeGroups.size(); ++i)
    g[std::string(kKeyExchangeGroups[i])] = s.key_exchange_groups[i].get();
  g["other"] = s.key_exchange_groups[kOtherGroup].get();
  j["key_exchange_groups"] = g;
  return j;
}

}  // namespace gputls::tls
