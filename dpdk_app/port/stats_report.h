// Stats as JSON: per core and totals (packets, bytes, TCP counters, drops by
// reason, connections, memory and its limit, cycles per packet). The main
// lcore rewrites the stats file periodically (write + rename, so readers never
// see half a file) and once more at exit.
#pragma once

#include <string>
#include <vector>

#include "net/stats.h"
#include "proxy/proxy_stats.h"
#include "tls/tls_stats.h"

namespace gputls::appliance {

struct CoreRef {
  unsigned lcore;
  const net::CoreStats* stats;
  const tls::TlsStats* tls = nullptr;        // with TLS termination
  const proxy::ProxyStats* proxy = nullptr;
};

// provider_json: the gputls provider's own stats ("gputls-stats"), "" if none.
std::string stats_json(const std::vector<CoreRef>& cores, double tsc_hz, double uptime_s, bool running,
                       const std::string& provider_json = "");
// Writes atomically; false (with errno) on failure.
bool write_stats_file(const std::string& path, const std::string& json);

}  // namespace gputls::appliance
