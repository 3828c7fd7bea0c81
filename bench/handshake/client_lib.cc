#include "client_lib.h"

#include <openssl/provider.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <optional>
#include <vector>

#include "tls_client.h"

namespace gputls::bench {
namespace {

struct GroupName {
  const char* lower;
  const char* canonical;
};
const GroupName kGputlsGroups[] = {{"x25519mlkem768", "X25519MLKEM768"},
                                   {"secp256r1mlkem768", "SecP256r1MLKEM768"},
                                   {"mlkem768", "MLKEM768"}};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Sets (or unsets) environment variables and puts the old values back when
// it goes out of scope. Used on the main thread between runs only.
class EnvOverride {
 public:
  void set(const char* name, const char* value) {
    const char* old = std::getenv(name);
    saved_.push_back({name, old ? std::optional<std::string>(old) : std::nullopt});
    if (value) setenv(name, value, 1);
    else unsetenv(name);
  }
  ~EnvOverride() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second) setenv(it->first.c_str(), it->second->c_str(), 1);
      else unsetenv(it->first.c_str());
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

bool copy_file(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  std::ofstream out(to, std::ios::binary);
  out << in.rdbuf();
  return in && out.good();
}

// The clients' context for gputls-only groups: the default provider first,
// then gputls loaded from a copy of gputls.so. Why a copy: gputls's engine is
// one per loaded module in a process, and dlopen keys a module on its file.
// Loaded from the server's file, the clients would share the server's engine:
// with a GPU their key generation and decapsulation would queue to it (a
// synchronous client blocking its worker thread, which also runs servers,
// until the batch returns) and the engine threads' CPU would count as the
// server's. The copy has its own engine, configured at load (the provider
// reads GPUTLS_* then) with policy cpu and inline operations. It stays loaded
// until the process exits (one per process, as the engine is).
OSSL_LIB_CTX* gputls_client_libctx(const std::string& modules, std::string* error) {
  static std::mutex mu;
  static LibCtx* ctx = nullptr;
  static std::string failure;
  std::lock_guard<std::mutex> lock(mu);
  if (ctx || !failure.empty()) {
    if (!ctx) *error = failure;
    return ctx ? ctx->get() : nullptr;
  }
  std::string dir = modules;
  if (dir.empty() && std::getenv("OPENSSL_MODULES")) dir = std::getenv("OPENSSL_MODULES");
  if (dir.empty()) {
    failure = "the clients need gputls for this group (OpenSSL 3.0 has no ML-KEM): pass --modules DIR (gputls.so's directory)";
    *error = failure;
    return nullptr;
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string tdir = std::string(tmp && *tmp ? tmp : "/tmp") + "/gputls-bench-client-XXXXXX";
  if (!mkdtemp(tdir.data())) {
    failure = "cannot make a temporary directory for the clients' copy of gputls.so";
    *error = failure;
    return nullptr;
  }
  const std::string copy = tdir + "/gputls.so";
  auto* lib = new LibCtx;
  bool ok = copy_file(dir + "/gputls.so", copy);
  if (!ok) {
    failure = "cannot copy " + dir + "/gputls.so for the clients (pass --modules DIR)";
  } else {
    EnvOverride env;
    env.set("GPUTLS_POLICY", "cpu");
    env.set("GPUTLS_INLINE", "1");
    env.set("GPUTLS_QUIET", "1");
    env.set("GPUTLS_STATS_FILE", nullptr);
    OSSL_PROVIDER_set_default_search_path(lib->get(), tdir.c_str());
    ok = lib->load("default") && lib->load("gputls");
    if (!ok) failure = "the clients' copy of gputls.so did not load (" + ssl_error("provider") + ")";
  }
  unlink(copy.c_str());  // the loaded module stays mapped
  rmdir(tdir.c_str());
  if (!ok) {
    delete lib;
    *error = failure;
    return nullptr;
  }
  ctx = lib;
  return ctx->get();
}

}  // namespace

std::string canonical_group(const std::string& group) {
  const std::string l = lower(group);
  for (const GroupName& g : kGputlsGroups)
    if (l == g.lower) return g.canonical;
  return group;
}

bool gputls_only_group(const std::string& group) {
  const std::string l = lower(group);
  for (const GroupName& g : kGputlsGroups)
    if (l == g.lower) return true;
  return false;
}

bool client_libctx(const RunConfig& cfg, LibCtx* own, OSSL_LIB_CTX** lib, const char** propq, std::string* error) {
  if (!gputls_only_group(cfg.group)) {
    *propq = nullptr;
    *lib = own->load("default") ? own->get() : nullptr;
    if (!*lib) *error = ssl_error("the clients' default provider");
    return *lib != nullptr;
  }
  // Everything but the group's own algorithms from the default provider, as
  // for the other groups' clients.
  *propq = "?provider=default";
  *lib = gputls_client_libctx(cfg.modules, error);
  return *lib != nullptr;
}

}  // namespace gputls::bench
