// TLS records through gputls's AES-GCM: libssl over memory BIOs, the server
// fetching with ?provider=gputls, application data both ways, counters
// proving the records went through gputls's engine, a tampered record
// answered with bad_record_mac, and many async connections streaming at once.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <poll.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tls_fixture.h"

namespace gputls::host::testing {
namespace {

using Bytes = std::vector<uint8_t>;

bool retryable(int e) { return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_ASYNC; }

// Sends `data` from one end to the other, in 16 KiB writes, without blocking:
// one call makes what progress it can. Done when everything arrived.
struct Transfer {
  Transfer(SSL* f, SSL* t, const Bytes* d) : from(f), to(t), data(d) {}
  SSL* from;
  SSL* to;
  const Bytes* data;
  size_t sent = 0;
  Bytes got;
  std::string error;
  bool done() const { return got.size() == data->size(); }
  bool step() {
    if (sent < data->size()) {
      const int len = static_cast<int>(std::min<size_t>(16384, data->size() - sent));
      const int n = SSL_write(from, data->data() + sent, len);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (!retryable(SSL_get_error(from, n))) {
        error = "write failed: " + std::string(ERR_error_string(ERR_get_error(), nullptr));
        return false;
      }
    }
    uint8_t buf[16384];
    for (;;) {
      const int r = SSL_read(to, buf, sizeof buf);
      if (r > 0) {
        got.insert(got.end(), buf, buf + r);
        continue;
      }
      if (!retryable(SSL_get_error(to, r))) {
        error = "read failed: " + std::string(ERR_error_string(ERR_get_error(), nullptr));
        return false;
      }
      return true;
    }
  }
};

Bytes random_bytes(size_t n) {
  Bytes b(n);
  RAND_bytes(b.data(), static_cast<int>(n));
  return b;
}

// Drives transfers to completion, waiting on the servers' async fds.
bool run_transfers(std::vector<Transfer*>& ts, std::vector<SSL*> servers, int limit_ms, std::string* error) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(limit_ms);
  for (;;) {
    bool all_done = true;
    for (Transfer* t : ts) {
      if (t->done()) continue;
      if (!t->step()) {
        *error = t->error;
        return false;
      }
      all_done = all_done && t->done();
    }
    if (all_done) return true;
    if (std::chrono::steady_clock::now() > end) {
      *error = "transfers did not finish in time";
      return false;
    }
    std::vector<pollfd> fds;
    for (SSL* s : servers) add_async_fds(s, &fds);
    if (!fds.empty()) poll(fds.data(), fds.size(), 5);
  }
}

class CipherTls : public ProviderFixture {
 protected:
  // Handshake, then `bytes` each way; returns the server's seal/open engine
  // counts' deltas over the data phase.
  void stream(const ServerIdentity& id, int version, const char* cipher12, const char* suite13, size_t bytes,
              bool async) {
    SSL_CTX* sctx = make_server_ctx(lib_, id, async);
    SSL_CTX* cctx = make_client_ctx(version, cipher12);
    if (suite13) {
      SSL_CTX_set_ciphersuites(sctx, suite13);
      SSL_CTX_set_ciphersuites(cctx, suite13);
    }
    TlsPair pair(sctx, cctx);
    std::vector<TlsPair*> pairs{&pair};
    std::string err;
    ASSERT_TRUE(run_handshakes(pairs, 20000, &err)) << err;
    const char* negotiated = SSL_CIPHER_get_name(SSL_get_current_cipher(pair.server));
    EXPECT_STREQ(negotiated, cipher12 ? cipher12 : suite13);
    const uint64_t seals = count("aes_gcm_seal"), opens = count("aes_gcm_open");
    const Bytes up = random_bytes(bytes), down = random_bytes(bytes);
    Transfer to_server{pair.client, pair.server, &up}, to_client{pair.server, pair.client, &down};
    std::vector<Transfer*> ts{&to_server, &to_client};
    ASSERT_TRUE(run_transfers(ts, {pair.server}, 60000, &err)) << err;
    EXPECT_EQ(to_server.got, up);
    EXPECT_EQ(to_client.got, down);
    const uint64_t records = (bytes + 16383) / 16384;
    EXPECT_EQ(count("aes_gcm_seal") - seals, records) << "the server's records did not go through gputls";
    EXPECT_EQ(count("aes_gcm_open") - opens, records) << "the client's records were not opened by gputls";
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
  }
};

const size_t kSizes[] = {1, 1000, 16384, 16385, 100000, 1 << 20};

TEST_F(CipherTls, Tls12EcdheRsaAes128Gcm) {
  ServerIdentity id(2048);
  for (size_t n : kSizes) stream(id, TLS1_2_VERSION, "ECDHE-RSA-AES128-GCM-SHA256", nullptr, n, false);
}

TEST_F(CipherTls, Tls12EcdheEcdsaAes256Gcm) {
  ServerIdentity id("P-256");
  for (size_t n : kSizes) stream(id, TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384", nullptr, n, n % 2);
}

TEST_F(CipherTls, Tls13Aes128Gcm) {
  ServerIdentity id("P-256");
  for (size_t n : kSizes) stream(id, TLS1_3_VERSION, nullptr, "TLS_AES_128_GCM_SHA256", n, n % 2);
}

TEST_F(CipherTls, Tls13Aes256Gcm) {
  ServerIdentity id(2048);
  for (size_t n : kSizes) stream(id, TLS1_3_VERSION, nullptr, "TLS_AES_256_GCM_SHA384", n, false);
}

// A record changed on the wire: the gputls server refuses it with
// bad_record_mac (seen by the client), releases nothing, and another
// connection carries on.
TEST_F(CipherTls, TamperedRecordGetsBadRecordMac) {
  ServerIdentity id("P-256");
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SCOPED_TRACE(version == TLS1_2_VERSION ? "TLS 1.2" : "TLS 1.3");
    SSL_CTX* sctx = make_server_ctx(lib_, id, false);
    SSL_CTX* cctx = make_client_ctx(version, version == TLS1_2_VERSION ? "ECDHE-ECDSA-AES128-GCM-SHA256" : nullptr);
    TlsPair bad(sctx, cctx), good(sctx, cctx);
    std::vector<TlsPair*> pairs{&bad, &good};
    std::string err;
    ASSERT_TRUE(run_handshakes(pairs, 20000, &err)) << err;
    // The client's record, taken off the wire before the server sees it.
    const Bytes msg = random_bytes(3000);
    ASSERT_EQ(SSL_write(bad.client, msg.data(), static_cast<int>(msg.size())), static_cast<int>(msg.size()));
    BIO* wire = SSL_get_rbio(bad.server);
    Bytes rec(BIO_ctrl_pending(wire));
    ASSERT_GT(rec.size(), msg.size());
    ASSERT_EQ(BIO_read(wire, rec.data(), static_cast<int>(rec.size())), static_cast<int>(rec.size()));
    rec[rec.size() / 2] ^= 0x20;
    BIO* tampered = BIO_new_mem_buf(rec.data(), static_cast<int>(rec.size()));
    SSL_set0_rbio(bad.server, tampered);  // drops the read side's reference; the write side keeps its own
    const uint64_t failed = count("aes_gcm_open", "failed");
    uint8_t buf[4096];
    const int r = SSL_read(bad.server, buf, sizeof buf);
    EXPECT_LE(r, 0);
    EXPECT_EQ(SSL_get_error(bad.server, r), SSL_ERROR_SSL);
    EXPECT_EQ(ERR_GET_REASON(ERR_peek_last_error()), SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC);
    ERR_clear_error();
    EXPECT_EQ(count("aes_gcm_open", "failed"), failed + 1);
    // The client reads the alert and the connection is over.
    const int cr = SSL_read(bad.client, buf, sizeof buf);
    EXPECT_LE(cr, 0);
    EXPECT_EQ(ERR_GET_REASON(ERR_peek_last_error()), SSL_R_SSLV3_ALERT_BAD_RECORD_MAC);
    ERR_clear_error();
    EXPECT_LE(SSL_write(bad.server, msg.data(), 10), 0);
    ERR_clear_error();
    // The other connection is unaffected.
    Transfer t{good.client, good.server, &msg};
    std::vector<Transfer*> ts{&t};
    EXPECT_TRUE(run_transfers(ts, {good.server}, 10000, &err)) << err;
    EXPECT_EQ(t.got, msg);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
  }
}

// Many connections streaming at once with SSL_MODE_ASYNC through the
// engine's queue: records pause their jobs, the engine batches records of
// different connections, every byte arrives, nothing is left alive.
class QueuedCipherTls : public QueuedProviderFixture {
 protected:
  // No key-share pool: its pairs would stay registered, and the test checks
  // that the engine's key table returns to where it was.
  const char* key_share_pool() const override { return "0"; }
};

TEST_F(QueuedCipherTls, ManyAsyncConnectionsStreaming) {
  const long keys_before = stats()["engine"]["keys_live"].get<long>();
  auto id = std::make_unique<ServerIdentity>("P-256");
  const int n = async_pairs(1000);
  RecordProperty("connections", n);
  SSL_CTX* sctx = make_server_ctx(lib_, *id, true);
  SSL_CTX* cctx = make_client_ctx(TLS1_3_VERSION, nullptr);
  std::vector<std::unique_ptr<TlsPair>> owned;
  std::vector<TlsPair*> pairs;
  std::vector<SSL*> servers;
  for (int i = 0; i < n; ++i) {
    owned.push_back(std::make_unique<TlsPair>(sctx, cctx));
    pairs.push_back(owned.back().get());
    servers.push_back(owned.back()->server);
  }
  std::string err;
  ASSERT_TRUE(run_handshakes(pairs, 300000, &err)) << err;
  const uint64_t seals = count("aes_gcm_seal"), opens = count("aes_gcm_open");
  const uint64_t paused = count("aes_gcm_seal", "async_paused") + count("aes_gcm_open", "async_paused");
  const Bytes up = random_bytes(16384), down = random_bytes(2 * 16384);
  std::vector<Transfer> ts;
  ts.reserve(2 * n);
  for (TlsPair* p : pairs) {
    ts.emplace_back(p->client, p->server, &up);
    ts.emplace_back(p->server, p->client, &down);
  }
  std::vector<Transfer*> tp;
  for (Transfer& t : ts) tp.push_back(&t);
  ASSERT_TRUE(run_transfers(tp, servers, 300000, &err)) << err;
  for (const Transfer& t : ts) ASSERT_EQ(t.got, *t.data);
  EXPECT_EQ(count("aes_gcm_seal") - seals, 2u * n);
  EXPECT_EQ(count("aes_gcm_open") - opens, 1u * n);
  const uint64_t paused_now = count("aes_gcm_seal", "async_paused") + count("aes_gcm_open", "async_paused");
  EXPECT_GT((paused_now - paused) * 2, 3u * n) << "most records should have paused their job";
  const nlohmann::json s = stats();
  EXPECT_TRUE(some_batch_above_one(s, "aes_gcm_seal") || some_batch_above_one(s, "aes_gcm_open")) << s["engine"].dump(2);
  owned.clear();
  SSL_CTX_free(sctx);
  SSL_CTX_free(cctx);
  // The engine's thread drops its last references just after completing:
  // poll briefly.
  auto settled = [this](auto value, long want) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (value(stats()) != want && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return value(stats());
  };
  EXPECT_EQ(settled([](const nlohmann::json& j) { return j["calls_alive"].get<long>(); }, 0), 0);
  id.reset();  // its key's gputls copy goes with it
  EXPECT_EQ(settled([](const nlohmann::json& j) { return j["engine"]["keys_live"].get<long>(); }, keys_before),
            keys_before)
      << "record keys stayed registered";
}

}  // namespace
}  // namespace gputls::host::testing
