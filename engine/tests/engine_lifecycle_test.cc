// Keys freed in flight, stale handles, shutdown with requests in flight, fork.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "engine_test_util.h"
#include "fake_gpu.h"
#include "test_keys.h"

namespace gputls::engine {
namespace {

using namespace testing;
using namespace std::chrono_literals;

TEST(EngineLifecycle, KeyFreedWithRequestsInFlight) {
  auto eng = make_engine(cpu_config(0));  // poll mode: requests stay queued until we poll
  EVP_PKEY* pkey = rsa_key(2048);
  KeyHandle h;
  ASSERT_EQ(eng->register_rsa_key(rsa_material(pkey), &h), Status::kOk);
  Bytes in = random_below_modulus(pkey), out(256);
  Request r;
  prepare(r, Op::kRsaPriv, h, in.data(), 256, out.data(), 256);
  ASSERT_EQ(eng->submit(r), Status::kOk);
  ASSERT_EQ(eng->free_key(h), Status::kOk);
  // New submits with the freed handle are refused ...
  Request late;
  prepare(late, Op::kRsaPriv, h, in.data(), 256, out.data(), 256);
  EXPECT_EQ(eng->submit(late), Status::kStaleKey);
  // ... but the request already queued still runs with the key.
  eng->poll(true);
  ASSERT_EQ(r.status(), Status::kOk);
  EXPECT_EQ(out, openssl_rsa_raw(pkey, in));
  EXPECT_EQ(eng->free_key(h), Status::kStaleKey);
  // The slot is reused under a new generation: the old handle stays dead.
  KeyHandle h2;
  ASSERT_EQ(eng->register_rsa_key(rsa_material(rsa_key(2048, 1)), &h2), Status::kOk);
  EXPECT_EQ(h2.slot, h.slot);
  EXPECT_EQ(eng->submit(late), Status::kStaleKey);
  EXPECT_NE(eng->stats_json().find("\"stale_key\": 2"), std::string::npos) << eng->stats_json();
}

TEST(EngineLifecycle, ShutdownCompletesEveryRequestInFlight) {
  FakeGpu::Counters counters;
  Config c;
  c.policy = Policy::kGpu;
  c.quiet = true;
  c.batch_size = 8;
  c.gpu_backend_factory = [&] {
    FakeGpu::Options o;
    o.delay = 2ms;
    return std::make_unique<FakeGpu>(o, &counters);
  };
  auto eng = make_engine(c);
  constexpr int kN = 200;
  Bytes in = random_bytes(32);
  std::vector<Bytes> out(kN, Bytes(32));
  std::vector<Request> reqs(kN);
  std::atomic<int> callbacks{0};
  for (int i = 0; i < kN; ++i) {
    prepare(reqs[i], Op::kEcho, {}, in.data(), 32, out[i].data(), 32);
    reqs[i].user = &callbacks;
    reqs[i].on_complete = [](void* u, Status) { static_cast<std::atomic<int>*>(u)->fetch_add(1); };
    ASSERT_EQ(eng->submit(reqs[i]), Status::kOk);
  }
  eng->shutdown();  // batches are still in the fake device's queue
  Request after;
  prepare(after, Op::kEcho, {}, in.data(), 32, out[0].data(), 32);
  EXPECT_EQ(eng->submit(after), Status::kShutdown);
  eng.reset();
  EXPECT_EQ(callbacks.load(), kN);
  for (int i = 0; i < kN; ++i) {
    ASSERT_TRUE(reqs[i].done());
    EXPECT_EQ(reqs[i].status(), Status::kOk);
    EXPECT_EQ(out[i], in);
  }
  EXPECT_EQ(counters.requests.load(), static_cast<uint64_t>(kN));
}

TEST(EngineLifecycle, DestroyWithQueuedRequestsInPollMode) {
  auto eng = make_engine(cpu_config(0));
  Bytes in = random_bytes(8), out(8);
  Request r;
  prepare(r, Op::kEcho, {}, in.data(), 8, out.data(), 8);
  ASSERT_EQ(eng->submit(r), Status::kOk);
  eng.reset();  // nobody polled: the destructor must still complete it
  EXPECT_EQ(r.status(), Status::kOk);
  EXPECT_EQ(out, in);
}

// The child of a fork must not use the parent's engine (its threads are
// gone) and gets a working engine of its own.
TEST(EngineLifecycle, ForkThenUseInChild) {
  auto eng = make_engine(cpu_config());
  EVP_PKEY* pkey = rsa_key(2048);
  KeyHandle h;
  ASSERT_EQ(eng->register_rsa_key(rsa_material(pkey), &h), Status::kOk);
  Bytes in = random_below_modulus(pkey);
  const Bytes want = openssl_rsa_raw(pkey, in);
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: plain exit codes, no gtest assertions.
    Bytes out(256);
    Request r;
    prepare(r, Op::kRsaPriv, h, in.data(), 256, out.data(), 256);
    if (eng->submit(r) != Status::kWrongProcess) _exit(10);
    if (eng->wait(r) != Status::kWrongProcess) _exit(11);
    setenv("GPUTLS_POLICY", "cpu", 1);
    setenv("GPUTLS_QUIET", "1", 1);
    std::string err;
    Engine* mine = Engine::for_this_process(&err);
    if (!mine) _exit(12);
    KeyHandle ch;
    if (mine->register_rsa_key(rsa_material(pkey), &ch) != Status::kOk) _exit(13);
    prepare(r, Op::kRsaPriv, ch, in.data(), 256, out.data(), 256);
    if (mine->submit(r) != Status::kOk || mine->wait(r) != Status::kOk) _exit(14);
    if (out != want) _exit(15);
    eng.reset();  // destroying the parent's engine in the child must not hang
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // The parent's engine is unaffected.
  Bytes out(256);
  Request r;
  prepare(r, Op::kRsaPriv, h, in.data(), 256, out.data(), 256);
  ASSERT_EQ(eng->submit(r), Status::kOk);
  ASSERT_EQ(eng->wait(r), Status::kOk);
  EXPECT_EQ(out, want);
}

TEST(EngineLifecycle, ProcessEngineIsSharedWithinAProcess) {
  setenv("GPUTLS_POLICY", "cpu", 1);
  setenv("GPUTLS_QUIET", "1", 1);
  std::string err;
  Engine* a = Engine::for_this_process(&err);
  ASSERT_NE(a, nullptr) << err;
  EXPECT_EQ(Engine::for_this_process(&err), a);
}

}  // namespace
}  // namespace gputls::engine
