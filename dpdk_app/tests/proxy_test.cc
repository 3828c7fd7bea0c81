// ProxyApp against real loopback kernel sockets as the backend and a test
// double for the TLS side (the PlainStream): bytes both ways, bounded
// buffering under backpressure, half-close, refused and reset backends.
#include "proxy/proxy_app.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace gputls::proxy {
namespace {

using tls::ConnId;

// The TLS side: bytes "from the client" to hand out, what the proxy wrote
// back, and a switch that makes write() refuse (a full client).
struct FakeStream : tls::PlainStream {
  std::vector<uint8_t> from_client;
  size_t from_pos = 0;
  std::string to_client;
  bool full = false, want_writable = false, shut = false, aborted = false;
  size_t readable(ConnId) const override { return from_client.size() - from_pos; }
  size_t read(ConnId, uint8_t* dst, size_t len) override {
    size_t n = std::min(len, from_client.size() - from_pos);
    if (n == 0) return 0;
    std::memcpy(dst, from_client.data() + from_pos, n);
    from_pos += n;
    return n;
  }
  size_t write(ConnId, const uint8_t* src, size_t len) override {
    if (full) return 0;
    size_t n = std::min<size_t>(len, 8192);
    to_client.append(reinterpret_cast<const char*>(src), n);
    return n;
  }
  void notify_when_writable(ConnId) override { want_writable = true; }
  void shutdown_write(ConnId) override { shut = true; }
  void abort(ConnId) override { aborted = true; }
};

int listener(uint16_t* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(listen(fd, 16), 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

struct Rig {
  loop::FdPoller poller;
  ProxyStats stats;
  FakeStream client;
  ProxyConfig cfg;
  std::unique_ptr<ProxyApp> proxy;
  ConnId id{3, 1};
  uint64_t now_us = 0;
  explicit Rig(uint16_t port, uint32_t buffer = 16 << 10) {
    cfg.backend.sin_family = AF_INET;
    cfg.backend.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cfg.backend.sin_port = htons(port);
    cfg.buffer_bytes = buffer;
    cfg.connect_timeout_ms = 2000;
    proxy = std::make_unique<ProxyApp>(cfg, poller, stats);
  }
  // One loop iteration, as the lcore does it.
  void turn() {
    now_us += 1000;
    poller.poll();
    proxy->poll(now_us);
    if (client.want_writable && !client.full) {
      client.want_writable = false;
      proxy->on_writable(client, id);
    }
  }
  // Runs until done() or 10 s pass; false on timeout.
  bool run_until(const std::function<bool()>& done, const std::function<void()>& each = [] {}) {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      if (std::chrono::steady_clock::now() > end) return false;
      turn();
      each();
    }
    return true;
  }
};

TEST(ProxyApp, TenMiBBothWaysThroughAnEchoBackendWithBoundedBuffers) {
  uint16_t port;
  int lfd = listener(&port);
  Rig r(port);
  std::vector<uint8_t> data(10 << 20);
  std::mt19937 rng(7);
  for (auto& b : data) b = uint8_t(rng());
  r.client.from_client = data;
  r.proxy->on_open(r.client, r.id, {});
  int bfd = -1;
  std::vector<uint8_t> echo;  // the backend's own bounded buffer
  size_t turns = 0;
  bool ok = r.run_until([&] { return r.client.to_client.size() == data.size(); }, [&] {
    if (bfd < 0) {
      bfd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK);
      if (bfd < 0) return;
    }
    uint8_t buf[32 << 10];
    if (echo.size() < (64 << 10)) {
      ssize_t n = recv(bfd, buf, sizeof buf, 0);
      if (n > 0) echo.insert(echo.end(), buf, buf + n);
    }
    if (!echo.empty()) {
      ssize_t n = send(bfd, echo.data(), echo.size(), MSG_NOSIGNAL);
      if (n > 0) echo.erase(echo.begin(), echo.begin() + n);
    }
    // The client stalls every few turns: the proxy must hold back, not buffer.
    r.client.full = (++turns % 7) < 3;
    // More client bytes are offered as the stream would signal them.
    if (r.client.readable(r.id)) r.proxy->on_readable(r.client, r.id);
  });
  ASSERT_TRUE(ok) << "moved " << r.client.to_client.size() << " of " << data.size();
  EXPECT_EQ(std::memcmp(data.data(), r.client.to_client.data(), data.size()), 0);
  EXPECT_EQ(r.stats.bytes_to_backend.get(), data.size());
  EXPECT_EQ(r.stats.bytes_from_backend.get(), data.size());
  EXPECT_LE(r.stats.buffered_peak.get(), 2u * r.cfg.buffer_bytes);  // both directions, one connection
  EXPECT_FALSE(r.client.aborted);
  r.proxy->on_closed(r.client, r.id, tls::PlainCloseReason::kNormal);
  EXPECT_EQ(r.stats.active.get(), 0u);
  EXPECT_EQ(r.poller.size(), 0u);
  close(bfd);
  close(lfd);
}

TEST(ProxyApp, HalfClosePassesThroughBothWays) {
  uint16_t port;
  int lfd = listener(&port);
  Rig r(port);
  std::string req = "GET / HTTP/1.0\r\n\r\n";
  r.client.from_client.assign(req.begin(), req.end());
  r.proxy->on_open(r.client, r.id, {});
  r.proxy->on_peer_close(r.client, r.id);  // the client is done sending
  int bfd = -1;
  std::string got;
  bool backend_saw_eof = false;
  ASSERT_TRUE(r.run_until([&] { return r.client.shut; }, [&] {
    if (bfd < 0) bfd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK);
    if (bfd < 0 || backend_saw_eof) return;
    char buf[256];
    ssize_t n = recv(bfd, buf, sizeof buf, 0);
    if (n > 0) got.append(buf, size_t(n));
    if (n == 0) {  // EOF after the request: answer, then close
      backend_saw_eof = true;
      EXPECT_EQ(send(bfd, "response", 8, MSG_NOSIGNAL), 8);
      close(bfd);
    }
  }));
  EXPECT_EQ(got, req);
  EXPECT_EQ(r.client.to_client, "response");
  EXPECT_EQ(r.stats.backend_eof.get(), 1u);
  EXPECT_EQ(r.stats.client_half_closes.get(), 1u);
  EXPECT_FALSE(r.client.aborted);
  close(lfd);
}

TEST(ProxyApp, RefusedBackendAbortsTheClientAndCounts) {
  uint16_t port;
  close(listener(&port));  // nothing listens there now
  Rig r(port);
  r.proxy->on_open(r.client, r.id, {});
  ASSERT_TRUE(r.run_until([&] { return r.client.aborted; }));
  r.proxy->on_closed(r.client, r.id, tls::PlainCloseReason::kAppAbort);
  EXPECT_EQ(r.stats.backend_connect_failed.get(), 1u);
  EXPECT_EQ(r.stats.connect_refused.get(), 1u);
  EXPECT_EQ(r.stats.active.get(), 0u);
  EXPECT_EQ(r.proxy->open_backends(), 0u);
}

TEST(ProxyApp, BackendResetMidStreamAbortsTheClient) {
  uint16_t port;
  int lfd = listener(&port);
  Rig r(port);
  r.proxy->on_open(r.client, r.id, {});
  int bfd = -1;
  ASSERT_TRUE(r.run_until([&] { return r.client.aborted; }, [&] {
    if (bfd >= 0) return;
    bfd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK);
    if (bfd < 0) return;
    std::string part(1000, 'x');
    EXPECT_EQ(send(bfd, part.data(), part.size(), MSG_NOSIGNAL), ssize_t(part.size()));
    linger lg{1, 0};
    setsockopt(bfd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    usleep(20000);  // let the data arrive first
    close(bfd);     // RST
  }));
  EXPECT_EQ(r.stats.backend_resets.get(), 1u);
  EXPECT_EQ(r.proxy->open_backends(), 0u);
  EXPECT_EQ(r.poller.size(), 0u);
  // Calls on the stale id are harmless.
  r.proxy->on_readable(r.client, r.id);
  r.proxy->on_closed(r.client, r.id, tls::PlainCloseReason::kPeerAbort);
  close(lfd);
}

}  // namespace
}  // namespace gputls::proxy
