#!/usr/bin/env bash
# PATCH and server-side apply from the Python client (patch_python.py says what is checked):
# Debian's python3-kubernetes, found among the python3 interpreters on PATH (normally
# /usr/bin/python3), installed with apt-get when none has it; the test is skipped (77) when it
# cannot be had.
. "$(dirname "$0")/lib.sh"

KPY=""
for p in $(which -a python3 2>/dev/null) /usr/bin/python3; do
    if "$p" -c 'import kubernetes.dynamic' 2>/dev/null; then
        KPY=$p
        break
    fi
done
if [ -z "$KPY" ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing python3-kubernetes with apt-get"
    (apt-get install -y -q python3-kubernetes || { apt-get update -q && apt-get install -y -q python3-kubernetes; }) \
        >"$WORK/apt.log" 2>&1
    /usr/bin/python3 -c 'import kubernetes.dynamic' 2>/dev/null && KPY=/usr/bin/python3
fi
if [ -z "$KPY" ]; then
    echo "SKIP: no python3 with the kubernetes package, and python3-kubernetes could not be installed"
    exit 77
fi

start_server
SVC_URL=$URL SVC_WORK=$WORK "$KPY" "$SVC_SRCDIR/tests/e2e/patch_python.py" || fail "patch_python.py failed"
pass patch_python
