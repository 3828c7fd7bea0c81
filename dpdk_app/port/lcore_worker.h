// One lcore's run-to-completion loop: rx burst -> (impairment) -> stack input
// -> timers, services and pending output -> (impairment) -> tx burst. All
// state is this lcore's own; the only thing other threads read is its
// CoreStats.
#pragma once

#include <atomic>
#include <cstdint>

#include "net/stats.h"
#include "port/appliance_config.h"
#include "proxy/proxy_stats.h"
#include "services/download_pattern.h"
#include "tls/tls_context.h"
#include "tls/tls_stats.h"

struct rte_mempool;

namespace gputls::appliance {

struct WorkerArgs {
  const ApplianceConfig* cfg = nullptr;
  const services::DownloadPattern* pattern = nullptr;
  uint16_t port_id = 0;
  uint16_t queue = 0;
  unsigned lcore = 0;
  rte_mempool* pool = nullptr;
  net::MacAddr mac{};
  net::CoreStats* stats = nullptr;
  const tls::TlsContext* tls = nullptr;  // TLS termination when set
  tls::TlsStats* tls_stats = nullptr;
  proxy::ProxyStats* proxy_stats = nullptr;
  const std::atomic<bool>* quit = nullptr;
  int result = 0;  // nonzero: the worker failed (message logged)
};

// rte_eal_remote_launch entry point; arg is a WorkerArgs*.
int run_worker(void* arg);

}  // namespace gputls::appliance
