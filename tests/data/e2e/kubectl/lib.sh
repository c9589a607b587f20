# tests/data/e2e/kubectl/lib.sh: what the kubectl_*.sh end-to-end tests share, on top of
# tests/e2e/lib.sh and helpers.sh (source it after them, before start_server).
#
# Every test runs each command with every kubectl on the machine: `kubectl` on PATH and each
# kubectl.1.NN installed beside the real binary. Each binary gets its own discovery cache in the
# test directory, and HOME and KUBECONFIG point at empty ones of ours, so nothing of the user's
# leaks in. The expected outputs are what a real kube-apiserver 1.33 makes kubectl print; they
# live in this directory and are compared by match.py (its header says how they are written).
#
# for_each_kubectl FUNC     call FUNC once per kubectl with K (the binary), KNAME (its name) and
#                           KMINOR (its minor version, 27 ... 33) set
# kc ARGS...                run $K against the server: stdout in $WORK/kout, stderr in
#                           $WORK/kerr, exit code in KRC (also returned)
# kc_ok ARGS...             kc, and a failure unless it exited 0
# expect_text FILE|-  [MATCH_ARGS]   stdout matches the template (FILE in this directory, or
#                           stdin with "-"); MATCH_ARGS go to match.py (-D NAME=VALUE, -R ...)
# expect_table FILE|- [MATCH_ARGS]   stdout is these tables, laid out as kubectl lays them out
# expect_err_text FILE|-    the same for stderr
# expect_out TEXT           stdout is TEXT (trailing newlines aside), compared in the shell:
#                           no pattern, no python to start
# expect_err TEXT           the same for stderr
# expect_no_err             nothing was printed on stderr
# kfail MESSAGE             record a failure of this kubectl and command; the case goes on
#                           with the other versions and fails at the end (see case_done)
# case_done                 the status of the case: 1 when any kfail happened in it
# create_workload           the tutorial's ReplicaSet and Services in default, ready
KDATA=$DATA/e2e/kubectl
MATCH="$PY $KDATA/match.py"

command -v kubectl >/dev/null || { echo "SKIP: kubectl not found"; exit 77; }
KDIR=$(dirname "$(readlink -f "$(command -v kubectl)")")
KUBECTLS="kubectl"
for k in "$KDIR"/kubectl.1.*; do
    [ -x "$k" ] && KUBECTLS="$KUBECTLS $k"
done

# an empty kubeconfig of our own (a missing file makes old kubectls warn) and an empty HOME
printf 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\npreferences: {}\n' \
    >"$WORK/kubeconfig"
export KUBECONFIG=$WORK/kubeconfig
export HOME=$WORK/home
mkdir -p "$HOME"
KCMD=""
KRC=0

# the mark is a file, so that a failure inside a pipeline's subshell counts too
kfail() {
    echo "FAIL [$KNAME] kubectl $KCMD: $*" >&2
    touch "$WORK/kfailed"
}

case_done() {
    [ ! -e "$WORK/kfailed" ] && return 0
    rm -f "$WORK/kfailed"
    return 1
}

kc() {
    KCMD="$*"
    "$K" -s "$URL" --cache-dir "$WORK/cache-$KNAME" --request-timeout=20s "$@" \
        >"$WORK/kout" 2>"$WORK/kerr"
    KRC=$?
    return $KRC
}

kc_ok() {
    kc "$@" && return 0
    kfail "exit code $KRC: $(head -c 2000 "$WORK/kerr")"
    return 1
}

# The minor version of a kubectl: kubectl.1.NN says it in its name; the one on PATH may be a
# dispatcher that runs the release matching the server, so it is asked with the server in reach.
kminor_of() {
    local k=$1 name=$2 m
    case "$name" in
        kubectl.1.[0-9]*) echo "${name#kubectl.1.}"; return ;;
    esac
    m=$("$k" -s "$URL" --cache-dir "$WORK/cache-$name" version -o json 2>/dev/null |
        $PY -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["minor"])' 2>/dev/null)
    case "$m" in
        2[7-9] | 3[0-9]) echo "$m" ;;
        *) echo 33 ;;
    esac
}

KMINORS_FILE=$WORK/kminors
for_each_kubectl() {
    local fn=$1 m
    for K in $KUBECTLS; do
        KNAME=$(basename "$K")
        m=$(grep "^$KNAME " "$KMINORS_FILE" 2>/dev/null | cut -d' ' -f2)
        if [ -z "$m" ]; then
            m=$(kminor_of "$K" "$KNAME")
            echo "$KNAME $m" >>"$KMINORS_FILE"
        fi
        KMINOR=$m
        "$fn"
    done
}

# the expectation: a file of this directory, or stdin
exp_file() {
    if [ "$1" = - ]; then
        cat >"$WORK/expected"
        echo "$WORK/expected"
    else
        echo "$KDATA/$1"
    fi
}

# run_match MODE FILE|- STREAM WHAT [MATCH_ARGS]: match.py over kout or kerr
run_match() {
    local mode=$1 f what=$4
    f=$(exp_file "$2")
    local stream=$WORK/$3
    shift 4
    $MATCH "$mode" "$f" "$stream" --minor "$KMINOR" -D "PORT=$PORT" -D "MINOR=$KMINOR" "$@" \
        2>"$WORK/mismatch" || kfail "$what differs: $(cat "$WORK/mismatch")"
}

expect_text() { run_match text "$1" kout stdout "${@:2}"; }
expect_table() { run_match table "$1" kout stdout "${@:2}"; }
expect_err_text() { run_match text "$1" kerr stderr "${@:2}"; }

expect_out() {
    [ "$(cat "$WORK/kout")" = "$1" ] || kfail "stdout is [$(cat "$WORK/kout")], expected [$1]"
    return 0
}

expect_err() {
    [ "$(cat "$WORK/kerr")" = "$1" ] || kfail "stderr is [$(cat "$WORK/kerr")], expected [$1]"
    return 0
}

expect_no_err() {
    [ -s "$WORK/kerr" ] && kfail "wrote to stderr: $(head -c 2000 "$WORK/kerr")"
    return 0
}

# The LoadBalancer addresses the tests give the server (--load-balancer-ip-range), and the
# pattern they match, for match.py as "${LB[@]}" (the placeholder {{LBIP}})
LB_RANGE=172.18.255.200-172.18.255.250
LBIP_RE='172\.18\.255\.(2[0-4][0-9]|250)'
LB=(-R "LBIP=$LBIP_RE")

# what kube-apiserver 1.33 sends on every v1 Endpoints request (KEP-4974), as kubectl prints it
EP_WARNING='Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice'

# The tutorial's workload in namespace default, created with curl (kubectl's time goes to the
# commands under test): the ReplicaSet, its ClusterIP, headless, NodePort and LoadBalancer
# Services, a two-port Service and an ExternalName one. Returns once the pods run, every
# Service with a selector has its Endpoints and EndpointSlice, the LoadBalancer has its address
# and the controllers have gone quiet. The server must run with --load-balancer-ip-range.
create_workload() {
    local f
    req POST /apis/apps/v1/namespaces/default/replicasets "@$KDATA/rs.yml" application/yaml
    expect_status 201 "create the ReplicaSet"
    for f in clusterip headless nodeport loadbalancer externalname multiport; do
        req POST /api/v1/namespaces/default/services "@$KDATA/svc-$f.yml" application/yaml
        expect_status 201 "create Service $f"
    done
    wait_until 20 workload_ready || fail "the workload never became ready"
    settle
}

workload_ready() {
    local s n sel=labelSelector=kubernetes.io%2Fservice-name%3D
    n=$(curl -s "$URL/api/v1/namespaces/default/pods" | grep -o '"phase":"Running"' | wc -l)
    [ "$n" = 3 ] || return 1
    for s in rs-service rs-service-headless rs-service-nodeport rs-service-loadbalancer multi; do
        curl -s "$URL/api/v1/namespaces/default/endpoints/$s" | grep -q '"addresses"' || return 1
        curl -s "$URL/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?$sel$s" |
            grep -q '"addresses"' || return 1
    done
    curl -s "$URL/api/v1/namespaces/default/services/rs-service-loadbalancer" | grep -q '"ingress"'
}
