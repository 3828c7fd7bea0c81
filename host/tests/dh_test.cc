// Finite-field DH in gputls: keys and shared secrets against OpenSSL's
// default provider, peer values out of range refused, and libssl handshakes
// (TLS 1.3 ffdhe2048, TLS 1.2 DHE-RSA) with gputls's counters proving the
// key generation and the derivation ran in gputls.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "tls_fixture.h"

namespace gputls::host::testing {
namespace {

using Bytes = std::vector<uint8_t>;

class Dh : public ProviderFixture {};

EVP_PKEY* dh_keygen(OSSL_LIB_CTX* lib, const char* propq, const char* group) {
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_name(lib, "DH", propq);
  EVP_PKEY* k = nullptr;
  if (!c || EVP_PKEY_keygen_init(c) != 1 || EVP_PKEY_CTX_set_group_name(c, group) != 1 ||
      EVP_PKEY_keygen(c, &k) != 1)
    k = nullptr;
  EVP_PKEY_CTX_free(c);
  return k;
}

// validate_peer as EVP_PKEY_derive_set_peer_ex takes it.
Bytes dh_derive(OSSL_LIB_CTX* lib, const char* propq, EVP_PKEY* mine, EVP_PKEY* peer, int pad, int validate = 1) {
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(lib, mine, propq);
  Bytes out(1024);
  size_t len = 0;
  bool ok = c && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer_ex(c, peer, validate) == 1 &&
            EVP_PKEY_CTX_set_dh_pad(c, pad) == 1 && EVP_PKEY_derive(c, nullptr, &len) == 1 && len <= out.size() &&
            EVP_PKEY_derive(c, out.data(), &len) == 1;
  EVP_PKEY_CTX_free(c);
  if (!ok) return {};
  out.resize(len);
  return out;
}

BIGNUM* bn_param(EVP_PKEY* k, const char* name) {
  BIGNUM* b = nullptr;
  return EVP_PKEY_get_bn_param(k, name, &b) == 1 ? b : nullptr;
}

TEST_F(Dh, KeysAndSecretsAgreeWithDefault) {
  struct Case {
    const char* group;
    int bits, security_bits, priv_bits;
  };
  for (const Case& tc : {Case{"ffdhe2048", 2048, 112, 225}, Case{"ffdhe3072", 3072, 128, 275}}) {
    SCOPED_TRACE(tc.group);
    const uint64_t kg = count("dh_keygen"), dv = count("dh_derive");
    EVP_PKEY* ours = dh_keygen(lib_, "provider=gputls", tc.group);
    ASSERT_NE(ours, nullptr);
    EXPECT_EQ(count("dh_keygen"), kg + 1) << stats().dump();
    EXPECT_EQ(EVP_PKEY_get_bits(ours), tc.bits);
    EXPECT_EQ(EVP_PKEY_get_security_bits(ours), tc.security_bits);
    EXPECT_EQ(EVP_PKEY_get_size(ours), tc.bits / 8);
    BIGNUM* x = bn_param(ours, OSSL_PKEY_PARAM_PRIV_KEY);
    ASSERT_NE(x, nullptr);
    EXPECT_EQ(BN_num_bits(x), tc.priv_bits);
    BN_clear_free(x);
    unsigned char* enc = nullptr;
    size_t enc_len = EVP_PKEY_get1_encoded_public_key(ours, &enc);
    EXPECT_EQ(enc_len, static_cast<size_t>(tc.bits / 8)) << "padded to the prime's length";
    OPENSSL_free(enc);

    EVP_PKEY* theirs = dh_keygen(nullptr, nullptr, tc.group);
    ASSERT_NE(theirs, nullptr);
    // Same group as the default provider's: p and g agree.
    for (const char* name : {OSSL_PKEY_PARAM_FFC_P, OSSL_PKEY_PARAM_FFC_G}) {
      BIGNUM *a = bn_param(ours, name), *b = bn_param(theirs, name);
      ASSERT_TRUE(a && b);
      EXPECT_EQ(BN_cmp(a, b), 0) << name;
      BN_free(a);
      BN_free(b);
    }
    for (int pad : {1, 0}) {
      Bytes a = dh_derive(lib_, "provider=gputls", ours, theirs, pad);
      Bytes b = dh_derive(nullptr, nullptr, theirs, ours, pad);
      ASSERT_FALSE(a.empty()) << "pad " << pad;
      EXPECT_EQ(a, b) << "pad " << pad;
      if (pad) {
        EXPECT_EQ(a.size(), static_cast<size_t>(tc.bits / 8));
      }
    }
    EXPECT_EQ(count("dh_derive"), dv + 2) << stats().dump();
    EXPECT_EQ(count("dh_derive", "failed") + count("dh_keygen", "failed"), 0u);
    // Both keys as gputls sees them, derived the other way round as well.
    EVP_PKEY* theirs2 = dh_keygen(lib_, "provider=gputls", tc.group);
    ASSERT_NE(theirs2, nullptr);
    EXPECT_EQ(dh_derive(lib_, "provider=gputls", ours, theirs2, 1),
              dh_derive(lib_, "provider=gputls", theirs2, ours, 1));
    EVP_PKEY_free(theirs2);
    EVP_PKEY_free(theirs);
    EVP_PKEY_free(ours);
  }
}

// Without the pad parameter (TLS 1.2) leading zero bytes are stripped, as the
// default provider does; with it (TLS 1.3) the secret keeps the prime's length.
TEST_F(Dh, UnpaddedSecretDropsLeadingZeros) {
  EVP_PKEY* ours = dh_keygen(lib_, "provider=gputls", "ffdhe2048");
  ASSERT_NE(ours, nullptr);
  EVP_PKEY* theirs = nullptr;
  Bytes padded;
  for (int i = 0; i < 4096; ++i) {  // a leading zero byte comes once in 256 on average
    theirs = dh_keygen(nullptr, nullptr, "ffdhe2048");
    ASSERT_NE(theirs, nullptr);
    padded = dh_derive(nullptr, nullptr, theirs, ours, 1);
    ASSERT_EQ(padded.size(), 256u);
    if (padded[0] == 0) break;
    EVP_PKEY_free(theirs);
    theirs = nullptr;
  }
  ASSERT_NE(theirs, nullptr) << "no secret with a leading zero byte in 4096 tries";
  EXPECT_EQ(dh_derive(lib_, "provider=gputls", ours, theirs, 1), padded);
  Bytes stripped = dh_derive(lib_, "provider=gputls", ours, theirs, 0);
  EXPECT_LT(stripped.size(), 256u);
  EXPECT_EQ(stripped, dh_derive(nullptr, nullptr, theirs, ours, 0));
  EXPECT_TRUE(std::equal(stripped.begin(), stripped.end(), padded.end() - static_cast<long>(stripped.size())));
  EVP_PKEY_free(theirs);
  EVP_PKEY_free(ours);
}

// A public-only key in the default provider's context with the given y.
EVP_PKEY* peer_with_y(EVP_PKEY* like, const BIGNUM* y) {
  BIGNUM *p = bn_param(like, OSSL_PKEY_PARAM_FFC_P), *g = bn_param(like, OSSL_PKEY_PARAM_FFC_G);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM* params = nullptr;
  EVP_PKEY* k = nullptr;
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr);
  if (p && g && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_P, p) &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_G, g) && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, y) &&
      (params = OSSL_PARAM_BLD_to_param(bld)) && c && EVP_PKEY_fromdata_init(c) == 1 &&
      EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
    k = nullptr;
  EVP_PKEY_CTX_free(c);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(p);
  BN_free(g);
  return k;
}

TEST_F(Dh, PeerValuesOutOfRangeAreRefused) {
  EVP_PKEY* ours = dh_keygen(lib_, "provider=gputls", "ffdhe2048");
  ASSERT_NE(ours, nullptr);
  BIGNUM* p = bn_param(ours, OSSL_PKEY_PARAM_FFC_P);
  BIGNUM* bad[3] = {BN_new(), BN_dup(p), BN_dup(p)};
  BN_one(bad[0]);
  BN_sub_word(bad[1], 1);  // p - 1
  BN_zero(bad[2]);
  BN_add_word(bad[2], 2);  // 2: in range, the control
  for (int i = 0; i < 3; ++i) {
    EVP_PKEY* peer = peer_with_y(ours, bad[i]);
    ASSERT_NE(peer, nullptr) << i;
    const uint64_t failed = count("dh_derive", "failed"), done = count("dh_derive");
    // Without OpenSSL's peer validation: gputls's own check in derive.
    Bytes s = dh_derive(lib_, "provider=gputls", ours, peer, 1, /*validate=*/0);
    if (i < 2) {
      EXPECT_TRUE(s.empty()) << "y = " << (i ? "p-1" : "1");
      EXPECT_EQ(count("dh_derive", "failed"), failed + 1);
      EXPECT_EQ(count("dh_derive"), done) << "refused before the engine";
      // With it (EVP_PKEY_derive_set_peer's default): gputls's validate refuses the peer.
      EXPECT_TRUE(dh_derive(lib_, "provider=gputls", ours, peer, 1).empty());
    } else {
      EXPECT_EQ(s.size(), 256u);
      EXPECT_EQ(count("dh_derive"), done + 1);
    }
    EVP_PKEY_free(peer);
  }
  for (BIGNUM* b : bad) BN_free(b);
  BN_free(p);
  EVP_PKEY_free(ours);
}

// The default provider's parameters imported into gputls (what libssl does
// for TLS 1.2 DHE with an RFC 3526 prime), then a key generated from them.
TEST_F(Dh, ImportedParametersGenerateKeys) {
  BIGNUM* p = BN_get_rfc3526_prime_2048(nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  ASSERT_TRUE(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_P, p));
  ASSERT_TRUE(OSSL_PARAM_BLD_push_uint(bld, OSSL_PKEY_PARAM_FFC_G, 2));
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_name(lib_, "DH", "provider=gputls");
  EVP_PKEY* dom = nullptr;
  ASSERT_EQ(EVP_PKEY_fromdata_init(c), 1);
  ASSERT_EQ(EVP_PKEY_fromdata(c, &dom, EVP_PKEY_KEY_PARAMETERS, params), 1);
  EXPECT_EQ(EVP_PKEY_get_security_bits(dom), 112);
  EVP_PKEY_CTX* kc = EVP_PKEY_CTX_new_from_pkey(lib_, dom, "provider=gputls");
  EVP_PKEY* ours = nullptr;
  const uint64_t kg = count("dh_keygen");
  ASSERT_EQ(EVP_PKEY_keygen_init(kc), 1);
  ASSERT_EQ(EVP_PKEY_keygen(kc, &ours), 1);
  EXPECT_EQ(count("dh_keygen"), kg + 1);
  BIGNUM* x = bn_param(ours, OSSL_PKEY_PARAM_PRIV_KEY);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(BN_num_bits(x), 224) << "twice the security bits for a prime without a group name";
  BN_clear_free(x);
  // The TLS 1.2 peer key: copy-parameters (dup) plus the encoded public value.
  EVP_PKEY* theirs = nullptr;
  {
    EVP_PKEY_CTX* dc = EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr);
    EVP_PKEY* ddom = nullptr;
    ASSERT_EQ(EVP_PKEY_fromdata_init(dc), 1);
    ASSERT_EQ(EVP_PKEY_fromdata(dc, &ddom, EVP_PKEY_KEY_PARAMETERS, params), 1);
    EVP_PKEY_CTX* dkc = EVP_PKEY_CTX_new_from_pkey(nullptr, ddom, nullptr);
    ASSERT_EQ(EVP_PKEY_keygen_init(dkc), 1);
    ASSERT_EQ(EVP_PKEY_keygen(dkc, &theirs), 1);
    EVP_PKEY_CTX_free(dkc);
    EVP_PKEY_free(ddom);
    EVP_PKEY_CTX_free(dc);
  }
  BIGNUM* y = bn_param(theirs, OSSL_PKEY_PARAM_PUB_KEY);
  Bytes ybytes(static_cast<size_t>(BN_num_bytes(y)));
  BN_bn2bin(y, ybytes.data());
  EVP_PKEY* peer = EVP_PKEY_new();
  ASSERT_EQ(EVP_PKEY_copy_parameters(peer, ours), 1);
  ASSERT_EQ(EVP_PKEY_set1_encoded_public_key(peer, ybytes.data(), ybytes.size()), 1);
  Bytes a = dh_derive(lib_, "provider=gputls", ours, peer, 0);
  Bytes b = dh_derive(nullptr, nullptr, theirs, ours, 0);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EVP_PKEY_free(peer);
  BN_free(y);
  EVP_PKEY_free(theirs);
  EVP_PKEY_free(ours);
  EVP_PKEY_CTX_free(kc);
  EVP_PKEY_free(dom);
  EVP_PKEY_CTX_free(c);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(p);
}

TEST_F(Dh, AdvertisesTheFfdheGroups) {
  struct Seen {
    std::vector<std::string> names;
  } seen;
  auto cb = [](const OSSL_PARAM* p, void* arg) -> int {
    const char* name = nullptr;
    const OSSL_PARAM* n = OSSL_PARAM_locate_const(p, OSSL_CAPABILITY_TLS_GROUP_NAME);
    if (n && OSSL_PARAM_get_utf8_string_ptr(n, &name)) static_cast<Seen*>(arg)->names.push_back(name);
    return 1;
  };
  ASSERT_EQ(OSSL_PROVIDER_get_capabilities(gputls_, "TLS-GROUP", cb, &seen), 1);
  for (const char* g : {"ffdhe2048", "ffdhe3072"})
    EXPECT_NE(std::find(seen.names.begin(), seen.names.end(), g), seen.names.end()) << g;
}

// As in handshake_test.cc: requests go through the engine's queue
// (GPUTLS_INLINE=0), so sync waits and ASYNC_JOB pauses are exercised without
// a GPU too; InlineDhHandshake covers the default inline path.
class DhHandshake : public QueuedProviderFixture {
 protected:  struct Counts {
    uint64_t sign, keygen, derive, x25519;
  };
  Counts counts() const {
    return {count("rsa_sign"), count("dh_keygen"), count("dh_derive"),
            count("x25519_keygen") + count("x25519_derive")};
  }
  Counts handshake(int version, const char* cipher12, const char* groups, bool async, bool expect_pause = true) {
    static ServerIdentity id(2048);
    SSL_CTX* sctx = make_server_ctx(lib_, id, async);
    SSL_CTX* cctx = make_client_ctx(version, cipher12);
    if (version == TLS1_2_VERSION) SSL_CTX_set_dh_auto(sctx, 1);
    if (groups) {
      EXPECT_EQ(SSL_CTX_set1_groups_list(cctx, groups), 1);
    }
    Counts before = counts();
    run_one_handshake(sctx, cctx, version, cipher12, async, expect_pause);
    Counts after = counts();
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    return {after.sign - before.sign, after.keygen - before.keygen, after.derive - before.derive,
            after.x25519 - before.x25519};
  }
};

TEST_F(DhHandshake, Tls13Ffdhe) {
  for (const char* group : {"ffdhe2048", "ffdhe3072"}) {
    for (bool async : {false, true}) {
      SCOPED_TRACE(std::string(group) + (async ? " async" : " sync"));
      Counts d = handshake(TLS1_3_VERSION, nullptr, group, async);
      EXPECT_EQ(d.sign, 1u);
      EXPECT_EQ(d.keygen, 1u);
      EXPECT_EQ(d.derive, 1u);
      EXPECT_EQ(d.x25519, 0u);
    }
  }
  EXPECT_EQ(count("dh_keygen", "sw") + count("dh_derive", "sw") + count("dh_derive", "failed"), 0u) << stats().dump();
  EXPECT_GT(count("dh_keygen", "async_paused"), 0u) << "the async handshakes paused on DH key generation";
}

TEST_F(DhHandshake, Tls12DheRsa) {
  for (bool async : {false, true}) {
    SCOPED_TRACE(async ? "async" : "sync");
    Counts d = handshake(TLS1_2_VERSION, "DHE-RSA-AES128-GCM-SHA256", nullptr, async);
    EXPECT_EQ(d.sign, 1u);
    EXPECT_EQ(d.keygen, 1u);
    EXPECT_EQ(d.derive, 1u);
  }
  EXPECT_EQ(count("dh_keygen", "sw") + count("dh_derive", "sw") + count("dh_derive", "failed"), 0u) << stats().dump();
}

// Without a GPU to batch for, the default: DH runs at once on the calling
// thread, still counted as engine work, and an async server never pauses.
class InlineDhHandshake : public DhHandshake {
 protected:
  void SetUp() override { ProviderFixture::SetUp(); }
};

TEST_F(InlineDhHandshake, RunsOnTheCallersThreadWithoutPausing) {
  for (bool async : {false, true}) {
    SCOPED_TRACE(async ? "async" : "sync");
    const uint64_t paused = count("dh_keygen", "async_paused") + count("dh_derive", "async_paused");
    Counts d = handshake(TLS1_3_VERSION, nullptr, "ffdhe2048", async, /*expect_pause=*/false);
    EXPECT_EQ(d.sign, 1u);
    EXPECT_EQ(d.keygen, 1u);
    EXPECT_EQ(d.derive, 1u);
    d = handshake(TLS1_2_VERSION, "DHE-RSA-AES128-GCM-SHA256", nullptr, async, /*expect_pause=*/false);
    EXPECT_EQ(d.sign, 1u);
    EXPECT_EQ(d.keygen, 1u);
    EXPECT_EQ(d.derive, 1u);
    EXPECT_EQ(count("dh_keygen", "async_paused") + count("dh_derive", "async_paused"), paused);
  }
}

}  // namespace
}  // namespace gputls::host::testing
