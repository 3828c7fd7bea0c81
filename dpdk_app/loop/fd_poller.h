// Kernel file descriptors watched from an lcore's run-to-completion loop:
// backend sockets (the plaintext proxy) and the eventfds the gputls provider
// signals when an engine request of a paused ASYNC_JOB completes. One epoll
// per lcore, polled with a zero timeout once per loop iteration, so the loop
// never sleeps in the kernel. Level-triggered: a handler that leaves data
// unread is called again on the next poll.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <string>
#include <unordered_map>

namespace gputls::loop {

class FdHandler {
 public:
  virtual ~FdHandler() = default;
  // events: EPOLLIN / EPOLLOUT / EPOLLERR / EPOLLHUP / EPOLLRDHUP bits.
  virtual void on_fd_ready(int fd, uint32_t events) = 0;
};

class FdPoller {
 public:
  FdPoller();  // throws std::runtime_error if epoll_create1 fails (fd limit)
  ~FdPoller();
  FdPoller(const FdPoller&) = delete;
  FdPoller& operator=(const FdPoller&) = delete;

  // Registers fd (not owned) for events; false with *err set when the kernel
  // refuses. A handler may call add/modify/remove (for any fd) from inside
  // on_fd_ready: removal takes effect at once, even within one poll().
  bool add(int fd, uint32_t events, FdHandler* h, std::string* err);
  bool modify(int fd, uint32_t events);
  void remove(int fd);
  bool watching(int fd) const { return handlers_.count(fd) != 0; }
  size_t size() const { return handlers_.size(); }

  // Dispatches ready fds (at most max_events per call) without blocking;
  // returns how many handlers ran.
  int poll(int max_events = 64);

 private:
  int epfd_ = -1;
  std::unordered_map<int, FdHandler*> handlers_;
  uint64_t generation_ = 0;
  std::unordered_map<int, uint64_t> gen_of_;
};

}  // namespace gputls::loop
