// Running one operation on the engine from inside a provider call: inside an
// ASYNC_JOB (libssl with SSL_MODE_ASYNC) the job pauses with an eventfd as
// its wait fd until the engine completes; outside a job the caller blocks.
// No CUDA call ever happens here: the engine's own threads talk to the GPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <atomic>
#include <mutex>

#include "function_ref.h"
#include "gputls/engine/engine.h"
#include "provider.h"

namespace gputls::host {

enum class CallResult {
  kOk,       // out holds the result
  kRefused,  // the engine could not take the request (no engine, shut down, ...): compute in software
  kBusy,     // the engine's queue for it is full: software within the bound, or wait and retry
  kFailed,   // the operation itself failed (e.g. input >= modulus); out is zeroed
};

// `aead` (AES-GCM ops only): the record's nonce, AAD and tag; a seal's tag is
// written back to aead->tag. A queued request works on its own copies of all
// of them, so a job freed while paused never leaves the engine writing into
// the caller's memory.
CallResult call_engine(ProvCtx* pc, ProvOp which, engine::Engine* eng, engine::Op op, engine::KeyHandle key,
                       const uint8_t* in, size_t in_len, uint8_t* out, size_t out_len,
                       const engine::AeadParams* aead = nullptr);

// What to free when an ASYNC_JOB pauses inside this scope and is never
// resumed: OpenSSL's SSL_free leaves a paused job as it is (its own stack
// leaks in OpenSSL 3.0), so a key half-built by keymgmt gen when the job
// paused (a connection reset mid-handshake) would stay in the heap with its
// engine slot, unwiped. The wait ctx's cleanup, which SSL_free does run,
// frees it instead. Made on the stack around the engine call of a gen;
// release() once the object is handed to OpenSSL.
class AbandonGuard {
 public:
  AbandonGuard(void (*free_fn)(void*), void* obj);
  ~AbandonGuard();
  AbandonGuard(const AbandonGuard&) = delete;
  AbandonGuard& operator=(const AbandonGuard&) = delete;

  // The innermost guard of this thread's running code (the job's, inside
  // one), taken out of the thread's view while its job is paused.
  static AbandonGuard* current();
  static void set_current(AbandonGuard* g);

  void (*const free_fn)(void*);
  void* const obj;

 private:
  AbandonGuard* prev_;
};

// Queued engine requests whose memory is not yet freed (in flight, or
// waited for by a paused job). Back to 0 once the engine is idle, also after
// SSLs were freed with their jobs paused: reported in the stats.
long engine_calls_alive();

// Eventfds the provider holds for paused connections (bounded by half of
// RLIMIT_NOFILE); reported in the stats.
long wait_fds_live();

// Quiet eventfds kept for reuse by later connections (at most 64); reported
// in the stats.
long wait_fds_kept();

// The most operations the provider ever ran in software at once because the
// engine was busy (bounded by Config::busy_software_max while waiting for
// room can help); reported in the stats.
long busy_software_peak();

// A provider key's registration with this process's engine: made on first
// use, made again after fork (the child has another engine), freed with the key.
class EngineKeyRef {
 public:
  ~EngineKeyRef();
  // The handle for eng, registering with `reg` the first time; invalid when
  // the engine refused the key. A refusal that can pass (a full key table, a
  // busy or failing device) is retried on a later use, at most once per
  // kRetryNs: one moment of a full table does not leave a certificate key on
  // the CPU for its whole life.
  engine::KeyHandle handle_for(engine::Engine* eng, FunctionRef<engine::Status(engine::Engine*, engine::KeyHandle*)> reg);

  static constexpr uint64_t kRetryNs = 20'000'000;  // 20 ms

 private:
  void register_now(engine::Engine* eng, FunctionRef<engine::Status(engine::Engine*, engine::KeyHandle*)> reg);

  // Lock-free once registered (every record of a connection asks): handle_
  // is written (under mu_) only while refused_ is true or before
  // registered_with_ publishes it, and refused_ is stored after handle_.
  std::mutex mu_;
  std::atomic<engine::Engine*> registered_with_{nullptr};
  engine::KeyHandle handle_{};
  std::atomic<bool> refused_{false};
  std::atomic<uint64_t> retry_at_ns_{UINT64_MAX};  // UINT64_MAX: refused for good (or registered)
};

// The steady clock in nanoseconds: the provider's retry and expiry times.
uint64_t steady_ns();

// True when an `op` request on eng would be queued to the engine's threads
// (a GPU batches it, or GPUTLS_INLINE=0/2), false when it runs at once on
// the caller's thread: what call_engine decides per request.
bool queues(const ProvCtx* pc, engine::Engine* eng, engine::Op op, size_t in_len);

// `software` (OpenSSL, or the kernels' host code, in the provider itself),
// counted in st as sw or failed.
bool run_software(ProvOpStats& st, FunctionRef<bool()> software);

// One request on the engine (key: a registered key, or none for keyless
// ops); when the engine cannot take it, `software`. When its queue is full
// (kBusy) the operation runs in software on this thread, at most
// Config::busy_software_max of them at once in the process; past that the
// caller waits for room (a blocking caller sleeps, an ASYNC_JOB yields to
// its event loop) and tries again, for up to 100 ms, then runs in software
// anyway. Every outcome is counted in pc->stats[which] (busy, busy_waited,
// busy_past_bound beside engine / sw / failed).
bool run_or_fall_back(ProvCtx* pc, ProvOp which, engine::Engine* eng, engine::Op op, engine::KeyHandle key,
                      const uint8_t* in, size_t in_len, uint8_t* out, size_t out_len, FunctionRef<bool()> software,
                      const engine::AeadParams* aead = nullptr);

// A private-key operation for a provider key: on the engine when it takes the
// key and the request, otherwise by `software` in the provider's own OpenSSL
// context. Every outcome is counted in pc->stats[which]. False when the
// operation failed (e.g. input >= modulus, all-zero X25519 secret).
bool run_private_op(ProvCtx* pc, ProvOp which, EngineKeyRef& ref,
                    FunctionRef<engine::Status(engine::Engine*, engine::KeyHandle*)> reg, engine::Op op,
                    const uint8_t* in, size_t in_len, uint8_t* out, size_t out_len, FunctionRef<bool()> software,
                    const engine::AeadParams* aead = nullptr);

// AES-GCM records: run_private_op, but a record the engine serves on the
// caller's thread goes through the key's lane (Engine::AeadLane), made on
// first use and kept here. One per cipher context, used by its thread only.
struct AeadLaneCache {
  engine::Engine* engine = nullptr;  // the lane's engine (another after fork)
  engine::Engine::AeadLane lane;
  // Records shorter than this run on the lane: what runs_inline() answers
  // for an AES-GCM record, which depends only on its length once the engine
  // and the configuration are fixed. 0 while there is no lane.
  size_t inline_below = 0;
};

enum class LaneResult {
  kOk,        // the engine ran the record (counted engine)
  kFailed,    // it ran and failed: a tag mismatch (counted failed; out wiped)
  kRefused,   // the engine refused it (shut down): software, not the same refusal again
  kNotTaken,  // no lane for it: run_record_op decides (as it does after kRefused)
};

// One record on the cache's lane, with no engine lookup: the call a cipher
// makes per record, inline. kNotTaken without a lane (not made yet), for a
// record too long to run inline, and in a forked child holding its parent's
// lane (the engine answers kWrongProcess before touching it; the cache is
// cleared, and run_record_op finds the child's engine).
inline LaneResult run_on_lane(AeadLaneCache& cache, ProvOpStats& st, bool seal, const engine::AeadParams& a,
                              const uint8_t* in, uint8_t* out, size_t len) {
  if (len >= cache.inline_below) return LaneResult::kNotTaken;
  switch (cache.engine->run_record_now(cache.lane, seal, a, in, out, len)) {
    case engine::Status::kOk: st.engine.fetch_add(1, std::memory_order_relaxed); return LaneResult::kOk;
    case engine::Status::kCryptoFailure: st.failed.fetch_add(1, std::memory_order_relaxed); return LaneResult::kFailed;
    case engine::Status::kWrongProcess: cache = AeadLaneCache{}; return LaneResult::kNotTaken;
    default: return LaneResult::kRefused;
  }
}

// A record run_on_lane did not finish (`tried`: kNotTaken or kRefused): in
// software after a refusal; else on a lane made for it when the record runs
// inline, else as run_private_op.
bool run_record_op(ProvCtx* pc, ProvOp which, EngineKeyRef& ref, AeadLaneCache& cache,
                   FunctionRef<engine::Status(engine::Engine*, engine::KeyHandle*)> reg, engine::Op op,
                   const uint8_t* in, uint8_t* out, size_t len, const engine::AeadParams& aead,
                   FunctionRef<bool()> software, LaneResult tried);

}  // namespace gputls::host
