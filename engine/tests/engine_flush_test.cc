// Flush policy: batch size, deadline, blocked caller with an idle device,
// poll() for run-to-completion callers, bounded queues.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "engine_test_util.h"
#include "fake_gpu.h"
#include "test_keys.h"

namespace gputls::engine {
namespace {

using namespace testing;
using namespace std::chrono_literals;

// Spins on done() without blocking in the engine, so no idle-device flush.
bool done_within(const Request& r, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!r.done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(100us);
  }
  return true;
}

TEST(EngineFlush, DeadlineFlushesASingleRequest) {
  Config c = cpu_config();
  c.batch_size = 64;
  c.deadline_us = 20'000;
  auto eng = make_engine(c);
  Bytes in = random_bytes(16), out(16);
  Request r;
  prepare(r, Op::kEcho, {}, in.data(), 16, out.data(), 16);
  ASSERT_EQ(eng->submit(r), Status::kOk);
  ASSERT_TRUE(done_within(r, 10s));
  EXPECT_EQ(r.status(), Status::kOk);
  EXPECT_EQ(out, in);
  const OpStats* st = eng->op_stats(Op::kEcho, 0);
  // Flushed by the deadline: the request waited at least that long, alone.
  EXPECT_GE(st->queue_wait.max_ns.load(), 20'000'000u);
  EXPECT_EQ(st->counts().batch_hist[0], 1u);
}

// A request queued while the flusher times an earlier request's deadline
// does not kick it (submit() only kicks a flusher asleep with nothing
// queued): it goes out with the earlier one, at that deadline, not later.
TEST(EngineFlush, RequestQueuedDuringADeadlineWaitLeavesAtThatDeadline) {
  Config c = cpu_config();
  c.batch_size = 64;
  c.deadline_us = 50'000;
  auto eng = make_engine(c);
  Bytes in1 = random_bytes(16), out1(16), in2 = random_bytes(16), out2(16);
  Request r1, r2;
  prepare(r1, Op::kEcho, {}, in1.data(), 16, out1.data(), 16);
  prepare(r2, Op::kEcho, {}, in2.data(), 16, out2.data(), 16);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(eng->submit(r1), Status::kOk);
  std::this_thread::sleep_for(10ms);
  ASSERT_EQ(eng->submit(r2), Status::kOk);
  ASSERT_TRUE(done_within(r1, 10s));
  ASSERT_TRUE(done_within(r2, 10s));
  EXPECT_EQ(out1, in1);
  EXPECT_EQ(out2, in2);
  // r2 did not make the flusher send r1 early: r1 waited out its deadline
  // and r2 left with it (or, on a flusher preempted past r2's own deadline,
  // right after).
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 50ms);
  const OpStats* st = eng->op_stats(Op::kEcho, 0);
  EXPECT_GE(st->queue_wait.max_ns.load(), 50'000'000u);
  EXPECT_LE(st->counts().batches, 2u);
}

TEST(EngineFlush, FullBatchFlushesBeforeDeadline) {
  Config c = cpu_config();
  c.batch_size = 8;
  c.deadline_us = 10'000'000;  // 10 s: never reached by this test
  auto eng = make_engine(c);
  std::vector<Bytes> in(8), out(8);
  std::vector<Request> reqs(8);
  for (int i = 0; i < 8; ++i) {
    in[i] = random_bytes(100 + i);
    out[i].assign(in[i].size(), 0);
    prepare(reqs[i], Op::kEcho, {}, in[i].data(), in[i].size(), out[i].data(), out[i].size());
    ASSERT_EQ(eng->submit(reqs[i]), Status::kOk);
  }
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(done_within(reqs[i], 5s)) << i;
    EXPECT_EQ(out[i], in[i]);
  }
  const OpStats* st = eng->op_stats(Op::kEcho, 0);
  EXPECT_EQ(st->counts().batches, 1u);
  EXPECT_EQ(st->counts().batch_hist[OpStats::bucket_of(8)], 1u);
}

TEST(EngineFlush, BlockedCallerFlushesAtOnceWhenDeviceIdle) {
  Config c = cpu_config();
  c.batch_size = 64;
  c.deadline_us = 10'000'000;
  auto eng = make_engine(c);
  Bytes in = random_bytes(32), out(32);
  Request r;
  prepare(r, Op::kEcho, {}, in.data(), 32, out.data(), 32);
  ASSERT_EQ(eng->submit(r), Status::kOk);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(eng->wait(r), Status::kOk);
  // Far below the 10 s deadline: the wait itself caused the flush.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(out, in);
}

TEST(EngineFlush, PollModeRunsOnTheCallersThread) {
  Config c = cpu_config(0);
  c.batch_size = 4;
  c.deadline_us = 10'000'000;
  auto eng = make_engine(c);
  std::vector<Bytes> in(6), out(6);
  std::vector<Request> reqs(6);
  for (int i = 0; i < 6; ++i) {
    in[i] = random_bytes(8);
    out[i].assign(8, 0);
    prepare(reqs[i], Op::kEcho, {}, in[i].data(), 8, out[i].data(), 8);
    ASSERT_EQ(eng->submit(reqs[i]), Status::kOk);
  }
  // No thread runs anything until we poll; a full batch of 4 is due, 2 are not.
  std::this_thread::sleep_for(5ms);
  EXPECT_FALSE(reqs[0].done());
  EXPECT_EQ(eng->poll(), 1u);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(reqs[i].done());
  EXPECT_FALSE(reqs[4].done());
  EXPECT_EQ(eng->poll(), 0u);
  EXPECT_EQ(eng->poll(true), 1u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(reqs[i].status(), Status::kOk);
    EXPECT_EQ(out[i], in[i]);
  }
}

TEST(EngineFlush, FullQueueAnswersBusyAndRecovers) {
  Config c = cpu_config(0);
  c.queue_capacity = 4;
  c.batch_size = 64;
  auto eng = make_engine(c);
  Bytes in = random_bytes(8);
  std::vector<Bytes> out(6, Bytes(8));
  std::vector<Request> reqs(6);
  for (int i = 0; i < 6; ++i) prepare(reqs[i], Op::kEcho, {}, in.data(), 8, out[i].data(), 8);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(eng->submit(reqs[i]), Status::kOk);
  EXPECT_EQ(eng->submit(reqs[4]), Status::kBusy);
  EXPECT_FALSE(reqs[4].done());  // a refused request is never signalled
  EXPECT_EQ(eng->op_stats(Op::kEcho, 0)->busy.load(), 1u);
  EXPECT_EQ(eng->poll(true), 1u);
  EXPECT_EQ(eng->submit(reqs[4]), Status::kOk);
  EXPECT_EQ(eng->wait(reqs[4]), Status::kOk);
  EXPECT_EQ(out[4], in);
  EXPECT_NE(eng->stats_json().find("\"busy\": 1"), std::string::npos) << eng->stats_json();
}

// run_now: a blocking caller with nothing to batch for runs on its own
// thread, through the same checks, key references and stats.
TEST(EngineRunNow, RunsOnTheCallersThreadWithStats) {
  auto eng = make_engine(cpu_config());
  EXPECT_TRUE(eng->prefers_run_now());
  EVP_PKEY* pkey = rsa_key(2048);
  KeyHandle h;
  ASSERT_EQ(eng->register_rsa_key(rsa_material(pkey), &h), Status::kOk);
  Bytes in = random_below_modulus(pkey), out(256);
  Request r;
  prepare(r, Op::kRsaPriv, h, in.data(), 256, out.data(), 256);
  ASSERT_EQ(eng->run_now(r), Status::kOk);
  EXPECT_TRUE(r.done());
  EXPECT_EQ(r.served_by, BackendKind::kCpu);
  EXPECT_EQ(out, openssl_rsa_raw(pkey, in));
  const OpStats* st = eng->op_stats(Op::kRsaPriv, 2048);
  EXPECT_EQ(st->counts().completed, 1u);
  EXPECT_EQ(st->counts().batches, 1u);
  Bytes high(256, 0xff);  // input >= n
  prepare(r, Op::kRsaPriv, h, high.data(), 256, out.data(), 256);
  EXPECT_EQ(eng->run_now(r), Status::kCryptoFailure);
  EXPECT_EQ(out, Bytes(256, 0));
  ASSERT_EQ(eng->free_key(h), Status::kOk);
  EXPECT_EQ(eng->run_now(r), Status::kStaleKey);
}

TEST(EngineRunNow, PreferredOnlyWhenNothingCanBatch) {
  Config c;
  c.policy = Policy::kAuto;
  c.quiet = true;
  c.gpu_backend_factory = [] { return std::unique_ptr<Backend>(); };  // no GPU
  EXPECT_TRUE(make_engine(c)->prefers_run_now());
  FakeGpu::Counters counters;
  c.gpu_backend_factory = [&] { return std::make_unique<FakeGpu>(FakeGpu::Options{}, &counters); };
  EXPECT_FALSE(make_engine(c)->prefers_run_now());  // a GPU batches: queue it
  c.policy = Policy::kNull;
  EXPECT_FALSE(make_engine(c)->prefers_run_now());  // measuring the engine: queue it
}

}  // namespace
}  // namespace gputls::engine
