// The two handshake loads and what they share.
//   in-process: N concurrent client/server pairs over memory BIOs (no sockets)
//     on T threads, the server side through a chosen provider;
//   network: N concurrent clients on non-blocking sockets, driven by epoll
//     from T threads, against a server elsewhere (HAProxy, nginx, openssl
//     s_server, the appliance).
// Every counted handshake verified the peer's certificate against the CA and
// then exchanged application data each way.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "live_histogram.h"

namespace gputls::bench {

struct RunConfig {
  // Network mode when set: "host:port" of the server to load.
  std::string connect;
  std::string ca_file;                // network: CA that signed the server's certificate
  std::string servername;             // network: SNI and the name checked (default: the host)
  std::string client_cert, client_key;  // network --mtls: the client's certificate and key (PEM)
  std::string app = "echo";           // network: echo (N bytes back) or http (GET, response read)
  std::string http_path = "/";
  std::vector<pid_t> server_pids;     // network: server processes whose CPU is measured

  std::string provider = "default";  // in-process: default | gputls:cpu | gputls:gpu | gputls:auto
  std::string modules;               // directory of gputls.so
  int tls = 13;                      // 12 or 13
  std::string group = "x25519";
  std::string cert = "rsa2048";      // in-process: the server's (and with --mtls the client's) key type
  std::string cipher;                // TLS 1.2 cipher list (default: ECDHE-RSA-AES128-GCM-SHA256)
  bool mtls = false;
  double resume_ratio = 0;           // share of handshakes that resume a session
  int concurrency = 32;
  int threads = 1;
  double duration_s = 5;
  uint64_t count = 0;                // stop after this many handshakes (0: by duration)
  double time_limit_s = 0;           // stop after this long even with a count (0: none)
  bool async = false;
  // With --async: the loop never sleeps while every connection waits on the
  // engine (it polls the wait fds again at once), as a busy-polling server
  // does; else it blocks in poll() until one is ready.
  bool busy_poll = false;
  int app_bytes = 64;
  bool progress = false;             // live line on stdout (only when it is a terminal)

  bool network() const { return !connect.empty(); }
  bool resumption() const { return resume_ratio > 0; }
  // The TLS 1.2 cipher list actually offered.
  std::string tls12_ciphers() const;
};

struct RunResult {
  uint64_t handshakes = 0;
  uint64_t resumed = 0;              // of which resumed a session
  std::string cipher;                // negotiated (first completed handshake)
  uint64_t bytes_sent = 0, bytes_received = 0;  // application data, counted handshakes only
  double wall_s = 0;
  std::vector<double> latency_ms;    // per handshake, start to the last byte of the exchange
  // CPU (seconds). process: every thread of this process. client: the
  // clients' own calls (SSL, and in network mode the sockets). server_calls:
  // the in-process server's SSL calls on the workers. harness: the workers'
  // remaining CPU (bookkeeping, polling) plus the progress thread.
  double process_cpu_s = 0;
  double client_cpu_s = 0;
  double server_calls_cpu_s = 0;
  double harness_cpu_s = 0;
  bool server_cpu_known = false;     // network: only with --server-pid
  double server_cpu_s = 0;           // in-process: process - client - harness; network: the pids'
  uint64_t async_waits = 0;          // server calls that returned SSL_ERROR_WANT_ASYNC
  uint64_t blocking_polls = 0;       // in-process: the loop blocked in poll(), every connection waiting on the engine
  std::string device = "none";       // the GPU gputls used, or none
  nlohmann::json gputls_stats;       // provider + engine counters (gputls only)
};

// Shared by both loads: the live line and the stop condition.
struct Progress {
  LiveHistogram latency;
};

bool run_handshakes(const RunConfig& cfg, RunResult* out, std::string* error);  // in-process
bool run_network(const RunConfig& cfg, RunResult* out, std::string* error);     // --connect

}  // namespace gputls::bench
