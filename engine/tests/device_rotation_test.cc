// The GPU's circuit breaker: a device that fails batches in a row leaves
// rotation (the CPU serves, counted), is probed one batch at a time after a
// growing back-off, and comes back when a probe succeeds.
#include <gtest/gtest.h>

#include <thread>

#include "../src/device_rotation.h"
#include "engine_test_util.h"
#include "fake_gpu.h"
#include "test_keys.h"

namespace gputls::engine {
namespace {

using namespace testing;
using Admit = DeviceRotation::Admit;
constexpr uint64_t kMs = 1'000'000;

TEST(DeviceRotation, TripsProbesAndComesBack) {
  DeviceRotation r;
  uint64_t t = 1'000 * kMs;
  for (uint32_t i = 0; i + 1 < DeviceRotation::kTripAfter; ++i) {
    ASSERT_EQ(r.admit(t), Admit::kYes);
    r.record(true, t);
    EXPECT_TRUE(r.in_rotation()) << "out after " << i + 1 << " failures";
  }
  r.record(true, t);  // the kTripAfter-th failure in a row
  EXPECT_FALSE(r.in_rotation());
  EXPECT_EQ(r.trips(), 1u);
  EXPECT_EQ(r.admit(t + DeviceRotation::kFirstBackoffNs - 1), Admit::kNo);
  // Back-off passed: one probe at a time.
  t += DeviceRotation::kFirstBackoffNs;
  EXPECT_EQ(r.admit(t), Admit::kProbe);
  EXPECT_EQ(r.admit(t), Admit::kNo) << "a second probe while one is out";
  r.record(true, t);  // the probe failed: twice the back-off
  EXPECT_EQ(r.admit(t + 2 * DeviceRotation::kFirstBackoffNs - 1), Admit::kNo);
  t += 2 * DeviceRotation::kFirstBackoffNs;
  EXPECT_EQ(r.admit(t), Admit::kProbe);
  r.cancel_probe();  // nothing went to the device after all
  EXPECT_EQ(r.admit(t), Admit::kProbe);
  r.record(false, t);  // the probe succeeded
  EXPECT_TRUE(r.in_rotation());
  EXPECT_EQ(r.admit(t), Admit::kYes);
  EXPECT_EQ(r.probes(), 3u);
  // The back-off starts over, and is capped.
  for (uint32_t i = 0; i < DeviceRotation::kTripAfter; ++i) r.record(true, t);
  EXPECT_EQ(r.admit(t + DeviceRotation::kFirstBackoffNs), Admit::kProbe);
  r.record(true, t + DeviceRotation::kFirstBackoffNs);
  for (int i = 0; i < 20; ++i) {
    t += DeviceRotation::kMaxBackoffNs;
    ASSERT_EQ(r.admit(t), Admit::kProbe) << i;
    r.record(true, t);
  }
  EXPECT_EQ(r.admit(t + DeviceRotation::kMaxBackoffNs - 1), Admit::kNo);
  EXPECT_EQ(r.admit(t + DeviceRotation::kMaxBackoffNs), Admit::kProbe);
}

// Through the engine: a fake device that fails its first five batches.
TEST(DeviceRotation, EngineServesOnTheCpuWhileTheDeviceIsOut) {
  FakeGpu::Counters counters;
  FakeGpu::Options o;
  o.fail_batches = 5;
  Config cfg;
  cfg.policy = Policy::kGpu;
  cfg.quiet = true;
  cfg.gpu_backend_factory = [o, &counters] { return std::make_unique<FakeGpu>(o, &counters); };
  auto eng = make_engine(cfg);
  ASSERT_TRUE(eng->gpu_available());
  const Bytes in = random_bytes(32);
  auto one = [&] {  // one request, so one batch
    Bytes out(32);
    Request r;
    prepare(r, Op::kEcho, {}, in.data(), 32, out.data(), 32);
    EXPECT_EQ(eng->submit(r), Status::kOk);
    EXPECT_EQ(eng->wait(r), Status::kOk);
    EXPECT_EQ(out, in);
    return r.served_by;
  };
  auto fallback = [&](Fallback f) { return eng->op_stats(Op::kEcho, 0)->counts().fallback(f); };
  for (uint32_t i = 0; i < DeviceRotation::kTripAfter; ++i) EXPECT_EQ(one(), BackendKind::kCpu);  // failed, re-run
  EXPECT_EQ(counters.failed_batches.load(), 3u);
  EXPECT_EQ(fallback(Fallback::kDeviceError), 3u);
  // Out of rotation: the device sees nothing.
  EXPECT_EQ(one(), BackendKind::kCpu);
  EXPECT_EQ(one(), BackendKind::kCpu);
  EXPECT_EQ(counters.batches.load(), 3u);
  EXPECT_EQ(fallback(Fallback::kDeviceOut), 2u);
  EXPECT_NE(eng->stats_json().find("\"in_rotation\": false"), std::string::npos) << eng->stats_json();
  // Probes after each back-off: two more failures, then the device is back.
  std::this_thread::sleep_for(std::chrono::nanoseconds(DeviceRotation::kFirstBackoffNs + 20 * kMs));
  EXPECT_EQ(one(), BackendKind::kCpu);  // probe 1 fails (4th failed batch)
  EXPECT_EQ(counters.batches.load(), 4u);
  std::this_thread::sleep_for(std::chrono::nanoseconds(2 * DeviceRotation::kFirstBackoffNs + 20 * kMs));
  EXPECT_EQ(one(), BackendKind::kCpu);  // probe 2 fails (5th)
  std::this_thread::sleep_for(std::chrono::nanoseconds(4 * DeviceRotation::kFirstBackoffNs + 20 * kMs));
  EXPECT_EQ(one(), BackendKind::kCuda);  // probe 3 succeeds
  EXPECT_EQ(one(), BackendKind::kCuda);  // back in rotation
  EXPECT_EQ(counters.failed_batches.load(), 5u);
  EXPECT_NE(eng->stats_json().find("\"in_rotation\": true"), std::string::npos);
  EXPECT_NE(eng->stats_json().find("\"trips\": 1"), std::string::npos);
  EXPECT_NE(eng->stats_json().find("\"probes\": 3"), std::string::npos);
}

}  // namespace
}  // namespace gputls::engine
