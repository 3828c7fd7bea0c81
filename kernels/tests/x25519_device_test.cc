// GPU tests (label "gpu"): the X25519 kernel on the device against its host
// twin on the same random batch, bit-exact, statuses included (low-order
// peers mixed in). Without a usable device every test skips and says why.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <string>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "device_test_util.h"
#include "gputls/kernels/x25519_launch.h"
#include "x25519_test_util.h"

namespace gputls::kernels {
namespace {

using namespace testing;

class X25519Device : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = testing::no_device_reason(); !why.empty()) GTEST_SKIP() << why;
  }
};

struct Case {
  std::vector<uint8_t> scalars, peer;
  std::vector<uint32_t> index;
  uint32_t count = 0;
};

// count items over `slots` random scalars; every 37th peer is a low-order point.
Case random_case(uint32_t count, uint32_t slots) {
  Case c;
  c.count = count;
  const std::vector<Bytes32> low = low_order_points();
  for (uint32_t s = 0; s < slots; ++s) {
    const Bytes32 k = random32();
    c.scalars.insert(c.scalars.end(), k.begin(), k.end());
  }
  for (uint32_t i = 0; i < count; ++i) {
    c.index.push_back((i * 7919u) % slots);
    const Bytes32 u = i % 37 == 11 ? low[i % low.size()] : random32();
    c.peer.insert(c.peer.end(), u.begin(), u.end());
  }
  return c;
}

// Runs the batch on the host twin and on the device; both must agree.
void compare(const Case& c, uint32_t op, bool use_index) {
  const uint32_t n = c.count;
  std::vector<uint8_t> host_out(n * 32);
  std::vector<uint32_t> host_status(n, 0xdeadbeef);
  X25519Batch hb;
  hb.scalars = c.scalars.data();
  hb.scalar_index = use_index ? c.index.data() : nullptr;
  hb.peer = c.peer.data();
  hb.out = host_out.data();
  hb.status = host_status.data();
  hb.count = n;
  hb.op = op;
  x25519_batch_host(hb);

  DeviceBuffer<uint8_t> dk(c.scalars.size()), du(c.peer.size()), dout(n * 32);
  DeviceBuffer<uint32_t> didx(n), dst(n);
  ASSERT_EQ(cudaMemcpy(dk.p, c.scalars.data(), c.scalars.size(), cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(du.p, c.peer.data(), c.peer.size(), cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(didx.p, c.index.data(), n * 4, cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemset(dst.p, 0xee, n * 4), cudaSuccess);
  X25519Batch db = hb;
  db.scalars = dk.p;
  db.scalar_index = use_index ? didx.p : nullptr;
  db.peer = du.p;
  db.out = dout.p;
  db.status = dst.p;
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(launch_x25519_batch(db, nullptr), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ info ] x25519 %s: %u items on the device in %.2f ms (first launch included)\n",
              op == kX25519Keygen ? "keygen" : "derive", n, ms);
  std::vector<uint8_t> dev_out(n * 32);
  std::vector<uint32_t> dev_status(n);
  ASSERT_EQ(cudaMemcpy(dev_out.data(), dout.p, dev_out.size(), cudaMemcpyDeviceToHost), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(dev_status.data(), dst.p, n * 4, cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(dev_status, host_status);
  EXPECT_EQ(dev_out, host_out);
  uint32_t zero = 0;
  for (uint32_t s : host_status) zero += s == kX25519ZeroSecret;
  if (op == kX25519Derive)
    EXPECT_GT(zero, 0u);
  else
    EXPECT_EQ(zero, 0u);
}

TEST_F(X25519Device, DeriveEqualsHostTwin) {
  const Case c = random_case(4099, 4099);
  compare(c, kX25519Derive, false);
}

TEST_F(X25519Device, DeriveWithKeySlotsEqualsHostTwin) {
  const Case c = random_case(1000, 61);
  compare(c, kX25519Derive, true);
}

TEST_F(X25519Device, KeygenEqualsHostTwinAndOpenssl) {
  const Case c = random_case(777, 777);
  compare(c, kX25519Keygen, false);
  // And one against OpenSSL directly, through the device.
  Bytes32 k;
  std::memcpy(k.data(), c.scalars.data(), 32);
  DeviceBuffer<uint8_t> dk(32), dout(32);
  DeviceBuffer<uint32_t> dst(1);
  ASSERT_EQ(cudaMemcpy(dk.p, k.data(), 32, cudaMemcpyHostToDevice), cudaSuccess);
  X25519Batch b;
  b.scalars = dk.p;
  b.out = dout.p;
  b.status = dst.p;
  b.count = 1;
  b.op = kX25519Keygen;
  ASSERT_EQ(launch_x25519_batch(b, nullptr), cudaSuccess);
  Bytes32 pub;
  ASSERT_EQ(cudaMemcpy(pub.data(), dout.p, 32, cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(hex(pub), hex(*openssl_x25519_public(k)));
}

// RFC 7748 section 5.2 vector on the device.
TEST_F(X25519Device, Rfc7748Vector) {
  const Bytes32 k = hex32("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
  const Bytes32 u = hex32("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
  DeviceBuffer<uint8_t> dk(32), du(32), dout(32);
  DeviceBuffer<uint32_t> dst(1);
  ASSERT_EQ(cudaMemcpy(dk.p, k.data(), 32, cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(du.p, u.data(), 32, cudaMemcpyHostToDevice), cudaSuccess);
  X25519Batch b;
  b.scalars = dk.p;
  b.peer = du.p;
  b.out = dout.p;
  b.status = dst.p;
  b.count = 1;
  ASSERT_EQ(launch_x25519_batch(b, nullptr), cudaSuccess);
  Bytes32 out;
  uint32_t st = 99;
  ASSERT_EQ(cudaMemcpy(out.data(), dout.p, 32, cudaMemcpyDeviceToHost), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(&st, dst.p, 4, cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(st, kX25519Ok);
  EXPECT_EQ(hex(out), "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
}

}  // namespace
}  // namespace gputls::kernels
