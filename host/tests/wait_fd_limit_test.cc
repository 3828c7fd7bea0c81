// The provider's eventfds are bounded: one per paused connection, at most
// half the process's descriptor limit. Connections past that run their
// operations in software (counted as no_wait_fd) instead of blocking the
// caller's thread on the engine, and every handshake completes.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <memory>
#include <vector>

#include "tls_fixture.h"

namespace gputls::host::testing {
namespace {

int open_fds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) ++n;
    closedir(d);
  }
  return n;
}

class WaitFdLimit : public QueuedProviderFixture {};

uint64_t total(const nlohmann::json& s, const char* field) {
  uint64_t n = 0;
  for (const auto& [op, v] : s["provider"].items()) n += v[field].get<uint64_t>();
  return n;
}

TEST_F(WaitFdLimit, ConnectionsPastTheLimitRunInSoftware) {
  static ServerIdentity id(2048);
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  const long allowed = open_fds() + 16;  // wait fds the provider may hold
  rlimit low = saved;
  low.rlim_cur = static_cast<rlim_t>(2 * allowed);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  SSL_CTX* sctx = make_server_ctx(lib_, id, true);
  SSL_CTX* cctx = make_client_ctx(TLS1_3_VERSION, nullptr);
  const uint64_t no_fd_before = total(stats(), "no_wait_fd");
  const uint64_t signs_before = count("rsa_sign") + count("rsa_sign", "sw");
  const int n = static_cast<int>(allowed) + 40;
  std::vector<std::unique_ptr<TlsPair>> owned;
  std::vector<TlsPair*> pairs;
  for (int i = 0; i < n; ++i) {
    owned.push_back(std::make_unique<TlsPair>(sctx, cctx));
    pairs.push_back(owned.back().get());
  }
  std::string err;
  EXPECT_TRUE(run_handshakes(pairs, 300000, &err)) << err;
  const nlohmann::json s = stats();
  EXPECT_LE(s["wait_fds_live"].get<long>(), allowed) << "more wait fds than half the descriptor limit";
  EXPECT_GT(total(s, "no_wait_fd"), no_fd_before) << "no connection ran past the limit";
  EXPECT_EQ(count("rsa_sign") + count("rsa_sign", "sw"), signs_before + static_cast<uint64_t>(n));
  owned.clear();
  EXPECT_EQ(stats()["wait_fds_live"].get<long>(), 0) << "freed connections kept their eventfds";
  // Up to 64 quiet ones stay for later connections, within the bound.
  const long kept = stats()["wait_fds_kept"].get<long>();
  EXPECT_LE(kept, 64);
  EXPECT_LE(kept, allowed);
  SSL_CTX_free(sctx);
  SSL_CTX_free(cctx);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
}

}  // namespace
}  // namespace gputls::host::testing
