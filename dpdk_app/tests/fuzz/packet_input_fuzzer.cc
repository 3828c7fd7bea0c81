// libFuzzer target for the packet input path: Ethernet/ARP/IPv4/ICMP/TCP
// input of one core's stack with the echo and download services behind it.
//
// Input: a sequence of records [control][len_hi][len_lo][frame bytes]. The
// control byte lets the fuzzer get past the checks it cannot solve by
// mutation alone, so it reaches deep TCP states:
//   bit 0  recompute the IPv4, ICMP and TCP checksums of the frame
//   bit 1  set the TCP ack number to the server's next sequence number (taken
//          from the last segment the stack sent), completing handshakes
//   bits 2-7  advance the clock by that many x 50 ms first (timers fire)
// Invariants checked: memory within its bound, gauges consistent, every frame
// the stack sends parses back with correct checksums.
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <vector>

#include "net/checksum.h"
#include "net/net_stack.h"
#include "net/tcp_parse.h"
#include "services/service_mux.h"

using namespace gputls::net;

namespace {

class Sink : public FrameSink {
 public:
  uint8_t* begin_frame(size_t max_len) override {
    buf_.assign(max_len, 0);
    return buf_.data();
  }
  void commit_frame(size_t len) override {
    buf_.resize(len);
    check(buf_);
  }
  uint32_t next_server_seq = 0;

 private:
  void check(const std::vector<uint8_t>& f) {
    if (f.size() < 14 || load16(f.data() + 12) != kEtherTypeIpv4) return;
    Ipv4View ip;
    Drop why;
    if (!parse_ipv4(f.data() + 14, f.size() - 14, ip, why)) abort();  // we sent a bad IPv4 header
    if (ip.proto != kIpProtoTcp) return;
    std::swap(ip.src, ip.dst);
    TcpView seg;
    if (!parse_tcp(ip, seg, why) && why == Drop::kTcpBadChecksum) abort();
    uint32_t len = uint32_t(ip.payload_len - size_t(ip.payload[12] >> 4) * 4);
    uint8_t flags = ip.payload[13];
    next_server_seq = load32(ip.payload + 4) + len + ((flags & (kTcpSyn | kTcpFin)) ? 1 : 0);
  }
  std::vector<uint8_t> buf_;
};

void fix_checksums(std::vector<uint8_t>& f) {
  if (f.size() < 34 || load16(f.data() + 12) != kEtherTypeIpv4) return;
  uint8_t* ip = f.data() + 14;
  size_t ihl = size_t(ip[0] & 15) * 4;
  if (ihl < 20 || 14 + ihl > f.size()) return;
  size_t total = load16(ip + 2);
  if (total < ihl || 14 + total > f.size()) return;
  store16(ip + 10, 0);
  store16(ip + 10, checksum_finish(checksum_partial(ip, ihl)));
  uint8_t* l4 = ip + ihl;
  size_t l4_len = total - ihl;
  if (ip[9] == kIpProtoTcp && l4_len >= 20) {
    store16(l4 + 16, 0);
    uint32_t sum = pseudo_header_sum(load32(ip + 12), load32(ip + 16), kIpProtoTcp, l4_len);
    store16(l4 + 16, checksum_finish(checksum_partial(l4, l4_len, sum)));
  } else if (ip[9] == kIpProtoIcmp && l4_len >= 8) {
    store16(l4 + 2, 0);
    store16(l4 + 2, checksum_finish(checksum_partial(l4, l4_len)));
  }
}

const gputls::services::DownloadPattern& pattern() {
  static gputls::services::DownloadPattern p;
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  StackConfig cfg;
  cfg.mac = {0x02, 0, 0, 0, 0, 1};
  cfg.ip = 0x0a000001;
  cfg.tcp.max_connections = 16;
  cfg.tcp.max_half_open = 4;
  cfg.tcp.rcv_buf = cfg.tcp.snd_buf = 4096;
  cfg.tcp.mem_limit_bytes = 4 * 8192;
  cfg.tcp.idle_timeout_us = 2'000'000;
  cfg.tcp.time_wait_us = 500'000;
  cfg.secret = {1, 2};
  CoreStats stats;
  Sink sink;
  gputls::services::ServiceMux mux({7, 9000}, pattern(), cfg.tcp.max_connections);
  NetStack stack(cfg, sink, stats, mux);
  stack.tcp().listen(7);
  stack.tcp().listen(9000);
  uint64_t now = 1'000'000;
  std::vector<uint8_t> frame;
  size_t i = 0;
  while (i + 3 <= size) {
    uint8_t ctl = data[i];
    size_t len = size_t(data[i + 1]) << 8 | data[i + 2];
    i += 3;
    len = std::min(len, size - i);
    frame.assign(data + i, data + i + len);
    i += len;
    now += uint64_t(ctl >> 2) * 50'000;
    if ((ctl & 2) && frame.size() >= 14 + 20 + 20) {
      size_t ihl = size_t(frame[14] & 15) * 4;
      if (14 + ihl + 12 <= frame.size()) store32(frame.data() + 14 + ihl + 8, sink.next_server_seq);
    }
    if (ctl & 1) fix_checksums(frame);
    stack.input(frame.data(), frame.size(), now);
    stack.poll(now);
    if (stats.mem_bytes_in_use.get() > stats.mem_bytes_limit.get()) abort();
    if (stats.tcp_half_open.get() > cfg.tcp.max_half_open) abort();
    if (stack.tcp().connections() > cfg.tcp.max_connections) abort();
  }
  // Let every timer run out: all connections must end and all memory return.
  for (int k = 0; k < 200; ++k) stack.poll(now += 100'000);
  if (stack.tcp().connections() != 0 || stats.mem_bytes_in_use.get() != 0 || stats.tcp_conns_active.get() != 0) {
    if (getenv("FUZZ_DEBUG")) {
      fprintf(stderr, "conns %zu mem %lu active %lu half %lu tw %lu\n", stack.tcp().connections(),
              (unsigned long)stats.mem_bytes_in_use.get(), (unsigned long)stats.tcp_conns_active.get(),
              (unsigned long)stats.tcp_half_open.get(), (unsigned long)stats.tcp_time_wait.get());
      for (uint32_t s = 0; s < 16; ++s)
        for (uint32_t g = 0; g < 64; ++g)
          if (auto* t = stack.tcp().tcb(ConnId{s, g})) fprintf(stderr, "slot %u state %s\n", s, tcp_state_name(t->state));
    }
    abort();
  }
  return 0;
}
