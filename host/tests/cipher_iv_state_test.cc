// gputls's AES-GCM IV state machine and every way of driving the cipher,
// step by step against OpenSSL's default provider: each step is run on a
// gputls context and a default-provider context, and both must succeed or
// fail together with the same output. Covers the nonce-reuse defect (a key
// re-init after final must not make the finished IV usable again), IVs the
// cipher generates, TLS 1.2 fixed/invocation IVs outside libssl, IV lengths
// other than 96 bits, data over several updates, the tag set before the key,
// and random sequences of all of them.
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tls_fixture.h"

namespace gputls::host::testing {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes random_bytes(size_t n) {
  Bytes b(n);
  if (n) RAND_bytes(b.data(), static_cast<int>(n));
  return b;
}

// One call on a cipher context and what it gave.
struct Step {
  enum Kind { kInit, kAad, kData, kDataInPlace, kFinal, kSetTag, kGetTag, kSetIvLen, kGetIv, kIvGen, kSetIvInv,
              kSetFixed, kTlsAad, kTlsRecord };
  explicit Step(Kind k) : kind(k) {}
  Kind kind;
  int enc = 1;                  // kInit
  std::optional<Bytes> key, iv; // kInit
  Bytes data;                   // input bytes or the parameter's value
  size_t n = 0;                 // lengths: kSetIvLen, kIvGen, kGetTag; kSetFixed: SIZE_MAX restores a whole IV
  std::string what() const {
    static const char* names[] = {"init", "aad", "data", "data-in-place", "final", "set-tag", "get-tag", "set-ivlen",
                                  "get-iv", "iv-gen", "set-iv-inv", "set-fixed", "tls-aad", "tls-record"};
    std::string s = names[kind];
    if (kind == kInit)
      s += std::string(enc ? "(enc" : "(dec") + (key ? ",key" : "") + (iv ? ",iv" : "") + ")";
    else
      s += "(" + std::to_string(data.size() ? data.size() : n) + ")";
    return s;
  }
};

struct Outcome {
  bool ok = false;
  Bytes out;
  bool error_queued = false;  // a refusal left an error on the queue
};

Outcome apply(EVP_CIPHER_CTX* c, EVP_CIPHER* cipher, const Step& s) {
  ERR_clear_error();
  Outcome o;
  int n = 0;
  switch (s.kind) {
    case Step::kInit:
      o.ok = EVP_CipherInit_ex2(c, cipher, s.key ? s.key->data() : nullptr, s.iv ? s.iv->data() : nullptr, s.enc,
                                nullptr) == 1;
      break;
    case Step::kAad:
      o.ok = EVP_CipherUpdate(c, nullptr, &n, s.data.data(), static_cast<int>(s.data.size())) == 1;
      break;
    case Step::kData:
      o.out.assign(s.data.size() + 32, 0xA5);
      o.ok = EVP_CipherUpdate(c, o.out.data(), &n, s.data.data(), static_cast<int>(s.data.size())) == 1;
      o.out.resize(o.ok ? static_cast<size_t>(n) : 0);
      break;
    case Step::kDataInPlace:
      o.out = s.data;
      o.ok = EVP_CipherUpdate(c, o.out.data(), &n, o.out.data(), static_cast<int>(o.out.size())) == 1;
      if (!o.ok) o.out.clear();
      break;
    case Step::kFinal:
      o.out.assign(32, 0xA5);
      o.ok = EVP_CipherFinal_ex(c, o.out.data(), &n) == 1;
      o.out.resize(o.ok ? static_cast<size_t>(n) : 0);
      break;
    case Step::kSetTag:
      o.ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(s.data.size()),
                                 const_cast<uint8_t*>(s.data.data())) > 0;
      break;
    case Step::kGetTag:
      o.out.assign(s.n, 0);
      o.ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(s.n), o.out.data()) > 0;
      if (!o.ok) o.out.clear();
      break;
    case Step::kSetIvLen:
      o.ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(s.n), nullptr) > 0;
      if (o.ok) o.out.push_back(static_cast<uint8_t>(EVP_CIPHER_CTX_get_iv_length(c)));
      break;
    case Step::kGetIv:
      o.out.assign(128, 0);
      o.ok = EVP_CIPHER_CTX_get_updated_iv(c, o.out.data(), EVP_CIPHER_CTX_get_iv_length(c)) == 1;
      o.out.resize(o.ok ? static_cast<size_t>(EVP_CIPHER_CTX_get_iv_length(c)) : 0);
      break;
    case Step::kIvGen:
      o.out.assign(s.n, 0);
      o.ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_IV_GEN, static_cast<int>(s.n), o.out.data()) > 0;
      if (!o.ok) o.out.clear();
      break;
    case Step::kSetIvInv:
      o.ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IV_INV, static_cast<int>(s.data.size()),
                                 const_cast<uint8_t*>(s.data.data())) > 0;
      break;
    case Step::kSetFixed:
      o.ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IV_FIXED, s.n == SIZE_MAX ? -1 : static_cast<int>(s.data.size()),
                                 const_cast<uint8_t*>(s.data.data())) > 0;
      break;
    case Step::kTlsAad: {
      const int pad = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_TLS1_AAD, static_cast<int>(s.data.size()),
                                          const_cast<uint8_t*>(s.data.data()));
      o.ok = pad > 0;
      if (o.ok) o.out.push_back(static_cast<uint8_t>(pad));
      break;
    }
    case Step::kTlsRecord:
      o.out = s.data;
      o.ok = EVP_CipherUpdate(c, o.out.data(), &n, o.out.data(), static_cast<int>(o.out.size())) == 1;
      o.out.resize(o.ok ? static_cast<size_t>(n) : 0);
      break;
  }
  o.error_queued = ERR_peek_error() != 0;
  ERR_clear_error();
  return o;
}

class CipherIvState : public ProviderFixture {
 protected:
  void SetUp() override {
    ProviderFixture::SetUp();
    ours_ = EVP_CIPHER_fetch(lib_, "AES-128-GCM", "provider=gputls");
    ref_ = EVP_CIPHER_fetch(lib_, "AES-128-GCM", "provider=default");
    ASSERT_NE(ours_, nullptr);
    ASSERT_NE(ref_, nullptr);
  }
  void TearDown() override {
    EVP_CIPHER_free(ours_);
    EVP_CIPHER_free(ref_);
    ProviderFixture::TearDown();
  }

  // Runs the steps on both providers; every step must agree. Returns the
  // outcomes of gputls's context. `skip_output` lists steps whose outputs
  // differ by design (random IVs the cipher generated).
  std::vector<Outcome> run_both(const std::vector<Step>& steps, const std::vector<size_t>& skip_output = {}) {
    EVP_CIPHER_CTX* a = EVP_CIPHER_CTX_new();
    EVP_CIPHER_CTX* b = EVP_CIPHER_CTX_new();
    std::vector<Outcome> got;
    bool first = true;
    for (size_t i = 0; i < steps.size(); ++i) {
      const Step& s = steps[i];
      SCOPED_TRACE("step " + std::to_string(i) + " " + s.what());
      // The first init names the cipher; later ones re-initialise the context.
      const Outcome x = apply(a, first && s.kind == Step::kInit ? ours_ : nullptr, s);
      const Outcome y = apply(b, first && s.kind == Step::kInit ? ref_ : nullptr, s);
      if (s.kind == Step::kInit) first = false;
      EXPECT_EQ(x.ok, y.ok) << "gputls and the default provider disagree";
      if (x.ok && y.ok && std::find(skip_output.begin(), skip_output.end(), i) == skip_output.end()) {
        EXPECT_EQ(x.out, y.out) << "different output";
      }
      if (!x.ok && s.kind != Step::kGetTag && s.kind != Step::kGetIv) {
        EXPECT_TRUE(x.error_queued) << "gputls refused without saying why on the error queue";
      }
      got.push_back(x);
    }
    EVP_CIPHER_CTX_free(a);
    EVP_CIPHER_CTX_free(b);
    return got;
  }

  EVP_CIPHER* ours_ = nullptr;
  EVP_CIPHER* ref_ = nullptr;
};

Step init(int enc, std::optional<Bytes> key, std::optional<Bytes> iv) {
  Step s(Step::kInit);
  s.enc = enc;
  s.key = std::move(key);
  s.iv = std::move(iv);
  return s;
}
Step with(Step::Kind k, Bytes data = {}, size_t n = 0) {
  Step s(k);
  s.data = std::move(data);
  s.n = n;
  return s;
}

// The reproduced defect: after final, re-initialising with the key alone
// must not allow a second message under the same IV.
TEST_F(CipherIvState, KeyOnlyReinitAfterFinalDoesNotReuseTheIv) {
  const Bytes key = random_bytes(16), iv = random_bytes(12), m1 = random_bytes(64), m2 = random_bytes(64);
  const auto got = run_both({init(1, key, iv), with(Step::kData, m1), with(Step::kFinal), with(Step::kGetTag, {}, 16),
                             init(1, key, std::nullopt), with(Step::kData, m2), with(Step::kFinal),
                             init(1, std::nullopt, std::nullopt), with(Step::kAad, m2), with(Step::kFinal)});
  EXPECT_FALSE(got[5].ok) << "a second message was sealed under a finished IV";
  EXPECT_FALSE(got[6].ok);
  EXPECT_FALSE(got[8].ok);
  EXPECT_FALSE(got[9].ok);
}

// Re-init with the IV alone, or key and IV, starts a fresh message; the
// decrypt direction finishes its IV the same way.
TEST_F(CipherIvState, ReinitWithIvOrKeyAndIv) {
  const Bytes key = random_bytes(16), key2 = random_bytes(16), iv = random_bytes(12), iv2 = random_bytes(12),
              aad = random_bytes(20), m = random_bytes(100);
  run_both({init(1, key, iv), with(Step::kAad, aad), with(Step::kData, m), with(Step::kFinal),
            with(Step::kGetTag, {}, 16), init(1, std::nullopt, iv2), with(Step::kData, m), with(Step::kFinal),
            with(Step::kGetTag, {}, 16), init(1, key2, iv), with(Step::kData, m), with(Step::kFinal),
            with(Step::kGetTag, {}, 16), with(Step::kGetIv),
            // decrypting: a wrong tag fails at final
            init(0, key, iv), with(Step::kSetTag, random_bytes(16)), with(Step::kData, m), with(Step::kFinal)});
}

// Encrypting with a key and no IV: the cipher generates a random 96-bit IV,
// readable afterwards; decrypting with no IV is refused.
TEST_F(CipherIvState, GeneratedIvs) {
  const Bytes key = random_bytes(16), m = random_bytes(50);
  const auto got = run_both({init(1, key, std::nullopt), with(Step::kGetIv), with(Step::kData, m), with(Step::kFinal),
                             with(Step::kGetTag, {}, 16), with(Step::kGetIv), with(Step::kData, m)},
                            /*skip_output=*/{2, 4, 5});
  ASSERT_TRUE(got[2].ok && got[4].ok && got[5].ok);
  // gputls's ciphertext opens under the IV it reported, in the default provider.
  EVP_CIPHER_CTX* d = EVP_CIPHER_CTX_new();
  Bytes pt(m.size());
  int n = 0;
  ASSERT_EQ(EVP_DecryptInit_ex2(d, ref_, key.data(), got[5].out.data(), nullptr), 1);
  ASSERT_EQ(EVP_CIPHER_CTX_ctrl(d, EVP_CTRL_AEAD_SET_TAG, 16, const_cast<uint8_t*>(got[4].out.data())), 1);
  ASSERT_EQ(EVP_DecryptUpdate(d, pt.data(), &n, got[2].out.data(), static_cast<int>(got[2].out.size())), 1);
  EXPECT_EQ(EVP_DecryptFinal_ex(d, pt.data() + n, &n), 1);
  EXPECT_EQ(pt, m);
  EVP_CIPHER_CTX_free(d);
  run_both({init(0, key, std::nullopt), with(Step::kSetTag, random_bytes(16)), with(Step::kData, m),
            with(Step::kFinal)});
}

// EVP_CTRL_GCM_SET_IV_FIXED / IV_GEN / SET_IV_INV outside libssl (as
// applications build TLS-style IVs): a whole IV restored, then generated IVs
// counting up; the decrypt side takes each invocation field.
TEST_F(CipherIvState, FixedAndInvocationIvs) {
  const Bytes key = random_bytes(16), whole = random_bytes(12), fixed = random_bytes(4), m = random_bytes(40);
  Step restore = with(Step::kSetFixed, whole, SIZE_MAX);
  const auto got = run_both({init(1, key, std::nullopt), restore, with(Step::kIvGen, {}, 8), with(Step::kData, m),
                             with(Step::kFinal), with(Step::kGetTag, {}, 16), with(Step::kIvGen, {}, 8),
                             with(Step::kData, m), with(Step::kFinal), with(Step::kGetIv),
                             // IV_GEN with no fixed part, and SET_IV_INV when encrypting: refused by both
                             init(1, key, random_bytes(12)), with(Step::kSetIvInv, random_bytes(8))});
  ASSERT_TRUE(got[2].ok);
  // The decrypt side: fixed part, then the invocation field of each message.
  const Bytes inv = got[2].out;
  Bytes dfixed(whole.begin(), whole.begin() + 4);
  run_both({init(0, key, std::nullopt), with(Step::kSetFixed, dfixed), with(Step::kSetIvInv, inv),
            with(Step::kSetTag, got[5].out), with(Step::kData, got[3].out), with(Step::kFinal),
            with(Step::kSetIvInv, inv), with(Step::kData, got[3].out), with(Step::kFinal), with(Step::kGetIv)});
  // A fixed part of the wrong size, and IV_GEN before any fixed part.
  run_both({init(1, key, std::nullopt), with(Step::kIvGen, {}, 8), with(Step::kSetFixed, random_bytes(3)),
            with(Step::kSetFixed, random_bytes(9)), with(Step::kSetFixed, fixed), with(Step::kIvGen, {}, 8)},
           /*skip_output=*/{5});
}

// TLS 1.2 record mode driven through EVP (as libssl does), then ordinary
// use of the same context: the record finished its IV.
TEST_F(CipherIvState, TlsRecordModeFinishesTheIv) {
  const Bytes key = random_bytes(16), whole = random_bytes(12);
  Bytes aad = random_bytes(13);
  Bytes record = random_bytes(8 + 100 + 16);
  aad[11] = 0;
  aad[12] = static_cast<uint8_t>(record.size() - 16);  // the plaintext length, as libssl passes it on encrypt
  Step restore = with(Step::kSetFixed, whole, SIZE_MAX);
  const auto got = run_both({init(1, key, std::nullopt), restore, with(Step::kTlsAad, aad),
                             with(Step::kTlsRecord, record), with(Step::kData, random_bytes(10)),
                             with(Step::kTlsAad, aad), with(Step::kTlsRecord, record),
                             // too short for explicit IV and tag; a bad AAD length field
                             with(Step::kTlsAad, aad), with(Step::kTlsRecord, random_bytes(20))});
  ASSERT_TRUE(got[3].ok);
  // The decrypt side of the first record.
  Bytes daad = aad;
  daad[12] = static_cast<uint8_t>(record.size());
  run_both({init(0, key, std::nullopt), with(Step::kSetFixed, Bytes(whole.begin(), whole.begin() + 4)),
            with(Step::kTlsAad, daad), with(Step::kTlsRecord, got[3].out), with(Step::kTlsAad, daad),
            with(Step::kTlsRecord, record)});
}

// IVs of other lengths, data and AAD over several updates (in place and
// not), the tag set before the key, shorter tags: served like the default.
TEST_F(CipherIvState, EverythingTheDefaultProviderServes) {
  const uint64_t sw_before = count("aes_gcm_seal", "sw") + count("aes_gcm_open", "sw");
  const Bytes key = random_bytes(16), m = random_bytes(1000), aad = random_bytes(33);
  for (size_t ivlen : {1, 8, 12, 13, 16, 60, 128}) {
    SCOPED_TRACE("ivlen " + std::to_string(ivlen));
    const Bytes iv = random_bytes(ivlen);
    const auto got = run_both({init(1, key, std::nullopt), with(Step::kSetIvLen, {}, ivlen), init(1, std::nullopt, iv),
                               with(Step::kAad, Bytes(aad.begin(), aad.begin() + 10)),
                               with(Step::kAad, Bytes(aad.begin() + 10, aad.end())),
                               with(Step::kData, Bytes(m.begin(), m.begin() + 1)),
                               with(Step::kDataInPlace, Bytes(m.begin() + 1, m.begin() + 500)),
                               with(Step::kData, Bytes(m.begin() + 500, m.end())), with(Step::kFinal),
                               with(Step::kGetTag, {}, 16), with(Step::kGetIv)});
    ASSERT_TRUE(got[8].ok);
    Bytes ct = got[5].out;
    ct.insert(ct.end(), got[6].out.begin(), got[6].out.end());
    ct.insert(ct.end(), got[7].out.begin(), got[7].out.end());
    // Decrypt: tag before the key, data split, in place; then a 12-byte tag.
    Bytes tag12(got[9].out.begin(), got[9].out.begin() + 12);
    run_both({init(0, std::nullopt, std::nullopt), with(Step::kSetTag, got[9].out), init(0, key, std::nullopt),
              with(Step::kSetIvLen, {}, ivlen), init(0, std::nullopt, iv), with(Step::kAad, aad),
              with(Step::kDataInPlace, Bytes(ct.begin(), ct.begin() + 700)),
              with(Step::kData, Bytes(ct.begin() + 700, ct.end())), with(Step::kFinal),
              init(0, std::nullopt, iv), with(Step::kSetTag, tag12), with(Step::kAad, aad), with(Step::kData, ct),
              with(Step::kFinal)});
  }
  // Invalid IV lengths: refused by both.
  run_both({init(1, key, std::nullopt), with(Step::kSetIvLen, {}, 0), with(Step::kSetIvLen, {}, 129)});
  EXPECT_GT(count("aes_gcm_seal", "sw") + count("aes_gcm_open", "sw"), sw_before)
      << "these messages ran in gputls's software context";
}

// Random sequences of calls. Inits without an IV come only after a final
// (what they do to a message in progress is unspecified), so every step is
// deterministic and both providers must agree on all of them.
TEST_F(CipherIvState, RandomSequencesAgree) {
  std::mt19937 rng(20261206);
  const Bytes keys[2] = {random_bytes(16), random_bytes(16)};
  const Bytes ivs[2] = {random_bytes(16), random_bytes(16)};  // read as 12 or 16 bytes
  for (int seq = 0; seq < 150; ++seq) {
    SCOPED_TRACE("sequence " + std::to_string(seq));
    std::vector<Step> steps;
    int enc = 1;
    bool finished = false;
    steps.push_back(init(enc, keys[0], ivs[0]));
    for (int i = 0; i < 14; ++i) {
      switch (rng() % 10) {
        case 0: {
          const int variant = rng() % 3;
          const bool keep_dir = rng() % 2;
          if (!keep_dir) enc = static_cast<int>(rng() % 2);
          if (variant == 0 || !finished) {
            if (rng() % 4 == 0) steps.push_back(with(Step::kSetIvLen, {}, rng() % 2 ? 12 : 16));
            steps.push_back(init(enc, keys[rng() % 2], ivs[rng() % 2]));
            finished = false;
          } else {  // the IV stays finished
            steps.push_back(init(enc, variant == 1 ? std::optional<Bytes>(keys[rng() % 2]) : std::nullopt,
                                 std::nullopt));
          }
          break;
        }
        case 1:
        case 2: steps.push_back(with(Step::kAad, random_bytes(rng() % 40 + 1))); break;
        case 3: steps.push_back(with(Step::kData, random_bytes(rng() % 300 + 1))); break;
        case 4: steps.push_back(with(Step::kDataInPlace, random_bytes(rng() % 300 + 1))); break;
        case 5:  // an encrypting final always leaves the IV finished; a failed decrypt does not
          steps.push_back(with(Step::kFinal));
          finished = enc == 1;
          break;
        case 6: steps.push_back(with(Step::kSetTag, random_bytes(rng() % 17))); break;
        case 7: steps.push_back(with(Step::kGetTag, {}, rng() % 17 + 1)); break;
        case 8: steps.push_back(with(Step::kGetIv)); break;
        case 9: steps.push_back(with(Step::kSetIvLen, {}, rng() % 2 ? 12 : 16)); break;
      }
    }
    run_both(steps);
    if (HasFailure()) {
      std::string all;
      for (const Step& s : steps) all += s.what() + " ";
      ADD_FAILURE() << "sequence: " << all;
      break;
    }
  }
}

}  // namespace
}  // namespace gputls::host::testing
