#!/usr/bin/env bash
# Bad input on both sides of the TLS server, and after each a normal client
# still works: garbage instead of a ClientHello, a truncated record then our
# FIN, clients that stall mid-handshake (closed at --handshake-timeout-ms while
# another client is served), a backend that refuses connections (stopped), a
# backend that dies (reset) mid-response, a client below the server's minimum
# TLS version, a client that refuses the server's certificate (its alert is
# received). Each is counted in the stats. The server also runs with a minimum
# version and one TLS 1.3 suite, which clients see.
source "$(dirname "$0")/tls_lib.sh"
tls_setup
start_tls_server --handshake-timeout-ms 1500 --tls-min 1.3 --ciphersuites TLS_AES_128_GCM_SHA256
bad() { in_ns timeout 30 $PY "$HERE/netns_client.py" tls-bad "$SERVER_IP" "$TLS_PORT" --server-name "$SNI" "$@"; }

bad --mode garbage --conns 2 --timeout 10
check_get after-garbage
s_client_get suite "$WORK/suite.txt"
grep -q "^New, TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256" "$WORK/suite.txt" || { cat "$WORK/suite.txt"; fail "not the configured suite"; }
echo "ok: the configured TLS 1.3 suite negotiated"
check_refused "TLS 1.2 client, server minimum TLS 1.3" --tlsv1.2 --tls-max 1.2
# The client trusts another CA: it refuses the certificate and sends an alert.
if in_ns timeout 20 openssl s_client -connect "$SNI:$TLS_PORT" -servername "$SNI" -CAfile "$PKI/otherca.pem" \
    -verify_return_error </dev/null >"$WORK/untrusted.txt" 2>&1; then
  cat "$WORK/untrusted.txt"; fail "s_client accepted a certificate from a CA it does not trust"
fi
grep -q "unable to get local issuer certificate" "$WORK/untrusted.txt" || { cat "$WORK/untrusted.txt"; fail "no verify error"; }
echo "ok: client refused the server certificate (unknown CA)"
check_get after-client-alert
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
check_stats 'total.tls.handshake_failures>=10' 'total.tls.failures.*>=10' 'total.tls.failures.handshake_timeout>=4' \
  'total.tls.alerts_received.*>=1' 'total.tls.alerts_sent.*>=1' \
  'total.proxy.backend_connect_failed>=1' 'total.proxy.backend_resets>=1' 'total.tls.handshakes_full>=8' \
  'total.tls.active==0' 'total.proxy.active==0' 'total.tcp_conns_active==0'
echo PASS
