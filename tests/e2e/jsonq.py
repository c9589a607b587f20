#!/usr/bin/python3
"""jsonq: small JSON assertions for the end-to-end tests (stdlib only).

  jsonq.py get FILE EXPR         print the value (strings bare, others as compact JSON)
  jsonq.py get-json FILE EXPR    print the value as compact JSON
  jsonq.py equal JSON1 JSON2     exit 0 when equal
  jsonq.py match FILE EXPECTED   exit 0 when FILE equals EXPECTED after normalising volatile
                                 fields; prints a diff otherwise

EXPR is a path like .spec.ports[0].nodePort or .items[?name=web] (select by metadata.name or,
for entries without metadata, by name).
Volatile fields (uid, creationTimestamp, resourceVersion, managedFields times) are compared by
shape; in EXPECTED a string "<ip>", "<ipv6>", "<uid>", "<time>", "<rv>", "<nodeport>",
"<any>" matches any value of that kind.
"""
import ipaddress
import json
import re
import sys


def walk(v, expr):
    for m in re.finditer(r'\.([A-Za-z0-9_\-/]+)|\[(\d+)\]|\[\?name=([^\]]+)\]|\["([^"]+)"\]', expr):
        key, idx, name, qkey = m.groups()
        if key is not None or qkey is not None:
            v = v[key if key is not None else qkey]
        elif idx is not None:
            v = v[int(idx)]
        else:
            # an object's metadata.name, or a plain "name" (discovery entries, ports)
            v = next(i for i in v if i.get("metadata", {}).get("name") == name or
                     i.get("name") == name)
    return v


PLACEHOLDERS = {
    "<uid>": lambda s: re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", s),
    "<time>": lambda s: re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", s),
    "<rv>": lambda s: re.fullmatch(r"[1-9]\d*", s),
    "<any>": lambda s: True,
}


def is_ip(s, version):
    try:
        return ipaddress.ip_address(s).version == version
    except ValueError:
        return False


def same(got, want, path, errors):
    if isinstance(want, str) and want.startswith("<") and want.endswith(">"):
        if want == "<nodeport>":
            ok = isinstance(got, int) and 30000 <= got <= 32767
        elif want == "<ip>":
            ok = isinstance(got, str) and is_ip(got, 4)
        elif want == "<ipv6>":
            ok = isinstance(got, str) and is_ip(got, 6)
        elif want in PLACEHOLDERS:
            ok = isinstance(got, str) and PLACEHOLDERS[want](got)
        else:
            ok = got == want
        if not ok:
            errors.append(f"{path}: {got!r} does not match {want}")
        return
    if isinstance(want, dict):
        if not isinstance(got, dict):
            errors.append(f"{path}: {got!r} is not an object")
            return
        if list(got.keys()) != list(want.keys()):
            errors.append(f"{path}: keys {list(got.keys())} != {list(want.keys())}")
        for k in want:
            if k in got:
                same(got[k], want[k], f"{path}.{k}", errors)
        return
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            errors.append(f"{path}: {got!r} != {want!r}")
            return
        for i, (g, w) in enumerate(zip(got, want)):
            same(g, w, f"{path}[{i}]", errors)
        return
    if got != want or type(got) is not type(want):
        errors.append(f"{path}: {got!r} != {want!r}")


def main():
    op = sys.argv[1]
    if op in ("get", "get-json"):
        with open(sys.argv[2]) as f:
            v = walk(json.load(f), sys.argv[3])
        if op == "get" and isinstance(v, str):
            print(v)
        else:
            print(json.dumps(v, separators=(",", ":")))
    elif op == "equal":
        sys.exit(0 if json.loads(sys.argv[2]) == json.loads(sys.argv[3]) else 1)
    elif op == "match":
        with open(sys.argv[2]) as f:
            got = json.load(f)
        with open(sys.argv[3]) as f:
            want = json.load(f)
        errors = []
        same(got, want, "", errors)
        for e in errors:
            print(e, file=sys.stderr)
        sys.exit(1 if errors else 0)
    else:
        sys.exit(f"unknown op {op}")


if __name__ == "__main__":
    main()
