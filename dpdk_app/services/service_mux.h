// The plain services the appliance runs over its TCP until TLS arrives:
//   echo:     every byte received is sent back; closes after the peer's FIN.
//   download: the client sends "<bytes>\n" (decimal, at most 2^40); the server
//             streams that many bytes of DownloadPattern and closes.
// Both respect backpressure: they move only what the send buffer takes and
// continue on on_writable.
#pragma once

#include <cstdint>
#include <vector>

#include "net/tcp_stack.h"
#include "services/download_pattern.h"

namespace gputls::services {

struct ServicePorts {
  uint16_t echo = 7;
  uint16_t download = 9000;
};

class ServiceMux : public net::TcpApp {
 public:
  ServiceMux(const ServicePorts& ports, const DownloadPattern& pattern, size_t max_connections);

  void on_open(net::TcpStack& tcp, net::ConnId c, uint16_t local_port) override;
  void on_readable(net::TcpStack& tcp, net::ConnId c) override;
  void on_writable(net::TcpStack& tcp, net::ConnId c) override;
  void on_peer_fin(net::TcpStack& tcp, net::ConnId c) override;
  void on_closed(net::TcpStack& tcp, net::ConnId c, net::CloseReason why) override;

  uint64_t downloads_completed() const { return downloads_completed_; }
  uint64_t bad_requests() const { return bad_requests_; }

 private:
  enum class Kind : uint8_t { kNone, kEcho, kDownload };
  struct Conn {
    Kind kind = Kind::kNone;
    bool peer_fin = false;
    bool request_done = false;
    uint8_t line_len = 0;
    char line[24] = {};
    uint64_t total = 0, sent = 0;
  };
  void pump_echo(net::TcpStack& tcp, net::ConnId c, Conn& s);
  void read_request(net::TcpStack& tcp, net::ConnId c, Conn& s);
  void pump_download(net::TcpStack& tcp, net::ConnId c, Conn& s);

  ServicePorts ports_;
  const DownloadPattern& pattern_;
  std::vector<Conn> conns_;
  uint64_t downloads_completed_ = 0, bad_requests_ = 0;
};

}  // namespace gputls::services
