#!/usr/bin/env bash
# The same transfers with 1% drop, 1% reordering and 1% duplication in both
# directions (seeded, in the appliance's port layer): every byte still right.
source "$(dirname "$0")/lib.sh"
netns_setup
start_appliance --impair-drop 0.01 --impair-reorder 0.01 --impair-dup 0.01 --impair-seed 7
in_ns timeout 120 $PY "$HERE/netns_client.py" echo "$SERVER_IP" 7 --conns 50 --bytes 20000 --timeout 90
in_ns timeout 150 $PY "$HERE/netns_client.py" download "$SERVER_IP" 9000 --size $((10 * 1024 * 1024)) --timeout 120
in_ns timeout 150 $PY "$HERE/netns_client.py" download "$SERVER_IP" 9000 --size $((2 * 1024 * 1024)) --conns 4 --timeout 120
stop_appliance
$PY "$HERE/netns_client.py" stats "$STATS" 'total.drops.impair_drop>=10' 'total.tcp_retransmits>=1' \
  'total.tcp_dup_segments>=1' 'total.tcp_fast_retransmits>=1' 'total.tcp_ooo_segments>=1' 'total.tcp_conns_opened>=55' 'total.tcp_conns_active==0'
echo PASS
