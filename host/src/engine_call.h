// Running one operation on the engine from inside a provider call: inside an
// ASYNC_JOB (libssl with SSL_MODE_ASYNC) the job pauses with an eventfd as
// its wait fd until the engine completes; outside a job the caller blocks.
// No CUDA call ever happens here: the engine's own threads talk to the GPU.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gputls/engine/engine.h"
#include "provider.h"

namespace gputls::host {

enum class CallResult {
  kOk,       // out holds the result
  kRefused,  // the engine could not take the request (busy, no engine): compute in software
  kFailed,   // the operation itself failed (e.g. input >= modulus); out is zeroed
};

CallResult call_engine(ProvCtx* pc, ProvOp which, engine::Engine* eng, engine::Op op, engine::KeyHandle key,
                       const uint8_t* in, size_t in_len, uint8_t* out, size_t out_len);

}  // namespace gputls::host
