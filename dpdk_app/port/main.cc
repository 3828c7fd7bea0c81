// gputls-appliance: EAL set-up, one port with a queue pair per worker lcore,
// workers launched, stats reported by the main lcore, clean stop on
// SIGINT/SIGTERM.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <memory>
#include <vector>

#include "loop/fd_limit.h"
#include "port/appliance_config.h"
#include "port/lcore_worker.h"
#include "port/stats_report.h"

using namespace gputls;
using namespace gputls::appliance;

namespace {

std::atomic<bool> g_quit{false};
void on_signal(int) { g_quit.store(true); }

bool wants_help(const std::vector<std::string>& app_args) {
  for (const auto& a : app_args)
    if (a == "--help" || a == "-h") return true;
  return false;
}

int setup_port(uint16_t port, uint16_t queues, rte_mempool* pool, const ApplianceConfig& cfg) {
  rte_eth_dev_info info{};
  int rc = rte_eth_dev_info_get(port, &info);
  if (rc != 0) {
    std::fprintf(stderr, "gputls-appliance: port %u: no device info (%s)\n", port, rte_strerror(-rc));
    return -1;
  }
  if (queues > info.max_rx_queues || queues > info.max_tx_queues) {
    std::fprintf(stderr,
                 "gputls-appliance: port %u (%s) has %u rx / %u tx queues, %u worker lcores need one each; "
                 "use fewer lcores, or for net_af_packet add qpairs=%u to the --vdev\n",
                 port, info.driver_name, info.max_rx_queues, info.max_tx_queues, queues, queues);
    return -1;
  }
  rte_eth_conf conf{};
  uint64_t want_rss = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP;
  if (queues > 1 && (info.flow_type_rss_offloads & want_rss)) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads & want_rss;
  } else if (queues > 1) {
    RTE_LOG(NOTICE, USER1, "port %u (%s) has no RSS; the driver spreads flows over queues itself "
            "(af_packet: PACKET_FANOUT hash)\n", port, info.driver_name);
  }
  rc = rte_eth_dev_configure(port, queues, queues, &conf);
  if (rc != 0) {
    std::fprintf(stderr, "gputls-appliance: port %u configure failed: %s\n", port, rte_strerror(-rc));
    return -1;
  }
  uint16_t rxd = uint16_t(cfg.rx_ring), txd = uint16_t(cfg.tx_ring);
  rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
  int socket = rte_eth_dev_socket_id(port);
  for (uint16_t q = 0; q < queues; ++q) {
    if ((rc = rte_eth_rx_queue_setup(port, q, rxd, socket, nullptr, pool)) != 0 ||
        (rc = rte_eth_tx_queue_setup(port, q, txd, socket, nullptr)) != 0) {
      std::fprintf(stderr, "gputls-appliance: port %u queue %u setup failed: %s\n", port, q, rte_strerror(-rc));
      return -1;
    }
  }
  if ((rc = rte_eth_dev_start(port)) != 0) {
    std::fprintf(stderr, "gputls-appliance: port %u start failed: %s\n", port, rte_strerror(-rc));
    return -1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // EAL arguments come first, the appliance's after "--".
  int split = argc;
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--") == 0) { split = i; break; }
  std::vector<std::string> app_args{argv[0]};
  for (int i = split + 1; i < argc; ++i) app_args.emplace_back(argv[i]);
  std::vector<std::string> eal_only{argv + 1, argv + split};
  ApplianceConfig cfg;
  if (wants_help(app_args) || wants_help(eal_only)) app_args = {argv[0], "--help"};
  switch (parse_app_args(app_args, cfg)) {
    case ParseResult::kExitOk: return 0;
    case ParseResult::kExitError: return 2;
    case ParseResult::kRun: break;
  }

  // TLS material is loaded and checked before EAL touches the NIC, so a bad
  // certificate or key file is reported at once.
  std::unique_ptr<tls::TlsContext> tls_ctx;
  if (cfg.tls_enabled) {
    std::string err;
    tls_ctx = tls::TlsContext::create(cfg.tls, &err);
    if (!tls_ctx) {
      std::fprintf(stderr, "gputls-appliance: %s\n", err.c_str());
      return 2;
    }
  }
  int eal_argc = split;
  int rc = rte_eal_init(eal_argc, argv);
  if (rc < 0) {
    std::fprintf(stderr, "gputls-appliance: EAL init failed: %s (check the EAL arguments before \"--\")\n",
                 rte_strerror(rte_errno));
    return 1;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  std::vector<unsigned> workers;
  unsigned lc;
  RTE_LCORE_FOREACH_WORKER(lc) workers.push_back(lc);
  int exit_code = 0;
  do {
    if (workers.empty()) {
      std::fprintf(stderr, "gputls-appliance: give at least two lcores (e.g. -l 0-1): the main lcore reports "
                           "stats, each other lcore runs the network loop\n");
      exit_code = 1;
      break;
    }
    if (cfg.tls_enabled) {
      // Each TLS connection holds a backend socket and, while paused on
      // gputls, a provider wait fd.
      std::string err;
      if (!loop::ensure_fd_limit(loop::descriptors_needed(workers.size(), cfg.tcp.max_connections, 2), &err)) {
        std::fprintf(stderr, "gputls-appliance: %s\n", err.c_str());
        exit_code = 1;
        break;
      }
    }
    if (!rte_eth_dev_is_valid_port(cfg.port_id)) {
      std::fprintf(stderr, "gputls-appliance: no DPDK port %u (%u ports found); attach a NIC or add "
                           "--vdev=net_af_packet0,iface=IFACE\n", cfg.port_id, rte_eth_dev_count_avail());
      exit_code = 1;
      break;
    }
    uint16_t queues = uint16_t(workers.size());
    rte_mempool* pool = rte_pktmbuf_pool_create("gputls_mbufs", cfg.mbufs_per_queue * queues * 2, 256, 0,
                                                RTE_MBUF_DEFAULT_BUF_SIZE, rte_eth_dev_socket_id(cfg.port_id));
    if (!pool) {
      std::fprintf(stderr, "gputls-appliance: mbuf pool: %s (give EAL more memory, e.g. -m 512)\n",
                   rte_strerror(rte_errno));
      exit_code = 1;
      break;
    }
    if (setup_port(cfg.port_id, queues, pool, cfg) != 0) {
      exit_code = 1;
      break;
    }
    rte_ether_addr mac;
    rte_eth_macaddr_get(cfg.port_id, &mac);
    RTE_LOG(NOTICE, USER1, "port %u up, %02x:%02x:%02x:%02x:%02x:%02x ip %s, %u worker lcores\n", cfg.port_id,
            mac.addr_bytes[0], mac.addr_bytes[1], mac.addr_bytes[2], mac.addr_bytes[3], mac.addr_bytes[4],
            mac.addr_bytes[5], cfg.ip.c_str(), queues);

    services::DownloadPattern pattern;
    std::vector<net::CoreStats> stats(workers.size());
    std::vector<tls::TlsStats> tls_stats(workers.size());
    std::vector<proxy::ProxyStats> proxy_stats(workers.size());
    std::vector<WorkerArgs> args(workers.size());
    std::vector<CoreRef> refs;
    for (size_t i = 0; i < workers.size(); ++i) {
      auto& a = args[i];
      a.cfg = &cfg;
      a.pattern = &pattern;
      a.port_id = cfg.port_id;
      a.queue = uint16_t(i);
      a.lcore = workers[i];
      a.pool = pool;
      std::memcpy(a.mac.data(), mac.addr_bytes, 6);
      a.stats = &stats[i];
      a.tls = tls_ctx.get();
      a.tls_stats = &tls_stats[i];
      a.proxy_stats = &proxy_stats[i];
      a.quit = &g_quit;
      refs.push_back(CoreRef{workers[i], &stats[i], tls_ctx ? &tls_stats[i] : nullptr,
                             tls_ctx ? &proxy_stats[i] : nullptr});
      rte_eal_remote_launch(run_worker, &a, workers[i]);
    }
    double hz = double(rte_get_tsc_hz());
    auto start = std::chrono::steady_clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
    bool warned = false;
    auto provider_json = [&] { return tls_ctx ? tls_ctx->provider_stats_json() : std::string(); };
    while (!g_quit.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(cfg.stats_interval_ms));
      if (!cfg.stats_file.empty() && !write_stats_file(cfg.stats_file, stats_json(refs, hz, elapsed(), true, provider_json())) &&
          !warned) {
        std::fprintf(stderr, "gputls-appliance: cannot write stats file %s: %s\n", cfg.stats_file.c_str(),
                     std::strerror(errno));
        warned = true;
      }
      if (cfg.run_seconds > 0 && elapsed() >= cfg.run_seconds) g_quit.store(true);
    }
    RTE_LOG(NOTICE, USER1, "stopping\n");
    rte_eal_mp_wait_lcore();
    std::string final_json = stats_json(refs, hz, elapsed(), false, provider_json());
    if (!cfg.stats_file.empty()) write_stats_file(cfg.stats_file, final_json);
    uint64_t rx = 0, tx = 0, drops = 0, opened = 0;
    for (auto& s : stats) {
      rx += s.rx_packets.get();
      tx += s.tx_packets.get();
      drops += s.drops_total();
      opened += s.tcp_conns_opened.get();
    }
    std::fprintf(stderr, "gputls-appliance: stopped: rx %lu tx %lu packets, %lu drops, %lu connections\n",
                 (unsigned long)rx, (unsigned long)tx, (unsigned long)drops, (unsigned long)opened);
    rte_eth_dev_stop(cfg.port_id);
    rte_eth_dev_close(cfg.port_id);
  } while (false);
  rte_eal_cleanup();
  return exit_code;
}
