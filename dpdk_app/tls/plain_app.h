// The plaintext side of a terminated TLS connection, shaped like the TCP
// layer's TcpApp (net/tcp_app.h): the TLS terminator (tls/) implements
// PlainStream and calls a PlainApp (the backend proxy, proxy/; an echo in
// tests) with the decrypted byte stream. Everything runs on the connection's
// lcore; nothing blocks. Ids are the TCP connection's ConnId (stale ids are
// harmless: calls on them do nothing and return 0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "net/tcp_app.h"

namespace gputls::tls {

using net::ConnId;

// What the handshake settled, for logs and stats.
struct SessionInfo {
  std::string_view version;  // "TLSv1.2", "TLSv1.3"
  std::string_view cipher;   // OpenSSL name, e.g. "TLS_AES_128_GCM_SHA256"
  bool resumed = false;
  bool client_cert = false;  // a verified client certificate was presented (mTLS)
};

// Why a plaintext stream ended, as the app sees it.
enum class PlainCloseReason : uint8_t {
  kNormal,        // close_notify exchanged (or TCP closed after ours) in order
  kPeerAbort,     // TCP reset / timeout, or the peer closed without close_notify
  kTlsError,      // a fatal alert was sent or received after the handshake
  kAppAbort,      // the app called abort()
};

class PlainStream {
 public:
  virtual ~PlainStream() = default;
  // Decrypted bytes waiting to be read.
  virtual size_t readable(ConnId c) const = 0;
  virtual size_t read(ConnId c, uint8_t* dst, size_t len) = 0;
  // Encrypts and queues what fits (bounded by the TCP send buffer and the
  // terminator's own bounded output); 0 when full: on_writable follows.
  virtual size_t write(ConnId c, const uint8_t* src, size_t len) = 0;
  // Asks for on_writable once write() can take more.
  virtual void notify_when_writable(ConnId c) = 0;
  // No more app data to the client: close_notify after what is queued, then
  // TCP FIN. Reading continues until the peer closes too.
  virtual void shutdown_write(ConnId c) = 0;
  // Ends the connection now (TCP RST; no close_notify).
  virtual void abort(ConnId c) = 0;
};

class PlainApp {
 public:
  virtual ~PlainApp() = default;
  // The handshake completed; plaintext may flow both ways.
  virtual void on_open(PlainStream& s, ConnId c, const SessionInfo& info) = 0;
  // New decrypted bytes (PlainStream::read).
  virtual void on_readable(PlainStream& s, ConnId c) = 0;
  // write() can take more after it took less than asked (or after
  // notify_when_writable).
  virtual void on_writable(PlainStream& s, ConnId c) = 0;
  // The client will send nothing more (close_notify or TCP FIN); what it sent
  // before was delivered through on_readable.
  virtual void on_peer_close(PlainStream& s, ConnId c) = 0;
  // The connection is gone (c is invalid afterwards). Called once for each
  // on_open, never for connections whose handshake failed.
  virtual void on_closed(PlainStream& s, ConnId c, PlainCloseReason why) = 0;
  // Called once per lcore loop iteration (timers, backend sockets' work).
  virtual void poll(uint64_t now_us) { (void)now_us; }
};

}  // namespace gputls::tls
