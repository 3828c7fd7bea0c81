// The interface between the TCP layer and what runs over it (echo, bulk
// download, next: TLS termination). Callbacks run on the connection's lcore,
// inside rx processing or timers; the app answers through TcpStack's
// per-connection calls (recv/send/close), never blocking: send takes what fits
// in the send buffer (backpressure) and on_writable says when more fits.
#pragma once

#include <cstdint>
#include <string_view>

namespace gputls::net {

class TcpStack;

// Identifies a connection on one core. The generation makes a stale id (a
// closed connection whose slot was reused) harmless: calls on it do nothing.
struct ConnId {
  uint32_t slot = 0;
  uint32_t gen = 0;
  bool operator==(const ConnId&) const = default;
};

enum class CloseReason : uint8_t {
  kNormal,       // both FINs exchanged (or TIME_WAIT reached)
  kReset,        // peer sent RST
  kTimeout,      // retransmissions exhausted
  kIdle,         // idle timeout
  kAborted,      // the app called abort()
};
std::string_view close_reason_name(CloseReason r);

class TcpApp {
 public:
  virtual ~TcpApp() = default;
  // A connection completed the handshake on local_port.
  virtual void on_open(TcpStack& tcp, ConnId c, uint16_t local_port) = 0;
  // New in-order data waits in the receive buffer (TcpStack::recv).
  virtual void on_readable(TcpStack& tcp, ConnId c) = 0;
  // Send buffer space freed after a send() that did not take everything.
  virtual void on_writable(TcpStack& tcp, ConnId c) = 0;
  // The peer sent FIN: no more data will arrive (data before it was delivered).
  virtual void on_peer_fin(TcpStack& tcp, ConnId c) = 0;
  // The connection is gone; c is invalid afterwards. Called once per on_open.
  virtual void on_closed(TcpStack& tcp, ConnId c, CloseReason why) = 0;
};

}  // namespace gputls::net
