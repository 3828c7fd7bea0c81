#include "net/stats.h"

namespace gputls::net {

std::string_view drop_name(Drop d) {
  switch (d) {
    case Drop::kRuntFrame: return "runt_frame";
    case Drop::kUnknownEtherType: return "unknown_ethertype";
    case Drop::kNotForUs: return "not_for_us";
    case Drop::kArpMalformed: return "arp_malformed";
    case Drop::kIpBadVersion: return "ip_bad_version";
    case Drop::kIpBadLength: return "ip_bad_length";
    case Drop::kIpBadChecksum: return "ip_bad_checksum";
    case Drop::kIpFragment: return "ip_fragment";
    case Drop::kIpTtlZero: return "ip_ttl_zero";
    case Drop::kIpUnknownProto: return "ip_unknown_proto";
    case Drop::kIcmpBadChecksum: return "icmp_bad_checksum";
    case Drop::kIcmpUnhandled: return "icmp_unhandled";
    case Drop::kTcpBadChecksum: return "tcp_bad_checksum";
    case Drop::kTcpBadHeader: return "tcp_bad_header";
    case Drop::kTcpBadFlags: return "tcp_bad_flags";
    case Drop::kTcpNoListener: return "tcp_no_listener";
    case Drop::kTcpNoConnection: return "tcp_no_connection";
    case Drop::kTcpOutOfWindow: return "tcp_out_of_window";
    case Drop::kTcpBadAck: return "tcp_bad_ack";
    case Drop::kTcpRstIgnored: return "tcp_rst_ignored";
    case Drop::kTcpSynInWindow: return "tcp_syn_in_window";
    case Drop::kTcpBacklogFull: return "tcp_backlog_full";
    case Drop::kTcpConnTableFull: return "tcp_conn_table_full";
    case Drop::kTcpPerSourceLimit: return "tcp_per_source_limit";
    case Drop::kTcpOooOverflow: return "tcp_ooo_overflow";
    case Drop::kTcpZeroWindow: return "tcp_zero_window";
    case Drop::kTxNoBuffer: return "tx_no_buffer";
    case Drop::kImpairDrop: return "impair_drop";
    case Drop::kCount: break;
  }
  return "unknown";
}

}  // namespace gputls::net
