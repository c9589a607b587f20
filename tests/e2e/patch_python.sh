#!/usr/bin/env bash
# PATCH and server-side apply from the Python client (patch_python.py says what is checked; the
# client comes from need_python_kubernetes in lib.sh).
. "$(dirname "$0")/lib.sh"

need_python_kubernetes dynamic

start_server
SVC_URL=$URL SVC_WORK=$WORK "$KPY" "$SVC_SRCDIR/tests/e2e/patch_python.py" || fail "patch_python.py failed"
pass patch_python
