// Post-quantum TLS groups (issue 23) through gputls on OpenSSL 3.0:
// X25519MLKEM768, SecP256r1MLKEM768 and MLKEM768 advertised as TLS 1.3 KEM groups, negotiated in
// full handshakes (both ends in a library context with gputls, the only
// provider with these groups), with gputls's counters proving it made the
// client's share, the server's encapsulation and the client's decapsulation;
// at the EVP level, both sides agree on the secret and a client share that is
// malformed (wrong length, an ML-KEM coefficient not below q) is refused when
// set, which libssl turns into an illegal_parameter alert.
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tls_fixture.h"

namespace gputls::host::testing {
namespace {

using Bytes = std::vector<uint8_t>;

struct PqGroup {
  const char* name;
  unsigned id;
  size_t client_share, server_share, secret;
  const char* classic_derive;  // gputls's counter of the hybrid's classic half (nullptr: none)
};
const PqGroup kPqGroups[] = {{"X25519MLKEM768", 0x11EC, 1216, 1120, 64, "x25519_derive"},
                             {"SecP256r1MLKEM768", 0x11EB, 1249, 1153, 64, "ecdh_derive"},
                             {"MLKEM768", 0x0201, 1184, 1088, 32, nullptr}};

class PqGroups : public QueuedProviderFixture {
 protected:
  // Every pause of a hybrid handshake is exercised here, the classic key's
  // generation included: no key-share pool, which skips that pause (its
  // own tests are in key_share_pool_test.cc).
  const char* key_share_pool() const override { return "0"; }
  uint64_t done(const char* op) const { return count(op, "engine") + count(op, "sw"); }

  SSL_CTX* client_ctx(const char* groups) {
    SSL_CTX* ctx = SSL_CTX_new_ex(lib_, "?provider=gputls", TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    EXPECT_EQ(SSL_CTX_set1_groups_list(ctx, groups), 1) << groups;
    return ctx;
  }

  // The client's share: keygen by group name, then the encoded public key.
  EVP_PKEY* client_key(const char* group) {
    EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_name(lib_, group, "?provider=gputls");
    EVP_PKEY* k = nullptr;
    EXPECT_TRUE(c && EVP_PKEY_keygen_init(c) == 1 && EVP_PKEY_CTX_set_group_name(c, group) == 1 &&
                EVP_PKEY_keygen(c, &k) == 1);
    EVP_PKEY_CTX_free(c);
    return k;
  }
  // The server's view of a share: paramgen, then the share as encoded public key (nullptr when refused).
  EVP_PKEY* peer_key(const char* group, const Bytes& share) {
    EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_name(lib_, group, "?provider=gputls");
    EVP_PKEY* k = nullptr;
    EXPECT_TRUE(c && EVP_PKEY_paramgen_init(c) == 1 && EVP_PKEY_CTX_set_group_name(c, group) == 1 &&
                EVP_PKEY_paramgen(c, &k) == 1);
    EVP_PKEY_CTX_free(c);
    if (k && EVP_PKEY_set1_encoded_public_key(k, share.data(), share.size()) != 1) {
      EVP_PKEY_free(k);
      return nullptr;
    }
    return k;
  }
};

TEST_F(PqGroups, AdvertisedAsTls13KemGroups) {
  std::vector<std::pair<std::string, std::vector<unsigned>>> seen;
  auto cb = [](const OSSL_PARAM* p, void* arg) -> int {
    const char* name = nullptr;
    unsigned id = 0, kem = 0;
    int min_tls = 0, min_dtls = 0;
    OSSL_PARAM_get_utf8_string_ptr(OSSL_PARAM_locate_const(p, OSSL_CAPABILITY_TLS_GROUP_NAME), &name);
    OSSL_PARAM_get_uint(OSSL_PARAM_locate_const(p, OSSL_CAPABILITY_TLS_GROUP_ID), &id);
    OSSL_PARAM_get_uint(OSSL_PARAM_locate_const(p, OSSL_CAPABILITY_TLS_GROUP_IS_KEM), &kem);
    OSSL_PARAM_get_int(OSSL_PARAM_locate_const(p, OSSL_CAPABILITY_TLS_GROUP_MIN_TLS), &min_tls);
    OSSL_PARAM_get_int(OSSL_PARAM_locate_const(p, OSSL_CAPABILITY_TLS_GROUP_MIN_DTLS), &min_dtls);
    if (kem)
      static_cast<decltype(seen)*>(arg)->push_back(
          {name, {id, static_cast<unsigned>(min_tls), static_cast<unsigned>(min_dtls)}});
    return 1;
  };
  ASSERT_EQ(OSSL_PROVIDER_get_capabilities(gputls_, "TLS-GROUP", cb, &seen), 1);
  ASSERT_EQ(seen.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(seen[i].first, kPqGroups[i].name);
    EXPECT_EQ(seen[i].second, (std::vector<unsigned>{kPqGroups[i].id, TLS1_3_VERSION, static_cast<unsigned>(-1)}));
  }
}

TEST_F(PqGroups, HandshakesNegotiateEachGroupOnGputls) {
  ServerIdentity id(2048);
  for (const PqGroup& g : kPqGroups) {
    SCOPED_TRACE(g.name);
    const uint64_t keygen0 = done("mlkem768_keygen"), encaps0 = done("mlkem768_encaps"),
                   decaps0 = done("mlkem768_decaps"), x0 = done("x25519_derive"), e0 = done("ecdh_derive");
    SSL_CTX* sctx = make_server_ctx(lib_, id, false);
    ASSERT_EQ(SSL_CTX_set1_groups_list(sctx, g.name), 1);
    // The client also offers x25519: the server must still pick the PQ group it alone allows.
    SSL_CTX* cctx = client_ctx((std::string(g.name) + ":x25519").c_str());
    run_one_handshake(sctx, cctx, TLS1_3_VERSION, nullptr, false, false);
    EXPECT_EQ(done("mlkem768_keygen") - keygen0, 1u);  // the client's share
    EXPECT_EQ(done("mlkem768_encaps") - encaps0, 1u);  // the server
    EXPECT_EQ(done("mlkem768_decaps") - decaps0, 1u);  // the client
    EXPECT_GT(count("mlkem768_encaps", "engine"), 0u);
    // Each side's classic half, and nothing else.
    const bool x = g.classic_derive && std::string(g.classic_derive) == "x25519_derive";
    const bool e = g.classic_derive && std::string(g.classic_derive) == "ecdh_derive";
    EXPECT_EQ(done("x25519_derive") - x0, x ? 2u : 0u);
    EXPECT_EQ(done("ecdh_derive") - e0, e ? 2u : 0u);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
  }
}

// SSL_MODE_ASYNC: the server's ASYNC_JOB pauses on the engine (the
// encapsulation and the classic half) and resumes with the same result.
TEST_F(PqGroups, AsyncServerPausesAndCompletes) {
  ServerIdentity id(2048);
  for (const PqGroup& g : kPqGroups) {
    SCOPED_TRACE(g.name);
    const uint64_t encaps0 = count("mlkem768_encaps", "engine"), paused0 = count("mlkem768_encaps", "async_paused");
    SSL_CTX* sctx = make_server_ctx(lib_, id, true);
    ASSERT_EQ(SSL_CTX_set1_groups_list(sctx, g.name), 1);
    SSL_CTX* cctx = client_ctx(g.name);
    run_one_handshake(sctx, cctx, TLS1_3_VERSION, nullptr, true, true);
    EXPECT_EQ(count("mlkem768_encaps", "engine") - encaps0, 1u);
    EXPECT_EQ(count("mlkem768_encaps", "async_paused") - paused0, 1u);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
  }
}

// An SSL freed while its server job is paused at any of its pauses (ML-KEM
// encapsulation, the ephemeral classic key's generation and derivation, the
// certificate's signature) leaves no request, no registered key and no
// secret behind: the half-done work belongs to the peer key libssl frees.
TEST_F(PqGroups, FreeingAnSslWithAPausedJobLeavesNothing) {
#if defined(__SANITIZE_ADDRESS__)
  // LeakSanitizer reports the ASYNC_JOB and fibre stack of every job this test
  // abandons (allocated in OpenSSL's ASYNC_start_job: OpenSSL 3.0's SSL_free
  // does not free a paused job), memory nothing outside OpenSSL can free. The
  // checks of gputls's own state (requests, engine keys) run in the normal build.
  GTEST_SKIP() << "abandoned jobs leak OpenSSL 3.0's own ASYNC_JOB memory, which LeakSanitizer reports";
#endif
  ServerIdentity id(2048);
  SSL_CTX* sctx = make_server_ctx(lib_, id, true);
  auto settled = [this](const char* what) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (stats()[what].get<long>() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return stats()[what].get<long>();
  };
  for (const PqGroup& g : kPqGroups) {
    SCOPED_TRACE(g.name);
    ASSERT_EQ(SSL_CTX_set1_groups_list(sctx, g.name), 1);
    SSL_CTX* cctx = client_ctx(g.name);
    run_one_handshake(sctx, cctx, TLS1_3_VERSION, nullptr, true, true);  // the certificate's key registered
    const long keys_before = stats()["engine"]["keys_live"].get<long>();
    int freed_paused = 0;
    uint64_t max_pauses = 0;
    for (uint64_t target = 1; target <= 4; ++target) {
      for (int rep = 0; rep < 3; ++rep) {
        auto pair = std::make_unique<TlsPair>(sctx, cctx);
        const uint64_t paused0 = tally(stats()).paused;  // only the async server pauses
        uint64_t pauses = 0;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (!pair->done() && std::chrono::steady_clock::now() < deadline) {
          const bool waiting = SSL_waiting_for_async(pair->server);
          pauses = tally(stats()).paused - paused0;
          if (waiting && pauses >= target) break;
          ASSERT_TRUE(pair->step()) << pair->error;
          if (waiting) std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        max_pauses = std::max(max_pauses, pauses);
        freed_paused += SSL_waiting_for_async(pair->server);
        pair.reset();  // SSL_free with the job paused
      }
    }
    EXPECT_GE(freed_paused, 6);
    // Encapsulation, the classic key's generation and derivation, then the signature.
    EXPECT_GE(max_pauses, g.classic_derive ? 4u : 2u);
    EXPECT_EQ(settled("calls_alive"), 0) << "requests of freed SSLs leaked";
    EXPECT_EQ(stats()["engine"]["keys_live"].get<long>(), keys_before)
        << "ephemeral keys of abandoned jobs stayed registered (and in the heap)";
    SSL_CTX_free(cctx);
  }
  SSL_CTX_free(sctx);
}

TEST_F(PqGroups, BothSidesAgreeAndMalformedSharesAreRefused) {
  for (const PqGroup& g : kPqGroups) {
    SCOPED_TRACE(g.name);
    EVP_PKEY* client = client_key(g.name);
    ASSERT_NE(client, nullptr);
    unsigned char* raw = nullptr;
    const size_t n = EVP_PKEY_get1_encoded_public_key(client, &raw);
    const Bytes share(raw, raw + n);
    OPENSSL_free(raw);
    ASSERT_EQ(share.size(), g.client_share);

    EVP_PKEY* server_view = peer_key(g.name, share);
    ASSERT_NE(server_view, nullptr);
    EVP_PKEY_CTX* enc = EVP_PKEY_CTX_new_from_pkey(lib_, server_view, "?provider=gputls");
    size_t ct_len = 0, ss_len = 0;
    ASSERT_EQ(EVP_PKEY_encapsulate_init(enc, nullptr), 1);
    ASSERT_EQ(EVP_PKEY_encapsulate(enc, nullptr, &ct_len, nullptr, &ss_len), 1);
    ASSERT_EQ(ct_len, g.server_share);
    ASSERT_EQ(ss_len, g.secret);
    Bytes ct(ct_len), ss(ss_len), ss2(g.secret);
    ASSERT_EQ(EVP_PKEY_encapsulate(enc, ct.data(), &ct_len, ss.data(), &ss_len), 1);
    EVP_PKEY_CTX* dec = EVP_PKEY_CTX_new_from_pkey(lib_, client, "?provider=gputls");
    size_t ss2_len = ss2.size();
    ASSERT_EQ(EVP_PKEY_decapsulate_init(dec, nullptr), 1);
    ASSERT_EQ(EVP_PKEY_decapsulate(dec, ss2.data(), &ss2_len, ct.data(), ct.size()), 1);
    EXPECT_EQ(ss2, ss);
    // A changed ML-KEM ciphertext: implicit rejection, another secret (no error).
    const size_t ct_at = g.server_share == 1153 ? 65 : 0;  // SecP256r1MLKEM768: the P-256 point first
    Bytes bad = ct;
    bad[ct_at + 7] ^= 1;
    ASSERT_EQ(EVP_PKEY_decapsulate(dec, ss2.data(), &ss2_len, bad.data(), bad.size()), 1);
    EXPECT_NE(ss2, ss);
    if (ct_at) {  // the server's P-256 point off the curve: an error, not a secret
      bad = ct;
      bad[40] ^= 1;
      EXPECT_NE(EVP_PKEY_decapsulate(dec, ss2.data(), &ss2_len, bad.data(), bad.size()), 1);
    }
    // A server share of the wrong length is an error.
    EXPECT_NE(EVP_PKEY_decapsulate(dec, ss2.data(), &ss2_len, ct.data(), ct.size() - 1), 1);
    EVP_PKEY_CTX_free(enc);
    EVP_PKEY_CTX_free(dec);
    EVP_PKEY_free(server_view);

    // Client shares the server must refuse, each with a reason on the error queue.
    const size_t ek_at = g.client_share == 1249 ? 65 : 0;  // SecP256r1MLKEM768: the P-256 point first
    Bytes overflow = share;
    overflow[ek_at + 0] = 0xff;  // the first coefficient of ek: 0xfff >= q
    overflow[ek_at + 1] |= 0x0f;
    std::vector<Bytes> refused = {Bytes(share.begin(), share.end() - 1), Bytes(share.size() + 1, 0), overflow};
    if (ek_at) {
      Bytes off_curve = share;
      off_curve[40] ^= 1;  // a coordinate of the point changed: off the curve
      refused.push_back(off_curve);
      Bytes compressed = share;
      compressed[0] = 0x02;
      refused.push_back(compressed);
    }
    for (const Bytes& b : refused) {
      ERR_clear_error();
      EVP_PKEY* k = peer_key(g.name, b);
      EXPECT_EQ(k, nullptr) << "share of " << b.size() << " bytes accepted";
      EXPECT_NE(ERR_peek_error(), 0u);
      EVP_PKEY_free(k);
    }
    EVP_PKEY_free(client);
  }
}

}  // namespace
}  // namespace gputls::host::testing
