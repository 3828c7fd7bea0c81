#!/usr/bin/env bash
# ctest (label unit): short in-process gputls-bench runs. Every run must
# complete handshakes through the provider it names (gputls's counters match
# the benchmark's public-key model), mTLS, --bytes and resumption must do
# what they say, the JSON must match schema.json (and a broken one must not),
# and bad configurations must fail loudly.
# Usage: bench_test.sh GPUTLS_BENCH MODULE_DIR SCHEMA_DIR
set -euo pipefail
bench=$1 modules=$2 here=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GPUTLS_QUIET=1
run() {  # json-name args...
  local name=$1; shift
  "$bench" handshake --modules "$modules" --json "$work/$name.json" "$@"
}

run tls13 --provider default,gputls:cpu --tls 1.3 --count 40 --concurrency 4
run tls12 --provider default,gputls:cpu --tls 1.2 --cipher AES128-GCM-SHA256 --count 40 --concurrency 4 --async
# mTLS, 3000 bytes each way (one record), half the sessions resumed (TLS 1.3 tickets), two threads.
run tls13_mtls_resume --provider default,gputls:cpu --tls 1.3 --mtls --bytes 3000 --resume-ratio 0.5 --count 60 \
  --concurrency 4 --threads 2
# TLS 1.2 resumption (session IDs and tickets) with an ECDSA certificate, 40000 bytes (several records).
run tls12_ecdsa_resume --provider gputls:cpu --tls 1.2 --cert ecdsa-p256 --group P-256 --mtls --bytes 40000 \
  --resume-ratio 0.25 --count 60 --concurrency 4
# Post-quantum groups (gputls only; the in-process clients load their own copy of gputls.so): the
# server's encapsulation counted against the model, sync and SSL_MODE_ASYNC queued to the engine.
run tls13_x25519mlkem768 --provider gputls:cpu --tls 1.3 --group x25519mlkem768 --cert ecdsa-p256 --count 40 \
  --concurrency 4
GPUTLS_INLINE=0 run tls13_p256mlkem768_async --provider gputls:cpu --async --group SecP256r1MLKEM768 --count 40 \
  --concurrency 4 --threads 2
# One connection whose operations queue to the engine's thread: the loop sleeps in poll() at each
# pause (blocking_polls), and never with --busy-poll.
GPUTLS_INLINE=2 run c1_sleeps --provider gputls:cpu --async --count 40 --concurrency 1
GPUTLS_INLINE=2 run c1_busy_poll --provider gputls:cpu --async --busy-poll --count 40 --concurrency 1

python3 "$here/validate_json.py" "$here/schema.json" "$work"/*.json
python3 "$here/check_runs.py" 40 "$work"/*.json
python3 - "$work/c1_sleeps.json" "$work/c1_busy_poll.json" <<'PY2'
import json, sys
sleeps, busy = (json.load(open(p))[0] for p in sys.argv[1:])
assert not sleeps["busy_poll"] and sleeps["blocking_polls"] >= sleeps["handshakes"], sleeps["blocking_polls"]
assert busy["busy_poll"] and busy["blocking_polls"] == 0 and busy["async_waits"] >= busy["handshakes"], busy["blocking_polls"]
print(f"ok: concurrency 1 on the engine's thread: {sleeps['blocking_polls']} blocking polls for "
      f"{sleeps['handshakes']} handshakes; none with --busy-poll ({busy['async_waits']} pauses)")
PY2

# The checks can fail: a run without its p99, a run whose counters do not match.
python3 - "$work/tls13.json" "$work/broken.json" "$work/wrong.json" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))
broken = [dict(r) for r in runs]; del broken[0]["p99_ms"]
json.dump(broken, open(sys.argv[2], "w"))
wrong = [dict(r) for r in runs]; wrong[1]["handshakes"] *= 2
json.dump(wrong, open(sys.argv[3], "w"))
PY
if python3 "$here/validate_json.py" "$here/schema.json" "$work/broken.json" >/dev/null 2>&1; then
  echo "FAIL: a run without p99_ms passed the schema"; exit 1
fi
if python3 "$here/check_runs.py" 40 "$work/wrong.json" >/dev/null 2>&1; then
  echo "FAIL: gputls counters for half the handshakes passed"; exit 1
fi

fails() {  # expected-message args...
  local want=$1; shift
  if "$bench" handshake --modules "$modules" "$@" >"$work/bad.out" 2>&1; then
    echo "FAIL: $* did not fail"; exit 1
  fi
  grep -q -- "$want" "$work/bad.out" || { echo "FAIL: unclear error for $*:"; cat "$work/bad.out"; exit 1; }
  echo "ok: $* fails: $(grep -- "$want" "$work/bad.out" | head -1)"
}
fails 'unknown --cert "rsa1234"' --cert rsa1234 --count 1
fails '--busy-poll applies to the in-process server with --async' --busy-poll --count 1
fails 'unknown gputls policy "fpga"' --provider gputls:fpga --count 1
fails '--resume-ratio must be between 0 and 1' --resume-ratio 1.5 --count 1
fails '--bytes must be at least 1' --bytes 0 --count 1
fails "X25519MLKEM768 is a gputls group (OpenSSL 3.0's default provider has no ML-KEM)" --group x25519mlkem768 --count 1
fails '--group MLKEM768 is a TLS 1.3 group' --provider gputls:cpu --tls 1.2 --group mlkem768 --count 1
fails 'cipher list "NO-SUCH-CIPHER" matches nothing' --tls 1.2 --cipher NO-SUCH-CIPHER --count 1
echo PASS
