#!/usr/bin/env bash
# Integration (ctest label "integration"): post-quantum key exchange between
# real `openssl` processes of the system's OpenSSL 3.0, both ends with gputls
# loaded. One `s_server` offers X25519MLKEM768, SecP256r1MLKEM768, MLKEM768
# and x25519; s_client peers ask for each PQ group (gputls loaded), then a plain
# s_client without gputls (x25519: a PQ server keeps serving classic
# clients). The server's and the clients' GPUTLS_STATS_FILE prove gputls
# made the encapsulations and decapsulations.
# Usage: pq_s_server_test.sh MODULE_DIR
set -euo pipefail
modules=$1
source "$(dirname "$0")/peer_util.sh"
work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
prov=(-provider-path "$modules" -provider gputls -provider default -propquery '?provider=gputls')

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
  -subj /CN=localhost -days 1 2>/dev/null
port=$(free_port)
GPUTLS_QUIET=1 GPUTLS_STATS_FILE="$work/server.json" timeout 60 openssl s_server "${prov[@]}" \
  -groups X25519MLKEM768:SecP256r1MLKEM768:MLKEM768:x25519 -cert "$work/cert.pem" -key "$work/key.pem" \
  -accept "127.0.0.1:$port" -naccept 4 >"$work/server.log" 2>&1 < <(sleep 90) &
server_pid=$!
wait_for_accept "$work/server.log"

connect() {  # name stats-file s_client-args...
  local name=$1 stats=$2; shift 2
  local out
  out=$(echo | GPUTLS_QUIET=1 GPUTLS_STATS_FILE="$stats" timeout 10 openssl s_client -connect "127.0.0.1:$port" \
        -tls1_3 "$@" 2>&1) || true
  if ! grep -q "Protocol *: *TLSv1.3" <<<"$out" && ! grep -q "New, TLSv1.3" <<<"$out"; then
    echo "FAIL: $name: no TLS 1.3 handshake"; echo "$out" | tail -20; echo "--- server log"; cat "$work/server.log"; exit 1
  fi
  echo "ok: $name"
}
connect "X25519MLKEM768 client" "$work/hybrid.json" "${prov[@]}" -groups X25519MLKEM768
connect "SecP256r1MLKEM768 client" "$work/p256.json" "${prov[@]}" -groups SecP256r1MLKEM768
connect "MLKEM768 client" "$work/mlkem.json" "${prov[@]}" -groups MLKEM768
connect "classic client (no gputls)" "$work/classic.json"

wait "$server_pid" || true
server_pid=""
python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
def ops(name):
    path = os.path.join(work, name)
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        sys.exit(f"FAIL: no GPUTLS_STATS_FILE {name}")
    s = json.load(open(path))["provider"]
    return {op: s[op]["engine"] + s[op]["sw"] for op in s}
srv = ops("server.json")
print("server:", {k: srv[k] for k in ("mlkem768_encaps", "x25519_keygen", "x25519_derive", "ecdh_derive")})
if srv["mlkem768_encaps"] != 3:
    sys.exit(f"FAIL: the server encapsulated {srv['mlkem768_encaps']} times (3 PQ clients)")
if srv["x25519_derive"] != 2 or srv["ecdh_derive"] != 1:  # the hybrids' classic halves and the classic client
    sys.exit(f"FAIL: the server's classic halves: {srv['x25519_derive']} X25519, {srv['ecdh_derive']} ECDH (2, 1)")
for name, x, e in (("hybrid.json", 1, 0), ("p256.json", 0, 1), ("mlkem.json", 0, 0)):
    c = ops(name)
    print(name, {k: c[k] for k in ("mlkem768_keygen", "mlkem768_decaps", "x25519_derive", "ecdh_derive")})
    if (c["mlkem768_keygen"], c["mlkem768_decaps"], c["x25519_derive"], c["ecdh_derive"]) != (1, 1, x, e):
        sys.exit(f"FAIL: {name}: the client's ML-KEM work did not run in gputls as expected")
PY
echo "PASS"
