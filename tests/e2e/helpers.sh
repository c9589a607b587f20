# tests/e2e/helpers.sh: assertions shared by the end-to-end scripts, on top of lib.sh.
#
# Source it after lib.sh. Each script runs its checks as named cases, one subshell each, so one
# failing case does not hide the others; the script fails when any case failed.
#
# run_case NAME FUNC          run FUNC in a subshell; a failure inside it ends only that case;
#                             with SNAPSHOT_CASES set, the lists at its start (once the
#                             controllers are idle) are kept in $CASE_START
# settle                      wait until the controllers inside the server stop writing
# finish NAME                 exit 1 if a case failed, else print "ok: NAME"
# expect_json JSON            the last body equals JSON (key order too; placeholders as jsonq)
# expect_failure CODE REASON MESSAGE [DETAILS]
#                             the last answer is exactly this Status (REASON "" = no reason key,
#                             DETAILS "" = no details key); details are given in upstream key order
# expect_message_re REGEX     the Status message matches REGEX as a whole (Python syntax)
# expect_decode_error KIND BODYFILE REGEX
#                             a 400 from the decoder: upstream's frame "the object provided is
#                             unrecognized (must be of type KIND): <REGEX> (<summary of body>)"
# expect_header NAME VALUE    the last answer carried this header value
# snapshot FILE / expect_unchanged FILE
#                             record / compare the lists of Services, Endpoints and Namespaces
#                             (their resourceVersion and items)
# spawn_server NAME [flags]   start another server; sets SPAWN_PID, SPAWN_PORT, SPAWN_URL
# stop_spawned PID            stop it (SIGTERM) and reap it
# pyq EXPR                    evaluate a Python expression over the last body (bound to `b`)
# wait_until SECONDS CMD...   retry CMD every 50 ms until it succeeds or time runs out
FAILED_CASES=""
EXTRA_PIDS=$WORK/extra.pids
CASE_START=$WORK/case-start.json

# Stop the servers a case started and left running (a failed case exits early); a pid is only
# signalled while it still runs our binary, never a process that reused the number.
cleanup_extra() {
    local pid
    if [ -f "$EXTRA_PIDS" ]; then
        while read -r pid; do
            tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$SVC_BIN " && kill "$pid" 2>/dev/null
        done <"$EXTRA_PIDS"
    fi
}
trap 'cleanup_extra; cleanup' EXIT

run_case() {
    local name=$1 fn=$2
    # the state at the start of the case, for expect_unchanged "$CASE_START"
    if [ -n "${SNAPSHOT_CASES:-}" ]; then
        settle
        snapshot "$CASE_START"
    fi
    if ( "$fn" ); then
        echo "ok: $name"
    else
        echo "FAILED CASE: $name" >&2
        FAILED_CASES="$FAILED_CASES $name"
    fi
}

finish() {
    if [ -n "$FAILED_CASES" ]; then
        echo "FAIL: $1:$FAILED_CASES" >&2
        exit 1
    fi
    pass "$1"
}

expect_json() {
    printf '%s' "$1" >"$WORK/expected.json"
    expect_body_matches "$WORK/expected.json"
}

expect_failure() {
    local code=$1 reason=$2 msg=$3 details=${4-}
    expect_status "$code" "$msg"
    $PY -S - "$BODY_FILE" "$code" "$reason" "$msg" "$details" <<'EOF' || fail "the Status differs"
import json, sys
from collections import OrderedDict as O
body, code, reason, msg, details = sys.argv[1:6]
want = O([("kind", "Status"), ("apiVersion", "v1"), ("metadata", O()), ("status", "Failure"),
          ("message", msg)])
if reason:
    want["reason"] = reason
if details:
    want["details"] = json.loads(details, object_pairs_hook=O)
want["code"] = int(code)
got = json.load(open(body), object_pairs_hook=O)
if got != want:  # OrderedDict equality: key order counts
    print("got:    " + json.dumps(got), file=sys.stderr)
    print("wanted: " + json.dumps(want), file=sys.stderr)
    sys.exit(1)
EOF
}

expect_message_re() {
    $PY -S - "$BODY_FILE" "$1" <<'EOF' || fail "message does not match /$1/"
import json, re, sys
msg = json.load(open(sys.argv[1])).get("message", "")
if not re.fullmatch(sys.argv[2], msg, re.S):
    print("message was: " + msg, file=sys.stderr)
    sys.exit(1)
EOF
}

expect_decode_error() {
    local kind=$1 body=$2 middle=$3
    expect_status 400 "decode error"
    $PY -S - "$BODY_FILE" "$kind" "$body" "$middle" <<'EOF' || fail "decode error body"
import json, re, sys
got = json.load(open(sys.argv[1]))
kind, body, middle = sys.argv[2], open(sys.argv[3], "rb").read(), sys.argv[4]

def summarize(data, n=30):
    # apiserver's summarizeData: text when it starts like a JSON object, hex otherwise
    if not data:
        return "<empty>"
    if data[:1] == b"{":
        return data[:n].decode() + (" ..." if len(data) > n else "")
    return data[:n].hex() + (" ..." if len(data) > n else "")

prefix = "the object provided is unrecognized (must be of type %s): " % kind
suffix = " (%s)" % summarize(body)
ok = True
if list(got.keys()) != ["kind", "apiVersion", "metadata", "status", "message", "reason", "code"]:
    print("keys: %s" % list(got.keys()), file=sys.stderr); ok = False
if [got.get(k) for k in ("kind", "apiVersion", "metadata", "status", "reason", "code")] != \
        ["Status", "v1", {}, "Failure", "BadRequest", 400]:
    print("fields: %s" % got, file=sys.stderr); ok = False
msg = got.get("message", "")
if not re.fullmatch(re.escape(prefix) + middle + re.escape(suffix), msg, re.S):
    print("message: %r\nwanted:  %r + /%s/ + %r" % (msg, prefix, middle, suffix), file=sys.stderr)
    ok = False
sys.exit(0 if ok else 1)
EOF
}

expect_header() {
    local got
    got=$(header "$1")
    [ "$got" = "$2" ] || fail "header $1 is '$got', expected '$2'"
}

pyq() {
    $PY -S - "$BODY_FILE" "$1" <<'EOF'
import json, sys
b = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))
EOF
}

# The lists as one JSON document; a failed request must leave it byte for byte the same.
snapshot() {
    local out=$1 path
    : >"$out"
    for path in /api/v1/services /api/v1/endpoints /api/v1/namespaces; do
        curl -s --max-time 10 -H 'Accept: application/json' "$URL$path" >>"$out" || return 1
        echo >>"$out"
    done
}

expect_unchanged() {
    snapshot "$WORK/snapshot.now" || fail "cannot list"
    if ! cmp -s "$1" "$WORK/snapshot.now"; then
        diff <(tr ',' '\n' <"$1") <(tr ',' '\n' <"$WORK/snapshot.now") | head -20 >&2
        fail "a failed request changed the stored state (${2:-})"
    fi
}

# The controllers (endpoints, EndpointSlice mirroring, namespaces) write after the request that
# woke them has been answered; the global resourceVersion shows when they are done.
settle() {
    local rv last="" same=0 i
    for i in $(seq 1 60); do
        rv=$(curl -s --max-time 5 "$URL/api/v1/namespaces?limit=1" | grep -o '"resourceVersion":"[0-9]*"' | head -1)
        if [ -n "$rv" ] && [ "$rv" = "$last" ]; then
            same=$((same + 1))
            [ "$same" -ge 3 ] && return 0
        else
            same=0
        fi
        last=$rv
        sleep 0.05
    done
    return 0
}

wait_until() {
    local secs=$1 i
    shift
    for i in $(seq 1 $((secs * 20))); do
        "$@" && return 0
        sleep 0.05
    done
    return 1
}

# alive PID: the process exists and is not a zombie waiting to be reaped
alive() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

spawn_server() {
    local name=$1 i
    shift
    rm -f "$WORK/$name.port"
    "$SVC_BIN" --port 0 --port-file "$WORK/$name.port" "$@" >"$WORK/$name.log" 2>&1 &
    SPAWN_PID=$!
    echo "$SPAWN_PID" >>"$EXTRA_PIDS"
    for i in $(seq 1 100); do
        [ -s "$WORK/$name.port" ] && break
        alive "$SPAWN_PID" || { cat "$WORK/$name.log" >&2; fail "server $name exited at start"; }
        sleep 0.05
    done
    [ -s "$WORK/$name.port" ] || { cat "$WORK/$name.log" >&2; fail "server $name wrote no port file"; }
    SPAWN_PORT=$(tr -dc 0-9 <"$WORK/$name.port")
    SPAWN_URL=http://127.0.0.1:$SPAWN_PORT
    for i in $(seq 1 100); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$SPAWN_URL/readyz")" = 200 ] && return 0
        sleep 0.05
    done
    cat "$WORK/$name.log" >&2
    fail "server $name never became ready (port $SPAWN_PORT)"
}

stop_spawned() {
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    sed -i "/^$1\$/d" "$EXTRA_PIDS"
}
