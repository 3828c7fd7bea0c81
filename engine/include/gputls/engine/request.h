// A request is caller-owned memory that lives from submit() until it is done.
//
// Completion is published by one atomic word, the last thing the engine
// touches in the request: once done() is true the caller may free it, close
// its fd and drain it for good. A caller learns of completion by polling
// done(), by Engine::wait(), by the eventfd in notify_fd (incremented by 1
// just before done() turns true: the fd must stay open until every request
// naming it is done, and a reader it wakes may see done() false for a moment,
// so it checks done() again rather than blocking on the drained fd) or by
// on_complete(user, status), called on an engine thread after done() turns
// true (copied out of the request before: `user` must outlive the call).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "gputls/engine/key.h"
#include "gputls/engine/op.h"
#include "gputls/engine/status.h"

namespace gputls::engine {

class Waiter;
class RequestQueue;

// The per-record fields of an AEAD request (Op::kAesGcmSeal / kAesGcmOpen),
// caller-owned like the request. Other ops leave Request::aead null.
struct AeadParams {
  const uint8_t* nonce = nullptr;  // the record's IV: 12 bytes (96 bits) only
  size_t nonce_len = 12;
  const uint8_t* aad = nullptr;    // additional authenticated data (TLS: the record header)
  size_t aad_len = 0;
  uint8_t* tag = nullptr;          // 16 bytes: written by seal, read (the expected tag) by open
  size_t tag_len = 16;
};

// One AES-GCM record (a's nonce, AAD and tag; len bytes from in to out) on a
// backend's state for one key: what Engine::AeadLane calls per record, found
// once per lane instead of a virtual run_one() and its op switch per record.
using AeadRecordFn = Status (*)(void* state, bool seal, const AeadParams& a, const uint8_t* in, uint8_t* out,
                                size_t len);

struct Request {
  // --- set by the caller ---
  Op op = Op::kEcho;
  KeyHandle key{};
  const uint8_t* in = nullptr;
  size_t in_len = 0;
  uint8_t* out = nullptr;
  size_t out_len = 0;
  const AeadParams* aead = nullptr;  // AES-GCM ops only
  int notify_fd = -1;
  void (*on_complete)(void* user, Status status) = nullptr;
  void* user = nullptr;

  // --- results, valid once done() ---
  bool done() const { return state_.load(std::memory_order_acquire) & kDoneBit; }
  Status status() const {
    uintptr_t w = state_.load(std::memory_order_acquire);
    return (w & kDoneBit) ? static_cast<Status>(w >> 1) : Status::kPending;
  }
  BackendKind served_by = BackendKind::kNone;
  uint64_t enqueue_ns() const { return enqueue_ns_; }  // steady clock, set by submit()

  Request() = default;
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

 private:
  friend class Engine;
  static constexpr uintptr_t kDoneBit = 1;
  // 0: pending; even non-zero: pending with a blocked Waiter*; odd: done, status << 1.
  std::atomic<uintptr_t> state_{0};
  KeyEntry* entry_ = nullptr;
  RequestQueue* queue_ = nullptr;
  uint64_t enqueue_ns_ = 0;
};

}  // namespace gputls::engine
