// GPU tests (label "gpu"): the EC batch kernel (P-256, P-384) on the device
// against its host twin on the same random batch, bit-exact, statuses included:
// ECDH (with invalid peers mixed in), keygen, ECDSA sign with fixed supplied
// nonces (deterministic), verify. Without a usable device every test skips and
// says why.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <string>

#include <chrono>
#include <cstdio>
#include <vector>

#include "device_test_util.h"
#include "ec_test_util.h"
#include "gputls/kernels/ec_launch.h"

namespace gputls::kernels {
namespace {

using namespace testing;

class EcDevice : public ::testing::TestWithParam<uint32_t> {
 protected:
  void SetUp() override {
    if (const std::string why = testing::no_device_reason(); !why.empty()) GTEST_SKIP() << why;
  }
};

struct Case {
  std::vector<uint32_t> ops, index;
  Bytes scalars, nonces, points, digests, sigs;
  uint32_t count = 0, curve = 0;
};

// count items over `slots` keys; ops by `op` (or mixed when op > kEcVerify).
// Every 29th derive peer is off the curve; every 31st scalar slot is zero.
Case random_case(uint32_t curve, uint32_t count, uint32_t slots, uint32_t op) {
  const size_t B = coord_bytes(curve);
  Case c;
  c.count = count;
  c.curve = curve;
  std::vector<EcKey> keys;
  for (uint32_t s = 0; s < slots; ++s) {
    keys.push_back(openssl_keygen(curve));
    const Bytes d = s % 31 == 30 ? Bytes(B, 0) : keys.back().priv;
    c.scalars.insert(c.scalars.end(), d.begin(), d.end());
  }
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t o = op <= ec::kEcVerify ? op : i % 4;
    c.ops.push_back(o);
    const uint32_t slot = (i * 7919u) % slots;
    c.index.push_back(slot);
    Bytes k(B, 0);
    k[0] = static_cast<uint8_t>(i);  // fixed nonces: deterministic signatures
    k[B - 1] = static_cast<uint8_t>(i * 13 + 1);
    c.nonces.insert(c.nonces.end(), k.begin(), k.end());
    const Bytes dg = random_bytes(B);
    c.digests.insert(c.digests.end(), dg.begin(), dg.end());
    Bytes q = o == ec::kEcVerify ? keys[slot].pub : keys[(slot + 1) % slots].pub;
    if (o == ec::kEcDerive && i % 29 == 5) q[2 * B - 1] ^= 1;
    c.points.insert(c.points.end(), q.begin(), q.end());
    bool ok = false;
    Bytes rs = der_to_rs(openssl_sign_digest(keys[slot].pkey.get(), dg), B, &ok);
    if (i % 3 == 1) rs[B + 3] ^= 0x40;  // a bad signature
    c.sigs.insert(c.sigs.end(), rs.begin(), rs.end());
  }
  return c;
}

template <class T>
T* upload(DeviceBuffer<T>& d, const std::vector<T>& v) {
  EXPECT_EQ(cudaMemcpy(d.p, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  return d.p;
}

void compare(const Case& c, bool per_item_ops, const char* what) {
  const size_t B = coord_bytes(c.curve);
  const uint32_t n = c.count;
  Bytes host_out(n * 2 * B, 0);
  std::vector<uint32_t> host_status(n, 0xdeadbeef);
  EcBatch hb;
  hb.ops = per_item_ops ? c.ops.data() : nullptr;
  hb.op = c.ops[0];
  hb.scalars = c.scalars.data();
  hb.scalar_index = c.index.data();
  hb.nonces = c.nonces.data();
  hb.points = c.points.data();
  hb.digests = c.digests.data();
  hb.sigs = c.sigs.data();
  hb.digest_bytes = static_cast<uint32_t>(B);
  hb.out = host_out.data();
  hb.status = host_status.data();
  hb.count = n;
  hb.curve = c.curve;
  ec_batch_host(hb);

  DeviceBuffer<uint32_t> dops(n), didx(n), dst(n);
  DeviceBuffer<uint8_t> dsc(c.scalars.size()), dno(c.nonces.size()), dpt(c.points.size()), ddg(c.digests.size()),
      dsg(c.sigs.size()), dout(host_out.size());
  EcBatch db = hb;
  db.ops = per_item_ops ? upload(dops, c.ops) : nullptr;
  db.scalar_index = upload(didx, c.index);
  db.scalars = upload(dsc, c.scalars);
  db.nonces = upload(dno, c.nonces);
  db.points = upload(dpt, c.points);
  db.digests = upload(ddg, c.digests);
  db.sigs = upload(dsg, c.sigs);
  db.out = dout.p;
  db.status = dst.p;
  ASSERT_EQ(cudaMemset(dout.p, 0, host_out.size()), cudaSuccess);
  ASSERT_EQ(cudaMemset(dst.p, 0xee, n * 4), cudaSuccess);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(launch_ec_batch(db, nullptr), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "[ info ] %s %s: %u items on the device in %.2f ms (first launch "
      "included)\n",
      group_name(c.curve), what, n, ms);
  Bytes dev_out(host_out.size());
  std::vector<uint32_t> dev_status(n);
  ASSERT_EQ(cudaMemcpy(dev_out.data(), dout.p, dev_out.size(), cudaMemcpyDeviceToHost), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(dev_status.data(), dst.p, n * 4, cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(dev_status, host_status);
  // Derive writes only the first B bytes of each slot: compare those.
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t op = per_item_ops ? c.ops[i] : c.ops[0];
    const size_t len = op == ec::kEcDerive ? B : op == ec::kEcVerify ? 0 : 2 * B;
    ASSERT_EQ(hex(Bytes(dev_out.begin() + static_cast<long>(i * 2 * B),
                        dev_out.begin() + static_cast<long>(i * 2 * B + len))),
              hex(Bytes(host_out.begin() + static_cast<long>(i * 2 * B),
                        host_out.begin() + static_cast<long>(i * 2 * B + len))))
        << "item " << i;
  }
  uint32_t ok = 0;
  for (uint32_t s : host_status) ok += s == ec::kEcOk;
  EXPECT_GT(ok, 0u);
}

TEST_P(EcDevice, DeriveEqualsHostTwin) { compare(random_case(GetParam(), 1031, 97, ec::kEcDerive), false, "derive"); }
TEST_P(EcDevice, KeygenEqualsHostTwin) { compare(random_case(GetParam(), 517, 517, ec::kEcKeygen), false, "keygen"); }
TEST_P(EcDevice, SignEqualsHostTwin) { compare(random_case(GetParam(), 517, 41, ec::kEcSign), false, "sign"); }
TEST_P(EcDevice, VerifyEqualsHostTwin) { compare(random_case(GetParam(), 300, 41, ec::kEcVerify), false, "verify"); }
TEST_P(EcDevice, MixedOpsEqualHostTwin) { compare(random_case(GetParam(), 400, 37, 99), true, "mixed"); }

INSTANTIATE_TEST_SUITE_P(Curves, EcDevice, ::testing::Values(ec::kEcP256, ec::kEcP384),
                         [](const ::testing::TestParamInfo<uint32_t>& i) {
                           return std::string(i.param == ec::kEcP256 ? "P256" : "P384");
                         });

}  // namespace
}  // namespace gputls::kernels
