#!/usr/bin/env bash
# ctest (label integration): gputls-bench's network mode against real
# `openssl s_server`s it starts on free loopback ports: TLS 1.3 and 1.2, the
# echo exchange (s_server -rev) with --bytes and resumption, mTLS with a
# client certificate the server verifies, HTTP (s_server -www), server CPU
# from --server-pid; and failing configurations (nothing listening, a wrong
# CA, a wrong name, a server that does not echo) exit non-zero with a clear
# message.
# Usage: net_test.sh GPUTLS_BENCH SCHEMA_DIR
set -euo pipefail
bench=$1 here=$2
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

# A CA, a server certificate for gputls.test, a client certificate; and an unrelated CA.
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -subj /CN=bench-ca -days 1 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other-ca.pem -subj /CN=other-ca -days 1 2>/dev/null
for who in server client; do
  openssl req -newkey rsa:2048 -nodes -keyout $who.key -out $who.csr -subj /CN=$who.gputls.test 2>/dev/null
  printf 'subjectAltName=DNS:gputls.test\n' >ext.cnf
  openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $who.pem -days 1 -extfile ext.cnf \
    2>/dev/null
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
server_pid=""
start_server() {  # mode-flag: -rev (echo) or -www (HTTP); sets port, server_pid
  port=$(free_port)
  # stdin stays open (s_server stops at EOF on stdin); -verify 1: asks for a client certificate and
  # verifies one if sent.
  openssl s_server -quiet -cert server.pem -key server.key -CAfile ca.pem -verify 1 "$1" \
    -accept "127.0.0.1:$port" >"server$port.log" 2>&1 < <(sleep 130) &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 100); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "FAIL: s_server did not start"; cat "server$port.log"; exit 1
}
net() {  # json-name args...
  local name=$1; shift
  "$bench" handshake --ca ca.pem --servername gputls.test --label s_server --json "$name.json" "$@"
}

start_server -rev
echo_port=$port echo_pid=$server_pid
net tls13_echo --connect "127.0.0.1:$echo_port" --tls 1.3 --count 100 --concurrency 8 --threads 2 --bytes 3000 \
  --resume-ratio 0.5 --server-pid "$echo_pid"
net tls12_mtls --connect "127.0.0.1:$echo_port" --tls 1.2 --count 40 --concurrency 4 --mtls \
  --client-cert client.pem --client-key client.key --resume-ratio 0.25
start_server -www
net tls13_http --connect "127.0.0.1:$port" --tls 1.3 --app http --count 40 --concurrency 4

python3 "$here/validate_json.py" "$here/schema.json" ./*.json
python3 "$here/check_runs.py" 40 ./*.json
python3 - <<'PY'
import json
r = json.load(open("tls13_echo.json"))[0]
assert r["mode"] == "network" and r["target"].startswith("127.0.0.1:"), r["target"]
assert r["server_cpu_us_per_handshake"] is not None and r["server_cpu_us_per_handshake"] > 0, "no server CPU"
h = json.load(open("tls13_http.json"))[0]
assert h["bytes_received"] > h["handshakes"] * 100, "s_server -www's page was not read"
print("ok: server CPU", round(r["server_cpu_us_per_handshake"]), "us/handshake; HTTP responses read")
PY

fails() {  # expected-message args...
  local want=$1; shift
  if "$bench" handshake --count 5 --concurrency 2 "$@" >bad.out 2>&1; then
    echo "FAIL: $* did not fail"; exit 1
  fi
  grep -q -- "$want" bad.out || { echo "FAIL: unclear error for $*:"; cat bad.out; exit 1; }
  echo "ok: fails: $(grep -- "$want" bad.out | head -1)"
}
fails "Connection refused" --connect "127.0.0.1:$(free_port)" --ca ca.pem
fails "certificate verify failed" --connect "127.0.0.1:$echo_port" --ca other-ca.pem --servername gputls.test
fails "hostname mismatch" --connect "127.0.0.1:$echo_port" --ca ca.pem --servername wrong.test
fails "needs --ca FILE" --connect "127.0.0.1:$echo_port"
fails "needs --client-cert FILE" --connect "127.0.0.1:$echo_port" --ca ca.pem --mtls
fails "does the server speak --app echo" --connect "127.0.0.1:$port" --ca ca.pem --servername gputls.test --duration 1
echo PASS
