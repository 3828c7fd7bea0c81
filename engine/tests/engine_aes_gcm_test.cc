// AES-GCM records through the engine: the CPU backend (OpenSSL EVP) and the
// GPU path with the fake GPU running the kernels' host twin (the GPU's own
// code), every result against OpenSSL's EVP AES-GCM called directly. Also:
// refused requests (IV not 96 bits, bad tag length, wrong key), opens that
// fail with their output zeroed, the size threshold sending small records to
// the CPU, a device failing mid-batch (the rest re-run on the CPU), and key
// state wiped when a key is freed.
#include <gtest/gtest.h>

#include <openssl/err.h>

#include <cstring>
#include <string>
#include <vector>
#include <thread>
#include <atomic>

#include "aes_gcm_records.h"
#include "engine_test_util.h"
#include "fake_gpu.h"
#include "test_keys.h"

namespace gputls::engine {
namespace {

using testing::Bytes;
using testing::cpu_config;
using testing::expect_result;
using testing::make_record;
using testing::Record;
using testing::FakeGpu;
using testing::make_engine;
using testing::random_bytes;

uint64_t fallbacks(const OpStats* s, Fallback f) { return s ? s->counts().fallback(f) : 0; }
uint64_t served(const OpStats* s, BackendKind k) { return s ? s->counts().served_by(k) : 0; }

Config fake_gpu_config(FakeGpu::Options o, FakeGpu::Counters* c) {
  Config cfg;
  cfg.policy = Policy::kGpu;
  cfg.quiet = true;
  cfg.aes_gpu_min_bytes = 256;
  o.aes_host_twin = true;
  cfg.gpu_backend_factory = [o, c] { return std::make_unique<FakeGpu>(o, c); };
  return cfg;
}

// Registers a 128- and a 256-bit key; fills `records` with seals and opens of
// the lengths (and AAD 0..64) over both keys, submits and waits.
struct MixedRun {
  std::vector<Bytes> keys;
  std::vector<KeyHandle> handles;
  std::vector<Record> records;
};

void run_mixed(Engine& eng, MixedRun& run, size_t count) {
  for (size_t key_len : {16u, 32u}) {
    run.keys.push_back(random_bytes(key_len));
    run.handles.push_back(testing::register_aes(eng, run.keys.back()));
  }
  run.records = std::vector<Record>(count);
  for (size_t i = 0; i < count; ++i) {
    const size_t k = i % 2;
    make_record(run.records[i], run.keys[k], run.handles[k], i % 3 != 2, kernels::testing::test_length(i % 24),
                kernels::testing::random_u32() % 65);
    ASSERT_EQ(eng.submit(run.records[i].req), Status::kOk) << i;
  }
  for (size_t i = 0; i < count; ++i) {
    ASSERT_EQ(eng.wait(run.records[i].req), Status::kOk) << "record " << i;
    expect_result(run.records[i], i);
  }
}

TEST(EngineAesGcm, CpuMatchesOpenSsl) {
  for (uint32_t flushers : {1u, 0u}) {
    auto eng = make_engine(cpu_config(flushers));
    MixedRun run;
    run_mixed(*eng, run, 48);
    for (const Record& r : run.records) EXPECT_EQ(r.req.served_by, BackendKind::kCpu);
    EXPECT_EQ(served(eng->op_stats(Op::kAesGcmSeal, 128), BackendKind::kCpu) +
                  served(eng->op_stats(Op::kAesGcmSeal, 256), BackendKind::kCpu) +
                  served(eng->op_stats(Op::kAesGcmOpen, 128), BackendKind::kCpu) +
                  served(eng->op_stats(Op::kAesGcmOpen, 256), BackendKind::kCpu),
              48u);
  }
}

TEST(EngineAesGcm, RunNowInPlace) {
  auto eng = make_engine(cpu_config());
  const Bytes key = random_bytes(16);
  const KeyHandle h = testing::register_aes(*eng, key);
  Record r;
  make_record(r, key, h, true, 1000, 13);
  Bytes buf = r.in;
  r.req.in = buf.data();
  r.req.out = buf.data();
  ASSERT_EQ(eng->run_now(r.req), Status::kOk);
  EXPECT_EQ(buf, r.want_out);
  EXPECT_EQ(0, std::memcmp(r.tag, r.want_tag, 16));
}

// The lane (Engine::aead_lane): records through it give OpenSSL's results,
// a tampered open fails with its output zeroed, and each is counted as a
// run_now() record is; a lane is refused for a stale handle and for a key
// that is not an AES key, and checks each record as run_now() does.
TEST(EngineAesGcm, LaneRecordsMatchOpenSslAndCountAsRunNow) {
  auto eng = make_engine(cpu_config());
  const Bytes key = random_bytes(16);
  const KeyHandle h = testing::register_aes(*eng, key);
  Engine::AeadLane lane;
  ASSERT_EQ(eng->aead_lane(h, &lane), Status::kOk);
  ASSERT_TRUE(lane);
  std::vector<Record> records(40);
  for (size_t i = 0; i < records.size(); ++i) make_record(records[i], key, h, i % 2 == 0, 1 + 61 * i, i % 14);
  for (Record& r : records) EXPECT_EQ(eng->run_now(lane, r.req), Status::kOk);
  for (size_t i = 0; i < records.size(); ++i) {
    expect_result(records[i], i);
    EXPECT_EQ(records[i].req.served_by, BackendKind::kCpu);
    EXPECT_TRUE(records[i].req.done());
  }
  const OpStats* seal = eng->op_stats(Op::kAesGcmSeal, 128);
  const OpStats* open = eng->op_stats(Op::kAesGcmOpen, 128);
  ASSERT_TRUE(seal && open);
  EXPECT_EQ(seal->ran_now.load(), 20u);
  EXPECT_EQ(open->ran_now.load(), 20u);

  Record bad;
  make_record(bad, key, h, false, 100, 5);
  bad.tag[3] ^= 1;
  EXPECT_EQ(eng->run_now(lane, bad.req), Status::kCryptoFailure);
  EXPECT_EQ(bad.out, Bytes(100, 0)) << "a failed open left plaintext";
  EXPECT_EQ(open->ran_now_failed.load(), 1u);

  Record odd_iv;
  make_record(odd_iv, key, h, true, 32, 5);
  odd_iv.aead.nonce_len = 16;
  EXPECT_EQ(eng->run_now(lane, odd_iv.req), Status::kBadIvLength);
  Record not_aead;
  make_record(not_aead, key, h, true, 32, 5);
  not_aead.req.op = Op::kEcho;
  EXPECT_EQ(eng->run_now(lane, not_aead.req), Status::kInvalidArgument);
  EXPECT_EQ(eng->run_now(Engine::AeadLane{}, not_aead.req), Status::kInvalidArgument);

  EVP_PKEY* xk = testing::x25519_key();
  KeyHandle x{};
  ASSERT_EQ(eng->register_x25519_key(testing::x25519_material(xk), &x), Status::kOk);
  EVP_PKEY_free(xk);
  Engine::AeadLane none;
  EXPECT_EQ(eng->aead_lane(x, &none), Status::kInvalidArgument);
  EXPECT_FALSE(none);
  ASSERT_EQ(eng->free_key(h), Status::kOk);
  EXPECT_EQ(eng->aead_lane(h, &none), Status::kStaleKey);
  EXPECT_FALSE(none);
}

// run_record_now (the lane without a Request, the provider's per-record
// call): OpenSSL's results, in place too; counted as run_now() counts its
// records (ran_now; a tag mismatch in ran_now_failed, failed and its error,
// with the output wiped); the same refusals; beside a GPU, a record below its
// size threshold counts the record-size fallback as run_now() counts it.
TEST(EngineAesGcm, LaneRecordNowMatchesOpenSslAndCountsAsRunNow) {
  for (bool gpu : {false, true}) {
    FakeGpu::Counters counters;
    auto eng = make_engine(gpu ? fake_gpu_config({}, &counters) : cpu_config());  // GPU: aes_gpu_min_bytes = 256
    const Bytes key = random_bytes(16);
    const KeyHandle h = testing::register_aes(*eng, key);
    Engine::AeadLane lane;
    ASSERT_EQ(eng->aead_lane(h, &lane), Status::kOk);
    std::vector<Record> records(30);
    for (size_t i = 0; i < records.size(); ++i) {
      Record& r = records[i];
      make_record(r, key, h, i % 2 == 0, 7 * i, i % 14);
      if (i % 3 == 0) {  // in place
        r.out = r.in;
        EXPECT_EQ(eng->run_record_now(lane, r.seal, r.aead, r.out.data(), r.out.data(), r.out.size()), Status::kOk);
      } else {
        EXPECT_EQ(eng->run_record_now(lane, r.seal, r.aead, r.in.data(), r.out.data(), r.in.size()), Status::kOk);
      }
      expect_result(r, i);
    }
    const OpStats* seal = eng->op_stats(Op::kAesGcmSeal, 128);
    const OpStats* open = eng->op_stats(Op::kAesGcmOpen, 128);
    ASSERT_TRUE(seal && open);
    EXPECT_EQ(seal->ran_now.load(), 15u);
    EXPECT_EQ(open->ran_now.load(), 15u);
    EXPECT_EQ(served(seal, BackendKind::kCpu), 15u);
    EXPECT_EQ(fallbacks(seal, Fallback::kRecordSize) + fallbacks(open, Fallback::kRecordSize), gpu ? 30u : 0u);

    Record bad;
    make_record(bad, key, h, false, 300, 5);
    bad.tag[3] ^= 1;
    EXPECT_EQ(eng->run_record_now(lane, false, bad.aead, bad.in.data(), bad.out.data(), 300), Status::kCryptoFailure);
    EXPECT_EQ(bad.out, Bytes(300, 0)) << "a failed open left plaintext";
    EXPECT_EQ(open->ran_now_failed.load(), 1u);
    const OpStats::Counts c = open->counts();
    EXPECT_EQ(c.failed, 1u);
    EXPECT_EQ(c.errors[static_cast<size_t>(Status::kCryptoFailure)], 1u);
    EXPECT_EQ(fallbacks(open, Fallback::kRecordSize), gpu ? 15u : 0u) << "300 bytes is above the threshold";

    Record odd;
    make_record(odd, key, h, true, 32, 5);
    odd.aead.nonce_len = 16;
    EXPECT_EQ(eng->run_record_now(lane, true, odd.aead, odd.in.data(), odd.out.data(), 32), Status::kBadIvLength);
    odd.aead.nonce_len = 12;
    odd.aead.tag_len = 12;
    EXPECT_EQ(eng->run_record_now(lane, true, odd.aead, odd.in.data(), odd.out.data(), 32), Status::kInvalidArgument);
    odd.aead.tag_len = 16;
    EXPECT_EQ(eng->run_record_now(lane, true, odd.aead, odd.in.data() + 1, odd.in.data(), 31), Status::kInvalidArgument)
        << "overlapping input and output";
    EXPECT_EQ(eng->run_record_now(Engine::AeadLane{}, true, odd.aead, odd.in.data(), odd.out.data(), 32),
              Status::kInvalidArgument);
    EXPECT_EQ(seal->ran_now.load(), 15u) << "a refused record is not run";
    eng->shutdown();
    EXPECT_EQ(eng->run_record_now(lane, true, odd.aead, odd.in.data(), odd.out.data(), 32), Status::kShutdown);
  }
}

// One key used by several threads at once (the CPU backend's context for the
// key is taken by one; the others key a context of their own from the key's
// material): every record still matches OpenSSL.
TEST(EngineAesGcm, RunNowFromManyThreadsOnOneKey) {
  auto eng = make_engine(cpu_config());
  const Bytes key = random_bytes(32);
  const KeyHandle h = testing::register_aes(*eng, key);
  constexpr int kThreads = 4, kPerThread = 200;
  std::vector<std::vector<Record>> records(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    records[t] = std::vector<Record>(kPerThread);
    for (int i = 0; i < kPerThread; ++i) make_record(records[t][i], key, h, (i + t) % 2 == 0, 64 + 97 * i, 13);
  }
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (Record& r : records[t])
        if (eng->run_now(r.req) != Status::kOk) ++bad;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
  for (int t = 0; t < kThreads; ++t)
    for (int i = 0; i < kPerThread; ++i) expect_result(records[t][i], size_t(i));
}

// run_now() records are counted once each, and read back as batches of one
// served by the CPU, failures apart; the caller's OpenSSL error queue is left
// as it was by a success and by a tag mismatch (the path sets no mark).
TEST(EngineAesGcm, RunNowCountsAndLeavesErrorQueue) {
  auto eng = make_engine(cpu_config());
  const Bytes key = random_bytes(16);
  const KeyHandle h = testing::register_aes(*eng, key);
  ERR_clear_error();
  ERR_raise_data(ERR_LIB_USER, 77, "the caller's own error");
  const unsigned long callers = ERR_peek_last_error();
  for (size_t i = 0; i < 5; ++i) {
    Record r;
    make_record(r, key, h, /*seal=*/false, 64 * i, 13);
    if (i == 3) r.tag[0] ^= 1;
    ASSERT_EQ(eng->run_now(r.req), i == 3 ? Status::kCryptoFailure : Status::kOk) << i;
    if (i == 3) EXPECT_EQ(r.out, Bytes(r.in.size(), 0));
    else expect_result(r, i);
  }
  EXPECT_EQ(ERR_get_error(), callers);
  EXPECT_EQ(ERR_get_error(), 0u) << "the engine left an error on the caller's queue";

  const OpStats::Counts c = eng->op_stats(Op::kAesGcmOpen, 128)->counts();
  EXPECT_EQ(c.submitted, 5u);
  EXPECT_EQ(c.completed, 4u);
  EXPECT_EQ(c.failed, 1u);
  EXPECT_EQ(c.batches, 5u);
  EXPECT_EQ(c.batch_hist[0], 5u);
  EXPECT_EQ(c.served_by(BackendKind::kCpu), 5u);
  EXPECT_EQ(c.errors[static_cast<size_t>(Status::kCryptoFailure)], 1u);
  const std::string json = eng->stats_json();
  EXPECT_NE(json.find("\"completed\": 4,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"submitted\": 5\n"), std::string::npos) << json;
}

// With a GPU, a record below the size threshold is run at once by its caller
// (no queue): right against OpenSSL, served by the CPU, counted as sized out;
// records at the threshold and other ops still queue for the GPU.
TEST(EngineAesGcm, SmallRecordsRunNowBesideAGpu) {
  FakeGpu::Counters counters;
  auto eng = make_engine(fake_gpu_config({}, &counters));  // aes_gpu_min_bytes = 256
  ASSERT_TRUE(eng->gpu_available());
  EXPECT_FALSE(eng->prefers_run_now());
  EXPECT_TRUE(eng->prefers_run_now(Op::kAesGcmSeal, 255));
  EXPECT_TRUE(eng->prefers_run_now(Op::kAesGcmOpen, 0));
  EXPECT_FALSE(eng->prefers_run_now(Op::kAesGcmSeal, 256));
  EXPECT_FALSE(eng->prefers_run_now(Op::kRsaPriv, 0));
  const Bytes key = random_bytes(32);
  const KeyHandle h = testing::register_aes(*eng, key);
  Record r;
  make_record(r, key, h, /*seal=*/false, 255, 13);
  ASSERT_EQ(eng->run_now(r.req), Status::kOk);
  expect_result(r, 0);
  const OpStats* st = eng->op_stats(Op::kAesGcmOpen, 256);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(served(st, BackendKind::kCpu), 1u);
  EXPECT_EQ(fallbacks(st, Fallback::kRecordSize), 1u);
  EXPECT_EQ(counters.aes_computed.load(), 0u);

  Config c = fake_gpu_config({}, &counters);
  c.policy = Policy::kNull;  // measuring the engine: always queue
  EXPECT_FALSE(make_engine(c)->prefers_run_now(Op::kAesGcmSeal, 1));
}

// Corrupted tag, ciphertext or AAD: kCryptoFailure and the output zeroed, on
// the CPU and on the (fake) GPU; nothing re-run as a device error.
TEST(EngineAesGcm, CorruptedOpenFailsWithOutputZeroed) {
  FakeGpu::Counters counters;
  for (bool gpu : {false, true}) {
    auto eng = make_engine(gpu ? fake_gpu_config({}, &counters) : cpu_config());
    const Bytes key = random_bytes(32);
    const KeyHandle h = testing::register_aes(*eng, key);
    std::vector<Record> recs(9);
    for (size_t i = 0; i < recs.size(); ++i) {
      make_record(recs[i], key, h, false, 300 + 100 * i, 13);
      if (i % 3 == 0) recs[i].tag[i] ^= 1;
      if (i % 3 == 1) recs[i].in[i * 7] ^= 0x80;
      if (i % 3 == 2) recs[i].aad[12] ^= 2;
      ASSERT_EQ(eng->submit(recs[i].req), Status::kOk);
    }
    for (size_t i = 0; i < recs.size(); ++i) {
      EXPECT_EQ(eng->wait(recs[i].req), Status::kCryptoFailure) << i;
      EXPECT_EQ(recs[i].out, Bytes(recs[i].in.size(), 0)) << "plaintext released by record " << i;
      EXPECT_EQ(recs[i].req.served_by, gpu ? BackendKind::kCuda : BackendKind::kCpu);
    }
    EXPECT_EQ(fallbacks(eng->op_stats(Op::kAesGcmOpen, 256), Fallback::kDeviceError), 0u);
  }
}

TEST(EngineAesGcm, GpuMinBytesSetting) {
  Config c;
  std::string err;
  EXPECT_TRUE(c.set("aes_gpu_min_bytes", "4096", &err)) << err;
  EXPECT_EQ(c.aes_gpu_min_bytes, 4096u);
  EXPECT_FALSE(c.set("aes_gpu_min_bytes", "4k", &err));
  EXPECT_NE(err.find("GPUTLS_AES_GPU_MIN_BYTES"), std::string::npos) << err;
}

TEST(EngineAesGcm, RefusesBadRequestsAndKeys) {
  auto eng = make_engine(cpu_config());
  AesKeyMaterial m;
  KeyHandle h;
  for (size_t len : {0u, 8u, 24u, 31u, 64u}) {
    m.key.assign(len, 7);
    EXPECT_EQ(eng->register_aes_key(m, &h), Status::kBadKey) << len;
  }
  const Bytes key = random_bytes(16);
  m.key.assign(key.begin(), key.end());
  ASSERT_EQ(eng->register_aes_key(m, &h), Status::kOk);
  Record r;
  make_record(r, key, h, true, 64, 13);
  for (size_t iv_len : {0u, 8u, 11u, 13u, 16u}) {
    r.aead.nonce_len = iv_len;
    EXPECT_EQ(eng->submit(r.req), Status::kBadIvLength) << iv_len;
  }
  EXPECT_NE(status_message(Status::kBadIvLength).find("96-bit"), std::string_view::npos);
  r.aead.nonce_len = 12;
  r.aead.tag_len = 12;
  EXPECT_EQ(eng->submit(r.req), Status::kInvalidArgument);
  r.aead.tag_len = 16;
  r.req.out_len = 63;
  EXPECT_EQ(eng->submit(r.req), Status::kInvalidArgument);
  r.req.out_len = 64;
  Bytes shifted(80);
  r.req.in = shifted.data();
  r.req.out = shifted.data() + 8;  // overlapping but not in place
  EXPECT_EQ(eng->submit(r.req), Status::kInvalidArgument);
  r.req.in = r.in.data();
  r.req.out = r.out.data();
  r.req.aead = nullptr;
  EXPECT_EQ(eng->submit(r.req), Status::kInvalidArgument);
  r.req.aead = &r.aead;
  EVP_PKEY* x = testing::x25519_key();
  KeyHandle xh;
  ASSERT_EQ(eng->register_x25519_key(testing::x25519_material(x), &xh), Status::kOk);
  r.req.key = xh;  // not an AES key
  EXPECT_EQ(eng->submit(r.req), Status::kInvalidArgument);
  EVP_PKEY_free(x);
  // The engine still serves a good request afterwards.
  r.req.key = h;
  ASSERT_EQ(eng->submit(r.req), Status::kOk);
  ASSERT_EQ(eng->wait(r.req), Status::kOk);
  expect_result(r, 0);
}

// Records of at least aes_gpu_min_bytes go to the device, smaller ones to the
// CPU (counted as record_size fallbacks), longer than the device accepts too.
TEST(EngineAesGcm, SizeThresholdSplitsBetweenGpuAndCpu) {
  FakeGpu::Counters counters;
  FakeGpu::Options o;
  o.max_record = 16384;
  auto eng = make_engine(fake_gpu_config(o, &counters));
  ASSERT_TRUE(eng->gpu_available());
  MixedRun run;
  run_mixed(*eng, run, 48);
  size_t small = 0, large = 0;
  for (const Record& r : run.records) {
    const bool gpu = r.in.size() >= 256 && r.in.size() <= 16384;
    EXPECT_EQ(r.req.served_by, gpu ? BackendKind::kCuda : BackendKind::kCpu) << r.in.size();
    small += r.in.size() < 256;
    large += r.in.size() > 16384;
  }
  uint64_t sized = 0;
  for (Op op : {Op::kAesGcmSeal, Op::kAesGcmOpen})
    for (uint32_t bits : {128u, 256u}) sized += fallbacks(eng->op_stats(op, bits), Fallback::kRecordSize);
  EXPECT_EQ(sized, small + large);
  EXPECT_GT(small, 0u);
  EXPECT_GT(large, 0u);
  EXPECT_EQ(counters.aes_computed.load(), 48u - small - large);
}

// The device fails the rest of every batch from its third record on: those
// requests are re-run on the CPU, counted, and every result is still right.
TEST(EngineAesGcm, DeviceFailingMidBatchReRunsTheRestOnTheCpu) {
  FakeGpu::Counters counters;
  FakeGpu::Options o;
  o.fail_from = 2;
  Config cfg = fake_gpu_config(o, &counters);
  cfg.aes_gpu_min_bytes = 0;
  cfg.batch_size = 8;
  cfg.flusher_threads = 0;  // poll mode: batches are exactly what the queue holds
  auto eng = make_engine(cfg);
  MixedRun run;
  run_mixed(*eng, run, 40);
  uint64_t rerun = 0, on_gpu = 0;
  for (Op op : {Op::kAesGcmSeal, Op::kAesGcmOpen})
    for (uint32_t bits : {128u, 256u}) {
      rerun += fallbacks(eng->op_stats(op, bits), Fallback::kDeviceError);
      on_gpu += served(eng->op_stats(op, bits), BackendKind::kCuda);
    }
  EXPECT_GT(rerun, 0u);
  EXPECT_GT(on_gpu, 0u);
  EXPECT_EQ(rerun + on_gpu, 40u);
  EXPECT_EQ(counters.aes_computed.load(), on_gpu);
}

// A freed key stays usable by its in-flight requests; its backend state
// (round keys, powers of H) is wiped when the last of them completes, and
// the handle is refused afterwards.
TEST(EngineAesGcm, FreedKeyIsWipedAfterItsLastRequest) {
  FakeGpu::Counters counters;
  FakeGpu::Options o;
  o.delay = std::chrono::milliseconds(20);
  Config cfg = fake_gpu_config(o, &counters);
  cfg.aes_gpu_min_bytes = 0;
  auto eng = make_engine(cfg);
  const Bytes key = random_bytes(16);
  const KeyHandle h = testing::register_aes(*eng, key);
  std::vector<Record> recs(6);
  for (size_t i = 0; i < recs.size(); ++i) {
    make_record(recs[i], key, h, i % 2 == 0, 500, 13);
    ASSERT_EQ(eng->submit(recs[i].req), Status::kOk);
  }
  ASSERT_EQ(eng->free_key(h), Status::kOk);
  for (size_t i = 0; i < recs.size(); ++i) {
    ASSERT_EQ(eng->wait(recs[i].req), Status::kOk);
    EXPECT_EQ(recs[i].req.served_by, BackendKind::kCuda);
    expect_result(recs[i], i);
  }
  EXPECT_EQ(counters.aes_keys_wiped.load(), 1u);
  EXPECT_EQ(counters.aes_keys_not_wiped.load(), 0u);
  Record late;
  make_record(late, key, h, true, 64, 0);
  EXPECT_EQ(eng->submit(late.req), Status::kStaleKey);
}

}  // namespace
}  // namespace gputls::engine
