#!/usr/bin/env bash
# Crash test for --data-dir (issue 8): 8 writers (curl, in the background) create, patch and
# delete Services, some of the requests invalid on purpose; the server is killed with SIGKILL at
# a random moment, restarted on the same directory, and then every write answered 2xx must be
# there with exactly the content of its answer, nothing answered with an error may be there, no
# ClusterIP or nodePort may be held twice, and resourceVersions may only grow. The state carries
# over from round to round; small, random snapshot thresholds make snapshots (and kills in the
# middle of them) frequent. CRASH_ROUNDS (default 20) rounds, each of a fraction of a second of
# writes, a few seconds in all.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { echo "skip: curl is missing"; exit 77; }
[ -x "$PY" ] || { echo "skip: $PY is missing"; exit 77; }

ROUNDS=${CRASH_ROUNDS:-20}
WRITERS=8
NAMES=5 # Services per writer: each writer owns its names, so its answers order their states
DATA=$WORK/data
STATE=$WORK/state.json # the verified state, carried from round to round
mkdir -p "$WORK/bodies"
echo '{}' >"$STATE"
: >"$WORK/existing"

# One writer: until the stop file appears or the server stops answering (curl's code 000: the
# request may or may not have been committed, so the writer stops there). Logs "seq op name code
# marker" and keeps each 2xx answer in bodies/<marker>.json.
writer() {
    local w=$1 round=$2 url=$3 log=$WORK/w$1.log seq=0
    local -A exists=()
    local n
    for n in $(seq 0 $((NAMES - 1))); do
        exists[$n]=0
        grep -qx "w$w-$n" "$WORK/existing" && exists[$n]=1
    done
    while [ ! -e "$WORK/stop" ]; do
        seq=$((seq + 1))
        n=$((RANDOM % NAMES))
        local name=w$w-$n mark=r$round-w$w-$seq op path method body ct=application/json
        local type=ClusterIP
        [ $((n % 2)) = 0 ] && type=NodePort
        local dice=$((RANDOM % 10))
        if [ "${exists[$n]}" = 0 ] || [ "$dice" = 0 ]; then
            op=create method=POST path=/api/v1/namespaces/default/services
            local port=80
            [ "$dice" = 1 ] && port=70000 # invalid: answered 422, must leave no trace
            body="{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"$name\",\"labels\":{\"op\":\"$mark\"}},\"spec\":{\"type\":\"$type\",\"ports\":[{\"port\":$port,\"protocol\":\"TCP\"}]}}"
        elif [ "$dice" -le 2 ]; then
            op=delete method=DELETE path=/api/v1/namespaces/default/services/$name body=
        else
            op=patch method=PATCH path=/api/v1/namespaces/default/services/$name
            ct=application/merge-patch+json
            body="{\"metadata\":{\"labels\":{\"op\":\"$mark\"},\"annotations\":{\"seq\":\"$seq\"}}}"
        fi
        local args=(-s -X "$method" -o "$WORK/bodies/$mark.json" -w '%{http_code}' --max-time 30)
        [ -n "$body" ] && args+=(-H "Content-Type: $ct" --data-binary "$body")
        local code
        code=$(curl "${args[@]}" "$url$path")
        echo "$seq $op $name $code $mark" >>"$log"
        case $code in
        2??) if [ "$op" = delete ]; then exists[$n]=0; else exists[$n]=1; fi ;;
        000) return 0 ;;
        *) rm -f "$WORK/bodies/$mark.json" ;;
        esac
    done
}

# The checks after a restart; prints a reason and exits non-zero on the first violation, and
# writes the verified state for the next round.
CHECK=$(
    cat <<'EOF'
import json, sys, urllib.request, urllib.error

work, url, writers, names, rnd = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
state = json.load(open(f"{work}/state.json"))
max_rv_before = int(open(f"{work}/max_rv").read() or 0)

def http(method, path, body=None):
    req = urllib.request.Request(url + path, method=method, data=body,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")

def die(msg):
    print("FAIL:", msg)
    sys.exit(1)

def rv(obj):
    return int(obj["metadata"]["resourceVersion"])

acked_max = max_rv_before
stats = {"2xx": 0, "errors": 0, "in_flight": 0}
for w in range(writers):
    try:
        lines = [l.split() for l in open(f"{work}/w{w}.log")]
    except FileNotFoundError:
        lines = []
    expect = {}    # name -> object or None, from the answers
    in_flight = {} # name -> (op, marker) of the request cut by the kill
    last_rv = 0
    for i, (seq, op, name, code, mark) in enumerate(lines):
        if code == "000":
            if i != len(lines) - 1:
                die(f"writer {w} went on after an unanswered request")
            in_flight[name] = (op, mark)
            stats["in_flight"] += 1
            continue
        if not code.startswith("2"):
            stats["errors"] += 1
            continue
        stats["2xx"] += 1
        if op == "delete":
            expect[name] = None
            continue
        obj = json.load(open(f"{work}/bodies/{mark}.json"))
        if rv(obj) <= last_rv:
            die(f"writer {w}: resourceVersion {rv(obj)} after {last_rv}")
        last_rv = rv(obj)
        acked_max = max(acked_max, last_rv)
        expect[name] = obj
    for n in range(names):
        name = f"w{w}-{n}"
        want = expect[name] if name in expect else state.get(name)
        code, got = http("GET", f"/api/v1/namespaces/default/services/{name}")
        if code not in (200, 404):
            die(f"GET {name}: {code}")
        got = got if code == 200 else None
        if got != want:
            ok = False
            if name in in_flight:
                op, mark = in_flight[name]
                if op == "delete":
                    ok = got is None
                else:
                    ok = got is not None and got["metadata"].get("labels", {}).get("op") == mark
            if not ok:
                die(f"{name}: after the restart {json.dumps(got)}\n  but the answers said "
                    f"{json.dumps(want)}\n  (request in flight: {in_flight.get(name)})")
        if got is None:
            state.pop(name, None)
        else:
            state[name] = got

code, lst = http("GET", "/api/v1/services")
if code != 200:
    die(f"LIST: {code}")
ips, ports = {}, {}
for s in lst["items"]:
    key = s["metadata"]["namespace"] + "/" + s["metadata"]["name"]
    for ip in s["spec"].get("clusterIPs", []):
        if ip != "None" and ips.setdefault(ip, key) != key:
            die(f"ClusterIP {ip} held by {ips[ip]} and {key}")
    for p in s["spec"].get("ports", []):
        np = p.get("nodePort")
        if np and ports.setdefault((np, p.get("protocol")), key) != key:
            die(f"nodePort {np} held by {ports[(np, p.get('protocol'))]} and {key}")
# The allocators were rebuilt from the stored Services: they hold exactly what the Services use.
numbers = {np for (np, _proto) in ports}
numbers |= {s["spec"]["healthCheckNodePort"] for s in lst["items"]
            if s["spec"].get("healthCheckNodePort")}
with urllib.request.urlopen(url + "/metrics", timeout=30) as r:
    gauges = {}
    for line in r.read().decode().splitlines():
        if line.startswith("kube_apiserver_") and " " in line:
            name, value = line.rsplit(" ", 1)
            gauges[name.split("{")[0]] = gauges.get(name.split("{")[0], 0) + int(float(value))
if gauges.get("kube_apiserver_clusterip_allocator_allocated_ips") != len(ips):
    die(f"after the restart the address allocator holds "
        f"{gauges.get('kube_apiserver_clusterip_allocator_allocated_ips')}, the Services use {len(ips)}")
if gauges.get("kube_apiserver_nodeport_allocator_allocated_ports") != len(numbers):
    die(f"after the restart the port allocator holds "
        f"{gauges.get('kube_apiserver_nodeport_allocator_allocated_ports')}, the Services use {len(numbers)}")
list_rv = int(lst["metadata"]["resourceVersion"])
if list_rv < acked_max:
    die(f"the store is at resourceVersion {list_rv} but {acked_max} was acknowledged")
# A write after the restart gets a newer resourceVersion than any before it.
probe = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"probe-{rnd}"},
         "spec": {"type": "NodePort", "ports": [{"port": 443}]}}
code, obj = http("POST", "/api/v1/namespaces/default/services", json.dumps(probe).encode())
if code != 201:
    die(f"create after restart: {code} {obj}")
if rv(obj) <= acked_max:
    die(f"resourceVersion {rv(obj)} after the restart, {acked_max} before it")
for p in obj["spec"]["ports"]:
    if (p["nodePort"], p["protocol"]) in ports:
        die(f"new nodePort {p['nodePort']} duplicates {ports[(p['nodePort'], p['protocol'])]}")
for ip in obj["spec"]["clusterIPs"]:
    if ip in ips:
        die(f"new ClusterIP {ip} duplicates {ips[ip]}")
code, _ = http("DELETE", f"/api/v1/namespaces/default/services/probe-{rnd}")
if code != 200:
    die(f"delete probe: {code}")
json.dump(state, open(f"{work}/state.json", "w"))
open(f"{work}/existing", "w").write("".join(n + "\n" for n in state))
open(f"{work}/max_rv", "w").write(str(rv(obj) + 1))
print(f"{stats['2xx']} acknowledged, {stats['errors']} refused, {stats['in_flight']} cut; "
      f"{len(state)} Services; resourceVersion {list_rv}")
EOF
)

echo 0 >"$WORK/max_rv"
for round in $(seq 1 "$ROUNDS"); do
    threshold=$(( (RANDOM % 64 + 4) * 1024 ))
    start_server --data-dir "$DATA" --snapshot-threshold "$threshold"
    if [ "$round" = 1 ]; then
        out=$("$SVC_BIN" --port 0 --data-dir "$DATA" 2>&1) && fail "a second server started on $DATA"
        grep -q "in use" <<<"$out" || fail "the second server did not say why: $out"
        pass "a second server on the same --data-dir is refused: $out"
    fi
    rm -f "$WORK"/w*.log "$WORK/stop" "$WORK"/bodies/*
    pids=()
    for w in $(seq 0 $((WRITERS - 1))); do
        writer "$w" "$round" "$URL" &
        pids+=($!)
    done
    # Kill at a random moment: 0.2 to 1.5 s into the writes.
    sleep "$(printf '0.%03d' $((RANDOM % 1000)))"
    sleep "0.$((RANDOM % 5 + 2))"
    kill -9 "$SVC_PID"
    wait "$SVC_PID" 2>/dev/null
    SVC_PID=""
    touch "$WORK/stop"
    wait "${pids[@]}"
    cp "$SERVER_LOG" "$WORK/killed.log"
    start_server --data-dir "$DATA" --snapshot-threshold "$threshold"
    result=$($PY -c "$CHECK" "$WORK" "$URL" "$WRITERS" "$NAMES" "$round") ||
        fail "round $round (threshold $threshold): $result"
    torn=""
    grep -q "torn" "$SERVER_LOG" && torn="; a torn log tail was cut"
    pass "round $round (threshold $threshold): $result$torn"
    kill -9 "$SVC_PID"
    wait "$SVC_PID" 2>/dev/null
    SVC_PID=""
done
ls "$DATA" | grep -q '^snap-' || fail "no snapshot was ever written: $(ls "$DATA")"
pass "$ROUNDS rounds; data directory: $(ls "$DATA" | tr '\n' ' ')"
