// Null backend: completes every request at once, computing nothing, so the
// engine's own cost (queueing, batching, completion) can be measured.
#include <cstring>

#include "backends.h"

namespace gputls::engine {
namespace {

class NullBackend final : public Backend {
 public:
  BackendKind kind() const override { return BackendKind::kNull; }
  std::string description() const override { return "null (no computation)"; }
  bool supports(Op, uint32_t) const override { return true; }
  bool idle() const override { return true; }
  Status prepare_key(KeyEntry&) override { return Status::kOk; }
  void launch(Batch* b) override {
    for (size_t i = 0; i < b->size(); ++i) {
      Request& r = *b->requests[i];
      if (b->op == Op::kEcho) {
        if (r.in_len) std::memmove(r.out, r.in, r.in_len);
      } else {
        std::memset(r.out, 0, r.out_len);  // nothing computed: never leave stale bytes looking like a result
      }
      b->results[i] = Status::kOk;
    }
    b->finish();
  }
};

}  // namespace

std::unique_ptr<Backend> make_null_backend() { return std::make_unique<NullBackend>(); }

}  // namespace gputls::engine
