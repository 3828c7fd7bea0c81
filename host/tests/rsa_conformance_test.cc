// RSA conformance with OpenSSL's default provider (issue 21, RSA items):
// every case runs the same calls on a `provider=default` fetch and on a
// `provider=gputls` fetch of the same library context, and asserts the same
// success or failure at the same step, the same output where it is
// deterministic (or a cross-check by the default provider where it is not),
// an error on the queue for every refusal, and that gputls served the
// operation (the fetched provider's name and gputls's counters).
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "tls_fixture.h"

namespace gputls::host::testing {
namespace {

using Bytes = std::vector<uint8_t>;
using Params = std::function<bool(EVP_PKEY_CTX*)>;

constexpr const char* kDefault = "provider=default";
constexpr const char* kGputls = "provider=gputls";

Bytes unhex(const std::string& h) {
  if (h.empty()) return {};
  long len = 0;
  unsigned char* buf = OPENSSL_hexstr2buf(h.c_str(), &len);
  EXPECT_NE(buf, nullptr) << h;
  Bytes b(buf, buf + (buf ? len : 0));
  OPENSSL_free(buf);
  return b;
}

// Where an operation stopped: kOk, or the step that failed.
enum Step { kOk = 0, kInit = 1, kParams = 2, kOp = 3 };
const char* step_name(int s) {
  static const char* names[] = {"ok", "init", "params", "operation"};
  return names[s];
}

struct Outcome {
  int failed_at = kOk;
  Bytes out;
  bool error_queued = false;  // something on the error queue when it failed
  std::string error_text;     // the first error's reason and data
  std::string provider;       // the provider that served the fetched operation
};

void finish(Outcome* r, EVP_PKEY_CTX* pctx) {
  if (pctx && EVP_PKEY_CTX_get0_provider(pctx)) r->provider = OSSL_PROVIDER_get0_name(EVP_PKEY_CTX_get0_provider(pctx));
  if (r->failed_at != kOk) {
    const char* data = nullptr;
    int flags = 0;
    const unsigned long e = ERR_peek_error_data(&data, &flags);
    r->error_queued = e != 0;
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    r->error_text = std::string(buf) + ((flags & ERR_TXT_STRING) && data ? std::string(" / ") + data : "");
  }
  ERR_clear_error();
}

std::string describe(const Outcome& r) {
  return std::string(step_name(r.failed_at)) + " [" + r.provider + "] " + r.error_text;
}

// EVP_DigestSign (md may be nullptr: the key's default or mandatory digest).
Outcome digest_sign(OSSL_LIB_CTX* lib, const char* propq, EVP_PKEY* key, const char* md, const Params& params,
                const Bytes& msg) {
  Outcome r;
  ERR_clear_error();
  EVP_MD_CTX* m = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  size_t len = 0;
  if (EVP_DigestSignInit_ex(m, &pctx, md, lib, propq, key, nullptr) != 1) {
    r.failed_at = kInit;
  } else if (params && !params(pctx)) {
    r.failed_at = kParams;
  } else if (EVP_DigestSign(m, nullptr, &len, msg.data(), msg.size()) != 1 ||
             (r.out.resize(len), EVP_DigestSign(m, r.out.data(), &len, msg.data(), msg.size()) != 1)) {
    r.failed_at = kOp;
  } else {
    r.out.resize(len);
  }
  finish(&r, pctx);
  EVP_MD_CTX_free(m);
  return r;
}

Outcome digest_verify(OSSL_LIB_CTX* lib, const char* propq, EVP_PKEY* key, const char* md, const Params& params,
                  const Bytes& msg, const Bytes& sig) {
  Outcome r;
  ERR_clear_error();
  EVP_MD_CTX* m = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestVerifyInit_ex(m, &pctx, md, lib, propq, key, nullptr) != 1) r.failed_at = kInit;
  else if (params && !params(pctx)) r.failed_at = kParams;
  else if (EVP_DigestVerify(m, sig.data(), sig.size(), msg.data(), msg.size()) != 1) r.failed_at = kOp;
  finish(&r, pctx);
  EVP_MD_CTX_free(m);
  return r;
}

// One EVP_PKEY_CTX operation: sign, verify_recover, encrypt or decrypt.
enum class Op { kSign, kVerifyRecover, kEncrypt, kDecrypt };
Outcome pkey_op(OSSL_LIB_CTX* lib, const char* propq, EVP_PKEY* key, Op op, const Params& params, const Bytes& in,
            size_t outsize = 0) {
  Outcome r;
  ERR_clear_error();
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(lib, key, propq);
  int init = 0;
  switch (op) {
    case Op::kSign: init = EVP_PKEY_sign_init(c); break;
    case Op::kVerifyRecover: init = EVP_PKEY_verify_recover_init(c); break;
    case Op::kEncrypt: init = EVP_PKEY_encrypt_init(c); break;
    case Op::kDecrypt: init = EVP_PKEY_decrypt_init(c); break;
  }
  auto run = [&](unsigned char* out, size_t* len) {
    switch (op) {
      case Op::kSign: return EVP_PKEY_sign(c, out, len, in.data(), in.size());
      case Op::kVerifyRecover: return EVP_PKEY_verify_recover(c, out, len, in.data(), in.size());
      case Op::kEncrypt: return EVP_PKEY_encrypt(c, out, len, in.data(), in.size());
      case Op::kDecrypt: return EVP_PKEY_decrypt(c, out, len, in.data(), in.size());
    }
    return 0;
  };
  size_t len = 0;
  if (init != 1) {
    r.failed_at = kInit;
  } else if (params && !params(c)) {
    r.failed_at = kParams;
  } else if (run(nullptr, &len) != 1) {
    r.failed_at = kOp;
  } else {
    if (outsize) len = outsize;
    r.out.resize(len);
    if (run(r.out.data(), &len) != 1) r.failed_at = kOp;
    else r.out.resize(len);
  }
  finish(&r, c);
  EVP_PKEY_CTX_free(c);
  return r;
}

// The default provider's and gputls's runs agree: the same step failed (or
// none); gputls's refusal left an error; gputls served it once it got the
// operation. With `same_output`, successful outputs are identical.
void expect_same(const Outcome& d, const Outcome& g, bool same_output, const std::string& what) {
  EXPECT_EQ(g.failed_at, d.failed_at) << what << "\n  default: " << describe(d) << "\n  gputls:  " << describe(g);
  if (g.failed_at != kOk) {
    EXPECT_TRUE(g.error_queued) << what << ": gputls refused with nothing on the error queue";
  }
  if (g.failed_at != kInit || !g.provider.empty()) {
    EXPECT_EQ(g.provider, "gputls") << what;
  }
  if (same_output && d.failed_at == kOk && g.failed_at == kOk) {
    EXPECT_EQ(g.out, d.out) << what;
  }
}

// Keys made by the default provider (in OpenSSL's default context).
EVP_PKEY* make_key(const char* type, int bits, int primes = 2, const char* pss_md = nullptr,
                   const char* pss_mgf1 = nullptr, int pss_saltlen = -1) {
  EVP_PKEY_CTX* g = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* k = nullptr;
  bool ok = g && EVP_PKEY_keygen_init(g) == 1 && EVP_PKEY_CTX_set_rsa_keygen_bits(g, bits) == 1 &&
            (primes == 2 || EVP_PKEY_CTX_set_rsa_keygen_primes(g, primes) == 1) &&
            (!pss_md || EVP_PKEY_CTX_set_rsa_pss_keygen_md_name(g, pss_md, nullptr) == 1) &&
            (!pss_mgf1 || EVP_PKEY_CTX_set_rsa_pss_keygen_mgf1_md_name(g, pss_mgf1) == 1) &&
            (pss_saltlen < 0 || EVP_PKEY_CTX_set_rsa_pss_keygen_saltlen(g, pss_saltlen) == 1) &&
            EVP_PKEY_generate(g, &k) == 1;
  EVP_PKEY_CTX_free(g);
  EXPECT_TRUE(ok) << type << " " << bits;
  return ok ? k : nullptr;
}

// Shared keys (generation is slow), made once.
EVP_PKEY* rsa2048() {
  static EVP_PKEY* k = make_key("RSA", 2048);
  return k;
}
EVP_PKEY* pss_unrestricted() {
  static EVP_PKEY* k = make_key("RSA-PSS", 2048);
  return k;
}
EVP_PKEY* pss_restricted() {  // SHA-256, MGF1 with SHA-256, salt at least 32
  static EVP_PKEY* k = make_key("RSA-PSS", 2048, 2, "SHA256", "SHA256", 32);
  return k;
}

Params pad(int mode) {
  return [mode](EVP_PKEY_CTX* c) { return EVP_PKEY_CTX_set_rsa_padding(c, mode) == 1; };
}
Params all(std::vector<Params> ps) {
  return [ps](EVP_PKEY_CTX* c) {
    for (const auto& p : ps)
      if (!p(c)) return false;
    return true;
  };
}
Params saltlen(int s) {
  return [s](EVP_PKEY_CTX* c) { return EVP_PKEY_CTX_set_rsa_pss_saltlen(c, s) == 1; };
}
Params mgf1(const char* md) {
  return [md](EVP_PKEY_CTX* c) { return EVP_PKEY_CTX_set_rsa_mgf1_md_name(c, md, nullptr) == 1; };
}
Params sig_md(const char* md) {
  return [md](EVP_PKEY_CTX* c) {
    EVP_MD* m = EVP_MD_fetch(nullptr, md, nullptr);
    const bool ok = m && EVP_PKEY_CTX_set_signature_md(c, m) == 1;
    EVP_MD_free(m);
    return ok;
  };
}

class RsaConformance : public ProviderFixture {
 protected:
  uint64_t signs() const { return count("rsa_sign") + count("rsa_sign", "sw"); }
  const Bytes msg_{'g', 'p', 'u', 't', 'l', 's', ' ', 'r', 's', 'a'};
};

// Item 1: an RSA-PSS key without restrictions signs with PSS only (by
// default, and PKCS#1 v1.5 or no padding are refused), as the default
// provider does; gputls's signature is a PSS signature the default provider
// accepts, made on gputls's engine.
TEST_F(RsaConformance, RsaPssKeySignsOnlyPss) {
  EVP_PKEY* key = pss_unrestricted();
  ASSERT_NE(key, nullptr);
  const uint64_t before = count("rsa_sign");
  const Outcome d = digest_sign(lib_, kDefault, key, "SHA256", nullptr, msg_);
  const Outcome g = digest_sign(lib_, kGputls, key, "SHA256", nullptr, msg_);
  expect_same(d, g, false, "RSA-PSS key, no parameters");
  ASSERT_EQ(g.failed_at, kOk);
  EXPECT_EQ(count("rsa_sign"), before + 1) << stats().dump();
  // The default provider verifies it as PSS (it refuses PKCS#1 v1.5 for this key type).
  const Outcome v = digest_verify(lib_, kDefault, key, "SHA256", nullptr, msg_, g.out);
  EXPECT_EQ(v.failed_at, kOk) << describe(v);
  const Outcome v15 = digest_verify(lib_, kDefault, key, "SHA256", pad(RSA_PKCS1_PSS_PADDING), msg_, g.out);
  EXPECT_EQ(v15.failed_at, kOk) << describe(v15);
  for (int mode : {RSA_PKCS1_PADDING, RSA_NO_PADDING, RSA_X931_PADDING, RSA_PKCS1_OAEP_PADDING}) {
    SCOPED_TRACE(mode);
    expect_same(digest_sign(lib_, kDefault, key, "SHA256", pad(mode), msg_),
                digest_sign(lib_, kGputls, key, "SHA256", pad(mode), msg_), false, "RSA-PSS key, pad mode");
    Bytes digest(32, 0x11);
    expect_same(pkey_op(lib_, kDefault, key, Op::kSign, all({sig_md("SHA256"), pad(mode)}), digest),
                pkey_op(lib_, kGputls, key, Op::kSign, all({sig_md("SHA256"), pad(mode)}), digest), false,
                "RSA-PSS key, EVP_PKEY_sign, pad mode");
  }
  // EVP_PKEY_sign without a digest: the default provider has no digest for
  // PSS and fails; so must gputls.
  Bytes digest(32, 0x22);
  expect_same(pkey_op(lib_, kDefault, key, Op::kSign, nullptr, digest),
              pkey_op(lib_, kGputls, key, Op::kSign, nullptr, digest), false, "RSA-PSS key, sign without digest");
  expect_same(pkey_op(lib_, kDefault, key, Op::kSign, sig_md("SHA256"), digest),
              pkey_op(lib_, kGputls, key, Op::kSign, sig_md("SHA256"), digest), false, "RSA-PSS key, sign SHA256");
}

// Item 1: an RSA-PSS key restricted to SHA-256 / MGF1-SHA-256 / salt >= 32
// is imported into gputls (before, gputls refused it and OpenSSL silently
// used the default provider) and its restrictions hold exactly as in the
// default provider.
TEST_F(RsaConformance, RsaPssKeyRestrictions) {
  EVP_PKEY* key = pss_restricted();
  ASSERT_NE(key, nullptr);
  struct Case {
    const char* what;
    const char* md;
    Params params;
    int salt;  // the salt the signature gets (the default provider verifies with it)
  };
  const int max_salt = 256 - 32 - 2;
  const Case cases[] = {
      {"the key's digest", "SHA256", nullptr, 32},
      {"no digest named (mandatory digest)", nullptr, nullptr, 32},
      {"another digest", "SHA384", nullptr, 32},
      {"SHA-1", "SHA1", nullptr, 32},
      {"another MGF1 digest", "SHA256", mgf1("SHA1"), 32},
      {"the key's MGF1 digest", "SHA256", mgf1("SHA256"), 32},
      {"salt below the minimum", "SHA256", saltlen(20), 20},
      {"salt at the minimum", "SHA256", saltlen(32), 32},
      {"salt above the minimum", "SHA256", saltlen(40), 40},
      {"salt = digest length", "SHA256", saltlen(RSA_PSS_SALTLEN_DIGEST), 32},
      {"salt max", "SHA256", saltlen(RSA_PSS_SALTLEN_MAX), max_salt},
      {"salt auto", "SHA256", saltlen(RSA_PSS_SALTLEN_AUTO), max_salt},
      {"salt too large for the key", "SHA256", saltlen(300), 300},
      {"PKCS#1 v1.5", "SHA256", pad(RSA_PKCS1_PADDING), 32},
      {"PSS", "SHA256", pad(RSA_PKCS1_PSS_PADDING), 32},
  };
  for (const Case& cs : cases) {
    const uint64_t before = count("rsa_sign");
    const Outcome d = digest_sign(lib_, kDefault, key, cs.md, cs.params, msg_);
    const Outcome g = digest_sign(lib_, kGputls, key, cs.md, cs.params, msg_);
    expect_same(d, g, false, cs.what);
    if (g.failed_at == kOk) {
      EXPECT_EQ(count("rsa_sign"), before + 1) << cs.what << " signed on gputls's engine";
      const Outcome v = digest_verify(lib_, kDefault, key, cs.md, saltlen(cs.salt), msg_, g.out);
      EXPECT_EQ(v.failed_at, kOk) << cs.what << ": " << describe(v);
    }
  }
  // A key whose minimum salt exceeds the digest: "digest" salt is refused.
  EVP_PKEY* salty = make_key("RSA-PSS", 2048, 2, "SHA256", "SHA256", 48);
  ASSERT_NE(salty, nullptr);
  for (const Params& p : {saltlen(RSA_PSS_SALTLEN_DIGEST), saltlen(47), saltlen(48), Params()}) {
    expect_same(digest_sign(lib_, kDefault, salty, "SHA256", p, msg_),
                digest_sign(lib_, kGputls, salty, "SHA256", p, msg_), false, "minimum salt 48");
  }
  // Verification through gputls enforces the same.
  const Outcome s = digest_sign(lib_, kDefault, key, "SHA256", saltlen(32), msg_);
  ASSERT_EQ(s.failed_at, kOk);
  for (const Params& p : {Params(), saltlen(32), saltlen(20), saltlen(RSA_PSS_SALTLEN_AUTO), mgf1("SHA1")}) {
    expect_same(digest_verify(lib_, kDefault, key, "SHA256", p, msg_, s.out),
                digest_verify(lib_, kGputls, key, "SHA256", p, msg_, s.out), false, "verify, restricted key");
  }
  // The key's parameters as the default provider reports them.
  for (const char* name : {OSSL_PKEY_PARAM_MANDATORY_DIGEST, OSSL_PKEY_PARAM_DEFAULT_DIGEST}) {
    EVP_PKEY* copies[2] = {nullptr, nullptr};
    const char* props[2] = {kDefault, kGputls};
    std::string got[2];
    for (int i = 0; i < 2; ++i) {
      // The key made by that provider: import of the default's key.
      EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_name(lib_, "RSA-PSS", props[i]);
      OSSL_PARAM* kp = nullptr;
      ASSERT_EQ(EVP_PKEY_todata(key, EVP_PKEY_KEYPAIR, &kp), 1);
      ASSERT_EQ(EVP_PKEY_fromdata_init(c), 1);
      ASSERT_EQ(EVP_PKEY_fromdata(c, &copies[i], EVP_PKEY_KEYPAIR, kp), 1) << props[i];
      OSSL_PARAM_free(kp);
      EVP_PKEY_CTX_free(c);
      char buf[64] = "";
      EVP_PKEY_get_utf8_string_param(copies[i], name, buf, sizeof buf, nullptr);
      got[i] = buf;
      EVP_PKEY_free(copies[i]);
    }
    EXPECT_EQ(got[1], got[0]) << name;
  }
  EVP_PKEY_free(salty);
}

// Items 1 and 6: RSA-PSS keys, restricted or not, neither encrypt nor
// decrypt, in gputls as in the default provider (init is refused, with an
// error saying why).
TEST_F(RsaConformance, RsaPssKeyRefusesEncryption) {
  for (EVP_PKEY* key : {pss_unrestricted(), pss_restricted()}) {
    ASSERT_NE(key, nullptr);
    Bytes pt(16, 0x33), ct(256, 0x01);
    for (Op op : {Op::kEncrypt, Op::kDecrypt}) {
      const Outcome d = pkey_op(lib_, kDefault, key, op, nullptr, op == Op::kEncrypt ? pt : ct);
      const Outcome g = pkey_op(lib_, kGputls, key, op, nullptr, op == Op::kEncrypt ? pt : ct);
      expect_same(d, g, false, op == Op::kEncrypt ? "RSA-PSS encrypt" : "RSA-PSS decrypt");
      EXPECT_EQ(g.failed_at, kInit);
      EXPECT_NE(g.error_text.find("gputls"), std::string::npos) << "refused by gputls: " << g.error_text;
    }
  }
}

// Item 2: verify-recover, PKCS#1 v1.5 with a digest (the DigestInfo checked
// and stripped), without one (the DigestInfo returned), and raw.
TEST_F(RsaConformance, VerifyRecover) {
  EVP_PKEY* key = rsa2048();
  ASSERT_NE(key, nullptr);
  Bytes digest(32);
  RAND_bytes(digest.data(), 32);
  const Outcome sig = pkey_op(nullptr, nullptr, key, Op::kSign, sig_md("SHA256"), digest);
  ASSERT_EQ(sig.failed_at, kOk);
  Bytes raw(256);
  RAND_bytes(raw.data(), 256);
  raw[0] = 0x00;
  Bytes bad = sig.out;
  bad[100] ^= 0x40;
  const uint64_t before = count("rsa_verify_recover", "sw");
  struct Case {
    const char* what;
    Params params;
    Bytes sig;
  };
  const Case cases[] = {
      {"PKCS#1 v1.5 with SHA-256", sig_md("SHA256"), sig.out},
      {"PKCS#1 v1.5 without digest", nullptr, sig.out},
      {"PKCS#1 v1.5 with the wrong digest", sig_md("SHA384"), sig.out},
      {"PKCS#1 v1.5 with SHA-1", sig_md("SHA1"), sig.out},
      {"raw", pad(RSA_NO_PADDING), raw},
      {"raw of a signature", pad(RSA_NO_PADDING), sig.out},
      {"PKCS#1 v1.5, corrupted", sig_md("SHA256"), bad},
      {"PKCS#1 v1.5 without digest, corrupted", nullptr, bad},
      {"PSS", all({sig_md("SHA256"), pad(RSA_PKCS1_PSS_PADDING)}), sig.out},
      {"raw with a digest", all({sig_md("SHA256"), pad(RSA_NO_PADDING)}), sig.out},
  };
  int served = 0;
  for (const Case& cs : cases) {
    const Outcome d = pkey_op(lib_, kDefault, key, Op::kVerifyRecover, cs.params, cs.sig);
    const Outcome g = pkey_op(lib_, kGputls, key, Op::kVerifyRecover, cs.params, cs.sig);
    expect_same(d, g, true, cs.what);
    served += g.failed_at == kOk || g.failed_at == kOp;
  }
  const Outcome with_md = pkey_op(lib_, kGputls, key, Op::kVerifyRecover, sig_md("SHA256"), sig.out);
  EXPECT_EQ(with_md.out, digest);
  EXPECT_GT(served, 5);
  EXPECT_EQ(count("rsa_verify_recover", "sw") - before, static_cast<uint64_t>(served + 1)) << stats().dump();
}

// Item 3: raw signing (no padding): exactly the modulus's size and below n,
// as the default provider; the same (deterministic) output.
TEST_F(RsaConformance, RawSigning) {
  EVP_PKEY* key = rsa2048();
  ASSERT_NE(key, nullptr);
  Bytes good(256), below_n(256, 0x00), too_long(257, 0x01), too_short(255, 0x01), big(256, 0xff);
  RAND_bytes(good.data(), 256);
  good[0] = 0x01;
  below_n[255] = 0x02;
  const uint64_t before = count("rsa_sign");
  struct Case {
    const char* what;
    Bytes in;
    Params params;
  };
  const Case cases[] = {
      {"k bytes below n", good, pad(RSA_NO_PADDING)},
      {"small value", below_n, pad(RSA_NO_PADDING)},
      {"k + 1 bytes", too_long, pad(RSA_NO_PADDING)},
      {"k - 1 bytes", too_short, pad(RSA_NO_PADDING)},
      {"above n", big, pad(RSA_NO_PADDING)},
      {"with a digest set first", good, all({sig_md("SHA256"), pad(RSA_NO_PADDING)})},
      {"digest after none", good, all({pad(RSA_NO_PADDING), sig_md("SHA256")})},
      {"PKCS#1 v1.5 without digest", too_short, nullptr},
      {"PKCS#1 v1.5 without digest, 245 bytes", Bytes(245, 0x05), nullptr},
      {"PKCS#1 v1.5 without digest, 246 bytes", Bytes(246, 0x05), nullptr},
      {"MGF1 digest with PKCS#1 v1.5 (item 6)", Bytes(32, 0x05), mgf1("SHA256")},
      {"salt length with PKCS#1 v1.5", Bytes(32, 0x05), saltlen(20)},
  };
  uint64_t ok = 0;
  for (const Case& cs : cases) {
    const Outcome d = pkey_op(lib_, kDefault, key, Op::kSign, cs.params, cs.in);
    const Outcome g = pkey_op(lib_, kGputls, key, Op::kSign, cs.params, cs.in);
    expect_same(d, g, true, cs.what);
    ok += g.failed_at == kOk;
  }
  EXPECT_EQ(ok, 3u);
  EXPECT_EQ(count("rsa_sign"), before + ok) << "every signature on gputls's engine\n" << stats().dump();
}

// Item 4: PKCS#1 v1.5 with every digest the default provider signs with
// (and those it refuses): the same signatures, byte for byte.
TEST_F(RsaConformance, Pkcs1DigestsAsDefaultProvider) {
  EVP_PKEY* key = rsa2048();
  ASSERT_NE(key, nullptr);
  const char* digests[] = {"SHA1",     "SHA224",   "SHA256",   "SHA384",    "SHA512", "SHA512-224",
                           "SHA512-256", "SHA3-224", "SHA3-256", "SHA3-384", "SHA3-512", "MD5",
                           "MD5-SHA1", "RIPEMD160", "MD4",      "MDC2",     "MD2",    "SM3",
                           "SHAKE128", "BLAKE2B-512"};
  uint64_t signed_ok = 0;
  const uint64_t before = count("rsa_sign");
  for (const char* md : digests) {
    const Outcome d = digest_sign(lib_, kDefault, key, md, pad(RSA_PKCS1_PADDING), msg_);
    const Outcome g = digest_sign(lib_, kGputls, key, md, pad(RSA_PKCS1_PADDING), msg_);
    expect_same(d, g, true, std::string("EVP_DigestSign ") + md);
    signed_ok += g.failed_at == kOk;
    // The same digest given to EVP_PKEY_sign.
    EVP_MD* m = EVP_MD_fetch(nullptr, md, nullptr);
    if (!m) continue;
    Bytes dg(static_cast<size_t>(EVP_MD_get_size(m)) ? static_cast<size_t>(EVP_MD_get_size(m)) : 32, 0x5a);
    EVP_MD_free(m);
    const Outcome d2 = pkey_op(lib_, kDefault, key, Op::kSign, sig_md(md), dg);
    const Outcome g2 = pkey_op(lib_, kGputls, key, Op::kSign, sig_md(md), dg);
    expect_same(d2, g2, true, std::string("EVP_PKEY_sign ") + md);
    signed_ok += g2.failed_at == kOk;
  }
  EXPECT_GE(signed_ok, 2u * 13) << "SHA-1, SHA-2 (6), SHA-3 (4), MD5, MD5-SHA1, RIPEMD-160 at least";
  EXPECT_EQ(count("rsa_sign"), before + signed_ok) << stats().dump();
}

// Item 5: RSA-PSS keys are generated with gputls fetched (`openssl genpkey
// -algorithm RSA-PSS`), with restrictions, and sign as PSS keys.
TEST_F(RsaConformance, RsaPssKeyGeneration) {
  const uint64_t before = count("rsa_keygen", "sw");
  for (bool restricted : {false, true}) {
    SCOPED_TRACE(restricted ? "restricted" : "unrestricted");
    EVP_PKEY_CTX* g = EVP_PKEY_CTX_new_from_name(lib_, "RSA-PSS", kGputls);
    ASSERT_NE(g, nullptr);
    ASSERT_EQ(EVP_PKEY_keygen_init(g), 1);
    ASSERT_EQ(EVP_PKEY_CTX_set_rsa_keygen_bits(g, 2048), 1);
    if (restricted) {
      ASSERT_EQ(EVP_PKEY_CTX_set_rsa_pss_keygen_md_name(g, "SHA384", nullptr), 1);
      ASSERT_EQ(EVP_PKEY_CTX_set_rsa_pss_keygen_saltlen(g, 24), 1);
    }
    EVP_PKEY* k = nullptr;
    ASSERT_EQ(EVP_PKEY_generate(g, &k), 1);
    EVP_PKEY_CTX_free(g);
    EXPECT_STREQ(OSSL_PROVIDER_get0_name(EVP_PKEY_get0_provider(k)), "gputls");
    EXPECT_TRUE(EVP_PKEY_is_a(k, "RSA-PSS"));
    char md[32] = "";
    EXPECT_EQ(EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_MANDATORY_DIGEST, md, sizeof md, nullptr) == 1,
              restricted);
    if (restricted) {
      EXPECT_TRUE(EVP_MD_is_a(EVP_get_digestbyname(md), "SHA384")) << md;
    }
    // It signs PSS (the mandatory digest when restricted) and refuses PKCS#1.
    const Outcome s = digest_sign(lib_, kGputls, k, nullptr, nullptr, msg_);
    ASSERT_EQ(s.failed_at, kOk) << describe(s);
    const Outcome s15 = digest_sign(lib_, kGputls, k, "SHA384", pad(RSA_PKCS1_PADDING), msg_);
    EXPECT_EQ(s15.failed_at, kParams);
    // The default provider verifies it after the key travels as PEM.
    BIO* b = BIO_new(BIO_s_mem());
    ASSERT_EQ(PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr), 1);
    EVP_PKEY* back = PEM_read_bio_PrivateKey_ex(b, nullptr, nullptr, nullptr, nullptr, nullptr);
    BIO_free(b);
    ASSERT_NE(back, nullptr);
    EXPECT_TRUE(EVP_PKEY_is_a(back, "RSA-PSS"));
    const Outcome v = digest_verify(nullptr, nullptr, back, restricted ? "SHA384" : "SHA256", nullptr, msg_, s.out);
    EXPECT_EQ(v.failed_at, kOk) << describe(v);
    EVP_PKEY_free(back);
    EVP_PKEY_free(k);
  }
  EXPECT_EQ(count("rsa_keygen", "sw"), before + 2) << stats().dump();
}

// Item 6: generation parameters are refused when set, as the default
// provider refuses them (a modulus under 512 bits, RSA_MIN_MODULUS_BITS).
TEST_F(RsaConformance, KeygenParametersAsDefaultProvider) {
  for (const char* type : {"RSA", "RSA-PSS"}) {
    for (int bits : {128, 511, 512, 1024}) {
      int r[2];
      std::string errs[2];
      const char* props[2] = {kDefault, kGputls};
      for (int i = 0; i < 2; ++i) {
        ERR_clear_error();
        EVP_PKEY_CTX* g = EVP_PKEY_CTX_new_from_name(lib_, type, props[i]);
        ASSERT_EQ(EVP_PKEY_keygen_init(g), 1);
        r[i] = EVP_PKEY_CTX_set_rsa_keygen_bits(g, bits);
        errs[i] = ERR_peek_error() ? "error queued" : "no error";
        EVP_PKEY_CTX_free(g);
      }
      EXPECT_EQ(r[1], r[0]) << type << " " << bits << " bits";
      if (r[1] != 1) {
        EXPECT_EQ(errs[1], "error queued") << type << " " << bits;
      }
    }
  }
}

// Item 7: sizes 1024..8192 and a 3-prime key: sign, verify and decrypt
// through gputls, served (on the engine or, when it refuses the key, on the
// CPU, counted), never refused.
TEST_F(RsaConformance, KeySizesAndMultiPrime) {
  struct K {
    int bits, primes;
  };
  for (const K& kk : {K{1024, 2}, K{3072, 2}, K{4096, 2}, K{8192, 2}, K{2048, 3}, K{4096, 3}}) {
    SCOPED_TRACE(std::to_string(kk.bits) + " bits, " + std::to_string(kk.primes) + " primes");
    EVP_PKEY* key = make_key("RSA", kk.bits, kk.primes);
    ASSERT_NE(key, nullptr);
    const uint64_t signs_before = signs(), refused_before = count("rsa_sign", "key_refused"),
                   dec_before = count("rsa_decrypt") + count("rsa_decrypt", "sw");
    for (const Params& p : {pad(RSA_PKCS1_PADDING), all({pad(RSA_PKCS1_PSS_PADDING), saltlen(32)})}) {
      const Outcome g = digest_sign(lib_, kGputls, key, "SHA256", p, msg_);
      ASSERT_EQ(g.failed_at, kOk) << describe(g);
      EXPECT_EQ(digest_verify(lib_, kDefault, key, "SHA256", p, msg_, g.out).failed_at, kOk);
      EXPECT_EQ(digest_verify(lib_, kGputls, key, "SHA256", p, msg_, g.out).failed_at, kOk);
    }
    EXPECT_EQ(signs(), signs_before + 2) << stats().dump();
    if (kk.primes > 2) {
      EXPECT_EQ(count("rsa_sign", "key_refused"), refused_before + 2) << "multi-prime: on the CPU";
    }
    // PKCS#1 v1.5 (explicit rejection, to compare) and OAEP decryption of the default's ciphertexts.
    Bytes pt(20, 0x77);
    for (const Params& p : {pad(RSA_PKCS1_PADDING), pad(RSA_PKCS1_OAEP_PADDING)}) {
      const Outcome ct = pkey_op(lib_, kDefault, key, Op::kEncrypt, p, pt);
      ASSERT_EQ(ct.failed_at, kOk);
      const Outcome d = pkey_op(lib_, kDefault, key, Op::kDecrypt, p, ct.out);
      const Outcome g = pkey_op(lib_, kGputls, key, Op::kDecrypt, p, ct.out);
      expect_same(d, g, true, "decrypt");
      EXPECT_EQ(g.out, pt);
    }
    EXPECT_EQ(count("rsa_decrypt") + count("rsa_decrypt", "sw"), dec_before + 2) << stats().dump();
    // A gputls-made key of this shape exports every component back.
    if (kk.primes > 2) {
      EVP_PKEY_CTX* gc = EVP_PKEY_CTX_new_from_name(lib_, "RSA", kGputls);
      EVP_PKEY* mine = nullptr;
      ASSERT_EQ(EVP_PKEY_keygen_init(gc), 1);
      ASSERT_EQ(EVP_PKEY_CTX_set_rsa_keygen_bits(gc, kk.bits), 1);
      ASSERT_EQ(EVP_PKEY_CTX_set_rsa_keygen_primes(gc, kk.primes), 1);
      ASSERT_EQ(EVP_PKEY_generate(gc, &mine), 1);
      EVP_PKEY_CTX_free(gc);
      BIO* b = BIO_new(BIO_s_mem());
      ASSERT_EQ(PEM_write_bio_PrivateKey(b, mine, nullptr, nullptr, 0, nullptr, nullptr), 1);
      EVP_PKEY* back = PEM_read_bio_PrivateKey_ex(b, nullptr, nullptr, nullptr, nullptr, nullptr);
      BIO_free(b);
      ASSERT_NE(back, nullptr);
      BIGNUM* f3 = nullptr;
      EXPECT_EQ(EVP_PKEY_get_bn_param(back, OSSL_PKEY_PARAM_RSA_FACTOR3, &f3), 1) << "the third prime survived";
      BN_free(f3);
      const Outcome s = digest_sign(nullptr, nullptr, back, "SHA256", nullptr, msg_);
      EXPECT_EQ(digest_verify(lib_, kGputls, mine, "SHA256", nullptr, msg_, s.out).failed_at, kOk);
      EVP_PKEY_free(back);
      EVP_PKEY_free(mine);
    }
    EVP_PKEY_free(key);
  }
}

// Item 7: the largest size, 16384 bits, once (a stored test key: generating
// one takes minutes): PKCS#1 v1.5 and PSS signatures and a decryption,
// served by gputls (engine or CPU, counted), verified by the default provider.
TEST_F(RsaConformance, Rsa16384) {
  std::ifstream f(std::string(GPUTLS_VECTORS_DIR) + "/keys/rsa16384_test_key.pem");
  ASSERT_TRUE(f) << "tests/vectors/keys/rsa16384_test_key.pem";
  std::stringstream pem;
  pem << f.rdbuf();
  EVP_PKEY* key = pem_key(pem.str(), true);
  ASSERT_NE(key, nullptr);
  ASSERT_EQ(EVP_PKEY_get_bits(key), 16384);
  const uint64_t signs_before = signs(), dec_before = count("rsa_decrypt") + count("rsa_decrypt", "sw");
  for (const Params& p : {pad(RSA_PKCS1_PADDING), pad(RSA_PKCS1_PSS_PADDING)}) {
    const Outcome g = digest_sign(lib_, kGputls, key, "SHA256", p, msg_);
    ASSERT_EQ(g.failed_at, kOk) << describe(g);
    EXPECT_EQ(g.provider, "gputls");
    EXPECT_EQ(digest_verify(lib_, kDefault, key, "SHA256", p, msg_, g.out).failed_at, kOk);
  }
  EXPECT_EQ(signs(), signs_before + 2) << stats().dump();
  Bytes pt(32, 0x16);
  const Outcome ct = pkey_op(lib_, kDefault, key, Op::kEncrypt, pad(RSA_PKCS1_OAEP_PADDING), pt);
  ASSERT_EQ(ct.failed_at, kOk);
  const Outcome g = pkey_op(lib_, kGputls, key, Op::kDecrypt, pad(RSA_PKCS1_OAEP_PADDING), ct.out);
  ASSERT_EQ(g.failed_at, kOk) << describe(g);
  EXPECT_EQ(g.out, pt);
  EXPECT_EQ(count("rsa_decrypt") + count("rsa_decrypt", "sw"), dec_before + 1) << stats().dump();
  EVP_PKEY_free(key);
}

// Item 8: PKCS#1 v1.5 decryption with implicit rejection, against OpenSSL's
// own vectors (OpenSSL 3.2+'s evppkey_rsa_common.txt): each ciphertext
// decrypts to its listed message, the synthetic ones included; turned off,
// the bad ones are errors again (and the default provider of OpenSSL 3.0,
// which has no implicit rejection, agrees with that).
TEST_F(RsaConformance, ImplicitRejectionVectors) {
  std::ifstream f(std::string(GPUTLS_VECTORS_DIR) + "/openssl/rsa_implicit_rejection.txt");
  ASSERT_TRUE(f) << "tests/vectors/openssl/rsa_implicit_rejection.txt";
  std::map<std::string, EVP_PKEY*> keys;
  std::string line, name;
  struct Vector {
    std::string key;
    Bytes ct, msg;
  };
  std::vector<Vector> vectors;
  while (std::getline(f, line)) {
    if (line.rfind("PrivateKey = ", 0) == 0) {
      name = line.substr(13);
      std::string pem;
      while (std::getline(f, line) && !line.empty()) pem += line + "\n";
      keys[name] = pem_key(pem, true);
      ASSERT_NE(keys[name], nullptr) << name;
    } else if (line.rfind("Decrypt = ", 0) == 0) {
      Vector v;
      v.key = line.substr(10);
      std::getline(f, line);
      v.ct = unhex(line.substr(8));
      std::getline(f, line);
      const std::string out = line.size() > 9 ? line.substr(9) : "";
      if (!out.empty() && out[0] == '"') v.msg.assign(out.begin() + 1, out.end() - 1);
      else v.msg = unhex(out);
      vectors.push_back(v);
    }
  }
  ASSERT_GE(vectors.size(), 14u);
  auto implicit = [](unsigned on) {
    return [on](EVP_PKEY_CTX* c) {
      unsigned v = on;
      const OSSL_PARAM p[] = {OSSL_PARAM_construct_uint("implicit-rejection", &v), OSSL_PARAM_construct_end()};
      return EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 && EVP_PKEY_CTX_set_params(c, p) == 1;
    };
  };
  const uint64_t before = count("rsa_decrypt");
  int synthetic = 0;
  for (const Vector& v : vectors) {
    EVP_PKEY* key = keys[v.key];
    const Outcome g = pkey_op(lib_, kGputls, key, Op::kDecrypt, nullptr, v.ct);
    ASSERT_EQ(g.failed_at, kOk) << describe(g);
    EXPECT_EQ(g.out, v.msg) << v.key << " ct " << OPENSSL_buf2hexstr(v.ct.data(), 8);
    const Outcome on = pkey_op(lib_, kGputls, key, Op::kDecrypt, implicit(1), v.ct);
    EXPECT_EQ(on.out, v.msg);
    // Off: as the default provider of OpenSSL 3.0 (explicit rejection).
    const Outcome d = pkey_op(lib_, kDefault, key, Op::kDecrypt, pad(RSA_PKCS1_PADDING), v.ct);
    const Outcome off = pkey_op(lib_, kGputls, key, Op::kDecrypt, implicit(0), v.ct);
    expect_same(d, off, true, "implicit rejection off");
    synthetic += d.failed_at != kOk;
  }
  EXPECT_GE(synthetic, 9) << "most vectors are bad paddings";
  EXPECT_EQ(count("rsa_decrypt"), before + 3 * vectors.size()) << stats().dump();
  // The parameter reads back, on by default; 3.0's ctrl_str name works too.
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(lib_, keys["RSA-2049"], kGputls);
  ASSERT_EQ(EVP_PKEY_decrypt_init(c), 1);
  unsigned got = 7;
  OSSL_PARAM q[] = {OSSL_PARAM_construct_uint("implicit-rejection", &got), OSSL_PARAM_construct_end()};
  ASSERT_EQ(EVP_PKEY_CTX_get_params(c, q), 1);
  EXPECT_EQ(got, 1u);
  EXPECT_GT(EVP_PKEY_CTX_ctrl_str(c, "rsa_pkcs1_implicit_rejection", "0"), 0);
  ASSERT_EQ(EVP_PKEY_CTX_get_params(c, q), 1);
  EXPECT_EQ(got, 0u);
  EVP_PKEY_CTX_free(c);
  for (auto& [n, k] : keys) EVP_PKEY_free(k);
}

}  // namespace
}  // namespace gputls::host::testing
