#!/usr/bin/env python3
"""Validates gputls-bench JSON files against schema.json (the subset of JSON
Schema the schema uses: type, enum, minimum, maximum, exclusiveMinimum,
minLength, required, properties, additionalProperties, items), so the check
needs no extra package.  Usage: validate_json.py SCHEMA FILE..."""
import json
import sys

TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "object": dict,
         "null": type(None), "array": list}


def check(value, s, where):
    t = s.get("type")
    if t:
        allowed = t if isinstance(t, list) else [t]
        ok = any(isinstance(value, TYPES[a]) and not (a in ("integer", "number") and isinstance(value, bool))
                 for a in allowed)
        if not ok:
            raise ValueError(f"{where}: {value!r} is not {t}")
    if value is None:
        return
    if "enum" in s and value not in s["enum"]:
        raise ValueError(f"{where}: {value!r} not in {s['enum']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in s and value < s["minimum"]:
            raise ValueError(f"{where}: {value} < {s['minimum']}")
        if "maximum" in s and value > s["maximum"]:
            raise ValueError(f"{where}: {value} > {s['maximum']}")
        if "exclusiveMinimum" in s and value <= s["exclusiveMinimum"]:
            raise ValueError(f"{where}: {value} <= {s['exclusiveMinimum']}")
    if isinstance(value, str) and len(value) < s.get("minLength", 0):
        raise ValueError(f"{where}: {value!r} shorter than {s['minLength']}")
    if isinstance(value, dict):
        for r in s.get("required", []):
            if r not in value:
                raise ValueError(f"{where}: missing {r}")
        props = s.get("properties", {})
        for k, v in value.items():
            if k in props:
                check(v, props[k], f"{where}.{k}")
            elif isinstance(s.get("additionalProperties"), dict):
                check(v, s["additionalProperties"], f"{where}.{k}")
    if isinstance(value, list) and "items" in s:
        for i, v in enumerate(value):
            check(v, s["items"], f"{where}[{i}]")


def main(schema_path, paths):
    schema = json.load(open(schema_path))
    for p in paths:
        check(json.load(open(p)), schema, p)
    print(f"{len(paths)} file(s) valid against {schema_path}")


if __name__ == "__main__":
    try:
        main(sys.argv[1], sys.argv[2:])
    except ValueError as e:
        sys.exit(f"schema violation: {e}")
