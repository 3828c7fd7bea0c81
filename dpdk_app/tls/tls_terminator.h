// TLS termination for one lcore: a TcpApp that runs an OpenSSL SSL per TCP
// connection on memory BIOs (ciphertext moves between TcpStack and the BIOs,
// never through a kernel socket) in SSL_MODE_ASYNC, and a PlainStream that
// hands the plaintext to a PlainApp (the backend proxy).
//
// Async: when a provider operation queues work on the gputls engine, the
// SSL call returns SSL_ERROR_WANT_ASYNC; the job's wait fds go into the
// lcore's FdPoller and the same call is re-run when one becomes readable.
// While a job is paused only that call may be made on the SSL (OpenSSL would
// resume the paused job from any other call), so every SSL call goes through
// one step function that retries the paused operation first.
//
// Bounds: at most kPlainBuf plaintext bytes buffered per direction and
// kCipherPending bytes of ciphertext waiting for TCP send space; beyond them
// the terminator stops reading TCP (the window closes) or refuses write().
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "loop/fd_poller.h"
#include "net/tcp_stack.h"
#include "tls/plain_app.h"
#include "tls/tls_context.h"
#include "tls/tls_stats.h"

namespace gputls::tls {

struct TerminatorConfig {
  uint64_t handshake_timeout_us = 10'000'000;
  // An established connection that moves no application byte (none
  // decrypted from the client, none encrypted to it) for this long is reset
  // and its backend closed: a client that never reads, with its buffers and
  // backend socket, is not held for ever (0: never).
  uint64_t progress_timeout_us = 60'000'000;
  // Bytes the plaintext app holds per connection (the proxy: two buffers),
  // charged with the terminator's own to the TCP stack's memory limit.
  uint64_t app_bytes_per_connection = 0;
};

class TlsTerminator : public net::TcpApp, public PlainStream, public loop::FdHandler {
 public:
  static constexpr size_t kPlainBuf = 32 << 10;
  static constexpr size_t kCipherPending = 64 << 10;
  static constexpr size_t kRbioBound = 40 << 10;  // ciphertext taken from TCP ahead of SSL_read
  // What one connection may hold here, charged to --mem-limit at open: both
  // plaintext buffers, ciphertext in the read and write BIOs, and OpenSSL's
  // SSL with its record buffers (about 17 KiB each way while in use; an
  // estimate, kept generous).
  static constexpr size_t kSslBytes = 48 << 10;
  static constexpr size_t kConnBytes = 2 * kPlainBuf + kRbioBound + kCipherPending + kSslBytes;

  TlsTerminator(const TlsContext& ctx, PlainApp& app, loop::FdPoller& poller, TlsStats& stats,
                const TerminatorConfig& cfg);
  ~TlsTerminator() override;

  // TcpApp
  void on_open(net::TcpStack& tcp, ConnId c, uint16_t local_port) override;
  void on_readable(net::TcpStack& tcp, ConnId c) override;
  void on_writable(net::TcpStack& tcp, ConnId c) override;
  void on_peer_fin(net::TcpStack& tcp, ConnId c) override;
  void on_closed(net::TcpStack& tcp, ConnId c, net::CloseReason why) override;

  // PlainStream
  size_t readable(ConnId c) const override;
  size_t read(ConnId c, uint8_t* dst, size_t len) override;
  size_t write(ConnId c, const uint8_t* src, size_t len) override;
  void notify_when_writable(ConnId c) override;
  void shutdown_write(ConnId c) override;
  void abort(ConnId c) override;

  // FdHandler: an engine completion for a paused job.
  void on_fd_ready(int fd, uint32_t events) override;

  // Once per loop iteration: handshake timeouts, connections whose buffers
  // drained since the last call.
  void poll(uint64_t now_us);

  size_t connections() const { return live_; }
  // One line per open connection with its state, for the stop log.
  std::string describe_open() const;
  TlsStats& stats() { return stats_; }

  struct Conn;  // per connection state (public for the OpenSSL info callback)

 private:
  enum class Paused : uint8_t { kNone, kHandshake, kRead, kWrite, kShutdown };
  Conn* get(ConnId c) const;
  void drive(Conn& k);     // progress, then the app's callbacks
  void progress(Conn& k);  // TCP -> SSL -> TCP, no app callbacks
  void progress_from_app(Conn& k);
  bool step(Conn& k);  // one SSL call; false when nothing more can happen now
  bool handle_error(Conn& k, Paused op, int ret);
  void on_handshake_done(Conn& k);
  void fail_handshake(Conn& k, HandshakeFailure why);
  void flush_cipher(Conn& k);
  void pull_tcp(Conn& k);
  void update_async_fds(Conn& k);
  void release(Conn& k);
  // A connection gone while its SSL's job is paused on gputls: OpenSSL never
  // frees a paused ASYNC_JOB (its 32 KiB stack and the job were lost on
  // every abandoned handshake, about 27 KiB of RSS per connection in a
  // ClientHello-then-RST flood; issue 21.4). The SSL is kept, its BIOs
  // replaced by ones that fail, and when the engine completes the job is
  // resumed once more: its next read or write fails, the job ends, and only
  // then is the SSL freed.
  void drain(std::unique_ptr<Conn> k);
  // The connection's plaintext wiped, its SSL freed, its memory charge given back.
  void free_ssl(Conn& k);
  void resume_drained(int fd);
  uint64_t charge() const { return kConnBytes + cfg_.app_bytes_per_connection; }

  const TlsContext& ctx_;
  PlainApp& app_;
  loop::FdPoller& poller_;
  TlsStats& stats_;
  TerminatorConfig cfg_;
  net::TcpStack* tcp_ = nullptr;
  std::vector<std::unique_ptr<Conn>> conns_;  // by ConnId.slot
  std::unordered_map<int, ConnId> by_fd_;
  std::unordered_map<int, std::unique_ptr<Conn>> draining_;  // by wait fd
  std::vector<ConnId> again_;                 // to drive from poll()
  std::vector<ConnId> driving_;               // poll()'s batch of again_ (kept: no allocation per poll)
  uint64_t now_us_ = 0, next_timeout_scan_us_ = 0;
  size_t live_ = 0;
};

}  // namespace gputls::tls
