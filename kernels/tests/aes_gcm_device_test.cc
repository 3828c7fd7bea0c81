// GPU tests (label "gpu"): the AES-GCM kernels on the device against their
// host twin on the same mixed batch (seal and open, many keys and lengths,
// corrupted records), bit-exact in outputs, tags and statuses; and the
// Wycheproof vectors as one device batch. Without a usable device every test
// skips and says why.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <string>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "device_test_util.h"
#include "aes_gcm_test_util.h"
#include "gputls/kernels/aes_gcm_launch.h"

namespace gputls::kernels {
namespace {

using namespace testing;

class AesGcmDevice : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = testing::no_device_reason(); !why.empty()) GTEST_SKIP() << why;
  }
};

// Runs records on the device (one arena holding every buffer); fills each
// record's out and tag as run_host_batch does; returns statuses. in_place:
// each record's output overwrites its input in device memory.
std::vector<uint32_t> run_device_batch(const std::vector<AesGcmKey>& keys, std::vector<TestRecord>& recs,
                                       bool in_place = false) {
  const uint32_t n = static_cast<uint32_t>(recs.size());
  std::vector<size_t> in_off(n), out_off(n), aad_off(n), tag_off(n);
  size_t arena = 0;
  auto take = [&arena](size_t len) {
    const size_t at = arena;
    arena += (len + 15) & ~size_t{15};
    return at;
  };
  for (uint32_t i = 0; i < n; ++i) {
    in_off[i] = take(recs[i].in.size());
    out_off[i] = in_place ? in_off[i] : take(recs[i].in.size());
    aad_off[i] = take(recs[i].aad.size());
    tag_off[i] = take(16);
  }
  std::vector<uint8_t> host(arena + 16, 0);
  for (uint32_t i = 0; i < n; ++i) {
    if (!recs[i].in.empty()) std::memcpy(&host[in_off[i]], recs[i].in.data(), recs[i].in.size());
    if (!recs[i].aad.empty()) std::memcpy(&host[aad_off[i]], recs[i].aad.data(), recs[i].aad.size());
    std::memcpy(&host[tag_off[i]], recs[i].tag, 16);
  }
  uint8_t *d_arena = nullptr;
  AesGcmKey* d_keys = nullptr;
  AesGcmRecord* d_recs = nullptr;
  uint32_t *d_start = nullptr, *d_acc = nullptr, *d_status = nullptr;
  std::vector<AesGcmRecord> rec(n);
  std::vector<uint32_t> start(n + 1), status(n, 0xdeadbeef);
  EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_arena), host.size()), cudaSuccess);
  for (uint32_t i = 0; i < n; ++i) {
    rec[i].in = d_arena + in_off[i];
    rec[i].out = d_arena + out_off[i];
    rec[i].aad = d_arena + aad_off[i];
    rec[i].tag = d_arena + tag_off[i];
    rec[i].len = static_cast<uint32_t>(recs[i].in.size());
    rec[i].aad_len = static_cast<uint32_t>(recs[i].aad.size());
    rec[i].key_slot = recs[i].key;
    rec[i].op = recs[i].op;
    std::memcpy(rec[i].nonce, recs[i].nonce.data(), 12);
  }
  AesGcmBatch b;
  b.count = n;
  b.items = aes_gcm_plan(rec.data(), n, start.data());
  EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_keys), keys.size() * sizeof(AesGcmKey)), cudaSuccess);
  EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_recs), n * sizeof(AesGcmRecord)), cudaSuccess);
  EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_start), (n + 1) * 4), cudaSuccess);
  EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_acc), n * 16), cudaSuccess);
  EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_status), n * 4), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(d_arena, host.data(), host.size(), cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(d_keys, keys.data(), keys.size() * sizeof(AesGcmKey), cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(d_recs, rec.data(), n * sizeof(AesGcmRecord), cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(d_start, start.data(), (n + 1) * 4, cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(cudaMemset(d_status, 0xee, n * 4), cudaSuccess);
  b.records = d_recs;
  b.chunk_start = d_start;
  b.keys = d_keys;
  b.acc = d_acc;
  b.status = d_status;
  EXPECT_EQ(launch_aes_gcm_batch(b, nullptr), cudaSuccess);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(host.data(), d_arena, host.size(), cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(status.data(), d_status, n * 4, cudaMemcpyDeviceToHost), cudaSuccess);
  std::vector<uint32_t> acc(4 * size_t{n}, 1);
  EXPECT_EQ(cudaMemcpy(acc.data(), d_acc, n * 16, cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(acc, std::vector<uint32_t>(4 * size_t{n}, 0)) << "the accumulators (tags) must be cleared";
  for (uint32_t i = 0; i < n; ++i) {
    recs[i].out.assign(host.begin() + static_cast<long>(out_off[i]),
                       host.begin() + static_cast<long>(out_off[i] + recs[i].in.size()));
    std::memcpy(recs[i].tag, &host[tag_off[i]], 16);
  }
  cudaMemset(d_keys, 0, keys.size() * sizeof(AesGcmKey));
  cudaFree(d_arena);
  cudaFree(d_keys);
  cudaFree(d_recs);
  cudaFree(d_start);
  cudaFree(d_acc);
  cudaFree(d_status);
  return status;
}

// Many keys, seal and open mixed, lengths 0..16640 with the sizes,
// every fifth open corrupted (tag, ciphertext or AAD).
std::vector<TestRecord> mixed_batch(const std::vector<Bytes>& raw, uint32_t count) {
  std::vector<TestRecord> recs;
  for (uint32_t i = 0; i < count; ++i) {
    TestRecord t;
    t.key = i % static_cast<uint32_t>(raw.size());
    t.op = i % 2 ? kAesGcmOpen : kAesGcmSeal;
    t.nonce = random_bytes(12);
    t.aad = random_bytes(1 + random_u32() % 64);
    const Bytes pt = random_bytes(test_length(i % 40));
    if (t.op == kAesGcmSeal) {
      t.in = pt;
    } else {
      openssl_gcm(true, raw[t.key], t.nonce, t.aad, pt, &t.in, t.tag);
      if (i % 5 == 1) t.tag[i % 16] ^= 4;
      if (i % 5 == 3) t.aad[0] ^= 1;
    }
    recs.push_back(std::move(t));
  }
  return recs;
}

TEST_F(AesGcmDevice, DeviceEqualsHostTwin) {
  std::vector<Bytes> raw;
  std::vector<AesGcmKey> keys(16);
  for (uint32_t k = 0; k < 16; ++k) {
    raw.push_back(random_bytes(k % 2 ? 32 : 16));
    ASSERT_TRUE(aes_gcm_key_init(keys[k], raw[k].data(), raw[k].size()));
  }
  for (bool in_place : {false, true}) {
    std::vector<TestRecord> host = mixed_batch(raw, 400), dev = host;
    const std::vector<uint32_t> hs = run_host_batch(keys, host);
    const std::vector<uint32_t> ds = run_device_batch(keys, dev, in_place);
    ASSERT_EQ(hs, ds) << "statuses differ";
    size_t failed = 0;
    for (size_t i = 0; i < host.size(); ++i) {
      ASSERT_EQ(host[i].out, dev[i].out) << "record " << i << " in_place " << in_place;
      ASSERT_EQ(0, std::memcmp(host[i].tag, dev[i].tag, 16)) << "record " << i;
      failed += hs[i] != kAesGcmOk;
      if (hs[i] != kAesGcmOk) {
        EXPECT_EQ(dev[i].out, Bytes(dev[i].in.size(), 0)) << "record " << i;
      }
    }
    EXPECT_GT(failed, 50u);  // the corrupted opens
    EXPECT_LT(failed, 200u);
    // And the seals are OpenSSL's.
    for (size_t i = 0; i < dev.size(); i += 2) {
      Bytes ct;
      uint8_t tag[16];
      ASSERT_TRUE(openssl_gcm(true, raw[dev[i].key], dev[i].nonce, dev[i].aad, dev[i].in, &ct, tag));
      EXPECT_EQ(dev[i].out, ct) << "record " << i;
      EXPECT_EQ(0, std::memcmp(dev[i].tag, tag, 16)) << "record " << i;
    }
  }
}

TEST_F(AesGcmDevice, WycheproofAsOneBatch) {
  // The GPU machine runs a packed binary from another checkout: GPUTLS_VECTORS_DIR
  // in the environment (scripts/gpu-check.sh sets it) wins over the build's path.
  const char* env = std::getenv("GPUTLS_VECTORS_DIR");
  const std::vector<GcmVector> vectors =
      load_gcm_vectors(std::string(env ? env : GPUTLS_VECTORS_DIR) + "/wycheproof/aes_gcm_test.json");
  std::vector<AesGcmKey> keys;
  std::vector<TestRecord> recs;
  std::vector<const GcmVector*> of;
  size_t skipped = 0;
  for (const GcmVector& v : vectors) {
    if (!gcm_vector_served(v)) {
      ++skipped;
      continue;
    }
    keys.emplace_back();
    ASSERT_TRUE(aes_gcm_key_init(keys.back(), v.key.data(), v.key.size()));
    for (uint32_t op : {kAesGcmSeal, kAesGcmOpen}) {
      if (op == kAesGcmSeal && v.result != "valid") continue;
      TestRecord t;
      t.key = static_cast<uint32_t>(keys.size() - 1);
      t.op = op;
      t.nonce = v.iv;
      t.aad = v.aad;
      t.in = op == kAesGcmSeal ? v.msg : v.ct;
      if (op == kAesGcmOpen) std::memcpy(t.tag, v.tag.data(), 16);
      recs.push_back(std::move(t));
      of.push_back(&v);
    }
  }
  const std::vector<uint32_t> st = run_device_batch(keys, recs);
  for (size_t i = 0; i < recs.size(); ++i) {
    const GcmVector& v = *of[i];
    if (recs[i].op == kAesGcmSeal) {
      EXPECT_EQ(st[i], kAesGcmOk) << "tcId " << v.id;
      EXPECT_EQ(recs[i].out, v.ct) << "tcId " << v.id;
      EXPECT_EQ(Bytes(recs[i].tag, recs[i].tag + 16), v.tag) << "tcId " << v.id;
    } else if (v.result == "valid") {
      EXPECT_EQ(st[i], kAesGcmOk) << "tcId " << v.id;
      EXPECT_EQ(recs[i].out, v.msg) << "tcId " << v.id;
    } else {
      EXPECT_EQ(st[i], kAesGcmAuthFailed) << "tcId " << v.id;
      EXPECT_EQ(recs[i].out, Bytes(v.ct.size(), 0)) << "tcId " << v.id;
    }
  }
  std::printf("aes_gcm_test.json on the device: %zu records, %zu vectors skipped (IV not 96 bits or AES-192)\n",
              recs.size(), skipped);
}

}  // namespace
}  // namespace gputls::kernels
