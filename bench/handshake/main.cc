// gputls-bench: full TLS handshakes per second and latency, server side
// through OpenSSL's default provider or gputls, in-process over memory BIOs.
#include <openssl/crypto.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "runner.h"

namespace {

using gputls::bench::RunConfig;
using gputls::bench::RunResult;

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

nlohmann::json to_json(const RunConfig& c, const RunResult& r) {
  const double n = static_cast<double>(r.handshakes);
  const double server_cpu = r.process_cpu_s - r.client_cpu_s;
  return {
      {"provider", c.provider},
      {"mode", "inproc"},
      {"tls_version", c.tls == 13 ? "1.3" : "1.2"},
      {"group", c.tls == 13 || c.cipher.empty() || c.cipher.find("ECDHE") != std::string::npos ? c.group : "none"},
      {"cert", c.cert},
      {"cipher", c.tls == 13 ? "TLS_AES_256_GCM_SHA384"
                 : !c.cipher.empty() ? c.cipher
                 : c.cert.rfind("ecdsa", 0) == 0 ? "ECDHE-ECDSA-AES128-GCM-SHA256"
                                                 : "ECDHE-RSA-AES128-GCM-SHA256"},
      {"concurrency", c.concurrency},
      {"threads", c.threads},
      {"async", c.async},
      {"handshakes", r.handshakes},
      {"duration_s", r.wall_s},
      {"handshakes_per_sec", n / r.wall_s},
      {"p50_ms", percentile(r.latency_ms, 0.50)},
      {"p90_ms", percentile(r.latency_ms, 0.90)},
      {"p99_ms", percentile(r.latency_ms, 0.99)},
      {"p999_ms", percentile(r.latency_ms, 0.999)},
      {"server_cpu_us_per_handshake", server_cpu / n * 1e6},
      {"client_cpu_us_per_handshake", r.client_cpu_s / n * 1e6},
      {"harness_cpu_share", r.process_cpu_s > 0 ? r.harness_cpu_s / r.process_cpu_s : 0.0},
      {"async_waits", r.async_waits},
      {"device", r.device},
      {"machine", {{"cpu", cpu_model()}, {"cores", std::thread::hardware_concurrency()}}},
      {"openssl", OpenSSL_version(OPENSSL_VERSION)},
      {"gputls", r.gputls_stats},
  };
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "gputls-bench: full TLS handshakes per second and latency.\n"
      "The `handshake` command runs client/server pairs in this process over memory BIOs (no network);\n"
      "the server side goes through the chosen provider; every counted handshake verified the server's\n"
      "certificate chain and exchanged one record each way. Sessions are never resumed."};
  app.require_subcommand(1);
  auto* hs = app.add_subcommand("handshake", "in-process handshake load (memory BIOs)");
  RunConfig cfg;
  std::string providers = "default", concurrency = "32", tls = "1.3", json_path;
  hs->add_option("--provider", providers,
                 "comma-separated: default, gputls:cpu, gputls:gpu, gputls:auto (each run in turn)")
      ->capture_default_str();
  hs->add_option("--modules", cfg.modules, "directory holding gputls.so");
  hs->add_option("--tls", tls, "1.2 or 1.3")->capture_default_str();
  hs->add_option("--group", cfg.group, "key exchange group: x25519, P-256, P-384, ffdhe2048, ffdhe3072")
      ->capture_default_str();
  hs->add_option("--cert", cfg.cert, "server certificate: rsa2048, rsa3072, rsa4096, ecdsa-p256, ecdsa-p384")
      ->capture_default_str();
  hs->add_option("--cipher", cfg.cipher,
                 "TLS 1.2 cipher list, e.g. AES128-GCM-SHA256 for RSA key exchange "
                 "(default ECDHE-RSA-AES128-GCM-SHA256, or ECDHE-ECDSA-AES128-GCM-SHA256 with an ECDSA cert)");
  hs->add_option("--concurrency", concurrency, "comma-separated connections in flight, one run each")
      ->capture_default_str();
  hs->add_option("--threads", cfg.threads, "threads running client/server pairs")->capture_default_str();
  hs->add_option("--duration", cfg.duration_s, "seconds per run")->capture_default_str();
  hs->add_option("--count", cfg.count, "stop each run after this many handshakes instead");
  hs->add_flag("--async", cfg.async, "server in SSL_MODE_ASYNC (operations pause on gputls's engine)");
  hs->add_option("--bytes", cfg.app_bytes, "application bytes exchanged each way per connection")
      ->capture_default_str();
  hs->add_option("--json", json_path, "write the runs as a JSON array to this file");
  CLI11_PARSE(app, argc, argv);

  if (tls == "1.2") cfg.tls = 12;
  else if (tls == "1.3") cfg.tls = 13;
  else {
    std::fprintf(stderr, "gputls-bench: --tls must be 1.2 or 1.3\n");
    return 2;
  }
  cfg.progress = true;
  nlohmann::json runs = nlohmann::json::array();
  std::printf("%-12s %5s %6s %12s %9s %9s %14s %10s\n", "provider", "conc", "async", "handshakes/s", "p50 ms",
              "p99 ms", "server us/hs", "vs default");
  std::map<int, double> default_rate;
  for (const std::string& conc : split(concurrency)) {
    for (const std::string& prov : split(providers)) {
      RunConfig c = cfg;
      c.provider = prov;
      try {
        c.concurrency = std::stoi(conc);
      } catch (...) {
        std::fprintf(stderr, "gputls-bench: bad --concurrency \"%s\"\n", conc.c_str());
        return 2;
      }
      RunResult r;
      std::string err;
      if (!gputls::bench::run_handshakes(c, &r, &err)) {
        std::fprintf(stderr, "gputls-bench: %s (concurrency %d): %s\n", prov.c_str(), c.concurrency, err.c_str());
        return 1;
      }
      nlohmann::json j = to_json(c, r);
      const double rate = j["handshakes_per_sec"].get<double>();
      if (prov == "default") default_rate[c.concurrency] = rate;
      std::string ratio = default_rate.count(c.concurrency) && prov != "default"
                              ? std::to_string(rate / default_rate[c.concurrency]).substr(0, 5)
                              : "";
      std::printf("%-12s %5d %6s %12.0f %9.2f %9.2f %14.1f %10s\n", prov.c_str(), c.concurrency, c.async ? "yes" : "no",
                  rate, j["p50_ms"].get<double>(), j["p99_ms"].get<double>(),
                  j["server_cpu_us_per_handshake"].get<double>(), ratio.c_str());
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
