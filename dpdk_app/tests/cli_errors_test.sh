#!/usr/bin/env bash
# The appliance's own argument and start-up errors: right exit status and a
# message that says what to do. Needs no NIC, namespace or root.
set -uo pipefail
B=${APPLIANCE:?set APPLIANCE to the gputls-appliance binary}
prefix="gtcli$$"
conf=$(mktemp /tmp/gputls-appliance-conf.XXXXXX)
trap 'rm -rf "/var/run/dpdk/$prefix" "${XDG_RUNTIME_DIR:-/nonexistent}/dpdk/$prefix" "$conf"' EXIT
fail=0
expect() {  # NAME WANT_RC WANT_TEXT COMMAND...
  local name=$1 want_rc=$2 want_text=$3; shift 3
  local out rc
  out=$(timeout 30 "$@" 2>&1); rc=$?
  if [ "$rc" -ne "$want_rc" ] || ! grep -qF -- "$want_text" <<<"$out"; then
    echo "FAIL $name: exit $rc (want $want_rc), output:"; echo "$out" | tail -n 5; fail=1
  else
    echo "ok   $name"
  fi
}
eal=(--no-huge -m 64 --no-pci --no-shconf --file-prefix "$prefix" --log-level=error)
expect help 0 "--max-half-open" "$B" -- --help
expect missing_ip 2 "--ip is required" "$B" --
expect bad_ip 2 "is not an IPv4 address" "$B" -- --ip 10.1.2
expect bad_range 2 "--rcv-buf" "$B" -- --ip 10.0.0.1 --rcv-buf 10
expect bad_eal 1 "EAL init failed" "$B" --no-such-eal-flag -- --ip 10.0.0.1
expect one_lcore 1 "give at least two lcores" "$B" --lcores=0@0 "${eal[@]}" -- --ip 10.0.0.1
expect no_port 1 "no DPDK port 0" "$B" --lcores=0@0,1@0 "${eal[@]}" -- --ip 10.0.0.1
# A config file instead of flags: the address comes from it (start-up then
# stops at the lcore check, after the options were accepted).
printf 'ip = "10.0.0.1"\nmax-connections = 100\n' >"$conf"
expect config_file 1 "give at least two lcores" "$B" --lcores=0@0 "${eal[@]}" -- --config "$conf"
printf 'ip = "10.0.0.999"\n' >"$conf"
expect config_bad_ip 2 "is not an IPv4 address" "$B" -- --config "$conf"
# TLS termination: flags checked, and the certificate files loaded and checked
# before EAL touches a NIC (exit 2, no EAL arguments needed).
expect tls_help 0 "--ticket-key-file" "$B" -- --help
expect cert_without_key 2 "give them in pairs" "$B" -- --ip 10.0.0.1 --cert a.pem --backend 127.0.0.1:80
expect tls_without_backend 2 "needs --backend" "$B" -- --ip 10.0.0.1 --cert a.pem --key a.key
expect backend_without_tls 2 "--backend without --cert" "$B" -- --ip 10.0.0.1 --backend 127.0.0.1:80
expect bad_backend 2 "is not 1..65535" "$B" -- --ip 10.0.0.1 --cert a.pem --key a.key --backend 127.0.0.1:0
expect missing_cert 2 "--cert /nonexistent/cert.pem" "$B" -- --ip 10.0.0.1 --cert /nonexistent/cert.pem \
  --key /nonexistent/key.pem --backend 127.0.0.1:80 --provider default
expect bad_tls_version 2 "1.2 or 1.3" "$B" -- --ip 10.0.0.1 --cert /nonexistent/cert.pem \
  --key /nonexistent/key.pem --backend 127.0.0.1:80 --tls-min 1.0
exit $fail
