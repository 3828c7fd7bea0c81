// FdPoller over pipes: readiness is reported, level-triggered, and a handler
// removed (its fd closed and the number reused) during a poll is not called.
#include "loop/fd_poller.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <functional>
#include <vector>

namespace gputls::loop {
namespace {

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() {
    if (r >= 0) close(r);
    if (w >= 0) close(w);
  }
};

struct Recorder : FdHandler {
  std::vector<std::pair<int, uint32_t>> seen;
  std::function<void(int)> also;
  void on_fd_ready(int fd, uint32_t events) override {
    seen.emplace_back(fd, events);
    if (also) also(fd);
  }
};

TEST(FdPoller, ReportsReadinessLevelTriggered) {
  FdPoller p;
  Pipe a;
  Recorder h;
  std::string err;
  ASSERT_TRUE(p.add(a.r, EPOLLIN, &h, &err)) << err;
  EXPECT_EQ(p.poll(), 0);
  ASSERT_EQ(write(a.w, "x", 1), 1);
  EXPECT_EQ(p.poll(), 1);
  EXPECT_EQ(p.poll(), 1);  // not read: reported again
  ASSERT_EQ(h.seen.size(), 2u);
  EXPECT_EQ(h.seen[0].first, a.r);
  EXPECT_TRUE(h.seen[0].second & EPOLLIN);
  char c;
  ASSERT_EQ(read(a.r, &c, 1), 1);
  EXPECT_EQ(p.poll(), 0);
}

TEST(FdPoller, WriteInterestCanBeSwitched) {
  FdPoller p;
  Pipe a;
  Recorder h;
  ASSERT_TRUE(p.add(a.w, 0, &h, nullptr));
  EXPECT_EQ(p.poll(), 0);
  ASSERT_TRUE(p.modify(a.w, EPOLLOUT));
  EXPECT_EQ(p.poll(), 1);
  EXPECT_TRUE(h.seen.at(0).second & EPOLLOUT);
  EXPECT_FALSE(p.modify(12345, EPOLLOUT));  // unknown fd
}

TEST(FdPoller, RemovalDuringPollSkipsTheRemovedHandler) {
  FdPoller p;
  Pipe a, b;
  Recorder ha, hb;
  ASSERT_TRUE(p.add(a.r, EPOLLIN, &ha, nullptr));
  ASSERT_TRUE(p.add(b.r, EPOLLIN, &hb, nullptr));
  ASSERT_EQ(write(a.w, "x", 1), 1);
  ASSERT_EQ(write(b.w, "x", 1), 1);
  // Whichever runs first removes the other; only one may run.
  ha.also = [&](int) { p.remove(b.r); };
  hb.also = [&](int) { p.remove(a.r); };
  EXPECT_EQ(p.poll(), 1);
  EXPECT_EQ(ha.seen.size() + hb.seen.size(), 1u);
  EXPECT_EQ(p.size(), 1u);
}

TEST(FdPoller, AddingABadFdSaysWhy) {
  FdPoller p;
  Recorder h;
  std::string err;
  EXPECT_FALSE(p.add(-1, EPOLLIN, &h, &err));
  EXPECT_NE(err.find("epoll_ctl"), std::string::npos);
  EXPECT_FALSE(p.watching(-1));
}

}  // namespace
}  // namespace gputls::loop
