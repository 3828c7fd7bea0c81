#!/usr/bin/env bash
# 1,000 full TLS handshakes from h2load (HTTP/1.1, one request per
# connection: rounds of -n C -c C), every request answered by the backend
# through the TLS server; gputls's engine did the handshakes' private-key work.
source "$(dirname "$0")/tls_lib.sh"
command -v h2load >/dev/null || skip "h2load (nghttp2-client) is not installed; run scripts/setup.sh"
tls_setup
ROUNDS=${ROUNDS:-10}
PER_ROUND=${PER_ROUND:-100}
start_tls_server --no-tickets
for round in $(seq "$ROUNDS"); do
  out=$(in_ns timeout 60 h2load --h1 -n "$PER_ROUND" -c "$PER_ROUND" "$URL/load-$round" 2>&1) ||
    { echo "$out"; fail "h2load round $round"; }
  grep -q "requests: $PER_ROUND total, $PER_ROUND started, $PER_ROUND done, $PER_ROUND succeeded" <<<"$out" ||
    { echo "$out"; fail "h2load round $round: not every request succeeded"; }
  grep -q "status codes: $PER_ROUND 2xx" <<<"$out" || { echo "$out"; fail "h2load round $round: not all 2xx"; }
  grep -Eq "TLS Protocol: TLSv1\.[23]" <<<"$out" || { echo "$out"; fail "h2load round $round: no TLS"; }
done
total=$((ROUNDS * PER_ROUND))
echo "ok: h2load $total connections, one request each, all succeeded"
check_get after-load
stop_tls_server
# shellcheck disable=SC2046
check_stats "total.tls.handshakes_full>=$total" 'total.tls.handshakes_resumed==0' 'total.tls.handshake_failures==0' \
  "total.proxy.backend_connects>=$total" 'total.tls.active==0' 'total.proxy.active==0' $(gputls_offload_checks "$total") \
  'total.busy_iterations>=1' 'total.loop_iterations>total.busy_iterations' 'total.loop_cycles>total.busy_cycles' \
  'total.busy_core_seconds>0'
echo "busy polling: $($PY -c 'import json,sys; c=json.load(open(sys.argv[1]))["cores"][0]; print("%.3f of the loop busy, %.2f busy core-seconds" % (c["busy_share"], c["busy_core_seconds"]))' "$STATS")"
echo PASS
