#!/usr/bin/env bash
# Clients that never read (issue 22.3): 40 TLS clients each ask for the
# backend's 10 MiB file and then read nothing, so the response backs up
# through TCP, TLS and the proxy. Everything a connection holds is charged to
# --mem-limit (room here for 60 connections): the accounting never passes
# the limit and the appliance's RSS grows by less than it; a normal client is
# served meanwhile; after --progress-timeout-s (3 s) without an application
# byte moving, the stalled connections are reset and their backends closed.
source "$(dirname "$0")/tls_lib.sh"
[ "$TLS_SERVER" = haproxy ] && skip "the appliance's memory accounting is under test"
tls_setup
per_conn=$(( (65536 + 65536) + 221184 + 2 * 65536 ))  # TCP rings + TLS (216 KiB) + two proxy buffers
limit=$((60 * per_conn))
start_tls_server --progress-timeout-s 3 --mem-limit "$limit"
rss() { awk '/^VmRSS/ { print $2 * 1024 }' "/proc/$APP_PID/status"; }
rss0=$(rss)
in_ns timeout 60 $PY "$HERE/netns_client.py" tls-slow "$SERVER_IP" "$TLS_PORT" --server-name "$SNI" --conns 40 \
  --hold 8 >"$WORK/slow.json" 2>&1 &
slow_pid=$!
peak=$rss0
for i in $(seq 6); do
  sleep 1
  r=$(rss); [ "$r" -gt "$peak" ] && peak=$r
  check_get "during-stall-$i"
done
wait "$slow_pid" || { cat "$WORK/slow.json"; fail "the slow clients failed"; }
echo "slow readers: $(cat "$WORK/slow.json"); appliance RSS $rss0 -> peak $peak bytes (limit $limit)"
[ $((peak - rss0)) -le "$limit" ] || fail "RSS grew by $((peak - rss0)) bytes, more than the memory limit $limit"
$PY - "$WORK/slow.json" <<'PY' || fail "slow readers were not closed by the server"
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["closed_by_server"] == d["connections"] else 1)
PY
check_download
stop_tls_server
check_stats 'total.tls.progress_timeouts>=40' 'total.mem_bytes_peak<=total.mem_bytes_limit' \
  'total.tls.active==0' 'total.proxy.active==0' 'total.mem_bytes_in_use==0'
echo PASS
