// CPU clocks for the benchmark's accounting: this thread's CPU (around each
// client or server call), this process's CPU (every thread, the engine's
// flusher and GPU worker included), and another process's CPU (a server
// measured over the network, from /proc).
#pragma once

#include <sys/types.h>
#include <time.h>

#include <cstdio>
#include <string>
#include <vector>

namespace gputls::bench {

inline double clock_s(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
inline double thread_cpu_s() { return clock_s(CLOCK_THREAD_CPUTIME_ID); }
inline double process_cpu_s() { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

// utime + stime of a process (all its threads), or false if it is gone.
bool pid_cpu_s(pid_t pid, double* seconds);

// Sum over several processes (e.g. nginx's workers); false names the first missing one.
bool pids_cpu_s(const std::vector<pid_t>& pids, double* seconds, std::string* error);

}  // namespace gputls::bench
