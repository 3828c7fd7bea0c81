// The appliance's descriptor limit (issue 22.6): raised at start to what the
// connections need, never lowered, refused with the numbers when it cannot be.
#include "loop/fd_limit.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <fstream>

using gputls::loop::descriptors_needed;
using gputls::loop::ensure_fd_limit;
using gputls::loop::kFdReserve;

namespace {

rlimit current() {
  rlimit r{};
  EXPECT_EQ(getrlimit(RLIMIT_NOFILE, &r), 0);
  return r;
}

// Restores the test process's limit whatever a test did.
struct LimitGuard {
  rlimit saved = current();
  ~LimitGuard() { setrlimit(RLIMIT_NOFILE, &saved); }
};

}  // namespace

TEST(FdLimit, NeededCountsEveryCoresConnections) {
  EXPECT_EQ(descriptors_needed(2, 8192, 2), 2u * 8192 * 2 + kFdReserve);
  EXPECT_EQ(descriptors_needed(1, 1, 0), kFdReserve);
}

TEST(FdLimit, RaisesTheSoftLimitAndNeverLowersIt) {
  LimitGuard guard;
  if (guard.saved.rlim_max != RLIM_INFINITY && guard.saved.rlim_max < 4096) GTEST_SKIP() << "hard limit below 4096";
  rlimit low = guard.saved;
  low.rlim_cur = 1024;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  std::string err;
  ASSERT_TRUE(ensure_fd_limit(4096, &err)) << err;
  EXPECT_EQ(current().rlim_cur, 4096u);
  ASSERT_TRUE(ensure_fd_limit(100, &err)) << err;
  EXPECT_EQ(current().rlim_cur, 4096u) << "a smaller need left the limit as it was";
}

TEST(FdLimit, RefusesWithTheNumbersWhenTheKernelWillNot) {
  LimitGuard guard;
  uint64_t nr_open = 0;
  std::ifstream("/proc/sys/fs/nr_open") >> nr_open;  // no process may go above it, root included
  if (nr_open == 0) GTEST_SKIP() << "no /proc/sys/fs/nr_open";
  std::string err;
  EXPECT_FALSE(ensure_fd_limit(nr_open + 1, &err));
  EXPECT_NE(err.find(std::to_string(nr_open + 1)), std::string::npos) << err;
  EXPECT_NE(err.find("--max-connections"), std::string::npos) << err;
  EXPECT_EQ(current().rlim_cur, guard.saved.rlim_cur) << "a refusal leaves the limit as it was";
}
