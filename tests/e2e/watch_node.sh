#!/usr/bin/env bash
# The Node.js client's informer against the server (watch_node.mjs says what is checked). The
# client, @kubernetes/client-node, is installed with npm into a cache directory under the build
# tree (or the test's own directory when there is no build tree); without node or npm, or when
# the install fails, the test is skipped (77).
. "$(dirname "$0")/lib.sh"

CLIENT=@kubernetes/client-node@1.4.0
command -v node >/dev/null && command -v npm >/dev/null ||
    { echo "SKIP: node and npm are needed"; exit 77; }
NODE_DIR=${SVC_BUILDDIR:+$SVC_BUILDDIR/tests/e2e/node-client}
NODE_DIR=${NODE_DIR:-$WORK/node-client}
mkdir -p "$NODE_DIR"
if [ ! -f "$NODE_DIR/node_modules/@kubernetes/client-node/package.json" ]; then
    [ -f "$NODE_DIR/package.json" ] || echo '{"name":"svc-watch-node-test","private":true}' >"$NODE_DIR/package.json"
    if ! (cd "$NODE_DIR" && timeout 600 npm install --no-audit --no-fund --loglevel=error "$CLIENT") \
        >"$WORK/npm.log" 2>&1; then
        echo "SKIP: npm could not install $CLIENT:"
        tail -5 "$WORK/npm.log"
        exit 77
    fi
fi
# ES modules resolve packages from the script's own directory: run a copy placed beside them.
cp "$SVC_SRCDIR/tests/e2e/watch_node.mjs" "$NODE_DIR/watch_node.mjs"
start_server
SVC_URL=$URL timeout 60 node "$NODE_DIR/watch_node.mjs" || fail "watch_node.mjs failed"
