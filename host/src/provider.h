// The gputls provider's context and the pieces every operation shares.
#pragma once

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/ec.h>
#include <openssl/types.h>

#include <atomic>
#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "gputls/engine/config.h"
#include "gputls/engine/engine.h"
#include "key_share_pool.h"
#include "prov_stats.h"

namespace gputls::host {

struct ProvCtx {
  const OSSL_CORE_HANDLE* handle = nullptr;
  // Library context with only OpenSSL's default provider: digests, RNG,
  // public-key operations (verify, encrypt) and the fallback for what the
  // engine refuses. Never the caller's context, so gputls cannot recurse
  // into itself whatever the application's default properties say.
  OSSL_LIB_CTX* sw = nullptr;
  OSSL_PROVIDER* sw_default = nullptr;
  // EC_GROUPs in `sw` by curve NID, each made once on first use (read-only
  // afterwards: OpenSSL's point arithmetic takes them const, so threads share them).
  std::mutex ec_groups_mu;
  std::map<int, EC_GROUP*> ec_groups;
  // The SHA-1 and SHA-2 digests in `sw`, fetched once (fetch_md): a TLS
  // handshake's signature asked for one to three fetches.
  std::array<EVP_MD*, 5> common_mds{};
  engine::Config config;
  std::string config_error;  // a malformed provider/env setting: reported, engine refused
  ProvStats stats;
  // Key pairs generated ahead for TLS key shares (config.key_share_pool > 0),
  // one pool per kind; used only when the engine would queue a key
  // generation (take_key_share).
  std::unique_ptr<KeySharePool> x25519_shares, p256_shares, p384_shares;

  // The engine of this process (a forked child gets its own), or nullptr
  // with the reason logged once.
  engine::Engine* engine();
};

// The digest `name` from pc->sw (a reference the caller frees with
// EVP_MD_free), without a fetch for SHA-1 and SHA-2 by their usual names;
// nullptr if there is none.
EVP_MD* fetch_md(ProvCtx* pc, const char* name);
// Fetches ProvCtx::common_mds (at provider start) and frees them (at teardown).
void fetch_common_mds(ProvCtx* pc);
void free_common_mds(ProvCtx* pc);

// An OSSL_DISPATCH entry.
#define GT_DISPATCH(id, fn) {id, reinterpret_cast<void (*)()>(fn)}

// Provider-wide property string of every algorithm.
inline constexpr const char* kProps = "provider=gputls";

// Dispatch tables, one per file.
extern const OSSL_DISPATCH kRsaKeymgmt[];
extern const OSSL_DISPATCH kRsaPssKeymgmt[];
extern const OSSL_DISPATCH kRsaSignature[];
extern const OSSL_DISPATCH kRsaAsymCipher[];
extern const OSSL_DISPATCH kX25519Keymgmt[];
extern const OSSL_DISPATCH kX25519Keyexch[];
extern const OSSL_DISPATCH kX448Keymgmt[];
extern const OSSL_DISPATCH kX448Keyexch[];
extern const OSSL_DISPATCH kDhKeymgmt[];
extern const OSSL_DISPATCH kDhxKeymgmt[];
extern const OSSL_DISPATCH kDhKeyexch[];
extern const OSSL_DISPATCH kEcKeymgmt[];
extern const OSSL_DISPATCH kEcdhKeyexch[];
extern const OSSL_DISPATCH kEcdsaSignature[];
extern const OSSL_DISPATCH kAes128GcmCipher[];
extern const OSSL_DISPATCH kAes256GcmCipher[];
extern const OSSL_DISPATCH kMlkem768Keymgmt[];
extern const OSSL_DISPATCH kX25519Mlkem768Keymgmt[];
extern const OSSL_DISPATCH kSecP256r1Mlkem768Keymgmt[];
extern const OSSL_DISPATCH kMlkemKem[];

// TLS-GROUP capability (provider.cc).
int get_capabilities(void* provctx, const char* capability, OSSL_CALLBACK* cb, void* arg);

}  // namespace gputls::host
