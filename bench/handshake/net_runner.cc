// The network load: clients only, on non-blocking sockets, many per thread,
// driven by epoll (edge-triggered: a connection is stepped until OpenSSL
// reports it would block), against a server in another process or machine.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include "client_tally.h"
#include "cpu_clock.h"
#include "client_lib.h"
#include "lib_ctx.h"
#include "load_loop.h"
#include "runner.h"
#include "tls_client.h"

namespace gputls::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kConnTimeoutS = 10;  // one connection's whole life, connect to last byte

struct Target {
  std::string host, port;
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  bool host_is_ip = false;
};

bool resolve(const std::string& connect, Target* t, std::string* error) {
  const size_t colon = connect.rfind(':');
  if (colon == std::string::npos || colon + 1 == connect.size()) {
    *error = "--connect wants host:port, got \"" + connect + "\"";
    return false;
  }
  t->host = connect.substr(0, colon);
  t->port = connect.substr(colon + 1);
  if (t->host.size() > 2 && t->host.front() == '[' && t->host.back() == ']') t->host = t->host.substr(1, t->host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(t->host.c_str(), t->port.c_str(), &hints, &res); rc != 0 || !res) {
    *error = "cannot resolve " + connect + ": " + gai_strerror(rc);
    return false;
  }
  std::memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
  t->addr_len = res->ai_addrlen;
  freeaddrinfo(res);
  in6_addr probe;
  t->host_is_ip = inet_pton(AF_INET, t->host.c_str(), &probe) == 1 || inet_pton(AF_INET6, t->host.c_str(), &probe) == 1;
  return true;
}

struct NetConn {
  NetConn(const RunConfig& cfg, const std::string& host) : exchange(cfg, host) {}
  int fd = -1;
  SSL* ssl = nullptr;
  enum class State { kConnecting, kHandshake, kExchange } state = State::kConnecting;
  Clock::time_point started;
  ClientExchange exchange;
};

struct NetWorker : ClientTally {
  SSL_CTX* ctx;
  const Target* target;
  int slots = 0;
  int ep = -1;
  int stuck[3] = {0, 0, 0};  // connections in flight at the end, by state

  std::string where() const { return st->cfg.connect; }

  bool open(NetConn& c) {
    c.started = Clock::now();
    c.state = NetConn::State::kConnecting;
    c.exchange.reset();
    const int rc = as_client([&] {
      c.fd = socket(target->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (c.fd < 0) return errno;
      int one = 1;
      setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (connect(c.fd, reinterpret_cast<const sockaddr*>(&target->addr), target->addr_len) != 0 &&
          errno != EINPROGRESS)
        return errno;
      return 0;
    });
    if (rc != 0) {
      st->fail("connect to " + where() + ": " + std::strerror(rc) +
               (rc == EADDRNOTAVAIL ? " (out of local ports: lower --concurrency or wait for TIME_WAIT)" : ""));
      return false;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP;
    ev.data.ptr = &c;
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    return true;
  }

  void close_conn(NetConn& c) {
    as_client([&] {
      if (c.ssl) {
        SSL_shutdown(c.ssl);  // one close_notify, never waited for
        SSL_free(c.ssl);
      }
      if (c.fd >= 0) ::close(c.fd);  // also leaves the epoll set
      return 0;
    });
    c.ssl = nullptr;
    c.fd = -1;
  }

  bool start_tls(NetConn& c) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return st->fail("connect to " + where() + ": " + std::strerror(err)), false;
    c.ssl = as_client([&] {
      SSL* s = SSL_new(ctx);
      if (!s) return s;
      SSL_set_fd(s, c.fd);
      const RunConfig& cfg = st->cfg;
      const std::string& name = cfg.servername.empty() ? target->host : cfg.servername;
      if (!cfg.servername.empty() || !target->host_is_ip) {
        SSL_set_tlsext_host_name(s, name.c_str());
        SSL_set1_host(s, name.c_str());
      } else {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), target->host.c_str());
      }
      SSL_set_connect_state(s);
      sessions->prepare(s);
      return s;
    });
    if (!c.ssl) return st->fail(ssl_error("SSL_new")), false;
    c.state = NetConn::State::kHandshake;
    return true;
  }

  // Drives one connection as far as it goes; true when it completed.
  bool advance(NetConn& c) {
    if (c.state == NetConn::State::kConnecting) {
      if (!start_tls(c)) return false;
    }
    if (c.state == NetConn::State::kHandshake) {
      const int r = as_client([&] { return SSL_do_handshake(c.ssl); });
      if (r != 1) {
        const int e = SSL_get_error(c.ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return false;
        std::string why = ssl_error("handshake");
        const long v = SSL_get_verify_result(c.ssl);
        if (v != X509_V_OK) why += std::string(" (") + X509_verify_cert_error_string(v) + ": is --ca the CA that signed the server's certificate, and --servername its name?)";
        else if (e == SSL_ERROR_SYSCALL) why += std::string(" (") + (errno ? std::strerror(errno) : "the server closed the connection") + ")";
        st->fail("with " + where() + ": " + why);
        return false;
      }
      const std::string bad = check_peer_verified(c.ssl);
      if (!bad.empty()) return st->fail(bad), false;
      c.state = NetConn::State::kExchange;
    }
    std::string err;
    const auto s = as_client([&] { return c.exchange.step(c.ssl, &err); });
    if (s == ClientExchange::Step::kError) return st->fail("with " + where() + ": " + err), false;
    return s == ClientExchange::Step::kDone;
  }

  void finish(NetConn& c) { completed(c.ssl, c.exchange, c.started); }

  void run() {
    const double t0 = thread_cpu_s();
    sessions = std::make_unique<SessionReuse>(st->cfg.resume_ratio);
    ep = epoll_create1(EPOLL_CLOEXEC);
    std::vector<std::unique_ptr<NetConn>> conns;
    for (int i = 0; i < slots && !st->stopping(); ++i) {
      conns.push_back(std::make_unique<NetConn>(st->cfg, st->cfg.servername.empty() ? target->host : st->cfg.servername));
      if (!open(*conns.back())) break;
    }
    std::vector<epoll_event> events(static_cast<size_t>(std::max(slots, 1)));
    auto last_scan = Clock::now();
    while (!st->stopping()) {
      const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 50);
      for (int i = 0; i < n && !st->stopping(); ++i) {
        auto& c = *static_cast<NetConn*>(events[static_cast<size_t>(i)].data.ptr);
        if (c.fd < 0) continue;
        if (advance(c)) {
          finish(c);
          close_conn(c);
          if (!st->stopping()) open(c);  // none after the count: a server with -naccept sees exactly it
        }
      }
      // A server that never answers fails the run instead of hanging it.
      const auto now = Clock::now();
      if (now - last_scan > std::chrono::milliseconds(200)) {
        last_scan = now;
        for (auto& c : conns)
          if (c->fd >= 0 && std::chrono::duration<double>(now - c->started).count() > kConnTimeoutS) {
            st->fail("no complete handshake and exchange with " + where() + " within " +
                     std::to_string(static_cast<int>(kConnTimeoutS)) + " s (server down, overloaded, or not speaking --app " +
                     st->cfg.app + "?)");
            break;
          }
      }
    }
    for (auto& c : conns) {
      if (c->fd >= 0) ++stuck[static_cast<int>(c->state)];
      close_conn(*c);
    }
    ::close(ep);
    thread_cpu = thread_cpu_s() - t0;
  }
};

// One measured load.
bool measure(const RunConfig& cfg, SSL_CTX* ctx, const Target& target, RunResult* out, std::string* error) {
  bool ok = true;
  double server0 = 0;
  if (!cfg.server_pids.empty() && !pids_cpu_s(cfg.server_pids, &server0, error)) return false;
  {
    LoadState st(cfg);
    std::vector<NetWorker> workers(static_cast<size_t>(cfg.threads));
    for (size_t i = 0; i < workers.size(); ++i) {
      workers[i].st = &st;
      workers[i].ctx = ctx;
      workers[i].target = &target;
      workers[i].slots = cfg.concurrency / cfg.threads + (static_cast<int>(i) < cfg.concurrency % cfg.threads);
    }
    const LoadTimes t = drive_load(st, [&workers](int i) { workers[static_cast<size_t>(i)].run(); });
    out->wall_s = t.wall_s;
    out->process_cpu_s = t.process_cpu_s;
    out->harness_cpu_s = t.driver_cpu_s;
    out->handshakes = st.done.load();
    for (auto& w : workers) {
      w.add_to(out);
    }
    int stuck[3] = {0, 0, 0};
    for (auto& w : workers)
      for (int s = 0; s < 3; ++s) stuck[s] += w.stuck[s];
    double server1 = 0;
    std::string perr;
    if (!cfg.server_pids.empty() && pids_cpu_s(cfg.server_pids, &server1, &perr)) {
      out->server_cpu_known = true;
      out->server_cpu_s = server1 - server0;
    }
    if (!st.error().empty()) {
      *error = st.error();
      ok = false;
    } else if (out->handshakes == 0) {
      *error = "no handshake and exchange completed with " + cfg.connect + " in " + std::to_string(t.wall_s).substr(0, 4) +
               " s; connections left connecting " + std::to_string(stuck[0]) + ", in the handshake " +
               std::to_string(stuck[1]) + ", in the --app " + cfg.app + " exchange " + std::to_string(stuck[2]) +
               (stuck[2] ? " (does the server speak --app " + cfg.app + "?)" : "");
      ok = false;
    }
  }
  return ok;
}

}  // namespace

bool run_network(const RunConfig& cfg, RunResult* out, std::string* error) {
  if (cfg.tls != 12 && cfg.tls != 13) return *error = "--tls must be 1.2 or 1.3", false;
  if (cfg.concurrency < 1 || cfg.threads < 1 || cfg.threads > cfg.concurrency)
    return *error = "need 1 <= --threads <= --concurrency", false;
  if (cfg.ca_file.empty())
    return *error = "--connect needs --ca FILE: the CA (PEM) that signed the server's certificate", false;
  if (cfg.mtls && (cfg.client_cert.empty() || cfg.client_key.empty()))
    return *error = "--mtls with --connect needs --client-cert FILE and --client-key FILE (PEM)", false;
  if (cfg.app != "echo" && cfg.app != "http") return *error = "--app must be echo or http", false;
  Target target;
  if (!resolve(cfg.connect, &target, error)) return false;

  LibCtx own;
  OSSL_LIB_CTX* lib = nullptr;
  const char* propq = nullptr;
  if (!client_libctx(cfg, &own, &lib, &propq, error)) return false;
  SSL_CTX* ctx = make_client_ctx(cfg, lib, propq, error);
  bool ok = ctx != nullptr;
  if (ok && SSL_CTX_load_verify_locations(ctx, cfg.ca_file.c_str(), nullptr) != 1) {
    *error = "cannot load --ca " + cfg.ca_file + " (" + ssl_error("CA") + ")";
    ok = false;
  }
  if (ok && cfg.mtls &&
      (SSL_CTX_use_certificate_chain_file(ctx, cfg.client_cert.c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(ctx, cfg.client_key.c_str(), SSL_FILETYPE_PEM) != 1 ||
       SSL_CTX_check_private_key(ctx) != 1)) {
    *error = "cannot use --client-cert/--client-key (" + ssl_error("client certificate") + ")";
    ok = false;
  }
  if (ok) {
    RunResult warm;  // a few connections first, not measured
    ok = measure(warmup_config(cfg), ctx, target, &warm, error) && measure(cfg, ctx, target, out, error);
  }
  SSL_CTX_free(ctx);
  return ok;
}

}  // namespace gputls::bench
