# shellcheck shell=bash
# Shared set-up for the appliance's TLS netns tests (sourced by tls_*_test.sh,
# on top of lib.sh): test PKI and ticket keys made in the test's temp dir, a
# plaintext HTTP backend on 127.0.0.1, the TLS server, and client checks that
# the tests share.
#
# TLS_SERVER=appliance (default): gputls-appliance terminates TLS on the veth
#   (DPDK), with the gputls provider ($GPUTLS_PROVIDER = path of gputls.so).
# TLS_SERVER=haproxy: HAProxy 2.6 (kernel TCP) on the root side of the same veth,
#   with the same certificates, backend and gputls provider (ssl-provider,
#   ssl-mode-async): the same clients run unchanged, so the client side of each
#   test is known to work before the appliance has TLS. The appliance's own
#   stats are not there; only the gputls.* checks run (from the provider's
#   counters, written by HAProxy's worker at exit), the rest are listed as
#   skipped. Impairment flags are ignored (no netem on these machines).
# TLS_SERVER=nginx: nginx 1.22 (kernel TCP) the same way, for the benchmark
#   (scripts/bench_tls_appliance.sh; no test runs it): gputls loaded through an
#   OpenSSL configuration file (nginx has no provider directive), synchronous
#   (stock nginx has no SSL_MODE_ASYNC), one worker; SERVER_CPUS pins it.
# Also: TLS_PROVIDER=gputls (default) or default (OpenSSL's, for both servers);
# TLS_CERTS="rsa ec" (default; the server certificates loaded; also rsa4096,
# made only when listed); HAPROXY_CPUS / SERVER_CPUS (taskset list for HAProxy /
# nginx, for the benchmark).
TLS_PROVIDER=${TLS_PROVIDER:-gputls}
TLS_CERTS=${TLS_CERTS:-rsa ec}
HAPROXY_CPUS=${HAPROXY_CPUS:-}
# gputls queues every operation to its engine even without a GPU, so with
# SSL_MODE_ASYNC the server's handshakes really pause on the provider's wait fds
# and resume from its loop (the tests assert the pauses). The benchmark sets 1:
# the provider's default (inline on the CPU when there is nothing to batch for).
export GPUTLS_INLINE=${GPUTLS_INLINE:-0} GPUTLS_QUIET=1
if [ "${TLS_SERVER:=appliance}" != appliance ]; then
  APPLIANCE=${APPLIANCE:-unused}
fi
SERVER_CPUS=${SERVER_CPUS:-$HAPROXY_CPUS}
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TLS_PORT=443
SNI=gputls.test            # in the certificates, resolved in the namespace by /etc/netns/$NS/hosts
URL="https://$SNI:$TLS_PORT"
PKI="$WORK/pki"
WWW="$WORK/www"
BIG_SHA=""                 # sha256 of $WWW/big.bin (10 MiB of random bytes)
BACKEND_PORT=""
BACKEND_PID=""

tls_setup() {
  for tool in openssl curl; do command -v "$tool" >/dev/null || skip "$tool is not installed; run scripts/setup.sh"; done
  if [ "$TLS_SERVER" = haproxy ] || [ "$TLS_SERVER" = nginx ]; then
    command -v "$TLS_SERVER" >/dev/null || skip "$TLS_SERVER is not installed; run scripts/setup.sh"
  else
    [ -x "$APPLIANCE" ] || skip "no appliance binary at $APPLIANCE"
    # A build from before TLS termination (its --help needs no EAL set-up).
    # The help is read whole first: grep -q stopping early would SIGPIPE the
    # appliance and, under pipefail, look like a missing flag.
    local help
    help=$(timeout 20 "$APPLIANCE" -- --help 2>/dev/null || true)
    grep -q -- --tls-port <<<"$help" ||
      skip "this gputls-appliance has no --tls-port (no TLS termination built); TLS_SERVER=haproxy runs the clients against HAProxy"
  fi
  [ -f "${GPUTLS_PROVIDER:-}" ] || skip "set GPUTLS_PROVIDER to gputls.so (ctest does)"
  netns_setup
  mkdir -p "/etc/netns/$NS"
  echo "$SERVER_IP $SNI" >"/etc/netns/$NS/hosts"
  make_tls_material
  start_backend
}

# make_tls_material: into $PKI, a CA; server certificates RSA-2048 and ECDSA
# P-256 for $SNI and $SERVER_IP signed by it; a client certificate from the
# CA and one from another CA (to be refused); three 80-byte ticket keys (16 name,
# 32 HMAC, 32 AES each; raw for the appliance, base64 lines for HAProxy). Into
# $WWW the backend's 10 MiB random file. Nothing here is ever committed.
make_tls_material() {
  mkdir -p "$PKI" "$WWW"
  local q=(-days 2 -sha256)
  sign() {  # name issuer ext...: signs $PKI/name.csr with issuer's key
    local name=$1 issuer=$2; shift 2
    printf '%s\n' "$@" >"$PKI/$name.ext"
    openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$issuer.pem" -CAkey "$PKI/$issuer.key" -CAcreateserial \
      -out "$PKI/$name.pem" "${q[@]}" -extfile "$PKI/$name.ext" 2>/dev/null
  }
  for ca in ca otherca; do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/$ca.key" -out "$PKI/$ca.pem" \
      -subj "/CN=gputls test $ca" "${q[@]}" -addext basicConstraints=critical,CA:TRUE 2>/dev/null
  done
  openssl req -new -newkey rsa:2048 -nodes -keyout "$PKI/rsa.key" -out "$PKI/rsa.csr" -subj "/CN=$SNI" 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/ec.key" -out "$PKI/ec.csr" \
    -subj "/CN=$SNI" 2>/dev/null
  local servers="rsa ec"
  if [[ " $TLS_CERTS " == *" rsa4096 "* ]]; then  # a server-bound handshake (the benchmark)
    openssl req -new -newkey rsa:4096 -nodes -keyout "$PKI/rsa4096.key" -out "$PKI/rsa4096.csr" -subj "/CN=$SNI" 2>/dev/null
    servers+=" rsa4096"
  fi
  for s in $servers; do
    sign "$s" ca "subjectAltName=DNS:$SNI,IP:$SERVER_IP" "extendedKeyUsage=serverAuth"
    cat "$PKI/$s.pem" "$PKI/$s.key" >"$PKI/haproxy-$s.pem"
  done
  for c in client:ca rogue:otherca; do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/${c%:*}.key" \
      -out "$PKI/${c%:*}.csr" -subj "/CN=gputls test ${c%:*} client" 2>/dev/null
    sign "${c%:*}" "${c#*:}" "extendedKeyUsage=clientAuth"
  done
  # Three: HAProxy wants at least 3 (previous, current, next).
  (umask 077; openssl rand 240 >"$PKI/tickets.key")  # the appliance refuses a key file others can read
  for k in 0 1 2; do dd if="$PKI/tickets.key" bs=80 skip=$k count=1 status=none | base64 -w0; echo; done >"$PKI/tickets.b64"
  head -c $((10 << 20)) /dev/urandom >"$WWW/big.bin"
  BIG_SHA=$(sha256sum "$WWW/big.bin" | cut -d' ' -f1)
}

# start_backend: tls_backend.py on 127.0.0.1 (a free port the first time, the
# same port after stop_backend, so the TLS server's --backend stays right).
start_backend() {
  [ -n "$BACKEND_PORT" ] || BACKEND_PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  # Emptied here, not only by the redirect below: that runs in the forked
  # child, and until it does the log still says the previous backend's
  # "listening" (after stop_backend), which the loop below would take for the
  # new one: the next request then found no listener (connect refused).
  : >"$WORK/backend.log"
  $PY "$HERE/tls_backend.py" --port "$BACKEND_PORT" --dir "$WWW" >"$WORK/backend.log" 2>&1 &
  BACKEND_PID=$!
  EXTRA_PIDS+=("$BACKEND_PID")
  for _ in $(seq 50); do
    grep -q listening "$WORK/backend.log" && return 0
    kill -0 "$BACKEND_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "backend did not start:"; cat "$WORK/backend.log"; return 1
}

# stop_backend: the backend goes away; connections to its port are refused.
stop_backend() {
  kill -TERM "$BACKEND_PID"; wait "$BACKEND_PID" 2>/dev/null || true
  BACKEND_PID=""
}

# start_tls_server [appliance TLS flags...]: the server under test on
# $SERVER_IP:$TLS_PORT, both server certificates, the backend, the gputls
# provider. Flags are the appliance's (--client-ca, --ticket-key-file,
# --no-tickets, --tls-min, --tls-max, --ciphers, --ciphersuites,
# --handshake-timeout-ms, --keylog-file,
# --impair-*); in HAProxy mode they are translated to its configuration.
start_tls_server() {
  if [ "$TLS_SERVER" = haproxy ]; then start_haproxy "$@"; return; fi
  if [ "$TLS_SERVER" = nginx ]; then start_nginx "$@"; return; fi
  local certs=() c
  for c in $TLS_CERTS; do certs+=(--cert "$PKI/$c.pem" --key "$PKI/$c.key"); done
  [ "$TLS_PROVIDER" = gputls ] && certs+=(--provider-module "$GPUTLS_PROVIDER")
  start_appliance --tls-port "$TLS_PORT" "${certs[@]}" --backend "127.0.0.1:$BACKEND_PORT" \
    --provider "$TLS_PROVIDER" "$@"
}

# stop_tls_server: stops it cleanly; then $STATS holds its final stats (in
# HAProxy mode: {"gputls": the provider's counters summed over its processes}).
stop_tls_server() {
  if [ "$TLS_SERVER" = nginx ]; then stop_nginx; return; fi
  if [ "$TLS_SERVER" != haproxy ]; then
    # Clients have exited, but closing runs on after them (close_notify ->
    # backend half-close -> backend EOF -> our close_notify and FIN): let the
    # appliance finish those (at most 10 s) so the final stats count them.
    for _ in $(seq 100); do
      $PY - "$STATS" <<'PY' && break
import json, sys
t = json.load(open(sys.argv[1])).get("total", {})
sys.exit(0 if t.get("tls", {}).get("active", 0) == 0 and t.get("proxy", {}).get("active", 0) == 0 else 1)
PY
      sleep 0.1
    done
    stop_appliance
    return
  fi
  stop_kernel_server USR1  # soft stop: the worker unloads gputls, which writes its counters
}

# stop_kernel_server SIGNAL: stops HAProxy or nginx with its graceful signal
# (at most 10 s), gives the veth back to the appliance, sums gputls's counters.
stop_kernel_server() {
  kill -"$1" "$APP_PID"
  for _ in $(seq 100); do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$APP_PID" 2>/dev/null; then echo "$TLS_SERVER did not stop on SIG$1 in 10 s"; return 1; fi
  wait "$APP_PID" || true
  APP_PID=""
  ip addr del "$SERVER_IP/24" dev "$VETH_DPDK"  # the veth is the appliance's again
  gputls_stats_of_processes
}

# $STATS = {"gputls": the provider's counters summed over the kernel-TCP
# server's processes} (each wrote $WORK/gputls.<pid>.json as it unloaded gputls).
gputls_stats_of_processes() {
  $PY - "$STATS" "$WORK" <<'PY'
import glob, json, os, sys
total = {}
for path in glob.glob(os.path.join(sys.argv[2], "gputls.*.json")):  # none with the default provider
    for op, counters in json.load(open(path)).get("provider", {}).items():
        for k, v in counters.items():
            if isinstance(v, (int, float)):
                total.setdefault(op, {}).setdefault(k, 0)
                total[op][k] += v
json.dump({"running": False, "gputls": {"provider": total}}, open(sys.argv[1], "w"), indent=1)
PY
  rm -f "$WORK"/gputls.*.json
}

start_haproxy() {
  local bind_opts="" timeout_client="20s" keylog="" c crts="" providers=""
  while [ $# -gt 0 ]; do
    case $1 in
      --client-ca) bind_opts+=" ca-file $2 verify required"; shift ;;
      --ticket-key-file) bind_opts+=" tls-ticket-keys $PKI/tickets.b64"; shift ;;
      --no-tickets) bind_opts+=" no-tls-tickets" ;;
      --tls-min) bind_opts+=" ssl-min-ver TLSv$2"; shift ;;
      --tls-max) bind_opts+=" ssl-max-ver TLSv$2"; shift ;;
      --ciphers) bind_opts+=" ciphers $2"; shift ;;
      --ciphersuites) bind_opts+=" ciphersuites $2"; shift ;;
      --handshake-timeout-ms) timeout_client="$2"; shift ;;  # HAProxy 2.6 times handshakes with "timeout client"
      --keylog-file) keylog=$2; shift ;;
      --impair-*) echo "note: $1 $2 ignored in haproxy mode (no impairment on kernel TCP here)"; shift ;;
      *) echo "start_haproxy: no translation for $1"; return 1 ;;
    esac
    shift
  done
  # HAProxy cannot write a key log file itself; the keylog test then uses the client's.
  [ -n "$keylog" ] && echo "note: haproxy mode: the key log comes from the client (SSLKEYLOGFILE)"
  for c in $TLS_CERTS; do crts+=" crt $PKI/haproxy-$c.pem"; done
  [ "$TLS_PROVIDER" = gputls ] && providers="
  ssl-provider-path $(dirname "$GPUTLS_PROVIDER")
  ssl-provider gputls
  ssl-provider default
  ssl-propquery ?provider=gputls"
  # The same veth and address as the appliance's (its address only while HAProxy runs).
  ip addr replace "$SERVER_IP/24" dev "$VETH_DPDK"
  cat >"$WORK/haproxy.cfg" <<EOF
global
  master-worker
  pidfile $WORK/haproxy.pid
  nbthread 1
  maxconn 4096$providers
  ssl-mode-async
defaults
  mode http
  timeout connect 2s
  timeout client $timeout_client
  timeout server 20s
frontend tls_in
  bind $SERVER_IP:$TLS_PORT ssl$crts alpn http/1.1$bind_opts
  default_backend plain
backend plain
  server backend 127.0.0.1:$BACKEND_PORT
EOF
  haproxy -c -f "$WORK/haproxy.cfg" >"$APP_LOG" 2>&1 || { cat "$APP_LOG"; return 1; }
  GPUTLS_STATS_FILE="$WORK/gputls.%p.json" ${HAPROXY_CPUS:+taskset -c "$HAPROXY_CPUS"} haproxy -W -f "$WORK/haproxy.cfg" >"$APP_LOG" 2>&1 &
  APP_PID=$!
  wait_kernel_server_listening "$APP_LOG"
}

# wait_kernel_server_listening LOG...: until HAProxy or nginx ($APP_PID)
# listens on $SERVER_IP:$TLS_PORT (10 s at most); otherwise its logs and failure.
wait_kernel_server_listening() {
  for _ in $(seq 100); do
    # Listening is seen without connecting (a probe connection would be a failed handshake).
    ss -Hltn "sport = :$TLS_PORT" | grep -q "$SERVER_IP" && return 0
    kill -0 "$APP_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "$TLS_SERVER did not start:"; cat "$@"; return 1
}

# start_nginx [--tls-min V] [--tls-max V] [--ciphers L] [--ciphersuites L]:
# nginx on $SERVER_IP:$TLS_PORT (the appliance's address, on its veth while
# nginx runs), one worker, the same certificates and backend; gputls (or only
# the default provider) from an OpenSSL configuration file, the way any nginx
# on OpenSSL 3 loads a provider. nginx clears its workers' environment but for
# the variables named by `env`.
start_nginx() {
  local protocols="TLSv1.2 TLSv1.3" ciphers="" suites="" c certs=""
  while [ $# -gt 0 ]; do
    case $1 in
      --tls-min) [ "$2" = 1.3 ] && protocols="TLSv1.3"; shift ;;
      --tls-max) [ "$2" = 1.2 ] && protocols="TLSv1.2"; shift ;;
      --ciphers) ciphers="ssl_ciphers $2;"; shift ;;
      --ciphersuites) suites="ssl_conf_command Ciphersuites $2;"; shift ;;
      *) echo "start_nginx: no translation for $1"; return 1 ;;
    esac
    shift
  done
  for c in $TLS_CERTS; do certs+="    ssl_certificate $PKI/$c.pem; ssl_certificate_key $PKI/$c.key;"$'\n'; done
  mkdir -p "$WORK/nginx"
  if [ "$TLS_PROVIDER" = gputls ]; then
    cat >"$WORK/openssl-nginx.cnf" <<EOF
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
alg_section = algorithm_sect
[provider_sect]
gputls = gputls_sect
default = default_sect
[gputls_sect]
module = $GPUTLS_PROVIDER
activate = 1
[default_sect]
activate = 1
[algorithm_sect]
default_properties = ?provider=gputls
EOF
  else
    printf 'openssl_conf = openssl_init\n[openssl_init]\n' >"$WORK/openssl-nginx.cnf"
  fi
  cat >"$WORK/nginx.conf" <<EOF
daemon off;
user root;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
env OPENSSL_CONF; env GPUTLS_STATS_FILE; env GPUTLS_INLINE; env GPUTLS_POLICY; env GPUTLS_QUIET;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body; proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi; uwsgi_temp_path $WORK/nginx/uwsgi; scgi_temp_path $WORK/nginx/scgi;
  server {
    listen $SERVER_IP:$TLS_PORT ssl;
$certs    ssl_protocols $protocols; $ciphers $suites
    location / { proxy_pass http://127.0.0.1:$BACKEND_PORT; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
EOF
  ip addr replace "$SERVER_IP/24" dev "$VETH_DPDK"
  OPENSSL_CONF="$WORK/openssl-nginx.cnf" nginx -t -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx.conf" \
    >"$APP_LOG" 2>&1 || { cat "$APP_LOG"; return 1; }
  OPENSSL_CONF="$WORK/openssl-nginx.cnf" GPUTLS_STATS_FILE="$WORK/gputls.%p.json" ${SERVER_CPUS:+taskset -c "$SERVER_CPUS"} \
    nginx -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx.conf" >"$APP_LOG" 2>&1 &
  APP_PID=$!
  wait_kernel_server_listening "$APP_LOG" "$WORK/nginx/error.log"
}

# stop_nginx: graceful quit (the worker exits, unloading gputls, which writes its counters).
stop_nginx() {
  stop_kernel_server QUIT
}

# check_stats CHECK...: netns_client.py stats on $STATS (after stop_tls_server).
# Every assertion on the appliance's stats keys goes through here; in HAProxy
# mode only the gputls.* checks apply.
check_stats() {
  local run=() c
  for c in "$@"; do
    if [ "$TLS_SERVER" != appliance ] && [ "${c#gputls.}" = "$c" ]; then
      echo "stats: $c: skipped ($TLS_SERVER mode)"
    else
      run+=("$c")
    fi
  done
  [ ${#run[@]} -eq 0 ] || $PY "$HERE/netns_client.py" stats "$STATS" "${run[@]}"
}

# Offload proven from gputls's own counters: signatures (RSA or ECDSA) and
# key exchange went through the provider's engine, at least N of each.
gputls_offload_checks() {  # N
  echo "gputls.provider.rsa_sign.engine+gputls.provider.ecdsa_sign.engine>=$1" \
    "gputls.provider.x25519_derive.engine+gputls.provider.ecdh_derive.engine>=$1"
}

fail() { echo "FAIL: $*"; exit 1; }

# s_client_get NAME OUT s_client-args...: openssl s_client in the namespace,
# verifying the server against the CA, sends GET /NAME (Connection: close) and
# reads until the server closes; everything it prints goes to OUT. Fails
# unless the backend's answer for /NAME came back.
s_client_get() {
  local name=$1 out=$2; shift 2
  printf 'GET /%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$name" "$SNI" |
    in_ns timeout 20 openssl s_client -connect "$SNI:$TLS_PORT" -servername "$SNI" -CAfile "$PKI/ca.pem" \
      -verify_return_error -ign_eof "$@" >"$out" 2>&1 || true
  grep -q "backend saw /$name" "$out" || { cat "$out"; fail "s_client $name: no answer from the backend"; }
}

# check_handshake VERSION CERT: TLS 1.2 or 1.3 with the RSA or ECDSA server
# certificate, chosen by the client's signature algorithms; the certificate
# the server sent and the protocol are read back from s_client's output.
check_handshake() {
  local version=$1 cert=$2 sigalgs bits sigtype out="$WORK/s_client-$1-$2.txt"
  case $cert in
    rsa) sigalgs=rsa_pss_rsae_sha256:rsa_pkcs1_sha256 bits=2048 sigtype='RSA(-PSS)?' ;;
    ec) sigalgs=ecdsa_secp256r1_sha256 bits=256 sigtype=ECDSA ;;
  esac
  s_client_get "s_client-$version-$cert" "$out" "-tls${version/./_}" -sigalgs "$sigalgs"
  grep -q "Server public key is $bits bit" "$out" || fail "TLS $version $cert: wrong server certificate"
  grep -Eq "^Peer signature type: $sigtype\$" "$out" || fail "TLS $version $cert: wrong signature type"
  grep -q "^New, TLSv$version, Cipher" "$out" || fail "TLS $version $cert: not a new TLS $version session"
  grep -q "Verify return code: 0 (ok)" "$out" || fail "TLS $version $cert: certificate not verified"
  echo "ok: s_client TLS $version, $cert certificate, request proxied"
}

# tls_curl SECONDS [curl args...]: curl in the namespace (environment from
# CLIENT_ENV, e.g. SSLKEYLOGFILE=...), trusting the test CA, failing on HTTP
# errors, bounded to SECONDS.
CLIENT_ENV=()
tls_curl() {
  local secs=$1; shift
  in_ns env "${CLIENT_ENV[@]}" timeout $((secs + 5)) curl -sS --fail --max-time "$secs" --cacert "$PKI/ca.pem" "$@"
}

# check_download [curl args...]: the backend's 10 MiB file through the TLS
# server, compared by sha256.
check_download() {
  local got
  got=$(tls_curl 80 "$@" "$URL/big.bin" | sha256sum | cut -d' ' -f1)
  [ "$got" = "$BIG_SHA" ] || fail "download $*: sha256 $got, want $BIG_SHA"
  echo "ok: curl $* 10 MiB, sha256 matches"
}

# new_session VERSION FILE: a full handshake whose session (with its ticket)
# s_client saves in FILE.
new_session() {
  rm -f "$2"
  s_client_get "ticket-$1" "$WORK/new-session-$1.txt" "-tls${1/./_}" -sess_out "$2"
  [ -s "$2" ] || fail "TLS $1: no session ticket received"
}

# check_resumed VERSION FILE: the session in FILE resumes ("Reused").
check_resumed() {
  local out="$WORK/resumed-$1.txt"
  s_client_get "resumed-$1" "$out" "-tls${1/./_}" -sess_in "$2"
  grep -q "^Reused, TLSv$1" "$out" || { cat "$out"; fail "TLS $1: the ticket in $2 did not resume the session"; }
}

# check_resumption VERSION: a session ticket from one connection resumes the
# next; the session stays in $WORK/session-VERSION.pem.
check_resumption() {
  new_session "$1" "$WORK/session-$1.pem"
  check_resumed "$1" "$WORK/session-$1.pem"
  echo "ok: TLS $1 resumption by ticket"
}

# Which key of a ticket key file encrypts new tickets: the appliance the first;
# HAProxy (3 keys) the middle one.
TICKET_ENC_INDEX=0
[ "$TLS_SERVER" != haproxy ] || TICKET_ENC_INDEX=1

# ticket_key_name SESSION_FILE: the ticket's first 16 bytes (the key name), hex.
ticket_key_name() {
  openssl sess_id -in "$1" -noout -text |
    awk '/TLS session ticket:/ { getline; sub(/^ *0000 - /, ""); s = substr($0, 1, 47); gsub(/[ -]/, "", s); print s; exit }'
}

# key_file_name FILE INDEX: the name (first 16 bytes) of the INDEX-th 80-byte key.
key_file_name() { dd if="$1" bs=80 skip="$2" count=1 status=none | head -c 16 | od -An -tx1 | tr -d ' \n'; }

# check_ticket_key SESSION_FILE KEY_FILE INDEX: the ticket was made with that key.
check_ticket_key() {
  local got want
  got=$(ticket_key_name "$1"); want=$(key_file_name "$2" "$3")
  [ -n "$got" ] && [ "$got" = "$want" ] || fail "ticket in $1 has key name '$got', want key $3 of $2 ($want)"
  echo "ok: ticket made with key $3 of the ticket key file ($want)"
}

# check_get PATH [curl args...]: a small request through the TLS server works.
check_get() {
  local path=$1 body; shift
  body=$(tls_curl 15 "$@" "$URL/$path") ||
    fail "curl /$path $* failed"
  [ "$body" = "backend saw /$path" ] || fail "curl /$path: unexpected body '$body'"
  echo "ok: curl /$path $*"
}

# check_refused WHAT [curl args...]: the request must fail (no body from the backend).
check_refused() {
  local what=$1 body rc=0; shift
  body=$(tls_curl 15 "$@" "$URL/refused" 2>"$WORK/curl.err") || rc=$?
  [ $rc -ne 0 ] || fail "$what: the request succeeded ('$body')"
  [ -z "$body" ] || fail "$what: the backend's answer came through: '$body'"
  echo "ok: $what refused (curl exit $rc: $(head -c 160 "$WORK/curl.err" | tr '\n' ' '))"
}
