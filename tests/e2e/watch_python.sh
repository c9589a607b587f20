#!/usr/bin/env bash
# The Python client's watch against the server (watch_python.py says what is checked; the client
# comes from need_python_kubernetes in lib.sh).
. "$(dirname "$0")/lib.sh"

need_python_kubernetes watch

CACHE=100
start_server --watch-cache-size "$CACHE"
SVC_URL=$URL SVC_WATCH_CACHE=$CACHE "$KPY" "$SVC_SRCDIR/tests/e2e/watch_python.py" ||
    fail "watch_python.py failed"
