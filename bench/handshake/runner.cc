// The in-process load: client/server pairs over memory BIO pairs.
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <poll.h>

#include <chrono>
#include <cstdlib>
#include <memory>

#include "client_lib.h"
#include "client_tally.h"
#include "cpu_clock.h"
#include "identity.h"
#include "lib_ctx.h"
#include "load_loop.h"
#include "runner.h"
#include "tls_client.h"

namespace gputls::bench {
namespace {

using Clock = std::chrono::steady_clock;

// One connection in flight: both ends.
struct Conn {
  Conn(const RunConfig& cfg) : exchange(cfg, "gputls.test") {}
  SSL* client = nullptr;
  SSL* server = nullptr;
  Clock::time_point started;
  bool client_ready = false, server_ready = false;  // handshake done (and verified) on each side
  std::string echo;                                  // server: read, not yet written back
  bool waiting_async = false;  // the server's job paused on the engine
  bool async_ready = false;    // ... and its wait fd is readable
  ClientExchange exchange;
};

struct Worker : ClientTally {
  SSL_CTX* server_ctx;
  SSL_CTX* client_ctx;
  int slots = 0;
  uint64_t async_waits = 0;
  uint64_t blocking_polls = 0;
  bool busy_poll = false;
  double server_cpu = 0;
  char buf[16384];

  // Server calls are timed on this thread's CPU clock like the clients'
  // (ClientTally): the rest of this thread's time is the harness's own.
  // server_side() stays a call of its own so that a profiler can isolate the
  // server's work: valgrind --tool=callgrind --toggle-collect='*server_side*'
  template <class F>
  [[gnu::noinline]] static auto server_side(F& f) { return f(); }

  template <class F>
  auto as_server(F f) {
    const double t0 = thread_cpu_s();
    auto r = server_side(f);
    server_cpu += thread_cpu_s() - t0;
    return r;
  }

  void open(Conn& c) {
    c.server = as_server([&] { return SSL_new(server_ctx); });
    c.client = as_client([&] {
      SSL* s = SSL_new(client_ctx);
      SSL_set_tlsext_host_name(s, "gputls.test");
      SSL_set1_host(s, "gputls.test");
      sessions->prepare(s);
      return s;
    });
    BIO *cb = nullptr, *sb = nullptr;
    BIO_new_bio_pair(&cb, 0, &sb, 0);
    SSL_set_bio(c.client, cb, cb);
    SSL_set_bio(c.server, sb, sb);
    SSL_set_connect_state(c.client);
    SSL_set_accept_state(c.server);
    c.client_ready = c.server_ready = false;
    c.echo.clear();
    c.exchange.reset();
    c.started = Clock::now();
  }

  // close_notify both ways, as real peers do: an SSL freed without it has
  // its session marked not resumable.
  void close(Conn& c) {
    as_client([&] { return SSL_shutdown(c.client); });
    as_server([&] {
      SSL_shutdown(c.server);
      SSL_free(c.server);
      return 0;
    });
    as_client([&] {
      SSL_free(c.client);
      return 0;
    });
    c.server = c.client = nullptr;
  }

  // false (and the run fails) unless `r` is a retry the caller may wait for.
  bool retry(SSL* ssl, int r, bool server, Conn& c) {
    const int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
    if (e == SSL_ERROR_WANT_ASYNC && server) {
      c.waiting_async = true;
      ++async_waits;
      return true;
    }
    st->fail(ssl_error(server ? "server" : "client"));
    return false;
  }

  // The server echoes what it reads.
  bool server_echo(Conn& c) {
    for (;;) {
      if (!c.echo.empty()) {
        const int w = SSL_write(c.server, c.echo.data(), static_cast<int>(c.echo.size()));
        if (w <= 0) return retry(c.server, w, true, c);
        c.echo.erase(0, static_cast<size_t>(w));
        continue;
      }
      const int r = SSL_read(c.server, buf, sizeof buf);
      if (r <= 0) return retry(c.server, r, true, c);
      c.echo.assign(buf, static_cast<size_t>(r));
    }
  }

  // Advances one connection; true when it completed: both handshakes done,
  // the client verified the server (and with mTLS the server the client),
  // the data went there and back.
  bool step(Conn& c) {
    c.waiting_async = false;
    if (!c.client_ready) {
      const int r = as_client([&] { return SSL_do_handshake(c.client); });
      if (r == 1) {
        const std::string bad = check_peer_verified(c.client);
        if (!bad.empty()) return st->fail(bad), false;
        c.client_ready = true;
      } else if (!retry(c.client, r, false, c)) {
        return false;
      }
    }
    if (!c.server_ready) {
      const int r = as_server([&] { return SSL_do_handshake(c.server); });
      if (r == 1) {
        if (st->cfg.mtls && (!SSL_get0_peer_certificate(c.server) || SSL_get_verify_result(c.server) != X509_V_OK))
          return st->fail("mTLS: the server did not verify the client's certificate"), false;
        c.server_ready = true;
      } else if (!retry(c.server, r, true, c)) {
        return false;
      }
    }
    if (!c.client_ready) return false;
    std::string err;
    for (int round = 0; round < 2; ++round) {  // write, then read what the server echoed
      const auto s = as_client([&] { return c.exchange.step(c.client, &err); });
      if (s == ClientExchange::Step::kError) return st->fail(err), false;
      if (s == ClientExchange::Step::kDone) return c.server_ready;
      if (c.server_ready && !as_server([&] { return server_echo(c); })) return false;
    }
    return false;
  }

  void finish(Conn& c) { completed(c.client, c.exchange, c.started); }

  void run() {
    const double t0 = thread_cpu_s();
    sessions = std::make_unique<SessionReuse>(st->cfg.resume_ratio);
    std::vector<std::unique_ptr<Conn>> conns;
    for (int i = 0; i < slots; ++i) {
      conns.push_back(std::make_unique<Conn>(st->cfg));
      open(*conns.back());
    }
    while (!st->stopping()) {
      // As an event loop does: a connection whose job paused on the engine
      // is resumed only once its wait fd is readable. Resuming it before
      // would run the job only for it to pause again: server work that no
      // real server does.
      mark_ready(conns);
      for (auto& c : conns) {
        if (st->stopping()) break;
        if (c->waiting_async && !c->async_ready) continue;
        if (step(*c)) {
          finish(*c);
          close(*c);
          if (st->stopping()) break;
          open(*c);
        }
      }
    }
    for (auto& c : conns)
      if (c->client) close(*c);
    thread_cpu = thread_cpu_s() - t0;
  }

  // One poll over the wait fds of the connections whose jobs are paused:
  // without waiting while some connection can go on, up to 10 ms when every
  // one waits on the engine (never, with --busy-poll).
  void mark_ready(std::vector<std::unique_ptr<Conn>>& conns) {
    fds.clear();
    owners.clear();
    bool all_waiting = true;
    for (auto& c : conns) {
      c->async_ready = false;
      if (!c->waiting_async) {
        all_waiting = false;
        continue;
      }
      size_t n = 0;
      SSL_get_all_async_fds(c->server, nullptr, &n);
      afds.resize(n);
      SSL_get_all_async_fds(c->server, afds.data(), &n);
      if (n == 0) c->async_ready = true;  // nothing to wait on: try again
      for (size_t i = 0; i < n; ++i) {
        fds.push_back({afds[i], POLLIN, 0});
        owners.push_back(c.get());
      }
    }
    if (fds.empty()) return;
    // A first look without waiting; only when nothing is ready and every
    // connection waits does the loop sleep (and count it).
    int ready = poll(fds.data(), fds.size(), 0);
    if (ready == 0 && all_waiting && !busy_poll) {
      ++blocking_polls;
      ready = poll(fds.data(), fds.size(), 10);
    }
    if (ready <= 0) return;
    for (size_t i = 0; i < fds.size(); ++i)
      if (fds[i].revents) owners[i]->async_ready = true;
  }

  std::vector<pollfd> fds;
  std::vector<Conn*> owners;
  std::vector<OSSL_ASYNC_FD> afds;
};

// The server's library context: only the default provider, or gputls (with
// the requested policy) preferred over the default provider.
bool server_libctx(const RunConfig& cfg, LibCtx* lib, const char** propq, std::string* error) {
  *propq = nullptr;
  if (cfg.provider == "default") return lib->load("default");
  const std::string prefix = "gputls:";
  if (cfg.provider.rfind(prefix, 0) != 0) {
    *error = "unknown --provider \"" + cfg.provider + "\" (use default, gputls:cpu, gputls:gpu or gputls:auto)";
    return false;
  }
  const std::string policy = cfg.provider.substr(prefix.size());
  if (policy != "cpu" && policy != "gpu" && policy != "auto") {
    *error = "unknown gputls policy \"" + policy + "\" in --provider (use cpu, gpu or auto)";
    return false;
  }
  setenv("GPUTLS_POLICY", policy.c_str(), 1);  // read when the provider loads
  if (!cfg.modules.empty()) OSSL_PROVIDER_set_default_search_path(lib->get(), cfg.modules.c_str());
  if (!lib->load("gputls")) {
    *error = "gputls.so did not load (" + ssl_error("provider") + "); pass --modules DIR";
    return false;
  }
  *propq = "?provider=gputls";
  return lib->load("default");
}

nlohmann::json gputls_stats(OSSL_LIB_CTX* lib, std::string* device) {
  nlohmann::json j;
  OSSL_PROVIDER* p = OSSL_PROVIDER_load(lib, "gputls");  // takes a reference to the loaded one
  if (!p) return j;
  std::vector<char> stats(1 << 20), dev(4096);  // dev: the names of up to 16 GPUs
  OSSL_PARAM params[] = {OSSL_PARAM_utf8_string("gputls-stats", stats.data(), stats.size()),
                         OSSL_PARAM_utf8_string("gputls-device", dev.data(), dev.size()), OSSL_PARAM_END};
  if (OSSL_PROVIDER_get_params(p, params) == 1) {
    j = nlohmann::json::parse(stats.data(), nullptr, false);
    *device = dev.data();
  }
  OSSL_PROVIDER_unload(p);
  return j;
}

// The in-process server: certificate and key, version, group, ciphers;
// with mTLS it requires and verifies the client's certificate; with
// resumption it keeps a session cache and issues tickets.
SSL_CTX* make_server_ctx(const RunConfig& cfg, OSSL_LIB_CTX* lib, const char* propq, const Identity& id,
                         std::string* error) {
  SSL_CTX* s = SSL_CTX_new_ex(lib, propq, TLS_server_method());
  if (!s || SSL_CTX_use_certificate(s, id.cert) != 1 || SSL_CTX_use_PrivateKey(s, id.key) != 1) {
    *error = ssl_error("server certificate");
    SSL_CTX_free(s);
    return nullptr;
  }
  const int version = cfg.tls == 13 ? TLS1_3_VERSION : TLS1_2_VERSION;
  SSL_CTX_set_min_proto_version(s, version);
  SSL_CTX_set_max_proto_version(s, version);
  SSL_CTX_set_mode(s, SSL_MODE_ENABLE_PARTIAL_WRITE);
  SSL_CTX_set_dh_auto(s, 1);  // TLS 1.2 DHE ciphers
  if (cfg.resumption()) {
    SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_SERVER);
    static const unsigned char kSidCtx[] = "gputls-bench";
    SSL_CTX_set_session_id_context(s, kSidCtx, sizeof kSidCtx - 1);
  } else {
    SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);  // every handshake is a full one
    SSL_CTX_set_options(s, SSL_OP_NO_TICKET);
  }
  if (SSL_CTX_set1_groups_list(s, cfg.group.c_str()) != 1) {
    *error = "group \"" + cfg.group + "\" is not available on the server (" + ssl_error("groups") + ")";
    SSL_CTX_free(s);
    return nullptr;
  }
  if (cfg.mtls) {
    X509_STORE_add_cert(SSL_CTX_get_cert_store(s), id.ca);
    SSL_CTX_set_verify(s, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  if (cfg.async) SSL_CTX_set_mode(s, SSL_MODE_ASYNC);
  return s;
}

// One measured load on ready contexts.
bool measure(const RunConfig& cfg, SSL_CTX* sctx, SSL_CTX* cctx, RunResult* out, std::string* error) {
  bool ok = true;
  {
    LoadState st(cfg);
    std::vector<Worker> workers(static_cast<size_t>(cfg.threads));
    for (size_t i = 0; i < workers.size(); ++i) {
      workers[i].st = &st;
      workers[i].server_ctx = sctx;
      workers[i].client_ctx = cctx;
      workers[i].busy_poll = cfg.busy_poll;
      workers[i].slots = cfg.concurrency / cfg.threads + (static_cast<int>(i) < cfg.concurrency % cfg.threads);
    }
    const LoadTimes t = drive_load(st, [&workers](int i) { workers[static_cast<size_t>(i)].run(); });
    out->wall_s = t.wall_s;
    out->process_cpu_s = t.process_cpu_s;
    out->harness_cpu_s = t.driver_cpu_s;
    out->handshakes = st.done.load();
    for (auto& w : workers) {
      w.add_to(out, w.server_cpu);
      out->server_calls_cpu_s += w.server_cpu;
      out->async_waits += w.async_waits;
      out->blocking_polls += w.blocking_polls;
    }
    // The server: everything that is neither the clients nor the harness
    // (its SSL calls, and gputls's flusher and GPU threads).
    out->server_cpu_known = true;
    out->server_cpu_s = out->process_cpu_s - out->client_cpu_s - out->harness_cpu_s;
    if (!st.error().empty()) {
      *error = st.error();
      ok = false;
    } else if (out->handshakes == 0) {
      *error = "no handshake completed in " + std::to_string(t.wall_s).substr(0, 4) + " s";
      ok = false;
    }
  }
  return ok;
}

}  // namespace

bool run_handshakes(const RunConfig& cfg, RunResult* out, std::string* error) {
  if (cfg.tls != 12 && cfg.tls != 13) return *error = "--tls must be 1.2 or 1.3", false;
  if (cfg.concurrency < 1 || cfg.threads < 1 || cfg.threads > cfg.concurrency)
    return *error = "need 1 <= --threads <= --concurrency", false;
  if (gputls_only_group(cfg.group) && cfg.provider == "default")
    return *error = cfg.group + " is a gputls group (OpenSSL 3.0's default provider has no ML-KEM): run it with "
                                "--provider gputls:cpu or gputls:gpu",
           false;
  Identity id;
  if (!make_identity(cfg.cert, cfg.mtls, &id, error)) return false;
  LibCtx lib, own_client_lib;
  const char* propq = nullptr;
  if (!server_libctx(cfg, &lib, &propq, error)) {
    if (error->empty()) *error = ssl_error("loading providers");
    return false;
  }
  OSSL_LIB_CTX* client_lib = nullptr;
  const char* client_propq = nullptr;
  if (!client_libctx(cfg, &own_client_lib, &client_lib, &client_propq, error)) return false;
  SSL_CTX* sctx = make_server_ctx(cfg, lib.get(), propq, id, error);
  SSL_CTX* cctx = sctx ? make_client_ctx(cfg, client_lib, client_propq, error) : nullptr;
  bool ok = cctx != nullptr;
  if (ok) {
    X509_STORE_add_cert(SSL_CTX_get_cert_store(cctx), id.ca);
    if (cfg.mtls && (SSL_CTX_use_certificate(cctx, id.client_cert) != 1 ||
                     SSL_CTX_use_PrivateKey(cctx, id.client_key) != 1)) {
      *error = ssl_error("client certificate");
      ok = false;
    }
  }
  if (ok) {
    // A few handshakes first, not measured: the provider's engine, key
    // import and threads start there, not in the figures.
    RunResult warm;
    ok = measure(warmup_config(cfg), sctx, cctx, &warm, error) && measure(cfg, sctx, cctx, out, error);
    if (cfg.provider != "default") out->gputls_stats = gputls_stats(lib.get(), &out->device);
  }
  SSL_CTX_free(sctx);
  SSL_CTX_free(cctx);
  return ok;
}

}  // namespace gputls::bench
