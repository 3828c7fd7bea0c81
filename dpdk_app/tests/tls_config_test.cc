// The TLS termination's configuration layer against OpenSSL: certificate and
// key loading with clear errors, ticket keys from a shared file (rotation by
// rewriting it), backend address parsing.
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/provider.h>
#include <openssl/x509.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "proxy/proxy_app.h"
#include "tls/ticket_keys.h"
#include "tls/tls_context.h"
#include "tls/tls_stats.h"
#include "tls_test_util.h"

namespace gputls::tls {
namespace {

struct Material {
  TempDir dir;
  std::string ec_cert = dir.file("ec.pem"), ec_key = dir.file("ec.key");
  std::string ec2_cert = dir.file("ec2.pem"), ec2_key = dir.file("ec2.key");
  Material() {
    EVP_PKEY* a = EVP_EC_gen("P-256");
    EVP_PKEY* b = EVP_EC_gen("P-256");
    write_self_signed(a, ec_cert, ec_key);
    write_self_signed(b, ec2_cert, ec2_key);
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);
  }
  TlsSettings settings() const {
    TlsSettings s;
    s.provider = "default";
    s.certs.push_back({ec_cert, ec_key});
    return s;
  }
};

std::string create_error(const TlsSettings& s) {
  std::string err;
  auto ctx = TlsContext::create(s, &err);
  return ctx ? "" : (err.empty() ? "(no message)" : err);
}

TEST(TlsContext, LoadsACertificateAndKey) {
  Material m;
  std::string err;
  auto ctx = TlsContext::create(m.settings(), &err);
  ASSERT_TRUE(ctx) << err;
  EXPECT_NE(ctx->ssl_ctx(), nullptr);
  EXPECT_EQ(ctx->provider_stats_json(), "");  // default provider: no gputls counters
}

// A TLS 1.2 handshake over memory BIOs against the appliance's SSL_CTX with a
// client offering `client_ciphers` in its order: the suite negotiated, or ""
// when the handshake failed.
// One handshake over a BIO pair between fresh SSLs of the two contexts: the
// suite negotiated, or "" when it failed; *group (if given): the server's
// negotiated_group_name (what the stats count).
std::string handshake(SSL_CTX* server_ctx, SSL_CTX* client_ctx, std::string* group = nullptr) {
  SSL* c = SSL_new(client_ctx);
  SSL* s = SSL_new(server_ctx);
  BIO *cb = nullptr, *sb = nullptr;
  BIO_new_bio_pair(&cb, 0, &sb, 0);
  SSL_set_bio(c, cb, cb);
  SSL_set_bio(s, sb, sb);
  SSL_set_connect_state(c);
  SSL_set_accept_state(s);
  bool cdone = false, sdone = false, failed = false;
  for (int i = 0; i < 100 && !(cdone && sdone) && !failed; ++i) {
    for (auto [ssl, done] : {std::pair{c, &cdone}, std::pair{s, &sdone}}) {
      if (*done) continue;
      const int r = SSL_do_handshake(ssl);
      if (r == 1) *done = true;
      else if (const int e = SSL_get_error(ssl, r); e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) failed = true;
    }
  }
  ERR_clear_error();
  std::string suite = cdone && sdone ? SSL_get_cipher_name(s) : "";
  if (group) *group = cdone && sdone ? std::string(negotiated_group_name(s)) : "";
  SSL_free(c);
  SSL_free(s);
  return suite;
}

std::string negotiate(SSL_CTX* server_ctx, const char* client_ciphers) {
  SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_set_cipher_list(cctx, client_ciphers), 1);
  std::string suite = handshake(server_ctx, cctx);
  SSL_CTX_free(cctx);
  return suite;
}

// Issue 22.8: what a TLS scanner checks. The server's order decides; the
// default offers ECDHE with AEAD only (no CBC, no static RSA key exchange);
// --ciphers still replaces the list.
TEST(TlsContext, ServerOrderAndAeadOnlyByDefault) {
  Material m;
  std::string err;
  auto ctx = TlsContext::create(m.settings(), &err);
  ASSERT_TRUE(ctx) << err;
  EXPECT_EQ(negotiate(ctx->ssl_ctx(), "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256"),
            "ECDHE-ECDSA-AES128-GCM-SHA256")
      << "the client's first choice won";
  EXPECT_EQ(negotiate(ctx->ssl_ctx(), "ECDHE-ECDSA-CHACHA20-POLY1305"), "ECDHE-ECDSA-CHACHA20-POLY1305");
  EXPECT_EQ(negotiate(ctx->ssl_ctx(), "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384"), "") << "CBC offered";
  TlsSettings s = m.settings();
  s.ciphers = "ECDHE-ECDSA-AES128-SHA";
  auto cbc = TlsContext::create(s, &err);
  ASSERT_TRUE(cbc) << err;
  EXPECT_EQ(negotiate(cbc->ssl_ctx(), "ECDHE-ECDSA-AES128-SHA"), "ECDHE-ECDSA-AES128-SHA") << "--ciphers overrides";
}

TEST(TlsContext, BadSettingsSayWhatIsWrong) {
  Material m;
  TlsSettings s = m.settings();
  s.certs.clear();
  EXPECT_NE(create_error(s).find("--cert"), std::string::npos);
  s = m.settings();
  s.certs[0].key = m.ec2_key;  // another key
  EXPECT_NE(create_error(s).find("does not match"), std::string::npos);
  s = m.settings();
  s.certs[0].cert = m.dir.file("missing.pem");
  EXPECT_NE(create_error(s).find("missing.pem"), std::string::npos);
  s = m.settings();
  s.min_version = "1.1";
  EXPECT_NE(create_error(s).find("1.2 or 1.3"), std::string::npos);
  s = m.settings();
  s.min_version = "1.3";
  s.max_version = "1.2";
  EXPECT_NE(create_error(s).find("above"), std::string::npos);
  s = m.settings();
  s.ciphersuites = "TLS_NO_SUCH_SUITE";
  EXPECT_NE(create_error(s).find("--ciphersuites"), std::string::npos);
  s = m.settings();
  s.provider = "gputls";
  s.provider_module = m.dir.file("nope/gputls.so");
  EXPECT_NE(create_error(s).find("--provider-module"), std::string::npos);
  s = m.settings();
  s.groups = "X25519MLKEM768";  // the default provider has no ML-KEM
  EXPECT_NE(create_error(s).find("--groups"), std::string::npos);
  s = m.settings();
  s.ticket_key_file = m.dir.file("short.key");
  std::ofstream(s.ticket_key_file) << std::string(79, 'k');
  chmod(s.ticket_key_file.c_str(), 0600);
  EXPECT_NE(create_error(s).find("80 bytes"), std::string::npos);
}

// Issue 23: with gputls the appliance offers X25519MLKEM768 first. A TLS 1.3
// client with gputls offering X25519MLKEM768 and x25519 gets the hybrid
// (gputls's counters: the server encapsulated; the name the appliance's stats
// count it under); a classic client (OpenSSL's default context, no ML-KEM)
// still gets x25519; --groups x25519 turns it off.
TEST(TlsContext, OffersX25519Mlkem768FirstWithGputls) {
  Material m;
  auto encaps = [](const TlsContext& t) -> uint64_t {
    const auto j = nlohmann::json::parse(t.provider_stats_json())["provider"]["mlkem768_encaps"];
    return j["engine"].get<uint64_t>() + j["sw"].get<uint64_t>();
  };
  OSSL_LIB_CTX* lib = OSSL_LIB_CTX_new();  // the client's own gputls
  OSSL_PROVIDER_set_default_search_path(lib, GPUTLS_MODULE_DIR);
  OSSL_PROVIDER* g = OSSL_PROVIDER_load(lib, "gputls");
  OSSL_PROVIDER* d = OSSL_PROVIDER_load(lib, "default");
  ASSERT_TRUE(g && d);
  SSL_CTX* pq_client = SSL_CTX_new_ex(lib, "?provider=gputls", TLS_client_method());
  SSL_CTX_set_min_proto_version(pq_client, TLS1_3_VERSION);
  ASSERT_EQ(SSL_CTX_set1_groups_list(pq_client, "X25519MLKEM768:x25519"), 1);
  SSL_CTX* classic = SSL_CTX_new(TLS_client_method());

  TlsSettings s = m.settings();
  s.provider = "gputls";
  s.provider_module = std::string(GPUTLS_MODULE_DIR) + "/gputls.so";
  std::string err;
  auto t = TlsContext::create(s, &err);
  ASSERT_TRUE(t) << err;
  std::string group;
  ASSERT_NE(handshake(t->ssl_ctx(), pq_client, &group), "");
  EXPECT_EQ(encaps(*t), 1u);
  EXPECT_EQ(group, "X25519MLKEM768");
  EXPECT_EQ(key_exchange_group_index(group), 0u);
  ASSERT_NE(handshake(t->ssl_ctx(), classic, &group), "");
  EXPECT_EQ(encaps(*t), 1u);
  EXPECT_EQ(group, "x25519");

  s.groups = "x25519";
  auto off = TlsContext::create(s, &err);
  ASSERT_TRUE(off) << err;
  ASSERT_NE(handshake(off->ssl_ctx(), pq_client, &group), "");
  EXPECT_EQ(encaps(*off), 0u);
  EXPECT_EQ(group, "x25519");
  SSL_CTX_free(pq_client);
  SSL_CTX_free(classic);
  OSSL_PROVIDER_unload(g);
  OSSL_PROVIDER_unload(d);
  OSSL_LIB_CTX_free(lib);
}

void write_keys(const std::string& path, const std::string& names, mode_t mode = 0600) {
  std::string data;
  for (char c : names) data += std::string(16, c) + std::string(32, char(c + 1)) + std::string(32, char(c + 2));
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
  chmod(path.c_str(), mode);
}

struct TicketCall {
  EVP_CIPHER_CTX* cctx = EVP_CIPHER_CTX_new();
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* hctx = EVP_MAC_CTX_new(mac);
  ~TicketCall() {
    EVP_CIPHER_CTX_free(cctx);
    EVP_MAC_CTX_free(hctx);
    EVP_MAC_free(mac);
  }
  int run(TicketKeys& k, uint8_t name[16], int enc) {
    uint8_t iv[16] = {};
    EVP_CIPHER_CTX_reset(cctx);
    return k.callback(name, iv, cctx, hctx, enc);
  }
};

TEST(TicketKeys, FirstKeyEncryptsAllDecryptAndRotationIsReRead) {
  TempDir d;
  std::string path = d.file("tickets.key");
  write_keys(path, "AB");
  TicketKeys keys;
  std::string err;
  ASSERT_TRUE(keys.load(path, &err)) << err;
  EXPECT_EQ(keys.count(), 2u);
  TicketCall t;
  uint8_t name[16];
  ASSERT_EQ(t.run(keys, name, 1), 1);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(name), 16), std::string(16, 'A'));
  std::memset(name, 'B', 16);
  EXPECT_EQ(t.run(keys, name, 0), 2);  // older key: accepted, ticket renewed
  std::memset(name, 'Z', 16);
  EXPECT_EQ(t.run(keys, name, 0), 0);  // unknown: full handshake

  write_keys(path, "CA");  // rotation: a new key first, the old one kept for decryption
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // re-checked at most once a second
  ASSERT_EQ(t.run(keys, name, 1), 1);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(name), 16), std::string(16, 'C'));
  std::memset(name, 'A', 16);
  EXPECT_EQ(t.run(keys, name, 0), 2);
  std::memset(name, 'B', 16);
  EXPECT_EQ(t.run(keys, name, 0), 0);  // rotated out

  std::ofstream(path, std::ios::trunc) << "broken";  // a bad rewrite keeps the old keys
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  ASSERT_EQ(t.run(keys, name, 1), 1);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(name), 16), std::string(16, 'C'));
}

// Issue 22.7: the ticket keys are secrets. A file others may read, one not a
// regular file, and a key with an all-zero secret are refused with the reason.
TEST(TicketKeys, RefusesUnsafeFilesAndZeroKeys) {
  TempDir d;
  const std::string path = d.file("tickets.key");
  TicketKeys keys;
  std::string err;
  write_keys(path, "AB", 0640);
  EXPECT_FALSE(keys.load(path, &err));
  EXPECT_NE(err.find("chmod 600"), std::string::npos) << err;
  write_keys(path, "AB", 0604);
  EXPECT_FALSE(keys.load(path, &err));
  write_keys(path, "AB", 0600);
  ASSERT_TRUE(keys.load(path, &err)) << err;
  std::string zero = std::string(16, 'Z') + std::string(32, '\0') + std::string(32, 'a');
  std::ofstream(path, std::ios::binary | std::ios::trunc) << zero;
  EXPECT_FALSE(keys.load(path, &err));
  EXPECT_NE(err.find("all-zero"), std::string::npos) << err;
  EXPECT_FALSE(keys.load(d.file(""), &err)) << "a directory";
}

// A replacement renamed over the file is seen even when it has the old one's
// size and mtime (the inode changed); the new keys take over.
TEST(TicketKeys, RenamedReplacementIsSeenWithTheSameSizeAndTime) {
  TempDir d;
  const std::string path = d.file("tickets.key"), next = d.file("tickets.key.new");
  write_keys(path, "AB");
  TicketKeys keys;
  std::string err;
  ASSERT_TRUE(keys.load(path, &err)) << err;
  struct stat old_st {};
  ASSERT_EQ(stat(path.c_str(), &old_st), 0);
  write_keys(next, "CD");
  const timespec times[2] = {old_st.st_atim, old_st.st_mtim};
  ASSERT_EQ(utimensat(AT_FDCWD, next.c_str(), times, 0), 0);
  ASSERT_EQ(rename(next.c_str(), path.c_str()), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // re-checked at most once a second
  TicketCall t;
  uint8_t name[16];
  ASSERT_EQ(t.run(keys, name, 1), 1);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(name), 16), std::string(16, 'C'));
}

// The key log: created 0600; never written through a symbolic link; an
// existing file others may read is refused.
TEST(TlsContext, KeyLogIsPrivate) {
  Material m;
  std::string err;
  TlsSettings s = m.settings();
  s.keylog_file = m.dir.file("keys.log");
  {
    auto ctx = TlsContext::create(s, &err);
    ASSERT_TRUE(ctx) << err;
  }
  struct stat st {};
  ASSERT_EQ(stat(s.keylog_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string link = m.dir.file("link.log");
  ASSERT_EQ(symlink(s.keylog_file.c_str(), link.c_str()), 0);
  TlsSettings via_link = s;
  via_link.keylog_file = link;
  EXPECT_NE(create_error(via_link).find("symbolic link"), std::string::npos) << create_error(via_link);
  chmod(s.keylog_file.c_str(), 0644);
  EXPECT_NE(create_error(s).find("chmod 600"), std::string::npos) << create_error(s);
}

TEST(ParseBackend, AcceptsHostPortAndExplainsMistakes) {
  sockaddr_in a{};
  std::string err;
  ASSERT_TRUE(proxy::parse_backend("127.0.0.1:8080", &a, &err)) << err;
  EXPECT_EQ(ntohs(a.sin_port), 8080);
  EXPECT_EQ(ntohl(a.sin_addr.s_addr), 0x7f000001u);
  ASSERT_TRUE(proxy::parse_backend("localhost:1", &a, &err)) << err;
  EXPECT_FALSE(proxy::parse_backend("127.0.0.1", &a, &err));
  EXPECT_NE(err.find("HOST:PORT"), std::string::npos);
  EXPECT_FALSE(proxy::parse_backend("127.0.0.1:0", &a, &err));
  EXPECT_FALSE(proxy::parse_backend("127.0.0.1:65536", &a, &err));
  EXPECT_FALSE(proxy::parse_backend("example.org:80", &a, &err));
  EXPECT_NE(err.find("IPv4"), std::string::npos);
}

}  // namespace
}  // namespace gputls::tls
