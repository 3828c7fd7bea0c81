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

# ip netns exec execs tshark, so $! is tshark itself (SIGINT makes it finish the file). -P -l: a
# line per captured packet in tshark.log, as it is captured.
ip netns exec "$NS" tshark -i "$VETH_NS" -f "tcp port $TLS_PORT" -w "$CAPTURE" -P -l -a duration:50 \
  >"$WORK/tshark.log" 2>&1 &
TSHARK_PID=$!
EXTRA_PIDS+=("$TSHARK_PID")
for _ in $(seq 100); do grep -q "Capturing on" "$WORK/tshark.log" && break; sleep 0.1; done
grep -q "Capturing on" "$WORK/tshark.log" || { cat "$WORK/tshark.log"; fail "tshark did not start capturing"; }
# "Capturing on" comes before packets are captured: once in many runs the first connection's
# SYN and ClientHello were missed (its capture began at the ServerHello), so its TLS 1.3 request
# could not be decrypted. Bare TCP connections to the port (no TLS) until tshark shows one.
live=0
for try in $(seq 50); do
  in_ns bash -c "exec 3<>/dev/tcp/$SERVER_IP/$TLS_PORT" 2>/dev/null || true
  sleep 0.1
  grep -q " TCP " "$WORK/tshark.log" && { live=$try; break; }
done
[ "$live" != 0 ] || { cat "$WORK/tshark.log"; fail "tshark showed no packet of a TCP connection to the server"; }
echo "ok: capture live (after $live bare connection(s))"

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
# What tshark saw, for a failure: every TLS record per TCP stream, and which
# secrets the key log holds for which client random (this showed the late
# capture start above).
diagnose() {
  cat "$WORK/tshark-read.log"
  echo "--- capture: frame, stream, time, flags, seq, len, TLS content types, handshake types"
  tshark -r "$CAPTURE" -o "tls.keylog_file:$KEYLOG" -T fields -e frame.number -e tcp.stream -e frame.time_relative \
    -e tcp.flags.str -e tcp.seq -e tcp.len -e tls.record.content_type -e tls.handshake.type 2>&1 | head -80
  echo "--- key log: label and the client random's first 16 hex digits"
  cut -c1-60 "$KEYLOG" | awk '{print $1, substr($2, 1, 16)}'
  echo "--- client hellos' randoms"
  tshark -r "$CAPTURE" -Y "tls.handshake.type == 1" -T fields -e tcp.stream -e tls.handshake.random 2>&1 | cut -c1-40
}
for v in 1.3 1.2; do
  grep -qx "/$probe-$v" <<<"$with" || { diagnose; fail "TLS $v request not visible with the key log"; }
done
[ -z "$without" ] || fail "request visible without the key log: $without (the capture is not encrypted?)"
tshark -r "$CAPTURE" 2>/dev/null | grep -q "$probe" && fail "probe URI in the clear in the capture"
echo "ok: both requests decrypted with the key log, none without it"
check_stats 'total.tls.handshakes_full>=2' 'total.tls.active==0'
echo PASS
