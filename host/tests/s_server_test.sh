#!/usr/bin/env bash
# Integration (ctest label "integration"): a real `openssl s_server` loads
# gputls (-provider gputls -provider default -propquery '?provider=gputls')
# and real `openssl s_client` peers handshake with it on loopback: TLS 1.3
# (X25519 + RSA-PSS), TLS 1.2 RSA key exchange, TLS 1.2 ECDHE-RSA, and a TLS
# 1.3 client offering only P-521 (served by gputls in software, as the default
# provider would serve it, not refused with handshake_failure). Then curl
# fetches pages from a second `s_server -www` (TLS 1.3 and TLS 1.2 RSA key
# exchange). Each server's GPUTLS_STATS_FILE proves the work ran in gputls.
# Usage: s_server_test.sh MODULE_DIR
set -euo pipefail
modules=$1
source "$(dirname "$0")/peer_util.sh"
work=$(mktemp -d)
server_pid=""
www_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "$www_pid" ] && kill "$www_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -subj /CN=localhost \
  -days 1 2>/dev/null

port=$(free_port)
GPUTLS_QUIET=1 GPUTLS_STATS_FILE="$work/stats.json" timeout 60 openssl s_server -provider-path "$modules" \
  -provider gputls -provider default -propquery '?provider=gputls' -cert "$work/cert.pem" -key "$work/key.pem" \
  -accept "127.0.0.1:$port" -naccept 4 >"$work/server.log" 2>&1 < <(sleep 90) &
server_pid=$!
# stdin stays open (s_server stops at EOF on stdin).
wait_for_accept "$work/server.log"

connect() {  # expected-protocol s_client-args...
  local want=$1; shift
  local out
  out=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$port" "$@" 2>&1) || true
  if ! grep -q "Protocol *: *$want" <<<"$out" && ! grep -q "New, $want" <<<"$out"; then
    echo "FAIL: handshake $* did not negotiate $want"; echo "$out" | tail -20; echo "--- server log"; cat "$work/server.log"; exit 1
  fi
  echo "ok: $want $*"
}
connect TLSv1.3 -tls1_3
connect TLSv1.2 -tls1_2 -cipher AES128-GCM-SHA256
connect TLSv1.2 -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256
connect TLSv1.3 -tls1_3 -groups P-521

wait "$server_pid" || true
server_pid=""
[ -s "$work/stats.json" ] || { echo "FAIL: s_server wrote no GPUTLS_STATS_FILE"; cat "$work/server.log"; exit 1; }
python3 - "$work/stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["provider"]
want = {"rsa_sign": 2, "rsa_decrypt": 1, "x25519_keygen": 2, "x25519_derive": 2,
        "aes_gcm_seal": 3, "aes_gcm_open": 3}  # at least the Finished records, sealed / opened in gputls
bad = {op: s[op]["engine"] for op, n in want.items() if s[op]["engine"] < n}
print("gputls counters in s_server:", {op: s[op]["engine"] for op in want})
if bad:
    sys.exit(f"FAIL: too few operations ran in gputls: {bad}")
p521 = {op: s[op]["sw"] for op in ("ec_keygen", "ecdh_derive")}
print("gputls software EC (the P-521 client):", p521)
if min(p521.values()) < 1:
    sys.exit(f"FAIL: the P-521 key exchange did not run in gputls: {p521}")
PY

# curl against `s_server -www` (it answers GET with a status page).
if ! command -v curl >/dev/null; then
  echo "SKIPPED curl part: curl not installed"; echo "PASS"; exit 0
fi
www_port=$(free_port)
GPUTLS_QUIET=1 GPUTLS_STATS_FILE="$work/www_stats.json" timeout 60 openssl s_server -provider-path "$modules" \
  -provider gputls -provider default -propquery '?provider=gputls' -cert "$work/cert.pem" -key "$work/key.pem" \
  -accept "127.0.0.1:$www_port" -naccept 2 -www >"$work/www.log" 2>&1 < <(sleep 90) &
www_pid=$!
wait_for_accept "$work/www.log"
fetch() {  # description curl-args...
  local what=$1; shift
  local page
  page=$(timeout 10 curl -sk "$@" "https://127.0.0.1:$www_port/") || { echo "FAIL: curl $what"; cat "$work/www.log"; exit 1; }
  grep -q "s_server" <<<"$page" || { echo "FAIL: curl $what: not s_server's page"; echo "$page" | head; exit 1; }
  echo "ok: curl $what"
}
fetch "TLS 1.3" --tlsv1.3
fetch "TLS 1.2 RSA key exchange" --tls-max 1.2 --ciphers AES128-GCM-SHA256
wait "$www_pid" || true
www_pid=""
[ -s "$work/www_stats.json" ] || { echo "FAIL: s_server -www wrote no GPUTLS_STATS_FILE"; cat "$work/www.log"; exit 1; }
python3 - "$work/www_stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["provider"]
want = {"rsa_sign": 1, "rsa_decrypt": 1, "x25519_keygen": 1, "x25519_derive": 1,
        "aes_gcm_seal": 4, "aes_gcm_open": 4}  # Finished, request and page records of curl's two connections
print("gputls counters in s_server -www (curl):", {op: s[op]["engine"] for op in want})
bad = {op: s[op]["engine"] for op, n in want.items() if s[op]["engine"] < n}
if bad:
    sys.exit(f"FAIL: too few operations ran in gputls: {bad}")
PY
echo "PASS"
