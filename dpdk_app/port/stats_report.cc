#include "port/stats_report.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace gputls::appliance {

namespace {

nlohmann::json core_json(const net::CoreStats& s, double tsc_hz) {
  nlohmann::json j;
#define GT_FIELD(name) j[#name] = s.name.get()
  GT_FIELD(rx_packets); GT_FIELD(rx_bytes); GT_FIELD(tx_packets); GT_FIELD(tx_bytes);
  GT_FIELD(arp_replies); GT_FIELD(arp_requests_sent); GT_FIELD(icmp_echo_replies);
  GT_FIELD(tcp_rx_segments); GT_FIELD(tcp_tx_segments); GT_FIELD(tcp_retransmits);
  GT_FIELD(tcp_fast_retransmits); GT_FIELD(tcp_rto_expirations); GT_FIELD(tcp_dup_segments);
  GT_FIELD(tcp_ooo_segments); GT_FIELD(tcp_zero_window_probes_sent); GT_FIELD(tcp_syn_received);
  GT_FIELD(tcp_syn_cookies_sent); GT_FIELD(tcp_syn_cookies_accepted); GT_FIELD(tcp_conns_opened);
  GT_FIELD(tcp_conns_closed); GT_FIELD(tcp_conns_reset); GT_FIELD(tcp_conns_idle_timeout);
  GT_FIELD(tcp_rst_sent); GT_FIELD(tcp_challenge_acks); GT_FIELD(tcp_time_wait_recycled); GT_FIELD(tcp_conns_active); GT_FIELD(tcp_half_open);
  GT_FIELD(tcp_time_wait); GT_FIELD(mem_bytes_in_use); GT_FIELD(mem_bytes_limit); GT_FIELD(mem_bytes_peak);
  GT_FIELD(proc_cycles); GT_FIELD(stack_cycles); GT_FIELD(proc_packets);
  GT_FIELD(loop_iterations); GT_FIELD(busy_iterations); GT_FIELD(loop_cycles); GT_FIELD(busy_cycles);
#undef GT_FIELD
  j["busy_share"] = s.loop_cycles.get() ? double(s.busy_cycles.get()) / double(s.loop_cycles.get()) : 0.0;
  j["busy_core_seconds"] = tsc_hz > 0 ? double(s.busy_cycles.get()) / tsc_hz : 0.0;
  uint64_t pk = s.proc_packets.get();
  j["cycles_per_packet"] = pk ? double(s.proc_cycles.get()) / double(pk) : 0.0;
  j["stack_cycles_per_packet"] = pk ? double(s.stack_cycles.get()) / double(pk) : 0.0;
  j["ns_per_packet"] = pk && tsc_hz > 0 ? double(s.proc_cycles.get()) / double(pk) / tsc_hz * 1e9 : 0.0;
  nlohmann::json d = nlohmann::json::object();
  for (size_t i = 0; i < size_t(net::Drop::kCount); ++i) d[std::string(net::drop_name(net::Drop(i)))] = s.drops[i].get();
  j["drops"] = d;
  j["drops_total"] = s.drops_total();
  return j;
}

void add_into(nlohmann::json& total, const nlohmann::json& core) {
  if (!total.is_object()) total = nlohmann::json::object();
  for (auto& [k, v] : core.items()) {
    if (k == "cycles_per_packet" || k == "stack_cycles_per_packet" || k == "ns_per_packet" || k == "busy_share")
      continue;
    if (k == "busy_core_seconds") {  // seconds add up
      total[k] = total.value(k, 0.0) + v.get<double>();
      continue;
    }
    if (v.is_object()) {
      add_into(total[k], v);
    } else {  // counters add up; mem_bytes_peak becomes the sum of per-core peaks (an upper bound)
      total[k] = total.value(k, uint64_t(0)) + v.get<uint64_t>();
    }
  }
}

}  // namespace

std::string stats_json(const std::vector<CoreRef>& cores, double tsc_hz, double uptime_s, bool running,
                       const std::string& provider_json) {
  nlohmann::json root;
  root["running"] = running;
  root["uptime_s"] = uptime_s;
  root["tsc_hz"] = tsc_hz;
  nlohmann::json per = nlohmann::json::array();
  nlohmann::json total = nlohmann::json::object();
  for (const auto& c : cores) {
    nlohmann::json j = core_json(*c.stats, tsc_hz);
    j["lcore"] = c.lcore;
    if (c.tls) j["tls"] = tls::tls_stats_json(*c.tls);
    if (c.proxy) j["proxy"] = proxy::proxy_stats_json(*c.proxy);
    add_into(total, j);
    per.push_back(std::move(j));
  }
  total.erase("lcore");
  uint64_t pk = total.value("proc_packets", uint64_t(0));
  total["cycles_per_packet"] = pk ? double(total.value("proc_cycles", uint64_t(0))) / double(pk) : 0.0;
  total["stack_cycles_per_packet"] = pk ? double(total.value("stack_cycles", uint64_t(0))) / double(pk) : 0.0;
  if (!provider_json.empty()) root["gputls"] = nlohmann::json::parse(provider_json, nullptr, false);
  root["cores"] = per;
  root["total"] = total;
  return root.dump(1);
}

bool write_stats_file(const std::string& path, const std::string& json) {
  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) return false;
  bool ok = std::fwrite(json.data(), 1, json.size(), f) == json.size();
  ok = (std::fclose(f) == 0) && ok;
  return ok && std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace gputls::appliance
