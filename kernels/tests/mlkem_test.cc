// ML-KEM-768 and its Keccak through the host twin (the same GT_HD code the
// batch kernels run): SHA3/SHAKE against OpenSSL's, FIPS 203 against
// Wycheproof's four ML-KEM-768 files (key generation from seeds, encapsulation
// with the modulus check, decapsulation with implicit rejection and the key
// and length checks), and a round trip whose rejection secret is recomputed
// with OpenSSL's SHAKE256.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "aes_gcm_test_util.h"
#include "gputls/kernels/keccak.h"
#include "gputls/kernels/mlkem.h"

namespace gputls::kernels {
namespace {

using testing::Bytes;
using testing::random_bytes;
using testing::random_u32;
using testing::unhex;

Bytes openssl_digest(const char* name, const Bytes& in, size_t outlen) {
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  EVP_MD_CTX* c = EVP_MD_CTX_new();
  Bytes out(outlen);
  const bool xof = std::string(name).rfind("SHAKE", 0) == 0;
  bool ok = md && c && EVP_DigestInit_ex(c, md, nullptr) == 1 && EVP_DigestUpdate(c, in.data(), in.size()) == 1;
  if (xof)
    ok = ok && EVP_DigestFinalXOF(c, out.data(), outlen) == 1;
  else
    ok = ok && EVP_DigestFinal_ex(c, out.data(), nullptr) == 1;
  EVP_MD_CTX_free(c);
  EVP_MD_free(md);
  if (!ok) throw std::runtime_error(std::string("OpenSSL digest failed: ") + name);
  return out;
}

// Lengths around every rate (72, 136, 168) and block multiples, then random ones.
size_t message_length(int i) {
  static const size_t kFixed[] = {0, 1, 31, 32, 33, 71, 72, 73, 135, 136, 137, 167, 168, 169, 271, 272, 336, 337, 1184};
  constexpr int kN = sizeof kFixed / sizeof kFixed[0];
  return i < kN ? kFixed[i] : random_u32() % 2000;
}

TEST(Keccak, Sha3AndShakeMatchOpenSsl) {
  for (int i = 0; i < 60; ++i) {
    const Bytes msg = random_bytes(message_length(i));
    // Split the input in two to exercise absorbing across calls.
    const size_t cut = msg.empty() ? 0 : random_u32() % msg.size();
    uint8_t d256[32], d512[64];
    keccak::sha3_256(d256, msg.data(), cut, msg.data() + cut, msg.size() - cut);
    keccak::sha3_512(d512, msg.data(), cut, msg.data() + cut, msg.size() - cut);
    EXPECT_EQ(Bytes(d256, d256 + 32), openssl_digest("SHA3-256", msg, 32)) << msg.size();
    EXPECT_EQ(Bytes(d512, d512 + 64), openssl_digest("SHA3-512", msg, 64)) << msg.size();
    const size_t outlen = message_length(i % 19) + 1;
    Bytes s256(outlen);
    keccak::shake256(s256.data(), outlen, msg.data(), cut, msg.data() + cut, msg.size() - cut);
    EXPECT_EQ(s256, openssl_digest("SHAKE256", msg, outlen)) << msg.size() << " -> " << outlen;
    keccak::Sponge sp;  // SHAKE128 squeezed in pieces, across block boundaries
    sp.init(keccak::kShake128Rate);
    sp.absorb(msg.data(), msg.size());
    sp.finish(keccak::kShakeDomain);
    Bytes s128(outlen);
    for (size_t off = 0; off < outlen; off += 3) sp.squeeze(s128.data() + off, std::min<size_t>(3, outlen - off));
    EXPECT_EQ(s128, openssl_digest("SHAKE128", msg, outlen)) << msg.size() << " -> " << outlen;
  }
}

nlohmann::json load(const std::string& name) {
  const std::string path = std::string(GPUTLS_VECTORS_DIR) + "/wycheproof/" + name;
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path);
  return nlohmann::json::parse(f);
}

Bytes field(const nlohmann::json& t, const char* name) { return unhex(t.at(name).get<std::string>()); }

// Every test of a file, with the count the file declares checked.
template <typename F>
void for_each_test(const nlohmann::json& j, F f) {
  size_t n = 0;
  for (const auto& g : j.at("testGroups")) {
    ASSERT_EQ(g.at("parameterSet").get<std::string>(), "ML-KEM-768");
    for (const auto& t : g.at("tests")) {
      ++n;
      SCOPED_TRACE("tcId " + std::to_string(t.at("tcId").get<int>()));
      f(t);
    }
  }
  EXPECT_EQ(n, j.at("numberOfTests").get<size_t>());
}

TEST(MlKem768Wycheproof, KeyGenFromSeed) {
  const auto& tab = mlkem::tables();
  size_t valid = 0;
  for_each_test(load("mlkem_768_keygen_seed_test.json"), [&](const nlohmann::json& t) {
    const Bytes seed = field(t, "seed");
    Bytes ek(mlkem::kEkBytes), dk(mlkem::kDkBytes);
    const bool ok = mlkem::keygen_from_seed(ek.data(), dk.data(), seed.data(), seed.size(), tab);
    ASSERT_EQ(ok, t.at("result") == "valid");
    if (!ok) return;
    EXPECT_EQ(ek, field(t, "ek"));
    EXPECT_EQ(dk, field(t, "dk"));
    ++valid;
  });
  EXPECT_GT(valid, 0u);
}

TEST(MlKem768Wycheproof, EncapsWithModulusCheck) {
  const auto& tab = mlkem::tables();
  size_t valid = 0, invalid = 0;
  for_each_test(load("mlkem_768_encaps_test.json"), [&](const nlohmann::json& t) {
    const Bytes ek = field(t, "ek"), m = field(t, "m");
    ASSERT_EQ(m.size(), 32u);
    uint8_t k[32], c[mlkem::kCtBytes];
    const bool ok = mlkem::encaps_checked(k, c, ek.data(), ek.size(), m.data(), tab);
    ASSERT_EQ(ok, t.at("result") == "valid");
    if (!ok) {
      ++invalid;
      return;
    }
    EXPECT_EQ(Bytes(c, c + sizeof c), field(t, "c"));
    EXPECT_EQ(Bytes(k, k + 32), field(t, "K"));
    ++valid;
  });
  EXPECT_GT(valid, 0u);
  EXPECT_GT(invalid, 0u);
}

TEST(MlKem768Wycheproof, DecapsFromSeedWithImplicitRejection) {
  const auto& tab = mlkem::tables();
  size_t valid = 0, invalid = 0;
  for_each_test(load("mlkem_768_test.json"), [&](const nlohmann::json& t) {
    const Bytes seed = field(t, "seed"), c = field(t, "c");
    Bytes ek(mlkem::kEkBytes), dk(mlkem::kDkBytes);
    uint8_t k[32];
    const bool ok = mlkem::keygen_from_seed(ek.data(), dk.data(), seed.data(), seed.size(), tab) &&
                    mlkem::decaps_checked(k, dk.data(), dk.size(), c.data(), c.size(), tab);
    ASSERT_EQ(ok, t.at("result") == "valid");
    if (!ok) {
      ++invalid;
      return;
    }
    if (t.contains("ek")) {
      EXPECT_EQ(ek, field(t, "ek"));
    }
    EXPECT_EQ(Bytes(k, k + 32), field(t, "K"));
    ++valid;
  });
  EXPECT_GT(valid, 0u);
  EXPECT_GT(invalid, 0u);
}

TEST(MlKem768Wycheproof, DecapsKeyAndLengthChecks) {
  const auto& tab = mlkem::tables();
  size_t valid = 0, invalid = 0;
  for_each_test(load("mlkem_768_semi_expanded_decaps_test.json"), [&](const nlohmann::json& t) {
    const Bytes dk = field(t, "dk"), c = field(t, "c");
    uint8_t k[32];
    const bool ok = mlkem::decaps_checked(k, dk.data(), dk.size(), c.data(), c.size(), tab);
    ASSERT_EQ(ok, t.at("result") == "valid") << t.at("comment");
    if (!ok) {
      ++invalid;
      return;
    }
    EXPECT_EQ(Bytes(k, k + 32), field(t, "K"));
    ++valid;
  });
  EXPECT_GT(valid, 0u);
  EXPECT_GT(invalid, 0u);
}

// Random keys and messages: both sides agree; any changed ciphertext byte
// yields J(z || c), recomputed here with OpenSSL's SHAKE256.
TEST(MlKem768, RoundTripAndImplicitRejection) {
  const auto& tab = mlkem::tables();
  for (int i = 0; i < 20; ++i) {
    const Bytes d = random_bytes(32), z = random_bytes(32), m = random_bytes(32);
    Bytes ek(mlkem::kEkBytes), dk(mlkem::kDkBytes);
    mlkem::keygen(ek.data(), dk.data(), d.data(), z.data(), tab);
    uint8_t k1[32], k2[32];
    Bytes c(mlkem::kCtBytes);
    ASSERT_TRUE(mlkem::encaps(k1, c.data(), ek.data(), m.data(), tab));
    ASSERT_TRUE(mlkem::decaps(k2, dk.data(), c.data(), tab));
    EXPECT_EQ(Bytes(k1, k1 + 32), Bytes(k2, k2 + 32));
    c[random_u32() % c.size()] ^= static_cast<uint8_t>(1u << (random_u32() % 8));
    ASSERT_TRUE(mlkem::decaps(k2, dk.data(), c.data(), tab));
    Bytes zc = z;
    zc.insert(zc.end(), c.begin(), c.end());
    EXPECT_EQ(Bytes(k2, k2 + 32), openssl_digest("SHAKE256", zc, 32));
  }
}

// A key pair from (d, z) and an encapsulation to it with m (aligned buffers).
struct Exchange {
  Bytes ek = Bytes(mlkem::kEkBytes), dk = Bytes(mlkem::kDkBytes), c = Bytes(mlkem::kCtBytes);
  uint8_t k[32] = {};
};
Exchange exchange(const Bytes& d, const Bytes& z, const Bytes& m) {
  const auto& tab = mlkem::tables();
  Exchange x;
  mlkem::keygen(x.ek.data(), x.dk.data(), d.data(), z.data(), tab);
  EXPECT_TRUE(mlkem::encaps(x.k, x.c.data(), x.ek.data(), m.data(), tab));
  return x;
}

// The device moves requests a word at a time from aligned buffers; the host
// twin (the CPU path, fed from TLS messages) takes any address: every input
// and output at an odd offset gives the same bytes as aligned buffers.
TEST(MlKem768, UnalignedBuffersGiveTheSameBytes) {
  const auto& tab = mlkem::tables();
  const Bytes d = random_bytes(32), z = random_bytes(32), m = random_bytes(32);
  const Exchange x = exchange(d, z, m);
  const Bytes &ek = x.ek, &dk = x.dk, &c = x.c;
  const uint8_t* k = x.k;
  for (size_t off : {1u, 3u, 5u}) {
    Bytes d2(off + 32), z2(off + 32), m2(off + 32), ek2(off + mlkem::kEkBytes), dk2(off + mlkem::kDkBytes),
        c2(off + mlkem::kCtBytes), k2(off + 32), k3(off + 32);
    std::copy(d.begin(), d.end(), d2.begin() + off);
    std::copy(z.begin(), z.end(), z2.begin() + off);
    std::copy(m.begin(), m.end(), m2.begin() + off);
    mlkem::keygen(ek2.data() + off, dk2.data() + off, d2.data() + off, z2.data() + off, tab);
    EXPECT_EQ(Bytes(ek2.begin() + off, ek2.end()), ek);
    EXPECT_EQ(Bytes(dk2.begin() + off, dk2.end()), dk);
    ASSERT_TRUE(mlkem::encaps(k2.data() + off, c2.data() + off, ek2.data() + off, m2.data() + off, tab));
    EXPECT_EQ(Bytes(c2.begin() + off, c2.end()), c);
    EXPECT_EQ(Bytes(k2.begin() + off, k2.end()), Bytes(k, k + 32));
    ASSERT_TRUE(mlkem::decaps(k3.data() + off, dk2.data() + off, c2.data() + off, tab));
    EXPECT_EQ(Bytes(k3.begin() + off, k3.end()), Bytes(k, k + 32));
  }
}

// A decapsulation key whose stored H(ek) does not match is refused.
TEST(MlKem768, DecapsRefusesAKeyWithAWrongHash) {
  Exchange x = exchange(random_bytes(32), random_bytes(32), random_bytes(32));
  x.dk[mlkem::kDkPkeBytes + 5] ^= 1;  // ek inside dk changed: H(ek) no longer matches
  EXPECT_FALSE(mlkem::decaps(x.k, x.dk.data(), x.c.data(), mlkem::tables()));
}

}  // namespace
}  // namespace gputls::kernels
