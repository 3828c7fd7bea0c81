#!/usr/bin/env bash
# Key log: tshark captures the client's side of the veth while curl sends
# HTTP GETs (TLS 1.3 and TLS 1.2) through the TLS server started with
# --keylog-file; with that key log tshark decrypts the capture and shows both
# request URIs, without it it shows none (so the check can fail). In haproxy
# mode the key log is curl's (SSLKEYLOGFILE): HAProxy writes none itself.
source "$(dirname "$0")/tls_lib.sh"
command -v tshark >/dev/null || skip "tshark is not installed; run scripts/setup.sh"
tls_setup
KEYLOG="$WORK/keylog.txt"
CAPTURE="$WORK/capture.pcapng"
[ "$TLS_SERVER" = haproxy ] && CLIENT_ENV=("SSLKEYLOGFILE=$KEYLOG")
start_tls_server --keylog-file "$KEYLOG"

# ip netns exec execs tshark, so $! is tshark itself (SIGINT makes it finish the file).
ip netns exec "$NS" tshark -i "$VETH_NS" -f "tcp port $TLS_PORT" -w "$CAPTURE" -a duration:50 >"$WORK/tshark.log" 2>&1 &
TSHARK_PID=$!
EXTRA_PIDS+=("$TSHARK_PID")
for _ in $(seq 100); do grep -q "Capturing on" "$WORK/tshark.log" && break; sleep 0.1; done
grep -q "Capturing on" "$WORK/tshark.log" || { cat "$WORK/tshark.log"; fail "tshark did not start capturing"; }

probe="keylog-probe-$ID"
for v in 1.3 1.2; do
  check_get "$probe-$v" --http1.1 "--tlsv$v" --tls-max "$v"
done
sleep 0.5  # let the last packets reach the capture
kill -INT "$TSHARK_PID"; wait "$TSHARK_PID" || true
stop_tls_server

[ -s "$KEYLOG" ] || fail "no key log written"
grep -q '^CLIENT_RANDOM ' "$KEYLOG" || fail "key log has no TLS 1.2 CLIENT_RANDOM line"
grep -q '^CLIENT_TRAFFIC_SECRET_0 ' "$KEYLOG" || fail "key log has no TLS 1.3 CLIENT_TRAFFIC_SECRET_0 line"
uris() { tshark -r "$CAPTURE" "$@" -Y http.request -T fields -e http.request.uri 2>"$WORK/tshark-read.log" | sort; }
with=$(uris -o "tls.keylog_file:$KEYLOG")
without=$(uris)
echo "request URIs decrypted with the key log: $(echo $with)"
for v in 1.3 1.2; do
  grep -qx "/$probe-$v" <<<"$with" || { cat "$WORK/tshark-read.log"; fail "TLS $v request not visible with the key log"; }
done
[ -z "$without" ] || fail "request visible without the key log: $without (the capture is not encrypted?)"
tshark -r "$CAPTURE" 2>/dev/null | grep -q "$probe" && fail "probe URI in the clear in the capture"
echo "ok: both requests decrypted with the key log, none without it"
check_stats 'total.tls.handshakes_full>=2' 'total.tls.active==0'
echo PASS
