// Where the stack puts outgoing frames. The DPDK port layer hands out mbuf
// data areas and queues them for the next tx burst; unit tests collect frames
// in memory. One frame is built at a time: begin, fill, commit.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gputls::net {

class FrameSink {
 public:
  virtual ~FrameSink() = default;
  // A writable area of at least `max_len` bytes for one frame, or nullptr when
  // no buffer is free (the caller counts a kTxNoBuffer drop).
  virtual uint8_t* begin_frame(size_t max_len) = 0;
  // Queues the frame begun last with its final length (<= max_len).
  virtual void commit_frame(size_t len) = 0;
};

}  // namespace gputls::net
