// Certificates for the benchmark: a CA and a server certificate it signs,
// made at start-up by OpenSSL's default provider, so every client really
// verifies the server's chain.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>

namespace gputls::bench {

struct Identity {
  EVP_PKEY* ca_key = nullptr;
  X509* ca = nullptr;
  EVP_PKEY* key = nullptr;  // the server's
  X509* cert = nullptr;
  EVP_PKEY* client_key = nullptr;  // with mTLS: the client's, same key type as the server's
  X509* client_cert = nullptr;
  ~Identity();
};

// cert: "rsa2048", "rsa3072", "rsa4096", "ecdsa-p256", "ecdsa-p384". False
// (and *error) for anything else. with_client: also a client certificate
// (CN "gputls client") the same CA signs, for mTLS.
bool make_identity(const std::string& cert, bool with_client, Identity* id, std::string* error);

// Whether `cert` names a key type make_identity knows.
bool known_cert(const std::string& cert);

}  // namespace gputls::bench
