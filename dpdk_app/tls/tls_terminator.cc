#include "tls/tls_terminator.h"

#include <openssl/err.h>

#include <algorithm>
#include <cstring>

namespace gputls::tls {

struct TlsTerminator::Conn {
  TlsTerminator* owner = nullptr;
  ConnId id;
  SSL* ssl = nullptr;
  BIO* rbio = nullptr;  // ciphertext from the client (owned by ssl)
  BIO* wbio = nullptr;  // ciphertext to the client (owned by ssl)
  Paused paused = Paused::kNone;
  bool hs_done = false, opened = false, failed = false, dead = false, in_drive = false, again = false;
  bool tcp_fin = false, close_notify_in = false, peer_close_told = false, notify_readable = false;
  bool want_writable = false, want_shutdown = false, shutdown_sent = false, app_aborted = false;
  bool alert_sent = false, alert_received = false;
  net::CloseReason tcp_why = net::CloseReason::kNormal;
  uint64_t deadline_us = 0;
  uint64_t progress_us = 0;  // established: when an application byte last moved
  std::unique_ptr<uint8_t[]> in, out;  // plaintext: from the client, to the client
  size_t in_rd = 0, in_wr = 0, out_rd = 0, out_wr = 0;
  std::vector<int> fds;  // the SSL's async wait fds in the poller
};

namespace {

constexpr size_t kChunk = 16 << 10;

// Alerts both ways, from OpenSSL's state machine (ret = level << 8 | code).
void info_cb(const SSL* ssl, int where, int ret) {
  if (!(where & SSL_CB_ALERT)) return;
  auto* k = static_cast<TlsTerminator::Conn*>(SSL_get_app_data(ssl));
  if (!k) return;
  int code = ret & 0xff;
  TlsStats& st = k->owner->stats();
  if (where & SSL_CB_WRITE) {
    st.alerts_sent[code].add();
    if (code == SSL_AD_CLOSE_NOTIFY) st.close_notify_sent.add();
    else k->alert_sent = true;
  } else {
    st.alerts_received[code].add();
    if (code == SSL_AD_CLOSE_NOTIFY) st.close_notify_received.add();
    else k->alert_received = true;
  }
}

}  // namespace

TlsTerminator::TlsTerminator(const TlsContext& ctx, PlainApp& app, loop::FdPoller& poller, TlsStats& stats,
                             const TerminatorConfig& cfg)
    : ctx_(ctx), app_(app), poller_(poller), stats_(stats), cfg_(cfg) {}

TlsTerminator::~TlsTerminator() {
  for (auto& k : conns_) {
    if (!k) continue;
    for (int fd : k->fds) poller_.remove(fd);
    SSL_free(k->ssl);
  }
  for (auto& [fd, k] : draining_) {
    poller_.remove(fd);
    SSL_free(k->ssl);
  }
}

TlsTerminator::Conn* TlsTerminator::get(ConnId c) const {
  if (c.slot >= conns_.size()) return nullptr;
  Conn* k = conns_[c.slot].get();
  return (k && k->id == c && !k->dead) ? k : nullptr;
}

void TlsTerminator::on_open(net::TcpStack& tcp, ConnId c, uint16_t) {
  tcp_ = &tcp;
  if (!tcp.reserve_memory(charge())) {  // everything this connection may hold, or no connection
    stats_.fail(HandshakeFailure::kMemoryLimit);
    tcp.abort(c);
    return;
  }
  if (c.slot >= conns_.size()) conns_.resize(c.slot + 1);
  auto k = std::make_unique<Conn>();
  k->owner = this;
  k->id = c;
  k->deadline_us = now_us_ + cfg_.handshake_timeout_us;
  k->ssl = SSL_new(ctx_.ssl_ctx());
  k->rbio = BIO_new(BIO_s_mem());
  k->wbio = BIO_new(BIO_s_mem());
  if (!k->ssl || !k->rbio || !k->wbio) {
    BIO_free(k->rbio);
    BIO_free(k->wbio);
    SSL_free(k->ssl);
    ERR_clear_error();
    tcp.release_memory(charge());
    stats_.fail(HandshakeFailure::kInternal);
    tcp.abort(c);
    return;
  }
  SSL_set_bio(k->ssl, k->rbio, k->wbio);
  SSL_set_accept_state(k->ssl);
  SSL_set_app_data(k->ssl, k.get());
  SSL_set_info_callback(k->ssl, info_cb);
  conns_[c.slot] = std::move(k);
  ++live_;
  stats_.active.add();
}

void TlsTerminator::pull_tcp(Conn& k) {
  uint8_t buf[kChunk];
  while (tcp_->readable(k.id) > 0) {
    if (!k.failed && size_t(BIO_pending(k.rbio)) >= kRbioBound) break;  // SSL catches up first
    size_t n = tcp_->recv(k.id, buf, sizeof buf);
    if (n == 0) break;
    if (k.failed) continue;  // a connection being closed: discard
    BIO_write(k.rbio, buf, int(n));
  }
}

void TlsTerminator::flush_cipher(Conn& k) {
  uint8_t buf[kChunk];
  for (;;) {
    size_t pending = size_t(BIO_pending(k.wbio));
    if (pending == 0) return;
    size_t space = tcp_->send_space(k.id);
    if (space == 0) {
      tcp_->notify_when_writable(k.id);
      return;
    }
    size_t n = std::min({pending, space, sizeof buf});
    int got = BIO_read(k.wbio, buf, int(n));
    if (got <= 0) return;
    tcp_->send(k.id, buf, size_t(got));  // fits: got <= send_space
  }
}

void TlsTerminator::update_async_fds(Conn& k) {
  size_t nadd = 0, ndel = 0;
  if (SSL_get_changed_async_fds(k.ssl, nullptr, &nadd, nullptr, &ndel) != 1) return;
  std::vector<OSSL_ASYNC_FD> add(nadd), del(ndel);
  if (SSL_get_changed_async_fds(k.ssl, add.data(), &nadd, del.data(), &ndel) != 1) return;
  for (int fd : del) {
    poller_.remove(fd);
    by_fd_.erase(fd);
    k.fds.erase(std::remove(k.fds.begin(), k.fds.end(), fd), k.fds.end());
  }
  for (int fd : add) {
    if (poller_.watching(fd)) continue;
    if (poller_.add(fd, EPOLLIN, this, nullptr)) {
      by_fd_[fd] = k.id;
      k.fds.push_back(fd);
    }
  }
}

void TlsTerminator::on_handshake_done(Conn& k) {
  k.hs_done = true;
  k.progress_us = now_us_;
  if (SSL_session_reused(k.ssl)) stats_.handshakes_resumed.add();
  else stats_.handshakes_full.add();
  stats_.count_group(negotiated_group_name(k.ssl));
  X509* peer = SSL_get0_peer_certificate(k.ssl);
  if (peer && SSL_get_verify_result(k.ssl) == X509_V_OK) stats_.client_certs_verified.add();
  k.in.reset(new uint8_t[kPlainBuf]);
  k.out.reset(new uint8_t[kPlainBuf]);
}

void TlsTerminator::fail_handshake(Conn& k, HandshakeFailure why) {
  if (k.failed) return;
  if (why != HandshakeFailure::kHandshakeTimeout && why != HandshakeFailure::kTcpReset) {
    if (k.alert_received) why = HandshakeFailure::kAlertReceived;
    else if (k.alert_sent) why = HandshakeFailure::kAlertSent;
  }
  k.failed = true;
  stats_.fail(why);
  flush_cipher(k);  // the alert, if OpenSSL wrote one
  if (why == HandshakeFailure::kHandshakeTimeout) tcp_->abort(k.id);
  else tcp_->close(k.id);
}

// Returns true when the call made progress (call again), false when the
// connection waits for something (client bytes, the engine, buffer space).
// Returning false ends progress()'s loop: it must never be returned while
// another SSL call could run now (a pending write or shutdown), since nothing
// may drive the connection again.
bool TlsTerminator::handle_error(Conn& k, Paused op, int ret) {
  int err = SSL_get_error(k.ssl, ret);
  switch (err) {
    case SSL_ERROR_WANT_ASYNC:
      k.paused = op;
      stats_.async_pauses.add();
      update_async_fds(k);
      return false;
    case SSL_ERROR_WANT_ASYNC_JOB:  // no job free: try again next loop iteration
      k.paused = Paused::kNone;
      again_.push_back(k.id);
      return false;
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      k.paused = Paused::kNone;
      // A read that took all the ciphertext there is (half a record left
      // inside OpenSSL) waits for the client, but a write or our shutdown
      // queued behind it (the app called while the read was paused) need
      // not: go on to them. With nothing buffered step() picks no read, so
      // this cannot loop.
      return op == Paused::kRead && BIO_pending(k.rbio) == 0 && SSL_pending(k.ssl) == 0 &&
             (k.out_rd < k.out_wr || (k.want_shutdown && !k.shutdown_sent));
    case SSL_ERROR_ZERO_RETURN:  // close_notify from the client
      // After a read the read side is finished, but that is progress, not
      // waiting: a write or our shutdown may be queued behind this read (the
      // app's shutdown_write while the read was paused on the engine; issue
      // 22.1), and nothing else drives the connection again once the read
      // that ended it returns from an engine completion. step() never picks
      // a read after close_notify_in, so calling it again cannot loop; a
      // handshake or write that sees the close_notify would be picked again,
      // so those still wait (the handshake fails at the client's FIN).
      k.paused = Paused::kNone;
      k.close_notify_in = true;
      return op == Paused::kRead;
    default:
      break;
  }
  k.paused = Paused::kNone;
  ERR_clear_error();
  if (!k.hs_done) {
    fail_handshake(k, err == SSL_ERROR_SSL ? HandshakeFailure::kMalformed : HandshakeFailure::kInternal);
  } else {
    k.failed = true;
    stats_.errors_after_handshake.add();
    flush_cipher(k);
    tcp_->close(k.id);
  }
  return false;
}

bool TlsTerminator::step(Conn& k) {
  if (k.failed) return false;
  Paused op = k.paused;
  if (op == Paused::kNone) {
    if (!k.hs_done) op = Paused::kHandshake;
    else if (k.out_rd < k.out_wr) op = Paused::kWrite;
    else if (!k.close_notify_in && k.in_wr < kPlainBuf &&
             (BIO_pending(k.rbio) > 0 || SSL_pending(k.ssl) > 0))
      op = Paused::kRead;
    else if (k.want_shutdown && !k.shutdown_sent) op = Paused::kShutdown;
    else return false;
  }
  ERR_clear_error();
  size_t n = 0;
  int ret;
  switch (op) {
    case Paused::kHandshake:
      ret = SSL_do_handshake(k.ssl);
      if (ret == 1) {
        k.paused = Paused::kNone;
        on_handshake_done(k);
        return true;
      }
      break;
    case Paused::kRead:
      if (k.paused == Paused::kNone && k.in_rd == k.in_wr) k.in_rd = k.in_wr = 0;
      ret = SSL_read_ex(k.ssl, k.in.get() + k.in_wr, kPlainBuf - k.in_wr, &n);
      if (ret == 1) {
        k.paused = Paused::kNone;
        k.in_wr += n;
        k.progress_us = now_us_;
        stats_.bytes_in.add(n);
        k.notify_readable = true;
        return true;
      }
      break;
    case Paused::kWrite:
      ret = SSL_write_ex(k.ssl, k.out.get() + k.out_rd, k.out_wr - k.out_rd, &n);
      if (ret == 1) {
        k.paused = Paused::kNone;
        k.out_rd += n;
        if (k.out_rd == k.out_wr) k.out_rd = k.out_wr = 0;
        k.progress_us = now_us_;
        stats_.bytes_out.add(n);
        return true;
      }
      break;
    case Paused::kShutdown:
      ret = SSL_shutdown(k.ssl);
      if (ret < 0) {
        int e = SSL_get_error(k.ssl, ret);
        if (e == SSL_ERROR_WANT_ASYNC || e == SSL_ERROR_WANT_ASYNC_JOB) break;
        // Any other failure must not leave the connection open (seen under
        // load after the client's close_notify: SSL_shutdown failed without
        // pausing and the connection stayed open): close after whatever
        // OpenSSL wrote.
        ERR_clear_error();
      }
      {
        k.paused = Paused::kNone;
        k.shutdown_sent = true;
        flush_cipher(k);
        tcp_->close(k.id);  // FIN after the close_notify
        return false;
      }
    default:
      return false;
  }
  return handle_error(k, op, ret);
}

void TlsTerminator::progress(Conn& k) {
  pull_tcp(k);
  while (!k.dead && step(k)) {
  }
  if (!k.dead) flush_cipher(k);
}

// Calls from the app (write, shutdown_write) move bytes through OpenSSL at
// once but tell the app nothing from inside its own call: its callbacks run
// from the next poll(), so the app never sees itself re-entered.
void TlsTerminator::progress_from_app(Conn& k) {
  if (!k.in_drive) {
    k.in_drive = true;
    progress(k);
    k.in_drive = false;
    if (k.dead) {
      release(k);
      return;
    }
  }
  again_.push_back(k.id);
}

void TlsTerminator::drive(Conn& k) {
  if (k.in_drive) {
    k.again = true;
    return;
  }
  k.in_drive = true;
  const ConnId id = k.id;
  do {
    k.again = false;
    progress(k);
    if (k.dead) break;
    if (!k.failed && k.paused == Paused::kNone && tcp_->readable(id) > 0 &&
        size_t(BIO_pending(k.rbio)) < kRbioBound && k.in_wr < kPlainBuf)
      k.again = true;  // TCP holds more ciphertext that now fits
    if (k.failed) continue;
    if (!k.hs_done && k.tcp_fin && k.paused == Paused::kNone) {
      fail_handshake(k, HandshakeFailure::kPeerClosed);
      continue;
    }
    if (!k.hs_done) continue;
    if (!k.opened) {
      k.opened = true;
      const SSL_CIPHER* cipher = SSL_get_current_cipher(k.ssl);
      SessionInfo info{SSL_get_version(k.ssl), cipher ? SSL_CIPHER_get_name(cipher) : "",
                       SSL_session_reused(k.ssl) == 1, SSL_get0_peer_certificate(k.ssl) != nullptr};
      app_.on_open(*this, id, info);
      if (k.dead) break;
    }
    if (k.notify_readable && k.in_rd < k.in_wr) {
      k.notify_readable = false;
      app_.on_readable(*this, id);
      if (k.dead) break;
    }
    if (k.want_writable && k.out_wr < kPlainBuf && size_t(BIO_pending(k.wbio)) < kCipherPending) {
      k.want_writable = false;
      app_.on_writable(*this, id);
      if (k.dead) break;
    }
    bool client_done = k.close_notify_in || (k.tcp_fin && BIO_pending(k.rbio) == 0 && k.paused == Paused::kNone);
    if (client_done && k.in_rd == k.in_wr && !k.peer_close_told) {
      k.peer_close_told = true;
      app_.on_peer_close(*this, id);
      if (k.dead) break;
    }
  } while (k.again && !k.dead);
  k.in_drive = false;
  if (k.dead) release(k);
}

void TlsTerminator::on_readable(net::TcpStack&, ConnId c) {
  if (Conn* k = get(c)) drive(*k);
}

void TlsTerminator::on_writable(net::TcpStack&, ConnId c) {
  if (Conn* k = get(c)) drive(*k);
}

void TlsTerminator::on_peer_fin(net::TcpStack&, ConnId c) {
  if (Conn* k = get(c)) {
    k->tcp_fin = true;
    drive(*k);
  }
}

void TlsTerminator::on_closed(net::TcpStack&, ConnId c, net::CloseReason why) {
  Conn* k = get(c);
  if (!k) return;
  k->dead = true;
  k->tcp_why = why;
  if (!k->hs_done && !k->failed) {
    k->failed = true;
    bool reset = why == net::CloseReason::kReset || why == net::CloseReason::kTimeout ||
                 why == net::CloseReason::kIdle;
    stats_.fail(reset ? HandshakeFailure::kTcpReset : HandshakeFailure::kPeerClosed);
  }
  if (!k->in_drive) release(*k);
}

void TlsTerminator::release(Conn& k) {
  const ConnId id = k.id;
  const bool paused = k.paused != Paused::kNone && k.fds.size() == 1;
  for (int fd : k.fds) {
    by_fd_.erase(fd);
    if (!paused) poller_.remove(fd);
  }
  if (!paused) k.fds.clear();
  if (k.opened) {
    PlainCloseReason r = PlainCloseReason::kPeerAbort;
    if (k.app_aborted) r = PlainCloseReason::kAppAbort;
    else if (k.failed) r = PlainCloseReason::kTlsError;
    else if (k.tcp_why == net::CloseReason::kNormal && (k.close_notify_in || k.shutdown_sent)) r = PlainCloseReason::kNormal;
    app_.on_closed(*this, id, r);
  }
  --live_;
  stats_.active.sub();
  if (paused) {  // the job must end before the SSL goes (see drain())
    drain(std::move(conns_[id.slot]));
    return;
  }
  free_ssl(k);
  conns_[id.slot].reset();
}

void TlsTerminator::free_ssl(Conn& k) {
  if (k.in) OPENSSL_cleanse(k.in.get(), kPlainBuf);
  if (k.out) OPENSSL_cleanse(k.out.get(), kPlainBuf);
  SSL_free(k.ssl);
  if (tcp_) tcp_->release_memory(charge());
}

void TlsTerminator::drain(std::unique_ptr<Conn> owned) {
  Conn& k = *owned;
  // Read-only empty memory BIOs: reading gives EOF, writing fails (no retry),
  // so the resumed handshake, read or write cannot go on.
  BIO* r = BIO_new_mem_buf("", 0);
  BIO* w = BIO_new_mem_buf("", 0);
  if (r && w) {
    SSL_set_bio(k.ssl, r, w);  // frees the connection's BIOs
    k.rbio = r;
    k.wbio = w;
  } else {
    BIO_free(r);
    BIO_free(w);  // the old BIOs stay: the job still ends, at its next pause or read
  }
  stats_.drained_jobs.add();
  const int fd = k.fds.front();
  draining_[fd] = std::move(owned);
}

void TlsTerminator::resume_drained(int fd) {
  auto it = draining_.find(fd);
  Conn& k = *it->second;
  uint8_t scratch[256];
  size_t n = 0;
  int ret = 0;
  switch (k.paused) {  // the paused call again (a resumed job keeps its own arguments)
    case Paused::kHandshake: ret = SSL_do_handshake(k.ssl); break;
    case Paused::kRead: ret = SSL_read_ex(k.ssl, scratch, sizeof scratch, &n); break;
    case Paused::kWrite: ret = SSL_write_ex(k.ssl, k.out.get() + k.out_rd, k.out_wr - k.out_rd, &n); break;
    case Paused::kShutdown: ret = SSL_shutdown(k.ssl); break;
    case Paused::kNone: break;
  }
  const bool still_paused = ret <= 0 && k.paused != Paused::kNone && SSL_get_error(k.ssl, ret) == SSL_ERROR_WANT_ASYNC;
  ERR_clear_error();
  if (still_paused) return;  // the same wait fd wakes it again
  poller_.remove(fd);
  free_ssl(k);  // the job has ended: nothing is lost
  draining_.erase(it);
}

size_t TlsTerminator::readable(ConnId c) const {
  Conn* k = get(c);
  return k ? k->in_wr - k->in_rd : 0;
}

size_t TlsTerminator::read(ConnId c, uint8_t* dst, size_t len) {
  Conn* k = get(c);
  if (!k) return 0;
  bool was_full = k->in_wr == kPlainBuf;
  size_t n = std::min(len, k->in_wr - k->in_rd);
  std::memcpy(dst, k->in.get() + k->in_rd, n);
  k->in_rd += n;
  if (k->in_rd == k->in_wr && k->paused != Paused::kRead) k->in_rd = k->in_wr = 0;
  if (was_full || tcp_->readable(c) > 0) again_.push_back(c);  // room again: resume SSL_read
  if (k->in_rd == k->in_wr && (k->close_notify_in || k->tcp_fin) && !k->peer_close_told) again_.push_back(c);
  return n;
}

size_t TlsTerminator::write(ConnId c, const uint8_t* src, size_t len) {
  Conn* k = get(c);
  if (!k || !k->opened || k->failed || k->want_shutdown) return 0;
  if (size_t(BIO_pending(k->wbio)) >= kCipherPending) {
    k->want_writable = true;
    return 0;
  }
  if (k->out_rd > 0 && k->paused != Paused::kWrite) {  // compact (never under a paused SSL_write)
    std::memmove(k->out.get(), k->out.get() + k->out_rd, k->out_wr - k->out_rd);
    k->out_wr -= k->out_rd;
    k->out_rd = 0;
  }
  size_t n = std::min(len, kPlainBuf - k->out_wr);
  std::memcpy(k->out.get() + k->out_wr, src, n);
  k->out_wr += n;
  if (n < len) k->want_writable = true;
  if (n) progress_from_app(*k);
  return n;
}

void TlsTerminator::notify_when_writable(ConnId c) {
  if (Conn* k = get(c)) {
    k->want_writable = true;
    again_.push_back(c);
  }
}

void TlsTerminator::shutdown_write(ConnId c) {
  if (Conn* k = get(c)) {
    k->want_shutdown = true;
    progress_from_app(*k);
  }
}

void TlsTerminator::abort(ConnId c) {
  if (Conn* k = get(c)) {
    k->app_aborted = true;
    tcp_->abort(c);  // on_closed runs now and releases (or defers to drive's end)
  }
}

void TlsTerminator::on_fd_ready(int fd, uint32_t) {
  if (draining_.count(fd)) {
    resume_drained(fd);
    return;
  }
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return;
  if (Conn* k = get(it->second)) drive(*k);
}

std::string TlsTerminator::describe_open() const {
  std::string out;
  for (const auto& p : conns_) {
    const Conn* k = p.get();
    if (!k) continue;
    out += "conn " + std::to_string(k->id.slot) + ": hs_done=" + std::to_string(k->hs_done) +
           " opened=" + std::to_string(k->opened) + " failed=" + std::to_string(k->failed) +
           " paused=" + std::to_string(int(k->paused)) + " tcp_fin=" + std::to_string(k->tcp_fin) +
           " close_notify_in=" + std::to_string(k->close_notify_in) +
           " peer_close_told=" + std::to_string(k->peer_close_told) +
           " want_shutdown=" + std::to_string(k->want_shutdown) + " shutdown_sent=" + std::to_string(k->shutdown_sent) +
           " want_writable=" + std::to_string(k->want_writable) + " in=" + std::to_string(k->in_wr - k->in_rd) +
           " out=" + std::to_string(k->out_wr - k->out_rd) + " rbio=" + std::to_string(BIO_pending(k->rbio)) +
           " wbio=" + std::to_string(BIO_pending(k->wbio)) + " tcp_readable=" +
           std::to_string(tcp_ ? tcp_->readable(k->id) : 0) + "\n";
  }
  return out;
}

void TlsTerminator::poll(uint64_t now_us) {
  now_us_ = now_us;
  if (!again_.empty()) {
    driving_.swap(again_);  // drive() may queue more: those wait for the next poll
    for (ConnId c : driving_)
      if (Conn* k = get(c)) drive(*k);
    driving_.clear();
  }
  if (now_us >= next_timeout_scan_us_) {
    next_timeout_scan_us_ = now_us + 100'000;
    for (auto& p : conns_) {
      Conn* k = p.get();
      if (!k || k->dead || k->failed) continue;
      if (!k->hs_done && now_us > k->deadline_us) {
        fail_handshake(*k, HandshakeFailure::kHandshakeTimeout);
      } else if (k->hs_done && cfg_.progress_timeout_us && now_us > k->progress_us + cfg_.progress_timeout_us) {
        stats_.progress_timeouts.add();
        tcp_->abort(k->id);  // RST to the client; on_closed releases it and the backend hears
      }
    }
  }
}

}  // namespace gputls::tls
