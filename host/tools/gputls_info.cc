// gputls-info: loads the gputls provider the way an application would and
// says what it will do: build, GPU in use (or why not), policy, and the
// engine's stats as JSON.
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

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
  std::vector<char> device(512), policy(64), stats(1 << 20);
  OSSL_PARAM p[] = {OSSL_PARAM_utf8_ptr("name", &name, 0),
                    OSSL_PARAM_utf8_ptr("version", &version, 0),
                    OSSL_PARAM_utf8_ptr("buildinfo", &build, 0),
                    OSSL_PARAM_utf8_string("gputls-device", device.data(), device.size()),
                    OSSL_PARAM_utf8_string("gputls-policy", policy.data(), policy.size()),
                    OSSL_PARAM_utf8_string("gputls-stats", stats.data(), json ? stats.size() : 0),
                    OSSL_PARAM_END};
  if (!json) p[5] = OSSL_PARAM_construct_end();
  if (OSSL_PROVIDER_get_params(prov, p) != 1) {
    std::fprintf(stderr, "gputls-info: the provider did not answer its parameters\n");
    return 1;
  }
  if (json) {
    std::printf("%s\n", stats.data());
  } else {
    std::printf("provider: %s %s\nbuild:    %s\nGPU:      %s\npolicy:   %s\n", name, version, build, device.data(),
                policy.data());
  }
  OSSL_PROVIDER_unload(prov);
  OSSL_LIB_CTX_free(lib);
  return 0;
}
