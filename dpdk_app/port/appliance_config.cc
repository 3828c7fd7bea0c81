#include "port/appliance_config.h"

#include <arpa/inet.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "proxy/proxy_app.h"

namespace gputls::appliance {

namespace {
const char* kDescription =
    "gputls-appliance: DPDK TLS offload appliance. It terminates TLS 1.2/1.3 on --tls-port with libssl and\n"
    "the gputls provider (SSL_MODE_ASYNC: handshakes of many connections batch on the engine) and proxies\n"
    "the plaintext to --backend over kernel TCP; plain echo and download services run beside it.\n"
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
  app.add_option("--max-time-wait", t.max_time_wait,
                 "TIME_WAIT TCBs per core at most; beyond it, or with the table full, the oldest is recycled "
                 "(0: half of --max-connections)")
      ->capture_default_str();
  app.add_option("--max-per-source", t.max_per_source,
                 "Half-open and open connections one source address may hold per core (0: a quarter of "
                 "--max-connections)")
      ->capture_default_str();
  app.add_option("--rcv-buf", t.rcv_buf, "Receive buffer per connection, bytes")
      ->capture_default_str()->check(CLI::Range(2048u, 16u << 20));
  app.add_option("--snd-buf", t.snd_buf, "Send buffer per connection, bytes")
      ->capture_default_str()->check(CLI::Range(2048u, 16u << 20));
  app.add_option("--mem-limit", t.mem_limit_bytes,
                 "Connection memory per core, bytes: TCP rings and, with TLS, the terminator's and proxy's "
                 "buffers (0: room for --max-connections of them)")
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
  std::vector<std::string> certs, keys;
  auto& s = cfg.tls;
  app.add_option("--tls-port", cfg.tls_port, "TCP port of TLS termination (on when --cert is given)")
      ->capture_default_str();
  app.add_option("--cert", certs, "Server certificate chain (PEM); repeat with --key for RSA and ECDSA at once");
  app.add_option("--key", keys, "Private key (PEM) of the --cert in the same position");
  app.add_option("--client-ca", s.client_ca, "Require client certificates verified against this CA file (mTLS)");
  app.add_option("--tls-min", s.min_version, "Lowest TLS version: 1.2 or 1.3")->capture_default_str();
  app.add_option("--tls-max", s.max_version, "Highest TLS version: 1.2 or 1.3")->capture_default_str();
  app.add_option("--ciphers", s.ciphers, "TLS 1.2 cipher list, OpenSSL syntax, in the server's order of preference (default: ECDHE with AES-GCM, then ChaCha20-Poly1305; no CBC, no RSA key exchange)");
  app.add_option("--ciphersuites", s.ciphersuites, "TLS 1.3 cipher suites, OpenSSL syntax, in the server's order of preference (default OpenSSL's, all AEAD)");
  app.add_option("--groups", s.groups,
                 "Key-exchange groups the server accepts, OpenSSL syntax (default with gputls: X25519MLKEM768 "
                 "(post-quantum hybrid) first, then OpenSSL's defaults; with --provider default: OpenSSL's). A TLS 1.3 "
                 "client's first key share in this list is taken; the order decides when a HelloRetryRequest picks one");
  app.add_option("--ticket-key-file", s.ticket_key_file,
                 "Session ticket keys: 80-byte keys (16 name, 32 HMAC, 32 AES), first encrypts; re-read when "
                 "the file changes, so appliances sharing it rotate together (default: random per process)");
  bool no_tickets = false;
  app.add_flag("--no-tickets", no_tickets, "No session tickets (resumption by session ID only)");
  app.add_option("--keylog-file", s.keylog_file,
                 "Append TLS secrets in SSLKEYLOGFILE format (for Wireshark); off by default, contains secrets");
  app.add_option("--provider", s.provider, "Crypto provider: gputls or default (OpenSSL's, for comparison)")
      ->capture_default_str();
  app.add_option("--provider-module", s.provider_module,
                 "Path of gputls.so (default: OpenSSL's module directory, OPENSSL_MODULES)");
  app.add_option("--handshake-timeout-ms", cfg.handshake_timeout_ms,
                 "Reset connections whose TLS handshake takes longer")->capture_default_str()
      ->check(CLI::Range(10u, 600000u));
  app.add_option("--progress-timeout-s", cfg.progress_timeout_s,
                 "Reset an established TLS connection (and close its backend) when no application byte moved "
                 "either way for this long, e.g. a client that never reads (0: never)")
      ->capture_default_str()->check(CLI::Range(0u, 86400u));
  app.add_option("--backend", cfg.backend, "Plaintext backend HOST:PORT (IPv4 or localhost), kernel TCP");
  app.add_option("--proxy-buffer", cfg.proxy_buffer_bytes, "Proxy buffer per connection and direction, bytes")
      ->capture_default_str()->check(CLI::Range(1024u, 16u << 20));
  app.add_option("--backend-connect-timeout-ms", cfg.backend_connect_timeout_ms,
                 "Give up connecting to the backend after this long")->capture_default_str()
      ->check(CLI::Range(10u, 600000u));
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
  if (certs.size() != keys.size()) {
    std::cerr << "gputls-appliance: " << certs.size() << " --cert but " << keys.size()
              << " --key; give them in pairs (--cert A.pem --key A.key)\n";
    return ParseResult::kExitError;
  }
  for (size_t i = 0; i < certs.size(); ++i) s.certs.push_back({certs[i], keys[i]});
  s.tickets = !no_tickets;
  cfg.tls_enabled = !s.certs.empty();
  if (cfg.tls_enabled) {
    std::string err;
    if (cfg.backend.empty()) {
      std::cerr << "gputls-appliance: TLS termination (--cert) needs --backend HOST:PORT for the plaintext\n";
      return ParseResult::kExitError;
    }
    if (!proxy::parse_backend(cfg.backend, &cfg.backend_addr, &err)) {
      std::cerr << "gputls-appliance: " << err << "\n";
      return ParseResult::kExitError;
    }
    if (cfg.tls_port == cfg.services.echo || cfg.tls_port == cfg.services.download) {
      std::cerr << "gputls-appliance: --tls-port " << cfg.tls_port << " is taken by the echo or download service\n";
      return ParseResult::kExitError;
    }
  } else if (!cfg.backend.empty()) {
    std::cerr << "gputls-appliance: --backend without --cert: give the certificate(s) to terminate TLS with\n";
    return ParseResult::kExitError;
  }
  t.idle_timeout_us = uint64_t(idle_s * 1e6);
  t.time_wait_us = uint64_t(time_wait_ms * 1e3);
  if (t.max_half_open > t.max_connections) t.max_half_open = t.max_connections;
  cfg.impair_rx = net::ImpairConfig{drop, dup, reorder, 2000, seed};
  cfg.impair_tx = net::ImpairConfig{drop, dup, reorder, 2000, seed + 1};
  return ParseResult::kRun;
}

}  // namespace gputls::appliance
