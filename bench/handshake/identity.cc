#include "identity.h"

#include <openssl/x509v3.h>

namespace gputls::bench {
namespace {

X509* make_cert(EVP_PKEY* key, EVP_PKEY* signer, X509* issuer, const char* cn, bool ca, long serial,
                const char* san = "DNS:gputls.test") {
  X509* c = X509_new();
  X509_set_version(c, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
  X509_gmtime_adj(X509_getm_notBefore(c), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c), 86400);
  X509_set_pubkey(c, key);
  X509_NAME* name = X509_get_subject_name(c);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : c, c, nullptr, nullptr, 0);
  X509_EXTENSION* bc = X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
  X509_add_ext(c, bc, -1);
  X509_EXTENSION_free(bc);
  if (!ca) {
    X509_EXTENSION* alt = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san);
    X509_add_ext(c, alt, -1);
    X509_EXTENSION_free(alt);
  }
  if (X509_sign(c, signer, EVP_sha256()) <= 0) {
    X509_free(c);
    return nullptr;
  }
  return c;
}

}  // namespace

Identity::~Identity() {
  X509_free(client_cert);
  EVP_PKEY_free(client_key);
  X509_free(cert);
  EVP_PKEY_free(key);
  X509_free(ca);
  EVP_PKEY_free(ca_key);
}

bool known_cert(const std::string& cert) {
  for (const char* k : {"rsa2048", "rsa3072", "rsa4096", "ecdsa-p256", "ecdsa-p384"})
    if (cert == k) return true;
  return false;
}

bool make_identity(const std::string& cert, bool with_client, Identity* id, std::string* error) {
  unsigned bits = 0;
  const char* curve = nullptr;
  if (cert == "rsa2048") bits = 2048;
  else if (cert == "rsa3072") bits = 3072;
  else if (cert == "rsa4096") bits = 4096;
  else if (cert == "ecdsa-p256") curve = "P-256";
  else if (cert == "ecdsa-p384") curve = "P-384";
  if (!bits && !curve) {
    *error = "unknown --cert \"" + cert + "\" (use rsa2048, rsa3072, rsa4096, ecdsa-p256 or ecdsa-p384)";
    return false;
  }
  id->ca_key = EVP_RSA_gen(2048);
  auto gen = [&] { return curve ? EVP_EC_gen(curve) : EVP_RSA_gen(bits); };
  id->key = gen();
  id->ca = id->ca_key ? make_cert(id->ca_key, id->ca_key, nullptr, "gputls bench CA", true, 1) : nullptr;
  id->cert = id->key && id->ca ? make_cert(id->key, id->ca_key, id->ca, "gputls.test", false, 2) : nullptr;
  if (id->cert && with_client) {
    id->client_key = gen();
    id->client_cert =
        id->client_key ? make_cert(id->client_key, id->ca_key, id->ca, "gputls client", false, 3, "DNS:client.gputls.test")
                       : nullptr;
  }
  if (!id->cert || (with_client && !id->client_cert)) {
    *error = "could not create the benchmark's certificates";
    return false;
  }
  return true;
}

}  // namespace gputls::bench
