#include "runner.h"

#include <openssl/err.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>

#include "identity.h"

namespace gputls::bench {
namespace {

using Clock = std::chrono::steady_clock;

double thread_cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double process_cpu_s() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

std::string ssl_error(const char* who) {
  char buf[256] = "no OpenSSL error";
  if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return std::string(who) + ": " + buf;
}

// One connection in flight.
struct Conn {
  SSL* client = nullptr;
  SSL* server = nullptr;
  Clock::time_point started;
  int stage = 0;  // 0 handshake, 1 client wrote, 2 server echoed, 3 done
  bool waiting_async = false;
  ~Conn() {
    SSL_free(client);
    SSL_free(server);
  }
};

struct Shared {
  const RunConfig* cfg = nullptr;
  SSL_CTX* server_ctx = nullptr;
  SSL_CTX* client_ctx = nullptr;
  std::atomic<uint64_t> done{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  std::string error;  // first failure, set once
  std::atomic<uint64_t> async_waits{0};
  void fail(const std::string& e) {
    bool expected = false;
    if (failed.compare_exchange_strong(expected, true)) error = e;
    stop = true;
  }
};

struct Worker {
  Shared* sh;
  int slots;
  std::vector<double> latency_ms;
  double client_cpu = 0;
  double harness_cpu = 0;

  // Client-side calls are timed so their CPU can be taken out of the server's.
  template <class F>
  auto as_client(F f) {
    const double t0 = thread_cpu_s();
    auto r = f();
    client_cpu += thread_cpu_s() - t0;
    return r;
  }

  std::unique_ptr<Conn> open() {
    const double t0 = thread_cpu_s();
    auto c = std::make_unique<Conn>();
    c->server = SSL_new(sh->server_ctx);
    c->client = SSL_new(sh->client_ctx);
    BIO *cb = nullptr, *sb = nullptr;
    BIO_new_bio_pair(&cb, 0, &sb, 0);
    SSL_set_bio(c->client, cb, cb);
    SSL_set_bio(c->server, sb, sb);
    SSL_set_connect_state(c->client);
    SSL_set_accept_state(c->server);
    SSL_set_tlsext_host_name(c->client, "gputls.test");
    SSL_set1_host(c->client, "gputls.test");
    c->started = Clock::now();
    harness_cpu += thread_cpu_s() - t0;
    return c;
  }

  // true: progress possible; false: failed (sh->fail called).
  bool ok_or_retry(SSL* ssl, int r, bool server, bool* waiting_async) {
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
    if (e == SSL_ERROR_WANT_ASYNC && server) {
      *waiting_async = true;
      sh->async_waits.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    sh->fail(ssl_error(server ? "server" : "client"));
    return false;
  }

  // Advances one connection; true when it completed (verified, record each way).
  bool step(Conn& c) {
    c.waiting_async = false;
    const int n = sh->cfg->app_bytes;
    std::vector<char> buf(static_cast<size_t>(n > 0 ? n : 1));
    if (c.stage == 0) {
      int rc = as_client([&] { return SSL_do_handshake(c.client); });
      if (rc != 1 && !ok_or_retry(c.client, rc, false, &c.waiting_async)) return false;
      int rs = SSL_do_handshake(c.server);
      if (rs != 1 && !ok_or_retry(c.server, rs, true, &c.waiting_async)) return false;
      if (rc == 1 && rs == 1) {
        if (SSL_get_verify_result(c.client) != X509_V_OK || !SSL_get0_peer_certificate(c.client)) {
          sh->fail("client could not verify the server's certificate");
          return false;
        }
        c.stage = 1;
        std::memset(buf.data(), 'q', buf.size());
        if (as_client([&] { return SSL_write(c.client, buf.data(), n); }) != n) {
          sh->fail(ssl_error("client write"));
          return false;
        }
      }
      return false;
    }
    if (c.stage == 1) {
      int r = SSL_read(c.server, buf.data(), n);
      if (r <= 0) {
        ok_or_retry(c.server, r, true, &c.waiting_async);
        return false;
      }
      if (SSL_write(c.server, buf.data(), r) != r) {
        sh->fail(ssl_error("server write"));
        return false;
      }
      c.stage = 2;
      return false;
    }
    int r = as_client([&] { return SSL_read(c.client, buf.data(), n); });
    if (r <= 0) {
      ok_or_retry(c.client, r, false, &c.waiting_async);
      return false;
    }
    if (r != n) sh->fail("echoed record has the wrong length");
    return r == n;
  }

  void run() {
    std::vector<std::unique_ptr<Conn>> conns;
    for (int i = 0; i < slots; ++i) conns.push_back(open());
    const RunConfig& cfg = *sh->cfg;
    while (!sh->stop.load(std::memory_order_relaxed)) {
      bool all_async = true;
      for (auto& c : conns) {
        if (sh->stop.load(std::memory_order_relaxed)) break;
        if (step(*c)) {
          latency_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - c->started).count());
          const uint64_t total = sh->done.fetch_add(1) + 1;
          if (cfg.count && total >= cfg.count) sh->stop = true;
          const double t0 = thread_cpu_s();
          c.reset();
          harness_cpu += thread_cpu_s() - t0;
          c = open();
        }
        all_async = all_async && c->waiting_async;
      }
      if (all_async && !conns.empty()) wait_async(conns);
    }
  }

  // Every connection waits on the engine: sleep on their wait fds.
  void wait_async(std::vector<std::unique_ptr<Conn>>& conns) {
    std::vector<pollfd> fds;
    for (auto& c : conns) {
      size_t n = 0;
      SSL_get_all_async_fds(c->server, nullptr, &n);
      std::vector<OSSL_ASYNC_FD> afds(n);
      SSL_get_all_async_fds(c->server, afds.data(), &n);
      for (OSSL_ASYNC_FD fd : afds) fds.push_back({fd, POLLIN, 0});
    }
    if (!fds.empty()) poll(fds.data(), fds.size(), 10);
  }
};

// The server's library context: only the default provider, or gputls (with
// the requested policy) preferred over the default provider.
bool server_libctx(const RunConfig& cfg, OSSL_LIB_CTX** lib, const char** propq, std::string* error) {
  *lib = OSSL_LIB_CTX_new();
  *propq = nullptr;
  if (cfg.provider == "default") return OSSL_PROVIDER_load(*lib, "default") != nullptr;
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
  if (!cfg.modules.empty()) OSSL_PROVIDER_set_default_search_path(*lib, cfg.modules.c_str());
  if (!OSSL_PROVIDER_load(*lib, "gputls")) {
    *error = "gputls.so did not load (" + ssl_error("provider") + "); pass --modules DIR";
    return false;
  }
  *propq = "?provider=gputls";
  return OSSL_PROVIDER_load(*lib, "default") != nullptr;
}

nlohmann::json gputls_stats(OSSL_LIB_CTX* lib, std::string* device) {
  nlohmann::json j;
  OSSL_PROVIDER* p = OSSL_PROVIDER_load(lib, "gputls");  // takes a reference to the loaded one
  if (!p) return j;
  std::vector<char> stats(1 << 20), dev(512);
  OSSL_PARAM params[] = {OSSL_PARAM_utf8_string("gputls-stats", stats.data(), stats.size()),
                         OSSL_PARAM_utf8_string("gputls-device", dev.data(), dev.size()), OSSL_PARAM_END};
  if (OSSL_PROVIDER_get_params(p, params) == 1) {
    j = nlohmann::json::parse(stats.data(), nullptr, false);
    *device = dev.data();
  }
  OSSL_PROVIDER_unload(p);
  return j;
}

}  // namespace

bool run_handshakes(const RunConfig& cfg, RunResult* out, std::string* error) {
  if (cfg.tls != 12 && cfg.tls != 13) {
    *error = "--tls must be 1.2 or 1.3";
    return false;
  }
  if (cfg.concurrency < 1 || cfg.threads < 1 || cfg.threads > cfg.concurrency) {
    *error = "need 1 <= --threads <= --concurrency";
    return false;
  }
  Identity id;
  if (!make_identity(cfg.cert, &id, error)) return false;
  OSSL_LIB_CTX* lib = nullptr;
  const char* propq = nullptr;
  if (!server_libctx(cfg, &lib, &propq, error)) {
    if (error->empty()) *error = ssl_error("loading providers");
    OSSL_LIB_CTX_free(lib);
    return false;
  }
  OSSL_LIB_CTX* client_lib = OSSL_LIB_CTX_new();
  OSSL_PROVIDER_load(client_lib, "default");
  const int version = cfg.tls == 13 ? TLS1_3_VERSION : TLS1_2_VERSION;
  SSL_CTX* sctx = SSL_CTX_new_ex(lib, propq, TLS_server_method());
  SSL_CTX* cctx = SSL_CTX_new_ex(client_lib, nullptr, TLS_client_method());
  bool ok = sctx && cctx && SSL_CTX_use_certificate(sctx, id.cert) == 1 && SSL_CTX_use_PrivateKey(sctx, id.key) == 1;
  for (SSL_CTX* c : {sctx, cctx}) {
    if (!ok) break;
    SSL_CTX_set_min_proto_version(c, version);
    SSL_CTX_set_max_proto_version(c, version);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);  // every handshake is a full one
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
    ok = SSL_CTX_set1_groups_list(c, cfg.group.c_str()) == 1;
    if (!ok) *error = "group \"" + cfg.group + "\" is not available (" + ssl_error("groups") + ")";
  }
  if (ok && cfg.tls == 12) {
    const bool ecdsa = cfg.cert.rfind("ecdsa", 0) == 0;
    const std::string list =
        !cfg.cipher.empty() ? cfg.cipher : ecdsa ? "ECDHE-ECDSA-AES128-GCM-SHA256" : "ECDHE-RSA-AES128-GCM-SHA256";
    ok = SSL_CTX_set_cipher_list(cctx, list.c_str()) == 1;
    if (!ok) *error = "cipher list \"" + list + "\" matches nothing";
  }
  if (ok) {
    X509_STORE_add_cert(SSL_CTX_get_cert_store(cctx), id.ca);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, nullptr);
    if (cfg.async) SSL_CTX_set_mode(sctx, SSL_MODE_ASYNC);
  } else if (error->empty()) {
    *error = ssl_error("TLS set-up");
  }

  if (ok) {
    Shared sh;
    sh.cfg = &cfg;
    sh.server_ctx = sctx;
    sh.client_ctx = cctx;
    std::vector<Worker> workers(static_cast<size_t>(cfg.threads));
    for (size_t i = 0; i < workers.size(); ++i) {
      workers[i].sh = &sh;
      workers[i].slots = cfg.concurrency / cfg.threads + (static_cast<int>(i) < cfg.concurrency % cfg.threads);
    }
    const double cpu0 = process_cpu_s();
    const auto t0 = Clock::now();
    std::vector<std::thread> threads;
    for (auto& w : workers) threads.emplace_back([&w] { w.run(); });
    const bool tty = cfg.progress && isatty(STDERR_FILENO);
    while (!sh.stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      const double el = std::chrono::duration<double>(Clock::now() - t0).count();
      if (!cfg.count && el >= cfg.duration_s) sh.stop = true;
      if (tty)
        std::fprintf(stderr, "\r%8.1fs  %10llu handshakes  %10.0f/s ", el,
                     static_cast<unsigned long long>(sh.done.load()), sh.done.load() / (el > 0 ? el : 1));
    }
    for (auto& t : threads) t.join();
    if (tty) std::fprintf(stderr, "\n");
    out->wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
    out->process_cpu_s = process_cpu_s() - cpu0;
    out->handshakes = sh.done.load();
    out->async_waits = sh.async_waits.load();
    for (auto& w : workers) {
      out->latency_ms.insert(out->latency_ms.end(), w.latency_ms.begin(), w.latency_ms.end());
      out->client_cpu_s += w.client_cpu;
      out->harness_cpu_s += w.harness_cpu;
    }
    if (sh.failed) {
      *error = sh.error;
      ok = false;
    } else if (out->handshakes == 0) {
      *error = "no handshake completed";
      ok = false;
    }
    if (cfg.provider != "default") out->gputls_stats = gputls_stats(lib, &out->device);
  }
  SSL_CTX_free(sctx);
  SSL_CTX_free(cctx);
  OSSL_LIB_CTX_free(client_lib);
  OSSL_LIB_CTX_free(lib);
  return ok;
}

}  // namespace gputls::bench
