#include "gputls/engine/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <tuple>
#include <utility>
#include <vector>

namespace gputls::engine {
namespace {

struct EnvGuard {
  explicit EnvGuard(const char* n, const char* v) : name(n) { setenv(n, v, 1); }
  ~EnvGuard() { unsetenv(name); }
  const char* name;
};

TEST(Config, DefaultsWithoutEnvironment) {
  std::string err;
  auto c = Config::from_env(&err);
  ASSERT_TRUE(c) << err;
  EXPECT_EQ(c->policy, Policy::kAuto);
  EXPECT_EQ(c->batch_size, 64u);
  EXPECT_EQ(c->flusher_threads, 1u);
}

TEST(Config, ReadsEnvironment) {
  EnvGuard a("GPUTLS_POLICY", "cpu"), b("GPUTLS_BATCH", "128"), d("GPUTLS_DEADLINE_US", "50"),
      f("GPUTLS_FLUSHERS", "0"), q("GPUTLS_QUEUE_CAPACITY", "16");
  std::string err;
  auto c = Config::from_env(&err);
  ASSERT_TRUE(c) << err;
  EXPECT_EQ(c->policy, Policy::kCpu);
  EXPECT_EQ(c->batch_size, 128u);
  EXPECT_EQ(c->deadline_us, 50u);
  EXPECT_EQ(c->flusher_threads, 0u);
  EXPECT_EQ(c->queue_capacity, 16u);
}

TEST(Config, InlineModes) {
  for (auto [value, without_gpu, records_only] :
       {std::tuple{"0", false, false}, {"1", true, false}, {"2", true, true}}) {
    EnvGuard g("GPUTLS_INLINE", value);
    std::string err;
    auto c = Config::from_env(&err);
    ASSERT_TRUE(c) << err;
    EXPECT_EQ(c->inline_without_gpu, without_gpu) << value;
    EXPECT_EQ(c->inline_records_only, records_only) << value;
  }
  EnvGuard bad("GPUTLS_INLINE", "3");
  std::string err;
  EXPECT_FALSE(Config::from_env(&err));
  EXPECT_NE(err.find("GPUTLS_INLINE"), std::string::npos) << err;
}

TEST(Config, KeySharePool) {
  Config defaults;
  EXPECT_EQ(defaults.key_share_pool, 128u);
  EXPECT_EQ(defaults.key_share_max_age_ms, 60'000u);
  {
    EnvGuard p("GPUTLS_KEY_SHARE_POOL", "0"), a("GPUTLS_KEY_SHARE_MAX_AGE_MS", "250");
    std::string err;
    auto c = Config::from_env(&err);
    ASSERT_TRUE(c) << err;
    EXPECT_EQ(c->key_share_pool, 0u) << "0 turns the pool off";
    EXPECT_EQ(c->key_share_max_age_ms, 250u);
  }
  for (auto [name, value] : {std::pair{"GPUTLS_KEY_SHARE_POOL", "70000"}, {"GPUTLS_KEY_SHARE_MAX_AGE_MS", "0"}}) {
    EnvGuard g(name, value);
    std::string err;
    EXPECT_FALSE(Config::from_env(&err)) << name << "=" << value;
    EXPECT_NE(err.find(name), std::string::npos) << err;
  }
}

TEST(Config, MalformedValuesNameTheVariable) {
  for (auto [name, value] : {std::pair{"GPUTLS_POLICY", "fast"}, {"GPUTLS_BATCH", "0"}, {"GPUTLS_BATCH", "12x"},
                             {"GPUTLS_DEADLINE_US", "-5"}, {"GPUTLS_QUEUE_CAPACITY", ""},
                             {"GPUTLS_FLUSHERS", "99999999999999999999"}}) {
    EnvGuard g(name, value);
    std::string err;
    EXPECT_FALSE(Config::from_env(&err)) << name << "=" << value;
    EXPECT_NE(err.find(name), std::string::npos) << err;
  }
}

TEST(Config, CudaDeviceIsOneIndexAListOrAll) {
  Config c;
  EXPECT_EQ(c.cuda_devices, std::vector<int>{0}) << "default: device 0, as before several were driven";
  EXPECT_FALSE(c.all_cuda_devices);
  std::string err;
  for (auto [value, want] : {std::pair{"1", std::vector<int>{1}}, {"0,2", {0, 2}}, {"3, 1 ,0", {3, 1, 0}}}) {
    EnvGuard g("GPUTLS_CUDA_DEVICE", value);
    auto from_env = Config::from_env(&err);
    ASSERT_TRUE(from_env) << value << ": " << err;
    EXPECT_EQ(from_env->cuda_devices, want) << value;
    EXPECT_FALSE(from_env->all_cuda_devices) << value;
  }
  EnvGuard g("GPUTLS_CUDA_DEVICE", "all");
  auto all = Config::from_env(&err);
  ASSERT_TRUE(all) << err;
  EXPECT_TRUE(all->all_cuda_devices);
  // A later single index replaces "all" (openssl.cnf first, then the environment).
  ASSERT_TRUE(all->set("cuda_device", "2", &err)) << err;
  EXPECT_FALSE(all->all_cuda_devices);
  EXPECT_EQ(all->cuda_devices, std::vector<int>{2});
}

TEST(Config, MalformedCudaDeviceSaysWhatIsWrong) {
  for (auto [value, why] : {std::pair{"", "empty entry"}, {"0,", "empty entry"}, {",1", "empty entry"},
                            {"-1", "\"-1\", not a device index"}, {"0,x", "\"x\", not a device index"},
                            {"1,1", "names device 1 twice"}, {"All", "\"All\", not a device index"},
                            {"0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", "more than 16 devices"},
                            {"99999999999", "not a device index"}}) {
    EnvGuard g("GPUTLS_CUDA_DEVICE", value);
    std::string err;
    EXPECT_FALSE(Config::from_env(&err)) << value;
    EXPECT_NE(err.find("GPUTLS_CUDA_DEVICE"), std::string::npos) << err;
    EXPECT_NE(err.find(why), std::string::npos) << value << ": " << err;
    EXPECT_NE(err.find("comma-separated list"), std::string::npos) << err;
  }
}

TEST(Config, UnknownSettingIsAnError) {
  Config c;
  std::string err;
  EXPECT_FALSE(c.set("batchsize", "4", &err));
  EXPECT_NE(err.find("batchsize"), std::string::npos);
}

}  // namespace
}  // namespace gputls::engine
