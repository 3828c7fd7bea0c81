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
  ~Identity();
};

// cert: "rsa2048", "rsa3072", "rsa4096", "ecdsa-p256", "ecdsa-p384". False
// (and *error) for anything else.
bool make_identity(const std::string& cert, Identity* id, std::string* error);

}  // namespace gputls::bench
