#include "report.h"

#include "load_loop.h"

#include <openssl/crypto.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

extern char** environ;

namespace gputls::bench {
namespace {

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

nlohmann::json machine() {
  std::ifstream f("/proc/cpuinfo");
  std::string line, model = "unknown";
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  utsname u{};
  uname(&u);
  return {{"cpu", model}, {"cores", std::thread::hardware_concurrency()}, {"kernel", u.release}};
}

// The GPUTLS_* settings in force (the provider reads them when it loads).
nlohmann::json gputls_env() {
  nlohmann::json j = nlohmann::json::object();
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    if (kv.rfind("GPUTLS_", 0) == 0) j[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
  }
  return j;
}

// The engine's counters folded over its operations: what a reader checks
// first (how full the batches were, what fell back, what refused work).
nlohmann::json engine_summary(const nlohmann::json& stats) {
  nlohmann::json hist = nlohmann::json::object(), fallbacks = nlohmann::json::object(),
                 served = nlohmann::json::object();
  uint64_t batches = 0, busy = 0;
  const nlohmann::json& eng = stats.is_object() && stats.contains("engine") ? stats["engine"] : nlohmann::json();
  if (eng.is_object())
    for (const auto& op : eng.value("ops", nlohmann::json::array())) {
      for (auto& [k, v] : op["batch_size_histogram"].items()) hist[k] = hist.value(k, 0ULL) + v.get<uint64_t>();
      for (auto& [k, v] : op["fallbacks"].items()) fallbacks[k] = fallbacks.value(k, 0ULL) + v.get<uint64_t>();
      for (auto& [k, v] : op["served_by"].items()) served[k] = served.value(k, 0ULL) + v.get<uint64_t>();
      batches += op.value("batches", 0ULL);
      busy += op.value("busy_rejections", 0ULL);
    }
  uint64_t sw = 0, paused = 0, refused = 0;
  const nlohmann::json& prov = stats.is_object() && stats.contains("provider") ? stats["provider"] : nlohmann::json();
  if (prov.is_object())
    for (auto& [name, c] : prov.items()) {
      sw += c.value("sw", 0ULL);
      paused += c.value("async_paused", 0ULL);
      refused += c.value("key_refused", 0ULL);
    }
  return {{"batches", batches},           {"batch_size_histogram", hist}, {"served_by", served},
          {"fallbacks", fallbacks},       {"busy_rejections", busy},      {"provider_software", sw},
          {"provider_key_refused", refused}, {"async_paused", paused}};
}

// Share of the engine's work the host CPU did (1 without a GPU).
double host_share(const nlohmann::json& summary) {
  uint64_t total = 0, gpu = 0;
  for (auto& [k, v] : summary["served_by"].items()) {
    total += v.get<uint64_t>();
    if (k == "gpu") gpu += v.get<uint64_t>();
  }
  return total ? 1.0 - static_cast<double>(gpu) / static_cast<double>(total) : 1.0;
}

}  // namespace

nlohmann::json run_json(const RunConfig& c, const RunResult& r, const ReportContext& ctx) {
  const double n = static_cast<double>(r.handshakes);
  const double per = 1e6 / n;  // seconds total -> microseconds per handshake
  const double resumed_share = static_cast<double>(r.resumed) / n;

  // Public-key operations per handshake (full and resumed mixed as they
  // happened) and their CPU cost on this machine (OpenSSL's, or for ML-KEM
  // gputls's host code).
  nlohmann::json ops = nlohmann::json::object(), op_us = nlohmann::json::object(), op_with = nlohmann::json::object(),
                 op_setup_us = nlohmann::json::object();
  double pk_us = 0;
  for (const PkOp& op : server_pk_ops(c)) {
    const double k = op.full * (1 - resumed_share) + op.resumed * resumed_share;
    ops[op.name] = ops.value(op.name, 0.0) + k;
    const auto it = ctx.pk_us.find(op.name);
    const double us = it == ctx.pk_us.end() ? 0 : it->second;
    op_us[op.name] = us;
    const auto setup = ctx.pk_setup_us.find(op.name);
    op_setup_us[op.name] = setup == ctx.pk_setup_us.end() ? 0 : setup->second;
    op_with[op.name] = pk_op_timed_with(op.name);
    pk_us += k * us;
  }
  const bool gputls = c.provider.rfind("gputls", 0) == 0 && !c.network();
  const nlohmann::json summary = gputls ? engine_summary(r.gputls_stats) : nlohmann::json();
  const double host = gputls ? host_share(summary) : 1.0;
  nlohmann::json server_us = nullptr, rest_us = nullptr, per_core = nullptr;
  if (r.server_cpu_known) {
    server_us = r.server_cpu_s * per;
    rest_us = r.server_cpu_s * per - pk_us * host;
    per_core = r.server_cpu_s > 0 ? n / r.server_cpu_s : 0.0;
  }
  const double harness_share = r.process_cpu_s > 0 ? std::clamp(r.harness_cpu_s / r.process_cpu_s, 0.0, 1.0) : 0.0;

  nlohmann::json j = {
      {"provider", c.provider},
      {"mode", c.network() ? "network" : "inproc"},
      {"target", c.network() ? nlohmann::json(c.connect) : nlohmann::json(nullptr)},
      {"tls_version", c.tls == 13 ? "1.3" : "1.2"},
      {"group", c.group},
      {"cert", c.cert},  // network: the server's key type as given (for the public-key estimate)
      {"cipher", r.cipher},
      {"concurrency", c.concurrency},
      {"threads", c.threads},
      {"async", c.async},
      {"busy_poll", c.busy_poll},
      {"mtls", c.mtls},
      {"resume_ratio", c.resume_ratio},
      {"app", c.network() ? c.app : "echo"},
      {"bytes", c.app_bytes},
      {"handshakes", r.handshakes},
      {"handshakes_resumed", r.resumed},
      // Before the measured run, same contexts (gputls's counters include them).
      {"warmup_handshakes", warmup_config(c).count},
      {"bytes_sent", r.bytes_sent},
      {"bytes_received", r.bytes_received},
      {"duration_s", r.wall_s},
      {"handshakes_per_sec", n / r.wall_s},
      {"p50_ms", percentile(r.latency_ms, 0.50)},
      {"p90_ms", percentile(r.latency_ms, 0.90)},
      {"p99_ms", percentile(r.latency_ms, 0.99)},
      {"p999_ms", percentile(r.latency_ms, 0.999)},
      {"server_cpu_us_per_handshake", server_us},
      {"client_cpu_us_per_handshake", r.client_cpu_s * per},
      {"harness_cpu_share", harness_share},
      {"cpu",
       {{"process_us_per_handshake", r.process_cpu_s * per},
        {"server_us_per_handshake", server_us},
        {"server_calls_us_per_handshake", r.server_calls_cpu_s * per},
        {"client_us_per_handshake", r.client_cpu_s * per},
        {"harness_us_per_handshake", r.harness_cpu_s * per},
        {"harness_share", harness_share},
        {"pk_ops_per_handshake", ops},
        {"pk_op_cpu_us", op_us},
        {"pk_op_setup_us", op_setup_us},
        {"pk_op_timed_with", op_with},
        {"pk_us_per_handshake", pk_us},
        {"pk_on_host_share", host},
        {"rest_us_per_handshake", rest_us},
        {"handshakes_per_server_core_sec", per_core}}},
      {"async_waits", r.async_waits},
      {"blocking_polls", r.blocking_polls},
      {"device", r.device},
      {"machine", machine()},
      {"openssl", OpenSSL_version(OPENSSL_VERSION)},
      {"command", ctx.command},
      {"env", gputls_env()},
      {"gputls", r.gputls_stats.is_null() ? nlohmann::json(nullptr) : r.gputls_stats},
      {"engine_summary", gputls ? summary : nlohmann::json(nullptr)},
  };
  return j;
}

void print_header() {
  std::printf("%-14s %5s %11s %8s %8s %9s %8s %8s %10s %7s %9s\n", "provider", "conc", "handshk/s", "p50 ms",
              "p99 ms", "server us", "pk us", "rest us", "hs/s/core", "harness", "vs deflt");
}

void print_row(const nlohmann::json& j, double vs_default) {
  auto num = [&](const char* k, const nlohmann::json& o) { return o[k].is_number() ? o[k].get<double>() : -1.0; };
  const auto& cpu = j["cpu"];
  char ratio[32] = "";
  if (vs_default > 0) std::snprintf(ratio, sizeof ratio, "%.3f", vs_default);
  auto cell = [](double v, const char* fmt) {
    static thread_local char b[4][32];
    static thread_local int i = 0;
    char* s = b[i++ % 4];
    if (v < 0) std::snprintf(s, 32, "-");
    else std::snprintf(s, 32, fmt, v);
    return s;
  };
  std::printf("%-14s %5d %11.0f %8.2f %8.2f %9s %8.1f %8s %10s %6.1f%% %9s\n", j["provider"].get<std::string>().c_str(),
              j["concurrency"].get<int>(), num("handshakes_per_sec", j), num("p50_ms", j), num("p99_ms", j),
              cell(num("server_us_per_handshake", cpu), "%.1f"), num("pk_us_per_handshake", cpu),
              cell(num("rest_us_per_handshake", cpu), "%.1f"), cell(num("handshakes_per_server_core_sec", cpu), "%.0f"),
              100 * num("harness_share", cpu), ratio);
  std::fflush(stdout);
}

}  // namespace gputls::bench
