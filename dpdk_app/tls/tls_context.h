// The appliance's one SSL_CTX, shared by every lcore (SSL_CTX is thread-safe
// for creating SSLs): the gputls provider loaded into a private library
// context, certificates (RSA and ECDSA at once: OpenSSL picks by the client's
// signature algorithms), versions, suites, mTLS, session tickets with keys
// from a file that several appliances share, and an SSLKEYLOGFILE-style log.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace gputls::tls {

struct CertKeyFiles {
  std::string cert, key;  // PEM: certificate chain, private key
};

// The TLS 1.2 suites offered unless --ciphers says otherwise: forward secrecy
// and AEAD only, AES-GCM (what gputls accelerates) first, ChaCha20-Poly1305
// (served on the CPU) after; no CBC (LUCKY13), no static RSA key exchange.
inline const std::string kDefaultTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// The key-exchange groups unless --groups says otherwise, with gputls:
// X25519MLKEM768 (post-quantum hybrid, what browsers and OpenSSL 3.5 offer
// first) ahead of OpenSSL 3.0's own default list. OpenSSL 3.0 takes a TLS 1.3
// client's first key share that is in the list; the list's order decides only
// when it has to ask for another share (HelloRetryRequest). With the default
// provider, OpenSSL's default list (it has no ML-KEM).
inline const std::string kDefaultGroupsGputls =
    "X25519MLKEM768:x25519:secp256r1:x448:secp521r1:secp384r1:ffdhe2048:ffdhe3072:ffdhe4096:ffdhe6144:ffdhe8192";

struct TlsSettings {
  std::vector<CertKeyFiles> certs;
  std::string client_ca;         // non-empty: client certificates required, verified against it
  std::string min_version = "1.2", max_version = "1.3";
  std::string ciphers;           // TLS 1.2 cipher list ("" = kDefaultTls12Ciphers)
  std::string ciphersuites;      // TLS 1.3 suites ("" = OpenSSL's default)
  std::string groups;            // key-exchange groups ("" = kDefaultGroupsGputls with gputls, else OpenSSL's)
  std::string ticket_key_file;   // one or more 80-byte keys (16 name | 32 HMAC | 32 AES-256)
  bool tickets = true;
  std::string keylog_file;       // "" = no key log
  std::string provider = "gputls";  // or "default"
  std::string provider_module;   // path of gputls.so ("" = OpenSSL's module directory)
};

class TlsContext {
 public:
  // Everything is loaded and checked here; nullptr with *err saying what is
  // wrong (file, format, key not matching certificate ...).
  static std::unique_ptr<TlsContext> create(const TlsSettings& s, std::string* err);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* ssl_ctx() const { return ctx_; }
  // The gputls provider's own counters ("gputls-stats" JSON), "" with the
  // default provider. Safe from any thread.
  std::string provider_stats_json() const;

  struct Impl;  // ticket keys and key log (used by OpenSSL callbacks)

 private:
  TlsContext() = default;
  OSSL_LIB_CTX* lib_ = nullptr;
  OSSL_PROVIDER* gputls_ = nullptr;
  OSSL_PROVIDER* default_ = nullptr;
  SSL_CTX* ctx_ = nullptr;
  std::unique_ptr<Impl> impl_;
};

// "1.2" -> TLS1_2_VERSION; 0 if not a version the appliance serves.
int parse_tls_version(const std::string& v);

}  // namespace gputls::tls
