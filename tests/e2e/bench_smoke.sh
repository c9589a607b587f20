#!/usr/bin/env bash
# scripts/bench --smoke: every measurement of the benchmark runs once against the binary under
# test and yields a number (the benchmark is not a test of speed; this keeps it working).
set -u
: "${SVC_BIN:?}" "${SVC_SRCDIR:?}"
command -v wrk >/dev/null 2>&1 || { echo "SKIP: wrk is not installed (scripts/test installs it)"; exit 77; }
out=$(SVC_BIN=$SVC_BIN bash "$SVC_SRCDIR/scripts/bench" --smoke 2>&1)
rc=$?
echo "$out"
[ $rc = 0 ] || { echo "FAIL: scripts/bench --smoke exited $rc"; exit 1; }
for op in "GET one Service (JSON)" "GET one Service (Table)" "LIST" "CREATE ClusterIP Service" \
          "CREATE NodePort Service" "UPDATE with resourceVersion" "PATCH (strategic merge)" \
          "DELETE"; do
    line=$(printf '%s\n' "$out" | grep -F "$op" | head -n 1)
    rps=$(printf '%s\n' "$line" | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) {print $i; exit}}')
    [ -n "$rps" ] && [ "$rps" -gt 0 ] || { echo "FAIL: no throughput for '$op': $line"; exit 1; }
done
printf '%s\n' "$out" | grep -Eq '^watch fan-out: .* [0-9.]+ +[0-9.]+ ' || { echo "FAIL: no watch fan-out figure"; exit 1; }
printf '%s\n' "$out" | grep -Eq '^start-up to /readyz, empty store +- +[0-9.]+' || { echo "FAIL: no start-up figure"; exit 1; }
echo "ok: bench smoke"
