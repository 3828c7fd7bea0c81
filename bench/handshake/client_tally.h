// What a load worker of either mode (in-process or network) keeps about its
// clients: latencies, resumptions, application bytes, the negotiated cipher,
// and the CPU its client calls took (timed on the worker thread's CPU clock,
// so the clients' share comes out of the process's CPU).
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cpu_clock.h"
#include "load_loop.h"
#include "runner.h"
#include "tls_client.h"

namespace gputls::bench {

struct ClientTally {
  using Clock = std::chrono::steady_clock;

  LoadState* st = nullptr;
  std::vector<double> latency_ms;
  std::string cipher;  // negotiated, from the first completed handshake
  uint64_t resumed = 0, bytes_sent = 0, bytes_received = 0;
  double client_cpu = 0, thread_cpu = 0;
  std::unique_ptr<SessionReuse> sessions;

  template <class F>
  auto as_client(F f) {
    const double t0 = thread_cpu_s();
    auto r = f();
    client_cpu += thread_cpu_s() - t0;
    return r;
  }

  // One handshake and exchange completed on `client`, started at `started`.
  void completed(SSL* client, const ClientExchange& exchange, Clock::time_point started) {
    latency_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - started).count());
    st->completed(latency_ms.back());
    resumed += SSL_session_reused(client) ? 1 : 0;
    if (cipher.empty()) cipher = SSL_get_cipher_name(client);
    bytes_sent += exchange.sent();
    bytes_received += exchange.received();
    as_client([&] {
      sessions->completed(client);
      return 0;
    });
  }

  // Adds this worker's figures to the run's; the harness gets the worker
  // thread's CPU that was neither its clients' nor `server_calls_cpu`.
  void add_to(RunResult* out, double server_calls_cpu = 0) const {
    out->latency_ms.insert(out->latency_ms.end(), latency_ms.begin(), latency_ms.end());
    out->client_cpu_s += client_cpu;
    out->harness_cpu_s += thread_cpu - client_cpu - server_calls_cpu;
    out->resumed += resumed;
    if (out->cipher.empty()) out->cipher = cipher;
    out->bytes_sent += bytes_sent;
    out->bytes_received += bytes_received;
  }
};

}  // namespace gputls::bench
