#!/usr/bin/env bash
# Bad input on both sides of the TLS server, and after each a normal client
# still works: garbage instead of a ClientHello, a truncated record then our
# FIN, clients that stall mid-handshake (closed at --handshake-timeout-ms while
# another client is served), a backend that refuses connections (stopped), a
# backend that dies (reset) mid-response. Each is counted in the stats.
source "$(dirname "$0")/tls_lib.sh"
tls_setup
start_tls_server --handshake-timeout-ms 1500
bad() { in_ns timeout 30 $PY "$HERE/netns_client.py" tls-bad "$SERVER_IP" "$TLS_PORT" --server-name "$SNI" "$@"; }

bad --mode garbage --conns 2 --timeout 10
check_get after-garbage
bad --mode truncated --conns 2 --timeout 10
check_get after-truncated
bad --mode stall --conns 4 --timeout 10 >"$WORK/stall.log" 2>&1 &
stall_pid=$!
sleep 0.3
check_get during-stall
wait "$stall_pid" || { cat "$WORK/stall.log"; fail "stalled handshakes were not closed"; }
cat "$WORK/stall.log"
check_get after-stall

stop_backend
check_refused "backend stopped"
start_backend
check_get after-backend-restart

rc=0
tls_curl 20 -o "$WORK/partial.bin" "$URL/reset/1048576" 2>"$WORK/curl.err" || rc=$?
size=$(stat -c %s "$WORK/partial.bin" 2>/dev/null || echo 0)
[ $rc -ne 0 ] || fail "backend reset mid-response: curl reported success ($size bytes)"
[ "$size" -lt $((10 << 20)) ] || fail "backend reset mid-response: got the whole body"
echo "ok: backend reset after 1 MiB: curl exit $rc after $size bytes ($(head -c 120 "$WORK/curl.err"))"
check_get after-backend-reset
check_download
stop_tls_server
check_stats 'total.tls.handshake_failures>=8' 'total.tls.failures.*>=8' 'total.tls.failures.handshake_timeout>=4' \
  'total.proxy.backend_connect_failed>=1' 'total.proxy.backend_resets>=1' 'total.tls.handshakes_full>=8' \
  'total.tls.active==0' 'total.proxy.active==0' 'total.tcp_conns_active==0'
echo PASS
