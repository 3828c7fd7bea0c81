#include "proxy/proxy_app.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_map>
#include <vector>

namespace gputls::proxy {

bool parse_backend(const std::string& text, sockaddr_in* out, std::string* err) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    *err = "--backend " + text + ": want HOST:PORT, e.g. 127.0.0.1:8080";
    return false;
  }
  std::string host = text.substr(0, colon), port = text.substr(colon + 1);
  if (host == "localhost") host = "127.0.0.1";
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (*end != '\0' || p < 1 || p > 65535) {
    *err = "--backend " + text + ": port " + port + " is not 1..65535";
    return false;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(p));
  if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) {
    *err = "--backend " + text + ": " + host + " is not an IPv4 address (or localhost)";
    return false;
  }
  *out = a;
  return true;
}

// One proxied connection: the client side is a PlainStream id, the backend a
// kernel socket. to_backend holds client bytes not yet written to the socket;
// from_backend holds backend bytes the client side has not taken yet.
struct Link {
  tls::ConnId id;
  int fd = -1;
  bool connected = false, client_eof = false, backend_shut_wr = false, backend_eof = false, client_shut = false;
  uint64_t connect_deadline_us = 0;
  std::vector<uint8_t> to_backend, from_backend;  // bounded by cfg.buffer_bytes each
};

struct ProxyApp::Impl : loop::FdHandler {
  ProxyConfig cfg;
  loop::FdPoller& poller;
  ProxyStats& stats;
  tls::PlainStream* stream = nullptr;
  std::vector<std::unique_ptr<Link>> links;  // by ConnId.slot
  size_t open = 0;
  std::unordered_map<int, tls::ConnId> by_fd;
  uint64_t now_us = 0, next_timeout_scan_us = 0;
  uint64_t buffered = 0;

  Impl(const ProxyConfig& c, loop::FdPoller& p, ProxyStats& s) : cfg(c), poller(p), stats(s) {}

  Link* get(tls::ConnId c) {
    if (c.slot >= links.size()) return nullptr;
    Link* l = links[c.slot].get();
    return (l && l->id == c) ? l : nullptr;
  }

  void account(int64_t delta) {
    buffered += delta;
    stats.buffered_bytes.set(buffered);
    if (buffered > stats.buffered_peak.get()) stats.buffered_peak.set(buffered);
  }

  void interest(Link& l) {
    uint32_t ev = 0;
    if (!l.connected || !l.to_backend.empty()) ev |= EPOLLOUT;
    if (l.connected && !l.backend_eof && l.from_backend.size() < cfg.buffer_bytes) ev |= EPOLLIN;
    poller.modify(l.fd, ev);
  }

  void close_fd(Link& l, bool reset) {
    if (l.fd < 0) return;
    poller.remove(l.fd);
    by_fd.erase(l.fd);
    if (reset) {
      linger lg{1, 0};
      setsockopt(l.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(l.fd);
    l.fd = -1;
  }

  // Releases the backend side; reset = the backend sees RST.
  void drop(Link& l, bool reset) {
    close_fd(l, reset);
    account(-int64_t(l.to_backend.size() + l.from_backend.size()));
    tls::ConnId id = l.id;
    links[id.slot].reset();
    --open;
    stats.active.sub();
  }

  // The backend failed: the client connection ends too (RST, no close_notify:
  // the client must not take a cut-off response for a complete one).
  void fail(Link& l, net::Counter& why) {
    why.add();
    tls::ConnId id = l.id;
    stream->abort(id);  // on_closed follows and drops the link
    if (Link* still = get(id)) drop(*still, true);
  }

  void pump_to_backend(Link& l) {
    while (l.connected && l.fd >= 0 && !l.to_backend.empty()) {
      ssize_t n = send(l.fd, l.to_backend.data(), l.to_backend.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) break;
        fail(l, stats.backend_resets);
        return;
      }
      stats.bytes_to_backend.add(uint64_t(n));
      l.to_backend.erase(l.to_backend.begin(), l.to_backend.begin() + n);
      account(-n);
    }
    if (l.connected && l.fd >= 0 && l.client_eof && l.to_backend.empty() && !l.backend_shut_wr) {
      shutdown(l.fd, SHUT_WR);
      l.backend_shut_wr = true;
    }
  }

  void pull_client(Link& l) {
    uint8_t buf[16 << 10];
    while (l.to_backend.size() < cfg.buffer_bytes) {
      size_t room = std::min(sizeof buf, cfg.buffer_bytes - l.to_backend.size());
      size_t n = stream->read(l.id, buf, room);
      if (n == 0) break;
      if (l.fd < 0) continue;  // the backend closed both ways: nothing can take it
      l.to_backend.insert(l.to_backend.end(), buf, buf + n);
      account(int64_t(n));
    }
  }

  void push_client(Link& l) {
    while (!l.from_backend.empty()) {
      size_t n = stream->write(l.id, l.from_backend.data(), l.from_backend.size());
      if (n == 0) {
        stream->notify_when_writable(l.id);
        break;
      }
      l.from_backend.erase(l.from_backend.begin(), l.from_backend.begin() + n);
      account(-int64_t(n));
    }
    if (l.backend_eof && l.from_backend.empty() && !l.client_shut) {
      l.client_shut = true;
      stream->shutdown_write(l.id);
    }
  }

  void read_backend(Link& l) {
    uint8_t buf[16 << 10];
    while (!l.backend_eof && l.from_backend.size() < cfg.buffer_bytes) {
      size_t room = std::min(sizeof buf, cfg.buffer_bytes - l.from_backend.size());
      ssize_t n = recv(l.fd, buf, room, 0);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) break;
        fail(l, stats.backend_resets);
        return;
      }
      if (n == 0) {
        l.backend_eof = true;
        stats.backend_eof.add();
        break;
      }
      stats.bytes_from_backend.add(uint64_t(n));
      l.from_backend.insert(l.from_backend.end(), buf, buf + n);
      account(n);
    }
  }

  // Moves what can move, in both directions, then updates epoll interest.
  void pump(tls::ConnId id) {
    Link* l = get(id);
    if (!l) return;
    pull_client(*l);
    pump_to_backend(*l);
    if (!(l = get(id))) return;
    push_client(*l);
    if (!(l = get(id))) return;
    // Both directions finished on the backend: the socket is done (epoll
    // would report HUP on it for ever); what it sent may still be queued.
    if (l->backend_eof && l->backend_shut_wr) close_fd(*l, false);
    if (l->fd >= 0) interest(*l);
  }

  void on_fd_ready(int fd, uint32_t events) override {
    auto it = by_fd.find(fd);
    if (it == by_fd.end()) return;
    Link* l = get(it->second);
    if (!l) return;
    tls::ConnId id = l->id;
    if (!l->connected) {
      int soerr = 0;
      socklen_t len = sizeof soerr;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
      if (soerr != 0) {
        stats.backend_connect_failed.add();
        fail(*l, soerr == ECONNREFUSED ? stats.connect_refused : stats.connect_other);
        return;
      }
      if (!(events & (EPOLLOUT | EPOLLIN))) return;
      l->connected = true;
      stats.backend_connects.add();
    }
    if (events & EPOLLIN) {
      read_backend(*l);
      if (!(l = get(id))) return;
    }
    if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN)) {
      fail(*l, stats.backend_resets);
      return;
    }
    pump(id);
  }
};

ProxyApp::ProxyApp(const ProxyConfig& cfg, loop::FdPoller& poller, ProxyStats& stats)
    : impl_(std::make_unique<Impl>(cfg, poller, stats)) {}

ProxyApp::~ProxyApp() {
  for (auto& l : impl_->links)
    if (l && l->fd >= 0) {
      impl_->poller.remove(l->fd);
      close(l->fd);
    }
}

size_t ProxyApp::open_backends() const { return impl_->open; }

void ProxyApp::on_open(tls::PlainStream& s, tls::ConnId c, const tls::SessionInfo&) {
  Impl& m = *impl_;
  m.stream = &s;
  if (m.open >= m.cfg.max_connections) {
    m.stats.refused_no_slot.add();
    s.abort(c);
    return;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    m.stats.backend_connect_failed.add();
    m.stats.connect_other.add();
    s.abort(c);
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int rc = connect(fd, reinterpret_cast<const sockaddr*>(&m.cfg.backend), sizeof m.cfg.backend);
  if (rc != 0 && errno != EINPROGRESS) {
    int e = errno;
    close(fd);
    m.stats.backend_connect_failed.add();
    (e == ECONNREFUSED ? m.stats.connect_refused : m.stats.connect_other).add();
    s.abort(c);
    return;
  }
  if (c.slot >= m.links.size()) m.links.resize(c.slot + 1);
  auto l = std::make_unique<Link>();
  l->id = c;
  l->fd = fd;
  l->connect_deadline_us = m.now_us + uint64_t(m.cfg.connect_timeout_ms) * 1000;
  if (!m.poller.add(fd, EPOLLOUT, &m, nullptr)) {
    close(fd);
    m.stats.backend_connect_failed.add();
    m.stats.connect_other.add();
    s.abort(c);
    return;
  }
  m.links[c.slot] = std::move(l);
  m.by_fd[fd] = c;
  ++m.open;
  m.stats.active.add();
  m.pump(c);  // client bytes that came with the handshake
}

void ProxyApp::on_readable(tls::PlainStream&, tls::ConnId c) { impl_->pump(c); }

void ProxyApp::on_writable(tls::PlainStream&, tls::ConnId c) { impl_->pump(c); }

void ProxyApp::on_peer_close(tls::PlainStream&, tls::ConnId c) {
  if (Link* l = impl_->get(c)) {
    l->client_eof = true;
    impl_->stats.client_half_closes.add();
    impl_->pump(c);
  }
}

void ProxyApp::on_closed(tls::PlainStream&, tls::ConnId c, tls::PlainCloseReason why) {
  if (Link* l = impl_->get(c)) impl_->drop(*l, why != tls::PlainCloseReason::kNormal);
}

void ProxyApp::poll(uint64_t now_us) {
  Impl& m = *impl_;
  m.now_us = now_us;
  if (m.open == 0 || now_us < m.next_timeout_scan_us) return;
  m.next_timeout_scan_us = now_us + 50'000;
  for (auto& p : m.links) {
    Link* l = p.get();
    if (l && !l->connected && now_us > l->connect_deadline_us) {
      m.stats.backend_connect_failed.add();
      m.fail(*l, m.stats.connect_timeout);
    }
  }
}

}  // namespace gputls::proxy
