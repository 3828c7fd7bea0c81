#!/usr/bin/env bash
# ARP and ICMP echo through the appliance; stats count them; clean SIGTERM stop.
source "$(dirname "$0")/lib.sh"
netns_setup
start_appliance
in_ns ping -c 20 -i 0.05 -W 2 "$SERVER_IP" | tail -n 2
in_ns ping -c 3 -s 1400 -W 2 "$SERVER_IP" >/dev/null  # large payload
stop_appliance
$PY "$HERE/netns_client.py" stats "$STATS" 'total.icmp_echo_replies>=23' 'total.arp_replies>=1' \
  'total.drops.ip_bad_checksum==0' 'total.drops.icmp_bad_checksum==0'
echo PASS
