// GPU tests (ctest label "gpu"): the CUDA backend on a real device, results
// bit-exact against the host twin of the same kernel body. Without a device
// every test skips and says why.
#include <gtest/gtest.h>

#include <thread>

#include "engine_test_util.h"
#include "gputls/engine/cuda_backend.h"
#include "gputls/kernels/echo_batch.h"
#include "test_keys.h"

namespace gputls::engine {
namespace {

using namespace testing;

class CudaBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!make_cuda_backend({}, &why)) GTEST_SKIP() << "no usable GPU: " << why;
  }
  std::unique_ptr<Engine> gpu_engine(uint32_t fail_batches = 0) {
    Config c;
    c.policy = Policy::kGpu;
    c.quiet = true;
    c.batch_size = 256;
    c.gpu_backend_factory = [fail_batches] {
      CudaBackendOptions o;
      o.fail_batches = fail_batches;
      std::string why;
      return make_cuda_backend(o, &why);
    };
    return make_engine(c);
  }
};

// Device results against the host twin over the same packed batch.
TEST_F(CudaBackendTest, EchoBitExactAgainstHostTwin) {
  auto eng = gpu_engine();
  ASSERT_TRUE(eng->gpu_available());
  constexpr int kN = 2000;
  std::vector<Bytes> in(kN), out(kN);
  std::vector<Request> reqs(kN);
  std::vector<uint32_t> off, len;
  Bytes packed;
  for (int i = 0; i < kN; ++i) {
    in[i] = random_bytes(static_cast<size_t>(i * 37 % 17000));
    out[i].assign(in[i].size(), 0);
    off.push_back(static_cast<uint32_t>(packed.size()));
    len.push_back(static_cast<uint32_t>(in[i].size()));
    packed.insert(packed.end(), in[i].begin(), in[i].end());
    prepare(reqs[i], Op::kEcho, {}, in[i].data(), in[i].size(), out[i].data(), out[i].size());
    ASSERT_EQ(eng->submit(reqs[i]), Status::kOk);
  }
  Bytes host_out(packed.size());
  kernels::EchoBatch hb{packed.data(), host_out.data(), off.data(), len.data(), kN};
  kernels::echo_batch_host(hb);
  for (int i = 0; i < kN; ++i) {
    ASSERT_EQ(eng->wait(reqs[i]), Status::kOk);
    EXPECT_EQ(reqs[i].served_by, BackendKind::kCuda);
    ASSERT_TRUE(std::equal(out[i].begin(), out[i].end(), host_out.begin() + off[i])) << i;
  }
  std::printf("device: %s\n%s\n", eng->gpu_description().c_str(), eng->stats_json().c_str());
}

TEST_F(CudaBackendTest, InjectedDeviceFaultReRunsOnCpu) {
  auto eng = gpu_engine(/*fail_batches=*/1);
  Bytes in = random_bytes(64);
  std::vector<Bytes> out(10, Bytes(64));
  std::vector<Request> reqs(10);
  for (int i = 0; i < 10; ++i) {
    prepare(reqs[i], Op::kEcho, {}, in.data(), 64, out[i].data(), 64);
    ASSERT_EQ(eng->submit(reqs[i]), Status::kOk);
    ASSERT_EQ(eng->wait(reqs[i]), Status::kOk);
    EXPECT_EQ(out[i], in);
  }
  EXPECT_EQ(reqs[0].served_by, BackendKind::kCpu);
  EXPECT_EQ(reqs[9].served_by, BackendKind::kCuda);
  EXPECT_EQ(eng->op_stats(Op::kEcho, 0)->fallbacks[static_cast<size_t>(Fallback::kDeviceError)].load(), 1u);
}

TEST_F(CudaBackendTest, ManyThreadsSubmitting) {
  auto eng = gpu_engine();
  std::atomic<int> wrong{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t) {
    ts.emplace_back([&] {
      std::vector<Bytes> in(200), out(200);
      std::vector<Request> reqs(200);
      for (int i = 0; i < 200; ++i) {
        in[i] = random_bytes(1 + i);
        out[i].assign(in[i].size(), 0);
        prepare(reqs[i], Op::kEcho, {}, in[i].data(), in[i].size(), out[i].data(), out[i].size());
        if (eng->submit(reqs[i]) != Status::kOk) ++wrong;
      }
      for (int i = 0; i < 200; ++i)
        if (eng->wait(reqs[i]) != Status::kOk || out[i] != in[i]) ++wrong;
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace gputls::engine
