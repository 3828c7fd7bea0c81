#!/usr/bin/env bash
# Headless Chromium (Debian's `chromium`: BoringSSL, a TLS client nobody here
# wrote) in the client namespace loads a page through the appliance (TLS
# termination with gputls, proxied to the backend) with the appliance's
# default groups (X25519MLKEM768 first), and the key exchange is shown to be
# X25519MLKEM768 from both ends:
#   - the appliance's stats: every completed handshake counted under
#     total.tls.key_exchange_groups.X25519MLKEM768 (none under x25519), and
#     gputls's ML-KEM encapsulations on its engine;
#   - Chromium's NetLog: every completed handshake reports key_exchange_group
#     X25519MLKEM768 (0x11EC), TLS 1.3.
# The page (the backend's answer naming the requested path) must be in the DOM.
# Negative control: the appliance restarted with --groups x25519 gives x25519
# in both places and no ML-KEM, so the checks tell the groups apart.
# Chromium runs in the namespace (ip netns exec) like the other clients; it
# reaches nothing but the appliance (chromium_util.sh: its resolver maps only
# gputls.test) and trusts the server certificates by their public keys.
# Appliance with gputls only (HAProxy's side: host/tests/chromium_haproxy_test.sh).
source "$(dirname "$0")/tls_lib.sh"
source "$HERE/../../../host/tests/chromium_util.sh"
[ "$TLS_SERVER" = haproxy ] && skip "the appliance's group counters are under test (HAProxy: host/tests/chromium_haproxy_test.sh)"
[ "$TLS_PROVIDER" = gputls ] || skip "X25519MLKEM768 needs the gputls provider (TLS_PROVIDER=$TLS_PROVIDER)"
chromium_binary >/dev/null || skip "chromium is not installed; run scripts/setup.sh"
tls_setup
# The appliance offers both certificates (OpenSSL picks by the client's
# signature algorithms): both public keys are accepted.
spki="$(spki_sha256 "$PKI/rsa.pem"),$(spki_sha256 "$PKI/ec.pem")"

# load_page NAME: Chromium in the namespace loads $URL/chromium-NAME-$ID once;
# the backend's answer must be in the DOM. Its files stay in $WORK/NAME.
load_page() {
  local name=$1 dir="$WORK/$1" t0=$SECONDS rc=0
  chromium_load "$dir" "$URL/chromium-$name-$ID" "$SERVER_IP" "$spki" ip netns exec "$NS" || rc=$?
  [ $rc -eq 0 ] || { tail -n 20 "$dir/chromium.log"; chromium_handshakes "$dir" 2>&1; fail "$name: chromium exited with status $rc"; }
  grep -q "backend saw /chromium-$name-$ID" "$dir/dom.html" ||
    { head -c 2000 "$dir/dom.html"; echo; chromium_handshakes "$dir" 2>&1; fail "$name: the backend's answer is not in the DOM"; }
  echo "ok: $name: chromium loaded the page through the appliance in $((SECONDS - t0)) s"
  echo "chromium's handshakes ($name):"; chromium_handshakes "$dir" | sed 's/^/  /' || true
}

# 1. The appliance's defaults (X25519MLKEM768 first).
start_tls_server
load_page pq
groups=$(chromium_groups "$WORK/pq") || fail "pq: cannot read chromium's NetLog"
full=$(chromium_full_handshakes "$WORK/pq") || fail "pq: cannot read chromium's NetLog"
[ "$groups" = X25519MLKEM768 ] || fail "pq: chromium's handshakes used '$groups', want X25519MLKEM768 only"
[ "$full" -ge 1 ] || fail "pq: no completed full handshake in chromium's NetLog"
chromium_handshakes "$WORK/pq" | awk '$5 == "error=0" && $1 != "TLS1.3" { bad = 1 } END { exit bad }' ||
  fail "pq: a handshake was not TLS 1.3"
stop_tls_server
check_stats "total.tls.key_exchange_groups.X25519MLKEM768>=$full" \
  'total.tls.key_exchange_groups.X25519MLKEM768==total.tls.handshakes_full+total.tls.handshakes_resumed' \
  'total.tls.key_exchange_groups.x25519==0' 'total.tls.active==0' \
  "gputls.provider.mlkem768_encaps.engine>=$full" \
  'gputls.provider.mlkem768_encaps.sw+gputls.provider.mlkem768_encaps.failed==0'
echo "ok: pq: X25519MLKEM768 in the appliance's stats and in chromium's NetLog"

# 2. Negative control: x25519 only.
rm -f "$STATS"
start_tls_server --groups x25519
load_page classic
groups=$(chromium_groups "$WORK/classic") || fail "classic: cannot read chromium's NetLog"
[ "$groups" = x25519 ] || fail "classic: chromium's handshakes used '$groups', want x25519 only"
stop_tls_server
check_stats 'total.tls.key_exchange_groups.x25519>=1' 'total.tls.key_exchange_groups.X25519MLKEM768==0' \
  'gputls.provider.mlkem768_encaps.engine+gputls.provider.mlkem768_encaps.sw==0'
echo "ok: classic: the control run shows x25519 and no ML-KEM, so the checks above tell the groups apart"
echo PASS
