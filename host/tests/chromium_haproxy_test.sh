#!/usr/bin/env bash
# Integration (ctest label "integration"): headless Chromium (Debian's
# `chromium`, a TLS client nobody here wrote: BoringSSL) loads a page through
# HAProxy 2.6 terminating TLS with gputls (ssl-provider gputls + default,
# ssl-propquery ?provider=gputls, ssl-mode-async, as haproxy_test.sh) in front
# of a local HTTP backend, and the handshake is shown to be X25519MLKEM768 from
# both ends, not assumed:
#   - Chromium's NetLog: every completed handshake reports key_exchange_group
#     0x11EC (X25519MLKEM768), TLS 1.3 (chromium_netlog.py);
#   - HAProxy's processes: gputls's mlkem768_encaps counter (written at exit,
#     GPUTLS_STATS_FILE) is at least the number of those handshakes, all on
#     gputls's engine, none in software or failed.
# The page's DOM must hold the backend's marker and a line its script wrote.
# Negative control, in the same run: HAProxy offering only x25519 gives
# Chromium's NetLog x25519 and gputls's ML-KEM counter 0, so both checks can
# tell the groups apart.
# Chromium stays off the network (chromium_util.sh) and trusts the test
# certificate by its public key only. Exit 77 (skipped) without chromium,
# haproxy, python3 or openssl.
# Usage: chromium_haproxy_test.sh MODULE_DIR
set -euo pipefail
modules=$1
here=$(cd "$(dirname "$0")" && pwd)
source "$here/peer_util.sh"
source "$here/chromium_util.sh"
for tool in haproxy python3 openssl; do
  command -v "$tool" >/dev/null || { echo "SKIPPED: $tool not installed (scripts/setup.sh installs it)"; exit 77; }
done
chromium_binary >/dev/null || { echo "SKIPPED: chromium not installed (scripts/setup.sh installs it)"; exit 77; }

work=$(mktemp -d)
backend_pid=""
haproxy_pid=""  # `timeout ... haproxy`'s pid
master_pid=""   # HAProxy's master (its pidfile)
cleanup() {
  set +e
  [ -n "$master_pid" ] && kill -TERM "$master_pid" 2>/dev/null
  [ -n "$haproxy_pid" ] && kill -TERM "$haproxy_pid" 2>/dev/null
  [ -n "$backend_pid" ] && kill -TERM "$backend_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {  # fail MESSAGE [RUN]: the run's logs, then exit 1
  echo "FAIL: $1"
  if [ -n "${2:-}" ]; then
    echo "--- haproxy log"; cat "$work/$2/haproxy.log" 2>/dev/null
    echo "--- chromium's handshakes"; chromium_handshakes "$work/$2" 2>&1
    echo "--- chromium log (last 20 lines)"; tail -n 20 "$work/$2/chromium.log" 2>/dev/null
    echo "--- DOM"; head -c 2000 "$work/$2/dom.html" 2>/dev/null; echo
  fi
  exit 1
}

host=gputls.test  # resolved by Chromium's --host-resolver-rules only
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -subj "/CN=$host" \
  -addext "subjectAltName=DNS:$host" -days 1 2>/dev/null
cat "$work/cert.pem" "$work/key.pem" >"$work/server.pem"
spki=$(spki_sha256 "$work/cert.pem")

# The backend: a page with a marker and a script that adds a line (seen only
# if the page really ran in the browser: the source splits the string).
marker="gputls-chromium-$$-$RANDOM"
mkdir "$work/www"
cat >"$work/www/index.html" <<EOF
<!doctype html>
<html><head><meta charset="utf-8"><title>gputls</title><link rel="icon" href="data:,"></head>
<body><p id="marker">$marker</p>
<script>document.body.insertAdjacentHTML('beforeend', '<p id="js">' + 'written-by-' + 'script</p>');</script>
</body></html>
EOF
backend_port=$(free_port)
timeout 120 python3 -m http.server "$backend_port" --bind 127.0.0.1 --directory "$work/www" \
  >"$work/backend.log" 2>&1 &
backend_pid=$!

# run_page NAME CURVES: HAProxy with gputls offering CURVES, Chromium loads the
# page once, HAProxy stops softly (its worker unloads gputls, which writes its
# counters). Leaves $work/NAME/{dom.html,netlog.json,chromium.log,haproxy.log}
# and $work/NAME/gputls.json (the counters summed over HAProxy's processes).
run_page() {
  local name=$1 curves=$2 dir="$work/$1" port
  mkdir -p "$dir"
  port=$(free_port)
  write_haproxy_gputls_cfg "$dir/haproxy.cfg" "$dir/haproxy.pid" "$modules" "$port" "$work/server.pem" "$curves" \
    "server backend 127.0.0.1:$backend_port"
  haproxy -c -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 || fail "$name: haproxy refused its configuration" "$name"
  GPUTLS_QUIET=1 GPUTLS_INLINE=0 GPUTLS_STATS_FILE="$dir/stats.%p.json" \
    timeout 120 haproxy -W -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 &
  haproxy_pid=$!
  # Listening is seen without connecting (a probe would be a handshake of its own).
  for _ in $(seq 100); do
    [ -s "$dir/haproxy.pid" ] && ss -Hltn "sport = :$port" | grep -q 127.0.0.1 && break
    kill -0 "$haproxy_pid" 2>/dev/null || fail "$name: haproxy exited at start" "$name"
    sleep 0.1
  done
  master_pid=$(cat "$dir/haproxy.pid" 2>/dev/null || true)
  { [ -n "$master_pid" ] && ss -Hltn "sport = :$port" | grep -q 127.0.0.1; } || fail "$name: haproxy does not listen" "$name"

  local t0=$SECONDS
  chromium_load "$dir" "https://$host:$port/" 127.0.0.1 "$spki" ||
    fail "$name: chromium exited with status $?" "$name"
  echo "$name: chromium loaded the page in $((SECONDS - t0)) s"

  kill -USR1 "$master_pid"  # soft stop: the worker finishes, unloads gputls and exits
  for _ in $(seq 100); do kill -0 "$master_pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$master_pid" 2>/dev/null && fail "$name: haproxy did not stop on SIGUSR1" "$name"
  master_pid=""
  wait "$haproxy_pid" 2>/dev/null || true
  haproxy_pid=""
  ls "$dir"/stats.*.json >/dev/null 2>&1 || fail "$name: no haproxy process wrote GPUTLS_STATS_FILE" "$name"
  python3 - "$dir"/stats.*.json >"$dir/gputls.json" <<'PY'
import json, sys
total = {}
for path in sys.argv[1:]:
    for op, counters in json.load(open(path))["provider"].items():
        for k, v in counters.items():
            if isinstance(v, (int, float)):
                total.setdefault(op, {}).setdefault(k, 0)
                total[op][k] += v
json.dump(total, sys.stdout)
PY
}

# counter RUN OP FIELD: gputls's counter in RUN's HAProxy processes.
counter() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], {}).get(sys.argv[3], 0))' \
  "$work/$1/gputls.json" "$2" "$3"; }

# check_page RUN: the DOM holds the marker and the script's line.
check_page() {
  grep -q "<p id=\"marker\">$marker</p>" "$work/$1/dom.html" || fail "$1: the backend's marker is not in the DOM" "$1"
  grep -q '<p id="js">written-by-script</p>' "$work/$1/dom.html" || fail "$1: the page's script did not run" "$1"
  echo "ok: $1: the page came through (marker and the script's line in the DOM)"
}

# 1. X25519MLKEM768 first, classic groups after it, as one would deploy it.
run_page pq X25519MLKEM768:x25519:secp256r1
check_page pq
echo "chromium's handshakes (pq):"; chromium_handshakes "$work/pq" | sed 's/^/  /' || true
groups=$(chromium_groups "$work/pq") || fail "pq: cannot read chromium's NetLog" pq
full=$(chromium_full_handshakes "$work/pq") || fail "pq: cannot read chromium's NetLog" pq
[ "$groups" = X25519MLKEM768 ] || fail "pq: chromium's handshakes used '$groups', want X25519MLKEM768 only" pq
[ "$full" -ge 1 ] || fail "pq: no completed full handshake in chromium's NetLog" pq
chromium_handshakes "$work/pq" | awk '$5 == "error=0" && $1 != "TLS1.3" { bad = 1 } END { exit bad }' ||
  fail "pq: a handshake was not TLS 1.3" pq
encaps=$(counter pq mlkem768_encaps engine)
encaps_other=$(( $(counter pq mlkem768_encaps sw) + $(counter pq mlkem768_encaps failed) ))
signs=$(counter pq rsa_sign engine)
echo "gputls in haproxy (pq): mlkem768_encaps engine=$encaps sw+failed=$encaps_other, rsa_sign engine=$signs;" \
  "chromium: $full full handshake(s)"
[ "$encaps" -ge "$full" ] || fail "pq: gputls encapsulated $encaps times on its engine for $full X25519MLKEM768 handshakes" pq
[ "$encaps_other" -eq 0 ] || fail "pq: ML-KEM encapsulations in software or failed" pq
[ "$signs" -ge "$full" ] || fail "pq: $signs RSA signatures on gputls's engine for $full handshakes" pq
echo "ok: pq: X25519MLKEM768 in chromium's NetLog and gputls's ML-KEM encapsulations in HAProxy"

# 2. Negative control: x25519 only. The same checks must see it.
run_page classic x25519
check_page classic
echo "chromium's handshakes (classic):"; chromium_handshakes "$work/classic" | sed 's/^/  /' || true
groups=$(chromium_groups "$work/classic") || fail "classic: cannot read chromium's NetLog" classic
[ "$groups" = x25519 ] || fail "classic: chromium's handshakes used '$groups', want x25519 only" classic
encaps=$(( $(counter classic mlkem768_encaps engine) + $(counter classic mlkem768_encaps sw) ))
x_derive=$(counter classic x25519_derive engine)
echo "gputls in haproxy (classic): mlkem768_encaps=$encaps, x25519_derive engine=$x_derive"
[ "$encaps" -eq 0 ] || fail "classic: gputls counted $encaps ML-KEM encapsulations for x25519 handshakes" classic
[ "$x_derive" -ge 1 ] || fail "classic: no X25519 key agreement on gputls's engine" classic
echo "ok: classic: the control run shows x25519 and no ML-KEM, so the checks above tell the groups apart"
echo PASS
