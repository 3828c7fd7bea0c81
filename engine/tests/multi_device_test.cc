// Several GPUs in one engine, faked on the CPU (issue 20): batches spread by
// queue depth, a failing device leaves rotation while the others serve, a key
// one device refused is served by another, and with every device out the CPU
// serves, counted. The fakes run AES-GCM records with the kernels' host twin;
// every record is checked against OpenSSL's EVP AES-GCM (what the CPU backend
// runs).
//
// Which device takes a batch depends only on what is in flight, never on
// time: the engine has no flusher thread, the test launches batches with
// poll() while the fakes hold them (FakeGpu::Options::hold), then lets them
// run and waits.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <memory>
#include <vector>

#include "../src/device_rotation.h"
#include "aes_gcm_records.h"
#include "engine_test_util.h"
#include "fake_gpu.h"
#include "test_keys.h"

namespace gputls::engine {
namespace {

using testing::Bytes;
using testing::FakeGpu;
using testing::Record;

constexpr size_t kBatch = 8;

// N fake devices (options[i] for device i) behind one engine with policy gpu.
struct FakeDevices {
  std::atomic<bool> hold{false};
  std::vector<std::unique_ptr<FakeGpu::Counters>> counters;
  std::unique_ptr<Engine> engine;

  explicit FakeDevices(std::vector<FakeGpu::Options> options) {
    Config cfg;
    cfg.policy = Policy::kGpu;
    cfg.quiet = true;
    cfg.flusher_threads = 0;  // batches launch only when the test polls
    cfg.batch_size = cfg.gpu_batch_size = kBatch;
    cfg.aes_gpu_min_bytes = 0;  // every record to a device
    for (FakeGpu::Options o : options) {
      o.aes_host_twin = true;
      o.hold = &hold;
      counters.push_back(std::make_unique<FakeGpu::Counters>());
      FakeGpu::Counters* c = counters.back().get();
      cfg.gpu_backend_factories.push_back([o, c] { return std::make_unique<FakeGpu>(o, c); });
    }
    engine = testing::make_engine(cfg);
  }

  // Seals `batches` full batches of records under one key: all launched while
  // the devices hold them (so each device choice sees the batches before it
  // in flight), then run; every result checked.
  void round(const Bytes& key, KeyHandle h, size_t batches) {
    hold = true;
    std::vector<Record> records(batches * kBatch);
    for (size_t i = 0; i < records.size(); ++i) {
      testing::make_record(records[i], key, h, /*seal=*/true, 64 + i, 13);
      ASSERT_EQ(engine->submit(records[i].req), Status::kOk) << i;
    }
    EXPECT_EQ(engine->poll(/*force=*/true), batches);
    in_flight_while_held = stats()["devices"];
    hold = false;
    for (size_t i = 0; i < records.size(); ++i) {
      ASSERT_EQ(engine->wait(records[i].req), Status::kOk) << i;
      testing::expect_result(records[i], i);
    }
    submitted += records.size();
  }

  nlohmann::json stats() const { return nlohmann::json::parse(engine->stats_json()); }
  nlohmann::json device(size_t i) const { return stats()["devices"][i]; }
  OpStats::Counts counts() const { return engine->op_stats(Op::kAesGcmSeal, 128)->counts(); }
  uint64_t fallbacks() const {
    uint64_t n = 0;
    for (uint64_t f : counts().fallbacks) n += f;
    return n;
  }

  nlohmann::json in_flight_while_held;  // the devices' stats of the last round, before they ran
  uint64_t submitted = 0;
};

struct AesKey {
  explicit AesKey(Engine& eng) : bytes(testing::random_bytes(16)), handle(testing::register_aes(eng, bytes)) {}
  Bytes bytes;
  KeyHandle handle;
};

TEST(MultiDevice, BatchesSpreadByQueueDepth) {
  FakeDevices fx({{}, {}, {}});
  ASSERT_EQ(fx.engine->device_count(), 3u);
  const AesKey key(*fx.engine);
  // Six batches over three idle devices: each next batch goes to the device
  // with the fewest requests in flight, so each device gets two.
  fx.round(key.bytes, key.handle, 6);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(fx.in_flight_while_held[i]["requests_in_flight"], 2 * kBatch) << "device " << i;
    EXPECT_EQ(fx.counters[i]->batches.load(), 2u) << "device " << i;
    EXPECT_EQ(fx.counters[i]->requests.load(), 2 * kBatch) << "device " << i;
    const nlohmann::json d = fx.device(i);
    EXPECT_EQ(d["index"], i);
    EXPECT_EQ(d["description"], "fake GPU (tests)");
    EXPECT_EQ(d["in_rotation"], true);
    EXPECT_EQ(d["batches"], 2u);
    EXPECT_EQ(d["requests_served"], 2 * kBatch);
    EXPECT_EQ(d["requests_in_flight"], 0u);
  }
  const OpStats::Counts c = fx.counts();
  EXPECT_EQ(c.served_by(BackendKind::kCuda), fx.submitted);
  EXPECT_EQ(c.served_by(BackendKind::kCpu), 0u);
  EXPECT_EQ(fx.fallbacks(), 0u);
  EXPECT_EQ(fx.stats()["device_rotation"]["in_rotation"], true);
}

TEST(MultiDevice, UnevenLoadGoesToTheLeastLoaded) {
  FakeDevices fx({{}, {}});
  const AesKey key(*fx.engine);
  // Three batches over two idle devices: device 0, device 1, then device 0
  // again (equal depths: the first device wins the tie). Twice: device 0
  // serves four batches, device 1 two.
  fx.round(key.bytes, key.handle, 3);
  EXPECT_EQ(fx.in_flight_while_held[0]["requests_in_flight"], 2 * kBatch);
  EXPECT_EQ(fx.in_flight_while_held[1]["requests_in_flight"], kBatch);
  fx.round(key.bytes, key.handle, 3);
  EXPECT_EQ(fx.device(0)["requests_served"], 4 * kBatch);
  EXPECT_EQ(fx.device(1)["requests_served"], 2 * kBatch);
  EXPECT_EQ(fx.counts().served_by(BackendKind::kCuda), fx.submitted);
}

TEST(MultiDevice, FailingDeviceLeavesRotationWhileTheOthersServe) {
  FakeGpu::Options failing;
  failing.fail_batches = 1'000'000;  // every batch: kDeviceError
  FakeDevices fx({{}, {}, failing});
  const AesKey key(*fx.engine);
  // Each round of three gives device 2 one batch while it is in rotation; it
  // fails every one, and leaves rotation after kTripAfter in a row.
  for (uint32_t i = 0; i < DeviceRotation::kTripAfter; ++i) fx.round(key.bytes, key.handle, 3);
  EXPECT_EQ(fx.device(2)["in_rotation"], false);
  EXPECT_EQ(fx.device(2)["trips"], 1u);
  for (int i = 0; i < 4; ++i) fx.round(key.bytes, key.handle, 3);

  const nlohmann::json out = fx.device(2);
  EXPECT_EQ(out["in_rotation"], false);
  EXPECT_EQ(out["requests_served"], 0u);
  // Out of rotation, device 2 got only probes (one batch each, once its
  // back-off passed, each failing): every batch it failed is accounted for.
  EXPECT_EQ(fx.counters[2]->failed_batches.load(), DeviceRotation::kTripAfter + out["probes"].get<uint64_t>());
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(fx.device(i)["in_rotation"], true) << "device " << i;
  EXPECT_EQ(fx.stats()["device_rotation"]["in_rotation"], true) << "two of three devices serve";

  // Device 2's requests re-ran on the CPU; nothing else left the devices.
  const OpStats::Counts c = fx.counts();
  const uint64_t rerun = fx.counters[2]->requests.load();
  EXPECT_EQ(c.fallback(Fallback::kDeviceError), rerun);
  EXPECT_EQ(fx.fallbacks(), rerun) << "no fallback beyond the re-runs";
  EXPECT_EQ(c.served_by(BackendKind::kCpu), rerun);
  EXPECT_EQ(c.served_by(BackendKind::kCuda), fx.counters[0]->requests.load() + fx.counters[1]->requests.load());
  EXPECT_EQ(c.served_by(BackendKind::kCuda) + rerun, fx.submitted);
  EXPECT_EQ(fx.device(0)["requests_served"].get<uint64_t>() + fx.device(1)["requests_served"].get<uint64_t>(),
            c.served_by(BackendKind::kCuda));
}

TEST(MultiDevice, KeyRefusedByOneDeviceIsServedByAnother) {
  FakeGpu::Options refuses;
  refuses.take_keys = false;
  FakeDevices fx({refuses, {}});
  const AesKey key(*fx.engine);
  // Device 0 is the least loaded for both batches but lacks the key: both go
  // to device 1, which holds it.
  fx.round(key.bytes, key.handle, 2);
  EXPECT_EQ(fx.counters[0]->batches.load(), 0u);
  EXPECT_EQ(fx.counters[1]->requests.load(), fx.submitted);
  EXPECT_EQ(fx.device(1)["requests_served"], fx.submitted);
  const OpStats::Counts c = fx.counts();
  EXPECT_EQ(c.served_by(BackendKind::kCuda), fx.submitted);
  EXPECT_EQ(c.fallback(Fallback::kKeyNotOnDevice), 0u) << "a device in rotation holds the key";
  EXPECT_EQ(fx.fallbacks(), 0u);
}

// A key a device took at registration but then could not serve (its upload
// failed later: usable() false) goes to a device that can, or to the CPU,
// and is never held against the device's health.
TEST(MultiDevice, KeyADeviceCannotServeGoesElsewhereWithoutTrippingIt) {
  FakeGpu::Options unusable;
  unusable.keys_unusable = true;
  {
    FakeDevices fx({unusable, {}});
    const AesKey key(*fx.engine);
    fx.round(key.bytes, key.handle, 2);
    EXPECT_EQ(fx.counters[0]->batches.load(), 0u);
    EXPECT_EQ(fx.counters[1]->requests.load(), fx.submitted);
    EXPECT_EQ(fx.device(0)["in_rotation"], true);
    EXPECT_EQ(fx.device(0)["trips"], 0u);
  }
  FakeDevices fx({unusable});
  const AesKey key(*fx.engine);
  for (uint32_t i = 0; i < DeviceRotation::kTripAfter + 1; ++i) fx.round(key.bytes, key.handle, 1);
  const OpStats::Counts c = fx.counts();
  EXPECT_EQ(c.served_by(BackendKind::kCpu), fx.submitted);
  EXPECT_EQ(c.fallback(Fallback::kKeyNotOnDevice), fx.submitted);
  EXPECT_EQ(c.fallback(Fallback::kDeviceError), 0u);
  EXPECT_EQ(fx.counters[0]->batches.load(), 0u);
  EXPECT_EQ(fx.device(0)["in_rotation"], true);
  EXPECT_EQ(fx.device(0)["trips"], 0u);
}

TEST(MultiDevice, KeyOnNoDeviceInRotationRunsOnTheCpuCounted) {
  FakeGpu::Options refuses, failing;
  refuses.take_keys = false;
  failing.fail_batches = 1'000'000;
  FakeDevices fx({refuses, failing});
  const AesKey key(*fx.engine);
  // Only device 1 holds the key, and it fails every batch until it leaves
  // rotation (each failure re-run on the CPU).
  for (uint32_t i = 0; i < DeviceRotation::kTripAfter; ++i) fx.round(key.bytes, key.handle, 1);
  EXPECT_EQ(fx.device(1)["in_rotation"], false);
  EXPECT_EQ(fx.counts().fallback(Fallback::kDeviceError), DeviceRotation::kTripAfter * kBatch);
  // Now no device in rotation holds it: the CPU, counted as key_not_on_device.
  // (Device 0 takes every batch first and admits it, so device 1 is never probed.)
  fx.round(key.bytes, key.handle, 1);
  const OpStats::Counts c = fx.counts();
  EXPECT_EQ(c.fallback(Fallback::kKeyNotOnDevice), kBatch);
  EXPECT_EQ(c.fallback(Fallback::kDeviceError), DeviceRotation::kTripAfter * kBatch);
  EXPECT_EQ(c.served_by(BackendKind::kCpu), fx.submitted);
  EXPECT_EQ(fx.counters[0]->batches.load(), 0u);
}

TEST(MultiDevice, KeyOnNoDeviceRunsOnTheCpuCounted) {
  FakeGpu::Options refuses;
  refuses.take_keys = false;
  FakeDevices fx({refuses, refuses, refuses});
  const AesKey key(*fx.engine);
  fx.round(key.bytes, key.handle, 2);
  const OpStats::Counts c = fx.counts();
  EXPECT_EQ(c.served_by(BackendKind::kCpu), fx.submitted);
  EXPECT_EQ(c.fallback(Fallback::kKeyNotOnDevice), fx.submitted);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(fx.counters[i]->batches.load(), 0u) << "device " << i;
}

TEST(MultiDevice, AllDevicesOutTheCpuServesCounted) {
  FakeGpu::Options failing;
  failing.fail_batches = 1'000'000;
  FakeDevices fx({failing, failing});
  const AesKey key(*fx.engine);
  // Rounds of two batches: both devices fail theirs until both are out.
  for (uint32_t i = 0; i < DeviceRotation::kTripAfter; ++i) fx.round(key.bytes, key.handle, 2);
  ASSERT_EQ(fx.stats()["device_rotation"]["in_rotation"], false) << fx.engine->stats_json();
  const uint64_t failed_before = fx.counters[0]->requests.load() + fx.counters[1]->requests.load();
  EXPECT_EQ(failed_before, fx.submitted);
  for (int i = 0; i < 10; ++i) fx.round(key.bytes, key.handle, 1);

  // Every request ran on the CPU: re-run after a device error (the rounds
  // that tripped the devices, and any probe of a device whose back-off
  // passed, which fails again and doubles it) or sent there at once because
  // no device was in rotation.
  const OpStats::Counts c = fx.counts();
  const uint64_t failed = fx.counters[0]->requests.load() + fx.counters[1]->requests.load();
  EXPECT_EQ(c.served_by(BackendKind::kCpu), fx.submitted);
  EXPECT_EQ(c.fallback(Fallback::kDeviceError), failed);
  EXPECT_EQ(c.fallback(Fallback::kDeviceOut), fx.submitted - failed);
  EXPECT_GT(c.fallback(Fallback::kDeviceOut), 0u) << "ten rounds cannot all be probes: each failed probe doubles the back-off";
  EXPECT_EQ(fx.fallbacks(), fx.submitted);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(fx.device(i)["in_rotation"], false) << "device " << i;
    EXPECT_EQ(fx.device(i)["requests_served"], 0u) << "device " << i;
  }
}

TEST(MultiDevice, DeviceThatDidNotStartIsLeftOut) {
  Config cfg;
  cfg.policy = Policy::kGpu;
  cfg.quiet = true;
  FakeGpu::Counters c0, c2;
  cfg.gpu_backend_factories = {[&] { return std::make_unique<FakeGpu>(FakeGpu::Options{}, &c0); },
                               [] { return std::unique_ptr<Backend>(); },
                               [&] { return std::make_unique<FakeGpu>(FakeGpu::Options{}, &c2); }};
  auto eng = testing::make_engine(cfg);
  ASSERT_EQ(eng->device_count(), 2u);
  EXPECT_EQ(eng->gpu_description(), "2 GPUs: fake GPU (tests) (device 0), fake GPU (tests) (device 2)");
  const nlohmann::json devices = nlohmann::json::parse(eng->stats_json())["devices"];
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_EQ(devices[0]["index"], 0);
  EXPECT_EQ(devices[1]["index"], 2);
}

TEST(MultiDevice, OneDeviceReadsAsBefore) {
  FakeDevices fx(std::vector<FakeGpu::Options>(1));
  EXPECT_EQ(fx.engine->gpu_description(), "fake GPU (tests)");
  const nlohmann::json j = fx.stats();
  for (const char* field : {"in_rotation", "failed_batches_in_row", "trips", "probes", "retry_in_ms"})
    EXPECT_TRUE(j["device_rotation"].contains(field)) << field;
  ASSERT_EQ(j["devices"].size(), 1u);
  EXPECT_EQ(j["devices"][0]["index"], 0);
}

}  // namespace
}  // namespace gputls::engine
