// TCP segment parsing and validation: checksum, header length, options and
// flag combinations a well-behaved peer never sends.
#pragma once

#include <optional>

#include "net/stats.h"
#include "net/wire.h"

namespace gputls::net {

// Parses the TCP segment in ip.payload; on failure says why (a Drop reason).
// The checksum is verified against the IPv4 pseudo header.
bool parse_tcp(const Ipv4View& ip, TcpView& seg, Drop& why);

}  // namespace gputls::net
