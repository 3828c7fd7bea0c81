// GPU tests (label "gpu"): the ML-KEM-768 kernel on the device against its
// host twin on the same random batches, bit-exact, statuses included (keys
// failing the modulus and hash checks mixed in). Without a usable device
// every test skips and says why.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "aes_gcm_test_util.h"
#include "device_test_util.h"
#include "gputls/kernels/mlkem_launch.h"

namespace gputls::kernels {
namespace {

using testing::Bytes;
using testing::random_bytes;

class MlkemDevice : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = testing::no_device_reason(); !why.empty()) GTEST_SKIP() << why;
  }
};

// Inputs for `count` requests of `op`: valid ones from fresh keys, every 7th
// one broken (an ek coefficient of 4095, or a dk whose ek was changed).
Bytes make_inputs(uint32_t op, uint32_t count) {
  const auto& tab = mlkem::tables();
  Bytes in;
  for (uint32_t i = 0; i < count; ++i) {
    const Bytes d = random_bytes(32), z = random_bytes(32), m = random_bytes(32);
    if (op == kMlkemKeygen) {
      in.insert(in.end(), d.begin(), d.end());
      in.insert(in.end(), z.begin(), z.end());
      continue;
    }
    Bytes ek(mlkem::kEkBytes), dk(mlkem::kDkBytes), c(mlkem::kCtBytes);
    uint8_t k[32];
    mlkem::keygen(ek.data(), dk.data(), d.data(), z.data(), tab);
    if (op == kMlkemEncaps) {
      if (i % 7 == 3) ek[0] = 0xff, ek[1] |= 0x0f;  // first coefficient 4095 >= q
      in.insert(in.end(), ek.begin(), ek.end());
      in.insert(in.end(), m.begin(), m.end());
    } else {
      mlkem::encaps(k, c.data(), ek.data(), m.data(), tab);
      if (i % 7 == 3) dk[mlkem::kDkPkeBytes + 9] ^= 1;
      if (i % 5 == 1) c[i % c.size()] ^= 4;  // implicit rejection path
      in.insert(in.end(), dk.begin(), dk.end());
      in.insert(in.end(), c.begin(), c.end());
    }
  }
  return in;
}

void compare(uint32_t op, uint32_t count) {
  const Bytes in = make_inputs(op, count);
  Bytes host_out(size_t{count} * mlkem_out_bytes(op)), dev_out(host_out.size());
  std::vector<uint32_t> host_status(count, 0xdeadbeef), dev_status(count, 0xeeeeeeee);
  MlkemBatch hb;
  hb.in = in.data();
  hb.out = host_out.data();
  hb.status = host_status.data();
  hb.count = count;
  hb.op = op;
  mlkem_batch_host(hb);

  testing::DeviceBuffer<uint8_t> din(in.size()), dout(host_out.size());
  testing::DeviceBuffer<uint32_t> dst(count);
  ASSERT_EQ(cudaMemcpy(din.p, in.data(), in.size(), cudaMemcpyHostToDevice), cudaSuccess);
  MlkemBatch db = hb;
  db.in = din.p;
  db.out = dout.p;
  db.status = dst.p;
  ASSERT_EQ(launch_mlkem_batch(db, nullptr), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(dev_out.data(), dout.p, dev_out.size(), cudaMemcpyDeviceToHost), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(dev_status.data(), dst.p, count * 4, cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(dev_status, host_status);
  EXPECT_TRUE(dev_out == host_out) << "device output differs from the host twin";
}

TEST_F(MlkemDevice, KeygenMatchesHostTwin) { compare(kMlkemKeygen, 300); }
TEST_F(MlkemDevice, EncapsMatchesHostTwin) { compare(kMlkemEncaps, 300); }
TEST_F(MlkemDevice, DecapsMatchesHostTwin) { compare(kMlkemDecaps, 300); }

}  // namespace
}  // namespace gputls::kernels
