#!/usr/bin/env bash
# The Services tutorial (shared/seed, "A Developer's Guide to Kubernetes Services") walked with
# real kubectl, for the kubectl on PATH and every kubectl.1.NN installed beside it: the
# ReplicaSet of three nginx pods, the five Services (ClusterIP, multiport, headless, NodePort,
# LoadBalancer), `get endpoints`, `describe`, `kubectl scale rs` to 5 and back to 1 with the
# endpoints following, and the ReplicaSet's deletion taking its pods along (background cascade,
# and foreground for every other kubectl). Each kubectl walks against a server of its own (a
# single node, no load-balancer range: minikube's <pending>), a few at a time.
#
# The expected lines are what kubectl prints against kube-apiserver 1.33 with the usual
# controllers; AGE is any age.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helpers.sh"

command -v kubectl >/dev/null || { echo "SKIP: kubectl not found"; exit 77; }
KDIR=$(dirname "$(readlink -f "$(command -v kubectl)")")
KUBECTLS=$(command -v kubectl)
for k in "$KDIR"/kubectl.1.*; do
    [ -x "$k" ] && KUBECTLS="$KUBECTLS $k"
done
# TUTORIAL_KUBECTLS narrows the walk to some kubectls when debugging.
KUBECTLS=${TUTORIAL_KUBECTLS:-$KUBECTLS}
PARALLEL=${TUTORIAL_PARALLEL:-3}

printf 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\npreferences: {}\n' >"$WORK/kubeconfig"
export KUBECONFIG=$WORK/kubeconfig
export HOME=$WORK/home
M=$WORK/manifests
mkdir -p "$M"

# The tutorial's manifests, as printed in it.
cat >"$M/my-replicaset.yml" <<'EOF'
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: my-replicaset
spec:
  replicas: 3
  selector:
    matchLabels:
      app: my-pod
  template:
    metadata:
      labels:
        app: my-pod
    spec:
      containers:
      - name: my-server
        image: nginx
        ports:
        - containerPort: 80
EOF
cat >"$M/rs-svc.yml" <<'EOF'
apiVersion: v1
kind: Service
metadata:
  name: rs-service
spec:
  ports:
  - protocol: TCP 
    port: 80
    targetPort: 80
  
  selector:
    app: my-pod
EOF
cat >"$M/mul-svc.yml" <<'EOF'
apiVersion: v1
kind: Service
metadata:
  name: rs-service
spec:
  ports:
  - name: server-main
    protocol: TCP 
    port: 80
    targetPort: 80

  - name: server-logs
    protocol: TCP 
    port: 25
    targetPort: 25
  
  selector:
    app: my-pod
EOF
cat >"$M/rs-svc-headless.yml" <<'EOF'
apiVersion: v1
kind: Service
metadata:
  name: rs-service-headless
spec:
  clusterIP: None
  ports:
  - protocol: TCP 
    port: 80
    targetPort: 80
  
  selector:
    app: my-pod
EOF
cat >"$M/rs-np-svc.yml" <<'EOF'
apiVersion: v1
kind: Service
metadata:
  name: rs-service-nodeport
spec:
  type: NodePort
  ports:
  - protocol: TCP 
    port: 80
    targetPort: 80
    nodePort: 30256
  selector:
    app: my-pod
EOF
cat >"$M/svc-load.yml" <<'EOF'
apiVersion: v1
kind: Service
metadata:
  name: rs-service-loadbalancer
spec:
  type: LoadBalancer
  ports:
  - protocol: TCP 
    port: 80
    targetPort: 80
    nodePort: 30056
  selector:
    app: my-pod
EOF

# ---- one walk -------------------------------------------------------------------------------------
# Runs in a subshell with K (the kubectl), U (its server), LOG (where it writes), CASCADE.

IP='[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+'
AGE='[0-9]+[smhd]'

# k ARGS...: kubectl against the walk's server; stdout is the result. Its stderr may hold only
# the warning kube-apiserver 1.33 sends with every v1 Endpoints answer (which it must carry for
# get endpoints); anything else it prints is part of the output checked.
EP_WARNING='Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice'
k() {
    local err=$WORK/kerr-$$-$BASHPID
    "$K" -s "$U" --cache-dir "$KCACHE" --request-timeout=10s "$@" 2>"$err"
    # what a user sees on the terminal, less the expected warning
    grep -vxF "$EP_WARNING" "$err"
    if [ "$1 $2" = "get endpoints" ] && ! grep -qxF "$EP_WARNING" "$err"; then
        echo "(no Endpoints deprecation warning from kubectl $*)"
    fi
    rm -f "$err"
}
step_fail() { echo "FAIL  $1" >>"$LOG"; printf '%s\n' "$2" | sed 's/^/      | /' >>"$LOG"; exit 1; }

# matches OUTPUT REGEX...: OUTPUT is exactly these lines, each matching its (extended) regex
matches() {
    local out=$1 line i=0
    shift
    local -a got
    mapfile -t got <<<"$out"
    while [ ${#got[@]} -gt 0 ] && [ -z "${got[-1]}" ]; do unset 'got[-1]'; done
    [ ${#got[@]} = $# ] || return 1
    for line in "${got[@]}"; do
        i=$((i + 1))
        [[ $line =~ ^(${!i})$ ]] || return 1
    done
}

# lines OUTPUT NAME REGEX...: the output is exactly these lines
lines() {
    local out=$1 name=$2
    shift 2
    matches "$out" "$@" || step_fail "$name" "$out"
    echo "ok    $name" >>"$LOG"
}

# has OUTPUT NAME REGEX...: every regex matches a whole line of OUTPUT
has() {
    local out=$1 name=$2 re
    shift 2
    for re in "$@"; do
        printf '%s\n' "$out" | grep -Eq -- "^($re)\$" || step_fail "$name (no line is /$re/)" "$out"
    done
    echo "ok    $name" >>"$LOG"
}

# until_lines SECS NAME REGEX... -- CMD...: rerun CMD until its output is exactly those lines
until_lines() {
    local secs=$1 name=$2 i out
    shift 2
    local want=()
    while [ "$1" != -- ]; do want+=("$1"); shift; done
    shift
    for i in $(seq 1 $((secs * 10))); do
        out=$("$@")
        if matches "$out" "${want[@]}"; then
            echo "ok    $name" >>"$LOG"
            return 0
        fi
        sleep 0.1
    done
    step_fail "$name (not within ${secs}s)" "$out"
}

walk() {
    local out
    cd "$M" || exit 1
    out=$(k create -f my-replicaset.yml)
    lines "$out" "create the ReplicaSet" 'replicaset.apps/my-replicaset created'
    until_lines 10 "three pods Running" \
        'NAME +READY +STATUS +RESTARTS +AGE' \
        "my-replicaset-[a-z0-9]{5} +1/1 +Running +0 +$AGE" \
        "my-replicaset-[a-z0-9]{5} +1/1 +Running +0 +$AGE" \
        "my-replicaset-[a-z0-9]{5} +1/1 +Running +0 +$AGE" -- k get pods -l app=my-pod
    out=$(k get rs)
    lines "$out" "get rs" 'NAME +DESIRED +CURRENT +READY +AGE' "my-replicaset +3 +3 +3 +$AGE"

    out=$(k create -f rs-svc.yml)
    lines "$out" "create the ClusterIP Service" 'service/rs-service created'
    until_lines 5 "get endpoints lists the three pods" \
        'NAME +ENDPOINTS +AGE' \
        "kubernetes +$IP:[0-9]+ +$AGE" \
        "rs-service +$IP:80,$IP:80,$IP:80 +$AGE" -- k get endpoints
    out=$(k describe -f rs-svc.yml)
    # (kubectl 1.30 and later add "Internal Traffic Policy: Cluster")
    has "$out" "describe the ClusterIP Service" \
        'Name: +rs-service' 'Namespace: +default' 'Labels: +<none>' 'Annotations: +<none>' \
        'Selector: +app=my-pod' 'Type: +ClusterIP' 'IP Family Policy: +SingleStack' \
        'IP Families: +IPv4' "IP: +$IP" "IPs: +$IP" 'Port: +<unset> +80/TCP' \
        'TargetPort: +80/TCP' "Endpoints: +$IP:80,$IP:80,$IP:80" 'Session Affinity: +None' \
        'Events: +<none>'
    out=$(k get svc)
    lines "$out" "get svc" 'NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\(S\) +AGE' \
        "kubernetes +ClusterIP +$IP +<none> +443/TCP +$AGE" \
        "rs-service +ClusterIP +$IP +<none> +80/TCP +$AGE"

    # kubectl scale: the endpoints follow the pods up and down.
    out=$(k scale rs my-replicaset --replicas=5)
    lines "$out" "scale to 5" 'replicaset.apps/my-replicaset scaled'
    until_lines 5 "get endpoints follows to five" \
        'NAME +ENDPOINTS +AGE' \
        "rs-service +$IP:80,$IP:80,$IP:80 \+ 2 more\.\.\. +$AGE" -- k get endpoints rs-service
    out=$(k describe svc rs-service)
    has "$out" "describe shows five endpoints" "Endpoints: +$IP:80,$IP:80,$IP:80 \+ 2 more\.\.\."
    out=$(k get rs my-replicaset)
    lines "$out" "get rs at 5" 'NAME +DESIRED +CURRENT +READY +AGE' "my-replicaset +5 +5 +5 +$AGE"
    out=$(k scale rs my-replicaset --replicas=1)
    lines "$out" "scale to 1" 'replicaset.apps/my-replicaset scaled'
    until_lines 5 "get endpoints follows to one" \
        'NAME +ENDPOINTS +AGE' "rs-service +$IP:80 +$AGE" -- k get endpoints rs-service
    until_lines 5 "one pod left" \
        'NAME +READY +STATUS +RESTARTS +AGE' \
        "my-replicaset-[a-z0-9]{5} +1/1 +Running +0 +$AGE" -- k get pods -l app=my-pod
    out=$(k describe -f rs-svc.yml)
    has "$out" "describe shows one endpoint" "Endpoints: +$IP:80"
    out=$(k delete -f rs-svc.yml)
    lines "$out" "delete the ClusterIP Service" 'service "rs-service" deleted'

    out=$(k create -f mul-svc.yml)
    lines "$out" "create the multiport Service" 'service/rs-service created'
    out=$(k get svc rs-service)
    lines "$out" "the multiport Service lists both ports" \
        'NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\(S\) +AGE' "rs-service +ClusterIP +$IP +<none> +80/TCP,25/TCP +$AGE"
    until_lines 5 "the multiport endpoints" \
        'NAME +ENDPOINTS +AGE' "rs-service +($IP:80,$IP:25|$IP:25,$IP:80) +$AGE" -- k get endpoints rs-service
    out=$(k describe svc rs-service)
    has "$out" "describe the multiport Service" 'Port: +server-main +80/TCP' 'TargetPort: +80/TCP' \
        "Endpoints: +$IP:80" 'Port: +server-logs +25/TCP' 'TargetPort: +25/TCP' "Endpoints: +$IP:25"

    out=$(k create -f rs-svc-headless.yml)
    lines "$out" "create the headless Service" 'service/rs-service-headless created'
    out=$(k describe -f rs-svc-headless.yml)
    has "$out" "describe the headless Service" 'IP: +None' 'IPs: +None' "Endpoints: +$IP:80"

    out=$(k create -f rs-np-svc.yml)
    lines "$out" "create the NodePort Service" 'service/rs-service-nodeport created'
    out=$(k describe -f rs-np-svc.yml)
    has "$out" "describe the NodePort Service" 'Type: +NodePort' 'NodePort: +<unset> +30256/TCP' \
        'External Traffic Policy: +Cluster' "Endpoints: +$IP:80"

    out=$(k create -f svc-load.yml)
    lines "$out" "create the LoadBalancer Service" 'service/rs-service-loadbalancer created'
    out=$(k get svc)
    lines "$out" "get svc shows the five Services" \
        'NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\(S\) +AGE' \
        "kubernetes +ClusterIP +$IP +<none> +443/TCP +$AGE" \
        "rs-service +ClusterIP +$IP +<none> +80/TCP,25/TCP +$AGE" \
        "rs-service-headless +ClusterIP +None +<none> +80/TCP +$AGE" \
        "rs-service-loadbalancer +LoadBalancer +$IP +<pending> +80:30056/TCP +$AGE" \
        "rs-service-nodeport +NodePort +$IP +<none> +80:30256/TCP +$AGE"
    until_lines 5 "get endpoints lists every Service" \
        'NAME +ENDPOINTS +AGE' \
        "kubernetes +$IP:[0-9]+ +$AGE" \
        "rs-service +($IP:80,$IP:25|$IP:25,$IP:80) +$AGE" \
        "rs-service-headless +$IP:80 +$AGE" \
        "rs-service-loadbalancer +$IP:80 +$AGE" \
        "rs-service-nodeport +$IP:80 +$AGE" -- k get endpoints

    # Clean up as the tutorial would: the Services, then the ReplicaSet with its pods.
    out=$(k delete svc rs-service rs-service-headless rs-service-nodeport rs-service-loadbalancer)
    lines "$out" "delete the Services" 'service "rs-service" deleted' 'service "rs-service-headless" deleted' \
        'service "rs-service-nodeport" deleted' 'service "rs-service-loadbalancer" deleted'
    out=$(k delete rs my-replicaset ${CASCADE:+--cascade=$CASCADE})
    lines "$out" "delete the ReplicaSet (${CASCADE:-default} cascade)" 'replicaset.apps "my-replicaset" deleted'
    until_lines 5 "its pods go with it" 'No resources found in default namespace\.' -- k get pods
    out=$(k get rs)
    lines "$out" "no ReplicaSet left" 'No resources found in default namespace\.'
    until_lines 3 "only the kubernetes endpoints are left" \
        'NAME +ENDPOINTS +AGE' "kubernetes +$IP:[0-9]+ +$AGE" -- k get endpoints
    out=$(k get endpointslices -o name)
    lines "$out" "only the kubernetes EndpointSlice is left" 'endpointslice.discovery.k8s.io/kubernetes'
}

# ---- every kubectl --------------------------------------------------------------------------------

run_walk() { # run_walk INDEX KUBECTL: its own server, its own log; exits with the walk's status
    local i=$1
    K=$2
    LOG=$WORK/walk-$i.log
    KCACHE=$WORK/cache-$i
    CASCADE=
    [ $((i % 2)) = 1 ] && CASCADE=foreground
    : >"$LOG"
    spawn_server "srv-$i"
    U=$SPAWN_URL
    ( walk )
    local rc=$?
    kill "$SPAWN_PID" 2>/dev/null
    wait "$SPAWN_PID" 2>/dev/null
    return $rc
}

start=$(date +%s)
i=0
pids=()
names=()
for kc in $KUBECTLS; do
    run_walk "$i" "$kc" &
    pids+=($!)
    names+=("$kc")
    i=$((i + 1))
    # a few at a time: the machine has two cores
    while [ "$(jobs -rp | wc -l)" -ge "$PARALLEL" ]; do sleep 0.1; done
done
failed=0
for j in "${!pids[@]}"; do
    if wait "${pids[$j]}"; then
        echo "ok: $(basename "${names[$j]}"): $(grep -c '^ok' "$WORK/walk-$j.log") steps"
    else
        failed=$((failed + 1))
        echo "FAIL: $(basename "${names[$j]}") (${names[$j]}):" >&2
        cat "$WORK/walk-$j.log" >&2
    fi
done
echo "kubectl versions walked in $(($(date +%s) - start)) s"
echo "$((${#pids[@]} - failed)) passed, $failed failed"
[ "$failed" = 0 ] || exit 1
