// Shared set-up for engine tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "gputls/engine/engine.h"

namespace gputls::engine::testing {

inline Config cpu_config(uint32_t flushers = 1) {
  Config c;
  c.policy = Policy::kCpu;
  c.flusher_threads = flushers;
  c.quiet = true;
  return c;
}

inline std::unique_ptr<Engine> make_engine(const Config& c) {
  std::string err;
  auto e = Engine::create(c, &err);
  EXPECT_TRUE(e) << err;
  return e;
}

// Sets up a request; buffers are the caller's.
inline void prepare(Request& r, Op op, KeyHandle key, const uint8_t* in, size_t in_len, uint8_t* out,
                    size_t out_len) {
  r.op = op;
  r.key = key;
  r.in = in;
  r.in_len = in_len;
  r.out = out;
  r.out_len = out_len;
}

}  // namespace gputls::engine::testing
