#include "load_loop.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "cpu_clock.h"

namespace gputls::bench {

LoadTimes drive_load(LoadState& st, const std::function<void(int)>& worker) {
  using Clock = std::chrono::steady_clock;
  const bool tty = st.cfg.progress && isatty(STDOUT_FILENO);
  LoadTimes t;
  const double driver0 = thread_cpu_s();
  const double cpu0 = process_cpu_s();
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < st.cfg.threads; ++i) threads.emplace_back([&worker, i] { worker(i); });
  while (!st.stopping()) {
    st.sleep_unless_stopped(100);
    const double el = std::chrono::duration<double>(Clock::now() - t0).count();
    if ((!st.cfg.count && el >= st.cfg.duration_s) || (st.cfg.time_limit_s > 0 && el >= st.cfg.time_limit_s))
      st.request_stop();
    if (tty) {
      const auto n = st.done.load(std::memory_order_relaxed);
      std::printf("\r\033[K  %-12s conc %-5d %6.1fs %10llu handshakes %9.0f/s  p99 so far %8.2f ms",
                  st.cfg.network() ? st.cfg.connect.c_str() : st.cfg.provider.c_str(), st.cfg.concurrency, el,
                  static_cast<unsigned long long>(n), static_cast<double>(n) / (el > 0 ? el : 1),
                  st.latency.quantile_ms(0.99));
      std::fflush(stdout);
    }
  }
  t.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  for (auto& th : threads) th.join();
  t.process_cpu_s = process_cpu_s() - cpu0;
  if (tty) {
    std::printf("\r\033[K");
    std::fflush(stdout);
  }
  t.driver_cpu_s = thread_cpu_s() - driver0;
  return t;
}

}  // namespace gputls::bench
