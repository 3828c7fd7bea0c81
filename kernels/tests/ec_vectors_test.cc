// Wycheproof ECDH (ecpoint encoding) and ECDSA verify vectors for P-256 and
// P-384, through the host twin of the EC batch kernel (the GPU's own code).
//
// ECDH: uncompressed points go straight into the kernel's point validation;
// "valid" shared secrets must match bit for bit, "invalid" points must be
// refused with kEcBadPoint. Other encodings (compressed, empty) are decoded by
// OpenSSL, as the provider's encoding layer would: what OpenSSL refuses never
// reaches the kernel (and must not be "valid"); what it decodes goes through
// the kernel like any point. "acceptable": the kernel must do what OpenSSL
// does.
//
// ECDSA: the test parses the DER signature (strict: d2i_ECDSA_SIG, and the
// re-encoding must give the same bytes, as OpenSSL's verifier requires) and
// hashes the message; the kernel verifies r || s against the digest. "valid"
// must be accepted, "invalid" refused (by the parser or the kernel).
#include <gtest/gtest.h>
#include <openssl/bn.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "ec_test_util.h"

namespace gputls::kernels {
namespace {

using namespace testing;
using nlohmann::json;

json load(const std::string& name) {
  const std::string path = std::string(GPUTLS_VECTORS_DIR) + "/wycheproof/" + name;
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path);
  return json::parse(f);
}

// OpenSSL's decoding of an encoded point to X || Y; nullopt when it refuses.
std::optional<Bytes> openssl_decode_point(uint32_t curve, const Bytes& enc) {
  EC_GROUP* g = EC_GROUP_new_by_curve_name(nid_of(curve));
  EC_POINT* p = EC_POINT_new(g);
  std::optional<Bytes> r;
  BIGNUM *x = BN_new(), *y = BN_new();
  if (EC_POINT_oct2point(g, p, enc.data(), enc.size(), nullptr) == 1 && !EC_POINT_is_at_infinity(g, p) &&
      EC_POINT_is_on_curve(g, p, nullptr) == 1 && EC_POINT_get_affine_coordinates(g, p, x, y, nullptr) == 1) {
    const size_t B = coord_bytes(curve);
    Bytes xy(2 * B);
    BN_bn2binpad(x, xy.data(), static_cast<int>(B));
    BN_bn2binpad(y, xy.data() + B, static_cast<int>(B));
    r = xy;
  }
  BN_free(x);
  BN_free(y);
  EC_POINT_free(p);
  EC_GROUP_free(g);
  return r;
}

struct EcdhCase {
  const char* file;
  uint32_t curve;
};

class EcdhWycheproof : public ::testing::TestWithParam<EcdhCase> {};

TEST_P(EcdhWycheproof, Ecpoint) {
  const EcdhCase tc = GetParam();
  const size_t B = coord_bytes(tc.curve);
  const json j = load(tc.file);
  int total = 0, valid = 0, refused_kernel = 0, refused_decoding = 0, acceptable = 0;
  for (const json& g : j.at("testGroups")) {
    ASSERT_EQ(g.at("encoding"), "ecpoint");
    for (const json& t : g.at("tests")) {
      ++total;
      const int id = t.at("tcId");
      const std::string result = t.at("result");
      const Bytes enc = unhex(t.at("public"));
      const Bytes priv = fit(unhex(t.at("private")), B);
      const Bytes shared = unhex(t.at("shared"));
      std::optional<Bytes> xy;
      if (enc.size() == 1 + 2 * B && enc[0] == 4)
        xy = Bytes(enc.begin() + 1,
                   enc.end());  // raw into the kernel's validation
      else
        xy = openssl_decode_point(tc.curve, enc);
      const std::optional<Bytes> ossl = openssl_decode_point(tc.curve, enc);
      if (!xy) {
        ++refused_decoding;
        EXPECT_NE(result, "valid") << "tcId " << id << ": a valid encoding refused by OpenSSL's decoder";
        continue;
      }
      const OneResult r = run_one(tc.curve, ec::kEcDerive, priv, {}, *xy, {}, {});
      if (result == "valid") {
        ++valid;
        EXPECT_EQ(r.status, ec::kEcOk) << "tcId " << id;
        EXPECT_EQ(hex(r.out), hex(shared)) << "tcId " << id;
      } else if (result == "invalid") {
        ++refused_kernel;
        EXPECT_EQ(r.status, ec::kEcBadPoint) << "tcId " << id << " " << t.at("comment");
        EXPECT_EQ(r.out, Bytes(B, 0)) << "tcId " << id;
        EXPECT_FALSE(ossl) << "tcId " << id << ": OpenSSL accepts an invalid point";
      } else {
        ++acceptable;
        EXPECT_EQ(r.status == ec::kEcOk, ossl.has_value()) << "tcId " << id;
        if (r.status == ec::kEcOk) {
          EXPECT_EQ(hex(r.out), hex(shared)) << "tcId " << id;
        }
      }
    }
  }
  EXPECT_EQ(total, j.at("numberOfTests").get<int>());
  std::printf(
      "[ info ] %s: %d vectors: %d valid matched, %d invalid refused "
      "by the kernel, %d refused at decoding, "
      "%d acceptable as OpenSSL\n",
      tc.file, total, valid, refused_kernel, refused_decoding, acceptable);
}

INSTANTIATE_TEST_SUITE_P(Curves, EcdhWycheproof,
                         ::testing::Values(EcdhCase{"ecdh_secp256r1_ecpoint_test.json", ec::kEcP256},
                                           EcdhCase{"ecdh_secp384r1_ecpoint_test.json", ec::kEcP384}),
                         [](const ::testing::TestParamInfo<EcdhCase>& i) {
                           return std::string(i.param.curve == ec::kEcP256 ? "P256" : "P384");
                         });

class EcdsaWycheproof : public ::testing::TestWithParam<EcdhCase> {};

TEST_P(EcdsaWycheproof, Verify) {
  const EcdhCase tc = GetParam();
  const size_t B = coord_bytes(tc.curve);
  const json j = load(tc.file);
  int total = 0, accepted = 0, refused_parse = 0, refused_kernel = 0;
  for (const json& g : j.at("testGroups")) {
    const Bytes pub_enc = unhex(g.at("publicKey").at("uncompressed"));
    ASSERT_EQ(pub_enc.size(), 1 + 2 * B);
    const Bytes pub(pub_enc.begin() + 1, pub_enc.end());
    const EVP_MD* md = digest_of(tc.curve);
    ASSERT_EQ(g.at("sha"), tc.curve == ec::kEcP256 ? "SHA-256" : "SHA-384");
    for (const json& t : g.at("tests")) {
      ++total;
      const int id = t.at("tcId");
      const std::string result = t.at("result");
      ASSERT_NE(result, "acceptable") << "tcId " << id << ": no acceptable ECDSA vectors expected";
      const Bytes msg = unhex(t.at("msg")), der = unhex(t.at("sig"));
      Bytes digest(EVP_MD_get_size(md));
      unsigned int dlen = 0;
      ASSERT_EQ(EVP_Digest(msg.data(), msg.size(), digest.data(), &dlen, md, nullptr), 1);
      bool ok = false;
      const Bytes rs = der_to_rs(der, B, &ok);
      if (ok && rs_to_der(rs) != der) ok = false;  // not the canonical DER encoding
      if (!ok) {
        ++refused_parse;
        EXPECT_EQ(result, "invalid") << "tcId " << id << ": signature refused by the DER parser";
        continue;
      }
      const uint32_t st = run_one(tc.curve, ec::kEcVerify, {}, {}, pub, digest, rs).status;
      if (result == "valid") {
        ++accepted;
        EXPECT_EQ(st, ec::kEcOk) << "tcId " << id << " " << t.at("comment");
      } else {
        ++refused_kernel;
        EXPECT_EQ(st, ec::kEcBadSignature) << "tcId " << id << " " << t.at("comment");
      }
    }
  }
  EXPECT_EQ(total, j.at("numberOfTests").get<int>());
  std::printf(
      "[ info ] %s: %d vectors: %d valid accepted, %d invalid refused "
      "by the kernel, %d by the DER parser\n",
      tc.file, total, accepted, refused_kernel, refused_parse);
}

INSTANTIATE_TEST_SUITE_P(Curves, EcdsaWycheproof,
                         ::testing::Values(EcdhCase{"ecdsa_secp256r1_sha256_test.json", ec::kEcP256},
                                           EcdhCase{"ecdsa_secp384r1_sha384_test.json", ec::kEcP384}),
                         [](const ::testing::TestParamInfo<EcdhCase>& i) {
                           return std::string(i.param.curve == ec::kEcP256 ? "P256" : "P384");
                         });

}  // namespace
}  // namespace gputls::kernels
