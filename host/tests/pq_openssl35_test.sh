#!/usr/bin/env bash
# Integration (ctest label "integration"): post-quantum interoperability with
# a TLS implementation gputls did not write. OpenSSL 3.5 (built from Debian
# trixie's source by scripts/build-openssl35.sh, ML-KEM in its own default
# provider) against the system's OpenSSL 3.0 with gputls, both directions,
# for X25519MLKEM768, SecP256r1MLKEM768 and MLKEM768:
#   3.5 s_client -> 3.0 s_server + gputls (the server's encapsulation in gputls)
#   3.0 s_client + gputls -> 3.5 s_server (the client's key share and decapsulation in gputls)
# Each gputls side's GPUTLS_STATS_FILE proves the ML-KEM work ran in gputls;
# 3.5's own report names the negotiated group. Exit 77 (skipped) without the 3.5 binary.
# Usage: pq_openssl35_test.sh MODULE_DIR [OPENSSL35]
set -euo pipefail
modules=$1
source "$(dirname "$0")/peer_util.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
ossl35=${2:-${GPUTLS_OPENSSL35:-$root/build/openssl-3.5/bin/openssl}}
if ! "$ossl35" version 2>/dev/null | grep -q '^OpenSSL 3\.[5-9]'; then
  echo "SKIPPED: no OpenSSL 3.5 at $ossl35 (scripts/build-openssl35.sh builds it; scripts/setup.sh runs it)"
  exit 77
fi
echo "peer: $("$ossl35" version)"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
prov=(-provider-path "$modules" -provider gputls -provider default -propquery '?provider=gputls')
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
  -subj /CN=localhost -days 1 2>/dev/null
mlkem_count() {  # stats-file op
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["provider"][sys.argv[2]]; print(s["engine"]+s["sw"])' "$1" "$2"
}

for group in X25519MLKEM768 SecP256r1MLKEM768 MLKEM768; do
  # 3.5 client -> 3.0 server with gputls
  port=$(free_port)
  GPUTLS_QUIET=1 GPUTLS_STATS_FILE="$work/srv-$group.json" timeout 30 openssl s_server "${prov[@]}" -groups "$group" \
    -cert "$work/cert.pem" -key "$work/key.pem" -accept "127.0.0.1:$port" -naccept 1 \
    >"$work/srv-$group.log" 2>&1 < <(sleep 40) &
  pids+=($!)
  wait_for_accept "$work/srv-$group.log"
  out=$(echo | timeout 10 "$ossl35" s_client -connect "127.0.0.1:$port" -tls1_3 -groups "$group" 2>&1) || true
  grep -q "Negotiated TLS1.3 group: $group" <<<"$out" ||
    { echo "FAIL: 3.5 client -> gputls server: $group not negotiated"; echo "$out" | tail -15; cat "$work/srv-$group.log"; exit 1; }
  wait "${pids[-1]}" || true
  n=$(mlkem_count "$work/srv-$group.json" mlkem768_encaps)
  [ "$n" = 1 ] || { echo "FAIL: gputls server: $n encapsulations for $group (1 expected)"; exit 1; }
  echo "ok: OpenSSL 3.5 s_client -> OpenSSL 3.0 s_server + gputls: $group (encapsulated in gputls)"

  # 3.0 client with gputls -> 3.5 server
  port=$(free_port)
  timeout 30 "$ossl35" s_server -groups "$group" -cert "$work/cert.pem" -key "$work/key.pem" \
    -accept "127.0.0.1:$port" -naccept 1 >"$work/srv35-$group.log" 2>&1 < <(sleep 40) &
  pids+=($!)
  wait_for_accept "$work/srv35-$group.log"
  out=$(echo | GPUTLS_QUIET=1 GPUTLS_STATS_FILE="$work/cli-$group.json" timeout 10 openssl s_client "${prov[@]}" \
        -connect "127.0.0.1:$port" -tls1_3 -groups "$group" 2>&1) || true
  { grep -q "Protocol *: *TLSv1.3" <<<"$out" || grep -q "New, TLSv1.3" <<<"$out"; } ||
    { echo "FAIL: gputls client -> 3.5 server: no TLS 1.3 handshake for $group"; echo "$out" | tail -15; cat "$work/srv35-$group.log"; exit 1; }
  wait "${pids[-1]}" || true
  for op in mlkem768_keygen mlkem768_decaps; do
    n=$(mlkem_count "$work/cli-$group.json" "$op")
    [ "$n" = 1 ] || { echo "FAIL: gputls client: $op ran $n times for $group (1 expected)"; exit 1; }
  done
  echo "ok: OpenSSL 3.0 s_client + gputls -> OpenSSL 3.5 s_server: $group (key share and decapsulation in gputls)"
done
echo "PASS"
