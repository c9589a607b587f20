#!/usr/bin/env bash
# The Python client watches Endpoints change as pods turn ready and go (endpoints_python.py says
# what is checked): Debian's python3-kubernetes, found among the python3 interpreters on PATH
# (normally /usr/bin/python3), installed with apt-get when none has it; the test is skipped (77)
# when it cannot be had. The server runs with --pod-ready-delay so that new pods are seen not
# ready first.
. "$(dirname "$0")/lib.sh"

KPY=""
for p in $(which -a python3 2>/dev/null) /usr/bin/python3; do
    if "$p" -c 'import kubernetes.watch' 2>/dev/null; then
        KPY=$p
        break
    fi
done
if [ -z "$KPY" ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing python3-kubernetes with apt-get"
    (apt-get install -y -q python3-kubernetes || { apt-get update -q && apt-get install -y -q python3-kubernetes; }) \
        >"$WORK/apt.log" 2>&1
    /usr/bin/python3 -c 'import kubernetes.watch' 2>/dev/null && KPY=/usr/bin/python3
fi
if [ -z "$KPY" ]; then
    echo "SKIP: no python3 with the kubernetes package, and python3-kubernetes could not be installed"
    exit 77
fi

start_server --pod-ready-delay 1s
SVC_URL=$URL "$KPY" "$SVC_SRCDIR/tests/e2e/endpoints_python.py" || fail "endpoints_python.py failed"
pass "the Python client watched the Endpoints follow the pods"
