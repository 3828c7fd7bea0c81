// TLS-GROUP capabilities: every group gputls has key management for. With
// `?provider=gputls`, libssl offers only groups some provider advertises.
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/prov_ssl.h>

#include <cstring>

#include "provider.h"

namespace gputls::host {
namespace {

struct Group {
  const char* name;           // as TLS names it
  const char* internal_name;  // as our keymgmt is named
  const char* alg;
  unsigned id;                // IANA TLS group id
  unsigned security_bits;
  int min_tls, max_tls, min_dtls, max_dtls;
};

const Group kGroups[] = {
    {"x25519", "X25519", "X25519", 29, 128, TLS1_VERSION, 0, DTLS1_VERSION, 0},
    {"secp256r1", "prime256v1", "EC", 23, 128, TLS1_VERSION, 0, DTLS1_VERSION, 0},
    {"secp384r1", "secp384r1", "EC", 24, 192, TLS1_VERSION, 0, DTLS1_VERSION, 0},
    // The NIST names, as the default provider also lists them (SSL_CTX_set1_groups_list("P-256")).
    {"P-256", "prime256v1", "EC", 23, 128, TLS1_VERSION, 0, DTLS1_VERSION, 0},
    {"P-384", "secp384r1", "EC", 24, 192, TLS1_VERSION, 0, DTLS1_VERSION, 0},
    // As OpenSSL 3.0's default provider reports them: TLS 1.3 only, no DTLS.
    {"ffdhe2048", "ffdhe2048", "DH", 256, 112, TLS1_3_VERSION, 0, -1, -1},
    {"ffdhe3072", "ffdhe3072", "DH", 257, 128, TLS1_3_VERSION, 0, -1, -1},
};

int group_params(const Group& g, OSSL_CALLBACK* cb, void* arg) {
  unsigned id = g.id, bits = g.security_bits, is_kem = 0;
  int min_tls = g.min_tls, max_tls = g.max_tls, min_dtls = g.min_dtls, max_dtls = g.max_dtls;
  OSSL_PARAM p[] = {
      OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME, const_cast<char*>(g.name), std::strlen(g.name)),
      OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME_INTERNAL, const_cast<char*>(g.internal_name),
                             std::strlen(g.internal_name)),
      OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_ALG, const_cast<char*>(g.alg), std::strlen(g.alg)),
      OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_ID, &id),
      OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_SECURITY_BITS, &bits),
      OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MIN_TLS, &min_tls),
      OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MAX_TLS, &max_tls),
      OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MIN_DTLS, &min_dtls),
      OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MAX_DTLS, &max_dtls),
      OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_IS_KEM, &is_kem),
      OSSL_PARAM_END};
  return cb(p, arg);
}

}  // namespace

int get_capabilities(void*, const char* capability, OSSL_CALLBACK* cb, void* arg) {
  if (OPENSSL_strcasecmp(capability, "TLS-GROUP") != 0) return 0;
  for (const Group& g : kGroups)
    if (!group_params(g, cb, arg)) return 0;
  return 1;
}

}  // namespace gputls::host
