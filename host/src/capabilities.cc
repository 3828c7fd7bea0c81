// TLS-GROUP capabilities: every group OpenSSL 3.0's default provider
// advertises. With `?provider=gputls`, libssl keeps a group only when the
// keymgmt fetched with the context's properties belongs to the provider that
// advertised it, so a group missing here would vanish from such a server.
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

// OpenSSL 3.0's default provider's table (providers/common/capabilities.c),
// entry for entry: same names, ids, security bits and TLS / DTLS version
// ranges, so preferring gputls (`?provider=gputls`) keeps every group the
// default serves. Each is backed by gputls's EC, X25519, X448 or DH keymgmt
// and key exchange (P-256, P-384, X25519 and the ffdhe groups on the engine,
// the rest in the provider's own OpenSSL context). Groups.CapabilitiesMatchDefault
// compares this table with the running default provider's.
const Group kGroups[] = {
    {"sect163k1", "sect163k1", "EC", 1, 80, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"K-163", "sect163k1", "EC", 1, 80, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"sect163r1", "sect163r1", "EC", 2, 80, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"sect163r2", "sect163r2", "EC", 3, 80, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"B-163", "sect163r2", "EC", 3, 80, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"sect193r1", "sect193r1", "EC", 4, 80, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"sect193r2", "sect193r2", "EC", 5, 80, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"sect233k1", "sect233k1", "EC", 6, 112, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"K-233", "sect233k1", "EC", 6, 112, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"sect233r1", "sect233r1", "EC", 7, 112, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"B-233", "sect233r1", "EC", 7, 112, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"sect239k1", "sect239k1", "EC", 8, 112, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"sect283k1", "sect283k1", "EC", 9, 128, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"K-283", "sect283k1", "EC", 9, 128, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"sect283r1", "sect283r1", "EC", 10, 128, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"B-283", "sect283r1", "EC", 10, 128, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"sect409k1", "sect409k1", "EC", 11, 192, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"K-409", "sect409k1", "EC", 11, 192, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"sect409r1", "sect409r1", "EC", 12, 192, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"B-409", "sect409r1", "EC", 12, 192, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"sect571k1", "sect571k1", "EC", 13, 256, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"K-571", "sect571k1", "EC", 13, 256, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"sect571r1", "sect571r1", "EC", 14, 256, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"B-571", "sect571r1", "EC", 14, 256, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"secp160k1", "secp160k1", "EC", 15, 80, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"secp160r1", "secp160r1", "EC", 16, 80, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"secp160r2", "secp160r2", "EC", 17, 80, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"secp192k1", "secp192k1", "EC", 18, 80, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"secp192r1", "prime192v1", "EC", 19, 80, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"P-192", "prime192v1", "EC", 19, 80, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"secp224k1", "secp224k1", "EC", 20, 112, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"secp224r1", "secp224r1", "EC", 21, 112, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"P-224", "secp224r1", "EC", 21, 112, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"secp256k1", "secp256k1", "EC", 22, 128, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"secp256r1", "prime256v1", "EC", 23, 128, TLS1_VERSION, 0, DTLS1_VERSION, 0},
    {"P-256", "prime256v1", "EC", 23, 128, TLS1_VERSION, 0, DTLS1_VERSION, 0},
    {"secp384r1", "secp384r1", "EC", 24, 192, TLS1_VERSION, 0, DTLS1_VERSION, 0},
    {"P-384", "secp384r1", "EC", 24, 192, TLS1_VERSION, 0, DTLS1_VERSION, 0},
    {"secp521r1", "secp521r1", "EC", 25, 256, TLS1_VERSION, 0, DTLS1_VERSION, 0},
    {"P-521", "secp521r1", "EC", 25, 256, TLS1_VERSION, 0, DTLS1_VERSION, 0},
    {"brainpoolP256r1", "brainpoolP256r1", "EC", 26, 128, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"brainpoolP384r1", "brainpoolP384r1", "EC", 27, 192, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"brainpoolP512r1", "brainpoolP512r1", "EC", 28, 256, TLS1_VERSION, TLS1_2_VERSION, DTLS1_VERSION, DTLS1_2_VERSION},
    {"x25519", "X25519", "X25519", 29, 128, TLS1_VERSION, 0, DTLS1_VERSION, 0},
    {"x448", "X448", "X448", 30, 224, TLS1_VERSION, 0, DTLS1_VERSION, 0},
    {"ffdhe2048", "ffdhe2048", "DH", 256, 112, TLS1_3_VERSION, 0, -1, -1},
    {"ffdhe3072", "ffdhe3072", "DH", 257, 128, TLS1_3_VERSION, 0, -1, -1},
    {"ffdhe4096", "ffdhe4096", "DH", 258, 128, TLS1_3_VERSION, 0, -1, -1},
    {"ffdhe6144", "ffdhe6144", "DH", 259, 128, TLS1_3_VERSION, 0, -1, -1},
    {"ffdhe8192", "ffdhe8192", "DH", 260, 192, TLS1_3_VERSION, 0, -1, -1},
};

// Post-quantum KEM groups OpenSSL 3.0's default provider does not have
// (issue 23), TLS 1.3 only: they never join libssl's default group list, a
// server or client names them (-groups, curves, ssl_ecdh_curve).
const Group kKemGroups[] = {
    {"X25519MLKEM768", "X25519MLKEM768", "X25519MLKEM768", 0x11EC, 192, TLS1_3_VERSION, 0, -1, -1},
    {"SecP256r1MLKEM768", "SecP256r1MLKEM768", "SecP256r1MLKEM768", 0x11EB, 192, TLS1_3_VERSION, 0, -1, -1},
    {"MLKEM768", "MLKEM768", "MLKEM768", 0x0201, 192, TLS1_3_VERSION, 0, -1, -1},
};

int group_params(const Group& g, OSSL_CALLBACK* cb, void* arg, unsigned is_kem = 0) {
  unsigned id = g.id, bits = g.security_bits;
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
  for (const Group& g : kKemGroups)
    if (!group_params(g, cb, arg, 1)) return 0;
  return 1;
}

}  // namespace gputls::host
