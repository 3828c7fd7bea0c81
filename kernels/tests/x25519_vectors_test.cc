// Wycheproof X25519 vectors and a differential run against OpenSSL, all
// through the host twin of the X25519 batch kernel (the GPU's own code).
//
// Wycheproof: "valid" results must match bit for bit; "acceptable" ones
// (twist points, non-canonical u, low-order points) must give what OpenSSL's
// X25519 gives on the same inputs, and where OpenSSL refuses (an all-zero
// shared secret) the kernel must refuse too.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gputls/kernels/x25519.h"
#include "x25519_test_util.h"

namespace gputls::kernels {
namespace {

using namespace testing;
using nlohmann::json;

struct Vector {
  int id;
  std::string result, comment;
  Bytes32 priv, pub, shared;
};

std::vector<Vector> load_vectors() {
  const std::string path = std::string(GPUTLS_VECTORS_DIR) + "/wycheproof/x25519_test.json";
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path);
  const json j = json::parse(f);
  std::vector<Vector> v;
  for (const json& g : j.at("testGroups")) {
    if (g.at("curve") != "curve25519") continue;
    for (const json& t : g.at("tests")) {
      Vector x;
      x.id = t.at("tcId");
      x.result = t.at("result");
      x.comment = t.at("comment");
      x.priv = hex32(t.at("private").get<std::string>());
      x.pub = hex32(t.at("public").get<std::string>());
      x.shared = hex32(t.at("shared").get<std::string>());
      v.push_back(x);
    }
  }
  if (v.size() != j.at("numberOfTests").get<size_t>()) throw std::runtime_error("test count mismatch in " + path);
  return v;
}

// Runs a derive batch over (scalar, peer) pairs; returns outputs and statuses.
struct BatchResult {
  std::vector<Bytes32> out;
  std::vector<uint32_t> status;
};
BatchResult derive_batch(const std::vector<Bytes32>& scalars, const std::vector<Bytes32>& peers,
                         const std::vector<uint32_t>* index = nullptr) {
  const uint32_t n = static_cast<uint32_t>(peers.size());
  std::vector<uint8_t> k(scalars.size() * 32), u(n * 32), out(n * 32);
  for (size_t i = 0; i < scalars.size(); ++i) std::memcpy(k.data() + 32 * i, scalars[i].data(), 32);
  for (uint32_t i = 0; i < n; ++i) std::memcpy(u.data() + 32 * i, peers[i].data(), 32);
  BatchResult r;
  r.status.assign(n, 0xdeadbeef);
  X25519Batch b;
  b.scalars = k.data();
  b.scalar_index = index ? index->data() : nullptr;
  b.peer = u.data();
  b.out = out.data();
  b.status = r.status.data();
  b.count = n;
  b.op = kX25519Derive;
  x25519_batch_host(b);
  r.out.resize(n);
  for (uint32_t i = 0; i < n; ++i) std::memcpy(r.out[i].data(), out.data() + 32 * i, 32);
  return r;
}

BatchResult keygen_batch(const std::vector<Bytes32>& scalars) {
  const uint32_t n = static_cast<uint32_t>(scalars.size());
  std::vector<uint8_t> k(n * 32), out(n * 32);
  for (uint32_t i = 0; i < n; ++i) std::memcpy(k.data() + 32 * i, scalars[i].data(), 32);
  BatchResult r;
  r.status.assign(n, 0xdeadbeef);
  X25519Batch b;
  b.scalars = k.data();
  b.out = out.data();
  b.status = r.status.data();
  b.count = n;
  b.op = kX25519Keygen;
  x25519_batch_host(b);
  r.out.resize(n);
  for (uint32_t i = 0; i < n; ++i) std::memcpy(r.out[i].data(), out.data() + 32 * i, 32);
  return r;
}

TEST(X25519Wycheproof, AllVectors) {
  const std::vector<Vector> vs = load_vectors();
  ASSERT_EQ(vs.size(), 518u);
  // Batches of 32 that mix valid and acceptable vectors.
  constexpr size_t kBatch = 32;
  int valid = 0, acceptable = 0, refused = 0;
  for (size_t start = 0; start < vs.size(); start += kBatch) {
    const size_t end = std::min(vs.size(), start + kBatch);
    std::vector<Bytes32> k, u;
    for (size_t i = start; i < end; ++i) {
      k.push_back(vs[i].priv);
      u.push_back(vs[i].pub);
    }
    const BatchResult r = derive_batch(k, u);
    for (size_t i = start; i < end; ++i) {
      const Vector& v = vs[i];
      const Bytes32& got = r.out[i - start];
      const uint32_t st = r.status[i - start];
      SCOPED_TRACE("tcId " + std::to_string(v.id) + " (" + v.result + "): " + v.comment);
      if (v.result == "valid") {
        ++valid;
        EXPECT_EQ(st, kX25519Ok);
        EXPECT_EQ(hex(got), hex(v.shared));
      } else {
        ASSERT_EQ(v.result, "acceptable");
        ++acceptable;
        const std::optional<Bytes32> ref = openssl_x25519(v.priv, v.pub);
        if (ref) {
          EXPECT_EQ(st, kX25519Ok);
          EXPECT_EQ(hex(got), hex(*ref));
          EXPECT_EQ(hex(got), hex(v.shared));  // OpenSSL and Wycheproof agree here
        } else {
          ++refused;
          EXPECT_EQ(st, kX25519ZeroSecret);
          EXPECT_EQ(got, Bytes32{});
          EXPECT_EQ(v.shared, Bytes32{});  // OpenSSL refuses only the all-zero secret
        }
      }
    }
  }
  EXPECT_EQ(valid, 264);
  EXPECT_EQ(acceptable, 254);
  EXPECT_EQ(refused, 31);  // the ZeroSharedSecret vectors
  std::printf("[ info ] wycheproof x25519: %d valid bit-exact, %d acceptable as OpenSSL (%d refused by both)\n",
              valid, acceptable, refused);
}

// Random key pairs, half from OpenSSL's key generation (clamped private keys),
// half raw random 32-byte scalars (clamping is ours to do). Batches mix pairs
// and both directions of each exchange, reading scalars through table slots.
TEST(X25519Differential, RandomKeyPairsAgainstOpenssl) {
  constexpr int kPairs = 2048;
  constexpr int kPairsPerBatch = 64;
  int checked = 0;
  for (int start = 0; start < kPairs; start += kPairsPerBatch) {
    std::vector<Bytes32> scalars, want_pub;  // slot 2j: a_j, slot 2j+1: b_j
    for (int j = 0; j < kPairsPerBatch; ++j) {
      for (int side = 0; side < 2; ++side) {
        Bytes32 k;
        if ((start / kPairsPerBatch + j) % 2 == 0) {
          const auto p = openssl_x25519_keygen();
          ASSERT_TRUE(p.has_value());
          k = p->priv;
          ASSERT_EQ(openssl_x25519_public(k), p->pub);
        } else {
          k = random32();
        }
        scalars.push_back(k);
        const auto pub = openssl_x25519_public(k);
        ASSERT_TRUE(pub.has_value());
        want_pub.push_back(*pub);
      }
    }
    // Keygen: EVP_PKEY_get_raw_public_key.
    const BatchResult kg = keygen_batch(scalars);
    for (size_t s = 0; s < scalars.size(); ++s) {
      ASSERT_EQ(kg.status[s], kX25519Ok);
      ASSERT_EQ(hex(kg.out[s]), hex(want_pub[s])) << "keygen, scalar " << hex(scalars[s]);
    }
    // Derive, both directions, interleaved in reverse order of slots.
    std::vector<Bytes32> peers;
    std::vector<uint32_t> index;
    for (int j = kPairsPerBatch - 1; j >= 0; --j) {
      index.push_back(2 * j);
      peers.push_back(kg.out[2 * j + 1]);
      index.push_back(2 * j + 1);
      peers.push_back(kg.out[2 * j]);
    }
    const BatchResult d = derive_batch(scalars, peers, &index);
    for (size_t i = 0; i < peers.size(); i += 2) {
      const auto ref = openssl_x25519(scalars[index[i]], peers[i]);
      ASSERT_TRUE(ref.has_value());
      ASSERT_EQ(d.status[i], kX25519Ok);
      ASSERT_EQ(d.status[i + 1], kX25519Ok);
      ASSERT_EQ(hex(d.out[i]), hex(*ref)) << "derive, scalar " << hex(scalars[index[i]]) << " u " << hex(peers[i]);
      ASSERT_EQ(hex(d.out[i + 1]), hex(*ref)) << "the two sides disagree";
      ++checked;
    }
  }
  EXPECT_EQ(checked, kPairs);
}

// Random u-coordinates (half on the twist, some >= p, top bit random) and
// random scalars, with low-order points mixed in: same result and refusals as
// OpenSSL.
TEST(X25519Differential, RandomPeersAgainstOpenssl) {
  constexpr int kItems = 2048;
  constexpr int kBatch = 128;
  const std::vector<Bytes32> low = low_order_points();
  int refused = 0;
  for (int start = 0; start < kItems; start += kBatch) {
    std::vector<Bytes32> k, u;
    for (int i = 0; i < kBatch; ++i) {
      k.push_back(random32());
      Bytes32 p = random32();
      if (i % 16 == 5) p = low[(start + i) % low.size()];
      if (i % 16 == 9) {  // non-canonical: p + 2 .. p + 18 = 2^255 - 1 (top bit as drawn)
        std::memset(p.data(), 0xff, 31);
        p[0] = static_cast<uint8_t>(0xed + 2 + (start / kBatch + i / 16) % 17);
        p[31] = static_cast<uint8_t>((p[31] & 0x80) | 0x7f);
      }
      u.push_back(p);
    }
    const BatchResult r = derive_batch(k, u);
    for (int i = 0; i < kBatch; ++i) {
      const auto ref = openssl_x25519(k[i], u[i]);
      if (ref) {
        ASSERT_EQ(r.status[i], kX25519Ok) << hex(u[i]);
        ASSERT_EQ(hex(r.out[i]), hex(*ref)) << "scalar " << hex(k[i]) << " u " << hex(u[i]);
      } else {
        ++refused;
        ASSERT_EQ(r.status[i], kX25519ZeroSecret) << hex(u[i]);
        ASSERT_EQ(r.out[i], Bytes32{});
      }
    }
  }
  EXPECT_EQ(refused, kItems / 16);  // exactly the low-order points
}

}  // namespace
}  // namespace gputls::kernels
