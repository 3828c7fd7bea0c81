#include "loop/fd_poller.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace gputls::loop {

FdPoller::FdPoller() : epfd_(epoll_create1(EPOLL_CLOEXEC)) {
  if (epfd_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
}

FdPoller::~FdPoller() {
  if (epfd_ >= 0) close(epfd_);
}

bool FdPoller::add(int fd, uint32_t events, FdHandler* h, std::string* err) {
  epoll_event ev{};
  ev.events = events;
  // The generation travels with the event so a handler removed (and its fd
  // number reused) earlier in the same poll() is never called for it.
  ev.data.u64 = (uint64_t(++generation_) << 32) | uint32_t(fd);
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    if (err) *err = std::string("epoll_ctl(ADD, fd ") + std::to_string(fd) + "): " + std::strerror(errno);
    return false;
  }
  handlers_[fd] = h;
  gen_of_[fd] = generation_;
  return true;
}

bool FdPoller::modify(int fd, uint32_t events) {
  auto g = gen_of_.find(fd);
  if (g == gen_of_.end()) return false;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (g->second << 32) | uint32_t(fd);
  return epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) == 0;
}

void FdPoller::remove(int fd) {
  if (handlers_.erase(fd) == 0) return;
  gen_of_.erase(fd);
  epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);  // fails harmlessly if the fd was already closed
}

int FdPoller::poll(int max_events) {
  epoll_event evs[64];
  if (max_events > 64) max_events = 64;
  int n = epoll_wait(epfd_, evs, max_events, 0);
  int ran = 0;
  for (int i = 0; i < n; ++i) {
    int fd = int(uint32_t(evs[i].data.u64));
    uint64_t gen = evs[i].data.u64 >> 32;
    auto g = gen_of_.find(fd);
    if (g == gen_of_.end() || (g->second & 0xffffffffu) != gen) continue;  // removed during this poll
    handlers_[fd]->on_fd_ready(fd, evs[i].events);
    ++ran;
  }
  return ran;
}

}  // namespace gputls::loop
