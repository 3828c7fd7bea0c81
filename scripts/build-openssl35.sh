#!/usr/bin/env bash
# Builds OpenSSL 3.5 (the first OpenSSL with ML-KEM and X25519MLKEM768) from
# Debian trixie's source package into a private prefix, for the post-quantum
# interoperability tests: a TLS peer gputls did not write. The system's
# OpenSSL 3.0 is never touched: the build is static (no-shared) and installed
# under build/openssl-3.5 (or $GPUTLS_OPENSSL35_PREFIX). Built once, reused:
# nothing is done when the prefix already holds a working 3.5 `openssl`.
# Authenticity: trixie's InRelease is checked with gpgv against the system's
# Debian archive keyring, the Sources index against the SHA-256 InRelease
# lists for it, and the orig tarball against the SHA-256 the index lists (so
# a plain-http mirror is fine). About 2.5 minutes on 2 cores.
# Exit 0 when the binary is there; non-zero (with the reason) otherwise.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
prefix=${GPUTLS_OPENSSL35_PREFIX:-$root/build/openssl-3.5}
mirror=${GPUTLS_DEBIAN_MIRROR:-http://deb.debian.org/debian}

if "$prefix/bin/openssl" version 2>/dev/null | grep -q '^OpenSSL 3\.[5-9]'; then
  echo "build-openssl35: $("$prefix/bin/openssl" version) already in $prefix"
  exit 0
fi
keyring=${GPUTLS_DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
[ -r "$keyring" ] || { echo "build-openssl35: ERROR: no Debian archive keyring at $keyring" >&2; exit 2; }
for tool in curl xz sha256sum make perl gpgv; do
  command -v "$tool" >/dev/null || { echo "build-openssl35: ERROR: $tool not found (scripts/setup.sh installs it)" >&2; exit 2; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "build-openssl35: reading trixie's signed release file and Sources index from $mirror"
curl -fsS --retry 3 "$mirror/dists/trixie/InRelease" -o "$work/InRelease"
gpgv --keyring "$keyring" --output "$work/Release" "$work/InRelease" 2>"$work/gpgv.log" ||
  { cat "$work/gpgv.log" >&2; echo "build-openssl35: ERROR: trixie's InRelease is not signed by a Debian archive key" >&2; exit 3; }
sources_sha=$(awk '/^SHA256:/ { s = 1; next } /^[^ ]/ { s = 0 } s && $3 == "main/source/Sources.xz" { print $1 }' "$work/Release")
[ -n "$sources_sha" ] || { echo "build-openssl35: ERROR: no main/source/Sources.xz in trixie's Release" >&2; exit 3; }
curl -fsS --retry 3 "$mirror/dists/trixie/main/source/Sources.xz" -o "$work/Sources.xz"
echo "$sources_sha  $work/Sources.xz" | sha256sum -c --quiet - ||
  { echo "build-openssl35: ERROR: Sources.xz does not match trixie's signed Release" >&2; exit 4; }
# The openssl stanza: its directory, version and the orig tarball's SHA-256.
dir="" orig="" sha=""
read -r dir orig sha < <(xz -dc "$work/Sources.xz" | awk '
  /^Package: / { pkg = $2; insha = 0 }
  pkg == "openssl" && /^Directory: / { dir = $2 }
  pkg == "openssl" && /^Checksums-Sha256:/ { insha = 1; next }
  pkg == "openssl" && insha && /^ / { if ($3 ~ /\.orig\.tar\.gz$/) { sha = $1; orig = $3 } next }
  pkg == "openssl" && insha { insha = 0 }
  /^$/ && pkg == "openssl" && orig != "" { print dir, orig, sha; exit }') || true
if [ -z "$orig" ]; then
  echo "build-openssl35: ERROR: no openssl orig tarball in trixie's Sources index" >&2
  exit 3
fi
echo "build-openssl35: $orig (sha256 $sha)"
curl -fsS --retry 3 "$mirror/$dir/$orig" -o "$work/$orig"
echo "$sha  $work/$orig" | sha256sum -c --quiet - || { echo "build-openssl35: ERROR: checksum mismatch" >&2; exit 4; }
tar -xzf "$work/$orig" -C "$work"
src=$(find "$work" -maxdepth 1 -type d -name 'openssl-3.*' | head -1)
cd "$src"
./Configure --prefix="$prefix" --libdir=lib --openssldir="$prefix/ssl" no-shared no-docs no-tests \
  >"$work/configure.log" 2>&1 || { tail -20 "$work/configure.log"; exit 5; }
make -j"$(nproc)" build_sw >"$work/make.log" 2>&1 || { tail -30 "$work/make.log"; exit 6; }
make install_sw >"$work/install.log" 2>&1 || { tail -20 "$work/install.log"; exit 7; }
"$prefix/bin/openssl" version
