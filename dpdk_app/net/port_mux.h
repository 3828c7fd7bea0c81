// Routes a TcpStack's connections to one of several TcpApps by local port
// (TLS termination on its port, the plain echo/download services on theirs),
// since one stack has one app.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "net/tcp_app.h"

namespace gputls::net {

class PortMux : public TcpApp {
 public:
  explicit PortMux(TcpApp& fallback) : fallback_(fallback) {}
  void route(uint16_t port, TcpApp& app) { routes_.emplace_back(port, &app); }

  void on_open(TcpStack& tcp, ConnId c, uint16_t local_port) override {
    TcpApp* app = &fallback_;
    for (auto& [port, a] : routes_)
      if (port == local_port) app = a;
    if (c.slot >= by_slot_.size()) by_slot_.resize(c.slot + 1, nullptr);
    by_slot_[c.slot] = app;
    app->on_open(tcp, c, local_port);
  }
  void on_readable(TcpStack& tcp, ConnId c) override { app(c).on_readable(tcp, c); }
  void on_writable(TcpStack& tcp, ConnId c) override { app(c).on_writable(tcp, c); }
  void on_peer_fin(TcpStack& tcp, ConnId c) override { app(c).on_peer_fin(tcp, c); }
  void on_closed(TcpStack& tcp, ConnId c, CloseReason why) override { app(c).on_closed(tcp, c, why); }

 private:
  TcpApp& app(ConnId c) {
    return (c.slot < by_slot_.size() && by_slot_[c.slot]) ? *by_slot_[c.slot] : fallback_;
  }
  TcpApp& fallback_;
  std::vector<std::pair<uint16_t, TcpApp*>> routes_;
  std::vector<TcpApp*> by_slot_;
};

}  // namespace gputls::net
