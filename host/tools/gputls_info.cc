// gputls-info: loads the gputls provider the way an application would and
// says what it will do: build, GPUs in use (or why none), policy, whether
// key shares are generated ahead, each GPU's state (in rotation, batches,
// requests served and in flight), and the engine's stats as JSON.
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

// One line per GPU the engine drives, from the stats JSON's engine.devices
// (nothing when the engine did not start or drives none).
void print_devices(const char* stats_json) {
  const nlohmann::json stats = nlohmann::json::parse(stats_json, nullptr, /*allow_exceptions=*/false);
  if (!stats.is_object() || !stats.contains("engine") || !stats["engine"].is_object()) return;
  const nlohmann::json& devices = stats["engine"].value("devices", nlohmann::json::array());
  for (const nlohmann::json& d : devices) {
    const bool in_rotation = d.value("in_rotation", false);
    std::printf("device %d: %s, %s, %llu batches, %llu requests served, %llu in flight, %llu trips, %llu probes\n",
                d.value("index", -1), d.value("description", std::string("?")).c_str(),
                in_rotation ? "in rotation" : "OUT of rotation (the others or the CPU serve)",
                static_cast<unsigned long long>(d.value("batches", uint64_t{0})),
                static_cast<unsigned long long>(d.value("requests_served", uint64_t{0})),
                static_cast<unsigned long long>(d.value("requests_in_flight", uint64_t{0})),
                static_cast<unsigned long long>(d.value("trips", uint64_t{0})),
                static_cast<unsigned long long>(d.value("probes", uint64_t{0})));
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Shows whether gputls loads, which GPU it uses (or why none), its policy, and its stats."};
  std::string path;
  bool json = false;
  app.add_option("--provider-path", path, "directory holding gputls.so (default: OPENSSL_MODULES or OpenSSL's)");
  app.add_flag("--json", json, "print the provider's and engine's stats as JSON");
  CLI11_PARSE(app, argc, argv);

  OSSL_LIB_CTX* lib = OSSL_LIB_CTX_new();
  if (!path.empty()) OSSL_PROVIDER_set_default_search_path(lib, path.c_str());
  OSSL_PROVIDER* prov = OSSL_PROVIDER_load(lib, "gputls");
  if (!prov) {
    std::fprintf(stderr, "gputls-info: gputls.so did not load%s%s\n", path.empty() ? "" : " from ",
                 path.c_str());
    ERR_print_errors_fp(stderr);
    return 1;
  }
  const char *name = nullptr, *version = nullptr, *build = nullptr;
  std::vector<char> device(4096), policy(64), key_shares(256), stats(1 << 20);  // device: up to kMaxDevices names
  OSSL_PARAM p[] = {OSSL_PARAM_utf8_ptr("name", &name, 0),
                    OSSL_PARAM_utf8_ptr("version", &version, 0),
                    OSSL_PARAM_utf8_ptr("buildinfo", &build, 0),
                    OSSL_PARAM_utf8_string("gputls-device", device.data(), device.size()),
                    OSSL_PARAM_utf8_string("gputls-policy", policy.data(), policy.size()),
                    OSSL_PARAM_utf8_string("gputls-key-shares", key_shares.data(), key_shares.size()),
                    OSSL_PARAM_utf8_string("gputls-stats", stats.data(), stats.size()),
                    OSSL_PARAM_END};
  if (OSSL_PROVIDER_get_params(prov, p) != 1) {
    std::fprintf(stderr, "gputls-info: the provider did not answer its parameters\n");
    return 1;
  }
  if (json) {
    std::printf("%s\n", stats.data());
  } else {
    std::printf("provider: %s %s\nbuild:    %s\nGPU:      %s\npolicy:   %s\nkey shares: %s\n", name, version, build,
                device.data(), policy.data(), key_shares.data());
    print_devices(stats.data());
  }
  OSSL_PROVIDER_unload(prov);
  OSSL_LIB_CTX_free(lib);
  return 0;
}
