#!/usr/bin/env bash
# ctest (label unit): short gputls-bench runs. Every run must complete
# handshakes through the provider it names (gputls's counters prove it), the
# JSON must match schema.json, and a bad configuration must fail loudly.
# Usage: bench_test.sh GPUTLS_BENCH MODULE_DIR SCHEMA
set -euo pipefail
bench=$1 modules=$2 schema=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GPUTLS_QUIET=1

"$bench" handshake --provider default,gputls:cpu --modules "$modules" --tls 1.3 --count 40 --concurrency 4 \
  --json "$work/tls13.json"
"$bench" handshake --provider default,gputls:cpu --modules "$modules" --tls 1.2 --cipher AES128-GCM-SHA256 \
  --count 40 --concurrency 4 --async --json "$work/tls12.json"

if "$bench" handshake --cert rsa1234 --count 1 >"$work/bad.out" 2>&1; then
  echo "FAIL: --cert rsa1234 did not fail"; exit 1
fi
grep -q 'unknown --cert "rsa1234"' "$work/bad.out" || { echo "FAIL: unclear error:"; cat "$work/bad.out"; exit 1; }

python3 - "$schema" "$work/tls13.json" "$work/tls12.json" <<'PY'
import json, sys
schema = json.load(open(sys.argv[1]))
types = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "object": dict, "null": type(None),
         "array": list}
def check(value, s, where):
    t = s.get("type")
    if t:
        allowed = t if isinstance(t, list) else [t]
        ok = any(isinstance(value, types[a]) and not (a in ("integer", "number") and isinstance(value, bool))
                 for a in allowed)
        assert ok, f"{where}: {value!r} is not {t}"
    if "enum" in s: assert value in s["enum"], f"{where}: {value!r} not in {s['enum']}"
    if "minimum" in s: assert value >= s["minimum"], f"{where}: {value} < {s['minimum']}"
    if "maximum" in s: assert value <= s["maximum"], f"{where}: {value} > {s['maximum']}"
    if "exclusiveMinimum" in s: assert value > s["exclusiveMinimum"], f"{where}: {value} <= {s['exclusiveMinimum']}"
    for r in s.get("required", []): assert r in value, f"{where}: missing {r}"
    for k, sub in s.get("properties", {}).items():
        if k in value: check(value[k], sub, f"{where}.{k}")
    if "items" in s:
        for i, v in enumerate(value): check(v, s["items"], f"{where}[{i}]")
for path in sys.argv[2:]:
    runs = json.load(open(path))
    check(runs, schema, path)
    for r in runs:
        assert r["handshakes"] >= 40, r
        if r["provider"].startswith("gputls"):
            p = r["gputls"]["provider"]
            # The server's private-key operations ran in gputls, not the default provider.
            key_op = "rsa_sign" if r["tls_version"] == "1.3" else "rsa_decrypt"
            assert p[key_op]["engine"] >= r["handshakes"], (key_op, p[key_op], r["handshakes"])
            if r["tls_version"] == "1.3":
                assert p["x25519_keygen"]["engine"] >= r["handshakes"], p["x25519_keygen"]
print("bench JSON valid; gputls counters match the handshakes")
PY
echo PASS
