#include "port/lcore_worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <sys/random.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "net/impairment.h"
#include "loop/fd_poller.h"
#include "net/net_stack.h"
#include "net/port_mux.h"
#include "proxy/proxy_app.h"
#include "tls/tls_terminator.h"
#include "services/service_mux.h"

namespace gputls::appliance {

namespace {

constexpr uint16_t kBurst = 32;

// Converts the TSC to microseconds without overflow for years of uptime, as
// tsc * (2^64 * 10^6 / hz) / 2^64: one multiply per loop iteration where a
// 128-bit division (__udivti3) had taken a few per cent of a polling core.
// The factor fits 64 bits for any TSC above 1 MHz; its rounding is under one
// part in 10^15.
struct Clock {
  static constexpr unsigned __int128 kTwo64 = (unsigned __int128)1 << 64;
  uint64_t hz = std::max<uint64_t>(rte_get_tsc_hz(), 1'000'001);
  uint64_t mult = uint64_t(kTwo64 * 1'000'000 / hz);
  uint64_t us_of(uint64_t tsc) const { return uint64_t(((unsigned __int128)tsc * mult) >> 64); }
  uint64_t now_us() const { return us_of(rte_rdtsc()); }
};

// FrameSink over mbufs: frames are built in place and sent in bursts, through
// the tx impairment when it is on.
class MbufTx : public net::FrameSink {
 public:
  MbufTx(uint16_t port, uint16_t queue, rte_mempool* pool, net::CoreStats& stats, const net::ImpairConfig& impair)
      : port_(port), queue_(queue), pool_(pool), stats_(stats), impair_(impair), impairing_(impair.active()) {}

  uint8_t* begin_frame(size_t max_len) override {
    if (n_ == kBurst) flush_now();  // a full burst mid-processing: send it, its cost out of the stack's
    cur_ = rte_pktmbuf_alloc(pool_);
    if (!cur_) return nullptr;
    if (max_len > rte_pktmbuf_tailroom(cur_)) {
      rte_pktmbuf_free(cur_);
      cur_ = nullptr;
      return nullptr;
    }
    return rte_pktmbuf_mtod(cur_, uint8_t*);
  }
  void commit_frame(size_t len) override {
    cur_->data_len = uint16_t(len);
    cur_->pkt_len = uint32_t(len);
    if (!impairing_) {
      out_[n_++] = cur_;
    } else {
      impair_.push(cur_, now_, [&](rte_mbuf* m) { enqueue(m); },
                   [&](rte_mbuf* m) { rte_pktmbuf_free(m); stats_.drop(net::Drop::kImpairDrop); },
                   [&](rte_mbuf* m) { rte_mbuf_refcnt_update(m, 1); return m; });
    }
    cur_ = nullptr;
  }
  void set_now(uint64_t now_us) { now_ = now_us; }
  // Sends what is queued now, its cost counted as the driver's (as a full
  // burst sent from begin_frame is).
  void flush_now() {
    uint64_t t = rte_rdtsc();
    flush(now_);
    driver_cycles_ += rte_rdtsc() - t;
  }
  // TSC cycles spent in tx bursts sent from inside begin_frame since the last call.
  uint64_t take_driver_cycles() { uint64_t c = driver_cycles_; driver_cycles_ = 0; return c; }
  // Sends what is queued (and impaired packets whose delay is over).
  uint16_t flush(uint64_t now_us, bool all = false) {
    if (impairing_) impair_.release(now_us, [&](rte_mbuf* m) { enqueue(m); }, all);
    return flush_queued();
  }

 private:
  void enqueue(rte_mbuf* m) {
    if (n_ == kBurst) flush_queued();
    out_[n_++] = m;
  }
  uint16_t flush_queued() {
    if (n_ == 0) return 0;
    uint16_t sent = rte_eth_tx_burst(port_, queue_, out_, n_);
    // Ring full: drop the rest (TCP retransmits) rather than stall the loop.
    for (uint16_t i = sent; i < n_; ++i) rte_pktmbuf_free(out_[i]);
    if (sent < n_) stats_.drops[size_t(net::Drop::kTxNoBuffer)].add(n_ - sent);
    n_ = 0;
    return sent;
  }
  uint16_t port_, queue_;
  rte_mempool* pool_;
  net::CoreStats& stats_;
  net::Impairer<rte_mbuf*> impair_;
  bool impairing_;
  rte_mbuf* cur_ = nullptr;
  rte_mbuf* out_[kBurst];
  uint16_t n_ = 0;
  uint64_t now_ = 0;
  uint64_t driver_cycles_ = 0;
};

net::SipKey random_key() {
  net::SipKey k;
  if (getrandom(&k, sizeof k, 0) != sizeof k) {
    // getrandom cannot fail for 16 bytes after boot; fall back to the TSC
    // rather than refusing to start.
    k.k0 = rte_rdtsc();
    k.k1 = rte_rdtsc() * 0x9e3779b97f4a7c15ULL;
  }
  return k;
}

void input_mbuf(net::NetStack& stack, rte_mbuf* m, uint64_t now_us) {
  if (m->nb_segs == 1) {
    stack.input(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m), now_us);
    return;
  }
  uint8_t buf[9216];  // chained mbufs (jumbo frames): linearize
  uint32_t len = std::min<uint32_t>(rte_pktmbuf_pkt_len(m), sizeof buf);
  const void* p = rte_pktmbuf_read(m, 0, len, buf);
  if (p) stack.input(static_cast<const uint8_t*>(p), len, now_us);
}

}  // namespace

int run_worker(void* arg) {
  auto& a = *static_cast<WorkerArgs*>(arg);
  const ApplianceConfig& cfg = *a.cfg;
  net::CoreStats& stats = *a.stats;
  Clock clock;

  net::StackConfig sc;
  sc.mac = a.mac;
  sc.ip = cfg.ip_host;
  sc.tcp = cfg.tcp;
  // With TLS a connection also holds the terminator's and the proxy's (two
  // buffers) bytes, charged to the same limit; the default limit leaves room
  // for --max-connections of them.
  const uint64_t proxy_bytes_per_connection = 2 * uint64_t(cfg.proxy_buffer_bytes);
  if (a.tls && sc.tcp.mem_limit_bytes == 0)
    sc.tcp.mem_limit_bytes = uint64_t(sc.tcp.max_connections) *
                             (uint64_t(sc.tcp.rcv_buf) + sc.tcp.snd_buf + tls::TlsTerminator::kConnBytes +
                              proxy_bytes_per_connection);
  sc.secret = random_key();
  net::ImpairConfig irx = cfg.impair_rx, itx = cfg.impair_tx;
  irx.seed += 2 * a.queue;
  itx.seed += 2 * a.queue;
  MbufTx tx(a.port_id, a.queue, a.pool, stats, itx);
  services::ServiceMux mux(cfg.services, *a.pattern, cfg.tcp.max_connections);
  // TLS termination: terminator (TcpApp) -> proxy (PlainApp) -> backend
  // sockets; async job fds and backend sockets share the lcore's poller.
  net::PortMux ports(mux);
  std::unique_ptr<loop::FdPoller> poller;
  std::unique_ptr<proxy::ProxyApp> proxy;
  std::unique_ptr<tls::TlsTerminator> terminator;
  if (a.tls) {
    poller = std::make_unique<loop::FdPoller>();
    proxy::ProxyConfig pc;
    pc.backend = cfg.backend_addr;
    pc.buffer_bytes = cfg.proxy_buffer_bytes;
    pc.connect_timeout_ms = cfg.backend_connect_timeout_ms;
    pc.max_connections = cfg.tcp.max_connections;
    proxy = std::make_unique<proxy::ProxyApp>(pc, *poller, *a.proxy_stats);
    tls::TerminatorConfig tc;
    tc.handshake_timeout_us = uint64_t(cfg.handshake_timeout_ms) * 1000;
    tc.progress_timeout_us = uint64_t(cfg.progress_timeout_s) * 1'000'000;
    tc.app_bytes_per_connection = proxy_bytes_per_connection;
    terminator = std::make_unique<tls::TlsTerminator>(*a.tls, *proxy, *poller, *a.tls_stats, tc);
    ports.route(cfg.tls_port, *terminator);
  }
  auto stack = std::make_unique<net::NetStack>(sc, tx, stats, ports);
  stack->tcp().listen(cfg.services.echo);
  stack->tcp().listen(cfg.services.download);
  if (a.tls) stack->tcp().listen(cfg.tls_port);
  net::Impairer<rte_mbuf*> rx_impair(irx);
  bool rx_impairing = irx.active();

  RTE_LOG(INFO, USER1, "lcore %u: queue %u serving tcp/%u (echo) tcp/%u (download)\n", a.lcore, a.queue,
          cfg.services.echo, cfg.services.download);
  rte_mbuf* pkts[kBurst];
  const uint64_t long_packet_cycles = clock.hz / 20'000;  // 50 us
  uint64_t loop_start = rte_rdtsc();
  while (!a.quit->load(std::memory_order_relaxed)) {
    // The previous iteration's last TSC read is this one's clock: a polling
    // loop reads the TSC three times an iteration, not four (about 13 ns each
    // on the build VM).
    uint64_t now = clock.us_of(loop_start);
    tx.set_now(now);
    uint16_t n = rte_eth_rx_burst(a.port_id, a.queue, pkts, kBurst);
    uint64_t t0 = rte_rdtsc();
    tx.take_driver_cycles();
    // With TLS, one packet can take milliseconds (a ClientHello's private-key
    // operation runs inline): what the burst produced so far (SYN-ACKs, other
    // connections' server flights) is sent once a packet took longer than
    // long_packet_cycles (50 us), not after the whole burst. Otherwise every client
    // in the burst waits for every other's signature, and with few clients
    // in flight all of them end up waiting on the server at once (its core
    // idles between bursts).
    uint64_t last_sent = t0;
    auto process = [&](rte_mbuf* m) {
      input_mbuf(*stack, m, now);
      rte_pktmbuf_free(m);
      if (terminator) {
        const uint64_t t = rte_rdtsc();
        if (t - last_sent > long_packet_cycles) {
          stack->poll(now);
          tx.flush_now();
          last_sent = rte_rdtsc();
        }
      }
    };
    if (rx_impairing) {
      rx_impair.release(now, process);
      for (uint16_t i = 0; i < n; ++i)
        rx_impair.push(pkts[i], now, process,
                       [&](rte_mbuf* m) { rte_pktmbuf_free(m); stats.drop(net::Drop::kImpairDrop); },
                       [&](rte_mbuf* m) { rte_mbuf_refcnt_update(m, 1); return m; });
    } else {
      for (uint16_t i = 0; i < n; ++i) process(pkts[i]);
    }
    if (terminator) {
      // Engine completions and backend sockets first, so what they produce
      // leaves in this iteration's tx burst.
      terminator->poll(now);
      poller->poll();
      proxy->poll(now);
    }
    stack->poll(now);
    uint64_t t1 = rte_rdtsc();
    uint16_t sent = tx.flush(now);
    const uint64_t loop_end = rte_rdtsc();
    stats.loop_iterations.add();
    stats.loop_cycles.add(loop_end - loop_start);
    if (n || sent) {
      stats.stack_cycles.add(t1 - t0 - tx.take_driver_cycles());
      stats.proc_cycles.add(loop_end - t0);
      stats.proc_packets.add(uint64_t(n) + sent);
      stats.busy_iterations.add();
      stats.busy_cycles.add(loop_end - loop_start);
    }
    loop_start = loop_end;
  }
  // Connections still open are dropped with the stack; the terminator and
  // proxy free their SSLs and sockets first (order of destruction: the stack
  // holds references to them).
  RTE_LOG(INFO, USER1, "lcore %u: stopped (%zu connections open)\n", a.lcore, stack->tcp().connections());
  if (terminator && terminator->connections() > 0)
    RTE_LOG(INFO, USER1, "lcore %u: TLS connections open at stop:\n%s", a.lcore, terminator->describe_open().c_str());
  stack.reset();
  terminator.reset();
  proxy.reset();
  rx_impair.release(0, [&](rte_mbuf* m) { rte_pktmbuf_free(m); }, true);
  tx.flush(clock.now_us(), true);

  return 0;
}

}  // namespace gputls::appliance
