// gputls's AES-GCM ciphers at the EVP level: against OpenSSL's default
// provider on random keys, nonces, AAD and lengths (both directions, in
// place and not), Wycheproof's 96-bit-IV vectors, bad input, and gputls's
// counters proving the messages went through its engine.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <random>
#include <string>
#include <vector>

#include "tls_fixture.h"

namespace gputls::host::testing {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes hex(const std::string& h) {
  Bytes b(h.size() / 2);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(std::stoul(h.substr(2 * i, 2), nullptr, 16));
  return b;
}

Bytes random_bytes(size_t n) {
  Bytes b(n);
  if (n) RAND_bytes(b.data(), static_cast<int>(n));
  return b;
}

struct Sealed {
  Bytes ct, tag;
  bool ok = false;
};

// One message, one AAD update and one data update (the shape libssl uses).
Sealed seal(EVP_CIPHER* cipher, const Bytes& key, const Bytes& iv, const Bytes& aad, const Bytes& pt, bool in_place) {
  Sealed s;
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  Bytes buf = pt;
  s.ct.resize(pt.size());
  s.tag.resize(16);
  int n = 0, f = 0;
  s.ok = EVP_EncryptInit_ex2(c, cipher, key.data(), iv.data(), nullptr) == 1 &&
         (aad.empty() || EVP_EncryptUpdate(c, nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1) &&
         EVP_EncryptUpdate(c, in_place ? buf.data() : s.ct.data(), &n, in_place ? buf.data() : pt.data(),
                           static_cast<int>(pt.size())) == 1 &&
         EVP_EncryptFinal_ex(c, (in_place ? buf.data() : s.ct.data()) + n, &f) == 1 && n + f == static_cast<int>(pt.size()) &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, s.tag.data()) == 1;
  if (in_place) s.ct = buf;
  EVP_CIPHER_CTX_free(c);
  return s;
}

// Decrypts; the tag is set before the data (libssl, TLS 1.3) or only before
// final (OpenSSL's wiki example). Returns final's verdict; *out gets what
// the data update wrote.
bool open(EVP_CIPHER* cipher, const Bytes& key, const Bytes& iv, const Bytes& aad, const Bytes& ct, const Bytes& tag,
          bool in_place, bool tag_first, Bytes* out) {
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  Bytes buf = ct;
  out->assign(ct.size(), 0xEE);
  Bytes t = tag;
  int n = 0, f = 0;
  bool ok = EVP_DecryptInit_ex2(c, cipher, key.data(), iv.data(), nullptr) == 1 &&
            (!tag_first || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(t.size()), t.data()) == 1) &&
            (aad.empty() || EVP_DecryptUpdate(c, nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1) &&
            EVP_DecryptUpdate(c, in_place ? buf.data() : out->data(), &n, in_place ? buf.data() : ct.data(),
                              static_cast<int>(ct.size())) == 1 &&
            (tag_first || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(t.size()), t.data()) == 1);
  ok = ok && EVP_DecryptFinal_ex(c, (in_place ? buf.data() : out->data()) + n, &f) == 1;
  if (in_place) *out = buf;
  EVP_CIPHER_CTX_free(c);
  ERR_clear_error();
  return ok;
}

class Cipher : public ProviderFixture {
 protected:
  void SetUp() override {
    ProviderFixture::SetUp();
    for (int i = 0; i < 2; ++i) {
      const char* name = i == 0 ? "AES-128-GCM" : "AES-256-GCM";
      ours_[i] = EVP_CIPHER_fetch(lib_, name, "provider=gputls");
      ref_[i] = EVP_CIPHER_fetch(lib_, name, "provider=default");
      ASSERT_NE(ours_[i], nullptr) << name << " is not offered by gputls";
      ASSERT_NE(ref_[i], nullptr);
    }
  }
  void TearDown() override {
    for (int i = 0; i < 2; ++i) {
      EVP_CIPHER_free(ours_[i]);
      EVP_CIPHER_free(ref_[i]);
    }
    ProviderFixture::TearDown();
  }
  EVP_CIPHER* ours_[2] = {};
  EVP_CIPHER* ref_[2] = {};
};

TEST_F(Cipher, ReportsWhatLibsslNeeds) {
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(EVP_CIPHER_get_mode(ours_[i]), EVP_CIPH_GCM_MODE);
    EXPECT_NE(EVP_CIPHER_get_flags(ours_[i]) & EVP_CIPH_FLAG_AEAD_CIPHER, 0u);
    EXPECT_EQ(EVP_CIPHER_get_iv_length(ours_[i]), 12);
    EXPECT_EQ(EVP_CIPHER_get_key_length(ours_[i]), i == 0 ? 16 : 32);
    EXPECT_EQ(EVP_CIPHER_get_block_size(ours_[i]), 1);
    EXPECT_EQ(EVP_CIPHER_get_nid(ours_[i]), EVP_CIPHER_get_nid(ref_[i]));
  }
  // libssl fetches by the short name of the NID.
  EVP_CIPHER* by_sn = EVP_CIPHER_fetch(lib_, "id-aes256-GCM", "provider=gputls");
  EXPECT_NE(by_sn, nullptr);
  EVP_CIPHER_free(by_sn);
}

// Random messages, 0 to 17,000 bytes: same ciphertext and tag as the default
// provider, each side opens the other's output, a flipped bit fails with no
// plaintext released.
TEST_F(Cipher, MatchesDefaultProviderOnRandomMessages) {
  std::mt19937 rng(20261123);
  const uint64_t seals = count("aes_gcm_seal"), opens = count("aes_gcm_open");
  int sealed_here = 0, opened_here = 0;
  std::vector<size_t> lengths = {0, 1, 15, 16, 17, 255, 1024, 16383, 16384, 16385, 17000};
  for (int i = 0; i < 40; ++i) lengths.push_back(rng() % 17001);
  for (size_t idx = 0; idx < lengths.size(); ++idx) {
    const size_t len = lengths[idx];
    const int k = idx % 2;
    const bool in_place = (idx / 2) % 2;
    const Bytes key = random_bytes(k == 0 ? 16 : 32), iv = random_bytes(12), aad = random_bytes(rng() % 40),
                pt = random_bytes(len);
    SCOPED_TRACE("len " + std::to_string(len) + " key " + std::to_string(key.size()) + (in_place ? " in place" : ""));
    const Sealed want = seal(ref_[k], key, iv, aad, pt, false);
    const Sealed got = seal(ours_[k], key, iv, aad, pt, in_place);
    ++sealed_here;
    ASSERT_TRUE(want.ok && got.ok);
    EXPECT_EQ(got.ct, want.ct);
    EXPECT_EQ(got.tag, want.tag);
    Bytes out;
    EXPECT_TRUE(open(ours_[k], key, iv, aad, want.ct, want.tag, in_place, /*tag_first=*/true, &out));
    ++opened_here;
    EXPECT_EQ(out, pt);
    EXPECT_TRUE(open(ours_[k], key, iv, aad, want.ct, want.tag, in_place, /*tag_first=*/false, &out));
    opened_here += len == 0;  // no data: the tag is there by final, which runs it on the engine
    EXPECT_EQ(out, pt);
    EXPECT_TRUE(open(ref_[k], key, iv, aad, got.ct, got.tag, false, true, &out));
    EXPECT_EQ(out, pt);
    // Tampered ciphertext (or tag when empty): final fails, the data update wrote zeros.
    Bytes bad_ct = want.ct, bad_tag = want.tag;
    (len ? bad_ct[rng() % len] : bad_tag[rng() % 16]) ^= static_cast<uint8_t>(1u << (rng() % 8));
    EXPECT_FALSE(open(ours_[k], key, iv, aad, bad_ct, bad_tag, in_place, true, &out));
    EXPECT_EQ(out, Bytes(len, 0)) << "plaintext released for a forged message";
  }
  // Tag-first messages went through gputls's engine (forged ones counted as
  // failed); late tags ran in its software context.
  EXPECT_EQ(count("aes_gcm_seal"), seals + sealed_here);
  EXPECT_EQ(count("aes_gcm_open"), opens + opened_here);
  EXPECT_GE(count("aes_gcm_open", "failed"), static_cast<uint64_t>(lengths.size()));
}

// Wycheproof aes_gcm_test.json, every 96-bit-IV group of AES-128 and AES-256.
TEST_F(Cipher, WycheproofVectors) {
  const nlohmann::json v = wycheproof_vectors("aes_gcm_test.json");
  int run = 0;
  for (const auto& g : v["testGroups"]) {
    const int ks = g["keySize"].get<int>();
    if (g["ivSize"].get<int>() != 96 || (ks != 128 && ks != 256) || g["tagSize"].get<int>() != 128) continue;
    EVP_CIPHER* cipher = ours_[ks == 128 ? 0 : 1];
    for (const auto& t : g["tests"]) {
      SCOPED_TRACE("tcId " + std::to_string(t["tcId"].get<int>()));
      const Bytes key = hex(t["key"]), iv = hex(t["iv"]), aad = hex(t["aad"]), msg = hex(t["msg"]), ct = hex(t["ct"]),
                  tag = hex(t["tag"]);
      const bool valid = t["result"].get<std::string>() != "invalid";
      Bytes out;
      EXPECT_EQ(open(cipher, key, iv, aad, ct, tag, false, true, &out), valid);
      if (valid) {
        EXPECT_EQ(out, msg);
        const Sealed s = seal(cipher, key, iv, aad, msg, false);
        EXPECT_TRUE(s.ok);
        EXPECT_EQ(s.ct, ct);
        EXPECT_EQ(s.tag, tag);
      } else {
        EXPECT_EQ(out, Bytes(ct.size(), 0));
      }
      ++run;
    }
  }
  EXPECT_GT(run, 50);
  RecordProperty("vectors", run);
}

TEST_F(Cipher, BadInputGetsAClearError) {
  const Bytes key = random_bytes(16), iv = random_bytes(12), data = random_bytes(64);
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  // Non-96-bit IVs are refused (the engine serves 96-bit IVs only).
  ASSERT_EQ(EVP_EncryptInit_ex2(c, ours_[0], nullptr, nullptr, nullptr), 1);
  EXPECT_LE(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, 16, nullptr), 0);
  EXPECT_NE(std::string(ERR_reason_error_string(ERR_peek_last_error()) ? ERR_reason_error_string(ERR_peek_last_error()) : ""), "");
  ERR_clear_error();
  // A second data update of one message is refused; a new IV starts over.
  Bytes out(64);
  int n = 0;
  ASSERT_EQ(EVP_EncryptInit_ex2(c, nullptr, key.data(), iv.data(), nullptr), 1);
  ASSERT_EQ(EVP_EncryptUpdate(c, out.data(), &n, data.data(), 32), 1);
  EXPECT_EQ(EVP_EncryptUpdate(c, out.data() + 32, &n, data.data() + 32, 32), 0);
  ERR_clear_error();
  // The tag cannot be read before final, nor set when encrypting.
  uint8_t tag[16];
  ASSERT_EQ(EVP_EncryptInit_ex2(c, nullptr, nullptr, iv.data(), nullptr), 1);
  EXPECT_LE(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, tag), 0);
  EXPECT_LE(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16, tag), 0);
  // Final twice under one IV: refused (an IV is never used twice).
  ASSERT_EQ(EVP_EncryptUpdate(c, out.data(), &n, data.data(), 64), 1);
  ASSERT_EQ(EVP_EncryptFinal_ex(c, out.data() + n, &n), 1);
  EXPECT_EQ(EVP_EncryptUpdate(c, out.data(), &n, data.data(), 64), 0);
  ERR_clear_error();
  // Decrypting without ever setting the tag fails at final.
  ASSERT_EQ(EVP_DecryptInit_ex2(c, nullptr, key.data(), iv.data(), nullptr), 1);
  EXPECT_EQ(EVP_DecryptFinal_ex(c, out.data(), &n), 0);
  ERR_clear_error();
  EVP_CIPHER_CTX_free(c);
  // ... and everything else still works.
  const Sealed s = seal(ours_[0], key, iv, {}, data, false);
  EXPECT_EQ(s.ct, seal(ref_[0], key, iv, {}, data, false).ct);
}

// libssl copies cipher contexts; a copy carries the key (registered again on
// its own) and the message state, and re-keying frees the old registration.
TEST_F(Cipher, CopiedAndRekeyedContexts) {
  const Bytes key = random_bytes(32), key2 = random_bytes(32), iv = random_bytes(12), aad = random_bytes(13),
              pt = random_bytes(1000);
  EVP_CIPHER_CTX* a = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX* b = EVP_CIPHER_CTX_new();
  int n = 0;
  ASSERT_EQ(EVP_EncryptInit_ex2(a, ours_[1], key.data(), iv.data(), nullptr), 1);
  ASSERT_EQ(EVP_EncryptUpdate(a, nullptr, &n, aad.data(), static_cast<int>(aad.size())), 1);
  ASSERT_EQ(EVP_CIPHER_CTX_copy(b, a), 1);
  EVP_CIPHER_CTX_free(a);  // the copy outlives the original
  Bytes ct(pt.size()), tag(16);
  ASSERT_EQ(EVP_EncryptUpdate(b, ct.data(), &n, pt.data(), static_cast<int>(pt.size())), 1);
  ASSERT_EQ(EVP_EncryptFinal_ex(b, ct.data() + n, &n), 1);
  ASSERT_EQ(EVP_CIPHER_CTX_ctrl(b, EVP_CTRL_AEAD_GET_TAG, 16, tag.data()), 1);
  const Sealed want = seal(ref_[1], key, iv, aad, pt, false);
  EXPECT_EQ(ct, want.ct);
  EXPECT_EQ(tag, want.tag);
  const long keys_before = stats()["engine"]["keys_live"].get<long>();
  ASSERT_EQ(EVP_EncryptInit_ex2(b, nullptr, key2.data(), iv.data(), nullptr), 1);  // re-key
  ASSERT_EQ(EVP_EncryptUpdate(b, ct.data(), &n, pt.data(), static_cast<int>(pt.size())), 1);
  ASSERT_EQ(EVP_EncryptFinal_ex(b, ct.data() + n, &n), 1);
  EXPECT_EQ(ct, seal(ref_[1], key2, iv, {}, pt, false).ct);
  EXPECT_EQ(stats()["engine"]["keys_live"].get<long>(), keys_before) << "the old key stayed registered";
  EVP_CIPHER_CTX_free(b);
  EXPECT_EQ(stats()["engine"]["keys_live"].get<long>(), keys_before - 1) << "freeing the context freed its key";
}

}  // namespace
}  // namespace gputls::host::testing
