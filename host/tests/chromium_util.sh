# shellcheck shell=bash
# Sourced by the tests that load a page in headless Chromium (Debian's
# `chromium`, installed by scripts/setup.sh): host/tests/chromium_haproxy_test.sh
# and dpdk_app/tests/netns/tls_chromium_test.sh.
#
# Chromium runs as the real browser binary (/usr/lib/chromium/chromium, not
# Debian's /usr/bin wrapper, which adds flags from /etc/chromium.d such as
# --enable-remote-extensions), headless, without its sandbox (the tests run as
# root, which the sandbox refuses), in a fresh profile and HOME under the
# caller's directory. It stays off the network: background networking,
# component updates, sync, extensions and crash reports are off, and every
# host name but the page's resolves to nothing (--host-resolver-rules), so the
# few background requests it still starts (update and account services) end
# there. The test's server certificate is accepted by its public key only
# (--ignore-certificate-errors-spki-list: SHA-256 of the SubjectPublicKeyInfo),
# so no CA is added anywhere. Its NetLog records each TLS handshake with the
# key exchange group the server picked (chromium_netlog.py reads it).
CHROMIUM_UTIL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# chromium_binary: prints the browser binary's path; fails (no output) without it.
chromium_binary() {
  command -v chromium >/dev/null 2>&1 || return 1
  local b=/usr/lib/chromium/chromium
  [ -x "$b" ] || b=$(command -v chromium)
  echo "$b"
}

# spki_sha256 CERT.pem: base64 SHA-256 of the certificate's SubjectPublicKeyInfo.
spki_sha256() {
  openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | base64
}

# chromium_load DIR URL ADDR SPKI [PREFIX...]: loads URL once (its host name
# resolves to ADDR, nothing else resolves; SPKI: one or more comma-separated
# spki_sha256 values) and exits, bounded to 45 s (the whole process group:
# `timeout` kills the renderer and helpers too). Writes
# DIR/dom.html (the page's DOM after scripts ran, --dump-dom),
# DIR/netlog.json, DIR/chromium.log (its stderr). PREFIX: a command to run it
# under, e.g. `ip netns exec NS`. Returns Chromium's exit status.
chromium_load() {
  local dir=$1 url=$2 addr=$3 spki=$4 bin host
  shift 4
  bin=$(chromium_binary) || { echo "chromium is not installed"; return 1; }
  host=${url#*://}; host=${host%%/*}; host=${host%:*}
  mkdir -p "$dir/home"
  env HOME="$dir/home" XDG_CONFIG_HOME="$dir/home/.config" XDG_CACHE_HOME="$dir/home/.cache" \
    "$@" timeout -k 5 45 "$bin" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --user-data-dir="$dir/profile" --no-first-run --no-default-browser-check \
    --disable-background-networking --disable-component-update --disable-sync --disable-extensions \
    --disable-default-apps --disable-domain-reliability --disable-breakpad --metrics-recording-only \
    --host-resolver-rules="MAP $host $addr, MAP * ~NOTFOUND" \
    --ignore-certificate-errors-spki-list="$spki" \
    --log-net-log="$dir/netlog.json" \
    --dump-dom "$url" >"$dir/dom.html" 2>"$dir/chromium.log"
}

# chromium_handshakes DIR: the TLS handshakes of DIR/netlog.json, one line each
# ("TLS1.3 X25519MLKEM768 0x1301 resumed=0 error=0"; chromium_netlog.py).
chromium_handshakes() { python3 "$CHROMIUM_UTIL_DIR/chromium_netlog.py" "$1/netlog.json"; }

# chromium_groups DIR: the sorted, distinct key exchange groups of the
# completed handshakes (error=0) in DIR's NetLog, space-separated.
chromium_groups() {
  chromium_handshakes "$1" | awk '$5 == "error=0" { print $2 }' | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# chromium_full_handshakes DIR: how many completed full (not resumed) handshakes.
chromium_full_handshakes() {
  chromium_handshakes "$1" | awk '$5 == "error=0" && $4 == "resumed=0"' | wc -l
}
