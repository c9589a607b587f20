#!/usr/bin/env bash
# Real kubectl writing objects (issue 6, kubectl-contract.md §4.5-§4.8), run with every kubectl
# on the machine (`kubectl` on PATH and each kubectl.1.NN beside the real binary), each in its
# own namespace and with its own discovery cache in the test directory:
#   apply -f (created / unchanged / configured, adding and removing a port, the warning for an
#   object without the last-applied annotation), apply --dry-run=server, patch with the three
#   types (patched / patched (no change)), a failing JSON patch and an invalid result, label
#   (labeled / unlabeled / not labeled), annotate, replace, replace with a stale
#   resourceVersion, patch --subresource=status, apply --server-side twice and then against a
#   field another manager owns (the conflict text, then --force-conflicts), scale.
# The printed lines are kubectl's own (kubectl pkg/cmd/apply, patch, label, annotate, replace,
# scale; pkg/cmd/util/helpers.go checkErr) over the answers of a real 1.33 apiserver; after each
# write the stored object is read back with curl. KTIME=1 prints how long each command took.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helpers.sh"

command -v kubectl >/dev/null || { echo "SKIP: kubectl not found"; exit 77; }
KDIR=$(dirname "$(readlink -f "$(command -v kubectl)")")
KUBECTLS="$(command -v kubectl)"
for k in "$KDIR"/kubectl.1.*; do
    [ -x "$k" ] && KUBECTLS="$KUBECTLS $k"
done

start_server
D=$DATA/e2e/patch/kubectl
# no kubeconfig or HOME of the user's may leak in
printf 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\npreferences: {}\n' >"$WORK/kubeconfig"
export KUBECONFIG=$WORK/kubeconfig
export HOME=$WORK/home
mkdir -p "$HOME"

# kc ARGS...: run $K against the server in namespace $KNS; stdout in $WORK/kout, stderr in
# $WORK/kerr, exit code in KRC (with KTIME set, the duration goes to stderr)
kc() {
    local t0
    KCMD="$*"
    t0=$(date +%s%N)
    "$K" -s "$URL" --cache-dir "$WORK/cache-$KNAME" --request-timeout=20s -n "$KNS" "$@" \
        >"$WORK/kout" 2>"$WORK/kerr"
    KRC=$?
    [ -z "${KTIME:-}" ] || echo "    $((($(date +%s%N) - t0) / 1000000))ms $KCMD" >&2
}

kfail() { fail "[$KNAME] kubectl $KCMD: $*"; }

# out_is LINE...: stdout is exactly these lines and stderr is empty, exit 0
out_is() {
    local want
    want=$(printf '%s\n' "$@")
    [ "$KRC" = 0 ] || kfail "exit $KRC, stderr: $(cat "$WORK/kerr")"
    [ "$(cat "$WORK/kout")" = "$want" ] || kfail "stdout: $(cat "$WORK/kout") -- wanted: $want"
    [ ! -s "$WORK/kerr" ] || kfail "stderr: $(cat "$WORK/kerr")"
}

# err_is CODE TEXT: the command failed with this exit code, stderr exactly TEXT, stdout empty
err_is() {
    [ "$KRC" = "$1" ] || kfail "exit $KRC (wanted $1), stderr: $(cat "$WORK/kerr")"
    [ "$(cat "$WORK/kerr")" = "$2" ] || kfail "stderr: $(cat "$WORK/kerr") -- wanted: $2"
    [ ! -s "$WORK/kout" ] || kfail "stdout: $(cat "$WORK/kout")"
}

# get NAME [RESOURCE_PATH]: the stored object, with curl
get() {
    req GET "${2:-/api/v1/namespaces/$KNS/services}/$1"
    expect_status 200 "[$KNAME] GET $1 after kubectl $KCMD"
}

ports_are() { get "$1"; jq_is .spec.ports "$2"; }

rv_of() { get "$1"; jq_get .metadata.resourceVersion; }

t_apply() {
    kc apply -f "$D/web-v1.yaml"
    out_is "service/web created"
    ports_are web '[{"protocol":"TCP","port":80,"targetPort":8080}]'
    local rv
    rv=$(rv_of web)
    kc apply -f "$D/web-v1.yaml"
    out_is "service/web unchanged"
    [ "$(rv_of web)" = "$rv" ] || kfail "an unchanged apply moved the resourceVersion"
    # a second port, and names for both
    kc apply -f "$D/web-v2.yaml"
    out_is "service/web configured"
    ports_are web '[{"name":"http","protocol":"TCP","port":80,"targetPort":8080},{"name":"metrics","protocol":"TCP","port":9090,"targetPort":9090}]'
    # back to one unnamed port: the patch deletes port 9090 and the name
    kc apply -f "$D/web-v1.yaml"
    out_is "service/web configured"
    ports_are web '[{"protocol":"TCP","port":80,"targetPort":8080}]'
    # server dry runs: printed as such, nothing stored
    rv=$(rv_of web)
    kc apply -f "$D/web-dry.yaml" --dry-run=server
    out_is "service/web configured (server dry run)"
    [ "$(rv_of web)" = "$rv" ] || kfail "a server dry run changed the object"
    ports_are web '[{"protocol":"TCP","port":80,"targetPort":8080}]'
    [ -n "$KEXTRA" ] || return 0
    kc apply -f "$D/webdry.yaml" --dry-run=server
    out_is "service/webdry created (server dry run)"
    req GET "/api/v1/namespaces/$KNS/services/webdry"
    expect_status 404 "[$KNAME] a server dry run created webdry"
}

t_patch() {
    kc patch svc web -p '{"spec":{"ports":[{"port":80,"targetPort":9999}]}}'
    out_is "service/web patched"
    ports_are web '[{"protocol":"TCP","port":80,"targetPort":9999}]'
    kc patch svc web -p '{"spec":{"ports":[{"port":80,"targetPort":9999}]}}'
    out_is "service/web patched (no change)"
    kc patch svc web --type merge -p '{"metadata":{"labels":{"m":"1"}}}'
    out_is "service/web patched"
    kc patch svc web --type merge -p '{"metadata":{"labels":{"m":"1"}}}'
    out_is "service/web patched (no change)"
    get web
    jq_is .metadata.labels '{"m":"1"}'
    kc patch svc web --type json -p '[{"op":"replace","path":"/spec/ports/0/targetPort","value":7000}]'
    out_is "service/web patched"
    ports_are web '[{"protocol":"TCP","port":80,"targetPort":7000}]'
    kc patch svc web --type json -p '[{"op":"test","path":"/spec/ports/0/targetPort","value":7000}]'
    out_is "service/web patched (no change)"
    # a failing test: the 422 without details
    kc patch svc web --type json -p '[{"op":"test","path":"/spec/ports/0/targetPort","value":1}]'
    err_is 1 "The request is invalid: the server rejected our request due to an error in our request"
    [ -n "$KEXTRA" ] || return 0
    # an invalid result: the causes of the 422
    kc patch svc web -p '{"spec":{"ports":[{"port":80,"protocol":"HTTP"}]}}'
    err_is 1 'The Service "web" is invalid: spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"'
    kc patch svc nonexist -p '{"metadata":{"labels":{"a":"b"}}}'
    err_is 1 'Error from server (NotFound): services "nonexist" not found'
    # patches are decoded with fieldValidation=Warn: the unknown field is dropped and warned of
    kc patch svc web -p '{"spec":{"bogus":1}}'
    [ "$KRC" = 0 ] || kfail "exit $KRC: $(cat "$WORK/kerr")"
    [ "$(cat "$WORK/kout")" = "service/web patched (no change)" ] || kfail "stdout: $(cat "$WORK/kout")"
    [ "$(cat "$WORK/kerr")" = 'Warning: unknown field "spec.bogus"' ] || kfail "stderr: $(cat "$WORK/kerr")"
}

t_label_annotate() {
    kc label svc web env=prod
    out_is "service/web labeled"
    if [ -n "$KEXTRA" ]; then
        kc label svc web env=prod --overwrite
        out_is "service/web not labeled"
    fi
    kc label svc web env-
    out_is "service/web unlabeled"
    kc annotate svc web note=hello
    # kubectl 1.27 names the operation "annotate" (NewPrintFlags("annotate"), fixed in 1.28)
    if [ "$KMINOR" = 27 ]; then out_is "service/web annotate"; else out_is "service/web annotated"; fi
    get web
    jq_is .metadata.labels '{"m":"1"}'
    jq_is '.metadata.annotations.note' '"hello"'
}

t_replace() {
    local rv
    rv=$(rv_of web)
    kc replace -f "$D/web-replace.yaml"
    out_is "service/web replaced"
    get web
    jq_is .metadata.labels '{"replaced":"yes"}'
    jq_is .spec.ports '[{"protocol":"TCP","port":80,"targetPort":8081}]'
    [ "$(pyq '"annotations" in b["metadata"]')" = false ] || kfail "replace kept annotations"
    # the file carries the version before the replace
    sed "s/^  name: web$/  name: web\n  resourceVersion: \"$rv\"/" "$D/web-replace.yaml" >"$WORK/svc-stale.yaml"
    kc replace -f "$WORK/svc-stale.yaml"
    err_is 1 "Error from server (Conflict): error when replacing \"$WORK/svc-stale.yaml\": Operation cannot be fulfilled on services \"web\": the object has been modified; please apply your changes to the latest version and try again"
    # the object lost its last-applied annotation: apply warns and patches it back
    kc apply -f "$D/web-v1.yaml"
    [ "$KRC" = 0 ] || kfail "exit $KRC: $(cat "$WORK/kerr")"
    [ "$(cat "$WORK/kout")" = "service/web configured" ] || kfail "stdout: $(cat "$WORK/kout")"
    [ "$(cat "$WORK/kerr")" = "Warning: resource services/web is missing the kubectl.kubernetes.io/last-applied-configuration annotation which is required by kubectl apply. kubectl apply should only be used on resources created declaratively by either kubectl create --save-config or kubectl apply. The missing annotation will be patched automatically." ] ||
        kfail "stderr: $(cat "$WORK/kerr")"
    get web
    jq_is .spec.ports '[{"protocol":"TCP","port":80,"targetPort":8080}]'
    [ "$(pyq 'sorted(b["metadata"]["annotations"])')" = '["kubectl.kubernetes.io/last-applied-configuration"]' ] ||
        kfail "annotations: $(jq_get .metadata.annotations)"
}

t_status_subresource() {
    kc apply -f "$D/lb.yaml"
    out_is "service/lb created"
    kc patch svc lb --subresource=status --type=merge -p '{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.10"}]}}}'
    out_is "service/lb patched"
    get lb
    jq_is .status '{"loadBalancer":{"ingress":[{"ip":"192.0.2.10","ipMode":"VIP"}]}}'
    kc patch svc lb --subresource=status --type=merge -p '{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.10"}]}}}'
    out_is "service/lb patched (no change)"
    [ -n "$KEXTRA" ] || return 0
    # a spec change through status is dropped
    kc patch svc lb --subresource=status --type=merge -p '{"spec":{"sessionAffinity":"ClientIP"}}'
    out_is "service/lb patched (no change)"
    kc get svc lb
    [ "$KRC" = 0 ] || kfail "exit $KRC: $(cat "$WORK/kerr")"
    $PY -S - "$WORK/kout" <<'EOF' || kfail "get svc lb: $(cat "$WORK/kout")"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 2, lines
h = re.fullmatch(r"NAME   TYPE           CLUSTER-IP( +)EXTERNAL-IP   PORT\(S\)( +)AGE", lines[0])
assert h, lines[0]
ipw, pw = len("CLUSTER-IP" + h.group(1)), len("PORT(S)" + h.group(2))
r = re.fullmatch(r"lb     LoadBalancer   (\S+ +)192\.0\.2\.10    (80:3\d{4}/TCP +)\d+s", lines[1])
assert r and len(r.group(1)) == ipw and len(r.group(2)) == pw, lines[1]
EOF
}

t_server_side_apply() {
    kc apply --server-side -f "$D/ssa-a.yaml"
    out_is "service/ssa serverside-applied"
    local rv
    rv=$(rv_of ssa)
    jq_is .spec.ports '[{"name":"http","protocol":"TCP","port":80,"targetPort":8080}]'
    kc apply --server-side -f "$D/ssa-a.yaml"
    out_is "service/ssa serverside-applied"
    [ "$(rv_of ssa)" = "$rv" ] || kfail "applying the same configuration again changed the object"
    # another manager takes targetPort; a changed value for it conflicts
    kc patch svc ssa -p '{"spec":{"ports":[{"port":80,"targetPort":9090}]}}'
    out_is "service/ssa patched"
    kc apply --server-side -f "$D/ssa-b.yaml"
    err_is 1 "$(cat "$D/ssa-conflict.txt")"
    ports_are ssa '[{"name":"http","protocol":"TCP","port":80,"targetPort":9090}]'
    kc apply --server-side --force-conflicts -f "$D/ssa-b.yaml"
    out_is "service/ssa serverside-applied"
    ports_are ssa '[{"name":"http","protocol":"TCP","port":80,"targetPort":7070}]'
}

t_scale() {
    kc apply -f "$D/rs.yaml"
    out_is "replicaset.apps/web created"
    kc scale rs web --replicas=3
    out_is "replicaset.apps/web scaled"
    get web "/apis/apps/v1/namespaces/$KNS/replicasets"
    jq_is .spec.replicas 3
}

# The minor version of a kubectl; the one on PATH may be a dispatcher that runs the release
# matching the server, so it is asked with the server in reach.
kminor_of() {
    "$1" -s "$URL" --cache-dir "$WORK/cache-$2" version -o json 2>/dev/null |
        $PY -S -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["minor"].rstrip("+"))'
}

t_all() {
    t_apply && t_patch && t_label_annotate && t_replace && t_status_subresource &&
        t_server_side_apply && t_scale
}

# One worker per kubectl binary, each with its namespace, its files and its discovery cache;
# up to JOBS of them at a time (the commands are independent, and kubectl spends its time
# starting and decoding, so running them side by side keeps the test short).
JOBS=2
i=0
pids=()
names=()
for K in $KUBECTLS; do
    KNAME=$(basename "$K")
    KNS=k$i
    req POST /api/v1/namespaces "{\"metadata\":{\"name\":\"$KNS\"}}"
    expect_status 201 "namespace $KNS"
    (
        WORK=$WORK/$KNS
        mkdir -p "$WORK"
        # lib.sh's req writes here: each worker has its own (shellcheck cannot see the use)
        # shellcheck disable=SC2034
        BODY_FILE=$WORK/body
        # shellcheck disable=SC2034
        HDR_FILE=$WORK/headers
        KMINOR=$(kminor_of "$K" "$KNAME")
        # the oldest and the newest release also run the checks whose printing no release
        # changed (checkErr and the printers are the same in 1.27 and 1.33)
        KEXTRA=""
        case "$KNAME" in kubectl.1.27 | kubectl.1.33) KEXTRA=1 ;; esac
        start=$(date +%s%N)
        if ( t_all ); then
            echo "ok: $KNAME (1.$KMINOR) $((($(date +%s%N) - start) / 1000000)) ms"
        else
            echo "FAILED CASE: $KNAME (1.$KMINOR)"
            exit 1
        fi
    ) >"$WORK/log.$i" 2>&1 &
    pids[i]=$!
    names[i]=$KNAME
    i=$((i + 1))
    while [ "$(jobs -rp | grep -v "^$SVC_PID\$" | wc -l)" -ge "$JOBS" ]; do
        sleep 0.1
    done
done
n=$i
for ((i = 0; i < n; i++)); do
    wait "${pids[i]}" || FAILED_CASES="$FAILED_CASES ${names[i]}"
    cat "$WORK/log.$i"
done
finish patch_kubectl
