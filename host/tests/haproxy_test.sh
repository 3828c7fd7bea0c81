#!/usr/bin/env bash
# Integration (ctest label "integration"): HAProxy 2.6 (Debian's, built
# against OpenSSL 3.0) terminates TLS with gputls loaded through its own
# directives (ssl-provider-path, ssl-provider gputls + default, ssl-propquery
# ?provider=gputls, ssl-mode-async) in master-worker mode, in front of a tiny
# local HTTP server (python3 -m http.server), X25519MLKEM768 offered first
# (`curves`). curl (TLS 1.3, TLS 1.2 ECDHE-RSA,
# TLS 1.2 RSA key exchange) and h2load (a few hundred TLS 1.3 connections)
# drive it on loopback.
#
# Proof of offload: GPUTLS_STATS_FILE=.../stats.%p.json makes every process
# that loaded gputls write its counters when the provider is unloaded at exit
# (%p = pid, so the master and the forked worker do not overwrite each
# other). The worker exits cleanly on the master's soft stop (SIGUSR1), which
# runs OpenSSL's atexit cleanup and so gputls's teardown. GPUTLS_INLINE=0 puts
# requests through the engine's queue, so with ssl-mode-async HAProxy's jobs
# really pause on gputls's wait fds (asserted), and X25519 key shares come
# ready from gputls's key-share pool (asserted).
# Usage: haproxy_test.sh MODULE_DIR
set -euo pipefail
modules=$1
for tool in haproxy h2load curl python3 openssl; do
  command -v "$tool" >/dev/null || { echo "SKIPPED: $tool not installed (scripts/setup.sh installs it)"; exit 77; }
done

work=$(mktemp -d)
pids=()
master_pid=""
cleanup() {
  [ -n "$master_pid" ] && kill -TERM "$master_pid" 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

source "$(dirname "$0")/peer_util.sh"
fail() { echo "FAIL: $*"; echo "--- haproxy log"; cat "$work/haproxy.log" 2>/dev/null || true; exit 1; }

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -subj /CN=localhost \
  -days 1 2>/dev/null
cat "$work/cert.pem" "$work/key.pem" >"$work/server.pem"

# The backend: a static file over HTTP/1.x on loopback.
mkdir "$work/www"
echo "hello from the backend" >"$work/www/index.html"
backend_port=$(free_port)
timeout 120 python3 -m http.server "$backend_port" --bind 127.0.0.1 --directory "$work/www" \
  >"$work/backend.log" 2>&1 &
pids+=($!)

port=$(free_port)
# python3 -m http.server listens with a backlog of 5: queue in HAProxy instead.
write_haproxy_gputls_cfg "$work/haproxy.cfg" "$work/haproxy.pid" "$modules" "$port" "$work/server.pem" \
  X25519MLKEM768:x25519:secp256r1 "timeout queue 30s" "server backend 127.0.0.1:$backend_port maxconn 4"
haproxy -c -f "$work/haproxy.cfg" >/dev/null 2>&1 || { haproxy -c -f "$work/haproxy.cfg"; fail "configuration refused"; }

GPUTLS_QUIET=1 GPUTLS_INLINE=0 GPUTLS_STATS_FILE="$work/stats.%p.json" \
  timeout 120 haproxy -W -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  [ -s "$work/haproxy.pid" ] && curl -sk -o /dev/null "https://127.0.0.1:$port/" && break
  sleep 0.1
done
master_pid=$(cat "$work/haproxy.pid" 2>/dev/null || true)
[ -n "$master_pid" ] || fail "haproxy did not start"

# curl: each handshake type once, the backend's page must come back.
check_curl() {  # description curl-args...
  local what=$1; shift
  local body
  body=$(timeout 10 curl -sk "$@" "https://127.0.0.1:$port/") || fail "curl $what"
  [ "$body" = "hello from the backend" ] || fail "curl $what: unexpected body '$body'"
  echo "ok: curl $what"
}
check_curl "TLS 1.3" --tlsv1.3
check_curl "TLS 1.2 ECDHE-RSA" --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256
check_curl "TLS 1.2 RSA key exchange" --tls-max 1.2 --ciphers AES128-GCM-SHA256

# Post-quantum: HAProxy's `curves` names gputls's X25519MLKEM768 (OpenSSL 3.0
# alone has no ML-KEM); an s_client with gputls asks for it.
out=$(echo | GPUTLS_QUIET=1 timeout 10 openssl s_client -provider-path "$modules" -provider gputls -provider default \
      -propquery '?provider=gputls' -connect "127.0.0.1:$port" -tls1_3 -groups X25519MLKEM768 2>&1) || true
{ grep -q "Protocol *: *TLSv1.3" <<<"$out" || grep -q "New, TLSv1.3" <<<"$out"; } ||
  { echo "$out" | tail -15; fail "X25519MLKEM768 client: no handshake"; }
echo "ok: s_client X25519MLKEM768"

# h2load: 300 TLS 1.3 connections with one request each (h2load spreads -n
# requests over -c connections), in three rounds of 100 concurrent.
rounds=3
per_round=100
connections=$((rounds * per_round))
for round in $(seq "$rounds"); do
  out=$(timeout 60 h2load -n "$per_round" -c "$per_round" "https://127.0.0.1:$port/" 2>&1) || { echo "$out"; fail "h2load"; }
  grep -q "TLS Protocol: TLSv1.3" <<<"$out" || { echo "$out"; fail "h2load did not use TLS 1.3"; }
  grep -q "requests: $per_round total, $per_round started, $per_round done, $per_round succeeded" <<<"$out" ||
    { echo "$out"; fail "h2load round $round: not every request succeeded"; }
done
echo "ok: h2load $connections connections"

# Soft stop: the worker finishes, unloads gputls (writing its stats) and exits.
kill -USR1 "$master_pid"
for _ in $(seq 100); do kill -0 "$master_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$master_pid" 2>/dev/null && fail "haproxy did not stop"
master_pid=""

ls "$work"/stats.*.json >/dev/null 2>&1 || fail "no process wrote GPUTLS_STATS_FILE"
python3 - "$connections" "$work"/stats.*.json <<'PY'
import json, sys
want_sign = int(sys.argv[1]) + 2  # h2load + curl TLS 1.3 + curl ECDHE-RSA
total = {}
taken = 0  # X25519 key shares served from gputls's key-share pool (made ahead on the engine)
for path in sys.argv[2:]:
    doc = json.load(open(path))
    taken += ((doc.get("key_share_pool") or {}).get("x25519") or {}).get("taken", 0)
    s = doc["provider"]
    for op, c in s.items():
        for k, v in c.items():
            total.setdefault(op, {}).setdefault(k, 0)
            total[op][k] += v
show = {op: total[op] for op in ("rsa_sign", "rsa_decrypt", "x25519_keygen", "x25519_derive", "mlkem768_encaps")}
print("gputls counters in haproxy (all processes):", json.dumps(show), "; x25519 key shares from the pool:", taken)
errors = []
if total["rsa_sign"]["engine"] < want_sign: errors.append(f"rsa_sign on the engine {total['rsa_sign']['engine']} < {want_sign}")
if total["rsa_decrypt"]["engine"] < 1: errors.append("no RSA key exchange decryption on the engine")
if total["x25519_keygen"]["engine"] < want_sign - 1: errors.append("too few X25519 key generations on the engine")
if total["rsa_sign"]["async_paused"] == 0: errors.append("ssl-mode-async: no job ever paused on gputls")
# With the engine queueing (GPUTLS_INLINE=0) key shares come ready from the pool once it has
# refilled (after the first h2load round at the latest).
if taken == 0: errors.append("no X25519 key share came from gputls's key-share pool")
if total["mlkem768_encaps"]["engine"] != 1: errors.append("the X25519MLKEM768 client's encapsulation did not run on the engine once")
if total["rsa_sign"]["sw"] + total["rsa_sign"]["failed"]: errors.append("signatures fell back to software or failed")
if errors: sys.exit("FAIL: " + "; ".join(errors))
PY
echo "PASS"
