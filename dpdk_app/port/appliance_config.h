// The appliance's own settings (the arguments after EAL's, past "--", or a
// config file with the same keys). Parsed before EAL starts so a mistake is
// reported without touching the NIC.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "net/impairment.h"
#include "net/tcp_config.h"
#include <netinet/in.h>

#include "services/service_mux.h"
#include "tls/tls_context.h"

namespace gputls::appliance {

struct ApplianceConfig {
  std::string ip;                  // our IPv4 address on the port (dotted quad)
  uint32_t ip_host = 0;            // parsed
  uint16_t port_id = 0;            // DPDK port
  services::ServicePorts services;
  net::TcpConfig tcp;
  net::ImpairConfig impair_rx, impair_tx;
  std::string stats_file;          // JSON, rewritten every stats_interval_ms
  uint32_t stats_interval_ms = 500;
  uint32_t rx_ring = 1024, tx_ring = 1024;
  uint32_t mbufs_per_queue = 8191;
  double run_seconds = 0;          // 0: until SIGINT/SIGTERM
  // TLS termination (on when at least one --cert is given).
  bool tls_enabled = false;
  uint16_t tls_port = 443;
  tls::TlsSettings tls;
  uint32_t handshake_timeout_ms = 10000;
  uint32_t progress_timeout_s = 60;  // 0: never
  std::string backend;             // HOST:PORT, plaintext goes there
  sockaddr_in backend_addr{};      // parsed
  uint32_t proxy_buffer_bytes = 64 << 10;
  uint32_t backend_connect_timeout_ms = 3000;
};

enum class ParseResult { kRun, kExitOk, kExitError };

// Parses app arguments (argv[0] is the program name). Prints help or a
// message that says what is wrong.
ParseResult parse_app_args(const std::vector<std::string>& args, ApplianceConfig& cfg);

}  // namespace gputls::appliance
