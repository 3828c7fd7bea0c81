// The provider's entry point: algorithm tables, parameters (including the
// engine's stats), TLS-GROUP capabilities, and the lazily created engine.
#include "provider.h"

#include "gputls/engine/cuda_backend.h"
#include "ec_key.h"
#include "engine_call.h"
#include "x25519_key.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/params.h>
#include <openssl/prov_ssl.h>
#include <openssl/provider.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <unistd.h>
#include <mutex>
#include <string>
#include <vector>

namespace gputls::host {
namespace {

constexpr const char* kRsaNames = "RSA:rsaEncryption:1.2.840.113549.1.1.1";
constexpr const char* kX25519Names = "X25519:1.3.101.110";
constexpr const char* kX448Names = "X448:1.3.101.111";
constexpr const char* kDhNames = "DH:dhKeyAgreement:1.2.840.113549.1.3.1";  // as the default provider names it
constexpr const char* kDhxNames = "DHX:X9.42 DH:dhpublicnumber:1.2.840.10046.2.1";
constexpr const char* kEcNames = "EC:id-ecPublicKey:1.2.840.10045.2.1";    // as the default provider names it

constexpr const char* kRsaPssNames = "RSA-PSS:RSASSA-PSS:1.2.840.113549.1.1.10";

const OSSL_ALGORITHM kKeymgmt[] = {{kRsaNames, kProps, kRsaKeymgmt, "gputls RSA keys (engine-backed)"},
                                   {kRsaPssNames, kProps, kRsaPssKeymgmt, "gputls RSA-PSS keys without PSS restrictions"},
                                   {kX25519Names, kProps, kX25519Keymgmt, "gputls X25519 keys"},
                                   {kX448Names, kProps, kX448Keymgmt, "gputls X448 keys (software)"},
                                   {kDhNames, kProps, kDhKeymgmt, "gputls finite-field DH keys (ffdhe, TLS 1.2 DHE)"},
                                   {kDhxNames, kProps, kDhxKeymgmt, "gputls X9.42 DH keys (DH key exchange)"},
                                   {kEcNames, kProps, kEcKeymgmt, "gputls EC keys, every named curve (P-256 / P-384 on the engine)"},
                                   {"X25519MLKEM768", kProps, kX25519Mlkem768Keymgmt, "gputls X25519 + ML-KEM-768 hybrid TLS group keys"},
                                   {"SecP256r1MLKEM768", kProps, kSecP256r1Mlkem768Keymgmt, "gputls P-256 + ML-KEM-768 hybrid TLS group keys"},
                                   {"MLKEM768", kProps, kMlkem768Keymgmt, "gputls ML-KEM-768 TLS group keys"},
                                   {nullptr, nullptr, nullptr, nullptr}};
const OSSL_ALGORITHM kKem[] = {{"X25519MLKEM768", kProps, kMlkemKem, "X25519MLKEM768 (ML-KEM-768 on the engine, X25519 on the engine)"},
                               {"SecP256r1MLKEM768", kProps, kMlkemKem, "SecP256r1MLKEM768 (ML-KEM-768 and P-256 ECDH on the engine)"},
                               {"MLKEM768", kProps, kMlkemKem, "ML-KEM-768 on the engine"},
                               {nullptr, nullptr, nullptr, nullptr}};
const OSSL_ALGORITHM kSignature[] = {{kRsaNames, kProps, kRsaSignature, "RSA PKCS#1 v1.5 / PSS, signing on the engine"},
                                     {"ECDSA", kProps, kEcdsaSignature, "ECDSA, every named curve (P-256 / P-384 signing on the engine)"},
                                     {nullptr, nullptr, nullptr, nullptr}};
const OSSL_ALGORITHM kAsymCipher[] = {{kRsaNames, kProps, kRsaAsymCipher, "RSA decryption (TLS premaster) on the engine"},
                                      {nullptr, nullptr, nullptr, nullptr}};
const OSSL_ALGORITHM kKeyexch[] = {{kX25519Names, kProps, kX25519Keyexch, "X25519 on the engine"},
                                   {kX448Names, kProps, kX448Keyexch, "X448 (software)"},
                                   {kDhNames, kProps, kDhKeyexch, "finite-field DH (modexp) on the engine"},
                                   {"ECDH", kProps, kEcdhKeyexch, "ECDH, every named curve (P-256 / P-384 on the engine)"},
                                   {nullptr, nullptr, nullptr, nullptr}};

const OSSL_ALGORITHM kCipher[] = {
    {"AES-128-GCM:id-aes128-GCM:2.16.840.1.101.3.4.1.6", kProps, kAes128GcmCipher, "AES-128-GCM records on the engine"},
    {"AES-256-GCM:id-aes256-GCM:2.16.840.1.101.3.4.1.46", kProps, kAes256GcmCipher, "AES-256-GCM records on the engine"},
    {nullptr, nullptr, nullptr, nullptr}};

const OSSL_ALGORITHM* query(void*, int operation_id, int* no_cache) {
  *no_cache = 0;
  switch (operation_id) {
    case OSSL_OP_KEYMGMT: return kKeymgmt;
    case OSSL_OP_SIGNATURE: return kSignature;
    case OSSL_OP_ASYM_CIPHER: return kAsymCipher;
    case OSSL_OP_KEYEXCH: return kKeyexch;
    case OSSL_OP_CIPHER: return kCipher;
    case OSSL_OP_KEM: return kKem;
    default: return nullptr;
  }
}

const OSSL_PARAM kGettable[] = {OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_NAME, nullptr, 0),
                                OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_VERSION, nullptr, 0),
                                OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_BUILDINFO, nullptr, 0),
                                OSSL_PARAM_int(OSSL_PROV_PARAM_STATUS, nullptr),
                                OSSL_PARAM_utf8_string("gputls-stats", nullptr, 0),
                                OSSL_PARAM_utf8_string("gputls-device", nullptr, 0),
                                OSSL_PARAM_utf8_string("gputls-policy", nullptr, 0),
                                OSSL_PARAM_utf8_string("gputls-key-shares", nullptr, 0),
                                OSSL_PARAM_END};

const OSSL_PARAM* gettable_params(void*) { return kGettable; }

// {"x25519": {...}, "p256": {...}, "p384": {...}}, or null without pools.
std::string key_share_json(const ProvCtx* pc) {
  if (!pc->x25519_shares) return "null";
  return "{\"x25519\": " + pc->x25519_shares->json() + ", \"p256\": " + pc->p256_shares->json() +
         ", \"p384\": " + pc->p384_shares->json() + "}";
}

// What the key-share pools do in this process, for gputls-info.
std::string key_share_status(ProvCtx* pc, engine::Engine* eng) {
  if (!pc->x25519_shares) return "off (GPUTLS_KEY_SHARE_POOL=0, or no room in the key table)";
  const std::string size = std::to_string(pc->x25519_shares->capacity()) + " pairs per kind (X25519, P-256, P-384)";
  if (!eng) return size + ", unused: no engine";
  if (!queues(pc, eng, engine::Op::kX25519Keygen, 0))
    return size + ", idle: key generation runs on the caller's thread (nothing to batch for)";
  return size + ", in use: made ahead in engine batches, so a TLS key share does not wait for the engine";
}

// Every pooled pair holds a key-table slot, and a refill queues up to a
// pool's worth of requests: the three pools take at most half of either, or
// certificate and record keys (and handshakes) would be refused. A smaller
// table lowers the pools' size (the stats' "capacity"); a size set
// explicitly and lowered is said once on stderr.
void make_key_share_pools(ProvCtx* pc) {
  const engine::Config& c = pc->config;
  const size_t n = std::min<size_t>({c.key_share_pool, c.max_keys / 6, c.queue_capacity / 2});
  if (n < c.key_share_pool && c.key_share_pool != engine::Config{}.key_share_pool && !c.quiet)
    std::fprintf(stderr,
                 "gputls: key_share_pool=%u lowered to %zu: three pools must fit in half of max_keys (%u) and one "
                 "in half of queue_capacity (%u)\n",
                 c.key_share_pool, n, c.max_keys, c.queue_capacity);
  if (n == 0) return;
  const uint64_t age_ns = uint64_t{c.key_share_max_age_ms} * 1'000'000;
  pc->x25519_shares = std::make_unique<KeySharePool>(pc, kX25519ShareKind, n, age_ns);
  pc->p256_shares = std::make_unique<KeySharePool>(pc, kP256ShareKind, n, age_ns);
  pc->p384_shares = std::make_unique<KeySharePool>(pc, kP384ShareKind, n, age_ns);
}

int get_params(void* provctx, OSSL_PARAM params[]) {
  auto* pc = static_cast<ProvCtx*>(provctx);
  OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME)) && !OSSL_PARAM_set_utf8_ptr(p, "gputls")) return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION)) && !OSSL_PARAM_set_utf8_ptr(p, "0.1.0")) return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO)) &&
      !OSSL_PARAM_set_utf8_ptr(p, engine::cuda_compiled_in() ? "gputls 0.1.0 (CUDA)" : "gputls 0.1.0 (no CUDA)"))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS)) && !OSSL_PARAM_set_int(p, 1)) return 0;
  engine::Engine* eng = nullptr;
  auto need_engine = [&] {
    if (!eng) eng = pc->engine();
    return eng;
  };
  if ((p = OSSL_PARAM_locate(params, "gputls-stats"))) {
    std::string js = "{\"provider\": " + pc->stats.json() +
                     ", \"engine\": " + (need_engine() ? eng->stats_json() : std::string("null")) +
                     ", \"calls_alive\": " + std::to_string(engine_calls_alive()) +
                     ", \"wait_fds_live\": " + std::to_string(wait_fds_live()) +
                     ", \"wait_fds_kept\": " + std::to_string(wait_fds_kept()) +
                     ", \"busy_software_peak\": " + std::to_string(busy_software_peak()) +
                     ", \"key_share_pool\": " + key_share_json(pc) + "}";
    if (!OSSL_PARAM_set_utf8_string(p, js.c_str())) return 0;
  }
  if ((p = OSSL_PARAM_locate(params, "gputls-device")) &&
      !OSSL_PARAM_set_utf8_string(p, need_engine()                ? eng->gpu_description().c_str()
                                     : pc->config_error.empty() ? "no engine"
                                                                : ("no engine: " + pc->config_error).c_str()))
    return 0;
  if ((p = OSSL_PARAM_locate(params, "gputls-key-shares")) &&
      !OSSL_PARAM_set_utf8_string(p, key_share_status(pc, need_engine() ? eng : nullptr).c_str()))
    return 0;
  if ((p = OSSL_PARAM_locate(params, "gputls-policy")) &&
      !OSSL_PARAM_set_utf8_string(p, engine::policy_name(pc->config.policy)))
    return 0;
  return 1;
}

// GPUTLS_STATS_FILE: the stats JSON is written there when the provider is
// unloaded (at process exit for openssl s_server, HAProxy, ...), so a test or
// an operator sees what a process offloaded without attaching to it. "%p" in
// the path becomes the process id: a forking server's master and workers
// (HAProxy, nginx) each write their own file instead of the last one to exit
// overwriting the others.
void write_stats_file(ProvCtx* pc) {
  const char* env = std::getenv("GPUTLS_STATS_FILE");
  if (!env || !*env) return;
  std::string path = env;
  if (size_t at = path.find("%p"); at != std::string::npos) path.replace(at, 2, std::to_string(getpid()));
  std::string js = "{\"provider\": " + pc->stats.json() + ", \"key_share_pool\": " + key_share_json(pc) +
                   ", \"pid\": " + std::to_string(getpid()) + "}\n";
  if (FILE* f = std::fopen(path.c_str(), "w")) {
    std::fputs(js.c_str(), f);
    std::fclose(f);
  } else {
    std::fprintf(stderr, "gputls: cannot write GPUTLS_STATS_FILE=%s\n", path.c_str());
  }
}

void teardown(void* provctx) {
  auto* pc = static_cast<ProvCtx*>(provctx);
  write_stats_file(pc);
  for (auto* pool : {&pc->x25519_shares, &pc->p256_shares, &pc->p384_shares}) pool->reset();  // wipes the pairs held
  free_common_mds(pc);
  for (auto& [nid, g] : pc->ec_groups) EC_GROUP_free(g);
  OSSL_PROVIDER_unload(pc->sw_default);
  OSSL_LIB_CTX_free(pc->sw);
  delete pc;
}

const OSSL_DISPATCH kProviderDispatch[] = {
    GT_DISPATCH(OSSL_FUNC_PROVIDER_TEARDOWN, teardown),
    GT_DISPATCH(OSSL_FUNC_PROVIDER_QUERY_OPERATION, query),
    GT_DISPATCH(OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, gettable_params),
    GT_DISPATCH(OSSL_FUNC_PROVIDER_GET_PARAMS, get_params),
    GT_DISPATCH(OSSL_FUNC_PROVIDER_GET_CAPABILITIES, get_capabilities),
    {0, nullptr}};

// Settings from the provider's openssl.cnf section (same names as the
// GPUTLS_* variables, lower case, without the prefix), then GPUTLS_* on top.
void read_config(ProvCtx* pc, const OSSL_DISPATCH* in) {
  OSSL_FUNC_core_get_params_fn* core_get_params = nullptr;
  for (; in && in->function_id; ++in)
    if (in->function_id == OSSL_FUNC_CORE_GET_PARAMS) core_get_params = OSSL_FUNC_core_get_params(in);
  const auto& names = engine::Config::setting_names();
  if (core_get_params) {
    std::vector<const char*> values(names.size(), nullptr);
    std::vector<OSSL_PARAM> req;
    for (size_t i = 0; i < names.size(); ++i)
      req.push_back(OSSL_PARAM_construct_utf8_ptr(names[i].c_str(), const_cast<char**>(&values[i]), 0));
    req.push_back(OSSL_PARAM_construct_end());
    if (core_get_params(pc->handle, req.data())) {
      for (size_t i = 0; i < names.size() && pc->config_error.empty(); ++i)
        if (values[i]) pc->config.set(names[i], values[i], &pc->config_error);
    }
  }
  if (pc->config_error.empty()) pc->config.apply_env(&pc->config_error);
  // Inside the provider nobody calls Engine::poll(): a paused ASYNC_JOB's
  // request would wait forever for a batch that no thread launches.
  if (pc->config_error.empty() && pc->config.flusher_threads == 0)
    pc->config_error =
        "gputls: flushers=0 (GPUTLS_FLUSHERS) is for programs that drive the engine's poll() themselves; "
        "the provider needs at least one flusher thread";
}

}  // namespace

engine::Engine* ProvCtx::engine() {
  if (config_error.empty())
    if (engine::Engine* e = engine::Engine::this_process()) return e;  // every call after the first
  if (!config_error.empty()) {
    static std::once_flag once;
    std::call_once(once, [this] { std::fprintf(stderr, "%s; gputls runs everything in software\n", config_error.c_str()); });
    return nullptr;
  }
  std::string err;
  engine::Engine* e = engine::Engine::for_this_process(&err, &config);
  if (!e) {
    static std::once_flag once;
    std::call_once(once, [&] { std::fprintf(stderr, "gputls: engine unavailable (%s); running in software\n", err.c_str()); });
  }
  return e;
}

}  // namespace gputls::host

extern "C" __attribute__((visibility("default"))) int OSSL_provider_init(const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* in, const OSSL_DISPATCH** out,
                                  void** provctx) {
  using gputls::host::ProvCtx;
  auto* pc = new ProvCtx;
  pc->handle = handle;
  pc->sw = OSSL_LIB_CTX_new();
  pc->sw_default = pc->sw ? OSSL_PROVIDER_load(pc->sw, "default") : nullptr;
  if (!pc->sw_default) {
    OSSL_LIB_CTX_free(pc->sw);
    delete pc;
    return 0;
  }
  gputls::host::read_config(pc, in);
  gputls::host::make_key_share_pools(pc);
  gputls::host::fetch_common_mds(pc);
  *out = gputls::host::kProviderDispatch;
  *provctx = pc;
  return 1;
}
