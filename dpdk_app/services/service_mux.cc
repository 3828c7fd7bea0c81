#include "services/service_mux.h"

#include <algorithm>

namespace gputls::services {

namespace {
constexpr size_t kChunk = 16 * 1024;
constexpr uint64_t kMaxDownload = uint64_t(1) << 40;
}  // namespace

ServiceMux::ServiceMux(const ServicePorts& ports, const DownloadPattern& pattern, size_t max_connections)
    : ports_(ports), pattern_(pattern), conns_(max_connections) {}

void ServiceMux::on_open(net::TcpStack&, net::ConnId c, uint16_t local_port) {
  Conn& s = conns_[c.slot];
  s = Conn{};
  s.kind = local_port == ports_.echo ? Kind::kEcho : local_port == ports_.download ? Kind::kDownload : Kind::kNone;
}

void ServiceMux::on_readable(net::TcpStack& tcp, net::ConnId c) {
  Conn& s = conns_[c.slot];
  if (s.kind == Kind::kEcho) pump_echo(tcp, c, s);
  else if (s.kind == Kind::kDownload) read_request(tcp, c, s);
  else tcp.abort(c);
}

void ServiceMux::on_writable(net::TcpStack& tcp, net::ConnId c) {
  Conn& s = conns_[c.slot];
  if (s.kind == Kind::kEcho) pump_echo(tcp, c, s);
  else if (s.kind == Kind::kDownload) pump_download(tcp, c, s);
}

void ServiceMux::on_peer_fin(net::TcpStack& tcp, net::ConnId c) {
  Conn& s = conns_[c.slot];
  s.peer_fin = true;
  if (s.kind == Kind::kEcho) pump_echo(tcp, c, s);
  else if (s.kind == Kind::kDownload && !s.request_done) tcp.close(c);  // no request: nothing to send
}

void ServiceMux::on_closed(net::TcpStack&, net::ConnId c, net::CloseReason) { conns_[c.slot] = Conn{}; }

void ServiceMux::pump_echo(net::TcpStack& tcp, net::ConnId c, Conn& s) {
  uint8_t buf[kChunk];
  for (;;) {
    size_t n = std::min({tcp.readable(c), tcp.send_space(c), sizeof buf});
    if (n == 0) break;
    tcp.recv(c, buf, n);
    tcp.send(c, buf, n);
  }
  // Everything echoed and the peer is done: close our side too. If data is
  // still waiting for send space, on_writable comes back here.
  if (s.peer_fin && tcp.readable(c) == 0) tcp.close(c);
  else if (tcp.readable(c)) tcp.notify_when_writable(c);
}

void ServiceMux::read_request(net::TcpStack& tcp, net::ConnId c, Conn& s) {
  uint8_t buf[kChunk];
  while (size_t n = tcp.recv(c, buf, sizeof buf)) {
    for (size_t i = 0; i < n && !s.request_done; ++i) {
      char ch = char(buf[i]);
      if (ch == '\n') {
        s.request_done = true;
        break;
      }
      if (ch == '\r') continue;
      if (ch < '0' || ch > '9' || s.line_len >= 13) {  // 13 digits > 2^40
        ++bad_requests_;
        tcp.abort(c);
        return;
      }
      s.line[s.line_len++] = ch;
    }
  }
  if (!s.request_done) return;
  if (s.total == 0 && s.sent == 0) {
    uint64_t v = 0;
    for (uint8_t i = 0; i < s.line_len; ++i) v = v * 10 + uint64_t(s.line[i] - '0');
    if (s.line_len == 0 || v > kMaxDownload) {
      ++bad_requests_;
      tcp.abort(c);
      return;
    }
    s.total = v;
  }
  pump_download(tcp, c, s);
}

void ServiceMux::pump_download(net::TcpStack& tcp, net::ConnId c, Conn& s) {
  if (!s.request_done) return;
  uint8_t buf[kChunk];
  while (s.sent < s.total) {
    size_t n = std::min<uint64_t>({tcp.send_space(c), sizeof buf, s.total - s.sent});
    if (n == 0) {
      tcp.notify_when_writable(c);
      break;
    }
    pattern_.fill(s.sent, buf, n);
    s.sent += tcp.send(c, buf, n);
  }
  if (s.sent == s.total && tcp.valid(c)) {
    ++downloads_completed_;
    s.sent = s.total + 1;  // count once
    tcp.close(c);
  }
}

}  // namespace gputls::services
