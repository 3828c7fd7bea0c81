// The kernel-TCP baseline for the appliance benchmark: the appliance's
// download service (same protocol, same DownloadPattern bytes) on a kernel
// socket, one thread, epoll, non-blocking; pin it to the appliance's worker
// core with taskset so both get the same CPU.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <string>
#include <unordered_map>

#include "services/download_pattern.h"

namespace {
volatile sig_atomic_t g_quit = 0;
void on_signal(int) { g_quit = 1; }

struct Conn {
  std::string line;
  bool have_request = false;
  uint64_t total = 0, sent = 0;
};
}  // namespace

int main(int argc, char** argv) {
  std::string ip = "0.0.0.0";
  uint16_t port = 9000;
  CLI::App app{"Kernel TCP download server (baseline for the appliance benchmark)"};
  app.add_option("--ip", ip)->capture_default_str();
  app.add_option("--port", port)->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  gputls::services::DownloadPattern pattern;
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(lfd, 4096) != 0) {
    std::perror("kernel_server: bind/listen");
    return 1;
  }
  int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  std::unordered_map<int, Conn> conns;
  epoll_event evs[256];
  char buf[65536];
  auto finish = [&](int fd) {
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    conns.erase(fd);
  };
  auto pump = [&](int fd, Conn& c) {
    while (c.sent < c.total) {
      size_t n = size_t(std::min<uint64_t>(sizeof buf, c.total - c.sent));
      pattern.fill(c.sent, reinterpret_cast<uint8_t*>(buf), n);
      ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EAGAIN) return;
        finish(fd);
        return;
      }
      c.sent += uint64_t(w);
    }
    finish(fd);  // all sent: close (FIN after the data)
  };
  std::fprintf(stderr, "kernel_server: listening on %s:%u\n", ip.c_str(), port);
  while (!g_quit) {
    int n = epoll_wait(ep, evs, 256, 200);
    for (int i = 0; i < n; ++i) {
      int fd = evs[i].data.fd;
      if (fd == lfd) {
        for (;;) {
          int c = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK);
          if (c < 0) break;
          epoll_event e{};
          e.events = EPOLLIN | EPOLLOUT | EPOLLET;
          e.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
          conns.emplace(c, Conn{});
        }
        continue;
      }
      auto it = conns.find(fd);
      if (it == conns.end()) continue;
      Conn& c = it->second;
      if (!c.have_request) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0) {
          if (r == 0 || errno != EAGAIN) finish(fd);
          continue;
        }
        c.line.append(buf, size_t(r));
        auto nl = c.line.find('\n');
        if (nl == std::string::npos) continue;
        c.total = std::stoull(c.line.substr(0, nl));
        c.have_request = true;
      }
      pump(fd, c);
    }
  }
  return 0;
}
