// The appliance's per-packet protocol work alone: a NetStack with the
// download service, fed frames a kernel client would send, no DPDK and no
// kernel in the way (the appliance's own stats mix in af_packet's sendto,
// which on veth runs the namespace's receive path on the appliance's core).
// Rows (names: workload/flags):
//   conn_cycle/default     one connection after another on the default flags
//                          (8,192 TCBs, 4 s TIME_WAIT): SYN, ACK, "64\n",
//                          64 bytes and the server's FIN, the client's ACK
//                          and FIN; source ports cycle through 64,000, so a
//                          SYN often meets its port's TIME_WAIT TCB, and the
//                          full table recycles TIME_WAIT, as under load
//   conn_cycle/bench_flags the same with scripts/bench_appliance.sh's flags
//                          (65,536 TCBs, 4,096 half-open, 1 s TIME_WAIT),
//                          10 us of clock per connection (100 k conn/s)
//   download/default       one connection downloading: the client ACKs what
//                          each poll sent (the server's segments and its
//                          window updates, as the bulk benchmark sees)
// Counters: cycles_per_packet (TSC cycles inside NetStack::input and poll,
// per frame in or out: the figure the appliance's stack_cycles_per_packet
// reports), packets per iteration. Every row checks the bytes and the closes
// it expects and stops with an error otherwise. Frame building and parsing on
// the client side are outside the timed region; the sink the stack writes
// into is inside it, as the mbuf writes are in the appliance.
#include <benchmark/benchmark.h>
#include <x86intrin.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "../../dpdk_app/tests/sim_peer.h"
#include "net/tcp_parse.h"
#include "services/service_mux.h"

namespace gputls::bench {
namespace {

using namespace gputls::net;
using services::DownloadPattern;
using services::ServiceMux;
using services::ServicePorts;
using test::SegmentOptions;
using test::SimPeer;

constexpr uint16_t kDownloadPort = 9000;
constexpr uint8_t kFin = 0x01, kSyn = 0x02, kPsh = 0x08, kAck = 0x10;

// Frames go into reused buffers; the client decodes them after the stack's
// call returns (outside the timed region).
// Frames in and out inside measured(), over the whole run: callgrind's count
// for measured() divided by this is instructions per packet
// (valgrind --tool=callgrind --toggle-collect='*measured*').
uint64_t g_measured_packets = 0;

__attribute__((noipa)) void measured(NetStack& stack, const std::vector<uint8_t>& f, uint64_t now_us) {
  stack.input(f.data(), f.size(), now_us);
  stack.poll(now_us);
}

__attribute__((noipa)) void warm_up(NetStack& stack, const std::vector<uint8_t>& f, uint64_t now_us) {
  stack.input(f.data(), f.size(), now_us);
  stack.poll(now_us);
}

class BenchSink : public FrameSink {
 public:
  BenchSink() : bufs_(512) {}
  uint8_t* begin_frame(size_t max_len) override {
    if (max_len > kFrameMax) return nullptr;
    if (n_ == bufs_.size()) { ++overflow; return bufs_.back().data(); }
    return bufs_[n_].data();
  }
  void commit_frame(size_t len) override {
    if (n_ < bufs_.size()) lens_[n_++] = len;
    ++frames;
  }
  template <typename F> void drain(F&& f) {
    for (size_t i = 0; i < n_; ++i) f(bufs_[i].data(), lens_[i]);
    n_ = 0;
  }
  uint64_t frames = 0, overflow = 0;

 private:
  static constexpr size_t kFrameMax = 2048;
  std::vector<std::array<uint8_t, kFrameMax>> bufs_;
  std::array<size_t, 512> lens_{};
  size_t n_ = 0;
};

// What the client learns from the server's segments of one connection.
struct ServerView {
  uint32_t next = 0;  // sequence number after everything seen (SYN and FIN count one)
  uint64_t data = 0;
  bool syn = false, fin = false, rst = false;
};

class Bench {
 public:
  explicit Bench(const TcpConfig& tcp)
      : mux_(ServicePorts{7, kDownloadPort}, pattern_, tcp.max_connections),
        stack_(config(tcp), sink_, stats_, mux_) {
    stack_.tcp().listen(kDownloadPort);
  }

  // Delivers one client frame at now_us and polls; returns the TSC cycles
  // spent and adds the wall time to seconds. Untimed (warm-up) frames go
  // through warm_up instead, so callgrind can count the timed ones alone.
  uint64_t deliver(const std::vector<uint8_t>& f) {
    if (warming_up) {
      warm_up(stack_, f, now_us);
      ++rx_;
      return 0;
    }
    const uint64_t frames0 = sink_.frames;
    auto start = std::chrono::steady_clock::now();
    uint64_t t0 = __rdtsc();
    measured(stack_, f, now_us);
    uint64_t c = __rdtsc() - t0;
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ++rx_;
    g_measured_packets += 1 + (sink_.frames - frames0);
    return c;
  }
  // Decodes what the stack sent (only the segments to sport count).
  void observe(uint16_t sport, ServerView& v) {
    sink_.drain([&](const uint8_t* f, size_t len) {
      if (len < 54 || load16(f + 12) != kEtherTypeIpv4) return;
      const uint8_t* t = f + 14 + size_t(f[14] & 0xf) * 4;
      if (load16(t + 2) != sport) return;
      uint8_t flags = t[13];
      size_t payload = size_t(load16(f + 16)) - size_t(f[14] & 0xf) * 4 - size_t(t[12] >> 4) * 4;
      uint32_t end = load32(t + 4) + uint32_t(payload) + ((flags & kSyn) ? 1 : 0) + ((flags & kFin) ? 1 : 0);
      if (int32_t(end - v.next) > 0 || !v.syn) v.next = end;
      v.data += payload;
      v.syn |= (flags & kSyn) != 0;
      v.fin |= (flags & kFin) != 0;
      v.rst |= (flags & 0x04) != 0;
    });
  }
  uint64_t packets() const { return rx_ + sink_.frames; }
  uint64_t overflow() const { return sink_.overflow; }

  SimPeer frames;  // only its frame builders are used
  bool warming_up = false;
  uint64_t now_us = 1'000'000;
  double seconds = 0;

 private:
  static StackConfig config(const TcpConfig& tcp) {
    StackConfig c;
    c.mac = SimPeer::kServerMac;
    c.ip = SimPeer::kServerIp;
    c.tcp = tcp;
    c.secret = SipKey{0x1111, 0x2222};
    return c;
  }
  DownloadPattern pattern_;
  CoreStats stats_;
  BenchSink sink_;
  ServiceMux mux_;
  NetStack stack_;
  uint64_t rx_ = 0;
};

void report(benchmark::State& state, uint64_t cycles, uint64_t packets) {
  state.counters["cycles_per_packet"] = packets ? double(cycles) / double(packets) : 0.0;
  state.counters["packets_per_iteration"] = state.iterations() ? double(packets) / double(state.iterations()) : 0.0;
}

// One connection, as `appliance_tcp_load --mode conn --size 64` makes them:
// returns the stack's TSC cycles, or an error message.
struct CycleResult {
  uint64_t cycles = 0;
  const char* error = nullptr;
};

CycleResult one_connection(Bench& b, uint64_t i, uint64_t clock_step_us) {
  static const std::string request = "64\n";
  CycleResult r;
  const uint16_t sport = uint16_t(1024 + i % 64000);
  const uint32_t isn = uint32_t(i * 2654435761u);
  b.now_us += clock_step_us;
  ServerView v;
  r.cycles += b.deliver(b.frames.tcp_frame(sport, kDownloadPort, isn, 0, kSyn, "", 65535, SegmentOptions{1460, 7}));
  b.observe(sport, v);
  if (!v.syn) return {r.cycles, "no SYN-ACK"};
  r.cycles += b.deliver(b.frames.tcp_frame(sport, kDownloadPort, isn + 1, v.next, kAck));
  r.cycles += b.deliver(b.frames.tcp_frame(sport, kDownloadPort, isn + 1, v.next, kAck | kPsh, request));
  b.observe(sport, v);
  const uint32_t cseq = isn + 1 + uint32_t(request.size());
  r.cycles += b.deliver(b.frames.tcp_frame(sport, kDownloadPort, cseq, v.next, kAck));
  b.observe(sport, v);
  if (v.data != 64 || !v.fin) return {r.cycles, "download did not end with 64 bytes and a FIN"};
  r.cycles += b.deliver(b.frames.tcp_frame(sport, kDownloadPort, cseq, v.next, kAck | kFin));
  b.observe(sport, v);
  if (v.rst) return {r.cycles, "server reset the connection"};
  return r;
}

// One connection per iteration, after twice the table's worth untimed, so
// the table, TIME_WAIT and the timers are in their steady state.
void conn_cycle(benchmark::State& state, const TcpConfig& tcp, uint64_t clock_step_us) {
  Bench b(tcp);
  uint64_t i = 0;
  b.warming_up = true;
  for (; i < 2 * uint64_t(tcp.max_connections); ++i) {
    if (const char* e = one_connection(b, i, clock_step_us).error) {
      state.SkipWithError(e);
      return;
    }
  }
  b.warming_up = false;
  uint64_t cycles = 0;
  const uint64_t packets0 = b.packets();
  for (auto _ : state) {
    const double s0 = b.seconds;
    CycleResult r = one_connection(b, i++, clock_step_us);
    if (r.error) {
      state.SkipWithError(r.error);
      break;
    }
    cycles += r.cycles;
    state.SetIterationTime(b.seconds - s0);
  }
  if (b.overflow()) state.SkipWithError("sink overflow");
  report(state, cycles, b.packets() - packets0);
}

void BM_ConnCycleDefault(benchmark::State& state) { conn_cycle(state, TcpConfig{}, 10); }

void BM_ConnCycleBenchFlags(benchmark::State& state) {
  TcpConfig t;
  t.max_connections = 65536;
  t.max_half_open = 4096;
  t.time_wait_us = 1'000'000;
  conn_cycle(state, t, 10);
}

// One iteration: the client ACKs everything received so far (window 64 KiB
// unscaled), the stack sends what that opens.
void BM_Download(benchmark::State& state) {
  Bench b(TcpConfig{});
  const uint16_t sport = 40000;
  const uint32_t isn = 1000;
  ServerView v;
  const uint64_t total = uint64_t(1) << 40;  // never ends within a run
  const std::string request = std::to_string(total) + "\n";
  b.warming_up = true;
  b.deliver(b.frames.tcp_frame(sport, kDownloadPort, isn, 0, kSyn, "", 65535, SegmentOptions{1460, 7}));
  b.observe(sport, v);
  b.deliver(b.frames.tcp_frame(sport, kDownloadPort, isn + 1, v.next, kAck));
  const uint32_t cseq = isn + 1 + uint32_t(request.size());
  b.deliver(b.frames.tcp_frame(sport, kDownloadPort, isn + 1, v.next, kAck | kPsh, request));
  b.observe(sport, v);
  b.warming_up = false;
  uint64_t cycles = 0;
  const uint64_t packets0 = b.packets(), data0 = v.data;
  for (auto _ : state) {
    const double s0 = b.seconds;
    b.now_us += 5;
    uint64_t c = b.deliver(b.frames.tcp_frame(sport, kDownloadPort, cseq, v.next, kAck, "", 512));
    b.observe(sport, v);
    cycles += c;
    state.SetIterationTime(b.seconds - s0);
  }
  if (v.rst || v.fin || v.data == data0) state.SkipWithError("download did not flow");
  if (b.overflow()) state.SkipWithError("sink overflow");
  state.SetBytesProcessed(int64_t(v.data - data0));
  report(state, cycles, b.packets() - packets0);
}

BENCHMARK(BM_ConnCycleDefault)->Name("conn_cycle/default")->UseManualTime();
BENCHMARK(BM_ConnCycleBenchFlags)->Name("conn_cycle/bench_flags")->UseManualTime();
BENCHMARK(BM_Download)->Name("download/default")->UseManualTime();

}  // namespace
}  // namespace gputls::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::fprintf(stderr, "measured packets: %llu\n", (unsigned long long)gputls::bench::g_measured_packets);
  return 0;
}
