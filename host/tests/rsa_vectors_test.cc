// RSA decryption (PKCS#1 v1.5 type 2, OAEP) and verification through the
// provider: Wycheproof vectors, OAEP against the default provider, and
// gputls's counters proving each private operation ran in gputls.
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tls_fixture.h"

namespace gputls::host::testing {
namespace {

using Bytes = std::vector<uint8_t>;
using nlohmann::json;

Bytes unhex(const std::string& h) {
  if (h.empty()) return {};
  long len = 0;
  unsigned char* buf = OPENSSL_hexstr2buf(h.c_str(), &len);
  EXPECT_NE(buf, nullptr) << h;
  Bytes b(buf, buf + (buf ? len : 0));
  OPENSSL_free(buf);
  return b;
}

// OpenSSL's name for a Wycheproof hash name ("SHA-256" -> "SHA2-256").
std::string md_name(const std::string& w) { return w == "SHA-1" ? "SHA1" : "SHA2-" + w.substr(4); }

class RsaVectors : public ProviderFixture {
 protected:
  // Decrypts ct with key through gputls; false on error.
  // implicit_rejection: -1 leaves gputls's default (on), 0 / 1 set it.
  bool decrypt(EVP_PKEY* key, int pad, const Bytes& ct, Bytes* out, const char* oaep_md = nullptr,
               const char* mgf1_md = nullptr, const Bytes& label = {}, int implicit_rejection = -1) {
    EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(lib_, key, "provider=gputls");
    size_t len = 0;
    unsigned ir = implicit_rejection == 1 ? 1 : 0;
    const OSSL_PARAM irp[] = {OSSL_PARAM_construct_uint("implicit-rejection", &ir), OSSL_PARAM_construct_end()};
    bool ok = c && EVP_PKEY_decrypt_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, pad) == 1 &&
              (implicit_rejection < 0 || EVP_PKEY_CTX_set_params(c, irp) == 1) &&
              (!oaep_md || EVP_PKEY_CTX_set_rsa_oaep_md_name(c, oaep_md, nullptr) == 1) &&
              (!mgf1_md || EVP_PKEY_CTX_set_rsa_mgf1_md_name(c, mgf1_md, nullptr) == 1) &&
              (label.empty() ||
               EVP_PKEY_CTX_set0_rsa_oaep_label(c, OPENSSL_memdup(label.data(), label.size()),
                                                static_cast<int>(label.size())) == 1) &&
              EVP_PKEY_decrypt(c, nullptr, &len, ct.data(), ct.size()) == 1;
    out->assign(len, 0xee);
    ok = ok && EVP_PKEY_decrypt(c, out->data(), &len, ct.data(), ct.size()) == 1;
    EVP_PKEY_CTX_free(c);
    if (ok) out->resize(len);
    return ok;
  }
};

// Wycheproof RSAES-PKCS1-v1_5 decryption: every valid vector decrypts to its
// message; with implicit rejection off every invalid one (bad padding, wrong
// length, >= n) is an error, with it on (the default) a bad padding yields
// the same synthetic message every time, never the vector's message.
// One test per file (each has 33 keys, registered with the engine one by one)
// so ctest runs them side by side.
class RsaPkcs1Vectors : public RsaVectors, public ::testing::WithParamInterface<const char*> {};

TEST_P(RsaPkcs1Vectors, WycheproofDecryption) {
  const char* file = GetParam();
  json v = wycheproof_vectors(file);
  size_t valid = 0, invalid = 0;
  const uint64_t engine_before = count("rsa_decrypt");
  for (const auto& g : v["testGroups"]) {
    EVP_PKEY* key = pem_key(g["privateKeyPem"].get<std::string>(), true);
    ASSERT_NE(key, nullptr) << file;
    for (const auto& t : g["tests"]) {
      Bytes out, implicit1, implicit2;
      const Bytes ct = unhex(t["ct"]);
      const bool ok = decrypt(key, RSA_PKCS1_PADDING, ct, &out, nullptr, nullptr, {}, 0);
      const bool ok1 = decrypt(key, RSA_PKCS1_PADDING, ct, &implicit1);
      const std::string id = std::string(file) + " tcId " + std::to_string(t["tcId"].get<int>());
      if (t["result"] == "valid") {
        ++valid;
        EXPECT_TRUE(ok) << id;
        EXPECT_EQ(out, unhex(t["msg"])) << id;
        EXPECT_TRUE(ok1) << id;
        EXPECT_EQ(implicit1, unhex(t["msg"])) << id;
      } else {
        ++invalid;
        EXPECT_FALSE(ok) << id << " " << t["comment"];
        if (ok1) {  // a ciphertext of this key (not >= n): synthetic, deterministic
          EXPECT_TRUE(decrypt(key, RSA_PKCS1_PADDING, ct, &implicit2)) << id;
          EXPECT_EQ(implicit1, implicit2) << id;
          EXPECT_NE(implicit1, unhex(t["msg"])) << id;
        }
      }
    }
    EVP_PKEY_free(key);
  }
  EXPECT_GT(valid, 10u) << file;
  EXPECT_GT(invalid, 10u) << file;
  // Every ciphertext of the key's length below n went through the engine.
  EXPECT_GE(count("rsa_decrypt") - engine_before, valid) << stats().dump();
  EXPECT_EQ(count("rsa_decrypt", "sw"), 0u) << stats().dump();
}

INSTANTIATE_TEST_SUITE_P(Files, RsaPkcs1Vectors,
                         ::testing::Values("rsa_pkcs1_2048_test.json", "rsa_pkcs1_3072_test.json",
                                           "rsa_pkcs1_4096_test.json"));

Bytes default_encrypt(EVP_PKEY* key, const Bytes& pt, const char* md, const char* mgf1, const Bytes& label) {
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
  Bytes ct(static_cast<size_t>(EVP_PKEY_get_size(key)));
  size_t len = ct.size();
  bool ok = EVP_PKEY_encrypt_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1 &&
            EVP_PKEY_CTX_set_rsa_oaep_md_name(c, md, nullptr) == 1 &&
            EVP_PKEY_CTX_set_rsa_mgf1_md_name(c, mgf1, nullptr) == 1 &&
            (label.empty() || EVP_PKEY_CTX_set0_rsa_oaep_label(c, OPENSSL_memdup(label.data(), label.size()),
                                                               static_cast<int>(label.size())) == 1) &&
            EVP_PKEY_encrypt(c, ct.data(), &len, pt.data(), pt.size()) == 1;
  EVP_PKEY_CTX_free(c);
  EXPECT_TRUE(ok);
  return ct;
}

// OAEP (SHA-1, SHA-256, mixed MGF1, with and without a label, every message
// length from 0 to the maximum) against the default provider's encryption;
// any flipped bit, a wrong label or a wrong digest is an error.
TEST_F(RsaVectors, OaepAgainstDefaultProvider) {
  EVP_PKEY* key = wycheproof_private_key("rsa_pkcs1_2048_test.json");
  ASSERT_NE(key, nullptr);
  struct Case {
    const char* md;
    const char* mgf1;
    Bytes label;
  };
  const Case cases[] = {{"SHA1", "SHA1", {}}, {"SHA2-256", "SHA2-256", {}}, {"SHA2-256", "SHA1", {'t', 'l', 's'}}};
  const uint64_t before = count("rsa_decrypt");
  int decrypted = 0;
  for (const Case& cs : cases) {
    const size_t hlen = static_cast<size_t>(EVP_MD_get_size(EVP_get_digestbyname(cs.md)));
    const size_t max_msg = 256 - 2 * hlen - 2;
    for (size_t mlen : {size_t{0}, size_t{1}, size_t{31}, max_msg - 1, max_msg}) {
      Bytes pt(mlen);
      RAND_bytes(pt.data(), static_cast<int>(pt.size()));
      Bytes ct = default_encrypt(key, pt, cs.md, cs.mgf1, cs.label), out;
      ASSERT_TRUE(decrypt(key, RSA_PKCS1_OAEP_PADDING, ct, &out, cs.md, cs.mgf1, cs.label)) << cs.md << " " << mlen;
      EXPECT_EQ(out, pt) << cs.md << " " << mlen;
      ++decrypted;
      Bytes bad = ct;
      bad[100] ^= 0x01;
      EXPECT_FALSE(decrypt(key, RSA_PKCS1_OAEP_PADDING, bad, &out, cs.md, cs.mgf1, cs.label));
      EXPECT_FALSE(decrypt(key, RSA_PKCS1_OAEP_PADDING, ct, &out, cs.md, cs.mgf1, Bytes{'x'}));
      EXPECT_FALSE(decrypt(key, RSA_PKCS1_OAEP_PADDING, ct, &out, cs.md == std::string("SHA1") ? "SHA2-256" : "SHA1",
                           cs.mgf1, cs.label));
      // Not OAEP for PKCS#1 v1.5 either: without implicit rejection, what
      // the default provider answers (an error, unless the OAEP block
      // happens to read as PKCS#1 padding: about 1 in 256).
      Bytes ref(256);
      size_t ref_len = ref.size();
      EVP_PKEY_CTX* dc = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
      const bool ref_ok = EVP_PKEY_decrypt_init(dc) == 1 && EVP_PKEY_decrypt(dc, ref.data(), &ref_len, ct.data(), ct.size()) == 1;
      EVP_PKEY_CTX_free(dc);
      ERR_clear_error();
      EXPECT_EQ(decrypt(key, RSA_PKCS1_PADDING, ct, &out, nullptr, nullptr, {}, 0), ref_ok);
      if (ref_ok) {
        ref.resize(ref_len);
        EXPECT_EQ(out, ref);
      }
    }
  }
  // Each attempt ran the private operation on the engine.
  EXPECT_EQ(count("rsa_decrypt") - before, static_cast<uint64_t>(decrypted) * 5) << stats().dump();
  EXPECT_EQ(count("rsa_decrypt", "sw"), 0u);
  EVP_PKEY_free(key);
}

// gputls's OAEP encryption (public, in software) decrypts with the default provider.
TEST_F(RsaVectors, OaepEncryptionInteroperates) {
  EVP_PKEY* key = wycheproof_private_key("rsa_pkcs1_2048_test.json");
  ASSERT_NE(key, nullptr);
  const Bytes pt{'h', 'e', 'l', 'l', 'o'}, label{'l', 'b'};
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(lib_, key, "provider=gputls");
  Bytes ct(256);
  size_t len = ct.size();
  ASSERT_EQ(EVP_PKEY_encrypt_init(c), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_oaep_md_name(c, "SHA2-256", nullptr), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set0_rsa_oaep_label(c, OPENSSL_memdup(label.data(), label.size()), 2), 1);
  const uint64_t before = count("rsa_encrypt", "sw");
  ASSERT_EQ(EVP_PKEY_encrypt(c, ct.data(), &len, pt.data(), pt.size()), 1);
  EXPECT_EQ(count("rsa_encrypt", "sw"), before + 1);
  EVP_PKEY_CTX_free(c);
  EVP_PKEY_CTX* d = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
  Bytes out(256);
  size_t olen = out.size();
  ASSERT_EQ(EVP_PKEY_decrypt_init(d), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_padding(d, RSA_PKCS1_OAEP_PADDING), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_oaep_md_name(d, "SHA2-256", nullptr), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set0_rsa_oaep_label(d, OPENSSL_memdup(label.data(), label.size()), 2), 1);
  ASSERT_EQ(EVP_PKEY_decrypt(d, out.data(), &olen, ct.data(), len), 1);
  out.resize(olen);
  EXPECT_EQ(out, pt);
  EVP_PKEY_CTX_free(d);
  EVP_PKEY_free(key);
}

// The output buffer must hold a modulus's worth whatever the message's
// length, as the default provider requires (an error, never a truncation):
// gputls answers every size as the default provider does.
TEST_F(RsaVectors, Pkcs1OutputBufferAsDefaultProvider) {
  EVP_PKEY* key = wycheproof_private_key("rsa_pkcs1_2048_test.json");
  ASSERT_NE(key, nullptr);
  Bytes pt(40, 0x42), ct(256);
  size_t len = ct.size();
  EVP_PKEY_CTX* e = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
  ASSERT_EQ(EVP_PKEY_encrypt_init(e), 1);
  ASSERT_EQ(EVP_PKEY_encrypt(e, ct.data(), &len, pt.data(), pt.size()), 1);
  EVP_PKEY_CTX_free(e);
  const uint64_t before = count("rsa_decrypt") + count("rsa_decrypt", "failed");
  for (size_t size : {size_t{39}, size_t{40}, size_t{255}, size_t{256}}) {
    int results[2];
    Bytes outs[2];
    const char* props[2] = {"provider=default", "provider=gputls"};
    for (int i = 0; i < 2; ++i) {
      EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(lib_, key, props[i]);
      ASSERT_EQ(EVP_PKEY_decrypt_init(c), 1);
      outs[i].assign(size, 0);
      size_t olen = size;
      ERR_clear_error();
      results[i] = EVP_PKEY_decrypt(c, outs[i].data(), &olen, ct.data(), ct.size());
      if (results[i] == 1) outs[i].resize(olen);
      else EXPECT_NE(ERR_peek_error(), 0u) << props[i] << " refused with nothing on the error queue";
      EVP_PKEY_CTX_free(c);
    }
    EXPECT_EQ(results[1], results[0]) << "output buffer of " << size;
    if (results[0] == 1) {
      EXPECT_EQ(outs[0], pt);
      EXPECT_EQ(outs[1], pt);
    }
  }
  EXPECT_EQ(count("rsa_decrypt") + count("rsa_decrypt", "failed") - before, 1u) << "the one decryption ran in gputls";
  EVP_PKEY_free(key);
}

bool verify_through_gputls(OSSL_LIB_CTX* lib, EVP_PKEY* key, const std::string& md, int pad, int salt,
                           const std::string& mgf1, const Bytes& msg, const Bytes& sig) {
  EVP_MD_CTX* m = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = EVP_DigestVerifyInit_ex(m, &pctx, md.c_str(), lib, "provider=gputls", key, nullptr) == 1 &&
            EVP_PKEY_CTX_set_rsa_padding(pctx, pad) == 1 &&
            (pad != RSA_PKCS1_PSS_PADDING || (EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt) == 1 &&
                                              EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, mgf1.c_str(), nullptr) == 1)) &&
            EVP_DigestVerify(m, sig.data(), sig.size(), msg.data(), msg.size()) == 1;
  EVP_MD_CTX_free(m);
  return ok;
}

// Wycheproof signature verification through gputls (PKCS#1 v1.5 and PSS):
// valid accepted, invalid rejected ("acceptable" is not asserted), each
// verification counted in gputls.
TEST_F(RsaVectors, WycheproofSignatureVerification) {
  struct File {
    const char* name;
    int pad;
  };
  for (const File& f : {File{"rsa_signature_2048_sha256_test.json", RSA_PKCS1_PADDING},
                        File{"rsa_pss_2048_sha256_mgf1_32_test.json", RSA_PKCS1_PSS_PADDING}}) {
    json v = wycheproof_vectors(f.name);
    size_t checked = 0;
    const uint64_t before = count("rsa_verify", "sw");
    for (const auto& g : v["testGroups"]) {
      EVP_PKEY* key = pem_key(g["publicKeyPem"].get<std::string>(), false);
      ASSERT_NE(key, nullptr) << f.name;
      const std::string md = md_name(g["sha"]);
      const std::string mgf1 = g.contains("mgfSha") ? md_name(g["mgfSha"]) : md;
      const int salt = g.contains("sLen") ? g["sLen"].get<int>() : 0;
      for (const auto& t : g["tests"]) {
        const bool ok = verify_through_gputls(lib_, key, md, f.pad, salt, mgf1, unhex(t["msg"]), unhex(t["sig"]));
        const std::string id = std::string(f.name) + " tcId " + std::to_string(t["tcId"].get<int>());
        if (t["result"] == "valid") {
          EXPECT_TRUE(ok) << id;
        } else if (t["result"] == "invalid") {
          EXPECT_FALSE(ok) << id << " " << t["comment"];
        }
        ++checked;
      }
      EVP_PKEY_free(key);
    }
    EXPECT_GT(checked, 100u) << f.name;
    EXPECT_EQ(count("rsa_verify", "sw") - before, checked) << "every verification ran in gputls";
  }
}

}  // namespace
}  // namespace gputls::host::testing
