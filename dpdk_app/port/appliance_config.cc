#include "port/appliance_config.h"

#include <arpa/inet.h>

#include <CLI/CLI.hpp>
#include <iostream>

namespace gputls::appliance {

namespace {
const char* kDescription =
    "gputls-appliance: DPDK TCP server appliance (echo and download services; TLS termination comes next).\n"
    "Usage: gputls-appliance [EAL arguments] -- --ip ADDR [options]\n"
    "EAL arguments select lcores and ports, e.g. -l 0-1 --no-huge -m 512 --no-pci\n"
    "  --vdev=net_af_packet0,iface=veth0,qpairs=1 for a veth, or PCI devices on a real NIC.\n"
    "The main lcore reports stats; every other lcore runs one rx/tx queue pair.";
}

ParseResult parse_app_args(const std::vector<std::string>& args, ApplianceConfig& cfg) {
  CLI::App app{kDescription, "gputls-appliance"};
  app.set_config("--config", "", "Read options from this file (TOML/INI: key = value)");
  app.add_option("--ip", cfg.ip, "IPv4 address of the appliance on the port")->required();
  app.add_option("--port-id", cfg.port_id, "DPDK port to use")->capture_default_str();
  app.add_option("--echo-port", cfg.services.echo, "TCP port of the echo service")->capture_default_str();
  app.add_option("--download-port", cfg.services.download,
                 "TCP port of the download service (client sends \"<bytes>\\n\")")->capture_default_str();
  app.add_option("--stats-file", cfg.stats_file, "Write stats JSON here while running (atomically replaced)");
  app.add_option("--stats-interval-ms", cfg.stats_interval_ms, "How often the stats file is rewritten")
      ->capture_default_str()->check(CLI::Range(10u, 600000u));
  app.add_option("--run-seconds", cfg.run_seconds, "Stop after this long (0: until SIGINT/SIGTERM)")
      ->capture_default_str();
  auto& t = cfg.tcp;
  app.add_option("--mss", t.mss, "Advertised MSS")->capture_default_str()->check(CLI::Range(536, 9000));
  app.add_option("--max-connections", t.max_connections, "TCBs per core (half-open + open + TIME_WAIT)")
      ->capture_default_str()->check(CLI::Range(1u, 10'000'000u));
  app.add_option("--max-half-open", t.max_half_open, "SYN backlog per core; beyond it SYN cookies")
      ->capture_default_str();
  app.add_option("--syn-cookies", t.syn_cookies, "Answer SYNs beyond the backlog with SYN cookies")
      ->capture_default_str();
  app.add_option("--rcv-buf", t.rcv_buf, "Receive buffer per connection, bytes")
      ->capture_default_str()->check(CLI::Range(2048u, 16u << 20));
  app.add_option("--snd-buf", t.snd_buf, "Send buffer per connection, bytes")
      ->capture_default_str()->check(CLI::Range(2048u, 16u << 20));
  app.add_option("--mem-limit", t.mem_limit_bytes,
                 "Connection buffer memory per core, bytes (0: max-connections x (rcv-buf + snd-buf))")
      ->capture_default_str();
  double idle_s = double(t.idle_timeout_us) / 1e6, time_wait_ms = double(t.time_wait_us) / 1e3;
  app.add_option("--idle-timeout-s", idle_s, "Reset connections idle this long")->capture_default_str();
  app.add_option("--time-wait-ms", time_wait_ms, "TIME_WAIT duration (2 MSL)")->capture_default_str();
  double drop = 0, reorder = 0, dup = 0;
  uint64_t seed = 1;
  app.add_option("--impair-drop", drop, "Test impairment: drop probability, both directions")
      ->check(CLI::Range(0.0, 0.5));
  app.add_option("--impair-reorder", reorder, "Test impairment: reorder probability, both directions")
      ->check(CLI::Range(0.0, 0.5));
  app.add_option("--impair-dup", dup, "Test impairment: duplicate probability, both directions")
      ->check(CLI::Range(0.0, 0.5));
  app.add_option("--impair-seed", seed, "Test impairment seed (rx uses seed, tx seed+1; per core +lcore)")
      ->capture_default_str();
  std::vector<std::string> rev(args.rbegin(), args.rend() - 1);  // CLI11 wants reversed, without argv[0]
  try {
    app.parse(rev);
  } catch (const CLI::CallForHelp& e) {
    std::cout << app.help();
    return ParseResult::kExitOk;
  } catch (const CLI::ParseError& e) {
    std::cerr << "gputls-appliance: " << e.what() << "\n(run with -- --help for the options)\n";
    return ParseResult::kExitError;
  }
  in_addr a{};
  if (inet_pton(AF_INET, cfg.ip.c_str(), &a) != 1) {
    std::cerr << "gputls-appliance: --ip " << cfg.ip << " is not an IPv4 address (want e.g. 10.9.0.1)\n";
    return ParseResult::kExitError;
  }
  cfg.ip_host = ntohl(a.s_addr);
  t.idle_timeout_us = uint64_t(idle_s * 1e6);
  t.time_wait_us = uint64_t(time_wait_ms * 1e3);
  if (t.max_half_open > t.max_connections) t.max_half_open = t.max_connections;
  cfg.impair_rx = net::ImpairConfig{drop, dup, reorder, 2000, seed};
  cfg.impair_tx = net::ImpairConfig{drop, dup, reorder, 2000, seed + 1};
  return ParseResult::kRun;
}

}  // namespace gputls::appliance
