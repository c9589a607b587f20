#!/usr/bin/env python3
"""Regenerate the expected outputs of the yaml codec's table tests from the real upstream.

kubectl uses sigs.k8s.io/yaml (go-yaml v2) exactly as kube-apiserver does, and converts files
offline with `kubectl annotate --local`: YAML to JSON (-o json) and JSON or YAML to YAML
(-o yaml). Run from this folder with a kubectl on PATH; it rewrites
  decode/NAME.json     from decode/NAME.yaml
  encode/NAME.yaml     from encode/NAME.json
  roundtrip/NAME.out.yaml from roundtrip/NAME.in.yaml
and checks every errors.json entry whose source is kubectl. Commit what it writes after a look.
"""
import glob
import json
import os
import subprocess
import sys

ERR_PREFIX = "error converting YAML to JSON: "


def kubectl(path, output, annotate):
    # --show-managed-fields: kubectl hides them by default, the server does not
    return subprocess.run(["kubectl", "annotate", "--local", "--show-managed-fields", "-f", path,
                           annotate, "-o", output],
                          capture_output=True, text=True)


def big_ints_as_floats(v):
    # kube-apiserver reads numbers beyond int64 as float64; say so in the JSON we expect
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return float(v) if not -2**63 <= v < 2**63 else v
    if isinstance(v, float):
        return v
    if isinstance(v, list):
        return [big_ints_as_floats(e) for e in v]
    return {k: big_ints_as_floats(e) for k, e in v.items()}


def main():
    failed = False
    for path in sorted(glob.glob("decode/*.yaml")):
        # an annotation we add and drop again: "-" alone would leave "annotations: {}"
        p = kubectl(path, "json", "regen-marker=x")
        if p.returncode != 0:
            print("decode", path, "failed:", p.stderr.strip())
            failed = True
            continue
        j = json.loads(p.stdout)
        ann = j["metadata"].get("annotations", {})
        ann.pop("regen-marker", None)
        if not ann:
            j["metadata"].pop("annotations", None)
        with open(path[:-5] + ".json", "w") as f:
            json.dump(big_ints_as_floats(j), f, indent=2, sort_keys=True, ensure_ascii=False)
            f.write("\n")
    for path, out in [(p, p[:-5] + ".yaml") for p in sorted(glob.glob("encode/*.json"))] + \
                     [(p, p[:-8] + ".out.yaml") for p in sorted(glob.glob("roundtrip/*.in.yaml"))]:
        # inputs carry an annotation, so removing a missing one changes nothing
        p = kubectl(path, "yaml", "regen-marker-")
        if p.returncode != 0:
            print("encode", path, "failed:", p.stderr.strip())
            failed = True
            continue
        with open(out, "w") as f:
            f.write(p.stdout)
    with open("errors.json") as f:
        cases = json.load(f)
    for c in cases:
        if c.get("source") != "kubectl":
            continue
        p = kubectl("errors/" + c["file"], "json", "regen-marker=x")
        got = p.stderr.strip().split(ERR_PREFIX)[-1]
        if got != c["text"]:
            print("error text differs for", c["file"], ":", repr(got), "!=", repr(c["text"]))
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main())
