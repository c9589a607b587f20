#!/usr/bin/env bash
# The house style is checked, not hoped for: every C source and header is as clang-format
# (with the committed .clang-format) would write it.
set -u
: "${SVC_SRCDIR:?}"
command -v clang-format >/dev/null 2>&1 || { echo "SKIP: clang-format is not installed"; exit 77; }
cd "$SVC_SRCDIR" || exit 1
files=$(find src include tools tests/unit scripts/bench.d -name '*.[ch]' | sort)
bad=0
for f in $files; do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "not formatted: $f"
        bad=$((bad + 1))
    fi
done
[ "$bad" = 0 ] || { echo "FAIL: $bad files differ from clang-format (run: clang-format -i FILE)"; exit 1; }
echo "ok: $(echo "$files" | wc -l) files follow .clang-format"
