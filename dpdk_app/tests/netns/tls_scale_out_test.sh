#!/usr/bin/env bash
# Scaling out past one appliance (issue 22, "Past one box"): two appliances
# behind an ordinary L4 balancer, nftables DNAT spreading new connections with
# numgen over a map (kube-proxy's nftables mode balances a Service the same
# way, with numgen random over a verdict map), both reading the same ticket
# key file:
#   1. connections to the virtual IP are spread: each appliance's own stats
#      count full handshakes;
#   2. a session (TLS 1.3 ticket, TLS 1.2 ticket) made through the VIP on A
#      resumes through the VIP on B, and one made on B resumes on A ("Reused";
#      one appliance's full-handshake counter made it, the other's resumption
#      counter resumed it);
#   3. while two curl loops make new connections through the VIP back to back,
#      B is taken out of the map (one nft transaction, as an operator would):
#      no connection fails or needs a second SYN, and from then on B's
#      handshake counter stays put while A's counts every connection.
#
#   client ns (CLIENT_NS)        balancer ns ($NS)                root ns
#   10.213.9.2 --veth-- 10.213.9.1  DNAT VIP 10.213.8.1:443 --veth-- appliance A 10.213.0.1 (DPDK)
#                                   numgen inc mod 2        --veth-- appliance B 10.213.1.1 (DPDK)
#
# The appliances answer a segment's sender MAC, so their replies go back
# through the balancer (no route on them), where conntrack undoes the DNAT.
# Appliance only (two appliance processes; TLS_SERVER=haproxy skips).
source "$(dirname "$0")/tls_lib.sh"
[ "$TLS_SERVER" = appliance ] || skip "tls_scale_out runs two appliances (TLS_SERVER=$TLS_SERVER)"
command -v nft >/dev/null || skip "nft (nftables) is not installed; run scripts/setup.sh"

VIP=10.213.8.1
A_IP=$SERVER_IP               # 10.213.0.1, lib.sh's own appliance ("main")
B_IP=10.213.1.1
LB_CLIENT_SIDE=10.213.9.1     # the balancer's address towards the clients
CLIENT_NS="gtcl$ID"           # in_ns (tls_lib.sh's clients) runs here

tls_setup  # $NS (the balancer's namespace) with A's veth, PKI, ticket keys, backend
add_appliance b "$B_IP" 10.213.1.2

# Clients: their own namespace, one veth to the balancer, made inside the two
# namespaces (nothing in the root namespace), default route via the balancer.
add_netns "$CLIENT_NS"
ip link add "gtc$ID" netns "$CLIENT_NS" type veth peer name "gtl$ID" netns "$NS"
in_ns ip addr add 10.213.9.2/24 dev "gtc$ID"
in_ns ip link set "gtc$ID" up
in_ns ip route add default via "$LB_CLIENT_SIDE"
ip netns exec "$NS" ip addr add "$LB_CLIENT_SIDE/24" dev "gtl$ID"
ip netns exec "$NS" ip link set "gtl$ID" up
mkdir -p "/etc/netns/$CLIENT_NS"
echo "$VIP $SNI" >"/etc/netns/$CLIENT_NS/hosts"  # clients ask for gputls.test, get the VIP

# The balancer: forwarding on in its namespace only, and a nat table there.
# Each new connection (conntrack's first packet; nat chains see no other) takes
# the next slot of 2, and the map says which appliance is behind each slot.
# Taking an appliance out rewrites its slots to the others in one transaction;
# conntrack keeps connections already DNATed to it where they are.
ip netns exec "$NS" sysctl -qw net.ipv4.ip_forward=1
lb() { ip netns exec "$NS" nft "$@"; }
lb -f - <<EOF
table ip gputls_lb {
  map slots {
    typeof numgen inc mod 2 : ip daddr
    elements = { 0 : $A_IP, 1 : $B_IP }
  }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr $VIP tcp dport $TLS_PORT dnat to numgen inc mod 2 map @slots
  }
}
EOF
# set_slots IP0 IP1: the appliances behind slots 0 and 1, in one transaction
# (no new connection can see the map half-written).
set_slots() {
  lb -f - <<EOF
delete element ip gputls_lb slots { 0, 1 }
add element ip gputls_lb slots { 0 : $1, 1 : $2 }
EOF
  echo "balancer map: $(lb list map ip gputls_lb slots | grep -o 'elements = {[^}]*}')"
}

# Both appliances: same certificates, backend and ticket key file. Each worker
# busy-polls; on a 2-CPU machine they get one CPU each (A's on 1, B's on 0),
# so neither waits for the other's time slice.
APP_LCORES="0@0,1@1" start_tls_server --ticket-key-file "$PKI/tickets.key"
STATS_A=$STATS
use_appliance b
APP_LCORES="0@1,1@0" start_tls_server --ticket-key-file "$PKI/tickets.key"
STATS_B=$STATS
use_appliance main
echo "ok: appliances A ($A_IP) and B ($B_IP) up, one ticket key file"

# read_hs A|B FULL_VAR RESUMED_VAR: that appliance's full and resumed
# handshakes so far, from a stats file written after this call began.
read_hs() {
  local file=$STATS_A v
  [ "$1" = A ] || file=$STATS_B
  v=$($PY "$HERE/netns_client.py" value --fresh "$file" total.tls.handshakes_full total.tls.handshakes_resumed)
  printf -v "$2" '%s' "${v%%$'\n'*}"
  printf -v "$3" '%s' "${v##*$'\n'}"
}
# expect_hs WHAT A|B FULL RESUMED: that appliance's counters are exactly those.
expect_hs() {
  local f r
  read_hs "$2" f r
  [ "$f $r" = "$3 $4" ] || fail "$1: appliance $2 has $f full and $r resumed handshakes, want $3 and $4"
}

# 1. Spread: 10 new connections through the VIP.
for i in $(seq 10); do check_get "spread-$i"; done
read_hs A a_full a_res
read_hs B b_full b_res
[ $((a_full + b_full)) -eq 10 ] && [ $((a_res + b_res)) -eq 0 ] ||
  fail "spread: A $a_full full + B $b_full full handshakes, want 10 in all (resumed: $a_res, $b_res)"
[ "$a_full" -ge 1 ] && [ "$b_full" -ge 1 ] || fail "spread: A served $a_full, B $b_full of 10 connections"
echo "ok: 10 connections through the VIP spread over both: A $a_full full handshakes, B $b_full"

# 2. Cross-resumption, each appliance pinned in turn through the map: sessions
# made on A resume on B, one made on B resumes on A.
set_slots "$A_IP" "$A_IP"
new_session 1.3 "$WORK/from-a-1.3.pem"
new_session 1.2 "$WORK/from-a-1.2.pem"
check_ticket_key "$WORK/from-a-1.3.pem" "$PKI/tickets.key" 0
expect_hs "sessions made on A" A $((a_full + 2)) 0
expect_hs "sessions made on A" B "$b_full" 0
set_slots "$B_IP" "$B_IP"
check_resumed 1.3 "$WORK/from-a-1.3.pem"
check_resumed 1.2 "$WORK/from-a-1.2.pem"
expect_hs "A's sessions resumed on B" B "$b_full" 2
expect_hs "A's sessions resumed on B" A $((a_full + 2)) 0
echo "ok: TLS 1.3 and 1.2 sessions made on A (2 full handshakes there) resumed on B (2 resumptions there)"
new_session 1.3 "$WORK/from-b-1.3.pem"
set_slots "$A_IP" "$A_IP"
check_resumed 1.3 "$WORK/from-b-1.3.pem"
expect_hs "B's session resumed on A" B $((b_full + 1)) 2
expect_hs "B's session resumed on A" A $((a_full + 2)) 1
echo "ok: a TLS 1.3 session made on B resumed on A"

# 3. B taken out of the balancer mid-run. Two clients make new connections
# through the VIP back to back (each a new curl: new TCP connection, full
# handshake), so connections to B are in flight when it goes. Each attempt is
# logged "N PHASE RC" in its client's log, PHASE "after" when it began after
# the map no longer had B. Any failure is a lost new connection.
set_slots "$A_IP" "$B_IP"
CLIENTS=2
client_loop() {  # ID
  local i=0 phase rc body end=$((SECONDS + 90)) log="$WORK/loop-$1.log"
  while [ ! -e "$WORK/loop.stop" ] && [ $SECONDS -lt $end ]; do
    i=$((i + 1))
    phase=before
    [ -e "$WORK/b.removed" ] && phase=after
    rc=0
    body=$(tls_curl 10 "$URL/loop-$1-$i" 2>>"$WORK/loop-$1.err") || rc=$?
    [ $rc -ne 0 ] || [ "$body" = "backend saw /loop-$1-$i" ] || rc=100  # a wrong answer
    echo "$i $phase $rc" >>"$log"
  done
}
# count PHASE [ID]: attempts of that phase finished so far (by client ID, or
# by all).
count() {
  local logs=("$WORK"/loop-*.log)
  [ -z "${2:-}" ] || logs=("$WORK/loop-$2.log")
  cat "${logs[@]}" | awk -v p="$1" '$2 == p' | wc -l
}
# wait_until SECONDS WHAT CMD...: at least SECONDS passed and CMD is true,
# within 60 s.
wait_until() {
  local t0=$SECONDS secs=$1 what=$2
  shift 2
  while [ $((SECONDS - t0)) -lt "$secs" ] || ! "$@"; do
    [ $((SECONDS - t0)) -lt 60 ] || fail "clients: not $what within 60 s"
    sleep 0.2
  done
}
at_least() { [ "$(count "$1" "${3:-}")" -ge "$2" ]; }  # PHASE N [ID]
every_client_after() {  # every client has finished an attempt begun after the removal
  local c
  for c in $(seq $CLIENTS); do at_least after 1 "$c" || return 1; done
}
# The clients' SYN retransmissions (their namespace's own counter): a balancer
# that dropped a SYN while its map changed would cost a connection a second,
# not fail it; none may be needed.
syn_retrans() {
  in_ns awk '/^TcpExt:/ { if (!k) { for (i = 2; i <= NF; i++) if ($i == "TCPSynRetrans") k = i } else print $k }' \
    /proc/net/netstat
}
syn0=$(syn_retrans)
[ -n "$syn0" ] || fail "no TCPSynRetrans in the client namespace's /proc/net/netstat"
read_hs A a0 unused
read_hs B b0 unused
LOOP_PIDS=()
for c in $(seq $CLIENTS); do
  : >"$WORK/loop-$c.log"
  client_loop "$c" &
  LOOP_PIDS+=($!)
  EXTRA_PIDS+=($!)
done
wait_until 4 "6 connections before the removal" at_least before 6
set_slots "$A_IP" "$A_IP"  # B out: its slot goes to A
touch "$WORK/b.removed"
echo "B taken out of the balancer after $(count before) connections"
# Each client's attempt in flight at the removal (perhaps to B) ends before its
# first "after" one starts: once every client has finished one, B has had its
# last connection.
wait_until 0 "an attempt after the removal by every client" every_client_after
read_hs B b_s unused
wait_until 5 "10 connections after the removal" at_least after 10
touch "$WORK/loop.stop"
for p in "${LOOP_PIDS[@]}"; do wait "$p"; done
read_hs A a1 unused
read_hs B b1 unused
n_before=$(count before) n_after=$(count after)
n=$((n_before + n_after))
failed=$(cat "$WORK"/loop-*.log | awk '$3 != 0' | wc -l)
[ "$failed" -eq 0 ] || { tail -n +1 "$WORK"/loop-*; fail "$failed of $n new connections failed"; }
echo "ok: $n new connections through the VIP from $CLIENTS clients, none failed ($n_before begun before B's removal, $n_after after)"
syn1=$(syn_retrans)
[ "$syn1" -eq "$syn0" ] || fail "the clients retransmitted $((syn1 - syn0)) SYNs (a SYN was lost)"
echo "ok: no SYN was retransmitted"
[ $((a1 - a0 + b1 - b0)) -eq $n ] ||
  fail "handshakes counted: A $((a1 - a0)) + B $((b1 - b0)), want one per connection ($n)"
[ $((b_s - b0)) -ge 1 ] || fail "B served none of the $n_before connections before its removal"
[ "$b1" -eq "$b_s" ] ||
  fail "B's full handshakes grew from $b_s to $b1 after its removal had taken effect"
echo "ok: B served $((b_s - b0)) of them, all before its removal; A the other $((a1 - a0))"

# Final stats: both stopped cleanly, nothing failed, and both handshook on
# gputls's engine.
stop_tls_server
# shellcheck disable=SC2046
check_stats 'total.tls.handshake_failures==0' 'total.tls.active==0' 'total.proxy.active==0' \
  'total.tls.handshakes_resumed==1' $(gputls_offload_checks 5)
use_appliance b
stop_tls_server
# shellcheck disable=SC2046
check_stats 'total.tls.handshake_failures==0' 'total.tls.active==0' 'total.proxy.active==0' \
  'total.tls.handshakes_resumed==2' $(gputls_offload_checks 4)
use_appliance main
echo PASS
