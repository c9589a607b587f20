#!/usr/bin/env bash
# The Python client watches Endpoints change as pods turn ready and go (endpoints_python.py says
# what is checked; the client comes from need_python_kubernetes in lib.sh). The server runs with
# --pod-ready-delay so that new pods are seen not ready first.
. "$(dirname "$0")/lib.sh"

need_python_kubernetes watch

start_server --pod-ready-delay 1s
SVC_URL=$URL "$KPY" "$SVC_SRCDIR/tests/e2e/endpoints_python.py" || fail "endpoints_python.py failed"
pass "the Python client watched the Endpoints follow the pods"
