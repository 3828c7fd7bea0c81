// gputls-bench: full TLS handshakes per second, latency and CPU per
// handshake, in-process (server through OpenSSL's default provider or
// gputls) or against a server over the network.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "client_lib.h"
#include "identity.h"
#include "pk_cost.h"
#include "report.h"
#include "runner.h"

namespace {

using gputls::bench::RunConfig;
using gputls::bench::RunResult;

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "gputls-bench: %s\n", msg.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "gputls-bench: full TLS handshakes per second, latency percentiles and CPU per handshake.\n"
      "`handshake` without --connect runs client/server pairs in this process over memory BIOs, the\n"
      "server side through the chosen provider; with --connect it runs clients only, on non-blocking\n"
      "sockets driven by epoll, against a server elsewhere. Every counted handshake verified the peer's\n"
      "certificate chain against the CA and then exchanged --bytes of application data each way."};
  app.require_subcommand(1);
  auto* hs = app.add_subcommand("handshake", "handshake load, in-process (memory BIOs) or over the network");
  RunConfig cfg;
  std::string providers = "default", concurrency = "32", tls = "1.3", json_path, pids, label = "remote";
  hs->add_option("--provider", providers,
                 "in-process server: comma-separated default, gputls:cpu, gputls:gpu, gputls:auto (each run in turn)")
      ->capture_default_str();
  hs->add_option("--modules", cfg.modules, "directory holding gputls.so");
  hs->add_option("--connect", cfg.connect, "network mode: load the server at host:port (clients only)");
  hs->add_option("--ca", cfg.ca_file, "network mode: CA certificate (PEM) the server's chain must verify against");
  hs->add_option("--servername", cfg.servername, "network mode: SNI and the name checked in the certificate "
                                                 "(default: the host of --connect; an IP is checked as an IP)");
  hs->add_option("--app", cfg.app, "network mode: echo (send --bytes, expect them back, e.g. openssl s_server -rev) "
                                   "or http (GET padded to --bytes, read the 2xx response)")
      ->capture_default_str();
  hs->add_option("--http-path", cfg.http_path, "network mode, --app http: the path requested")->capture_default_str();
  hs->add_option("--server-pid", pids, "network mode: comma-separated pids of the server's processes; their CPU "
                                       "(from /proc) gives server CPU per handshake");
  hs->add_option("--label", label, "network mode: the name of the server in the table and JSON")->capture_default_str();
  hs->add_option("--tls", tls, "1.2 or 1.3")->capture_default_str();
  hs->add_option("--group", cfg.group,
                 "key exchange group: x25519, P-256, P-384, ffdhe2048, ffdhe3072; TLS 1.3 with gputls (server "
                 "gputls:*, in-process clients load a copy of gputls.so from --modules): x25519mlkem768, "
                 "secp256r1mlkem768, mlkem768")
      ->capture_default_str();
  hs->add_option("--cert", cfg.cert,
                 "in-process: the server's certificate (and with --mtls the client's); network: the server's key "
                 "type, for the public-key CPU estimate: rsa2048, rsa3072, rsa4096, ecdsa-p256, ecdsa-p384")
      ->capture_default_str();
  hs->add_option("--cipher", cfg.cipher,
                 "TLS 1.2 cipher list, e.g. AES128-GCM-SHA256 for RSA key exchange (default "
                 "ECDHE-RSA-AES128-GCM-SHA256, or ECDHE-ECDSA-AES128-GCM-SHA256 with an ECDSA cert); "
                 "TLS 1.3: cipher suites (e.g. TLS_AES_128_GCM_SHA256)");
  hs->add_flag("--mtls", cfg.mtls, "mutual TLS: the client presents a certificate the server verifies");
  hs->add_option("--client-cert", cfg.client_cert, "network mode with --mtls: the client's certificate chain (PEM)");
  hs->add_option("--client-key", cfg.client_key, "network mode with --mtls: the client's private key (PEM)");
  hs->add_option("--resume-ratio", cfg.resume_ratio,
                 "share of handshakes (0..1) that resume a session (TLS 1.3 tickets; TLS 1.2 tickets or IDs)")
      ->capture_default_str();
  hs->add_option("--concurrency", concurrency, "comma-separated connections in flight, one run each")
      ->capture_default_str();
  hs->add_option("--threads", cfg.threads, "threads running the connections (at most one per connection)")->capture_default_str();
  hs->add_option("--duration", cfg.duration_s, "seconds per run")->capture_default_str();
  hs->add_option("--count", cfg.count, "stop each run after this many handshakes instead");
  hs->add_flag("--async", cfg.async, "in-process server in SSL_MODE_ASYNC (operations pause on gputls's engine)");
  hs->add_flag("--busy-poll", cfg.busy_poll,
               "with --async: when every connection waits on the engine, poll again at once instead of sleeping "
               "(a busy-polling server; the spinning counts as the harness's CPU, not the server's)");
  hs->add_option("--bytes", cfg.app_bytes, "application bytes sent each way per connection (at least 1)")
      ->capture_default_str();
  hs->add_option("--json", json_path, "write the runs as a JSON array to this file (bench/handshake/schema.json)");
  CLI11_PARSE(app, argc, argv);

  if (tls == "1.2") cfg.tls = 12;
  else if (tls == "1.3") cfg.tls = 13;
  else return usage_error("--tls must be 1.2 or 1.3");
  cfg.group = gputls::bench::canonical_group(cfg.group);
  if (gputls::bench::gputls_only_group(cfg.group) && cfg.tls != 13)
    return usage_error("--group " + cfg.group + " is a TLS 1.3 group (use --tls 1.3)");
  if (cfg.resume_ratio < 0 || cfg.resume_ratio > 1) return usage_error("--resume-ratio must be between 0 and 1");
  if (cfg.busy_poll && (!cfg.async || cfg.network()))
    return usage_error("--busy-poll applies to the in-process server with --async");
  if (cfg.app_bytes < 1) return usage_error("--bytes must be at least 1 (one record is exchanged each way)");
  if (cfg.duration_s <= 0 && cfg.count == 0) return usage_error("--duration must be positive (or give --count)");
  if (!gputls::bench::known_cert(cfg.cert))
    return usage_error("unknown --cert \"" + cfg.cert + "\" (use rsa2048, rsa3072, rsa4096, ecdsa-p256 or ecdsa-p384)");
  for (const std::string& p : split(pids)) {
    try {
      cfg.server_pids.push_back(static_cast<pid_t>(std::stoi(p)));
    } catch (...) {
      return usage_error("bad --server-pid \"" + p + "\"");
    }
  }
  std::vector<int> levels;
  for (const std::string& c : split(concurrency)) {
    try {
      levels.push_back(std::stoi(c));
    } catch (...) {
      return usage_error("bad --concurrency \"" + c + "\"");
    }
  }
  std::vector<std::string> servers = cfg.network() ? std::vector<std::string>{label} : split(providers);

  gputls::bench::ReportContext ctx;
  for (int i = 0; i < argc; ++i) ctx.command += (i ? " " : "") + std::string(argv[i]);
  std::string err;
  // Public-key costs with OpenSSL on this machine, once for every run
  // (network mode: valid for a server on this machine).
  if (!gputls::bench::calibrate_pk_ops(gputls::bench::server_pk_ops(cfg), &ctx.pk_us, &ctx.pk_setup_us, &err)) {
    std::fprintf(stderr, "gputls-bench: %s\n", err.c_str());
    return 1;
  }

  cfg.progress = true;
  nlohmann::json runs = nlohmann::json::array();
  bool header = false;
  std::map<int, double> default_rate;
  for (int level : levels) {
    for (const std::string& server : servers) {
      RunConfig c = cfg;
      c.provider = server;
      c.concurrency = level;
      c.threads = std::min(cfg.threads, level);  // at most one thread per connection
      RunResult r;
      const bool ok = c.network() ? gputls::bench::run_network(c, &r, &err) : gputls::bench::run_handshakes(c, &r, &err);
      if (!ok) {
        std::fprintf(stderr, "gputls-bench: %s, concurrency %d: %s\n", c.network() ? c.connect.c_str() : server.c_str(),
                     level, err.c_str());
        return 1;
      }
      nlohmann::json j = gputls::bench::run_json(c, r, ctx);
      if (!header) gputls::bench::print_header(), header = true;
      const double rate = j["handshakes_per_sec"].get<double>();
      if (server == "default") default_rate[level] = rate;
      gputls::bench::print_row(j, server != "default" && default_rate.count(level) ? rate / default_rate[level] : 0);
      runs.push_back(j);
    }
  }
  if (!json_path.empty()) {
    std::ofstream f(json_path);
    f << runs.dump(2) << "\n";
    if (!f) {
      std::fprintf(stderr, "gputls-bench: cannot write %s\n", json_path.c_str());
      return 1;
    }
  }
  return 0;
}
