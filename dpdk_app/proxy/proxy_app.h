// The backend proxy: a PlainApp that opens one kernel TCP connection to the
// backend per terminated TLS connection and moves plaintext both ways. The
// backend sockets are non-blocking and watched by the lcore's FdPoller, so
// the lcore loop never blocks. Buffering is bounded per connection in each
// direction; a full buffer stops reading from the other side (backpressure).
// Half-close passes through (client close_notify/FIN -> shutdown(SHUT_WR) on
// the backend; backend EOF -> close_notify to the client).
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <string>

#include "loop/fd_poller.h"
#include "proxy/proxy_stats.h"
#include "tls/plain_app.h"

namespace gputls::proxy {

struct ProxyConfig {
  sockaddr_in backend{};            // where plaintext goes (IPv4)
  uint32_t buffer_bytes = 64 << 10;  // per connection, per direction
  uint32_t connect_timeout_ms = 3000;
  size_t max_connections = 65536;    // per lcore (slots sized from the TCP table)
};

// Parses "host:port" (IPv4 dotted quad or "localhost"); false with a message
// that says what is wrong.
bool parse_backend(const std::string& text, sockaddr_in* out, std::string* err);

class ProxyApp : public tls::PlainApp {
 public:
  ProxyApp(const ProxyConfig& cfg, loop::FdPoller& poller, ProxyStats& stats);
  ~ProxyApp() override;  // closes every backend socket

  void on_open(tls::PlainStream& s, tls::ConnId c, const tls::SessionInfo& info) override;
  void on_readable(tls::PlainStream& s, tls::ConnId c) override;
  void on_writable(tls::PlainStream& s, tls::ConnId c) override;
  void on_peer_close(tls::PlainStream& s, tls::ConnId c) override;
  void on_closed(tls::PlainStream& s, tls::ConnId c, tls::PlainCloseReason why) override;
  void poll(uint64_t now_us) override;

  size_t open_backends() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gputls::proxy
