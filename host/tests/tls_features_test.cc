// libssl features over memory BIOs with the server through gputls: the TLS
// 1.3 group x certificate matrix, mutual TLS (accepted, and rejected with the
// right alert), resumption (TLS 1.2 session ID and ticket, TLS 1.3 PSK
// ticket), TLS 1.2 secure renegotiation. gputls's counters say which
// operations ran in gputls in each case.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <map>
#include <string>

#include "tls_fixture.h"

namespace gputls::host::testing {
namespace {

using Counts = std::map<std::string, uint64_t>;

class TlsFeatures : public QueuedProviderFixture {
 protected:
  // Every provider op's engine count (and rsa_verify's software count: gputls
  // verifies in its own default-provider context).
  Counts snapshot() const {
    Counts c;
    const nlohmann::json s = stats();
    // Public-key operations only: AES-GCM records (aes_gcm_*) are counted by
    // cipher_tls_test.cc.
    for (const auto& [op, v] : s["provider"].items())
      if (op.rfind("aes_gcm", 0) != 0) c[op] = v["engine"].get<uint64_t>() + v["sw"].get<uint64_t>();
    return c;
  }
  static Counts delta(const Counts& before, const Counts& after) {
    Counts d;
    for (const auto& [op, n] : after)
      if (n != before.at(op)) d[op] = n - before.at(op);
    return d;
  }
  static std::string str(const Counts& c) {
    std::string s;
    for (const auto& [op, n] : c) s += op + "=" + std::to_string(n) + " ";
    return s;
  }
  static const ServerIdentity& rsa_id() {
    static ServerIdentity id(2048);
    return id;
  }
  static const ServerIdentity& ec_id() {
    static ServerIdentity id("P-256");
    return id;
  }
};

bool drive(TlsPair& pair) {
  std::vector<TlsPair*> pairs{&pair};
  std::string err;
  EXPECT_TRUE(run_handshakes(pairs, 20000, &err)) << err;
  return err.empty();
}

// TLS 1.3 with each group gputls serves and each certificate type: the key
// share and the CertificateVerify signature both run in gputls.
TEST_F(TlsFeatures, Tls13GroupAndCertificateMatrix) {
  struct Group {
    const char* name;
    const char* keygen;
    const char* derive;
  };
  const Group groups[] = {{"X25519", "x25519_keygen", "x25519_derive"},
                          {"P-256", "ec_keygen", "ecdh_derive"},
                          {"P-384", "ec_keygen", "ecdh_derive"},
                          {"ffdhe2048", "dh_keygen", "dh_derive"}};
  for (const Group& g : groups) {
    for (bool ec_cert : {false, true}) {
      SCOPED_TRACE(std::string(g.name) + (ec_cert ? " ECDSA" : " RSA-PSS"));
      SSL_CTX* sctx = make_server_ctx(lib_, ec_cert ? ec_id() : rsa_id(), false);
      SSL_CTX* cctx = make_client_ctx(TLS1_3_VERSION, nullptr);
      ASSERT_EQ(SSL_CTX_set1_groups_list(cctx, g.name), 1);
      const Counts before = snapshot();
      {
        TlsPair pair(sctx, cctx);
        ASSERT_TRUE(drive(pair));
        int sig_nid = 0;
        ASSERT_EQ(SSL_get_peer_signature_type_nid(pair.client, &sig_nid), 1);
        EXPECT_EQ(sig_nid, ec_cert ? EVP_PKEY_EC : EVP_PKEY_RSA_PSS);
        const Counts d = delta(before, snapshot());
        EXPECT_EQ(d.count(g.keygen) ? d.at(g.keygen) : 0, 1u) << str(d);
        EXPECT_EQ(d.count(g.derive) ? d.at(g.derive) : 0, 1u) << str(d);
        const char* sign = ec_cert ? "ecdsa_sign" : "rsa_sign";
        EXPECT_EQ(d.count(sign) ? d.at(sign) : 0, 1u) << str(d);
      }
      SSL_CTX_free(sctx);
      SSL_CTX_free(cctx);
    }
  }
}

// Mutual TLS: the server trusts the client's (self-signed) certificate. The
// client's CertificateVerify is checked by gputls (rsa_verify or
// ecdsa_verify, in gputls's own software context); the client's signature
// itself is the default provider's.
TEST_F(TlsFeatures, MutualTlsAccepted) {
  ServerIdentity rsa_client(2048), ec_client("P-256");
  for (const ServerIdentity* client_id : {&rsa_client, &ec_client}) {
    const bool ec = client_id == &ec_client;
    const char* verify_op = ec ? "ecdsa_verify" : "rsa_verify";
    for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
      SCOPED_TRACE(std::string(version == TLS1_3_VERSION ? "TLS 1.3" : "TLS 1.2") + (ec ? " ECDSA client" : " RSA client"));
      SSL_CTX* sctx = make_server_ctx(lib_, rsa_id(), false);
      SSL_CTX_set_verify(sctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      ASSERT_EQ(X509_STORE_add_cert(SSL_CTX_get_cert_store(sctx), client_id->cert), 1);
      SSL_CTX* cctx = make_client_ctx(version, version == TLS1_2_VERSION ? "ECDHE-RSA-AES128-GCM-SHA256" : nullptr);
      ASSERT_EQ(SSL_CTX_use_certificate(cctx, client_id->cert), 1);
      ASSERT_EQ(SSL_CTX_use_PrivateKey(cctx, client_id->key), 1);
      const Counts before = snapshot();
      {
        TlsPair pair(sctx, cctx);
        ASSERT_TRUE(drive(pair));
        X509* peer = SSL_get1_peer_certificate(pair.server);
        ASSERT_NE(peer, nullptr);
        EXPECT_EQ(X509_cmp(peer, client_id->cert), 0);
        X509_free(peer);
        EXPECT_EQ(SSL_get_verify_result(pair.server), X509_V_OK);
        const Counts d = delta(before, snapshot());
        EXPECT_EQ(d.count("rsa_sign") ? d.at("rsa_sign") : 0, 1u) << str(d);
        EXPECT_GE(d.count(verify_op) ? d.at(verify_op) : 0, 1u) << "CertificateVerify checked in gputls: " << str(d);
      }
      SSL_CTX_free(sctx);
      SSL_CTX_free(cctx);
    }
  }
}

// An untrusted client certificate: the server aborts with unknown_ca (48),
// the client receives that alert, and the server's context still serves the
// next (trusted) client.
TEST_F(TlsFeatures, MutualTlsRejectsUntrustedClient) {
  ServerIdentity trusted(2048), stranger(2048);
  SSL_CTX* sctx = make_server_ctx(lib_, rsa_id(), false);
  SSL_CTX_set_verify(sctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  ASSERT_EQ(X509_STORE_add_cert(SSL_CTX_get_cert_store(sctx), trusted.cert), 1);
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SCOPED_TRACE(version == TLS1_3_VERSION ? "TLS 1.3" : "TLS 1.2");
    SSL_CTX* cctx = make_client_ctx(version, nullptr);
    ASSERT_EQ(SSL_CTX_use_certificate(cctx, stranger.cert), 1);
    ASSERT_EQ(SSL_CTX_use_PrivateKey(cctx, stranger.key), 1);
    static int alert_received;
    alert_received = -1;
    SSL_CTX_set_info_callback(cctx, [](const SSL*, int where, int ret) {
      if (where & SSL_CB_READ_ALERT) alert_received = ret & 0xff;
    });
    const uint64_t signs_before = count("rsa_sign");
    {
      TlsPair pair(sctx, cctx);
      int server_result = 0;
      for (int i = 0; i < 50 && server_result == 0; ++i) {
        // The client may finish (TLS 1.3 sends its certificate last) and
        // then learns of the rejection from the alert when it reads.
        uint8_t b;
        if (SSL_do_handshake(pair.client) == 1) (void)SSL_read(pair.client, &b, 1);
        const int r = SSL_do_handshake(pair.server);
        if (r == 1) server_result = 1;
        else if (SSL_get_error(pair.server, r) == SSL_ERROR_SSL) server_result = -1;
      }
      EXPECT_EQ(server_result, -1) << "the server must refuse the client";
      EXPECT_NE(SSL_get_verify_result(pair.server), X509_V_OK);
      uint8_t b;
      for (int i = 0; i < 5 && alert_received < 0; ++i) (void)SSL_read(pair.client, &b, 1);
      EXPECT_EQ(alert_received, SSL_AD_UNKNOWN_CA);
      ERR_clear_error();
    }
    EXPECT_EQ(count("rsa_sign"), signs_before + 1) << "the server's signature ran in gputls before the rejection";
    SSL_CTX_free(cctx);
  }
  // The same server context then accepts a trusted client.
  SSL_CTX* cctx = make_client_ctx(TLS1_3_VERSION, nullptr);
  SSL_CTX_use_certificate(cctx, trusted.cert);
  SSL_CTX_use_PrivateKey(cctx, trusted.key);
  const uint64_t signs_before = count("rsa_sign"), verifies_before = count("rsa_verify", "sw");
  {
    TlsPair pair(sctx, cctx);
    EXPECT_TRUE(drive(pair));
  }
  EXPECT_EQ(count("rsa_sign"), signs_before + 1);
  EXPECT_GE(count("rsa_verify", "sw"), verifies_before + 1);
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
}

// Resumption: a first full handshake, then one with the saved session that
// libssl reports as resumed, which repeats no certificate signature or RSA
// decryption (TLS 1.3 PSK with (EC)DHE still makes a key share in gputls).
class Resumption : public TlsFeatures {
 protected:
  // Returns the second handshake's counts.
  Counts resume(int version, const char* cipher12, bool tickets) {
    SSL_CTX* sctx = make_server_ctx(lib_, rsa_id(), false);
    SSL_CTX_set_session_cache_mode(sctx, SSL_SESS_CACHE_SERVER);
    const unsigned char sid_ctx[] = "gputls-test";
    SSL_CTX_set_session_id_context(sctx, sid_ctx, sizeof sid_ctx - 1);
    if (tickets) SSL_CTX_clear_options(sctx, SSL_OP_NO_TICKET);
    SSL_CTX* cctx = make_client_ctx(version, cipher12);
    SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);
    if (!tickets) SSL_CTX_set_options(cctx, SSL_OP_NO_TICKET);
    SSL_SESSION* sess = nullptr;
    Counts d;
    {
      TlsPair first(sctx, cctx);
      if (!drive(first)) return d;
      // TLS 1.3 tickets arrive after the handshake: let the client read them.
      uint8_t b;
      (void)SSL_read(first.client, &b, 1);
      sess = SSL_get1_session(first.client);
      EXPECT_FALSE(SSL_session_reused(first.server));
      // Closed properly: libssl drops the session of a connection freed without close_notify.
      SSL_shutdown(first.client);
      SSL_shutdown(first.server);
    }
    EXPECT_NE(sess, nullptr);
    EXPECT_EQ(SSL_SESSION_is_resumable(sess), 1);
    const size_t ticket_len = [&] {
      const unsigned char* t = nullptr;
      size_t len = 0;
      SSL_SESSION_get0_ticket(sess, &t, &len);
      return len;
    }();
    EXPECT_EQ(ticket_len > 0, tickets) << "a ticket when tickets are on, a session ID otherwise";
    const Counts before = snapshot();
    {
      TlsPair second(sctx, cctx);
      SSL_set_session(second.client, sess);
      if (drive(second)) {
        EXPECT_TRUE(SSL_session_reused(second.server)) << "the server resumed";
        EXPECT_TRUE(SSL_session_reused(second.client)) << "the client resumed";
      }
      d = delta(before, snapshot());
    }
    SSL_SESSION_free(sess);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    return d;
  }
};

TEST_F(Resumption, Tls12SessionId) {
  for (const char* cipher : {"ECDHE-RSA-AES128-GCM-SHA256", "AES128-GCM-SHA256"}) {
    SCOPED_TRACE(cipher);
    Counts d = resume(TLS1_2_VERSION, cipher, false);
    EXPECT_TRUE(d.empty()) << "an abbreviated handshake has no public-key work: " << str(d);
  }
}

TEST_F(Resumption, Tls12Ticket) {
  Counts d = resume(TLS1_2_VERSION, "ECDHE-RSA-AES128-GCM-SHA256", true);
  EXPECT_TRUE(d.empty()) << str(d);
}

TEST_F(Resumption, Tls13PskTicket) {
  Counts d = resume(TLS1_3_VERSION, nullptr, true);
  EXPECT_EQ(d.count("rsa_sign"), 0u) << "no CertificateVerify on resumption: " << str(d);
  EXPECT_EQ(d["x25519_keygen"], 1u) << "psk_dhe_ke: a fresh key share in gputls: " << str(d);
  EXPECT_EQ(d["x25519_derive"], 1u) << str(d);
}

// TLS 1.2 secure renegotiation (RFC 5746), started by the server: the second
// handshake runs its signature and key exchange in gputls too.
TEST_F(TlsFeatures, Tls12SecureRenegotiation) {
  SSL_CTX* sctx = make_server_ctx(lib_, rsa_id(), false);
  SSL_CTX* cctx = make_client_ctx(TLS1_2_VERSION, "ECDHE-RSA-AES128-GCM-SHA256");
  {
    TlsPair pair(sctx, cctx);
    ASSERT_TRUE(drive(pair));
    EXPECT_EQ(SSL_get_secure_renegotiation_support(pair.client), 1);
    EXPECT_EQ(SSL_get_secure_renegotiation_support(pair.server), 1);
    const Counts before = snapshot();
    ASSERT_EQ(SSL_renegotiate(pair.server), 1);
    uint8_t b;
    for (int i = 0; i < 50 && SSL_renegotiate_pending(pair.server); ++i) {
      (void)SSL_do_handshake(pair.server);
      (void)SSL_read(pair.client, &b, 1);
      (void)SSL_read(pair.server, &b, 1);
    }
    EXPECT_EQ(SSL_renegotiate_pending(pair.server), 0) << "renegotiation did not complete";
    const Counts d = delta(before, snapshot());
    EXPECT_EQ(d.count("rsa_sign") ? d.at("rsa_sign") : 0, 1u) << str(d);
    EXPECT_EQ(d.count("x25519_keygen") ? d.at("x25519_keygen") : 0, 1u) << str(d);
    EXPECT_EQ(d.count("x25519_derive") ? d.at("x25519_derive") : 0, 1u) << str(d);
    // Application data still flows after it.
    ASSERT_EQ(SSL_write(pair.client, "ping", 4), 4);
    char buf[8] = {};
    EXPECT_EQ(SSL_read(pair.server, buf, sizeof buf), 4);
    EXPECT_STREQ(buf, "ping");
  }
  SSL_CTX_free(sctx);
  SSL_CTX_free(cctx);
}


// An RSA-PSS (id-RSASSA-PSS) certificate: TLS 1.3 signs with rsa_pss_pss_*
// in gputls, for a key restricting its PSS parameters too (gputls enforces
// the restrictions as the default provider does).
TEST_F(TlsFeatures, Tls13RsaPssCertificate) {
  for (bool restricted : {false, true}) {
    SCOPED_TRACE(restricted ? "restricted" : "unrestricted");
    EVP_PKEY* k = nullptr;
    EVP_PKEY_CTX* g = EVP_PKEY_CTX_new_from_name(nullptr, "RSA-PSS", nullptr);
    ASSERT_EQ(EVP_PKEY_keygen_init(g), 1);
    ASSERT_EQ(EVP_PKEY_CTX_set_rsa_keygen_bits(g, 2048), 1);
    if (restricted) {
      ASSERT_EQ(EVP_PKEY_CTX_set_rsa_pss_keygen_md_name(g, "SHA256", nullptr), 1);
    }
    ASSERT_EQ(EVP_PKEY_generate(g, &k), 1);
    EVP_PKEY_CTX_free(g);
    ServerIdentity id(k);
    SSL_CTX* sctx = make_server_ctx(lib_, id, false);
    SSL_CTX* cctx = make_client_ctx(TLS1_3_VERSION, nullptr);
    const Counts before = snapshot();
    {
      TlsPair pair(sctx, cctx);
      ASSERT_TRUE(drive(pair));
      int nid = 0;
      ASSERT_EQ(SSL_get_peer_signature_type_nid(pair.client, &nid), 1);
      EXPECT_EQ(nid, EVP_PKEY_RSA_PSS);
    }
    const Counts d = delta(before, snapshot());
    EXPECT_EQ(d.count("rsa_sign") ? d.at("rsa_sign") : 0, 1u) << str(d);
    EXPECT_EQ(d.count("x25519_keygen") ? d.at("x25519_keygen") : 0, 1u) << str(d);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
  }
}

}  // namespace
}  // namespace gputls::host::testing
