// Load generator for the appliance benchmark (kernel TCP client, one thread,
// epoll). Speaks the download protocol ("<bytes>\n", the server streams them
// and closes), so the appliance and the kernel server get the same client:
//   --mode conn: keep --conns connections in flight, each asks for --size
//                bytes (small) and is replaced when the server closes it:
//                connections per second for the whole lifecycle
//   --mode bulk: --conns connections each download --size bytes: bytes/s
// Prints one JSON object. Every connection must return exactly --size bytes.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

struct Conn {
  uint64_t got = 0;
  bool sent_request = false;
};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "10.213.0.1", mode = "conn";
  uint16_t port = 9000;
  int conns = 32;
  double seconds = 5;
  uint64_t size = 64;
  CLI::App app{"TCP load for the appliance benchmark (download protocol)"};
  app.add_option("--host", host)->capture_default_str();
  app.add_option("--port", port)->capture_default_str();
  app.add_option("--mode", mode)->check(CLI::IsMember({"conn", "bulk"}))->capture_default_str();
  app.add_option("--conns", conns)->capture_default_str();
  app.add_option("--seconds", seconds, "conn mode: how long to run")->capture_default_str();
  app.add_option("--size", size, "bytes per connection")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "tcp_load: bad --host %s\n", host.c_str());
    return 2;
  }
  int ep = epoll_create1(0);
  std::unordered_map<int, Conn> live;
  std::string request = std::to_string(size) + "\n";
  uint64_t completed = 0, bytes = 0, errors = 0, short_reads = 0;
  auto open_one = [&]() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
      ++errors;
      close(fd);
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    live.emplace(fd, Conn{});
  };
  double t0 = now_s(), deadline = t0 + seconds;
  int to_open = conns;
  for (int i = 0; i < conns; ++i) open_one();
  std::vector<epoll_event> evs(256);
  std::vector<char> buf(1 << 20);
  bool stopping = mode == "bulk";
  while (!live.empty()) {
    if (mode == "conn" && !stopping && now_s() >= deadline) stopping = true;
    if (mode == "bulk" && now_s() > t0 + 300) break;
    int n = epoll_wait(ep, evs.data(), int(evs.size()), 100);
    for (int i = 0; i < n; ++i) {
      int fd = evs[i].data.fd;
      auto it = live.find(fd);
      if (it == live.end()) continue;
      Conn& c = it->second;
      bool done = false;
      if (evs[i].events & (EPOLLERR)) {
        ++errors;
        done = true;
      }
      if (!done && !c.sent_request && (evs[i].events & EPOLLOUT)) {
        if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != ssize_t(request.size())) {
          ++errors;
          done = true;
        } else {
          c.sent_request = true;
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.fd = fd;
          epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
        }
      }
      if (!done && (evs[i].events & (EPOLLIN | EPOLLHUP))) {
        for (;;) {
          ssize_t r = recv(fd, buf.data(), buf.size(), 0);
          if (r > 0) { c.got += uint64_t(r); bytes += uint64_t(r); continue; }
          if (r == 0) {
            done = true;
            if (c.got == size) ++completed;
            else ++short_reads;
          } else if (errno != EAGAIN) {
            ++errors;
            done = true;
          }
          break;
        }
      }
      if (done) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        close(fd);
        live.erase(it);
        if (!stopping) open_one();
        else --to_open;
      }
    }
  }
  double dt = now_s() - t0;
  std::printf("{\"mode\": \"%s\", \"conns\": %d, \"size\": %llu, \"seconds\": %.3f, \"completed\": %llu, "
              "\"errors\": %llu, \"short\": %llu, \"conns_per_sec\": %.1f, \"bytes_per_sec\": %.1f}\n",
              mode.c_str(), conns, (unsigned long long)size, dt, (unsigned long long)completed,
              (unsigned long long)errors, (unsigned long long)short_reads, double(completed) / dt,
              double(bytes) / dt);
  return (errors || short_reads || completed == 0) ? 1 : 0;
}
