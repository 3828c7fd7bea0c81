// SHA-1 and SHA-2 from the provider's own library context, fetched once at
// start: the signature contexts of every TLS handshake ask for them by name,
// and each EVP_MD_fetch is a method-store lookup (about 1,500 instructions).
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "provider.h"

namespace gputls::host {
namespace {

// Fetch names (OpenSSL's first names), index into ProvCtx::common_mds.
constexpr const char* kFetchNames[] = {"SHA1", "SHA2-224", "SHA2-256", "SHA2-384", "SHA2-512"};
static_assert(std::size(kFetchNames) == std::tuple_size_v<decltype(ProvCtx::common_mds)>);

// The names callers use for them (libssl, applications, the default
// provider's parameter read-back), case-insensitively.
struct Alias {
  const char* name;
  int index;
};
constexpr Alias kAliases[] = {{"SHA256", 2}, {"SHA2-256", 2}, {"SHA-256", 2}, {"SHA384", 3}, {"SHA2-384", 3},
                              {"SHA-384", 3}, {"SHA512", 4}, {"SHA2-512", 4}, {"SHA-512", 4}, {"SHA1", 0},
                              {"SHA-1", 0},   {"SHA224", 1}, {"SHA2-224", 1}, {"SHA-224", 1}};

}  // namespace

void fetch_common_mds(ProvCtx* pc) {
  for (size_t i = 0; i < pc->common_mds.size(); ++i) pc->common_mds[i] = EVP_MD_fetch(pc->sw, kFetchNames[i], nullptr);
}

void free_common_mds(ProvCtx* pc) {
  for (EVP_MD*& md : pc->common_mds) {
    EVP_MD_free(md);
    md = nullptr;
  }
}

EVP_MD* fetch_md(ProvCtx* pc, const char* name) {
  for (const Alias& a : kAliases) {
    EVP_MD* md = pc->common_mds[static_cast<size_t>(a.index)];
    if (md && OPENSSL_strcasecmp(name, a.name) == 0) return EVP_MD_up_ref(md) == 1 ? md : nullptr;
  }
  return EVP_MD_fetch(pc->sw, name, nullptr);
}

}  // namespace gputls::host
