#include "loop/fd_limit.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>

namespace gputls::loop {

uint64_t descriptors_needed(uint64_t workers, uint64_t max_connections, uint64_t per_connection) {
  return workers * max_connections * per_connection + kFdReserve;
}

bool ensure_fd_limit(uint64_t needed, std::string* error) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    *error = std::string("cannot read the descriptor limit: ") + std::strerror(errno);
    return false;
  }
  if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= needed) return true;
  rlimit want = lim;
  want.rlim_cur = needed;
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < needed) want.rlim_max = needed;  // needs CAP_SYS_RESOURCE
  if (setrlimit(RLIMIT_NOFILE, &want) == 0) return true;
  const int err = errno;
  *error = "needs " + std::to_string(needed) + " file descriptors (" + std::to_string(kFdReserve) +
           " + cores x --max-connections x descriptors per connection), the limit is " +
           std::to_string(lim.rlim_cur) + " (hard " +
           (lim.rlim_max == RLIM_INFINITY ? std::string("unlimited") : std::to_string(lim.rlim_max)) +
           ") and raising it failed: " + std::strerror(err) +
           "; raise it (ulimit -n, systemd LimitNOFILE=, fs.nr_open) or lower --max-connections";
  return false;
}

}  // namespace gputls::loop
