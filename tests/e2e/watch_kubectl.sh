#!/usr/bin/env bash
# `kubectl get svc -w` against the server with every kubectl on the machine (the one on PATH
# and each kubectl.1.NN beside it), kubectl-contract.md §4.3: the list, then the watch from the
# list's version prints one row for the create, one for the change and one for the delete
# (checked with --output-watch-events, whose EVENT column names them); and the single-object
# form (`get svc NAME -w`, a watch from "0" whose synthetic ADDED kubectl swallows) prints the
# change. kubectl runs in the background with its output in a file and is stopped after the
# writes.
. "$(dirname "$0")/lib.sh"

command -v kubectl >/dev/null || { echo "SKIP: kubectl not found"; exit 77; }
KDIR=$(dirname "$(readlink -f "$(command -v kubectl)")")
KUBECTLS="kubectl"
for k in "$KDIR"/kubectl.1.*; do
    [ -x "$k" ] && KUBECTLS="$KUBECTLS $k"
done
start_server -v 1
printf 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\npreferences: {}\n' >"$WORK/kubeconfig"
export KUBECONFIG=$WORK/kubeconfig
export HOME=$WORK/home

# watches_seen: how many watch requests the server has answered so far (its -v 1 log)
watches_seen() { grep -c 'watch=true' "$SERVER_LOG" || true; }
# wait_watches N: until the server has seen N watch requests (10 s at most)
wait_watches() {
    local i
    for i in $(seq 1 400); do
        [ "$(watches_seen)" -ge "$1" ] && return 0
        sleep 0.025
    done
    fail "kubectl never started its watch"
}
# rows FILE REGEX: lines of FILE matching REGEX
rows() { grep -cE "$2" "$1" || true; }

n=0
for k in $KUBECTLS; do
    n=$((n + 1))
    ver=$(basename "$k")
    ns=k$n
    req POST /api/v1/namespaces "{\"metadata\":{\"name\":\"$ns\"}}"
    expect_status 201 "namespace $ns"
    req POST "/api/v1/namespaces/$ns/services" \
        '{"metadata":{"name":"keep"},"spec":{"ports":[{"port":81}]}}'
    expect_status 201

    before=$(watches_seen)
    "$k" -s "$URL" --cache-dir "$WORK/cache-$ver" -n "$ns" get svc -w --output-watch-events \
        >"$WORK/$ver.events" 2>"$WORK/$ver.events.err" &
    kpid=$!
    "$k" -s "$URL" --cache-dir "$WORK/cache-$ver" -n "$ns" get svc keep -w \
        >"$WORK/$ver.one" 2>"$WORK/$ver.one.err" &
    kpid1=$!
    wait_watches $((before + 2))

    req POST "/api/v1/namespaces/$ns/services" \
        '{"metadata":{"name":"web","labels":{"app":"web"}},"spec":{"selector":{"app":"web"},"ports":[{"port":80}]}}'
    expect_status 201
    req PATCH "/api/v1/namespaces/$ns/services/web" '{"spec":{"type":"NodePort"}}' \
        application/merge-patch+json
    expect_status 200
    req PATCH "/api/v1/namespaces/$ns/services/keep" '{"metadata":{"labels":{"seen":"yes"}}}' \
        application/merge-patch+json
    expect_status 200
    req DELETE "/api/v1/namespaces/$ns/services/web"
    expect_status 200
    for i in $(seq 1 200); do
        [ "$(rows "$WORK/$ver.events" '^DELETED +web ')" -ge 1 ] && [ "$(rows "$WORK/$ver.one" '^keep ')" -ge 2 ] && break
        sleep 0.025
    done
    kill "$kpid" "$kpid1" 2>/dev/null
    wait "$kpid" "$kpid1" 2>/dev/null

    out=$WORK/$ver.events
    grep -qE '^EVENT +NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\(S\) +AGE$' "$out" ||
        fail "$ver: no header in $(cat "$out" "$out.err")"
    [ "$(rows "$out" '^ADDED +keep +ClusterIP ')" = 1 ] || fail "$ver: the listed row: $(cat "$out")"
    [ "$(rows "$out" '^ADDED +web +ClusterIP +10\.[0-9.]+ +<none> +80/TCP +[0-9]+s$')" = 1 ] ||
        fail "$ver: no row for the create: $(cat "$out")"
    [ "$(rows "$out" '^MODIFIED +web +NodePort +10\.[0-9.]+ +<none> +80:3[0-9]{4}/TCP +[0-9]+s$')" = 1 ] ||
        fail "$ver: no row for the change: $(cat "$out")"
    [ "$(rows "$out" '^MODIFIED +keep ')" = 1 ] || fail "$ver: no row for the relabel: $(cat "$out")"
    [ "$(rows "$out" '^DELETED +web +NodePort ')" = 1 ] || fail "$ver: no row for the delete: $(cat "$out")"
    [ "$(grep -c . "$out")" = 6 ] || fail "$ver: extra rows: $(cat "$out")"

    one=$WORK/$ver.one
    grep -qE '^NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\(S\) +AGE$' "$one" ||
        fail "$ver: get svc keep -w: $(cat "$one" "$one.err")"
    [ "$(rows "$one" '^keep +ClusterIP +10\.[0-9.]+ +<none> +81/TCP +[0-9]+s$')" = 2 ] ||
        fail "$ver: get svc keep -w did not print the change once: $(cat "$one")"
    pass "$ver get svc -w: create, change and delete rows; get svc NAME -w: the change"
done
