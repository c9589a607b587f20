# tests/e2e/lib.sh: the harness every end-to-end test sources.
#
# start_server [flags...]   start svc-apiserver on a free port, wait for /readyz; sets URL
# req METHOD PATH [BODY [CONTENT_TYPE [ACCEPT]]]
#                           one curl request; sets STATUS, the body in $BODY_FILE, headers in
#                           $HDR_FILE; BODY is a string or @file
# expect_status CODE        fail unless the last request answered CODE
# jq_is EXPR EXPECTED_JSON  fail unless the JSON value at EXPR in the last body equals EXPECTED
# jq_get EXPR               print the value at EXPR (strings bare, others as JSON)
# expect_body_matches FILE  the last body equals FILE's JSON after normalising volatile fields
# fail MESSAGE              print the message and the last answer, exit 1
# need_python_kubernetes M  set KPY to a python3 with kubernetes.M (installed if missing), or skip
#
# Every test stops the server it started (trap), and uses a free port, never a fixed one.
set -u
: "${SVC_BIN:?SVC_BIN must name the svc-apiserver binary (make check sets it)}"
: "${SVC_SRCDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/svc-e2e.XXXXXX")
BODY_FILE=$WORK/body
HDR_FILE=$WORK/headers
SERVER_LOG=$WORK/server.log
SVC_PID=""
STATUS=""
PY=/usr/bin/python3
JSONQ="$PY $SVC_SRCDIR/tests/e2e/jsonq.py"
DATA=$SVC_SRCDIR/tests/data

cleanup() {
    if [ -n "$SVC_PID" ]; then
        kill "$SVC_PID" 2>/dev/null
        wait "$SVC_PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    [ -f "$BODY_FILE" ] && { echo "--- last status $STATUS, body:" >&2; head -c 4000 "$BODY_FILE" >&2; echo >&2; }
    [ -f "$SERVER_LOG" ] && { echo "--- server log (tail):" >&2; tail -n 20 "$SERVER_LOG" >&2; }
    exit 1
}

pass() { echo "ok: $*"; }

start_server() {
    rm -f "$WORK/port"
    "$SVC_BIN" --port 0 --port-file "$WORK/port" "$@" >"$SERVER_LOG" 2>&1 &
    SVC_PID=$!
    local i
    for i in $(seq 1 100); do
        [ -s "$WORK/port" ] && break
        kill -0 "$SVC_PID" 2>/dev/null || fail "server exited at start"
        sleep 0.05
    done
    [ -s "$WORK/port" ] || fail "server wrote no port file"
    PORT=$(tr -dc 0-9 <"$WORK/port")
    URL=http://127.0.0.1:$PORT
    for i in $(seq 1 100); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")" = 200 ] && return 0
        sleep 0.05
    done
    fail "server never became ready"
}

stop_server() {
    kill "$SVC_PID" 2>/dev/null
    wait "$SVC_PID" 2>/dev/null
    SVC_PID=""
}

req() {
    local method=$1 path=$2 body=${3-} ct=${4:-application/json} accept=${5:-application/json}
    local args=(-s -X "$method" -o "$BODY_FILE" -D "$HDR_FILE" -w '%{http_code}'
                -H "Accept: $accept" --max-time 20)
    if [ -n "$body" ]; then
        if [ "${body:0:1}" = @ ]; then
            args+=(-H "Content-Type: $ct" --data-binary "$body")
        else
            printf '%s' "$body" >"$WORK/reqbody"
            args+=(-H "Content-Type: $ct" --data-binary "@$WORK/reqbody")
        fi
    fi
    STATUS=$(curl "${args[@]}" "$URL$path")
}

expect_status() {
    [ "$STATUS" = "$1" ] || fail "expected status $1, got $STATUS (${2:-})"
}

jq_get() { $JSONQ get "$BODY_FILE" "$1"; }

jq_is() {
    local got
    got=$($JSONQ get-json "$BODY_FILE" "$1") || fail "cannot read $1"
    $JSONQ equal "$got" "$2" || fail "$1 is $got, expected $2"
}

expect_body_matches() {
    $JSONQ match "$BODY_FILE" "$1" || fail "body does not match $1"
}

header() { grep -i "^$1:" "$HDR_FILE" | sed 's/^[^:]*: //; s/\r$//'; }

# need_python_kubernetes MODULE: set KPY to a python3 that imports kubernetes.MODULE: Debian's
# python3-kubernetes, found among the interpreters on PATH (normally /usr/bin/python3) and
# installed with apt-get when none has it; exits 77 (skip) when it cannot be had.
need_python_kubernetes() {
    local p
    KPY=""
    for p in $(which -a python3 2>/dev/null) /usr/bin/python3; do
        if "$p" -c "import kubernetes.$1" 2>/dev/null; then
            KPY=$p
            return 0
        fi
    done
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        echo "installing python3-kubernetes with apt-get"
        (apt-get install -y -q python3-kubernetes ||
            { apt-get update -q && apt-get install -y -q python3-kubernetes; }) >"$WORK/apt.log" 2>&1
        /usr/bin/python3 -c "import kubernetes.$1" 2>/dev/null && KPY=/usr/bin/python3 && return 0
    fi
    echo "SKIP: no python3 with the kubernetes package, and python3-kubernetes could not be installed"
    exit 77
}
