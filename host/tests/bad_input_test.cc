// Bad input through libssl to a server running on gputls: truncated and
// garbage ClientHellos, a wrong-length and a wrongly padded RSA premaster,
// invalid X25519 / P-256 / P-521 key shares and an invalid ffdhe2048 value, a bad
// client signature, and a client offering only P-521 (served, as by the
// default provider). Each failing connection ends the
// connection with a clear error (the alert the client receives is checked),
// nothing crashes, and the next connection to the same server completes.
//
// The client's bytes pass through a relay that can rewrite one handshake
// record before the server reads it (TLS 1.2 client flights and TLS 1.3
// ClientHellos are plaintext).
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <functional>
#include <string>
#include <vector>

#include "tls_fixture.h"

namespace gputls::host::testing {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint8_t kHandshake = 22;
constexpr uint8_t kClientHello = 1, kCertificateVerify = 15, kClientKeyExchange = 16;

// The alert the client last received (-1: none).
int g_client_alert = -1;
void record_alert(const SSL*, int where, int ret) {
  if (where & SSL_CB_READ_ALERT) g_client_alert = ret & 0xff;
}

// A record holding one handshake message: its type and body, and back.
struct HandshakeRecord {
  uint8_t type = 0;
  Bytes body;
  static bool parse(const Bytes& rec, HandshakeRecord* out) {
    if (rec.size() < 9 || rec[0] != kHandshake) return false;
    const size_t len = size_t{rec[6]} << 16 | size_t{rec[7]} << 8 | rec[8];
    if (rec.size() != 9 + len) return false;  // not exactly one message
    out->type = rec[5];
    out->body.assign(rec.begin() + 9, rec.end());
    return true;
  }
  Bytes record(const Bytes& original_header) const {
    const size_t hs_len = body.size(), rec_len = hs_len + 4;
    Bytes r{kHandshake, original_header[1], original_header[2], static_cast<uint8_t>(rec_len >> 8),
            static_cast<uint8_t>(rec_len), type, static_cast<uint8_t>(hs_len >> 16), static_cast<uint8_t>(hs_len >> 8),
            static_cast<uint8_t>(hs_len)};
    r.insert(r.end(), body.begin(), body.end());
    return r;
  }
};

// Client <-> relay <-> server over two BIO pairs. `tamper` sees every whole
// record the client sends and may rewrite it.
struct Relay {
  Relay(SSL_CTX* sctx, SSL_CTX* cctx, std::function<void(Bytes&)> t) : tamper(std::move(t)) {
    client = SSL_new(cctx);
    server = SSL_new(sctx);
    BIO *c_ssl, *s_ssl;
    BIO_new_bio_pair(&c_ssl, 0, &c_net, 0);
    BIO_new_bio_pair(&s_ssl, 0, &s_net, 0);
    SSL_set_bio(client, c_ssl, c_ssl);
    SSL_set_bio(server, s_ssl, s_ssl);
    SSL_set_connect_state(client);
    SSL_set_accept_state(server);
    SSL_set_info_callback(client, record_alert);
  }
  ~Relay() {
    SSL_free(client);
    SSL_free(server);
    BIO_free(c_net);
    BIO_free(s_net);
  }
  void pump() {
    uint8_t buf[16384];
    int n;
    while ((n = BIO_read(c_net, buf, sizeof buf)) > 0) from_client.insert(from_client.end(), buf, buf + n);
    while (from_client.size() >= 5) {
      const size_t len = 5 + (size_t{from_client[3]} << 8 | from_client[4]);
      if (from_client.size() < len) break;
      Bytes rec(from_client.begin(), from_client.begin() + static_cast<long>(len));
      from_client.erase(from_client.begin(), from_client.begin() + static_cast<long>(len));
      if (tamper) tamper(rec);
      BIO_write(s_net, rec.data(), static_cast<int>(rec.size()));
    }
    while ((n = BIO_read(s_net, buf, sizeof buf)) > 0) BIO_write(c_net, buf, n);
  }
  // Runs the handshake; true when both sides completed. On failure the
  // client is left to read the server's alert.
  bool run() {
    bool c_done = false, s_done = false;
    for (int i = 0; i < 200 && !(c_done && s_done); ++i) {
      if (!c_done) {
        c_done = SSL_do_handshake(client) == 1;
      }
      pump();
      if (!s_done) {
        const int r = SSL_do_handshake(server);
        s_done = r == 1;
        if (r <= 0 && SSL_get_error(server, r) == SSL_ERROR_SSL) {
          server_failed = true;
          server_error = ERR_reason_error_string(ERR_peek_last_error()) ? ERR_reason_error_string(ERR_peek_last_error()) : "?";
        }
      }
      pump();
      if (server_failed) break;
    }
    if (c_done && s_done) return true;
    uint8_t b;
    for (int i = 0; i < 5 && g_client_alert < 0; ++i) {
      pump();
      (void)SSL_read(client, &b, 1);
    }
    ERR_clear_error();
    return false;
  }
  SSL* client = nullptr;
  SSL* server = nullptr;
  BIO* c_net = nullptr;
  BIO* s_net = nullptr;
  std::function<void(Bytes&)> tamper;
  Bytes from_client;
  bool server_failed = false;
  std::string server_error;
};

class BadInput : public ProviderFixture {
 protected:
  static const ServerIdentity& rsa_id() {
    static ServerIdentity id(2048);
    return id;
  }
  // The alert OpenSSL's default provider answers the same tampering with:
  // the reference for what gputls must answer.
  int reference_alert(SSL_CTX* cctx, const std::function<void(Bytes&)>& tamper) {
    SSL_CTX* reference = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(reference, rsa_id().cert);
    SSL_CTX_use_PrivateKey(reference, rsa_id().key);
    SSL_CTX_set_dh_auto(reference, 1);  // DHE suites
    g_client_alert = -1;
    {
      Relay r(reference, cctx, tamper);
      EXPECT_FALSE(r.run());
    }
    SSL_CTX_free(reference);
    EXPECT_NE(g_client_alert, -1) << "the reference server sent no alert";
    return g_client_alert;
  }
  // One tampered connection that must fail with `alert` at the client, then
  // a clean one to the same server context that must succeed.
  void expect_rejected(SSL_CTX* sctx, SSL_CTX* cctx, std::function<void(Bytes&)> tamper, int alert) {
    g_client_alert = -1;
    bool tampered = false;
    {
      Relay bad(sctx, cctx, [&](Bytes& rec) {
        const Bytes before = rec;
        tamper(rec);
        tampered |= rec != before;
      });
      EXPECT_FALSE(bad.run()) << "a tampered handshake completed";
      EXPECT_TRUE(tampered) << "the relay never found the message to change";
      EXPECT_TRUE(bad.server_failed) << "the server must report an error";
      EXPECT_EQ(g_client_alert, alert) << "server error: " << bad.server_error;
    }
    const uint64_t engine_before = engine_total();
    Relay good(sctx, cctx, nullptr);
    EXPECT_TRUE(good.run()) << "the next connection failed: " << good.server_error;
    EXPECT_GE(engine_total(), engine_before + 1) << "the next connection's work ran in gputls";
  }
};

// Applies f to the key_share entry of `group` in a ClientHello record.
void edit_key_share(Bytes& rec, uint16_t group, const std::function<void(uint8_t*, size_t)>& f) {
  HandshakeRecord hs;
  if (!HandshakeRecord::parse(rec, &hs) || hs.type != kClientHello) return;
  const Bytes& b = hs.body;
  size_t p = 2 + 32;
  p += 1 + b[p];                                  // session id
  p += 2 + (size_t{b[p]} << 8 | b[p + 1]);        // cipher suites
  p += 1 + b[p];                                  // compression methods
  const size_t ext_end = p + 2 + (size_t{b[p]} << 8 | b[p + 1]);
  for (p += 2; p + 4 <= ext_end;) {
    const unsigned type = b[p] << 8 | b[p + 1];
    const size_t len = size_t{b[p + 2]} << 8 | b[p + 3];
    if (type == 0x0033) {  // key_share: client_shares<2..>, each group(2) length(2) key
      for (size_t q = p + 6; q + 4 <= p + 4 + len;) {
        const unsigned g = b[q] << 8 | b[q + 1];
        const size_t klen = size_t{b[q + 2]} << 8 | b[q + 3];
        if (g == group) f(rec.data() + 9 + q + 4, klen);
        q += 4 + klen;
      }
    }
    p += 4 + len;
  }
}

TEST_F(BadInput, TruncatedAndGarbageClientHello) {
  SSL_CTX* sctx = make_server_ctx(lib_, rsa_id(), false);
  SSL_CTX* cctx = make_client_ctx(TLS1_3_VERSION, nullptr);
  // Truncated: the last 40 bytes cut off, record and handshake lengths made
  // to match, so the extensions block claims more than the message holds.
  expect_rejected(sctx, cctx, [](Bytes& rec) {
    HandshakeRecord hs;
    if (!HandshakeRecord::parse(rec, &hs) || hs.type != kClientHello) return;
    hs.body.resize(hs.body.size() - 40);
    rec = hs.record(rec);
  }, SSL_AD_DECODE_ERROR);
  // Garbage: the ClientHello's body is random bytes.
  expect_rejected(sctx, cctx, [](Bytes& rec) {
    if (rec[0] == kHandshake && rec[5] == kClientHello) RAND_bytes(rec.data() + 9, static_cast<int>(rec.size() - 9));
  }, SSL_AD_DECODE_ERROR);
  SSL_CTX_free(sctx);
  SSL_CTX_free(cctx);
}

// TLS 1.2 RSA key exchange: a premaster ciphertext one byte short is the
// same number without a leading zero byte, decrypted as the default provider
// does (RSA_private_decrypt takes it), and answered with the default
// provider's alert; a right-length ciphertext that is not PKCS#1 goes
// through the same engine decryption as a good one, yields a random
// premaster, and the handshake then fails at Finished.
TEST_F(BadInput, RsaPremasterWrongLengthAndBadPadding) {
  SSL_CTX* sctx = make_server_ctx(lib_, rsa_id(), false);
  SSL_CTX* cctx = make_client_ctx(TLS1_2_VERSION, "AES128-GCM-SHA256");
  auto edit_cke = [](const std::function<void(Bytes&)>& f) {
    return [f](Bytes& rec) {
      HandshakeRecord hs;
      if (!HandshakeRecord::parse(rec, &hs) || hs.type != kClientKeyExchange) return;
      f(hs.body);
      rec = hs.record(rec);
    };
  };
  const auto short_ct = edit_cke([](Bytes& body) {
    body.pop_back();  // 255 bytes of ciphertext for a 2048-bit key
    body[0] = 0x00;
    body[1] = 0xff;
  });
  const int reference = reference_alert(cctx, short_ct);
  const uint64_t engine_before = count("rsa_decrypt");
  expect_rejected(sctx, cctx, short_ct, reference);
  EXPECT_EQ(count("rsa_decrypt"), engine_before + 2) << "both connections decrypted on the engine";
  expect_rejected(sctx, cctx, edit_cke([](Bytes& body) {
    RAND_bytes(body.data() + 2, static_cast<int>(body.size() - 2));
    body[2] = 0x00;  // below n
  }), SSL_AD_BAD_RECORD_MAC);
  EXPECT_EQ(count("rsa_decrypt"), engine_before + 4) << "the bad premaster took the engine path too";
  EXPECT_EQ(count("rsa_decrypt", "failed"), 0u) << "bad padding is not an error the client can observe";
  SSL_CTX_free(sctx);
  SSL_CTX_free(cctx);
}

// TLS 1.3 key shares gputls must refuse: an X25519 share of order 1 (the
// all-zero secret), a P-256 point off the curve, ffdhe2048 y = 1. The alert
// must be the one OpenSSL's default provider gives for the same bytes (the
// reference), and the refusal must happen in gputls (its counters).
TEST_F(BadInput, InvalidKeyShares) {
  SSL_CTX* sctx = make_server_ctx(lib_, rsa_id(), false);
  struct Case {
    const char* group;
    uint16_t id;
    std::function<void(uint8_t*, size_t)> edit;
    const char* refused_in;  // the gputls operation that must refuse it
  };
  const Case cases[] = {
      {"X25519", 0x001d, [](uint8_t* k, size_t n) { std::fill(k, k + n, 0); }, "x25519_derive"},
      {"P-256", 0x0017, [](uint8_t* k, size_t n) { k[n - 1] ^= 0x01; }, nullptr},
      {"ffdhe2048", 0x0100,
       [](uint8_t* k, size_t n) {
         std::fill(k, k + n, 0);
         k[n - 1] = 1;
       },
       nullptr},  // refused when the peer key is set, before any derive
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.group);
    SSL_CTX* cctx = make_client_ctx(TLS1_3_VERSION, nullptr);
    ASSERT_EQ(SSL_CTX_set1_groups_list(cctx, c.group), 1);
    auto tamper = [&](Bytes& rec) { edit_key_share(rec, c.id, c.edit); };
    const int alert = reference_alert(cctx, tamper);
    const uint64_t failed_before = c.refused_in ? count(c.refused_in, "failed") : 0;
    expect_rejected(sctx, cctx, tamper, alert);
    if (c.refused_in) {
      EXPECT_EQ(count(c.refused_in, "failed"), failed_before + 1) << stats().dump();
    }
    SSL_CTX_free(cctx);
  }
  SSL_CTX_free(sctx);
}

// The same for TLS 1.2 ClientKeyExchange values: an ECDHE P-256 point off
// the curve and a DHE value of 1.
TEST_F(BadInput, InvalidTls12KeyExchangeValues) {
  SSL_CTX* sctx = make_server_ctx(lib_, rsa_id(), false);
  SSL_CTX_set_dh_auto(sctx, 1);
  struct Case {
    const char* cipher;
    std::function<void(Bytes&)> edit;  // on the ClientKeyExchange body
  };
  const Case cases[] = {
      {"ECDHE-RSA-AES128-GCM-SHA256", [](Bytes& body) { body.back() ^= 0x01; }},  // opaque point<1..255>
      {"DHE-RSA-AES128-GCM-SHA256", [](Bytes& body) { body = {0x00, 0x01, 0x01}; }},  // Yc = 1
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.cipher);
    SSL_CTX* cctx = make_client_ctx(TLS1_2_VERSION, c.cipher);
    ASSERT_EQ(SSL_CTX_set1_groups_list(cctx, "P-256"), 1);
    auto tamper = [&](Bytes& rec) {
      HandshakeRecord hs;
      if (!HandshakeRecord::parse(rec, &hs) || hs.type != kClientKeyExchange) return;
      c.edit(hs.body);
      rec = hs.record(rec);
    };
    expect_rejected(sctx, cctx, tamper, reference_alert(cctx, tamper));
    SSL_CTX_free(cctx);
  }
  SSL_CTX_free(sctx);
}

// TLS 1.2 mutual TLS with a corrupted client CertificateVerify: gputls's
// verification rejects it (decrypt_error).
TEST_F(BadInput, BadClientSignature) {
  ServerIdentity client_id(2048);
  SSL_CTX* sctx = make_server_ctx(lib_, rsa_id(), false);
  SSL_CTX_set_verify(sctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  ASSERT_EQ(X509_STORE_add_cert(SSL_CTX_get_cert_store(sctx), client_id.cert), 1);
  SSL_CTX* cctx = make_client_ctx(TLS1_2_VERSION, "ECDHE-RSA-AES128-GCM-SHA256");
  ASSERT_EQ(SSL_CTX_use_certificate(cctx, client_id.cert), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey(cctx, client_id.key), 1);
  const uint64_t verify_before = count("rsa_verify", "sw");
  expect_rejected(sctx, cctx, [](Bytes& rec) {
    HandshakeRecord hs;
    if (!HandshakeRecord::parse(rec, &hs) || hs.type != kCertificateVerify) return;
    rec.back() ^= 0x01;  // the signature's last byte
  }, SSL_AD_DECRYPT_ERROR);
  EXPECT_GE(count("rsa_verify", "sw"), verify_before + 2) << "both signatures were checked by gputls";
  SSL_CTX_free(sctx);
  SSL_CTX_free(cctx);
}

// Replaces the key_share entry of `group` in a ClientHello record with what
// f makes of it (any length), fixing every enclosing length.
void resize_key_share(Bytes& rec, uint16_t group, const std::function<void(Bytes&)>& f) {
  HandshakeRecord hs;
  if (!HandshakeRecord::parse(rec, &hs) || hs.type != kClientHello) return;
  Bytes& b = hs.body;
  auto u16 = [&](size_t at) { return size_t{b[at]} << 8 | b[at + 1]; };
  auto put16 = [&](size_t at, size_t v) {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
  };
  size_t p = 2 + 32;
  p += 1 + b[p];       // session id
  p += 2 + u16(p);     // cipher suites
  p += 1 + b[p];       // compression methods
  const size_t ext_len_at = p;
  const size_t ext_end = p + 2 + u16(p);
  for (p += 2; p + 4 <= ext_end; p += 4 + u16(p + 2)) {
    if (u16(p) != 0x0033) continue;
    for (size_t q = p + 6; q + 4 <= p + 4 + u16(p + 2); q += 4 + u16(q + 2)) {
      if (u16(q) != group) continue;
      Bytes key(b.begin() + static_cast<long>(q + 4), b.begin() + static_cast<long>(q + 4 + u16(q + 2)));
      const long delta = -static_cast<long>(key.size());
      f(key);
      const long grow = delta + static_cast<long>(key.size());
      b.erase(b.begin() + static_cast<long>(q + 4), b.begin() + static_cast<long>(q + 4 + u16(q + 2)));
      b.insert(b.begin() + static_cast<long>(q + 4), key.begin(), key.end());
      put16(q + 2, key.size());
      put16(p + 4, static_cast<size_t>(static_cast<long>(u16(p + 4)) + grow));          // client_shares
      put16(p + 2, static_cast<size_t>(static_cast<long>(u16(p + 2)) + grow));          // extension
      put16(ext_len_at, static_cast<size_t>(static_cast<long>(u16(ext_len_at)) + grow));  // extensions
      rec = hs.record(rec);
      return;
    }
  }
}

// A client offering only P-521 to a `?provider=gputls` server is served as
// OpenSSL's default provider serves it (the reference): gputls advertises
// every group the default does, so libssl keeps P-521 (it keeps a group only
// when the keymgmt fetched with the context's properties belongs to the
// provider that advertised it), and gputls computes it in software.
TEST_F(BadInput, P521OnlyClientServedAsByDefault) {
  SSL_CTX* sctx = make_server_ctx(lib_, rsa_id(), false);
  SSL_CTX* cctx = make_client_ctx(TLS1_3_VERSION, nullptr);
  ASSERT_EQ(SSL_CTX_set1_groups_list(cctx, "P-521"), 1);
  SSL_CTX* reference = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate(reference, rsa_id().cert);
  SSL_CTX_use_PrivateKey(reference, rsa_id().key);
  {
    Relay r(reference, cctx, nullptr);
    EXPECT_TRUE(r.run()) << "the default provider serves P-521: " << r.server_error;
  }
  const uint64_t keygen_sw = count("ec_keygen", "sw"), derive_sw = count("ecdh_derive", "sw");
  const uint64_t keygen = count("ec_keygen");
  {
    Relay r(sctx, cctx, nullptr);
    EXPECT_TRUE(r.run()) << r.server_error;
  }
  EXPECT_EQ(count("ec_keygen", "sw"), keygen_sw + 1) << "the P-521 key share made by gputls: " << stats().dump();
  EXPECT_EQ(count("ecdh_derive", "sw"), derive_sw + 1);
  EXPECT_EQ(count("ec_keygen"), keygen) << "no retry with an engine curve";
  SSL_CTX_free(reference);
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
}

// Malformed P-521 key shares get the alert the default provider sends for
// the same bytes (illegal_parameter, not a handshake_failure for a missing
// group), and the next connection completes.
TEST_F(BadInput, InvalidP521KeyShares) {
  SSL_CTX* sctx = make_server_ctx(lib_, rsa_id(), false);
  SSL_CTX* cctx = make_client_ctx(TLS1_3_VERSION, nullptr);
  ASSERT_EQ(SSL_CTX_set1_groups_list(cctx, "P-521"), 1);
  struct Case {
    const char* what;
    std::function<void(Bytes&)> edit;
  };
  const Case cases[] = {
      {"point at infinity", [](Bytes& k) { k = {0x00}; }},
      {"off the curve", [](Bytes& k) { k.back() ^= 0x01; }},
      {"truncated", [](Bytes& k) { k.pop_back(); }},
      {"zero-padded", [](Bytes& k) { k.push_back(0x00); }},
      {"zero-padded in front", [](Bytes& k) { k.insert(k.begin() + 1, 0x00); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto tamper = [&](Bytes& rec) { resize_key_share(rec, 0x0019, c.edit); };
    const int alert = reference_alert(cctx, tamper);
    EXPECT_EQ(alert, SSL_AD_ILLEGAL_PARAMETER) << "what the default provider sends";
    const uint64_t derives = count("ecdh_derive", "sw");
    expect_rejected(sctx, cctx, tamper, alert);
    EXPECT_EQ(count("ecdh_derive", "sw"), derives + 1) << "only the good connection derived";
  }
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
}

}  // namespace
}  // namespace gputls::host::testing
