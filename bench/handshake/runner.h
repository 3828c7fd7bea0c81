// The in-process handshake load: N concurrent client/server pairs over
// memory BIOs (no sockets) on T threads, the server side through a chosen
// provider, each counted handshake verified and followed by one record each
// way.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gputls::bench {

struct RunConfig {
  std::string provider = "default";  // default | gputls:cpu | gputls:gpu | gputls:auto
  std::string modules;               // directory of gputls.so
  int tls = 13;                      // 12 or 13
  std::string group = "x25519";
  std::string cert = "rsa2048";
  std::string cipher;                // TLS 1.2 cipher list (default: ECDHE-RSA-AES128-GCM-SHA256)
  int concurrency = 32;
  int threads = 1;
  double duration_s = 5;
  uint64_t count = 0;                // stop after this many handshakes (0: by duration)
  bool async = false;
  int app_bytes = 64;
  bool progress = false;
};

struct RunResult {
  uint64_t handshakes = 0;
  double wall_s = 0;
  std::vector<double> latency_ms;  // per handshake, start to verified record exchange
  double process_cpu_s = 0;        // whole process (server threads, engine, GPU worker, clients)
  double client_cpu_s = 0;         // time the clients' own calls used
  double harness_cpu_s = 0;        // connection set-up and bookkeeping outside SSL calls
  uint64_t async_waits = 0;        // server calls that returned SSL_ERROR_WANT_ASYNC
  std::string device = "none";     // the GPU gputls used, or none
  nlohmann::json gputls_stats;     // provider + engine counters (gputls only)
};

bool run_handshakes(const RunConfig& cfg, RunResult* out, std::string* error);

}  // namespace gputls::bench
