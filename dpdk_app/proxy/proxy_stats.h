// Per-lcore backend proxy counters (net::Counter semantics: the lcore writes,
// the stats thread reads). Keys of the stats JSON "proxy" object.
#pragma once

#include <nlohmann/json.hpp>

#include "net/stats.h"

namespace gputls::proxy {

struct alignas(64) ProxyStats {
  net::Counter backend_connects, backend_connect_failed, connect_refused, connect_timeout, connect_other;
  net::Counter backend_resets, backend_eof, client_half_closes, bytes_to_backend, bytes_from_backend;
  net::Counter active, buffered_bytes, buffered_peak, refused_no_slot;
};

inline nlohmann::json proxy_stats_json(const ProxyStats& s) {
  nlohmann::json j;
#define GT_FIELD(name) j[#name] = s.name.get()
  GT_FIELD(backend_connects); GT_FIELD(backend_connect_failed); GT_FIELD(connect_refused);
  GT_FIELD(connect_timeout); GT_FIELD(connect_other); GT_FIELD(backend_resets); GT_FIELD(backend_eof);
  GT_FIELD(client_half_closes); GT_FIELD(bytes_to_backend); GT_FIELD(bytes_from_backend); GT_FIELD(active);
  GT_FIELD(buffered_bytes); GT_FIELD(buffered_peak); GT_FIELD(refused_no_slot);
#undef GT_FIELD
  return j;
}

}  // namespace gputls::proxy
