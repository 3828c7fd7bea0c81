// GPU tests (ctest label "gpu"): AES-GCM records through the engine's CUDA
// backend on a real device (staging, key slot table, both kernels), every
// result against OpenSSL's EVP AES-GCM; a failed batch re-run on the CPU.
// Without a device every test skips and says why.
#include <gtest/gtest.h>

#include <vector>

#include "aes_gcm_records.h"
#include "gputls/engine/cuda_backend.h"

namespace gputls::engine {
namespace {

using namespace testing;

class CudaAesGcmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = no_gpu_reason(); !why.empty()) GTEST_SKIP() << why;
  }
  std::unique_ptr<Engine> gpu_engine(uint32_t fail_batches = 0) {
    Config c = gpu_config(128, fail_batches);
    c.aes_gpu_min_bytes = 0;  // every record to the GPU
    return make_engine(c);
  }
};

// Seal and open, 128- and 256-bit keys, lengths 0..16640, AAD 0..64, every
// fourth open with a corrupted tag (refused, output zeroed).
void run_records(Engine& eng, size_t count, bool expect_gpu) {
  std::vector<Bytes> keys{random_bytes(16), random_bytes(32), random_bytes(16)};
  std::vector<KeyHandle> handles;
  for (const Bytes& k : keys) handles.push_back(register_aes(eng, k));
  std::vector<Record> recs(count);
  for (size_t i = 0; i < count; ++i) {
    const size_t k = i % keys.size();
    make_record(recs[i], keys[k], handles[k], i % 2 == 0, kernels::testing::test_length(i % 30),
                kernels::testing::random_u32() % 65);
    if (i % 8 == 1) recs[i].tag[3] ^= 0x40;
    ASSERT_EQ(eng.submit(recs[i].req), Status::kOk);
  }
  for (size_t i = 0; i < count; ++i) {
    if (i % 8 == 1) {
      EXPECT_EQ(eng.wait(recs[i].req), Status::kCryptoFailure) << i;
      EXPECT_EQ(recs[i].out, Bytes(recs[i].in.size(), 0)) << "plaintext released by record " << i;
    } else {
      ASSERT_EQ(eng.wait(recs[i].req), Status::kOk) << i;
      expect_result(recs[i], i);
    }
    if (expect_gpu) {
      EXPECT_EQ(recs[i].req.served_by, BackendKind::kCuda) << i;
    }
  }
  for (KeyHandle h : handles) EXPECT_EQ(eng.free_key(h), Status::kOk);
}

TEST_F(CudaAesGcmTest, RecordsServedByTheDeviceMatchOpenSsl) {
  auto eng = gpu_engine();
  ASSERT_TRUE(eng->gpu_available());
  run_records(*eng, 600, true);
}

TEST_F(CudaAesGcmTest, FailedBatchesReRunOnTheCpu) {
  auto eng = gpu_engine(2);
  run_records(*eng, 300, false);
  uint64_t rerun = 0;
  for (Op op : {Op::kAesGcmSeal, Op::kAesGcmOpen})
    for (uint32_t bits : {128u, 256u})
      if (const OpStats* s = eng->op_stats(op, bits)) rerun += s->counts().fallback(Fallback::kDeviceError);
  EXPECT_GT(rerun, 0u);
}

}  // namespace
}  // namespace gputls::engine
