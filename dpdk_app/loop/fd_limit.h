// The process's descriptor limit against what the appliance's connections
// need: with TLS each connection holds a backend socket and, while a job is
// paused on gputls, a provider wait fd. At the usual soft limit of 1,024 the
// appliance ran out near 500 connections (issue 22.6); it now raises the
// limit at start or refuses to start, saying what to change.
#pragma once

#include <cstdint>
#include <string>

namespace gputls::loop {

// Descriptors for `workers` cores of `max_connections` connections each,
// `per_connection` descriptors per connection, plus a fixed reserve for the
// process (EAL, provider, stats and key files, listening sockets).
constexpr uint64_t kFdReserve = 256;
uint64_t descriptors_needed(uint64_t workers, uint64_t max_connections, uint64_t per_connection);

// Raises RLIMIT_NOFILE's soft limit to at least `needed` (and the hard limit
// when the soft one cannot go that high and the process may raise it). True
// when the limit is now at least `needed`; false with *error saying the
// numbers and what to change otherwise. Never lowers a limit.
bool ensure_fd_limit(uint64_t needed, std::string* error);

}  // namespace gputls::loop
