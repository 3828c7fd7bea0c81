#include "gputls/engine/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <tuple>

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

TEST(Config, UnknownSettingIsAnError) {
  Config c;
  std::string err;
  EXPECT_FALSE(c.set("batchsize", "4", &err));
  EXPECT_NE(err.find("batchsize"), std::string::npos);
}

}  // namespace
}  // namespace gputls::engine
