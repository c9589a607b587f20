#!/usr/bin/env bash
# Watch and list semantics with curl, event bodies compared exactly (service-semantics.md
# §8.8-§8.10, kubectl-contract.md §6; upstream apiserver v0.33 pkg/storage/cacher,
# pkg/endpoints/handlers/get.go, watch.go, storage/etcd3/errors.go):
#   - every served kind watches namespaced, across namespaces and by the /watch/ paths;
#     headers come at once, chunked, one JSON event per line;
#   - resourceVersion: from a list's version only later events, "0" the current objects as
#     ADDED, a version the log dropped one ERROR 410 "too old resource version: A (B)";
#   - bookmarks (the last one 2 s before timeoutSeconds), timeout, WatchList initial events and
#     the annotated bookmark, the 422s of the watch options;
#   - selector transitions (DELETED with the old object and the new version, ADDED), Tables
#     (columns in the first event only), a single object's watch;
#   - lists: limit/continue tokens, remainingItemCount, resourceVersion(Match) and their
#     errors, 410 for an expired token, deletecollection with selectors.
. "$(dirname "$0")/lib.sh"

cat >"$WORK/evq.py" <<'EOF'
import json, sys
def events(path):
    out = []
    for line in open(path, encoding="utf-8"):
        if line.strip():
            out.append(json.loads(line))
    return out
cmd, path = sys.argv[1], sys.argv[2]
evs = events(path)
if cmd == "summary":
    # one line per event: TYPE name resourceVersion (BOOKMARK/ERROR: TYPE - rv / code message)
    for e in evs:
        o = e["object"]
        if e["type"] == "ERROR":
            print("ERROR", o.get("code"), o.get("message"))
        elif o.get("kind") == "Table":
            row = o["rows"][0]
            print(e["type"], row["cells"][0], o["metadata"]["resourceVersion"])
        else:
            m = o.get("metadata", {})
            print(e["type"], m.get("name", "-"), m.get("resourceVersion"))
elif cmd == "event":
    print(json.dumps(evs[int(sys.argv[3])], separators=(",", ":")))
elif cmd == "object":
    print(json.dumps(evs[int(sys.argv[3])]["object"], separators=(",", ":")))
elif cmd == "count":
    print(len(evs))
elif cmd == "kinds":
    print(" ".join(sorted({e["object"].get("kind", "?") for e in evs})))
EOF
EVQ="$PY $WORK/evq.py"

# watch_bg NAME PATH [ACCEPT]: start a watch with curl in the background; returns once the
# response headers have arrived (the server sends them before any event).
declare -A WPID
watch_bg() {
    local name=$1 path=$2 accept=${3:-application/json}
    rm -f "$WORK/$name.out" "$WORK/$name.hdr"
    curl -sN --max-time 60 -H "Accept: $accept" -D "$WORK/$name.hdr" -o "$WORK/$name.out" \
        "$URL$path" &
    WPID[$name]=$!
    local i
    for i in $(seq 1 200); do
        grep -q $'^\r$' "$WORK/$name.hdr" 2>/dev/null && return 0
        sleep 0.025
    done
    fail "watch $name: no headers within 5 s"
}
watch_end() { wait "${WPID[$1]}" 2>/dev/null; }
watch_stop() { kill "${WPID[$1]}" 2>/dev/null; wait "${WPID[$1]}" 2>/dev/null; }
summary() { $EVQ summary "$WORK/$1.out"; }
# until_events NAME N: wait (5 s at most) until the watch has N events
until_events() {
    local i
    for i in $(seq 1 200); do
        [ "$($EVQ count "$WORK/$1.out" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
        sleep 0.025
    done
    fail "watch $1: fewer than $2 events: $(summary "$1" | tr '\n' ';')"
}
expect_summary() {
    local got
    got=$(summary "$1")
    [ "$got" = "$2" ] || fail "watch $1: events
$got
expected
$2"
}
same_json() { $JSONQ equal "$1" "$2" || fail "${3:-json}: $1
differs from
$2"; }
list_rv() { req GET "$1"; jq_get .metadata.resourceVersion; }
mksvc() { # mksvc NS NAME [LABEL_APP [TYPE]]
    local labels=""
    [ -n "${3:-}" ] && labels=",\"labels\":{\"app\":\"$3\"}"
    req POST "/api/v1/namespaces/$1/services" \
        "{\"metadata\":{\"name\":\"$2\"$labels},\"spec\":{\"type\":\"${4:-ClusterIP}\",\"ports\":[{\"port\":80}]}}"
    expect_status 201 "create service $1/$2"
}
mkns() { req POST /api/v1/namespaces "{\"metadata\":{\"name\":\"$1\"}}"; expect_status 201 "namespace $1"; }
patch_labels() { # patch_labels NS NAME JSON_LABELS
    req PATCH "/api/v1/namespaces/$1/services/$2" "{\"metadata\":{\"labels\":$3}}" \
        application/merge-patch+json
    expect_status 200 "patch $1/$2"
}
now_ms() { date +%s%3N; }
# names_of: the item names of the last list answer, comma-separated, in order
names_of() { $PY -c 'import json,sys; print(",".join(i["metadata"]["name"] for i in json.load(open(sys.argv[1]))["items"]))' "$BODY_FILE"; }

start_server --watch-cache-size 200
mkns w1
mkns w2

# ---- headers at once, framing, and every kind on every path ---------------------------------
watch_bg hdr "/api/v1/namespaces/w1/services?watch=true&resourceVersion=$(list_rv /api/v1/namespaces/w1/services)"
[ ! -s "$WORK/hdr.out" ] || fail "events before any change"
grep -qi '^HTTP/1.1 200' "$WORK/hdr.hdr" || fail "watch status: $(head -1 "$WORK/hdr.hdr")"
grep -qi '^Content-Type: application/json' "$WORK/hdr.hdr" || fail "watch content type"
grep -qi '^Transfer-Encoding: chunked' "$WORK/hdr.hdr" || fail "watch is not chunked"
t0=$(now_ms)
mksvc w1 first
until_events hdr 1
[ $(( $(now_ms) - t0 )) -lt 1000 ] || fail "the event was not flushed at once"
watch_stop hdr
pass "headers before events, chunked JSON lines flushed per event"

req GET /api/v1
PATHS=$($PY - "$BODY_FILE" <<'EOF'
import json, sys
for r in json.load(open(sys.argv[1]))["resources"]:
    if "/" not in r["name"] and "watch" in r["verbs"]:
        print("1", "/api/v1", r["name"], r["kind"], r["namespaced"])
EOF
)
for gv in apps/v1 discovery.k8s.io/v1; do
    req GET "/apis/$gv"
    PATHS+=$'\n'$($PY - "$BODY_FILE" "$gv" <<'EOF'
import json, sys
for r in json.load(open(sys.argv[1]))["resources"]:
    if "/" not in r["name"] and "watch" in r["verbs"]:
        print("1", "/apis/" + sys.argv[2], r["name"], r["kind"], r["namespaced"])
EOF
)
done
kinds=0
n=0
while read -r _ base res kind namespaced; do
    [ -n "$res" ] || continue
    if [ "$namespaced" = True ]; then
        paths="$base/namespaces/default/$res?watch=true $base/$res?watch=1 $base/watch/namespaces/default/$res $base/watch/$res"
    else
        paths="$base/$res?watch=true $base/watch/$res"
    fi
    for p in $paths; do
        sep='?'; case $p in *\?*) sep='&' ;; esac
        n=$((n + 1))
        echo "$kind $p" >"$WORK/kind$n.what"
        curl -s -o "$WORK/kind$n.out" -w '%{http_code}' --max-time 10 "$URL$p${sep}timeoutSeconds=1" \
            >"$WORK/kind$n.code" &
        pids="${pids:-} $!"
    done
    kinds=$((kinds + 1))
done <<<"$PATHS"
wait $pids
for i in $(seq 1 "$n"); do
    read -r kind p <"$WORK/kind$i.what"
    [ "$(cat "$WORK/kind$i.code")" = 200 ] || fail "watch $p answered $(cat "$WORK/kind$i.code")"
    got=$($EVQ kinds "$WORK/kind$i.out")
    case "$got" in ""|"$kind") ;; *) fail "watch $p sent objects of kind $got" ;; esac
done
[ "$kinds" -ge 8 ] || fail "only $kinds watchable resources found in discovery"
pass "watch on $kinds kinds, namespaced, across namespaces and /watch/ paths"

# ---- resourceVersion ------------------------------------------------------------------------
mksvc w1 second web
RV=$(list_rv /api/v1/namespaces/w1/services)
watch_bg fromrv "/api/v1/namespaces/w1/services?watch=true&resourceVersion=$RV&timeoutSeconds=3"
watch_bg zero "/api/v1/namespaces/w1/services?watch=true&resourceVersion=0&timeoutSeconds=3"
watch_bg none "/api/v1/namespaces/w1/services?watch=true&timeoutSeconds=3"
mksvc w1 third
req GET /api/v1/namespaces/w1/services/third
cp "$BODY_FILE" "$WORK/third.json"
watch_end fromrv; watch_end zero; watch_end none
THIRD_RV=$($JSONQ get "$WORK/third.json" .metadata.resourceVersion)
expect_summary fromrv "ADDED third $THIRD_RV"
same_json "$($EVQ object "$WORK/fromrv.out" 0)" "$(cat "$WORK/third.json")" "ADDED object"
req GET /api/v1/namespaces/w1/services/first
FIRST_RV=$(jq_get .metadata.resourceVersion)
req GET /api/v1/namespaces/w1/services/second
SECOND_RV=$(jq_get .metadata.resourceVersion)
want="ADDED first $FIRST_RV
ADDED second $SECOND_RV
ADDED third $THIRD_RV"
expect_summary zero "$want"
expect_summary none "$want"
pass "from a list's version only later events; from 0 or none the current objects first"

# ---- bookmarks and timeouts ----------------------------------------------------------------
RV=$(list_rv /api/v1/namespaces/w1/services)
t0=$(now_ms)
watch_bg bm "/api/v1/namespaces/w1/services?watch=true&resourceVersion=$RV&allowWatchBookmarks=true&timeoutSeconds=4"
mksvc w2 elsewhere          # moves the version on without an event for this watch
NOW_RV=$(list_rv /api/v1/namespaces/w2/services)
watch_end bm
elapsed=$(( $(now_ms) - t0 ))
[ "$elapsed" -ge 3800 ] && [ "$elapsed" -lt 6000 ] || fail "timeoutSeconds=4 ended after ${elapsed} ms"
expect_summary bm "BOOKMARK - $NOW_RV"
same_json "$($EVQ event "$WORK/bm.out" 0)" \
    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"$NOW_RV\",\"creationTimestamp\":null},\"spec\":{},\"status\":{\"loadBalancer\":{}}}}" \
    "BOOKMARK"
# The exact bytes: key order as upstream writes them.
[ "$(head -1 "$WORK/bm.out")" = "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"$NOW_RV\",\"creationTimestamp\":null},\"spec\":{},\"status\":{\"loadBalancer\":{}}}}" ] \
    || fail "bookmark bytes: $(head -1 "$WORK/bm.out")"
t0=$(now_ms)
req GET "/api/v1/namespaces/w1/services?watch=true&resourceVersion=$RV&allowWatchBookmarks=true&timeoutSeconds=1"
elapsed=$(( $(now_ms) - t0 ))
[ ! -s "$BODY_FILE" ] || fail "a 1 s watch gets no bookmark (it would be due before it starts): $(cat "$BODY_FILE")"
[ "$elapsed" -ge 900 ] && [ "$elapsed" -lt 3000 ] || fail "timeoutSeconds=1 ended after ${elapsed} ms"
t0=$(now_ms)
req GET "/api/v1/namespaces/w1/services?watch=true&resourceVersion=$RV&timeout=2s"
elapsed=$(( $(now_ms) - t0 ))
[ "$elapsed" -ge 1900 ] && [ "$elapsed" -lt 4000 ] || fail "timeout=2s ended after ${elapsed} ms"
req GET "/api/v1/namespaces/w1/services?watch=true&timeoutSeconds=-1"
expect_status 200
[ ! -s "$BODY_FILE" ] || fail "a negative timeout ends before any event"
pass "bookmark 2 s before timeoutSeconds, exact body; timeout=2s; no bookmark for a 1 s watch"

# ---- WatchList ---------------------------------------------------------------------------------
req GET /api/v1/namespaces/w1/services
cp "$BODY_FILE" "$WORK/w1list.json"
LRV=$(jq_get .metadata.resourceVersion)
req GET "/api/v1/namespaces/w1/services?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1"
expect_status 200
cp "$BODY_FILE" "$WORK/wl.out"
expect_summary wl "ADDED first $FIRST_RV
ADDED second $SECOND_RV
ADDED third $THIRD_RV
BOOKMARK - $LRV"
BLUEPRINT=$(printf '{"kind":"ServiceList","apiVersion":"v1","metadata":{},"items":null}\n' | base64 -w0)
[ "$(sed -n 4p "$WORK/wl.out")" = "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"$LRV\",\"creationTimestamp\":null,\"annotations\":{\"k8s.io/initial-events-end\":\"true\",\"kubernetes.io/initial-events-list-blueprint\":\"$BLUEPRINT\"}},\"spec\":{},\"status\":{\"loadBalancer\":{}}}}" ] \
    || fail "initial-events-end bookmark: $(sed -n 4p "$WORK/wl.out")"
for i in 0 1 2; do
    item=$($PY -c 'import json,sys; d=json.load(open(sys.argv[1])); o=d["items"][int(sys.argv[2])]; print(json.dumps(dict([("kind","Service"),("apiVersion","v1")]+list(o.items()))))' "$WORK/w1list.json" "$i")
    same_json "$($EVQ object "$WORK/wl.out" "$i")" "$item" "initial event $i"
done
# sendInitialEvents=false: from now on only
watch_bg nowonly "/api/v1/namespaces/w1/services?watch=true&sendInitialEvents=false&resourceVersionMatch=NotOlderThan&timeoutSeconds=2"
mksvc w1 fourth
watch_end nowonly
expect_summary nowonly "ADDED fourth $(list_rv /api/v1/namespaces/w1/services/fourth)"
# the option checks (apimachinery validateWatchOptions), 422 Invalid ListOptions
req GET "/api/v1/namespaces/w1/services?watch=true&sendInitialEvents=true"
expect_status 422
jq_is .message '"ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"'
jq_is .details '{"group":"meta.k8s.io","kind":"ListOptions","causes":[{"reason":"FieldValueForbidden","message":"Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan","field":"resourceVersionMatch"}]}'
req GET "/api/v1/namespaces/w1/services?watch=true&resourceVersion=5&resourceVersionMatch=NotOlderThan"
expect_status 422
jq_is .message '"ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"'
req GET "/api/v1/namespaces/w1/services?watch=true&sendInitialEvents=true&resourceVersionMatch=Exact"
expect_status 422
jq_is .message '"ListOptions.meta.k8s.io \"\" is invalid: [resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan, resourceVersionMatch: Unsupported value: \"Exact\": supported values: \"NotOlderThan\"]"'
req GET "/api/v1/namespaces/w1/services?watch=true&resourceVersion=abc"
expect_status 500
jq_is . '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"resourceVersion: Invalid value: \"abc\": strconv.ParseUint: parsing \"abc\": invalid syntax","code":500}'
req GET "/api/v1/namespaces/w1/services?watch=true&timeoutSeconds=soon"
expect_status 400
jq_is .message '"strconv.ParseInt: parsing \"soon\": invalid syntax"'
req GET "/api/v1/namespaces/w1/services?watch=true" "" "" application/yaml
expect_status 406
# The Status itself comes in YAML, the form the client asked for (ErrorNegotiated).
tr '\n' ' ' <"$BODY_FILE" | tr -s ' ' | grep -qF "message: 'only the following media types are accepted: application/json;stream=watch, application/vnd.kubernetes.protobuf;stream=watch'" ||
    fail "406 for a YAML watch"
pass "WatchList: initial events, annotated bookmark with the list blueprint; option errors"

# ---- selector transitions, single objects, selector errors -----------------------------------
RV=$(list_rv /api/v1/namespaces/w1/services)
watch_bg sel "/api/v1/namespaces/w1/services?watch=true&resourceVersion=$RV&labelSelector=app%3Dweb"
watch_bg fsel "/api/v1/namespaces/w1/services?watch=true&resourceVersion=$RV&fieldSelector=spec.type%3DNodePort"
req GET /api/v1/namespaces/w1/services/second
cp "$BODY_FILE" "$WORK/before.json"
patch_labels w1 second '{"app":"db"}'
LEFT_RV=$(jq_get .metadata.resourceVersion)
patch_labels w1 second '{"app":"web"}'
cp "$BODY_FILE" "$WORK/back.json"
BACK_RV=$(jq_get .metadata.resourceVersion)
req PATCH /api/v1/namespaces/w1/services/third '{"spec":{"type":"NodePort"}}' application/merge-patch+json
expect_status 200
TYPE_RV=$(jq_get .metadata.resourceVersion)
req PATCH /api/v1/namespaces/w1/services/third '{"spec":{"type":"ClusterIP","ports":[{"port":80,"nodePort":null}]}}' application/merge-patch+json
expect_status 200
UNTYPE_RV=$(jq_get .metadata.resourceVersion)
until_events sel 2
until_events fsel 2
watch_stop sel; watch_stop fsel
expect_summary sel "DELETED second $LEFT_RV
ADDED second $BACK_RV"
# the one that left: its old content (app=web) with the new version
want=$($PY -c 'import json,sys; o=json.load(open(sys.argv[1])); o["metadata"]["resourceVersion"]=sys.argv[2]; print(json.dumps(o))' "$WORK/before.json" "$LEFT_RV")
same_json "$($EVQ object "$WORK/sel.out" 0)" "$want" "DELETED on leaving the selector"
same_json "$($EVQ object "$WORK/sel.out" 1)" "$(cat "$WORK/back.json")" "ADDED on entering the selector"
expect_summary fsel "ADDED third $TYPE_RV
DELETED third $UNTYPE_RV"
# one object by name, from "0": its current state first (kubectl swallows it), then changes
watch_bg one "/api/v1/namespaces/w1/services?fieldSelector=metadata.name%3Dfirst&resourceVersion=0&watch=true"
watch_bg onepath "/api/v1/watch/namespaces/w1/services/first"
patch_labels w1 first '{"x":"y"}'
X_RV=$(jq_get .metadata.resourceVersion)
until_events one 2; until_events onepath 2
watch_stop one; watch_stop onepath
expect_summary one "ADDED first $FIRST_RV
MODIFIED first $X_RV"
expect_summary onepath "ADDED first $FIRST_RV
MODIFIED first $X_RV"
req GET "/api/v1/watch/namespaces/w1/services/first?fieldSelector=metadata.name%3Dsecond"
expect_status 400
jq_is .message '"fieldSelector metadata.name doesn'"'"'t match requested name"'
req GET "/api/v1/namespaces/w1/services?watch=true&fieldSelector=spec.foo%3Dx"
expect_status 400
jq_is .message '"field label not supported: spec.foo"'
req GET "/api/v1/namespaces/w1/services?fieldSelector=spec.foo%3Dx"
jq_is .message '"field label not supported: spec.foo"'
req GET "/api/v1/namespaces/w1/endpoints?watch=true&fieldSelector=spec.foo%3Dx"
expect_status 400
jq_is .message '"\"spec.foo\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""'
req GET "/api/v1/namespaces/w1/services?labelSelector=a%20in%20(b"
expect_status 400
cp "$BODY_FILE" "$WORK/listsel.json"
req GET "/api/v1/namespaces/w1/services?watch=true&labelSelector=a%20in%20(b"
expect_status 400
same_json "$(cat "$BODY_FILE")" "$(cat "$WORK/listsel.json")" "bad label selector on watch and list"
pass "selector transitions (DELETED with the old object, ADDED), single-object watches, 400s"

# ---- Tables ------------------------------------------------------------------------------------
TABLE='application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'
RV=$(list_rv /api/v1/namespaces/w1/services)
watch_bg tbl "/api/v1/namespaces/w1/services?resourceVersion=$RV&watch=true" "$TABLE"
mksvc w1 fifth
FIFTH_RV=$(jq_get .metadata.resourceVersion)
patch_labels w1 fifth '{"t":"1"}'
F2_RV=$(jq_get .metadata.resourceVersion)
until_events tbl 2
watch_stop tbl
expect_summary tbl "ADDED fifth $FIFTH_RV
MODIFIED fifth $F2_RV"
$PY - "$WORK/tbl.out" <<'EOF' || fail "Table watch events"
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
first, second = evs[0]["object"], evs[1]["object"]
assert first["kind"] == "Table" and first["apiVersion"] == "meta.k8s.io/v1", first
assert [c["name"] for c in first["columnDefinitions"]][:3] == ["Name", "Type", "Cluster-IP"], first["columnDefinitions"]
assert "columnDefinitions" in second and second["columnDefinitions"] is None, second
assert len(first["rows"]) == 1 and first["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
assert list(first.keys()) == ["kind", "apiVersion", "metadata", "columnDefinitions", "rows"], list(first.keys())
EOF
pass "Table watch: one-row Tables, column definitions in the first event only"

# ---- lists: paging, versions, errors, deletecollection -------------------------------------
mkns pages
for n in a b c d e; do mksvc pages "$n" "$([ "$n" = c ] && echo odd || echo even)"; done
req GET "/api/v1/namespaces/pages/services?limit=2"
expect_status 200
PRV=$(jq_get .metadata.resourceVersion)
TOKEN=$(jq_get .metadata.continue)
jq_is .metadata.remainingItemCount 3
[ "$(names_of)" = a,b ] || fail "first page"
[ "$($PY -c 'import base64,sys; t=sys.argv[1]; print(base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)).decode())' "$TOKEN")" = "{\"v\":\"meta.k8s.io/v1\",\"rv\":$PRV,\"start\":\"b\\u0000\"}" ] \
    || fail "continue token $TOKEN"
case "$TOKEN" in *=*) fail "token has padding" ;; esac
req DELETE /api/v1/namespaces/pages/services/c
mksvc pages bb even
req GET "/api/v1/namespaces/pages/services?limit=2&continue=$TOKEN"
expect_status 200
jq_is .metadata.resourceVersion "\"$PRV\""
jq_is .metadata.remainingItemCount 1
[ "$(names_of)" = c,d ] \
    || fail "second page is not the snapshot: $(cat "$BODY_FILE" | head -c 300)"
req GET "/api/v1/namespaces/pages/services?limit=2&labelSelector=app%3Deven"
[ "$($PY -c 'import json,sys; print("remainingItemCount" in json.load(open(sys.argv[1]))["metadata"])' "$BODY_FILE")" = False ] \
    || fail "remainingItemCount with a selector"
req GET "/api/v1/namespaces/pages/services?limit=1&resourceVersion=0"
[ "$($PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["items"]), "continue" in d["metadata"])' "$BODY_FILE")" = "5 False" ] \
    || fail "resourceVersion=0 ignores limit (the watch cache serves it whole)"
req GET "/api/v1/namespaces/pages/services?resourceVersion=$PRV&resourceVersionMatch=Exact"
[ "$(names_of)" = a,b,c,d,e ] \
    || fail "Exact list"
jq_is .metadata.resourceVersion "\"$PRV\""
CUR=$(list_rv /api/v1/namespaces/pages/services)
req GET "/api/v1/namespaces/pages/services?resourceVersion=$((CUR + 1000))"
expect_status 504
jq_is . "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"Timeout: Too large resource version: $((CUR + 1000)), current: $CUR\",\"reason\":\"Timeout\",\"details\":{\"causes\":[{\"reason\":\"ResourceVersionTooLarge\",\"message\":\"Too large resource version\"}],\"retryAfterSeconds\":1},\"code\":504}"
req GET "/api/v1/namespaces/pages/services?resourceVersion=x1"
expect_status 400
jq_is .message '"invalid resource version: resourceVersion: Invalid value: \"x1\": strconv.ParseUint: parsing \"x1\": invalid syntax"'
req GET "/api/v1/namespaces/pages/services?resourceVersionMatch=Exact"
expect_status 422
jq_is .message '"ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"'
req GET "/api/v1/namespaces/pages/services?continue=$TOKEN&resourceVersion=3"
expect_status 400
jq_is .message '"specifying resource version is not allowed when using continue"'
req GET "/api/v1/namespaces/pages/services?continue=abcde"
expect_status 400
jq_is .message '"invalid continue token: continue key is not valid: illegal base64 data at input byte 4"'
# deletecollection honours the selectors
req DELETE "/api/v1/namespaces/pages/services?labelSelector=app%3Deven"
expect_status 200
[ "$(names_of | tr , "\n" | sort | paste -sd,)" = a,b,bb,d,e ] \
    || fail "deletecollection by label deleted $(cat "$BODY_FILE" | head -c 300)"
req GET /api/v1/namespaces/pages/services
[ "$(names_of)" = "" ] \
    || fail "left after deletecollection: $(head -c 300 "$BODY_FILE")"
mksvc pages x1 odd
mksvc pages x2 odd
req DELETE "/api/v1/namespaces/pages/services?fieldSelector=metadata.name%3Dx2"
expect_status 200
req GET /api/v1/namespaces/pages/services
[ "$(names_of)" = x1 ] \
    || fail "deletecollection by field"
pass "lists: continue tokens stable and exact, remainingItemCount, versions and their errors, deletecollection"

# ---- a small event log: 410 for watches and tokens -------------------------------------------
stop_server
start_server --watch-cache-size 20
mkns old
mksvc old s0
OLD_RV=$(list_rv /api/v1/namespaces/old/services)
req GET "/api/v1/namespaces/old/services?limit=1"
mksvc old s1
req GET "/api/v1/namespaces/old/services?limit=1"
OLD_TOKEN=$(jq_get .metadata.continue)
for i in $(seq 1 25); do patch_labels old s0 "{\"n\":\"$i\"}"; done
sleep 0.3
for attempt in 1 2 3; do
    CUR=$(list_rv /api/v1/namespaces/old/services)
    req GET "/api/v1/namespaces/old/services?watch=true&resourceVersion=$OLD_RV"
    cp "$BODY_FILE" "$WORK/gone.out"
    [ "$CUR" = "$(list_rv /api/v1/namespaces/old/services)" ] && break
done
expect_summary gone "ERROR 410 too old resource version: $OLD_RV ($((CUR - 20)))"
[ "$(cat "$WORK/gone.out")" = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"too old resource version: $OLD_RV ($((CUR - 20)))\",\"reason\":\"Expired\",\"code\":410}}" ] \
    || fail "410 event bytes: $(cat "$WORK/gone.out")"
req GET "/api/v1/namespaces/old/services?limit=1&continue=$OLD_TOKEN"
expect_status 410
jq_is .reason '"Expired"'
jq_is .message '"The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list."'
req GET "/api/v1/namespaces/old/services?resourceVersion=$OLD_RV&resourceVersionMatch=Exact"
expect_status 410
jq_is .message '"The resourceVersion for the provided list is too old."'
pass "410: watch ERROR event with the oldest served version, expired continue token and Exact list"
