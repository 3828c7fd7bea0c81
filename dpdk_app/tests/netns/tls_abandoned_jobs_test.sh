#!/usr/bin/env bash
# Handshakes abandoned while their job is paused on gputls (issue 21.4,
# through the appliance): 12,000 clients send a ClientHello and reset the
# connection at once, while the server's job may be paused in key generation
# (GPUTLS_INLINE=0: every operation queues to the engine). Nothing may stay
# behind: gputls's live keys and engine calls return to their baseline, and
# the appliance's RSS stops growing once its allocator is warm (a leaked job
# stack, ephemeral key or engine slot per connection would show in all three).
source "$(dirname "$0")/tls_lib.sh"
[ "$TLS_SERVER" = haproxy ] && skip "the appliance's own process is measured"
tls_setup
start_tls_server
check_get before
sleep 1  # the stats file is rewritten every 200 ms
read_stats() { $PY -c '
import json, sys
d = json.load(open(sys.argv[1]))
g = d["gputls"]
print(g["engine"]["keys_live"], g["calls_alive"], g["wait_fds_live"])' "$STATS"; }
rss() { awk '/^VmRSS/ { print $2 * 1024 }' "/proc/$APP_PID/status"; }
read -r keys0 calls0 fds0 <<<"$(read_stats)"
churn() {  # seconds
  in_ns timeout 60 $PY "$HERE/netns_client.py" churn "$SERVER_IP" "$TLS_PORT" --mode hello-rst --server-name "$SNI" \
    --seconds "$1" --rate 1000 --inflight 64 >"$WORK/churn.json" 2>&1 || { cat "$WORK/churn.json"; fail "churn failed"; }
  echo "churn: $(cat "$WORK/churn.json")"
}
churn 2   # warm-up: allocator pools, engine queues
sleep 1
rss_warm=$(rss)
churn 10
sleep 2   # the engine finishes what was queued; the stats file catches up
read -r keys1 calls1 fds1 <<<"$(read_stats)"
rss_after=$(rss)
echo "keys_live $keys0 -> $keys1, calls_alive $calls0 -> $calls1, wait_fds_live $fds0 -> $fds1," \
  "RSS $rss_warm -> $rss_after bytes"
[ "$keys1" -le "$keys0" ] || fail "gputls keys left behind: keys_live $keys0 -> $keys1"
[ "$calls1" -le "$calls0" ] || fail "engine calls left behind: calls_alive $calls0 -> $calls1"
[ "$fds1" -le "$fds0" ] || fail "wait fds left behind: wait_fds_live $fds0 -> $fds1"
# 10,000 connections: a leak of even 2 KiB each would add 20 MB.
[ $((rss_after - rss_warm)) -le $((8 << 20)) ] || fail "RSS grew by $((rss_after - rss_warm)) bytes over 10,000 connections"
check_get after
stop_tls_server
check_stats 'total.tls.handshake_failures>=10000' 'total.tls.drained_jobs>=100' 'total.tls.active==0' 'total.proxy.active==0'
echo PASS
