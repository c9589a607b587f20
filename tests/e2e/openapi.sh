#!/usr/bin/env bash
# OpenAPI as kubectl uses it (kubectl-contract.md §3): /openapi/v2 as gnostic protobuf with the
# dotted Content-Type, the /openapi/v3 index and its documents, then, with every kubectl found on
# this machine (1.27 needs v2, 1.29+ read v3 first), default-validation create and apply and
# explain. Each kubectl gets its own cache directory so that nothing is served from an earlier run.
. "$(dirname "$0")/lib.sh"

# ---- the kubectl binaries: kubectl on PATH and kubectl.1.NN beside the real one ----------------
KUBECTLS=()
if command -v kubectl >/dev/null 2>&1; then
    KUBECTLS+=("$(command -v kubectl)")
    kdir=$(dirname "$(readlink -f "$(command -v kubectl)")")
    for k in "$kdir"/kubectl.1.[0-9]*; do
        [ -x "$k" ] && KUBECTLS+=("$k")
    done
fi
if [ ${#KUBECTLS[@]} -eq 0 ]; then
    echo "SKIP: no kubectl on this machine"
    exit 77
fi

start_server

# ---- the documents over plain HTTP -------------------------------------------------------------
req GET '/openapi/v2?timeout=32s' '' '' 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf'
expect_status 200 "v2 as protobuf"
[ "$(header Content-Type)" = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf" ] ||
    fail "v2 Content-Type is $(header Content-Type)"
# Document.swagger (field 1) = "2.0" opens the message: 0x0a 0x03 "2.0"
[ "$(head -c 5 "$BODY_FILE" | od -An -tx1 | tr -d ' \n')" = "0a03322e30" ] ||
    fail "v2 protobuf does not start with swagger 2.0"
pass "/openapi/v2 protobuf"

req GET /swagger-2.0.0.pb-v1 '' '' 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf'
expect_status 200 "legacy v2 path"
pass "/swagger-2.0.0.pb-v1"

req GET /openapi/v2 '' '' 'application/json'
expect_status 200 "v2 as JSON"
[ "$(header Content-Type)" = "application/json" ] || fail "v2 JSON Content-Type"
jq_is .swagger '"2.0"'
jq_is '.paths["/api/v1/namespaces/{namespace}/services/{name}"].patch["x-kubernetes-group-version-kind"]' \
    '{"group":"","kind":"Service","version":"v1"}'
pass "/openapi/v2 JSON"

req GET /openapi/v2 '' '' 'text/html'
expect_status 406 "v2 with nothing acceptable"

req GET '/openapi/v3?timeout=32s'
expect_status 200 "v3 index"
url=$(jq_get '.paths["api/v1"].serverRelativeURL')
case "$url" in
/openapi/v3/api/v1\?hash=[0-9A-F]*) ;;
*) fail "api/v1 index entry is $url" ;;
esac
for gv in apis/apps/v1 apis/discovery.k8s.io/v1; do
    [ -n "$(jq_get ".paths[\"$gv\"].serverRelativeURL")" ] || fail "index lacks $gv"
done
req GET "$url"
expect_status 200 "v3 api/v1"
jq_is .openapi '"3.0.0"'
jq_is '.paths["/api/v1/namespaces/{namespace}/services/{name}"].patch["x-kubernetes-group-version-kind"]' \
    '{"group":"","kind":"Service","version":"v1"}'
jq_is '.components.schemas["io.k8s.api.core.v1.Service"]["x-kubernetes-group-version-kind"]' \
    '[{"group":"","kind":"Service","version":"v1"}]'
pass "/openapi/v3 index and api/v1"

req GET /openapi/v3/apis/batch/v1
expect_status 404 "unknown group version"

# ---- every kubectl ---------------------------------------------------------------------------
cat >"$WORK/svc.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata:
  name: NAME
spec:
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: 8080
EOF

# expect_fields OUTPUT FIELD... : explain printed a FIELDS: block listing each field
expect_fields() {
    local out=$1 f
    shift
    printf '%s\n' "$out" | grep -q '^FIELDS:' || fail "no FIELDS: in explain output: $out"
    for f in "$@"; do
        printf '%s\n' "$out" | grep -Eq "^ +$f[[:space:]]+<" || fail "explain lacks field $f: $out"
    done
}

i=0
for k in "${KUBECTLS[@]}"; do
    i=$((i + 1))
    name=openapi-$i
    kc=("$k" -s "$URL" --cache-dir "$WORK/cache-$i")
    sed "s/NAME/$name/" "$WORK/svc.yaml" >"$WORK/svc-$i.yaml"
    label="$(basename "$k") $("$k" version --client -o yaml 2>/dev/null | sed -n 's/^ *gitVersion: //p')"

    out=$("${kc[@]}" create -f "$WORK/svc-$i.yaml" 2>&1) || fail "$label create: $out"
    [ "$out" = "service/$name created" ] || fail "$label create printed: $out"
    "${kc[@]}" delete service "$name" >/dev/null 2>&1 || fail "$label delete"

    out=$("${kc[@]}" apply -f "$WORK/svc-$i.yaml" 2>&1) || fail "$label apply: $out"
    [ "$out" = "service/$name created" ] || fail "$label first apply printed: $out"
    out=$("${kc[@]}" apply -f "$WORK/svc-$i.yaml" 2>&1) || fail "$label second apply: $out"
    [ "$out" = "service/$name unchanged" ] || fail "$label second apply printed: $out"
    "${kc[@]}" delete service "$name" >/dev/null 2>&1 || fail "$label delete after apply"

    out=$("${kc[@]}" explain service.spec.ports 2>&1) || fail "$label explain ports: $out"
    printf '%s\n' "$out" | grep -q '^KIND: *Service' || fail "$label explain: $out"
    expect_fields "$out" name port protocol targetPort nodePort appProtocol
    printf '%s\n' "$out" | grep -Eq '^ +port[[:space:]]+<integer> -required-' ||
        fail "$label explain: port is not a required integer: $out"
    out=$("${kc[@]}" explain endpoints.subsets 2>&1) || fail "$label explain subsets: $out"
    expect_fields "$out" addresses notReadyAddresses ports

    # the Swagger definitions, which 1.27 and 1.28 download for every validated command
    if "$k" explain --help 2>/dev/null | grep -q plaintext-openapiv2; then
        out=$("${kc[@]}" explain service.spec.ports --output plaintext-openapiv2 2>&1) ||
            fail "$label explain from v2: $out"
        expect_fields "$out" name port protocol targetPort
    fi
    pass "$label: create, apply twice, explain"
done
