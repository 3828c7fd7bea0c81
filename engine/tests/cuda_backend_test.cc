// GPU tests (ctest label "gpu"): the CUDA backend on a real device, results
// bit-exact against the host twin of the same kernel body. Without a device
// every test skips and says why.
#include <gtest/gtest.h>

#include <atomic>
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
    if (const std::string why = no_gpu_reason(); !why.empty()) GTEST_SKIP() << why;
  }
  std::unique_ptr<Engine> gpu_engine(uint32_t fail_batches = 0) { return make_engine(gpu_config(256, fail_batches)); }
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
  EXPECT_EQ(eng->op_stats(Op::kEcho, 0)->counts().fallback(Fallback::kDeviceError), 1u);
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

// RSA through the engine's CUDA backend: mixed keys per batch, every result
// against OpenSSL, served by the GPU, nothing re-run on the CPU.
TEST_F(CudaBackendTest, RsaMatchesOpenSSLOnTheDevice) {
  auto eng = gpu_engine();
  for (int bits : {2048, 3072, 4096}) {
    EVP_PKEY* ka = rsa_key(bits, 0);
    EVP_PKEY* kb = rsa_key(bits, 1);
    KeyHandle ha, hb;
    ASSERT_EQ(eng->register_rsa_key(rsa_material(ka), &ha), Status::kOk);
    ASSERT_EQ(eng->register_rsa_key(rsa_material(kb), &hb), Status::kOk);
    const int n = 512;
    const size_t len = static_cast<size_t>(bits / 8);
    std::vector<Bytes> in(n), out(n, Bytes(len));
    std::vector<Request> reqs(n);
    for (int i = 0; i < n; ++i) {
      EVP_PKEY* k = i % 3 ? ka : kb;
      in[i] = random_below_modulus(k);
      prepare(reqs[i], Op::kRsaPriv, i % 3 ? ha : hb, in[i].data(), len, out[i].data(), len);
      ASSERT_EQ(eng->submit(reqs[i]), Status::kOk);
    }
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(eng->wait(reqs[i]), Status::kOk) << bits << "/" << i;
      EXPECT_EQ(reqs[i].served_by, BackendKind::kCuda);
      EXPECT_EQ(out[i], openssl_rsa_raw(i % 3 ? ka : kb, in[i])) << bits << "/" << i;
    }
    const OpStats* st = eng->op_stats(Op::kRsaPriv, static_cast<uint32_t>(bits));
    EXPECT_EQ(st->counts().served_by(BackendKind::kCuda), static_cast<uint64_t>(n));
    EXPECT_EQ(st->counts().fallback(Fallback::kDeviceError), 0u);
  }
  std::printf("%s\n", eng->stats_json().c_str());
}

TEST_F(CudaBackendTest, RsaDeviceFaultReRunsOnCpu) {
  auto eng = gpu_engine(/*fail_batches=*/1);
  EVP_PKEY* k = rsa_key(2048);
  KeyHandle h;
  ASSERT_EQ(eng->register_rsa_key(rsa_material(k), &h), Status::kOk);
  Bytes in = random_below_modulus(k), out(256);
  Request r;
  prepare(r, Op::kRsaPriv, h, in.data(), 256, out.data(), 256);
  ASSERT_EQ(eng->submit(r), Status::kOk);
  ASSERT_EQ(eng->wait(r), Status::kOk);
  EXPECT_EQ(r.served_by, BackendKind::kCpu);
  EXPECT_EQ(out, openssl_rsa_raw(k, in));
  Bytes high(256, 0xff);  // input >= n: refused on the device as on the CPU
  prepare(r, Op::kRsaPriv, h, high.data(), 256, out.data(), 256);
  ASSERT_EQ(eng->submit(r), Status::kOk);
  EXPECT_EQ(eng->wait(r), Status::kCryptoFailure);
  EXPECT_EQ(r.served_by, BackendKind::kCuda);
  EXPECT_EQ(out, Bytes(256, 0));
}

TEST_F(CudaBackendTest, X25519MatchesOpenSSLOnTheDevice) {
  auto eng = gpu_engine();
  std::vector<EVP_PKEY*> mine;
  std::vector<KeyHandle> handles;
  for (int k = 0; k < 4; ++k) {
    mine.push_back(x25519_key());
    handles.emplace_back();
    ASSERT_EQ(eng->register_x25519_key(x25519_material(mine.back()), &handles.back()), Status::kOk);
  }
  const int n = 300;
  std::vector<Bytes> peer(n), out(n, Bytes(32)), want(n);
  std::vector<Request> reqs(n);
  for (int i = 0; i < n; ++i) {
    EVP_PKEY* p = x25519_key();
    peer[i] = x25519_public(p);
    EVP_PKEY_free(p);
    if (i == 7) peer[i].assign(32, 0);  // low-order point: all-zero secret, refused
    else want[i] = openssl_x25519(mine[i % 4], peer[i]);
    prepare(reqs[i], Op::kX25519Derive, handles[i % 4], peer[i].data(), 32, out[i].data(), 32);
    ASSERT_EQ(eng->submit(reqs[i]), Status::kOk);
  }
  for (int i = 0; i < n; ++i) {
    Status st = eng->wait(reqs[i]);
    EXPECT_EQ(reqs[i].served_by, BackendKind::kCuda);
    if (i == 7) {
      EXPECT_EQ(st, Status::kCryptoFailure);
      EXPECT_EQ(out[i], Bytes(32, 0));
    } else {
      ASSERT_EQ(st, Status::kOk) << i;
      EXPECT_EQ(out[i], want[i]) << i;
    }
  }
  // Key generation on the device: the public keys OpenSSL computed.
  for (int k = 0; k < 4; ++k) {
    Bytes pub(32);
    Request r;
    prepare(r, Op::kX25519Keygen, handles[k], nullptr, 0, pub.data(), 32);
    ASSERT_EQ(eng->submit(r), Status::kOk);
    ASSERT_EQ(eng->wait(r), Status::kOk);
    EXPECT_EQ(r.served_by, BackendKind::kCuda);
    EXPECT_EQ(pub, x25519_public(mine[k]));
  }
  for (EVP_PKEY* k : mine) EVP_PKEY_free(k);
}

TEST_F(CudaBackendTest, ModExpMatchesBignumOnTheDevice) {
  auto eng = gpu_engine();
  for (int bits : {2048, 3072}) {
    DhTestKey key(bits);
    KeyHandle h;
    ASSERT_EQ(eng->register_dh_key(key.material(), &h), Status::kOk);
    const size_t len = key.bytes();
    const int n = 100;
    std::vector<Bytes> in(n), out(n, Bytes(len));
    std::vector<Request> reqs(n);
    for (int i = 0; i < n; ++i) {
      in[i] = key.random_below_p();
      prepare(reqs[i], Op::kModExp, h, in[i].data(), len, out[i].data(), len);
      ASSERT_EQ(eng->submit(reqs[i]), Status::kOk);
    }
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(eng->wait(reqs[i]), Status::kOk);
      EXPECT_EQ(reqs[i].served_by, BackendKind::kCuda);
      EXPECT_EQ(out[i], key.openssl_modexp(in[i])) << bits << "/" << i;
    }
  }
}

// P-256 / P-384 through the CUDA backend: keygen, ECDH and ECDSA with mixed
// keys per batch, every result against OpenSSL (signatures verified by it),
// served by the GPU, nothing re-run on the CPU.
TEST_F(CudaBackendTest, EcMatchesOpenSSLOnTheDevice) {
  auto eng = gpu_engine();
  for (int bits : {256, 384}) {
    const size_t w = static_cast<size_t>(bits / 8);
    std::vector<EVP_PKEY*> mine;
    std::vector<KeyHandle> handles;
    for (int k = 0; k < 3; ++k) {
      mine.push_back(ec_key(bits));
      handles.emplace_back();
      ASSERT_EQ(eng->register_ec_key(ec_material(mine.back(), bits), &handles.back()), Status::kOk);
    }
    // Keygen: the public keys OpenSSL computed.
    for (int k = 0; k < 3; ++k) {
      Bytes pub(1 + 2 * w);
      Request r;
      prepare(r, Op::kEcKeygen, handles[k], nullptr, 0, pub.data(), pub.size());
      ASSERT_EQ(eng->submit(r), Status::kOk);
      ASSERT_EQ(eng->wait(r), Status::kOk);
      EXPECT_EQ(r.served_by, BackendKind::kCuda);
      EXPECT_EQ(pub, ec_public(mine[k])) << bits << "/" << k;
    }
    // ECDH, one off-curve peer among them.
    const int n = 200;
    std::vector<Bytes> peer(n), out(n, Bytes(w)), want(n);
    std::vector<Request> reqs(n);
    for (int i = 0; i < n; ++i) {
      EVP_PKEY* p = ec_key(bits);
      peer[i] = ec_public(p);
      EVP_PKEY_free(p);
      if (i == 11) peer[i].back() ^= 1;
      else want[i] = openssl_ecdh(mine[i % 3], peer[i]);
      prepare(reqs[i], Op::kEcdhDerive, handles[i % 3], peer[i].data(), peer[i].size(), out[i].data(), w);
      ASSERT_EQ(eng->submit(reqs[i]), Status::kOk);
    }
    for (int i = 0; i < n; ++i) {
      Status st = eng->wait(reqs[i]);
      EXPECT_EQ(reqs[i].served_by, BackendKind::kCuda);
      if (i == 11) {
        EXPECT_EQ(st, Status::kCryptoFailure);
        EXPECT_EQ(out[i], Bytes(w, 0));
      } else {
        ASSERT_EQ(st, Status::kOk) << bits << "/" << i;
        EXPECT_EQ(out[i], want[i]) << bits << "/" << i;
      }
    }
    // ECDSA over SHA-1/256/384/512-length and odd-length digests.
    const size_t dlens[] = {20, 32, 48, 64, 1, 47};
    std::vector<Bytes> digest(n), sig(n, Bytes(2 * w));
    for (int i = 0; i < n; ++i) {
      digest[i] = random_bytes(dlens[i % 6]);
      prepare(reqs[i], Op::kEcdsaSign, handles[i % 3], digest[i].data(), digest[i].size(), sig[i].data(), 2 * w);
      ASSERT_EQ(eng->submit(reqs[i]), Status::kOk);
    }
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(eng->wait(reqs[i]), Status::kOk) << bits << "/" << i;
      EXPECT_EQ(reqs[i].served_by, BackendKind::kCuda);
      EXPECT_TRUE(openssl_ecdsa_verify(mine[i % 3], digest[i], sig[i])) << bits << "/" << i;
      if (i > 0) {
        EXPECT_NE(sig[i], sig[i - 1]);
      }
    }
    for (Op op : {Op::kEcKeygen, Op::kEcdhDerive, Op::kEcdsaSign}) {
      const OpStats* st = eng->op_stats(op, static_cast<uint32_t>(bits));
      ASSERT_NE(st, nullptr);
      EXPECT_EQ(st->counts().fallback(Fallback::kDeviceError), 0u);
      EXPECT_EQ(st->counts().fallback(Fallback::kKeyNotOnDevice), 0u);
    }
    for (KeyHandle h : handles) EXPECT_EQ(eng->free_key(h), Status::kOk);
    for (EVP_PKEY* k : mine) EVP_PKEY_free(k);
  }
  std::printf("%s\n", eng->stats_json().c_str());
}

TEST_F(CudaBackendTest, EcdsaDeviceFaultSignsOnCpu) {
  auto eng = gpu_engine(/*fail_batches=*/1);
  EVP_PKEY* k = ec_key(256);
  KeyHandle h;
  ASSERT_EQ(eng->register_ec_key(ec_material(k, 256), &h), Status::kOk);
  Bytes digest = random_bytes(32), sig(64);
  Request r;
  prepare(r, Op::kEcdsaSign, h, digest.data(), 32, sig.data(), 64);
  ASSERT_EQ(eng->submit(r), Status::kOk);
  ASSERT_EQ(eng->wait(r), Status::kOk);
  EXPECT_EQ(r.served_by, BackendKind::kCpu);
  EXPECT_TRUE(openssl_ecdsa_verify(k, digest, sig));
  prepare(r, Op::kEcdsaSign, h, digest.data(), 32, sig.data(), 64);
  ASSERT_EQ(eng->submit(r), Status::kOk);
  ASSERT_EQ(eng->wait(r), Status::kOk);
  EXPECT_EQ(r.served_by, BackendKind::kCuda);
  EXPECT_TRUE(openssl_ecdsa_verify(k, digest, sig));
  EVP_PKEY_free(k);
}

// Two CUDA backends in one engine (two devices, or two workers on device 0
// when only one exists): keys on both, batches spread, and keys freed while
// their requests are in flight, so a key's last request often completes on
// the other device's worker, which frees the key's state on both devices.
TEST_F(CudaBackendTest, TwoDevicesServeAndFreeKeysAcrossWorkers) {
  std::string why;
  const int visible = cuda_device_count(&why);
  Config cfg;
  cfg.policy = Policy::kGpu;
  cfg.quiet = true;
  cfg.batch_size = cfg.gpu_batch_size = 32;
  for (int ordinal : {0, visible > 1 ? 1 : 0}) {
    cfg.gpu_backend_factories.push_back([ordinal] {
      CudaBackendOptions o;
      o.device = ordinal;
      std::string w;
      return make_cuda_backend(o, &w);
    });
  }
  auto eng = make_engine(cfg);
  ASSERT_EQ(eng->device_count(), 2u);
  constexpr int kKeys = 64, kPerKey = 40;
  std::atomic<int> wrong{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      for (int k = 0; k < kKeys / 4; ++k) {
        EVP_PKEY* mine = x25519_key();
        KeyHandle h;
        if (eng->register_x25519_key(x25519_material(mine), &h) != Status::kOk) {
          ++wrong;
          EVP_PKEY_free(mine);
          continue;
        }
        std::vector<Bytes> peer(kPerKey), out(kPerKey, Bytes(32));
        std::vector<Request> reqs(kPerKey);
        for (int i = 0; i < kPerKey; ++i) {
          EVP_PKEY* p = x25519_key();
          peer[i] = x25519_public(p);
          EVP_PKEY_free(p);
          prepare(reqs[i], Op::kX25519Derive, h, peer[i].data(), 32, out[i].data(), 32);
          if (eng->submit(reqs[i]) != Status::kOk) ++wrong;
        }
        eng->free_key(h);  // the last request to finish frees the key, on whichever worker ran it
        for (int i = 0; i < kPerKey; ++i)
          if (eng->wait(reqs[i]) != Status::kOk || out[i] != openssl_x25519(mine, peer[i])) ++wrong;
        EVP_PKEY_free(mine);
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(wrong.load(), 0);
  const OpStats::Counts c = eng->op_stats(Op::kX25519Derive, 255)->counts();
  EXPECT_EQ(c.served_by(BackendKind::kCuda), uint64_t{kKeys} * kPerKey);
  EXPECT_EQ(c.fallback(Fallback::kKeyNotOnDevice), 0u);
  std::printf("%s\n", eng->stats_json().c_str());
}

}  // namespace
}  // namespace gputls::engine
