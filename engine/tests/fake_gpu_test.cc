// The engine's GPU path without a GPU: dispatch policy, device errors re-run
// on the CPU, keys the device cannot take, fallbacks counted by reason.
#include <gtest/gtest.h>

#include "engine_test_util.h"
#include "fake_gpu.h"
#include "gputls/engine/cuda_backend.h"
#include "test_keys.h"

namespace gputls::engine {
namespace {

using namespace testing;

Config fake_gpu_config(Policy p, FakeGpu::Options o, FakeGpu::Counters* c) {
  Config cfg;
  cfg.policy = p;
  cfg.quiet = true;
  cfg.gpu_backend_factory = [o, c] { return std::make_unique<FakeGpu>(o, c); };
  return cfg;
}

uint64_t fallbacks(const OpStats* s, Fallback f) { return s->counts().fallback(f); }
uint64_t served(const OpStats* s, BackendKind k) { return s->counts().served_by(k); }

TEST(EngineGpuPath, EchoServedByTheDevice) {
  FakeGpu::Counters counters;
  auto eng = make_engine(fake_gpu_config(Policy::kGpu, {}, &counters));
  ASSERT_TRUE(eng->gpu_available());
  std::vector<Bytes> in(40), out(40);
  std::vector<Request> reqs(40);
  for (int i = 0; i < 40; ++i) {
    in[i] = random_bytes(i * 7);
    out[i].assign(in[i].size(), 0);
    prepare(reqs[i], Op::kEcho, {}, in[i].data(), in[i].size(), out[i].data(), out[i].size());
    ASSERT_EQ(eng->submit(reqs[i]), Status::kOk);
  }
  for (int i = 0; i < 40; ++i) {
    ASSERT_EQ(eng->wait(reqs[i]), Status::kOk);
    EXPECT_EQ(reqs[i].served_by, BackendKind::kCuda);
    EXPECT_EQ(out[i], in[i]);
  }
  EXPECT_EQ(served(eng->op_stats(Op::kEcho, 0), BackendKind::kCuda), 40u);
}

TEST(EngineGpuPath, DeviceErrorReRunsOnTheCpu) {
  FakeGpu::Counters counters;
  FakeGpu::Options o;
  o.fail_batches = 1000;
  auto eng = make_engine(fake_gpu_config(Policy::kGpu, o, &counters));
  EVP_PKEY* pkey = rsa_key(2048);
  KeyHandle h;
  ASSERT_EQ(eng->register_rsa_key(rsa_material(pkey), &h), Status::kOk);
  std::vector<Bytes> in(10), out(10);
  std::vector<Request> reqs(10);
  for (int i = 0; i < 10; ++i) {
    in[i] = random_below_modulus(pkey);
    out[i].assign(256, 0);
    prepare(reqs[i], Op::kRsaPriv, h, in[i].data(), 256, out[i].data(), 256);
    ASSERT_EQ(eng->submit(reqs[i]), Status::kOk);
  }
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(eng->wait(reqs[i]), Status::kOk);
    EXPECT_EQ(reqs[i].served_by, BackendKind::kCpu);
    EXPECT_EQ(out[i], openssl_rsa_raw(pkey, in[i]));
  }
  EXPECT_GE(counters.failed_batches.load(), 1u);
  const OpStats* st = eng->op_stats(Op::kRsaPriv, 2048);
  EXPECT_EQ(fallbacks(st, Fallback::kDeviceError), 10u);
  EXPECT_EQ(served(st, BackendKind::kCpu), 10u);
  EXPECT_NE(eng->stats_json().find("\"device_error\": 10"), std::string::npos);
}

TEST(EngineGpuPath, KeyTheDeviceCannotTakeRunsOnTheCpu) {
  FakeGpu::Counters counters;
  FakeGpu::Options o;
  o.take_keys = false;
  auto eng = make_engine(fake_gpu_config(Policy::kGpu, o, &counters));
  EVP_PKEY* pkey = rsa_key(2048);
  KeyHandle h;
  ASSERT_EQ(eng->register_rsa_key(rsa_material(pkey), &h), Status::kOk);
  Bytes in = random_below_modulus(pkey), out(256);
  Request r;
  prepare(r, Op::kRsaPriv, h, in.data(), 256, out.data(), 256);
  ASSERT_EQ(eng->submit(r), Status::kOk);
  ASSERT_EQ(eng->wait(r), Status::kOk);
  EXPECT_EQ(out, openssl_rsa_raw(pkey, in));
  EXPECT_EQ(counters.batches.load(), 0u);  // never sent to the device
  EXPECT_EQ(fallbacks(eng->op_stats(Op::kRsaPriv, 2048), Fallback::kKeyNotOnDevice), 1u);
}

TEST(EngineGpuPath, AutoSendsSmallBatchesToTheCpu) {
  FakeGpu::Counters counters;
  Config c = fake_gpu_config(Policy::kAuto, {}, &counters);
  c.auto_min_batch = 16;
  c.batch_size = 16;
  c.gpu_batch_size = 16;
  c.flusher_threads = 0;
  auto eng = make_engine(c);
  Bytes in = random_bytes(4);
  std::vector<Bytes> out(20, Bytes(4));
  std::vector<Request> reqs(20);
  for (int i = 0; i < 20; ++i) {
    prepare(reqs[i], Op::kEcho, {}, in.data(), 4, out[i].data(), 4);
    ASSERT_EQ(eng->submit(reqs[i]), Status::kOk);
  }
  eng->poll(true);  // a batch of 16 (GPU) and one of 4 (CPU)
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(eng->wait(reqs[i]), Status::kOk);
    EXPECT_EQ(out[i], in);
  }
  const OpStats* st = eng->op_stats(Op::kEcho, 0);
  EXPECT_EQ(served(st, BackendKind::kCuda), 16u);
  EXPECT_EQ(served(st, BackendKind::kCpu), 4u);
  EXPECT_EQ(fallbacks(st, Fallback::kNoDevice) + fallbacks(st, Fallback::kDeviceError), 0u);
}

// A queue the GPU serves makes its batches at gpu_batch_size (the kernels
// need thousands of requests in flight); with policy cpu the same op flushes
// at batch_size. Deadline far away: only depth makes a batch here.
TEST(EngineGpuPath, GpuQueuesFlushAtTheGpuBatchSize) {
  for (Policy p : {Policy::kGpu, Policy::kCpu}) {
    FakeGpu::Counters counters;
    Config c = fake_gpu_config(p, {}, &counters);
    c.batch_size = 4;
    c.gpu_batch_size = 12;
    c.deadline_us = 10'000'000;
    c.flusher_threads = 0;
    auto eng = make_engine(c);
    Bytes in = random_bytes(4);
    std::vector<Bytes> out(12, Bytes(4));
    std::vector<Request> reqs(12);
    size_t launched_at_4 = 0, launched_at_11 = 0, launched_at_12 = 0;
    for (int i = 0; i < 12; ++i) {
      prepare(reqs[i], Op::kEcho, {}, in.data(), 4, out[i].data(), 4);
      ASSERT_EQ(eng->submit(reqs[i]), Status::kOk);
      const size_t n = eng->poll(false);
      if (i == 3) launched_at_4 = n;
      if (i == 10) launched_at_11 = n;
      if (i == 11) launched_at_12 = n;
    }
    eng->poll(true);
    for (int i = 0; i < 12; ++i) ASSERT_EQ(eng->wait(reqs[i]), Status::kOk);
    const OpStats* st = eng->op_stats(Op::kEcho, 0);
    if (p == Policy::kGpu) {
      EXPECT_EQ(launched_at_4, 0u) << "a GPU queue does not flush at batch_size";
      EXPECT_EQ(launched_at_11, 0u);
      EXPECT_EQ(launched_at_12, 1u);
      EXPECT_EQ(counters.batches.load(), 1u) << "one batch of 12 on the device";
      EXPECT_EQ(served(st, BackendKind::kCuda), 12u);
    } else {
      EXPECT_EQ(launched_at_4, 1u);
      EXPECT_EQ(counters.batches.load(), 0u);
      EXPECT_EQ(served(st, BackendKind::kCpu), 12u);
    }
    EXPECT_NE(eng->stats_json().find("\"gpu_batch_size\": 12"), std::string::npos);
  }
}

TEST(EngineGpuPath, GpuPolicyWithoutDeviceFallsBackVisibly) {
  std::string why;
  if (make_cuda_backend({}, &why)) GTEST_SKIP() << "a GPU is present: nothing to fall back from";
  Config c;
  c.policy = Policy::kGpu;
  c.quiet = true;
  auto eng = make_engine(c);
  EXPECT_FALSE(eng->gpu_available());
  EXPECT_EQ(eng->gpu_description().rfind("none (", 0), 0u) << eng->gpu_description();
  Bytes in = random_bytes(4), out(4);
  Request r;
  prepare(r, Op::kEcho, {}, in.data(), 4, out.data(), 4);
  ASSERT_EQ(eng->submit(r), Status::kOk);
  ASSERT_EQ(eng->wait(r), Status::kOk);
  EXPECT_EQ(r.served_by, BackendKind::kCpu);
  EXPECT_EQ(fallbacks(eng->op_stats(Op::kEcho, 0), Fallback::kNoDevice), 1u);
}

TEST(EngineGpuPath, NullPolicyMeasuresOnlyTheEngine) {
  Config c;
  c.policy = Policy::kNull;
  c.quiet = true;
  auto eng = make_engine(c);
  KeyHandle h;
  ASSERT_EQ(eng->register_rsa_key(rsa_material(rsa_key(2048)), &h), Status::kOk);
  Bytes in(256, 1), out(256, 0xee);
  Request r;
  prepare(r, Op::kRsaPriv, h, in.data(), 256, out.data(), 256);
  ASSERT_EQ(eng->submit(r), Status::kOk);
  ASSERT_EQ(eng->wait(r), Status::kOk);
  EXPECT_EQ(r.served_by, BackendKind::kNull);
  EXPECT_EQ(out, Bytes(256, 0));  // nothing computed, and nothing stale left behind
}

}  // namespace
}  // namespace gputls::engine
