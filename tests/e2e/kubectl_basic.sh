#!/usr/bin/env bash
# Real kubectl against the server: `get ns` lists the four namespaces and `get svc -A` shows
# the kubernetes Service, with kubectl's exact header lines, for the kubectl on PATH and every
# kubectl.1.NN installed beside it. Each run has its own discovery cache in the test directory.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helpers.sh"

command -v kubectl >/dev/null || { echo "SKIP: kubectl not found"; exit 77; }
KDIR=$(dirname "$(readlink -f "$(command -v kubectl)")")
KUBECTLS="kubectl"
for k in "$KDIR"/kubectl.1.*; do
    [ -x "$k" ] && KUBECTLS="$KUBECTLS $k"
done
start_server
# no kubeconfig of the user's may leak in: an empty one of our own (a missing file makes old
# kubectls warn)
printf 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\npreferences: {}\n' >"$WORK/kubeconfig"
export KUBECONFIG=$WORK/kubeconfig
export HOME=$WORK/home

AGE='[0-9]+s'

# kc KUBECTL ARGS...: run it against the server; stdout in $WORK/kout, stderr in $WORK/kerr
kc() {
    local k=$1
    shift
    "$k" -s "$URL" --cache-dir "$WORK/cache-$(basename "$k")" --request-timeout=10s "$@" \
        >"$WORK/kout" 2>"$WORK/kerr"
}

# lines_match REGEX...: the output has exactly these lines, each matching its regex
lines_match() {
    $PY -S - "$WORK/kout" "$@" <<'EOF'
import re, sys
lines = open(sys.argv[1]).read().split("\n")
if lines and lines[-1] == "":
    lines.pop()
want = sys.argv[2:]
ok = len(lines) == len(want) and all(re.fullmatch(w, l) for w, l in zip(want, lines))
if not ok:
    print("output:\n" + "\n".join(lines) + "\nwanted:\n" + "\n".join(want), file=sys.stderr)
sys.exit(0 if ok else 1)
EOF
}

check_one() {
    local k=$1 name
    name=$(basename "$k")
    kc "$k" get ns || fail "$name get ns: $(cat "$WORK/kerr")"
    lines_match 'NAME              STATUS   AGE' \
        "default           Active   $AGE" \
        "kube-node-lease   Active   $AGE" \
        "kube-public       Active   $AGE" \
        "kube-system       Active   $AGE" || fail "$name get ns"

    kc "$k" get svc -A || fail "$name get svc -A: $(cat "$WORK/kerr")"
    lines_match 'NAMESPACE   NAME         TYPE        CLUSTER-IP   EXTERNAL-IP   PORT\(S\)   AGE' \
        "default     kubernetes   ClusterIP   10\\.96\\.0\\.1    <none>        443/TCP   $AGE" ||
        fail "$name get svc -A"
    # nothing on stderr: no warnings, no discovery trouble
    [ -s "$WORK/kerr" ] && fail "$name wrote to stderr: $(cat "$WORK/kerr")"
    return 0
}

t_every_kubectl() {
    local k
    for k in $KUBECTLS; do
        check_one "$k"
        echo "  $(basename "$k"): ok"
    done
}

# A few more reads with the kubectl on PATH: wide output, a single object, an error.
t_more_gets() {
    kc kubectl get svc -A -o wide || fail "get svc -A -o wide: $(cat "$WORK/kerr")"
    lines_match 'NAMESPACE   NAME         TYPE        CLUSTER-IP   EXTERNAL-IP   PORT\(S\)   AGE   SELECTOR' \
        "default     kubernetes   ClusterIP   10\\.96\\.0\\.1    <none>        443/TCP   $AGE +<none>" ||
        fail "get svc -A -o wide"
    kc kubectl get svc kubernetes -n default || fail "get svc kubernetes: $(cat "$WORK/kerr")"
    lines_match 'NAME         TYPE        CLUSTER-IP   EXTERNAL-IP   PORT\(S\)   AGE' \
        "kubernetes   ClusterIP   10\\.96\\.0\\.1    <none>        443/TCP   $AGE" || fail "get svc kubernetes"
    kc kubectl get namespace default -o jsonpath='{.status.phase}' || fail "jsonpath: $(cat "$WORK/kerr")"
    [ "$(cat "$WORK/kout")" = Active ] || fail "jsonpath: $(cat "$WORK/kout")"
    kc kubectl get svc nonexist -n default && fail "get svc nonexist succeeded"
    [ "$(cat "$WORK/kerr")" = 'Error from server (NotFound): services "nonexist" not found' ] ||
        fail "get svc nonexist printed: $(cat "$WORK/kerr")"
    kc kubectl get svc -n kube-system || fail "get svc -n kube-system: $(cat "$WORK/kerr")"
    [ ! -s "$WORK/kout" ] && [ "$(cat "$WORK/kerr")" = 'No resources found in kube-system namespace.' ] ||
        fail "empty namespace: $(cat "$WORK/kout" "$WORK/kerr")"
}

run_case every_kubectl t_every_kubectl
run_case more_gets t_more_gets
finish kubectl_basic
