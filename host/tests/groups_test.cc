// Every group, curve and key-agreement option OpenSSL 3.0's default provider
// serves keeps working when gputls is preferred (`?provider=gputls`), with
// the default provider as the reference and gputls's counters as proof that
// gputls did the work (OpenSSL silently falls back to the default provider
// when an import into gputls fails, so a working handshake proves nothing
// by itself):
//   - gputls's TLS-GROUP capabilities equal the default provider's (plus its
//     own post-quantum KEM groups, tested in pq_groups_test.cc);
//   - an in-memory TLS 1.3 (and TLS 1.2 where the group allows it) handshake
//     for each of those groups against a gputls-preferred server;
//   - ECDH and ECDSA at the EVP level over every built-in named curve;
//   - ECDH cofactor mode, the X9.63 KDF (ECDH) and X9.42 KDF (DH), output
//     identical to the default provider's; refusals leave an error;
//   - TLS 1.2 DHE with primes that are not a named group;
//   - the DH secret's constant-time leading-zero strip.
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/dh.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "../src/ct_strip.h"
#include "tls_fixture.h"

namespace gputls::host::testing {
namespace {

using Bytes = std::vector<uint8_t>;

struct GroupCap {
  std::string name, internal, alg;
  unsigned id = 0, bits = 0, kem = 0;
  int min_tls = 0, max_tls = 0, min_dtls = 0, max_dtls = 0;
  auto tie() const { return std::tie(name, internal, alg, id, bits, kem, min_tls, max_tls, min_dtls, max_dtls); }
  bool operator==(const GroupCap& o) const { return tie() == o.tie(); }
  std::string str() const {
    return name + "/" + internal + "/" + alg + " id " + std::to_string(id) + " bits " + std::to_string(bits) + " tls " +
           std::to_string(min_tls) + ".." + std::to_string(max_tls) + " dtls " + std::to_string(min_dtls) + ".." +
           std::to_string(max_dtls) + " kem " + std::to_string(kem);
  }
};

std::vector<GroupCap> tls_groups(OSSL_PROVIDER* prov) {
  std::vector<GroupCap> out;
  auto cb = [](const OSSL_PARAM* p, void* arg) -> int {
    GroupCap g;
    const char* s = nullptr;
    const OSSL_PARAM* q;
    if ((q = OSSL_PARAM_locate_const(p, OSSL_CAPABILITY_TLS_GROUP_NAME)) && OSSL_PARAM_get_utf8_string_ptr(q, &s)) g.name = s;
    if ((q = OSSL_PARAM_locate_const(p, OSSL_CAPABILITY_TLS_GROUP_NAME_INTERNAL)) && OSSL_PARAM_get_utf8_string_ptr(q, &s))
      g.internal = s;
    if ((q = OSSL_PARAM_locate_const(p, OSSL_CAPABILITY_TLS_GROUP_ALG)) && OSSL_PARAM_get_utf8_string_ptr(q, &s)) g.alg = s;
    if ((q = OSSL_PARAM_locate_const(p, OSSL_CAPABILITY_TLS_GROUP_ID))) OSSL_PARAM_get_uint(q, &g.id);
    if ((q = OSSL_PARAM_locate_const(p, OSSL_CAPABILITY_TLS_GROUP_SECURITY_BITS))) OSSL_PARAM_get_uint(q, &g.bits);
    if ((q = OSSL_PARAM_locate_const(p, OSSL_CAPABILITY_TLS_GROUP_IS_KEM))) OSSL_PARAM_get_uint(q, &g.kem);
    if ((q = OSSL_PARAM_locate_const(p, OSSL_CAPABILITY_TLS_GROUP_MIN_TLS))) OSSL_PARAM_get_int(q, &g.min_tls);
    if ((q = OSSL_PARAM_locate_const(p, OSSL_CAPABILITY_TLS_GROUP_MAX_TLS))) OSSL_PARAM_get_int(q, &g.max_tls);
    if ((q = OSSL_PARAM_locate_const(p, OSSL_CAPABILITY_TLS_GROUP_MIN_DTLS))) OSSL_PARAM_get_int(q, &g.min_dtls);
    if ((q = OSSL_PARAM_locate_const(p, OSSL_CAPABILITY_TLS_GROUP_MAX_DTLS))) OSSL_PARAM_get_int(q, &g.max_dtls);
    static_cast<std::vector<GroupCap>*>(arg)->push_back(g);
    return 1;
  };
  EXPECT_EQ(OSSL_PROVIDER_get_capabilities(prov, "TLS-GROUP", cb, &out), 1);
  return out;
}

// gputls's counters of a key type: key generation and derivation.
struct Ops {
  const char* keygen;
  const char* derive;
};
Ops ops_of(const std::string& alg) {
  if (alg == "EC") return {"ec_keygen", "ecdh_derive"};
  if (alg == "X25519") return {"x25519_keygen", "x25519_derive"};
  if (alg == "X448") return {"x448_keygen", "x448_derive"};
  if (alg == "DH") return {"dh_keygen", "dh_derive"};
  return {nullptr, nullptr};
}

class Groups : public ProviderFixture {
 protected:
  static const ServerIdentity& rsa_id() {
    static ServerIdentity id(2048);
    return id;
  }
  // Work done by gputls for an op: on the engine or in its software path.
  uint64_t done(const char* op) const { return count(op, "engine") + count(op, "sw"); }

  // One in-memory handshake; "" when it completed, else the error.
  static std::string handshake(SSL_CTX* sctx, SSL_CTX* cctx) {
    TlsPair pair(sctx, cctx);
    std::vector<TlsPair*> pairs{&pair};
    std::string err;
    ERR_clear_error();
    if (!run_handshakes(pairs, 20000, &err)) return err.empty() ? "failed" : err;
    return "";
  }
  static SSL_CTX* reference_server() {
    SSL_CTX* ref = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(ref, rsa_id().cert);
    SSL_CTX_use_PrivateKey(ref, rsa_id().key);
    SSL_CTX_set_session_cache_mode(ref, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ref, SSL_OP_NO_TICKET);
    return ref;
  }
};

TEST_F(Groups, CapabilitiesMatchDefault) {
  std::vector<GroupCap> ours = tls_groups(gputls_);
  const std::vector<GroupCap> reference = tls_groups(default_);
  // gputls's post-quantum KEM groups are its own (pq_groups_test.cc); the rest is the default's table.
  std::erase_if(ours, [](const GroupCap& g) { return g.kem == 1 && (g.id == 0x11EC || g.id == 0x11EB || g.id == 0x0201); });
  ASSERT_FALSE(reference.empty());
  for (const GroupCap& g : reference) {
    auto it = std::find(ours.begin(), ours.end(), g);
    EXPECT_NE(it, ours.end()) << "gputls does not advertise " << g.str();
  }
  for (const GroupCap& g : ours) {
    auto it = std::find(reference.begin(), reference.end(), g);
    EXPECT_NE(it, reference.end()) << "gputls advertises what the default does not: " << g.str();
  }
  EXPECT_EQ(ours.size(), reference.size());
}

// For every group the default provider advertises (each id once, by its
// first name) and each TLS version the group allows: the default server
// completes (the reference), the gputls-preferred server accepts the group
// in its list and completes, and gputls made the key share and derived the
// secret (engine or software counter).
TEST_F(Groups, EveryDefaultGroupHandshakesOnGputls) {
  std::set<unsigned> seen;
  int handshakes = 0;
  for (const GroupCap& g : tls_groups(default_)) {
    if (!seen.insert(g.id).second) continue;
    const Ops ops = ops_of(g.alg);
    ASSERT_NE(ops.keygen, nullptr) << g.str();
    for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
      if (g.min_tls > version || (g.max_tls != 0 && g.max_tls < version)) continue;
      SCOPED_TRACE(g.name + (version == TLS1_3_VERSION ? " TLS 1.3" : " TLS 1.2"));
      const char* cipher12 = version == TLS1_2_VERSION ? "ECDHE-RSA-AES128-GCM-SHA256" : nullptr;
      // Security level 0 on every side: Debian's openssl.cnf sets level 2,
      // which would rule out the 80-bit groups for the reference too.
      SSL_CTX* cctx = make_client_ctx(version, cipher12);
      SSL_CTX_set_security_level(cctx, 0);
      ASSERT_EQ(SSL_CTX_set1_groups_list(cctx, g.name.c_str()), 1);
      SSL_CTX* ref = reference_server();
      SSL_CTX_set_security_level(ref, 0);
      ASSERT_EQ(SSL_CTX_set1_groups_list(ref, g.name.c_str()), 1);
      EXPECT_EQ(handshake(ref, cctx), "") << "the default provider's server";
      SSL_CTX* sctx = make_server_ctx(lib_, rsa_id(), false);
      SSL_CTX_set_security_level(sctx, 0);
      EXPECT_EQ(SSL_CTX_set1_groups_list(sctx, g.name.c_str()), 1) << "the gputls-preferred server lost the group";
      const uint64_t keygen = done(ops.keygen), derive = done(ops.derive);
      EXPECT_EQ(handshake(sctx, cctx), "");
      EXPECT_EQ(done(ops.keygen), keygen + 1) << "gputls made the server's key share: " << stats().dump();
      EXPECT_EQ(done(ops.derive), derive + 1) << "gputls derived the secret";
      ++handshakes;
      SSL_CTX_free(sctx);
      SSL_CTX_free(ref);
      SSL_CTX_free(cctx);
    }
  }
  EXPECT_GE(handshakes, 40);
}

const char* provider_of(EVP_PKEY* k) { return OSSL_PROVIDER_get0_name(EVP_PKEY_get0_provider(k)); }

// What libssl 3.0 does with a peer's key share (ssl_generate_param_group,
// EVP_PKEY_set1_encoded_public_key, then a derive with our key): 0 when the
// share is refused as it is set (libssl: illegal_parameter), 1 when the derive
// fails (handshake_failure / internal_error), 2 when it all works.
int peer_share_outcome(OSSL_LIB_CTX* lib, const char* propq, const GroupCap& g, EVP_PKEY* mine, const Bytes& share) {
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_name(lib, g.alg.c_str(), propq);
  EVP_PKEY* shell = nullptr;
  const bool made = c && EVP_PKEY_paramgen_init(c) == 1 && EVP_PKEY_CTX_set_group_name(c, g.internal.c_str()) == 1 &&
                    EVP_PKEY_paramgen(c, &shell) == 1;
  EVP_PKEY_CTX_free(c);
  if (!made) {
    ERR_clear_error();
    return -1;
  }
  int outcome = 0;
  if (EVP_PKEY_set1_encoded_public_key(shell, share.data(), share.size()) == 1) {
    EVP_PKEY_CTX* d = EVP_PKEY_CTX_new_from_pkey(lib, mine, propq);
    size_t len = 0;
    Bytes out(1024);
    outcome = d && EVP_PKEY_derive_init(d) == 1 && EVP_PKEY_derive_set_peer(d, shell) == 1 &&
                      EVP_PKEY_derive(d, nullptr, &len) == 1 && len <= out.size() &&
                      EVP_PKEY_derive(d, out.data(), &len) == 1
                  ? 2
                  : 1;
    EVP_PKEY_CTX_free(d);
  }
  EVP_PKEY_free(shell);
  ERR_clear_error();
  return outcome;
}

EVP_PKEY* group_keygen(OSSL_LIB_CTX* lib, const char* propq, const GroupCap& g) {
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_name(lib, g.alg.c_str(), propq);
  EVP_PKEY* k = nullptr;
  if (!c || EVP_PKEY_keygen_init(c) != 1 || EVP_PKEY_CTX_set_group_name(c, g.internal.c_str()) != 1 ||
      EVP_PKEY_keygen(c, &k) != 1)
    k = nullptr;
  EVP_PKEY_CTX_free(c);
  return k;
}

// Malformed key shares of every default group (truncated, one byte longer,
// the point at infinity, off the curve / a flipped bit, all zeros, y = 1 for
// DH) meet the same fate with a gputls-preferred context as with the default
// provider alone: refused where the share is set (so libssl answers
// illegal_parameter in both), or refused at the derive, or accepted.
TEST_F(Groups, MalformedSharesMeetTheDefaultsFate) {
  std::set<unsigned> seen;
  int compared = 0;
  for (const GroupCap& g : tls_groups(default_)) {
    if (!seen.insert(g.id).second) continue;
    SCOPED_TRACE(g.name);
    EVP_PKEY* theirs = group_keygen(nullptr, nullptr, g);  // the peer whose share is mangled
    EVP_PKEY* ref_mine = group_keygen(nullptr, nullptr, g);
    EVP_PKEY* our_mine = group_keygen(lib_, "?provider=gputls", g);
    ASSERT_NE(theirs, nullptr);
    ASSERT_NE(ref_mine, nullptr);
    ASSERT_NE(our_mine, nullptr);
    EXPECT_STREQ(provider_of(our_mine), "gputls");
    unsigned char* enc = nullptr;
    const size_t enc_len = EVP_PKEY_get1_encoded_public_key(theirs, &enc);
    ASSERT_GT(enc_len, 0u);
    const Bytes good(enc, enc + enc_len);
    OPENSSL_free(enc);
    std::vector<std::pair<const char*, Bytes>> shares = {{"valid", good}};
    shares.push_back({"truncated", Bytes(good.begin(), good.end() - 1)});
    Bytes longer = good;
    longer.push_back(0);
    shares.push_back({"one byte longer", longer});
    // The same value, one byte longer: what "one byte longer" becomes for the
    // one DH share in 256 whose first byte is zero (it made this test fail now
    // and then until gputls took such shares as the default provider does).
    Bytes zero_first{0x00};
    zero_first.insert(zero_first.end(), good.begin(), good.end());
    shares.push_back({"a leading zero byte", zero_first});
    shares.push_back({"infinity", Bytes{0x00}});
    Bytes flipped = good;
    flipped.back() ^= 0x01;
    shares.push_back({"last bit flipped", flipped});
    shares.push_back({"all zeros", Bytes(good.size(), 0)});
    Bytes one(good.size(), 0);
    one.back() = 1;
    shares.push_back({"value 1", one});
    for (const auto& [what, share] : shares) {
      SCOPED_TRACE(what);
      const int reference = peer_share_outcome(nullptr, nullptr, g, ref_mine, share);
      const int ours = peer_share_outcome(lib_, "?provider=gputls", g, our_mine, share);
      EXPECT_EQ(ours, reference) << "0: refused when set, 1: refused at derive, 2: accepted";
      if (std::string(what) == "valid") {
        EXPECT_EQ(reference, 2);
      }
      ++compared;
    }
    EVP_PKEY_free(our_mine);
    EVP_PKEY_free(ref_mine);
    EVP_PKEY_free(theirs);
  }
  EXPECT_GE(compared, 200);
}

EVP_PKEY* ec_keygen(OSSL_LIB_CTX* lib, const char* propq, const char* group) {
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_name(lib, "EC", propq);
  EVP_PKEY* k = nullptr;
  if (!c || EVP_PKEY_keygen_init(c) != 1 || EVP_PKEY_CTX_set_group_name(c, group) != 1 || EVP_PKEY_keygen(c, &k) != 1)
    k = nullptr;
  EVP_PKEY_CTX_free(c);
  return k;
}

// A derive with optional exchange parameters; {} on failure.
Bytes derive(OSSL_LIB_CTX* lib, const char* propq, EVP_PKEY* mine, EVP_PKEY* peer, const OSSL_PARAM* params = nullptr) {
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(lib, mine, propq);
  Bytes out(1024);
  size_t len = 0;
  bool ok = c && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, peer) == 1 &&
            (!params || EVP_PKEY_CTX_set_params(c, params) == 1) && EVP_PKEY_derive(c, nullptr, &len) == 1 &&
            len <= out.size() && EVP_PKEY_derive(c, out.data(), &len) == 1;
  EVP_PKEY_CTX_free(c);
  if (!ok) return {};
  out.resize(len);
  return out;
}




int get_int(EVP_PKEY* k, const char* name) {
  int v = -1;
  return EVP_PKEY_get_int_param(k, name, &v) == 1 ? v : -1;
}

// ECDH and ECDSA over every curve of EC_get_builtin_curves: gputls's keys
// (generated by gputls, or the default's imported into gputls) agree with
// the default provider's, and report the same bits, security bits and
// maximum signature size. Curves other than P-256 / P-384 count as software.
TEST_F(Groups, EcdhAndEcdsaOnEveryBuiltinCurve) {
  const size_t n = EC_get_builtin_curves(nullptr, 0);
  std::vector<EC_builtin_curve> curves(n);
  EC_get_builtin_curves(curves.data(), n);
  const Bytes msg(300, 0x3c);
  int served = 0;
  for (const EC_builtin_curve& bc : curves) {
    const char* name = OBJ_nid2sn(bc.nid);
    SCOPED_TRACE(name);
    EVP_PKEY* theirs = ec_keygen(nullptr, nullptr, name);
    if (!theirs) {
      ERR_clear_error();
      continue;  // not a curve the default provider serves either
    }
    const bool engine_curve = bc.nid == NID_X9_62_prime256v1 || bc.nid == NID_secp384r1;
    const char* field = engine_curve ? "engine" : "sw";
    const uint64_t keygen = count("ec_keygen", field), ecdh = count("ecdh_derive", field),
                   ecdsa = count("ecdsa_sign", field);
    EVP_PKEY* ours = ec_keygen(lib_, "provider=gputls", name);
    ASSERT_NE(ours, nullptr) << "gputls refused the curve";
    EXPECT_STREQ(provider_of(ours), "gputls");
    for (const char* p : {OSSL_PKEY_PARAM_BITS, OSSL_PKEY_PARAM_SECURITY_BITS, OSSL_PKEY_PARAM_MAX_SIZE}) {
      EXPECT_EQ(get_int(ours, p), get_int(theirs, p)) << p;
    }
    EXPECT_EQ(count("ec_keygen", field), keygen + 1) << stats().dump();
    const Bytes reference = derive(nullptr, nullptr, theirs, ours);
    if (bc.nid == NID_sm2) {
      // The default's EC keymgmt generates SM2-curve keys but refuses to
      // import them (they belong to its SM2 key type); gputls's does the same.
      EXPECT_TRUE(reference.empty());
      ERR_clear_error();
      EVP_PKEY_free(ours);
      EVP_PKEY_free(theirs);
      ++served;
      continue;
    }
    ASSERT_FALSE(reference.empty());
    EXPECT_EQ(derive(lib_, "provider=gputls", ours, theirs), reference);
    EXPECT_EQ(derive(lib_, "provider=gputls", theirs, ours), reference) << "the default's key imported into gputls";
    // ECDSA where the default signs (it cannot on a few binary curves, e.g.
    // Oakley-EC2N-3, and then gputls must fail too).
    const Bytes reference_sig = digest_sign_bytes(nullptr, nullptr, theirs, "SHA256", msg);
    const Bytes sig = digest_sign_bytes(lib_, "provider=gputls", theirs, "SHA256", msg);
    ERR_clear_error();
    EXPECT_EQ(sig.empty(), reference_sig.empty());
    if (!reference_sig.empty()) {
      EXPECT_TRUE(digest_verify_bytes(nullptr, nullptr, theirs, "SHA256", msg, sig)) << "the default rejects gputls's signature";
      EXPECT_TRUE(digest_verify_bytes(lib_, "provider=gputls", theirs, "SHA256", msg, reference_sig));
      EXPECT_EQ(count("ecdsa_sign", field), ecdsa + 1);
    }
    EXPECT_EQ(count("ecdh_derive", field), ecdh + 2);
    ++served;
    EVP_PKEY_free(ours);
    EVP_PKEY_free(theirs);
  }
  EXPECT_GE(served, 80) << "of " << n << " built-in curves";
}

// ecdh-cofactor-mode on a curve with cofactor 2 (sect163k1): each mode gives
// the default provider's secret, and the context reports the mode.
TEST_F(Groups, EcdhCofactorModeMatchesDefault) {
  EVP_PKEY* theirs = ec_keygen(nullptr, nullptr, "sect163k1");
  EVP_PKEY* ours = ec_keygen(lib_, "provider=gputls", "sect163k1");
  ASSERT_NE(theirs, nullptr);
  ASSERT_NE(ours, nullptr);
  Bytes plain;
  for (int mode : {-1, 0, 1}) {
    SCOPED_TRACE(mode);
    OSSL_PARAM p[] = {OSSL_PARAM_construct_int(OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE, &mode), OSSL_PARAM_END};
    const Bytes reference = derive(nullptr, nullptr, theirs, ours, p);
    ASSERT_FALSE(reference.empty());
    EXPECT_EQ(derive(lib_, "provider=gputls", ours, theirs, p), reference);
    if (mode == 0) plain = reference;
    if (mode == 1) {
      EXPECT_NE(reference, plain) << "the cofactor changed the secret";
    }
  }
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(lib_, ours, "provider=gputls");
  ASSERT_EQ(EVP_PKEY_derive_init(c), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_ecdh_cofactor_mode(c, 1), 1);
  EXPECT_EQ(EVP_PKEY_CTX_get_ecdh_cofactor_mode(c), 1);
  EVP_PKEY_CTX_free(c);
  EVP_PKEY_free(ours);
  EVP_PKEY_free(theirs);
}

// ECDH with kdf-type X963KDF: the same bytes as the default provider, on an
// engine curve (P-256) and a software one (P-521), with and without a ukm.
TEST_F(Groups, EcdhX963KdfMatchesDefault) {
  Bytes ukm = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  for (const char* curve : {"P-256", "P-521"}) {
    for (bool with_ukm : {false, true}) {
      SCOPED_TRACE(std::string(curve) + (with_ukm ? " ukm" : ""));
      EVP_PKEY* theirs = ec_keygen(nullptr, nullptr, curve);
      EVP_PKEY* ours = ec_keygen(lib_, "provider=gputls", curve);
      ASSERT_NE(ours, nullptr);
      size_t outlen = 42;
      std::vector<OSSL_PARAM> p = {
          OSSL_PARAM_construct_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, const_cast<char*>("X963KDF"), 0),
          OSSL_PARAM_construct_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST, const_cast<char*>("SHA256"), 0),
          OSSL_PARAM_construct_size_t(OSSL_EXCHANGE_PARAM_KDF_OUTLEN, &outlen)};
      if (with_ukm) p.push_back(OSSL_PARAM_construct_octet_string(OSSL_EXCHANGE_PARAM_KDF_UKM, ukm.data(), ukm.size()));
      p.push_back(OSSL_PARAM_construct_end());
      const Bytes reference = derive(nullptr, nullptr, theirs, ours, p.data());
      ASSERT_EQ(reference.size(), outlen);
      const uint64_t before = done("ecdh_derive");
      EXPECT_EQ(derive(lib_, "provider=gputls", ours, theirs, p.data()), reference);
      EXPECT_EQ(done("ecdh_derive"), before + 1) << "gputls computed the shared value";
      EVP_PKEY_free(ours);
      EVP_PKEY_free(theirs);
    }
  }
}

EVP_PKEY* dh_keygen(OSSL_LIB_CTX* lib, const char* propq, const char* group) {
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_name(lib, "DH", propq);
  EVP_PKEY* k = nullptr;
  if (!c || EVP_PKEY_keygen_init(c) != 1 || EVP_PKEY_CTX_set_group_name(c, group) != 1 || EVP_PKEY_keygen(c, &k) != 1)
    k = nullptr;
  EVP_PKEY_CTX_free(c);
  return k;
}

Bytes dh_padded(OSSL_LIB_CTX* lib, const char* propq, EVP_PKEY* mine, EVP_PKEY* peer) {
  unsigned int pad = 1;
  OSSL_PARAM p[] = {OSSL_PARAM_construct_uint(OSSL_EXCHANGE_PARAM_PAD, &pad), OSSL_PARAM_END};
  return derive(lib, propq, mine, peer, p);
}

// Every group name the default's DH keymgmt knows (RFC 7919, RFC 3526,
// RFC 5114) and DH parameter generation: gputls makes the key (its dh_keygen
// counter), and the secret equals the default provider's.
TEST_F(Groups, DhEveryNamedGroupAndParamgen) {
  for (const char* group : {"ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192", "modp_1536", "modp_2048",
                            "modp_3072", "modp_4096", "modp_6144", "modp_8192", "dh_1024_160", "dh_2048_224",
                            "dh_2048_256"}) {
    SCOPED_TRACE(group);
    EVP_PKEY* theirs = dh_keygen(nullptr, nullptr, group);
    ASSERT_NE(theirs, nullptr);
    const uint64_t keygen = done("dh_keygen");
    EVP_PKEY* ours = dh_keygen(lib_, "provider=gputls", group);
    ASSERT_NE(ours, nullptr) << "gputls refused the group";
    EXPECT_STREQ(provider_of(ours), "gputls");
    EXPECT_EQ(done("dh_keygen"), keygen + 1);
    for (const char* p : {OSSL_PKEY_PARAM_BITS, OSSL_PKEY_PARAM_SECURITY_BITS, OSSL_PKEY_PARAM_MAX_SIZE}) {
      EXPECT_EQ(get_int(ours, p), get_int(theirs, p)) << p;
    }
    const Bytes reference = dh_padded(nullptr, nullptr, theirs, ours);
    ASSERT_FALSE(reference.empty());
    EXPECT_EQ(dh_padded(lib_, "provider=gputls", ours, theirs), reference);
    EVP_PKEY_free(ours);
    EVP_PKEY_free(theirs);
  }
  // Parameter generation (512-bit safe prime: quick), then keys on them.
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_name(lib_, "DH", "provider=gputls");
  EVP_PKEY* params = nullptr;
  ASSERT_EQ(EVP_PKEY_paramgen_init(c), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_dh_paramgen_prime_len(c, 512), 1);
  ASSERT_EQ(EVP_PKEY_paramgen(c, &params), 1) << "gputls refused DH parameter generation";
  EVP_PKEY_CTX_free(c);
  EXPECT_STREQ(provider_of(params), "gputls");
  EXPECT_EQ(get_int(params, OSSL_PKEY_PARAM_BITS), 512);
  EVP_PKEY* keys[2] = {nullptr, nullptr};
  for (int i = 0; i < 2; ++i) {
    EVP_PKEY_CTX* k = EVP_PKEY_CTX_new_from_pkey(i ? nullptr : lib_, params, i ? nullptr : "provider=gputls");
    ASSERT_EQ(EVP_PKEY_keygen_init(k), 1);
    ASSERT_EQ(EVP_PKEY_keygen(k, &keys[i]), 1);
    EVP_PKEY_CTX_free(k);
  }
  const Bytes reference = dh_padded(nullptr, nullptr, keys[1], keys[0]);
  ASSERT_FALSE(reference.empty());
  EXPECT_EQ(dh_padded(lib_, "provider=gputls", keys[0], keys[1]), reference);
  EVP_PKEY_free(keys[0]);
  EVP_PKEY_free(keys[1]);
  EVP_PKEY_free(params);
}

// X9.42 DH (DHX) keys: parameters (RFC 5114 2048/224, and FIPS 186 generation)
// and keys made by gputls, secrets equal to the default provider's.
TEST_F(Groups, DhxKeysOnGputls) {
  auto dhx_params = [](OSSL_LIB_CTX* lib, const char* propq, int rfc5114) {
    EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_name(lib, "DHX", propq);
    EVP_PKEY* k = nullptr;
    if (!c || EVP_PKEY_paramgen_init(c) != 1 ||
        (rfc5114 ? EVP_PKEY_CTX_set_dhx_rfc5114(c, rfc5114) != 1
                 : (EVP_PKEY_CTX_set_dh_paramgen_prime_len(c, 1024) != 1 ||
                    EVP_PKEY_CTX_set_dh_paramgen_subprime_len(c, 160) != 1)) ||
        EVP_PKEY_paramgen(c, &k) != 1)
      k = nullptr;
    EVP_PKEY_CTX_free(c);
    return k;
  };
  auto keygen = [](OSSL_LIB_CTX* lib, const char* propq, EVP_PKEY* params) {
    EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(lib, params, propq);
    EVP_PKEY* k = nullptr;
    if (!c || EVP_PKEY_keygen_init(c) != 1 || EVP_PKEY_keygen(c, &k) != 1) k = nullptr;
    EVP_PKEY_CTX_free(c);
    return k;
  };
  for (int rfc5114 : {2, 0}) {
    SCOPED_TRACE(rfc5114 ? "RFC 5114 2048/224" : "generated 1024/160");
    EVP_PKEY* params = dhx_params(lib_, "provider=gputls", rfc5114);
    ASSERT_NE(params, nullptr) << "gputls refused DHX parameters";
    EXPECT_STREQ(provider_of(params), "gputls");
    EXPECT_STREQ(EVP_PKEY_get0_type_name(params), "DHX");
    const uint64_t keygen_n = done("dh_keygen");
    // The same parameters as a default-provider key (a provided key keeps its
    // keymgmt in EVP_PKEY_CTX_new_from_pkey, so keygen from `params` would be gputls's).
    OSSL_PARAM* numbers = nullptr;
    ASSERT_EQ(EVP_PKEY_todata(params, EVP_PKEY_KEY_PARAMETERS, &numbers), 1);
    EVP_PKEY_CTX* fd = EVP_PKEY_CTX_new_from_name(nullptr, "DHX", nullptr);
    EVP_PKEY* default_params = nullptr;
    ASSERT_EQ(EVP_PKEY_fromdata_init(fd), 1);
    ASSERT_EQ(EVP_PKEY_fromdata(fd, &default_params, EVP_PKEY_KEY_PARAMETERS, numbers), 1);
    EVP_PKEY_CTX_free(fd);
    OSSL_PARAM_free(numbers);
    EXPECT_STREQ(provider_of(default_params), "default");
    EVP_PKEY* ours = keygen(lib_, "provider=gputls", params);
    EVP_PKEY* theirs = keygen(nullptr, nullptr, default_params);
    EVP_PKEY_free(default_params);
    ASSERT_NE(ours, nullptr);
    ASSERT_NE(theirs, nullptr);
    EXPECT_EQ(done("dh_keygen"), keygen_n + 1);
    const Bytes reference = dh_padded(nullptr, nullptr, theirs, ours);
    ASSERT_FALSE(reference.empty());
    const uint64_t derive_n = done("dh_derive");
    EXPECT_EQ(dh_padded(lib_, "provider=gputls", ours, theirs), reference);
    EXPECT_EQ(done("dh_derive"), derive_n + 1);
    EVP_PKEY_free(theirs);
    EVP_PKEY_free(ours);
    EVP_PKEY_free(params);
  }
}

// DH with kdf-type X942KDF-ASN1 (kdf-digest, kdf-outlen, kdf-ukm, cekalg):
// the same bytes as the default provider.
TEST_F(Groups, DhX942KdfMatchesDefault) {
  Bytes ukm(24, 0xa5);
  for (bool with_ukm : {false, true}) {
    SCOPED_TRACE(with_ukm ? "ukm" : "no ukm");
    EVP_PKEY* theirs = dh_keygen(nullptr, nullptr, "ffdhe2048");
    EVP_PKEY* ours = dh_keygen(lib_, "provider=gputls", "ffdhe2048");
    ASSERT_NE(ours, nullptr);
    size_t outlen = 32;
    std::vector<OSSL_PARAM> p = {
        OSSL_PARAM_construct_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, const_cast<char*>("X942KDF-ASN1"), 0),
        OSSL_PARAM_construct_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST, const_cast<char*>("SHA256"), 0),
        OSSL_PARAM_construct_size_t(OSSL_EXCHANGE_PARAM_KDF_OUTLEN, &outlen),
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_CEK_ALG, const_cast<char*>("AES-256-WRAP"), 0)};
    if (with_ukm) p.push_back(OSSL_PARAM_construct_octet_string(OSSL_EXCHANGE_PARAM_KDF_UKM, ukm.data(), ukm.size()));
    p.push_back(OSSL_PARAM_construct_end());
    const Bytes reference = derive(nullptr, nullptr, theirs, ours, p.data());
    ASSERT_EQ(reference.size(), outlen);
    const uint64_t before = done("dh_derive");
    EXPECT_EQ(derive(lib_, "provider=gputls", ours, theirs, p.data()), reference);
    EXPECT_EQ(done("dh_derive"), before + 1) << "gputls computed the shared value";
    EVP_PKEY_free(ours);
    EVP_PKEY_free(theirs);
  }
}

// What gputls refuses, it refuses with an error on the queue that names
// gputls and says why (not a silent 0).
TEST_F(Groups, RefusalsLeaveAnError) {
  auto last_error = [] {
    const char* data = nullptr;
    int flags = 0;
    const unsigned long e = ERR_peek_last_error_data(&data, &flags);
    std::string s = e && data && (flags & ERR_TXT_STRING) ? data : "";
    ERR_clear_error();
    return s;
  };
  EVP_PKEY* ec = ec_keygen(lib_, "provider=gputls", "P-256");
  EVP_PKEY* dh = dh_keygen(lib_, "provider=gputls", "ffdhe2048");
  ASSERT_NE(ec, nullptr);
  ASSERT_NE(dh, nullptr);
  for (EVP_PKEY* k : {ec, dh}) {
    EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(lib_, k, "provider=gputls");
    ASSERT_EQ(EVP_PKEY_derive_init(c), 1);
    ERR_clear_error();
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, const_cast<char*>("NO-SUCH-KDF"), 0),
                      OSSL_PARAM_END};
    EXPECT_NE(EVP_PKEY_CTX_set_params(c, p), 1);
    const std::string err = last_error();
    EXPECT_NE(err.find("gputls"), std::string::npos) << "error: '" << err << "'";
    EXPECT_NE(err.find("NO-SUCH-KDF"), std::string::npos) << "error: '" << err << "'";
    EVP_PKEY_CTX_free(c);
  }
  // An unknown curve name at key generation.
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_name(lib_, "EC", "provider=gputls");
  ASSERT_EQ(EVP_PKEY_keygen_init(c), 1);
  ERR_clear_error();
  EXPECT_NE(EVP_PKEY_CTX_set_group_name(c, "no-such-curve"), 1);
  const std::string err = last_error();
  EXPECT_NE(err.find("no-such-curve"), std::string::npos) << "error: '" << err << "'";
  EVP_PKEY_CTX_free(c);
  EVP_PKEY_free(dh);
  EVP_PKEY_free(ec);
}

// TLS 1.2 DHE with server parameters that are no named group gputls knows:
// RFC 5114's primes with a subgroup order q (1024/160, 2048/224, 2048/256)
// and ffdhe4096's prime without its name, imported as plain DH parameters
// (p, g and q when there is one). The default server completes; the
// gputls-preferred server too, with gputls's DH counters.
TEST_F(Groups, Tls12DheArbitraryPrimes) {
  auto unnamed = [](OSSL_LIB_CTX* lib, const char* propq, const char* group, bool with_q) {
    EVP_PKEY* named = dh_keygen(nullptr, nullptr, group);
    BIGNUM *p = nullptr, *g = nullptr, *q = nullptr;
    EVP_PKEY_get_bn_param(named, OSSL_PKEY_PARAM_FFC_P, &p);
    EVP_PKEY_get_bn_param(named, OSSL_PKEY_PARAM_FFC_G, &g);
    if (with_q) EVP_PKEY_get_bn_param(named, OSSL_PKEY_PARAM_FFC_Q, &q);
    OSSL_PARAM_BLD* b = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_FFC_P, p);
    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_FFC_G, g);
    if (q) OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_FFC_Q, q);
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_name(lib, "DH", propq);
    EVP_PKEY* k = nullptr;
    if (!p || !g || (with_q && !q) || EVP_PKEY_fromdata_init(c) != 1 ||
        EVP_PKEY_fromdata(c, &k, EVP_PKEY_KEY_PARAMETERS, params) != 1)
      k = nullptr;
    EVP_PKEY_CTX_free(c);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    BN_free(p);
    BN_free(g);
    BN_free(q);
    EVP_PKEY_free(named);
    return k;
  };
  struct Case {
    const char* group;
    bool with_q;
  };
  for (const Case& tc : {Case{"dh_1024_160", true}, Case{"dh_2048_224", true}, Case{"dh_2048_256", true},
                         Case{"ffdhe4096", false}}) {
    SCOPED_TRACE(tc.group);
    SSL_CTX* cctx = make_client_ctx(TLS1_2_VERSION, "DHE-RSA-AES128-GCM-SHA256");
    SSL_CTX_set_security_level(cctx, 0);  // 1024/160 is 80 bits: Debian's level 2 rules it out
    SSL_CTX* ref = reference_server();
    SSL_CTX_set_security_level(ref, 0);
    EVP_PKEY* ref_params = unnamed(nullptr, nullptr, tc.group, tc.with_q);
    ASSERT_NE(ref_params, nullptr);
    ASSERT_EQ(SSL_CTX_set0_tmp_dh_pkey(ref, ref_params), 1);
    EXPECT_EQ(handshake(ref, cctx), "") << "the default provider's server";
    // The server's parameters as an application preferring gputls makes them
    // (a default-provider key would generate the ephemeral key in the default
    // provider: EVP_PKEY_CTX_new_from_pkey keeps a provided key's keymgmt).
    SSL_CTX* sctx = make_server_ctx(lib_, rsa_id(), false);
    SSL_CTX_set_security_level(sctx, 0);
    ASSERT_EQ(SSL_CTX_set0_tmp_dh_pkey(sctx, unnamed(lib_, "?provider=gputls", tc.group, tc.with_q)), 1);
    const uint64_t keygen = done("dh_keygen"), derive_n = done("dh_derive");
    EXPECT_EQ(handshake(sctx, cctx), "");
    EXPECT_EQ(done("dh_keygen"), keygen + 1) << stats().dump();
    EXPECT_EQ(done("dh_derive"), derive_n + 1);
    SSL_CTX_free(sctx);
    SSL_CTX_free(ref);
    SSL_CTX_free(cctx);
  }
}

// The constant-time strip gives what a plain strip gives (the ctgrind check
// dh_strip_constant_time shows it has no secret-dependent branch or index).
TEST(DhStrip, MatchesThePlainStrip) {
  for (size_t len : {1u, 2u, 3u, 31u, 256u, 513u}) {
    for (size_t zeros = 0; zeros <= len && zeros < 70; ++zeros) {
      Bytes buf(len);
      for (size_t i = 0; i < len; ++i) buf[i] = i < zeros ? 0 : static_cast<uint8_t>(1 + (i * 131 + zeros) % 255);
      if (zeros < len && len > zeros + 1) buf[zeros + 1] = 0;  // a zero after the first nonzero byte stays
      Bytes want(buf.begin() + static_cast<long>(zeros), buf.end());
      const size_t n = ct_strip_leading_zeros(buf.data(), buf.size());
      ASSERT_EQ(n, want.size()) << len << " " << zeros;
      EXPECT_TRUE(std::equal(want.begin(), want.end(), buf.begin())) << len << " " << zeros;
      EXPECT_TRUE(std::all_of(buf.begin() + static_cast<long>(n), buf.end(), [](uint8_t b) { return b == 0; }));
    }
  }
}

}  // namespace
}  // namespace gputls::host::testing
