#!/usr/bin/env bash
# The server process: --help and --version, --config (keys are the flag names; errors name the
# key and its line), --port with --port-file, --write-kubeconfig, -v 1 request logging, SIGTERM
# and SIGINT, and many parallel keep-alive connections.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helpers.sh"

FLAGS="--config --bind-address --port --port-file --advertise-address --service-cluster-ip-range --service-node-port-range --write-kubeconfig -v --help --version"

t_help() {
    local out rc
    out=$("$SVC_BIN" --help 2>"$WORK/help.err"); rc=$?
    [ "$rc" = 0 ] || fail "--help exited $rc"
    [ -s "$WORK/help.err" ] && fail "--help wrote to stderr: $(cat "$WORK/help.err")"
    local f
    for f in $FLAGS; do
        grep -qE -- "(^|[[:space:]])$f([[:space:]=]|$)" <<<"$out" || fail "--help does not list $f"
    done
}

t_version() {
    local out rc
    out=$("$SVC_BIN" --version); rc=$?
    [ "$rc" = 0 ] || fail "--version exited $rc"
    [[ $out =~ ^svc-apiserver\ [0-9]+\.[0-9]+\.[0-9]+ ]] || fail "--version printed '$out'"
    [ "$(wc -l <<<"$out")" = 1 ] || fail "--version printed more than one line"
}

t_bad_flags() {
    local rc
    for args in "--bogus" "--port abc" "--port 70000" "--port"; do
        # shellcheck disable=SC2086
        timeout 5 "$SVC_BIN" $args >"$WORK/out" 2>"$WORK/err"; rc=$?
        [ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "'$args' exited $rc"
        [ -s "$WORK/err" ] || fail "'$args' printed no error"
    done
}

# A config file whose keys are the flag names; flags given on the command line win.
t_config_file() {
    cat >"$WORK/good.yaml" <<EOF
# every key is a flag name
bind-address: 127.0.0.1
port: 0
port-file: $WORK/cfg.port
advertise-address: 10.9.8.7
service-cluster-ip-range: 10.100.0.0/16
service-node-port-range: 31000-31999
v: 0
EOF
    "$SVC_BIN" --config "$WORK/good.yaml" --advertise-address 10.9.8.6 >"$WORK/cfg.log" 2>&1 &
    local pid=$!
    echo "$pid" >>"$EXTRA_PIDS"
    wait_until 5 test -s "$WORK/cfg.port" || fail "the config file's port-file was not written"
    local URL=http://127.0.0.1:$(tr -dc 0-9 <"$WORK/cfg.port")
    wait_until 5 curl -sf -o /dev/null "$URL/readyz" || fail "not ready"
    req GET /api/v1/namespaces/default/services/kubernetes
    expect_status 200
    jq_is .spec.clusterIP '"10.100.0.1"'
    req GET /api/v1/namespaces/default/endpoints/kubernetes
    jq_is '.subsets[0].addresses' '[{"ip":"10.9.8.6"}]'
    req POST /api/v1/namespaces/default/services '{"metadata":{"name":"np"},"spec":{"type":"NodePort","ports":[{"port":80}]}}'
    expect_status 201
    local np
    np=$(jq_get '.spec.ports[0].nodePort')
    [ "$np" -ge 31000 ] && [ "$np" -le 31999 ] || fail "nodePort $np outside the configured range"
    stop_spawned "$pid"
}

# config_error LINE KEY: the file in $WORK/bad.yaml must be refused with FILE:LINE and the key
config_error() {
    local rc
    timeout 5 "$SVC_BIN" --config "$WORK/bad.yaml" >"$WORK/out" 2>"$WORK/err"; rc=$?
    [ "$rc" != 0 ] && [ "$rc" != 124 ] || { cat "$WORK/bad.yaml" >&2; fail "config with a bad $2 exited $rc"; }
    grep -qF "bad.yaml:$1:" "$WORK/err" && grep -qF "$2" "$WORK/err" ||
        fail "the error does not name bad.yaml:$1: and '$2': $(cat "$WORK/err")"
}

t_config_unknown_key() {
    printf 'port: 0\nbind-address: 127.0.0.1\nbogus-key: 1\n' >"$WORK/bad.yaml"
    config_error 3 bogus-key
    printf '# leading comment\n\nport-file: /tmp/x\ntheads: 4\n' >"$WORK/bad.yaml"
    config_error 4 theads
}

t_config_bad_number() {
    printf 'port: 0\nport: abc\n' >"$WORK/bad.yaml"
    config_error 2 port
    printf 'v: loud\n' >"$WORK/bad.yaml"
    config_error 1 v
    printf 'port: 0\n\nport: 70000\n' >"$WORK/bad.yaml"
    config_error 3 port
    printf 'port: [1, 2]\n' >"$WORK/bad.yaml"
    config_error 1 port
}

t_config_bad_value() {
    local kv bad=""
    for kv in 'service-cluster-ip-range: nonsense' 'service-node-port-range: 5-2' \
        'bind-address: not-an-ip' 'advertise-address: not-an-ip'; do
        printf 'port: 0\n%s\n' "$kv" >"$WORK/bad.yaml"
        ( config_error 2 "${kv%%:*}" ) || bad="$bad '$kv'"
    done
    [ -z "$bad" ] || fail "bad values not refused with bad.yaml:2: and the key:$bad"
}

t_config_missing_file() {
    local rc
    timeout 5 "$SVC_BIN" --config "$WORK/none.yaml" >"$WORK/out" 2>"$WORK/err"; rc=$?
    [ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "a missing config file: exit $rc"
    grep -qF "$WORK/none.yaml" "$WORK/err" || fail "the error does not name the file: $(cat "$WORK/err")"
}

# --port N listens on N; --port 0 picks a free port and --port-file tells which.
t_port_and_port_file() {
    spawn_server zero
    [[ $SPAWN_PORT =~ ^[1-9][0-9]*$ ]] && [ "$SPAWN_PORT" != 8080 ] || fail "port file says $SPAWN_PORT"
    grep -qE '^[0-9]+[[:space:]]*$' "$WORK/zero.port" || fail "port file: '$(cat "$WORK/zero.port")'"
    stop_spawned "$SPAWN_PID"
    # a fixed free port (another process may take it between our probe and the bind: retry)
    local port pid try
    for try in 1 2 3; do
        port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
        "$SVC_BIN" --port "$port" >"$WORK/fixed.log" 2>&1 &
        pid=$!
        echo "$pid" >>"$EXTRA_PIDS"
        wait_until 5 curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break
        alive "$pid" && fail "nothing on --port $port: $(cat "$WORK/fixed.log")"
        wait "$pid"
    done
    curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" || fail "--port: $(cat "$WORK/fixed.log")"
    grep -qF "127.0.0.1:$port" "$WORK/fixed.log" || fail "the banner does not name port $port"
    stop_spawned "$pid"
}

t_write_kubeconfig() {
    spawn_server kc --write-kubeconfig "$WORK/kubeconfig"
    test -s "$WORK/kubeconfig" || fail "no kubeconfig written"
    $PY - "$WORK/kubeconfig" "$SPAWN_URL" <<'EOF' || fail "kubeconfig content: $(cat "$WORK/kubeconfig")"
import sys, yaml
k = yaml.safe_load(open(sys.argv[1]))
assert k["apiVersion"] == "v1" and k["kind"] == "Config", k
assert len(k["clusters"]) == 1 and len(k["contexts"]) == 1 and len(k["users"]) == 1, k
assert k["clusters"][0]["cluster"]["server"] == sys.argv[2], k["clusters"]
ctx = k["contexts"][0]
assert k["current-context"] == ctx["name"], k
assert ctx["context"]["cluster"] == k["clusters"][0]["name"], ctx
assert ctx["context"]["user"] == k["users"][0]["name"], ctx
EOF
    if command -v kubectl >/dev/null; then
        KUBECONFIG=$WORK/kubeconfig kubectl --cache-dir "$WORK/kcache" get ns default \
            >"$WORK/kout" 2>"$WORK/kerr" || fail "kubectl with the kubeconfig: $(cat "$WORK/kerr")"
        grep -qE '^default +Active +' "$WORK/kout" || fail "kubectl output: $(cat "$WORK/kout")"
        KUBECONFIG=$WORK/kubeconfig kubectl --cache-dir "$WORK/kcache" get svc kubernetes \
            -o jsonpath='{.spec.clusterIP}' >"$WORK/kout" 2>"$WORK/kerr" || fail "kubectl: $(cat "$WORK/kerr")"
        [ "$(cat "$WORK/kout")" = 10.96.0.1 ] || fail "kubectl get svc: $(cat "$WORK/kout")"
    else
        echo "note: kubectl not found, kubeconfig checked by content only"
    fi
    stop_spawned "$SPAWN_PID"
}

# The kubeconfig must reach the server where it listens, whatever address is advertised to
# the cluster (the advertise address need not be bound on this machine).
t_write_kubeconfig_with_advertise_address() {
    spawn_server kca --advertise-address 10.20.30.40 --write-kubeconfig "$WORK/kubeconfig-adv"
    local server
    server=$($PY -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["clusters"][0]["cluster"]["server"])' \
        "$WORK/kubeconfig-adv") || fail "kubeconfig: $(cat "$WORK/kubeconfig-adv")"
    [ "$(curl -s --max-time 3 -o /dev/null -w '%{http_code}' "$server/readyz")" = 200 ] ||
        fail "the kubeconfig's server $server does not reach the server listening on 127.0.0.1:$SPAWN_PORT"
    stop_spawned "$SPAWN_PID"
}

# -v 1: one line per request with method, path, status, microseconds and user agent.
t_request_log() {
    spawn_server verbose -v 1
    local URL=$SPAWN_URL
    curl -s -o /dev/null -A 'e2e-probe/1.0 (test)' "$URL/api/v1/namespaces"
    curl -s -o /dev/null -A 'e2e-probe/1.0 (test)' "$URL/api/v1/namespaces/default/services/nope"
    curl -s -o /dev/null -A 'e2e-probe/1.0 (test)' -X POST -H 'Content-Type: application/json' \
        --data-binary '{"metadata":{"name":"logged"}}' "$URL/api/v1/namespaces/default/endpoints"
    three() { [ "$(grep -c 'e2e-probe/1.0' "$WORK/verbose.log")" -ge 3 ]; }
    wait_until 2 three || fail "request lines missing: $(cat "$WORK/verbose.log")"
    sleep 0.2
    [ "$(grep -c 'e2e-probe/1.0' "$WORK/verbose.log")" = 3 ] || fail "not one line per request: $(cat "$WORK/verbose.log")"
    local ua='"e2e-probe/1.0 \(test\)"'
    grep -qE "^GET /api/v1/namespaces 200 [0-9]+us $ua\$" "$WORK/verbose.log" &&
        grep -qE "^GET /api/v1/namespaces/default/services/nope 404 [0-9]+us $ua\$" "$WORK/verbose.log" &&
        grep -qE "^POST /api/v1/namespaces/default/endpoints 201 [0-9]+us $ua\$" "$WORK/verbose.log" ||
        fail "request lines: $(grep e2e-probe "$WORK/verbose.log")"
    stop_spawned "$SPAWN_PID"
    # at the default verbosity, no request lines
    spawn_server quiet
    curl -s -o /dev/null -A 'e2e-probe/1.0 (test)' "$SPAWN_URL/api/v1/namespaces"
    sleep 0.2
    grep -q 'e2e-probe' "$WORK/quiet.log" && fail "requests logged at -v 0: $(cat "$WORK/quiet.log")"
    stop_spawned "$SPAWN_PID"
}

# stop_within_a_second SIGNAL: with an idle keep-alive connection and an open watch
stop_within_a_second() {
    spawn_server "sig$1"
    local pid=$SPAWN_PID
    $PY - "$SPAWN_PORT" <<'EOF' &
import socket, sys, time
port = int(sys.argv[1])
idle = socket.create_connection(("127.0.0.1", port))
idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
idle.recv(4096)
watch = socket.create_connection(("127.0.0.1", port))
watch.sendall(b"GET /api/v1/services?watch=true HTTP/1.1\r\nHost: x\r\n\r\n")
time.sleep(5)
EOF
    local holder=$!
    sleep 0.3
    local t0 t1 rc
    t0=$(date +%s%N)
    kill -"$1" "$pid"
    wait_until 2 eval '! alive '"$pid"
    t1=$(date +%s%N)
    alive "$pid" && fail "still running 2 s after SIG$1"
    wait "$pid"; rc=$?
    kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
    [ $(((t1 - t0) / 1000000)) -le 1000 ] || fail "SIG$1 took $(((t1 - t0) / 1000000)) ms"
    [ "$rc" = 0 ] || fail "exit status $rc after SIG$1"
}

t_sigterm() { stop_within_a_second TERM; }
t_sigint() { stop_within_a_second INT; }

# kubectl opens several connections at once and keeps them alive: all of them open together,
# each answered several times on the same socket.
t_parallel_keepalive() {
    spawn_server par
    $PY - "$SPAWN_PORT" <<'EOF' || fail "parallel keep-alive connections"
import http.client, sys, threading
port, n, rounds = int(sys.argv[1]), 48, 5
barrier = threading.Barrier(n, timeout=10)
errors = []

def client(i):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.connect()
        local = c.sock.getsockname()
        for r in range(rounds):
            path = ["/api/v1/namespaces", "/api/v1/namespaces/default/services/kubernetes",
                    "/api/v1", "/apis", "/version"][(i + r) % 5]
            c.request("GET", path, headers={"Accept": "application/json"})
            resp = c.getresponse()
            body = resp.read()
            if resp.status != 200 or not body.startswith(b"{"):
                errors.append("%s -> %d" % (path, resp.status))
            if resp.will_close or c.sock is None or c.sock.getsockname() != local:
                errors.append("connection %d not kept alive" % i)
            if r == 0:
                barrier.wait()  # every connection is open and idle at once here
        c.close()
    except Exception as e:
        errors.append("client %d: %r" % (i, e))

threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
for t in threads: t.start()
for t in threads: t.join(20)
if errors:
    print("\n".join(errors[:10]), file=sys.stderr)
    sys.exit(1)
EOF
    stop_spawned "$SPAWN_PID"
}

run_case help t_help
run_case version t_version
run_case bad_flags t_bad_flags
run_case config_file t_config_file
run_case config_unknown_key t_config_unknown_key
run_case config_bad_number t_config_bad_number
run_case config_bad_value t_config_bad_value
run_case config_missing_file t_config_missing_file
run_case port_and_port_file t_port_and_port_file
run_case write_kubeconfig t_write_kubeconfig
run_case write_kubeconfig_with_advertise_address t_write_kubeconfig_with_advertise_address
run_case request_log t_request_log
run_case sigterm_stops_within_a_second t_sigterm
run_case sigint_stops_within_a_second t_sigint
run_case parallel_keepalive_connections t_parallel_keepalive
finish server
