// GPU tests (label "gpu"): the RSA / modexp kernel on the device against its
// host twin on the same random batch, bit-exact, including the fault check.
// Without a usable device every test skips and says why.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <string>

#include "device_test_util.h"
#include "bn_util.h"
#include "gputls/kernels/rsa_launch.h"
#include "rsa_test_keys.h"

namespace gputls::kernels {
namespace {

using namespace testing;

class RsaDevice : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    if (const std::string why = testing::no_device_reason(); !why.empty()) GTEST_SKIP() << why;
  }
};

// Runs the same batch on the device and on the host; both must agree bit for bit.
TEST_P(RsaDevice, DeviceEqualsHostTwin) {
  const int bits = GetParam();
  const uint32_t bytes = bits / 8;
  const int limbs = bits / 32;
  TestRsaKey a(bits), b(bits);
  const uint32_t n = 300;
  const uint32_t sw = static_cast<uint32_t>(rsa_scratch_words(limbs));
  std::vector<uint8_t> in;
  std::vector<const uint32_t*> host_keys;
  std::vector<uint32_t> faults(n, 0);
  for (uint32_t i = 0; i < n; ++i) {
    const TestRsaKey& k = i % 2 ? a : b;
    auto x = k.random_input();
    if (i == 5) x = k.n_bytes();  // out of range
    in.insert(in.end(), x.begin(), x.end());
    host_keys.push_back(k.blob.data());
    if (i % 50 == 7) faults[i] = 1 + i % bits;  // injected faults must be caught on the device too
  }
  // Host twin.
  std::vector<uint8_t> host_out(in.size());
  std::vector<uint32_t> host_status(n), host_scratch(size_t{n} * sw);
  RsaBatch hb;
  hb.keys = host_keys.data();
  hb.in = in.data();
  hb.out = host_out.data();
  hb.status = host_status.data();
  hb.scratch = host_scratch.data();
  hb.fault_bit = faults.data();
  hb.count = n;
  hb.bytes = bytes;
  hb.scratch_words = sw;
  rsa_batch_host(hb);
  // Device.
  DeviceBuffer<uint32_t> dka(a.blob.size()), dkb(b.blob.size()), dscratch(size_t{n} * sw), dstatus(n), dfault(n);
  DeviceBuffer<uint8_t> din(in.size()), dout(in.size());
  DeviceBuffer<const uint32_t*> dkeys(n);
  std::vector<const uint32_t*> dev_keys;
  for (uint32_t i = 0; i < n; ++i) dev_keys.push_back(i % 2 ? dka.p : dkb.p);
  ASSERT_EQ(cudaMemcpy(dka.p, a.blob.data(), a.blob.size() * 4, cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(dkb.p, b.blob.data(), b.blob.size() * 4, cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(dkeys.p, dev_keys.data(), n * sizeof(void*), cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(din.p, in.data(), in.size(), cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(dfault.p, faults.data(), n * 4, cudaMemcpyHostToDevice), cudaSuccess);
  RsaBatch db = hb;
  db.keys = dkeys.p;
  db.in = din.p;
  db.out = dout.p;
  db.status = dstatus.p;
  db.scratch = dscratch.p;
  db.fault_bit = dfault.p;
  ASSERT_EQ(launch_rsa_batch(db, nullptr), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  std::vector<uint8_t> dev_out(in.size());
  std::vector<uint32_t> dev_status(n);
  ASSERT_EQ(cudaMemcpy(dev_out.data(), dout.p, dev_out.size(), cudaMemcpyDeviceToHost), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(dev_status.data(), dstatus.p, n * 4, cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(dev_status, host_status);
  EXPECT_EQ(dev_out, host_out);
  EXPECT_EQ(host_status[5], kRsaInputRange);
  EXPECT_EQ(host_status[7], kRsaFault);
  EXPECT_EQ(host_status[0], kRsaOk);
  // And the host twin agrees with OpenSSL on a clean item.
  std::vector<uint8_t> x0(in.begin(), in.begin() + bytes), y0(host_out.begin(), host_out.begin() + bytes);
  EXPECT_EQ(y0, b.openssl_raw(x0));
}

INSTANTIATE_TEST_SUITE_P(Kernels, RsaDevice, ::testing::Values(2048, 3072, 4096));

}  // namespace
}  // namespace gputls::kernels
