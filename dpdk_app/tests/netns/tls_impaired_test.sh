#!/usr/bin/env bash
# The TLS clients with 1% drop, 1% reordering and 1% duplication in both
# directions (seeded, in the appliance's port layer): handshakes of both
# versions and certificate types, the 10 MiB download (sha256), resumption and
# a burst of concurrent handshakes all still correct.
source "$(dirname "$0")/tls_lib.sh"
command -v h2load >/dev/null || skip "h2load (nghttp2-client) is not installed; run scripts/setup.sh"
tls_setup
start_tls_server --ticket-key-file "$PKI/tickets.key" --impair-drop 0.01 --impair-reorder 0.01 --impair-dup 0.01 \
  --impair-seed 11
check_handshake 1.2 rsa
check_handshake 1.3 ec
check_handshake 1.3 rsa
check_download --tlsv1.3
check_resumption 1.3
out=$(in_ns timeout 90 h2load --h1 -n 100 -c 50 "$URL/impaired-burst" 2>&1) || { echo "$out"; fail "h2load"; }
grep -q "requests: 100 total, 100 started, 100 done, 100 succeeded" <<<"$out" || { echo "$out"; fail "h2load: not all succeeded"; }
echo "ok: h2load 100 requests on 50 concurrent connections"
stop_tls_server
# Impairment evidence: drops, retransmissions and duplicates. Out-of-order
# arrivals are not asserted here: clients send the appliance few data segments
# back to back (handshake flights, requests), so whether 1% reordering hits two
# of them is chance (CI saw a run with none); impaired_test.sh asserts them
# with echo traffic.
# shellcheck disable=SC2046
check_stats 'total.drops.impair_drop>=10' 'total.tcp_retransmits>=1' 'total.tcp_dup_segments>=1' \
  'total.tls.handshakes_full>=55' 'total.tls.handshakes_resumed>=1' \
  'total.tls.handshake_failures==0' 'total.tls.active==0' 'total.proxy.active==0' $(gputls_offload_checks 55)
echo PASS
