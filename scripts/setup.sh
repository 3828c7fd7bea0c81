#!/usr/bin/env bash
# Installs every build and test dependency of gputls from Debian's packages.
# Idempotent: packages already present are skipped by apt-get; safe to re-run.
# The CUDA toolkit is not a Debian package here: when nvcc is on PATH (or in
# /usr/local/cuda/bin) the build uses it, otherwise gputls builds for the CPU.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  openssl libssl-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev
  valgrind python3
  # real TLS peers for the integration tests (loopback only); nginx for the appliance benchmark
  curl haproxy nghttp2-client nginx
  # the appliance: DPDK, network namespaces and veth pairs for its netns tests, scapy for bad traffic
  dpdk libdpdk-dev iproute2 iputils-ping ethtool nftables python3-scapy
  # libFuzzer targets (clang's runtime)
  clang libclang-rt-14-dev
  # the benchmark's plots
  python3-matplotlib
  # the appliance's key-log test decrypts a capture
  tshark
  # OpenSSL 3.5 from Debian's source (build-openssl35.sh), the post-quantum interop peer
  xz-utils perl make
  # headless Chromium, a browser peer offering X25519MLKEM768 (chromium_haproxy_test.sh and the
  # appliance's tls_chromium netns test; about 100 MB more to download, recommends not needed headless)
  chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

# OpenSSL 3.5 for the post-quantum interoperability test, in a private prefix
# (build/openssl-3.5; the system's OpenSSL is not touched), built once. Its
# test is reported as skipped, with the reason, when this could not be done.
build_openssl35() {
  "$(dirname "$0")/build-openssl35.sh" ||
    echo "setup: WARNING: OpenSSL 3.5 not built (see above); provider_pq_openssl35_interop will be skipped"
}

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  build_openssl35
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# wireshark-common asks whether non-root users may capture: no (tests capture as root).
echo 'wireshark-common wireshark-common/install-setuid boolean false' | $SUDO debconf-set-selections
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
# The benchmark starts its own nginx on the test's address; Debian's packaged
# service (the default site on port 80) is not wanted on a build machine.
if [[ " ${missing[*]} " == *" nginx "* ]]; then
  if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
    $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
  elif pgrep -x nginx >/dev/null; then
    $SUDO nginx -s quit 2>/dev/null || true
  fi
fi
build_openssl35
echo "setup: done"
