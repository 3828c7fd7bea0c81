#!/usr/bin/env bash
# TLS termination with real clients in the namespace (TLS_SERVER=haproxy runs
# the same clients against HAProxy, see tls_lib.sh):
#   1. openssl s_client TLS 1.2 and 1.3, RSA and ECDSA server certificates
#      (chosen by -sigalgs, checked in the output), each request proxied to the
#      backend; TLS 1.2 RSA key exchange; curl downloads the backend's 10 MiB file (TLS 1.3 and 1.2,
#      sha256 compared); session tickets (from a shared ticket key file)
#      resume TLS 1.3 and 1.2 sessions; gputls's counters show the signatures
#      and key exchanges ran on its engine.
#   2. mTLS (--client-ca): a client certificate from the CA is accepted; no
#      certificate, or one from another CA, is refused, and counted.
source "$(dirname "$0")/tls_lib.sh"
tls_setup

# RSA key exchange is off by default (forward secrecy only, issue 22.8): this
# server adds it to the default list to test gputls's RSA decryption.
start_tls_server --ticket-key-file "$PKI/tickets.key" --ciphers \
  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:AES128-GCM-SHA256"
for v in 1.2 1.3; do
  for c in rsa ec; do check_handshake "$v" "$c"; done
done
check_get tls12-rsa-key-exchange --tlsv1.2 --tls-max 1.2 --ciphers AES128-GCM-SHA256
check_download --tlsv1.3
check_download --tlsv1.2 --tls-max 1.2
check_resumption 1.3
check_resumption 1.2
check_ticket_key "$WORK/session-1.3.pem" "$PKI/tickets.key" "$TICKET_ENC_INDEX"
stop_tls_server
# shellcheck disable=SC2046
check_stats 'total.tls.handshakes_full>=9' 'total.tls.handshakes_resumed>=2' 'total.tls.handshake_failures==0' \
  'total.tls.active==0' 'total.proxy.backend_connects>=10' 'total.proxy.bytes_from_backend>=20971520' \
  'total.proxy.active==0' 'total.tls.async_pauses>=8' $(gputls_offload_checks 8) \
  'gputls.provider.rsa_sign.engine>=1' 'gputls.provider.ecdsa_sign.engine>=1' 'gputls.provider.rsa_decrypt.engine>=1' \
  'gputls.provider.rsa_sign.async_paused+gputls.provider.ecdsa_sign.async_paused>=8' \
  'gputls.provider.aes_gcm_seal.engine>=10' 'gputls.provider.aes_gcm_open.engine>=10' \
  'gputls.provider.rsa_sign.sw+gputls.provider.ecdsa_sign.sw+gputls.provider.rsa_sign.failed==0'

# Another server with the same ticket key file resumes the first one's
# sessions (what several appliances sharing the file rely on). The appliance
# re-reads the file when it changes: a new first key then makes the tickets,
# the old keys still open the old ones.
start_tls_server --ticket-key-file "$PKI/tickets.key"
check_resumed 1.3 "$WORK/session-1.3.pem"
check_resumed 1.2 "$WORK/session-1.2.pem"
echo "ok: sessions resumed across a restart (shared ticket keys)"
if [ "$TLS_SERVER" = appliance ]; then
  (umask 077; { openssl rand 80; cat "$PKI/tickets.key"; } >"$PKI/tickets.new")
  mv "$PKI/tickets.new" "$PKI/tickets.key"
  for _ in $(seq 20); do
    new_session 1.3 "$WORK/session-rotated.pem"
    [ "$(ticket_key_name "$WORK/session-rotated.pem")" = "$(key_file_name "$PKI/tickets.key" 0)" ] && break
    sleep 0.5
  done
  check_ticket_key "$WORK/session-rotated.pem" "$PKI/tickets.key" 0
  check_resumed 1.3 "$WORK/session-1.3.pem"
  check_resumed 1.3 "$WORK/session-rotated.pem"
  echo "ok: rotated ticket key used for new tickets, old tickets still resume"
else
  echo "skipped: ticket key file rotation (HAProxy rotates through its runtime API, not the file)"
fi
stop_tls_server
check_stats 'total.tls.handshakes_resumed>=2' 'total.tls.handshake_failures==0'

start_tls_server --client-ca "$PKI/ca.pem"
check_get mtls-ok-1.3 --tlsv1.3 --cert "$PKI/client.pem" --key "$PKI/client.key"
check_get mtls-ok-1.2 --tlsv1.2 --tls-max 1.2 --cert "$PKI/client.pem" --key "$PKI/client.key"
check_refused "mTLS 1.3 without a client certificate" --tlsv1.3
check_refused "mTLS 1.2 without a client certificate" --tlsv1.2 --tls-max 1.2
check_refused "mTLS 1.3 with a certificate from another CA" --tlsv1.3 --cert "$PKI/rogue.pem" --key "$PKI/rogue.key"
check_get mtls-still-serving --cert "$PKI/client.pem" --key "$PKI/client.key"
stop_tls_server
check_stats 'total.tls.client_certs_verified>=3' 'total.tls.handshake_failures>=3' 'total.tls.failures.*>=3' \
  'total.tls.alerts_sent.*>=3' 'total.tls.active==0'
echo PASS
