// P-256 / P-384 in gputls: key generation and ECDH against OpenSSL's default
// provider, ECDSA signatures verified both ways, points off the curve
// refused, and libssl handshakes (TLS 1.3 ECDHE with RSA and ECDSA
// certificates, TLS 1.2 ECDHE-ECDSA) with gputls's counters proving the key
// generation, the derivation and the signature ran in gputls.
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tls_fixture.h"

namespace gputls::host::testing {
namespace {

using Bytes = std::vector<uint8_t>;

class Ec : public ProviderFixture {};

struct Curve {
  const char* name;     // as EVP_EC_gen takes it
  const char* group;    // as the default provider reports it
  int bits, security_bits, max_size;
  size_t point_len, secret_len;
};
const Curve kCurves[] = {{"P-256", "prime256v1", 256, 128, 72, 65, 32},
                         {"P-384", "secp384r1", 384, 192, 104, 97, 48}};

EVP_PKEY* ec_keygen(OSSL_LIB_CTX* lib, const char* propq, const char* group) {
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_name(lib, "EC", propq);
  EVP_PKEY* k = nullptr;
  if (!c || EVP_PKEY_keygen_init(c) != 1 || EVP_PKEY_CTX_set_group_name(c, group) != 1 ||
      EVP_PKEY_keygen(c, &k) != 1)
    k = nullptr;
  EVP_PKEY_CTX_free(c);
  return k;
}

Bytes ec_derive(OSSL_LIB_CTX* lib, const char* propq, EVP_PKEY* mine, EVP_PKEY* peer, int validate = 1) {
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(lib, mine, propq);
  Bytes out(128);
  size_t len = 0;
  bool ok = c && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer_ex(c, peer, validate) == 1 &&
            EVP_PKEY_derive(c, nullptr, &len) == 1 && len <= out.size() && EVP_PKEY_derive(c, out.data(), &len) == 1;
  EVP_PKEY_CTX_free(c);
  if (!ok) return {};
  out.resize(len);
  return out;
}



// A public-only key of the default provider holding the given encoded point.
EVP_PKEY* default_peer(const char* group, const Bytes& point) {
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(group), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<uint8_t*>(point.data()), point.size()),
      OSSL_PARAM_construct_end()};
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* k = nullptr;
  if (!c || EVP_PKEY_fromdata_init(c) != 1 || EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, params) != 1) k = nullptr;
  EVP_PKEY_CTX_free(c);
  return k;
}

Bytes encoded_point(EVP_PKEY* k) {
  unsigned char* enc = nullptr;
  size_t len = EVP_PKEY_get1_encoded_public_key(k, &enc);
  Bytes out(enc, enc + len);
  OPENSSL_free(enc);
  return out;
}

const char* provider_of(EVP_PKEY* k) { return OSSL_PROVIDER_get0_name(EVP_PKEY_get0_provider(k)); }

TEST_F(Ec, KeysAndSecretsAgreeWithDefault) {
  for (const Curve& tc : kCurves) {
    SCOPED_TRACE(tc.name);
    const uint64_t kg = count("ec_keygen"), dv = count("ecdh_derive");
    EVP_PKEY* ours = ec_keygen(lib_, "provider=gputls", tc.name);
    ASSERT_NE(ours, nullptr);
    EXPECT_STREQ(provider_of(ours), "gputls");
    EXPECT_EQ(count("ec_keygen"), kg + 1) << stats().dump();
    EXPECT_EQ(EVP_PKEY_get_bits(ours), tc.bits);
    EXPECT_EQ(EVP_PKEY_get_security_bits(ours), tc.security_bits);
    EXPECT_EQ(EVP_PKEY_get_size(ours), tc.max_size);
    char group[64] = {};
    ASSERT_EQ(EVP_PKEY_get_group_name(ours, group, sizeof group, nullptr), 1);
    EXPECT_STREQ(group, tc.group);
    Bytes point = encoded_point(ours);
    ASSERT_EQ(point.size(), tc.point_len);
    EXPECT_EQ(point[0], 0x04);

    EVP_PKEY* theirs = ec_keygen(nullptr, nullptr, tc.name);
    ASSERT_NE(theirs, nullptr);
    Bytes a = ec_derive(lib_, "provider=gputls", ours, theirs);
    Bytes b = ec_derive(nullptr, nullptr, theirs, ours);
    ASSERT_EQ(a.size(), tc.secret_len);
    EXPECT_EQ(a, b);
    EXPECT_EQ(count("ecdh_derive"), dv + 1) << stats().dump();
    // Our public point, as a key of the default provider: the same secret.
    EVP_PKEY* ours_pub = default_peer(tc.group, point);
    ASSERT_NE(ours_pub, nullptr);
    EXPECT_EQ(ec_derive(nullptr, nullptr, theirs, ours_pub), a);
    // Both keys in gputls.
    EVP_PKEY* theirs2 = ec_keygen(lib_, "provider=gputls", tc.name);
    ASSERT_NE(theirs2, nullptr);
    EXPECT_EQ(ec_derive(lib_, "provider=gputls", ours, theirs2), ec_derive(lib_, "provider=gputls", theirs2, ours));
    EXPECT_EQ(count("ecdh_derive", "failed") + count("ec_keygen", "failed"), 0u);
    EVP_PKEY_free(theirs2);
    EVP_PKEY_free(ours_pub);
    EVP_PKEY_free(theirs);
    EVP_PKEY_free(ours);
  }
}

// A key of the default provider (a certificate's key loaded from PEM) used
// by gputls: imported, and its ECDH runs in gputls.
TEST_F(Ec, ImportedDefaultKeysDeriveInGputls) {
  for (const Curve& tc : kCurves) {
    SCOPED_TRACE(tc.name);
    EVP_PKEY* mine = ec_keygen(nullptr, nullptr, tc.name);
    EVP_PKEY* peer = ec_keygen(nullptr, nullptr, tc.name);
    ASSERT_TRUE(mine && peer);
    const uint64_t dv = count("ecdh_derive");
    Bytes a = ec_derive(lib_, "?provider=gputls", mine, peer);
    EXPECT_EQ(count("ecdh_derive"), dv + 1) << "the default's key was not imported into gputls";
    EXPECT_EQ(a, ec_derive(nullptr, nullptr, peer, mine));
    EVP_PKEY_free(peer);
    EVP_PKEY_free(mine);
  }
}

TEST_F(Ec, CompressedPeerPointsAreDecompressed) {
  for (const Curve& tc : kCurves) {
    SCOPED_TRACE(tc.name);
    EVP_PKEY* ours = ec_keygen(lib_, "provider=gputls", tc.name);
    EVP_PKEY* theirs = ec_keygen(nullptr, nullptr, tc.name);
    ASSERT_TRUE(ours && theirs);
    Bytes full = encoded_point(theirs);
    Bytes compressed(full.begin(), full.begin() + 1 + static_cast<long>(tc.secret_len));
    compressed[0] = static_cast<uint8_t>(0x02 | (full.back() & 1));
    // A gputls peer key from the compressed point, as libssl makes one.
    EVP_PKEY* peer = ec_keygen(lib_, "provider=gputls", tc.name);  // replaced below by a shell
    EVP_PKEY_free(peer);
    EVP_PKEY_CTX* pc = EVP_PKEY_CTX_new_from_name(lib_, "EC", "provider=gputls");
    peer = nullptr;
    ASSERT_EQ(EVP_PKEY_paramgen_init(pc), 1);
    ASSERT_EQ(EVP_PKEY_CTX_set_group_name(pc, tc.name), 1);
    ASSERT_EQ(EVP_PKEY_paramgen(pc, &peer), 1);
    EVP_PKEY_CTX_free(pc);
    ASSERT_EQ(EVP_PKEY_set1_encoded_public_key(peer, compressed.data(), compressed.size()), 1);
    EXPECT_EQ(encoded_point(peer), full);
    EXPECT_EQ(ec_derive(lib_, "provider=gputls", ours, peer), ec_derive(nullptr, nullptr, theirs, ours));
    EVP_PKEY_free(peer);
    EVP_PKEY_free(theirs);
    EVP_PKEY_free(ours);
  }
}

TEST_F(Ec, PointsOffTheCurveAreRefused) {
  for (const Curve& tc : kCurves) {
    SCOPED_TRACE(tc.name);
    EVP_PKEY* ours = ec_keygen(lib_, "provider=gputls", tc.name);
    EVP_PKEY* theirs = ec_keygen(nullptr, nullptr, tc.name);
    ASSERT_TRUE(ours && theirs);
    Bytes bad = encoded_point(theirs);
    bad.back() ^= 1;  // y changed: off the curve
    // As libssl makes a TLS 1.3 peer key: a parameter shell plus encoded-pub-key.
    EVP_PKEY_CTX* pc = EVP_PKEY_CTX_new_from_name(lib_, "EC", "provider=gputls");
    EVP_PKEY* shell = nullptr;
    ASSERT_EQ(EVP_PKEY_paramgen_init(pc), 1);
    ASSERT_EQ(EVP_PKEY_CTX_set_group_name(pc, tc.name), 1);
    ASSERT_EQ(EVP_PKEY_paramgen(pc, &shell), 1);
    EVP_PKEY_CTX_free(pc);
    EXPECT_STREQ(provider_of(shell), "gputls");
    EXPECT_NE(EVP_PKEY_set1_encoded_public_key(shell, bad.data(), bad.size()), 1);
    // The point at infinity is taken where it is set, as the default provider
    // takes it (EC_KEY_oct2key), and refused by the public check a derive runs.
    Bytes infinity{0x00};
    ASSERT_EQ(EVP_PKEY_set1_encoded_public_key(shell, infinity.data(), infinity.size()), 1);
    EXPECT_TRUE(ec_derive(lib_, "provider=gputls", ours, shell).empty());
    EVP_PKEY_CTX* check = EVP_PKEY_CTX_new_from_pkey(lib_, shell, "provider=gputls");
    EXPECT_NE(EVP_PKEY_public_check(check), 1);
    EVP_PKEY_CTX_free(check);
    // Nor can one be imported (fromdata into gputls).
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(tc.group), 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, bad.data(), bad.size()), OSSL_PARAM_construct_end()};
    EVP_PKEY_CTX* fc = EVP_PKEY_CTX_new_from_name(lib_, "EC", "provider=gputls");
    EVP_PKEY* imported = nullptr;
    ASSERT_EQ(EVP_PKEY_fromdata_init(fc), 1);
    EXPECT_NE(EVP_PKEY_fromdata(fc, &imported, EVP_PKEY_PUBLIC_KEY, params), 1);
    EVP_PKEY_free(imported);
    EVP_PKEY_CTX_free(fc);
    // The same point with the right y works (the control).
    Bytes good = encoded_point(theirs);
    ASSERT_EQ(EVP_PKEY_set1_encoded_public_key(shell, good.data(), good.size()), 1);
    EXPECT_EQ(ec_derive(lib_, "provider=gputls", ours, shell).size(), tc.secret_len);
    EVP_PKEY_free(shell);
    EVP_PKEY_free(theirs);
    EVP_PKEY_free(ours);
  }
}

// Curves the engine does not serve (P-521 here) are still gputls's: its EC
// keymgmt makes the key and counts the work as software (Groups.* covers
// every named curve), as OpenSSL's default provider would serve it.
TEST_F(Ec, OtherCurvesAreServedInSoftware) {
  const uint64_t sw = count("ec_keygen", "sw");
  EVP_PKEY* k = ec_keygen(lib_, "provider=gputls", "secp521r1");
  ASSERT_NE(k, nullptr);
  EXPECT_STREQ(provider_of(k), "gputls");
  EXPECT_EQ(count("ec_keygen", "sw"), sw + 1);
  EVP_PKEY* peer = ec_keygen(nullptr, nullptr, "secp521r1");
  ASSERT_NE(peer, nullptr);
  Bytes ours = ec_derive(lib_, "provider=gputls", k, peer);
  EXPECT_EQ(ours.size(), 66u);
  EXPECT_EQ(ours, ec_derive(nullptr, nullptr, peer, k));
  EVP_PKEY_free(peer);
  EVP_PKEY_free(k);
}

TEST_F(Ec, EcdsaSignaturesInteroperateWithDefault) {
  const Bytes msg(1000, 0x5a);
  for (const Curve& tc : kCurves) {
    for (const char* md : {"SHA256", "SHA384", "SHA1", "SHA512"}) {
      SCOPED_TRACE(std::string(tc.name) + " " + md);
      EVP_PKEY* key = ec_keygen(nullptr, nullptr, tc.name);  // a certificate's key: the default's
      ASSERT_NE(key, nullptr);
      const uint64_t signs = count("ecdsa_sign"), verifies = count("ecdsa_verify", "sw");
      Bytes ours = digest_sign_bytes(lib_, "provider=gputls", key, md, msg);
      ASSERT_FALSE(ours.empty());
      EXPECT_LE(ours.size(), static_cast<size_t>(tc.max_size));
      EXPECT_EQ(count("ecdsa_sign"), signs + 1) << stats().dump();
      EXPECT_TRUE(digest_verify_bytes(nullptr, nullptr, key, md, msg, ours)) << "the default provider rejects gputls's signature";
      Bytes theirs = digest_sign_bytes(nullptr, nullptr, key, md, msg);
      ASSERT_FALSE(theirs.empty());
      EXPECT_TRUE(digest_verify_bytes(lib_, "provider=gputls", key, md, msg, theirs));
      EXPECT_TRUE(digest_verify_bytes(lib_, "provider=gputls", key, md, msg, ours));
      Bytes wrong = msg;
      wrong[0] ^= 1;
      EXPECT_FALSE(digest_verify_bytes(lib_, "provider=gputls", key, md, wrong, theirs));
      EXPECT_EQ(count("ecdsa_verify", "sw"), verifies + 3);
      EVP_PKEY_free(key);
    }
  }
  EXPECT_EQ(count("ecdsa_sign", "failed"), 0u);
}

// The provider's own software path (a malformed GPUTLS_* setting leaves
// gputls without an engine): the same results, counted as sw.
class SoftwareEc : public ProviderFixture {
 protected:
  void SetUp() override {
    env_.set("GPUTLS_INLINE", "not-a-bool");
    ProviderFixture::SetUp();
  }
};

TEST_F(SoftwareEc, FallbackAgreesWithDefault) {
  const Bytes msg(100, 0x33);
  for (const Curve& tc : kCurves) {
    SCOPED_TRACE(tc.name);
    EVP_PKEY* ours = ec_keygen(lib_, "provider=gputls", tc.name);
    ASSERT_NE(ours, nullptr);
    EVP_PKEY* theirs = ec_keygen(nullptr, nullptr, tc.name);
    Bytes a = ec_derive(lib_, "provider=gputls", ours, theirs);
    ASSERT_EQ(a.size(), tc.secret_len);
    EXPECT_EQ(a, ec_derive(nullptr, nullptr, theirs, ours));
    Bytes sig = digest_sign_bytes(lib_, "provider=gputls", theirs, "SHA384", msg);
    ASSERT_FALSE(sig.empty());
    EXPECT_TRUE(digest_verify_bytes(nullptr, nullptr, theirs, "SHA384", msg, sig));
    EVP_PKEY_free(theirs);
    EVP_PKEY_free(ours);
  }
  EXPECT_EQ(count("ec_keygen", "sw"), 2u) << stats().dump();
  EXPECT_EQ(count("ecdh_derive", "sw"), 2u);
  EXPECT_EQ(count("ecdsa_sign", "sw"), 2u);
  EXPECT_EQ(count("ec_keygen") + count("ecdh_derive") + count("ecdsa_sign"), 0u);
}

TEST_F(Ec, AdvertisesTheNistGroups) {
  struct Group {
    std::string name, internal, alg;
    unsigned id = 0, bits = 0;
  };
  std::vector<Group> seen;
  auto cb = [](const OSSL_PARAM* p, void* arg) -> int {
    Group g;
    const char* s = nullptr;
    const OSSL_PARAM* q;
    if ((q = OSSL_PARAM_locate_const(p, OSSL_CAPABILITY_TLS_GROUP_NAME)) && OSSL_PARAM_get_utf8_string_ptr(q, &s)) g.name = s;
    if ((q = OSSL_PARAM_locate_const(p, OSSL_CAPABILITY_TLS_GROUP_NAME_INTERNAL)) && OSSL_PARAM_get_utf8_string_ptr(q, &s))
      g.internal = s;
    if ((q = OSSL_PARAM_locate_const(p, OSSL_CAPABILITY_TLS_GROUP_ALG)) && OSSL_PARAM_get_utf8_string_ptr(q, &s)) g.alg = s;
    if ((q = OSSL_PARAM_locate_const(p, OSSL_CAPABILITY_TLS_GROUP_ID))) OSSL_PARAM_get_uint(q, &g.id);
    if ((q = OSSL_PARAM_locate_const(p, OSSL_CAPABILITY_TLS_GROUP_SECURITY_BITS))) OSSL_PARAM_get_uint(q, &g.bits);
    static_cast<std::vector<Group>*>(arg)->push_back(g);
    return 1;
  };
  ASSERT_EQ(OSSL_PROVIDER_get_capabilities(gputls_, "TLS-GROUP", cb, &seen), 1);
  auto find = [&](const char* name) {
    return std::find_if(seen.begin(), seen.end(), [&](const Group& g) { return g.name == name; });
  };
  auto p256 = find("secp256r1"), p384 = find("secp384r1");
  ASSERT_NE(p256, seen.end());
  ASSERT_NE(p384, seen.end());
  EXPECT_EQ(p256->internal, "prime256v1");
  EXPECT_EQ(p256->alg, "EC");
  EXPECT_EQ(p256->id, 23u);
  EXPECT_EQ(p256->bits, 128u);
  EXPECT_EQ(p384->internal, "secp384r1");
  EXPECT_EQ(p384->id, 24u);
  EXPECT_EQ(p384->bits, 192u);
}

// As in handshake_test.cc: requests go through the engine's queue
// (GPUTLS_INLINE=0); InlineEcHandshake covers the default inline path.
class EcHandshake : public QueuedProviderFixture {
 protected:
  // The EC key share's generation is one of the pauses checked here: no
  // key-share pool, which skips it (its own tests: key_share_pool_test.cc).
  const char* key_share_pool() const override { return "0"; }
  struct Counts {
    uint64_t keygen, derive, ecdsa, rsa, x25519;
  };
  Counts counts() const {
    return {count("ec_keygen"), count("ecdh_derive"), count("ecdsa_sign"), count("rsa_sign"),
            count("x25519_keygen") + count("x25519_derive")};
  }
  static const ServerIdentity& rsa_id() {
    static ServerIdentity id(2048);
    return id;
  }
  static const ServerIdentity& ec_id() {
    static ServerIdentity id("P-256");
    return id;
  }
  Counts handshake(const ServerIdentity& id, int version, const char* cipher12, const char* groups, bool async,
                   bool expect_pause = true) {
    SSL_CTX* sctx = make_server_ctx(lib_, id, async);
    SSL_CTX* cctx = make_client_ctx(version, cipher12);
    if (groups) {
      EXPECT_EQ(SSL_CTX_set1_groups_list(cctx, groups), 1);
    }
    Counts before = counts();
    run_one_handshake(sctx, cctx, version, cipher12, async, expect_pause);
    Counts after = counts();
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    return {after.keygen - before.keygen, after.derive - before.derive, after.ecdsa - before.ecdsa,
            after.rsa - before.rsa, after.x25519 - before.x25519};
  }
  void expect_no_software() {
    EXPECT_EQ(count("ec_keygen", "sw") + count("ecdh_derive", "sw") + count("ecdsa_sign", "sw") +
                  count("ec_keygen", "failed") + count("ecdh_derive", "failed") + count("ecdsa_sign", "failed"),
              0u)
        << stats().dump();
  }
};

TEST_F(EcHandshake, Tls13NistGroupsRsaCert) {
  for (const char* group : {"P-256", "P-384"}) {
    for (bool async : {false, true}) {
      SCOPED_TRACE(std::string(group) + (async ? " async" : " sync"));
      Counts d = handshake(rsa_id(), TLS1_3_VERSION, nullptr, group, async);
      EXPECT_EQ(d.keygen, 1u);
      EXPECT_EQ(d.derive, 1u);
      EXPECT_EQ(d.rsa, 1u);
      EXPECT_EQ(d.ecdsa, 0u);
      EXPECT_EQ(d.x25519, 0u);
    }
  }
  expect_no_software();
  EXPECT_GT(count("ec_keygen", "async_paused"), 0u) << "the async handshakes paused on EC key generation";
}

TEST_F(EcHandshake, Tls13EcdsaCert) {
  for (bool async : {false, true}) {
    SCOPED_TRACE(async ? "async" : "sync");
    Counts d = handshake(ec_id(), TLS1_3_VERSION, nullptr, "P-256", async);
    EXPECT_EQ(d.keygen, 1u);
    EXPECT_EQ(d.derive, 1u);
    EXPECT_EQ(d.ecdsa, 1u);
    EXPECT_EQ(d.rsa, 0u);
  }
  expect_no_software();
  EXPECT_GT(count("ecdsa_sign", "async_paused"), 0u) << "the async handshake paused on ECDSA";
}

TEST_F(EcHandshake, Tls12EcdheEcdsa) {
  for (const char* group : {"P-256", "P-384"}) {
    for (bool async : {false, true}) {
      SCOPED_TRACE(std::string(group) + (async ? " async" : " sync"));
      // The certificate's curve (P-256) must be among the client's groups in TLS 1.2.
      Counts d = handshake(ec_id(), TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384",
                           std::string(group) == "P-256" ? "P-256" : "P-384:P-256", async);
      EXPECT_EQ(d.keygen, 1u);
      EXPECT_EQ(d.derive, 1u);
      EXPECT_EQ(d.ecdsa, 1u);
      EXPECT_EQ(d.x25519, 0u);
    }
  }
  expect_no_software();
}

// A P-521 key share is taken as the default provider would take it (no
// HelloRetryRequest for P-256): gputls advertises every group the default
// does, so the group survives `?provider=gputls`, and gputls serves P-521 in
// software (its `sw` counters), the engine doing none of the key agreement.
TEST_F(EcHandshake, Tls13P521ShareServedInSoftware) {
  const uint64_t keygen_sw = count("ec_keygen", "sw"), derive_sw = count("ecdh_derive", "sw");
  Counts d = handshake(rsa_id(), TLS1_3_VERSION, nullptr, "P-521:P-256", false, /*expect_pause=*/false);
  EXPECT_EQ(d.keygen, 0u) << "no P-256 retry on the engine";
  EXPECT_EQ(d.derive, 0u);
  EXPECT_EQ(count("ec_keygen", "sw"), keygen_sw + 1) << stats().dump();
  EXPECT_EQ(count("ecdh_derive", "sw"), derive_sw + 1);
}

// Without a GPU to batch for, the default: EC runs at once on the calling
// thread, still counted as engine work, and an async server never pauses.
class InlineEcHandshake : public EcHandshake {
 protected:
  void SetUp() override { ProviderFixture::SetUp(); }
};

TEST_F(InlineEcHandshake, RunsOnTheCallersThreadWithoutPausing) {
  for (bool async : {false, true}) {
    SCOPED_TRACE(async ? "async" : "sync");
    const uint64_t paused =
        count("ec_keygen", "async_paused") + count("ecdh_derive", "async_paused") + count("ecdsa_sign", "async_paused");
    Counts d = handshake(ec_id(), TLS1_3_VERSION, nullptr, "P-256", async, /*expect_pause=*/false);
    EXPECT_EQ(d.keygen, 1u);
    EXPECT_EQ(d.derive, 1u);
    EXPECT_EQ(d.ecdsa, 1u);
    d = handshake(ec_id(), TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384", "P-384:P-256", async,
                  /*expect_pause=*/false);
    EXPECT_EQ(d.keygen, 1u);
    EXPECT_EQ(d.derive, 1u);
    EXPECT_EQ(d.ecdsa, 1u);
    EXPECT_EQ(count("ec_keygen", "async_paused") + count("ecdh_derive", "async_paused") +
                  count("ecdsa_sign", "async_paused"),
              paused);
  }
  expect_no_software();
}

// GPUTLS_INLINE=2, the benchmark's "public-key work off the host": records
// below GPUTLS_AES_GPU_MIN_BYTES stay on the calling thread (as with a GPU),
// public-key operations queue to the engine's threads, so an async server
// pauses on each of them and on no record.
class RecordsInlineEcHandshake : public EcHandshake {
 protected:
  const char* inline_mode() const override { return "2"; }
  uint64_t paused(std::initializer_list<const char*> ops) const {
    uint64_t n = 0;
    for (const char* op : ops) n += count(op, "async_paused");
    return n;
  }
};

TEST_F(RecordsInlineEcHandshake, PublicKeyWorkQueuesRecordsDoNot) {
  const uint64_t seals = count("aes_gcm_seal"), opens = count("aes_gcm_open");
  Counts d = handshake(ec_id(), TLS1_3_VERSION, nullptr, "P-256", /*async=*/true, /*expect_pause=*/true);
  EXPECT_EQ(d.keygen, 1u);
  EXPECT_EQ(d.derive, 1u);
  EXPECT_EQ(d.ecdsa, 1u);
  EXPECT_GT(paused({"ec_keygen"}), 0u) << stats().dump();
  EXPECT_GT(paused({"ecdh_derive"}), 0u);
  EXPECT_GT(paused({"ecdsa_sign"}), 0u);
  EXPECT_GT(count("aes_gcm_seal") - seals, 0u) << "the server's handshake records went through the engine";
  EXPECT_GT(count("aes_gcm_open") - opens, 0u);
  EXPECT_EQ(paused({"aes_gcm_seal", "aes_gcm_open"}), 0u) << "records ran on the caller's thread";
  expect_no_software();
}

}  // namespace
}  // namespace gputls::host::testing
