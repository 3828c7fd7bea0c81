// gputls's AES-GCM ciphers at the EVP level: against OpenSSL's default
// provider on random keys, nonces, AAD and lengths (both directions, in
// place and not), Wycheproof's vectors, bad input, and gputls's counters
// proving TLS 1.3-shaped records went through its engine and everything
// else through its software context.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <sys/wait.h>
#include <unistd.h>

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

// Key, then the IV's length (any, where the cipher takes it), then the IV.
bool init_with_iv(EVP_CIPHER_CTX* c, EVP_CIPHER* cipher, const Bytes& key, const Bytes& iv, int enc) {
  return EVP_CipherInit_ex2(c, cipher, key.data(), nullptr, enc, nullptr) == 1 &&
         (iv.size() == 12 || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(iv.size()), nullptr) > 0) &&
         EVP_CipherInit_ex2(c, nullptr, nullptr, iv.data(), enc, nullptr) == 1;
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
  s.ok = init_with_iv(c, cipher, key, iv, 1) &&
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
  bool ok = init_with_iv(c, cipher, key, iv, 0) &&
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

// A TLS 1.3 record header as AAD for `len` bytes of data: what makes a
// message one engine record (any other message may continue in later
// updates, so it runs in gputls's software GCM context).
Bytes tls13_header(size_t len) {
  const size_t rec = len + 16;
  return {0x17, 0x03, 0x03, static_cast<uint8_t>(rec >> 8), static_cast<uint8_t>(rec)};
}

// Random messages, 0 to 17,000 bytes: same ciphertext and tag as the default
// provider, each side opens the other's output, a flipped bit fails. TLS
// 1.3-shaped messages go through the engine and a forged one releases no
// plaintext; the others run in gputls's software context (counted) and
// release what the default provider releases.
TEST_F(Cipher, MatchesDefaultProviderOnRandomMessages) {
  std::mt19937 rng(20261123);
  const uint64_t seals = count("aes_gcm_seal"), opens = count("aes_gcm_open");
  const uint64_t sw = count("aes_gcm_seal", "sw") + count("aes_gcm_open", "sw");
  int sealed_here = 0, opened_here = 0, sw_here = 0;
  std::vector<size_t> lengths = {0, 1, 15, 16, 17, 255, 1024, 16383, 16384, 16385, 17000};
  for (int i = 0; i < 40; ++i) lengths.push_back(rng() % 17001);
  for (size_t idx = 0; idx < lengths.size(); ++idx) {
    const size_t len = lengths[idx];
    const int k = idx % 2;
    const bool in_place = (idx / 2) % 2;
    const bool record = idx % 3 != 2 && len > 0;  // a TLS 1.3 record (records are never empty)
    const Bytes key = random_bytes(k == 0 ? 16 : 32), iv = random_bytes(12),
                aad = record ? tls13_header(len) : random_bytes(rng() % 40), pt = random_bytes(len);
    SCOPED_TRACE("len " + std::to_string(len) + " key " + std::to_string(key.size()) + (in_place ? " in place" : "") +
                 (record ? " record" : " message"));
    const Sealed want = seal(ref_[k], key, iv, aad, pt, false);
    const Sealed got = seal(ours_[k], key, iv, aad, pt, in_place);
    (record ? sealed_here : sw_here) += 1;
    ASSERT_TRUE(want.ok && got.ok);
    EXPECT_EQ(got.ct, want.ct);
    EXPECT_EQ(got.tag, want.tag);
    Bytes out;
    EXPECT_TRUE(open(ours_[k], key, iv, aad, want.ct, want.tag, in_place, /*tag_first=*/true, &out));
    (record ? opened_here : sw_here) += 1;
    EXPECT_EQ(out, pt);
    EXPECT_TRUE(open(ours_[k], key, iv, aad, want.ct, want.tag, in_place, /*tag_first=*/false, &out));
    sw_here += 1;  // the tag comes late: software
    EXPECT_EQ(out, pt);
    EXPECT_TRUE(open(ref_[k], key, iv, aad, got.ct, got.tag, false, true, &out));
    EXPECT_EQ(out, pt);
    // Tampered ciphertext (or tag when empty): final fails.
    Bytes bad_ct = want.ct, bad_tag = want.tag;
    (len ? bad_ct[rng() % len] : bad_tag[rng() % 16]) ^= static_cast<uint8_t>(1u << (rng() % 8));
    EXPECT_FALSE(open(ours_[k], key, iv, aad, bad_ct, bad_tag, in_place, true, &out));
    sw_here += !record;  // a forged record is counted as failed, not as opened
    if (record) {
      EXPECT_EQ(out, Bytes(len, 0)) << "plaintext released for a forged record";
    } else {
      Bytes ref_out;
      EXPECT_FALSE(open(ref_[k], key, iv, aad, bad_ct, bad_tag, in_place, true, &ref_out));
      EXPECT_EQ(out, ref_out);
    }
  }
  // Records went through gputls's engine (forged ones counted as failed);
  // everything else ran in its software context.
  EXPECT_EQ(count("aes_gcm_seal"), seals + sealed_here);
  EXPECT_EQ(count("aes_gcm_open"), opens + opened_here);
  EXPECT_EQ(count("aes_gcm_seal", "sw") + count("aes_gcm_open", "sw"), sw + sw_here);
  EXPECT_GE(count("aes_gcm_open", "failed"), static_cast<uint64_t>(lengths.size()));
}

// Wycheproof aes_gcm_test.json, every group of AES-128 and AES-256 (IVs of
// 0 to 2056 bits): gputls gives the default provider's verdict and output on
// each, and every vector the default serves gives Wycheproof's answer.
TEST_F(Cipher, WycheproofVectors) {
  const nlohmann::json v = wycheproof_vectors("aes_gcm_test.json");
  int run = 0, refused_by_both = 0;
  for (const auto& g : v["testGroups"]) {
    const int ks = g["keySize"].get<int>();
    if ((ks != 128 && ks != 256) || g["tagSize"].get<int>() != 128) continue;
    const int k = ks == 128 ? 0 : 1;
    for (const auto& t : g["tests"]) {
      SCOPED_TRACE("tcId " + std::to_string(t["tcId"].get<int>()) + " ivSize " + std::to_string(g["ivSize"].get<int>()));
      const Bytes key = hex(t["key"]), iv = hex(t["iv"]), aad = hex(t["aad"]), msg = hex(t["msg"]), ct = hex(t["ct"]),
                  tag = hex(t["tag"]);
      const bool valid = t["result"].get<std::string>() != "invalid";
      Bytes out, ref_out;
      const bool ok = open(ours_[k], key, iv, aad, ct, tag, false, true, &out);
      const bool ref_ok = open(ref_[k], key, iv, aad, ct, tag, false, true, &ref_out);
      EXPECT_EQ(ok, ref_ok);
      const Sealed s = seal(ours_[k], key, iv, aad, msg, false), ref_s = seal(ref_[k], key, iv, aad, msg, false);
      EXPECT_EQ(s.ok, ref_s.ok);
      if (!ref_ok && !ref_s.ok) {  // e.g. an empty IV, or one over the 128 bytes OpenSSL takes
        ++refused_by_both;
        continue;
      }
      EXPECT_EQ(ok, valid);
      if (valid) {
        EXPECT_EQ(out, msg);
        EXPECT_TRUE(s.ok);
        EXPECT_EQ(s.ct, ct);
        EXPECT_EQ(s.tag, tag);
      }
      ++run;
    }
  }
  EXPECT_GT(run, 150);
  RecordProperty("vectors", run);
  RecordProperty("refused_like_the_default_provider", refused_by_both);
}

TEST_F(Cipher, BadInputGetsAClearError) {
  const Bytes key = random_bytes(16), iv = random_bytes(12), data = random_bytes(64);
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  auto refused_with_reason = [] {
    const unsigned long e = ERR_peek_last_error();
    const bool said = e != 0 && ERR_reason_error_string(e) != nullptr;
    ERR_clear_error();
    return said;
  };
  // IV lengths the default provider refuses too: 0 and over 128 bytes.
  ASSERT_EQ(EVP_EncryptInit_ex2(c, ours_[0], nullptr, nullptr, nullptr), 1);
  EXPECT_LE(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, 0, nullptr), 0);
  EXPECT_TRUE(refused_with_reason());
  EXPECT_LE(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, 129, nullptr), 0);
  EXPECT_TRUE(refused_with_reason());
  // The tag cannot be read before final, nor set when encrypting.
  Bytes out(64);
  int n = 0;
  uint8_t tag[16];
  ASSERT_EQ(EVP_EncryptInit_ex2(c, nullptr, key.data(), iv.data(), nullptr), 1);
  EXPECT_LE(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, tag), 0);
  EXPECT_TRUE(refused_with_reason());
  EXPECT_LE(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16, tag), 0);
  EXPECT_TRUE(refused_with_reason());
  // Final twice under one IV: refused (an IV is never used twice).
  ASSERT_EQ(EVP_EncryptUpdate(c, out.data(), &n, data.data(), 64), 1);
  ASSERT_EQ(EVP_EncryptFinal_ex(c, out.data() + n, &n), 1);
  EXPECT_EQ(EVP_EncryptUpdate(c, out.data(), &n, data.data(), 64), 0);
  EXPECT_TRUE(refused_with_reason());
  EXPECT_EQ(EVP_EncryptFinal_ex(c, out.data(), &n), 0);
  EXPECT_TRUE(refused_with_reason());
  // Decrypting without ever setting the tag fails at final.
  ASSERT_EQ(EVP_DecryptInit_ex2(c, nullptr, key.data(), iv.data(), nullptr), 1);
  EXPECT_EQ(EVP_DecryptFinal_ex(c, out.data(), &n), 0);
  EXPECT_TRUE(refused_with_reason());
  // A record-shaped first update is the whole record: more data is refused.
  const Bytes header = tls13_header(32);
  ASSERT_EQ(EVP_EncryptInit_ex2(c, nullptr, key.data(), random_bytes(12).data(), nullptr), 1);
  ASSERT_EQ(EVP_EncryptUpdate(c, nullptr, &n, header.data(), 5), 1);
  ASSERT_EQ(EVP_EncryptUpdate(c, out.data(), &n, data.data(), 32), 1);
  EXPECT_EQ(EVP_EncryptUpdate(c, out.data() + 32, &n, data.data() + 32, 32), 0);
  EXPECT_TRUE(refused_with_reason());
  EVP_CIPHER_CTX_free(c);
  // ... and everything else still works.
  const Sealed s = seal(ours_[0], key, iv, {}, data, false);
  EXPECT_EQ(s.ct, seal(ref_[0], key, iv, {}, data, false).ct);
}

// libssl copies cipher contexts; a copy carries the key (registered again on
// its own) and the message state, and re-keying frees the old registration.
TEST_F(Cipher, CopiedAndRekeyedContexts) {
  const Bytes key = random_bytes(32), key2 = random_bytes(32), iv = random_bytes(12), pt = random_bytes(1000),
              aad = tls13_header(pt.size());  // TLS 1.3 records: on the engine
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
  ASSERT_EQ(EVP_EncryptUpdate(b, nullptr, &n, aad.data(), static_cast<int>(aad.size())), 1);
  ASSERT_EQ(EVP_EncryptUpdate(b, ct.data(), &n, pt.data(), static_cast<int>(pt.size())), 1);
  ASSERT_EQ(EVP_EncryptFinal_ex(b, ct.data() + n, &n), 1);
  EXPECT_EQ(ct, seal(ref_[1], key2, iv, aad, pt, false).ct);
  EXPECT_EQ(stats()["engine"]["keys_live"].get<long>(), keys_before) << "the old key stayed registered";
  EVP_CIPHER_CTX_free(b);
  EXPECT_EQ(stats()["engine"]["keys_live"].get<long>(), keys_before - 1) << "freeing the context freed its key";
}

// gputls's context parameter handlers (names compared in line, EVP's size_t
// written without a call) against the default provider's: the same answer
// to each name libssl and applications use, to other integer shapes of
// `ivlen`, to names that only share a prefix with a known one (ignored), and
// to tag reads and writes of several lengths.
TEST_F(Cipher, ContextParametersAnswerAsTheDefaultProvider) {
  const Bytes key = random_bytes(16), iv = random_bytes(12), pt = random_bytes(40), aad = random_bytes(7);
  EVP_CIPHER_CTX* ctx[2] = {EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_new()};  // gputls, default
  int n = 0;
  for (int i = 0; i < 2; ++i) {
    Bytes ct(pt.size());
    ASSERT_EQ(EVP_EncryptInit_ex2(ctx[i], i == 0 ? ours_[0] : ref_[0], key.data(), iv.data(), nullptr), 1);
    ASSERT_EQ(EVP_EncryptUpdate(ctx[i], nullptr, &n, aad.data(), static_cast<int>(aad.size())), 1);
    ASSERT_EQ(EVP_EncryptUpdate(ctx[i], ct.data(), &n, pt.data(), static_cast<int>(pt.size())), 1);
    ASSERT_EQ(EVP_EncryptFinal_ex(ctx[i], ct.data() + n, &n), 1);
  }
  struct Ask {
    const char* name;
    unsigned type;
    size_t size;
  };
  const Ask asks[] = {{"ivlen", OSSL_PARAM_UNSIGNED_INTEGER, sizeof(size_t)},
                      {"ivlen", OSSL_PARAM_UNSIGNED_INTEGER, sizeof(uint32_t)},
                      {"ivlen", OSSL_PARAM_INTEGER, sizeof(int)},
                      {"ivlen", OSSL_PARAM_UNSIGNED_INTEGER, 0},  // no data: the size it would take
                      {"keylen", OSSL_PARAM_UNSIGNED_INTEGER, sizeof(size_t)},
                      {"taglen", OSSL_PARAM_UNSIGNED_INTEGER, sizeof(size_t)},
                      {"tag", OSSL_PARAM_OCTET_STRING, 16},
                      {"tag", OSSL_PARAM_OCTET_STRING, 12},
                      {"ivle", OSSL_PARAM_UNSIGNED_INTEGER, sizeof(size_t)},
                      {"ivlenx", OSSL_PARAM_UNSIGNED_INTEGER, sizeof(size_t)},
                      {"ta", OSSL_PARAM_OCTET_STRING, 16},
                      {"tags", OSSL_PARAM_OCTET_STRING, 16},
                      {"", OSSL_PARAM_OCTET_STRING, 16}};
  for (const Ask& a : asks) {
    SCOPED_TRACE(std::string(a.name) + " size " + std::to_string(a.size));
    uint8_t buf[2][16];
    OSSL_PARAM p[2][2];
    int rc[2];
    for (int i = 0; i < 2; ++i) {
      std::memset(buf[i], 0xA5, sizeof buf[i]);
      p[i][0] = OSSL_PARAM_DEFN(a.name, a.type, a.size ? buf[i] : nullptr, a.size);
      p[i][1] = OSSL_PARAM_construct_end();
      rc[i] = EVP_CIPHER_CTX_get_params(ctx[i], p[i]);
      ERR_clear_error();
    }
    EXPECT_EQ(rc[0], rc[1]);
    EXPECT_EQ(p[0][0].return_size, p[1][0].return_size);
    EXPECT_EQ(0, std::memcmp(buf[0], buf[1], sizeof buf[0]));
  }
  // The tag asked with a size and no buffer: the size alone, no copy (a
  // caller sizing its buffer first); gputls copied to the null pointer.
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE(i == 0 ? "gputls" : "default");
    OSSL_PARAM p[] = {OSSL_PARAM_DEFN("tag", OSSL_PARAM_OCTET_STRING, nullptr, 16), OSSL_PARAM_END};
    EXPECT_EQ(EVP_CIPHER_CTX_get_params(ctx[i], p), 1);
    EXPECT_EQ(p[0].return_size, 16u);
    ERR_clear_error();
  }
  // The expected tag on decrypting contexts: accepted at 16 and 12 bytes,
  // read back by neither (a decrypting context has no tag to give), refused
  // at 17; a name sharing only a prefix with it is ignored.
  for (int i = 0; i < 2; ++i) ASSERT_EQ(EVP_DecryptInit_ex2(ctx[i], nullptr, key.data(), iv.data(), nullptr), 1);
  for (const Ask& a : {Ask{"tag", OSSL_PARAM_OCTET_STRING, 16}, Ask{"tag", OSSL_PARAM_OCTET_STRING, 12},
                       Ask{"tag", OSSL_PARAM_OCTET_STRING, 17}, Ask{"tagx", OSSL_PARAM_OCTET_STRING, 16}}) {
    SCOPED_TRACE(std::string("set ") + a.name + " size " + std::to_string(a.size));
    uint8_t t[17] = {1, 2, 3};
    int rc[2];
    for (int i = 0; i < 2; ++i) {
      OSSL_PARAM p[] = {OSSL_PARAM_DEFN(a.name, a.type, t, a.size), OSSL_PARAM_END};
      rc[i] = EVP_CIPHER_CTX_set_params(ctx[i], p);
      ERR_clear_error();
    }
    EXPECT_EQ(rc[0], rc[1]);
  }
  for (EVP_CIPHER_CTX* c : ctx) EVP_CIPHER_CTX_free(c);
}

// A context whose records ran on its key's lane (the engine's fast path, kept
// per context) in a parent keeps sealing in a forked child: the lane is the
// parent engine's, which the child must not use; its records run on the
// child's own engine, right and counted there.
TEST_F(Cipher, ForkedChildRecordsRunOnItsOwnEngine) {
  const Bytes key = random_bytes(16), pt = random_bytes(64), aad = tls13_header(pt.size());
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  ASSERT_EQ(EVP_EncryptInit_ex2(c, ours_[0], key.data(), nullptr, nullptr), 1);
  // One TLS 1.3-shaped record with this IV in this context, its result against the default provider's.
  auto record = [&](const Bytes& iv) {
    int n = 0, f = 0;
    Bytes ct(pt.size()), tag(16);
    const bool ok = EVP_EncryptInit_ex2(c, nullptr, nullptr, iv.data(), nullptr) == 1 &&
                    EVP_EncryptUpdate(c, nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1 &&
                    EVP_EncryptUpdate(c, ct.data(), &n, pt.data(), static_cast<int>(pt.size())) == 1 &&
                    EVP_EncryptFinal_ex(c, ct.data() + n, &f) == 1 &&
                    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, tag.data()) == 1;
    const Sealed want = seal(ref_[0], key, iv, aad, pt, false);
    return ok && want.ok && ct == want.ct && tag == want.tag;
  };
  // Seals the child's engine served on its caller's thread (ran_now: a batch of one by the CPU).
  auto engine_seals = [&] {
    uint64_t n = 0;
    const nlohmann::json s = stats();
    for (const auto& op : s["engine"]["ops"])
      if (op["op"] == "aes_gcm_seal") n += op["served_by"].value("cpu", uint64_t{0});
    return n;
  };
  const uint64_t before = count("aes_gcm_seal");
  ASSERT_TRUE(record(random_bytes(12)));
  ASSERT_TRUE(record(random_bytes(12)));
  ASSERT_EQ(count("aes_gcm_seal"), before + 2);
  fflush(nullptr);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: no gtest assertions, an exit code.
    const uint64_t child_before = engine_seals();  // a fresh engine: none yet
    bool ok = true;
    for (int i = 0; i < 3; ++i) ok = ok && record(random_bytes(12));
    _exit(!ok ? 1 : count("aes_gcm_seal") != before + 5 ? 2 : engine_seals() != child_before + 3 ? 3 : 0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "1: a wrong record, 2: not counted as gputls's engine, 3: not on the child's engine";
  EXPECT_TRUE(record(random_bytes(12))) << "and the parent's context still works";
  EXPECT_EQ(count("aes_gcm_seal"), before + 3);
  EVP_CIPHER_CTX_free(c);
}

}  // namespace
}  // namespace gputls::host::testing
