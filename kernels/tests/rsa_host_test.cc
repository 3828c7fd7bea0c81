// The RSA / modexp batch body on the host (the kernel's own code), against
// OpenSSL's default provider and BIGNUM.
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <map>

#include "bn_util.h"
#include "gputls/kernels/key_blob.h"
#include "gputls/kernels/rsa_batch.h"
#include "rsa_test_keys.h"

namespace gputls::kernels {
namespace {

using namespace testing;

// Runs one batch through the host twin. in: count * bytes.
struct HostBatch {
  std::vector<const uint32_t*> keys;
  std::vector<uint8_t> in, out;
  std::vector<uint32_t> status, scratch, faults;
  void run(uint32_t bytes, BatchOp op) {
    const uint32_t count = static_cast<uint32_t>(keys.size());
    const int limbs = static_cast<int>(bytes / 4);
    RsaBatch b;
    b.keys = keys.data();
    b.in = in.data();
    out.assign(in.size(), 0xcc);
    b.out = out.data();
    status.assign(count, 0xffffffffu);
    b.status = status.data();
    b.scratch_words = static_cast<uint32_t>(op == kBatchModExp ? modexp_scratch_words(limbs) : rsa_scratch_words(limbs));
    scratch.assign(static_cast<size_t>(count) * b.scratch_words, 0);
    b.scratch = scratch.data();
    b.fault_bit = faults.empty() ? nullptr : faults.data();
    b.count = count;
    b.bytes = bytes;
    b.op = op;
    rsa_batch_host(b);
  }
  std::vector<uint8_t> item(std::vector<uint8_t>& v, size_t i, uint32_t bytes) {
    return {v.begin() + i * bytes, v.begin() + (i + 1) * bytes};
  }
};

class RsaHost : public ::testing::TestWithParam<int> {};

TEST_P(RsaHost, MixedKeysMatchOpenSSL) {
  const int bits = GetParam();
  const uint32_t bytes = bits / 8;
  TestRsaKey a(bits), b(bits);
  HostBatch hb;
  std::vector<const TestRsaKey*> who;
  const int count = bits == 4096 ? 6 : 16;
  for (int i = 0; i < count; ++i) {
    const TestRsaKey& k = (i % 3 == 0) ? b : a;
    who.push_back(&k);
    hb.keys.push_back(k.blob.data());
    auto in = k.random_input();
    hb.in.insert(hb.in.end(), in.begin(), in.end());
  }
  hb.run(bytes, kBatchRsaCrt);
  for (int i = 0; i < count; ++i) {
    EXPECT_EQ(hb.status[i], kRsaOk) << i;
    EXPECT_EQ(hb.item(hb.out, i, bytes), who[i]->openssl_raw(hb.item(hb.in, i, bytes))) << i;
  }
}

TEST_P(RsaHost, EdgeInputsAndRangeCheck) {
  const int bits = GetParam();
  const uint32_t bytes = bits / 8;
  TestRsaKey k(bits);
  Bn n = from_bytes(k.n_bytes());
  Bn nm1(BN_dup(n.get())), np1(BN_dup(n.get()));
  BN_sub_word(nm1.get(), 1);
  BN_add_word(np1.get(), 1);
  std::vector<std::vector<uint8_t>> ok_inputs = {std::vector<uint8_t>(bytes, 0), to_bytes(BN_value_one(), bytes),
                                                 to_bytes(nm1.get(), bytes)};
  std::vector<std::vector<uint8_t>> bad_inputs = {to_bytes(n.get(), bytes), to_bytes(np1.get(), bytes),
                                                  std::vector<uint8_t>(bytes, 0xff)};
  HostBatch hb;
  for (auto* set : {&ok_inputs, &bad_inputs})
    for (auto& in : *set) {
      hb.keys.push_back(k.blob.data());
      hb.in.insert(hb.in.end(), in.begin(), in.end());
    }
  hb.run(bytes, kBatchRsaCrt);
  for (size_t i = 0; i < ok_inputs.size(); ++i) {
    EXPECT_EQ(hb.status[i], kRsaOk) << i;
    EXPECT_EQ(hb.item(hb.out, i, bytes), k.openssl_raw(ok_inputs[i])) << i;
  }
  for (size_t i = ok_inputs.size(); i < hb.keys.size(); ++i) {
    EXPECT_EQ(hb.status[i], kRsaInputRange) << i;
    EXPECT_EQ(hb.item(hb.out, i, bytes), std::vector<uint8_t>(bytes, 0)) << "nothing released for input >= n";
  }
}

// A bit flipped anywhere in the result is caught by the public-exponent check,
// every time, and nothing is released.
TEST_P(RsaHost, FaultInjectionIsAlwaysCaught) {
  const int bits = GetParam();
  const uint32_t bytes = bits / 8;
  TestRsaKey k(bits);
  HostBatch hb;
  const int count = bits == 4096 ? 8 : 24;
  for (int i = 0; i < count; ++i) {
    hb.keys.push_back(k.blob.data());
    auto in = k.random_input();
    hb.in.insert(hb.in.end(), in.begin(), in.end());
    uint32_t r;
    RAND_bytes(reinterpret_cast<uint8_t*>(&r), sizeof r);
    hb.faults.push_back(1 + r % static_cast<uint32_t>(bits));  // bit positions 0 .. bits-1
  }
  hb.faults[0] = 1;                              // lowest bit
  hb.faults[1] = static_cast<uint32_t>(bits);    // highest bit
  hb.run(bytes, kBatchRsaCrt);
  for (int i = 0; i < count; ++i) {
    EXPECT_EQ(hb.status[i], kRsaFault) << "fault bit " << hb.faults[i];
    EXPECT_EQ(hb.item(hb.out, i, bytes), std::vector<uint8_t>(bytes, 0));
  }
}

// A fault in Garner's input m2 leaves the result right mod p and wrong mod q
// (released, it would reveal p): the check modulo q of the released value
// catches it, every time.
TEST_P(RsaHost, FaultInGarnersInputIsCaught) {
  const int bits = GetParam();
  const uint32_t bytes = bits / 8;
  TestRsaKey k(bits);
  HostBatch hb;
  const int count = 8;
  for (int i = 0; i < count; ++i) {
    hb.keys.push_back(k.blob.data());
    auto in = k.random_input();
    hb.in.insert(hb.in.end(), in.begin(), in.end());
    hb.faults.push_back(kRsaFaultInM2 | (1 + static_cast<uint32_t>(i * 37 % (bits / 2))));
  }
  hb.run(bytes, kBatchRsaCrt);
  for (int i = 0; i < count; ++i) {
    EXPECT_EQ(hb.status[i], kRsaFault) << "m2 fault bit " << (hb.faults[i] & ~kRsaFaultInM2);
    EXPECT_EQ(hb.item(hb.out, i, bytes), std::vector<uint8_t>(bytes, 0));
  }
}

INSTANTIATE_TEST_SUITE_P(Kernels, RsaHost, ::testing::Values(2048, 3072, 4096));

// A key of another size in a batch is refused (kRsaKeySize, nothing released)
// without disturbing its neighbours; a batch of a size the kernels have no
// compile-time path for (RSA-1024) is refused item by item, never computed
// with the wrong limb count.
TEST(RsaHostSizes, KeyOfAnotherSizeIsRefusedAndNeighboursServed) {
  TestRsaKey k2048(2048), k3072(3072), k1024(1024);
  HostBatch hb;
  const std::vector<const TestRsaKey*> who = {&k2048, &k3072, &k2048};
  for (const TestRsaKey* k : who) {
    hb.keys.push_back(k->blob.data());
    auto in = k2048.random_input();
    hb.in.insert(hb.in.end(), in.begin(), in.end());
  }
  hb.run(256, kBatchRsaCrt);
  for (size_t i : {size_t{0}, size_t{2}}) {
    EXPECT_EQ(hb.status[i], kRsaOk) << i;
    EXPECT_EQ(hb.item(hb.out, i, 256), k2048.openssl_raw(hb.item(hb.in, i, 256))) << i;
  }
  EXPECT_EQ(hb.status[1], kRsaKeySize);
  EXPECT_EQ(hb.item(hb.out, 1, 256), std::vector<uint8_t>(256, 0));

  HostBatch small;
  small.keys = {k1024.blob.data()};
  small.in = k1024.random_input();
  small.run(128, kBatchRsaCrt);
  EXPECT_EQ(small.status[0], kRsaKeySize);
  EXPECT_EQ(small.out, std::vector<uint8_t>(128, 0));
}

TEST(ModExpHost, MatchesBignumFor2048And3072) {
  Ctx ctx(BN_CTX_new());
  for (int bits : {2048, 3072}) {
    const uint32_t bytes = bits / 8;
    Bn m(BN_new());
    BN_rand(m.get(), bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD);
    Bn d(BN_new());
    BN_rand(d.get(), bits - 1, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
    auto mb = to_bytes(m.get(), bytes), db = to_bytes(d.get(), bytes);
    std::string err;
    KeyBlob blob = make_modexp_key_blob(mb, db, &err);
    ASSERT_FALSE(blob.empty()) << err;
    HostBatch hb;
    std::vector<Bn> xs;
    for (int i = 0; i < 4; ++i) {
      xs.push_back(random_below(m.get()));
      hb.keys.push_back(blob.data());
      auto xb = to_bytes(xs.back().get(), bytes);
      hb.in.insert(hb.in.end(), xb.begin(), xb.end());
    }
    auto mbytes = to_bytes(m.get(), bytes);  // x = m: out of range
    hb.keys.push_back(blob.data());
    hb.in.insert(hb.in.end(), mbytes.begin(), mbytes.end());
    hb.run(bytes, kBatchModExp);
    for (int i = 0; i < 4; ++i) {
      Bn want(BN_new());
      BN_mod_exp(want.get(), xs[i].get(), d.get(), m.get(), ctx.get());
      EXPECT_EQ(hb.status[i], kRsaOk);
      EXPECT_EQ(hb.item(hb.out, i, bytes), to_bytes(want.get(), bytes)) << bits << "/" << i;
    }
    EXPECT_EQ(hb.status[4], kRsaInputRange);
    EXPECT_EQ(hb.item(hb.out, 4, bytes), std::vector<uint8_t>(bytes, 0));
  }
}

TEST(KeyBlob, RefusesKeysTheKernelsCannotServe) {
  TestRsaKey k(2048);
  auto f = k.fields();
  std::string err;
  std::vector<uint8_t> empty;
  EXPECT_TRUE(make_rsa_key_blob(f.n, f.e, empty, empty, empty, empty, empty, &err).empty());
  EXPECT_NE(err.find("CRT"), std::string::npos) << err;
  std::vector<uint8_t> even = f.p;
  even.back() &= 0xfe;
  EXPECT_TRUE(make_rsa_key_blob(f.n, f.e, even, f.q, f.dp, f.dq, f.qinv, &err).empty());
  // A 1000-bit modulus is not a whole number of 64-bit halves.
  TestRsaKey odd_size(1000);
  auto g = odd_size.fields();
  EXPECT_TRUE(make_rsa_key_blob(g.n, g.e, g.p, g.q, g.dp, g.dq, g.qinv, &err).empty());
  EXPECT_FALSE(make_rsa_key_blob(f.n, f.e, f.p, f.q, f.dp, f.dq, f.qinv, &err).empty()) << err;
}

}  // namespace
}  // namespace gputls::kernels
