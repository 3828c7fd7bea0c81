// The interface every backend (cpu, cuda, null, test doubles) implements.
//
// The engine hands a backend one Batch at a time: requests of one op and one
// key size, each already validated and holding a reference on its key. The
// backend fills batch.results[i] for every request and then calls
// batch.finish() exactly once, from any thread: synchronous backends before
// launch() returns, asynchronous ones (cuda) later from their own thread.
// A result of kDeviceError makes the engine re-run that request on the CPU.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "gputls/engine/key.h"
#include "gputls/engine/op.h"
#include "gputls/engine/request.h"
#include "gputls/engine/status.h"

namespace gputls::engine {

struct Batch {
  Op op = Op::kEcho;
  uint32_t bits = 0;
  std::vector<Request*> requests;
  std::vector<KeyEntry*> keys;   // keys[i] is requests[i]'s key (nullptr for kEcho)
  std::vector<Status> results;   // filled by the backend
  BackendKind backend = BackendKind::kNone;
  uint64_t launch_ns = 0;
  std::function<void(Batch*)> on_finish;  // set by the engine

  size_t size() const { return requests.size(); }
  void finish() { on_finish(this); }
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual BackendKind kind() const = 0;
  // Device or library the backend runs on, for notices and stats.
  virtual std::string description() const = 0;
  virtual bool supports(Op op, uint32_t bits) const = 0;
  // Per request, for ops whose requests differ in size (AES-GCM records): the
  // engine sends a request the backend does not accept to the CPU.
  virtual bool accepts(const Request&) const { return true; }
  // Builds the backend's own form of a key at registration. An error here
  // means the backend cannot serve this key; the engine routes it elsewhere.
  virtual Status prepare_key(KeyEntry& key) = 0;
  virtual void launch(Batch* batch) = 0;
  // No batch in flight: the engine flushes at once for a blocked caller.
  virtual bool idle() const = 0;

  // A GPU backend is one of up to kMaxDevices the engine drives: it keeps its
  // form of a key in key.device_state[device_index()] (not the CUDA ordinal:
  // the engine's position of the device, 0 for the first), so devices of one
  // kind never overwrite each other's. Set by the engine before the first
  // prepare_key; host backends ignore it.
  void set_device_index(uint32_t index) { device_index_ = index; }
  uint32_t device_index() const { return device_index_; }

 private:
  uint32_t device_index_ = 0;
};

}  // namespace gputls::engine
