#!/usr/bin/env bash
# Content negotiation: YAML request bodies, YAML answers (objects, lists and errors), kubectl
# 1.32+'s protobuf-first Accept answered in JSON, 406 and 415, and server-side Tables (lists and
# one-row Tables for a single GET).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helpers.sh"
start_server

TABLE='application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'
PROTO_FIRST='application/vnd.kubernetes.protobuf,application/json'

t_yaml_request_bodies() {
    req POST /api/v1/namespaces/default/services $'# a comment\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels:\n    app: web\n    "tier": "fe"\nspec:\n  selector: {app: web}\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n' application/yaml
    expect_status 201 "create from YAML"
    expect_header Content-Type application/json
    jq_is .metadata.labels '{"app":"web","tier":"fe"}'
    jq_is .spec.ports '[{"name":"http","protocol":"TCP","port":80,"targetPort":8080}]'
    jq_is .spec.selector '{"app":"web"}'
    local rv
    rv=$(jq_get .metadata.resourceVersion)
    req PUT /api/v1/namespaces/default/services/web "$(printf 'metadata:\n  name: web\n  resourceVersion: "%s"\nspec:\n  ports:\n  - port: 81\n' "$rv")" application/yaml
    expect_status 200 "update from YAML"
    jq_is '.spec.ports[0].port' 81
    req POST /api/v1/namespaces $'metadata:\n  name: from-yaml\n' application/yaml
    expect_status 201 "namespace from YAML"
    req POST /api/v1/namespaces/from-yaml/endpoints $'metadata:\n  name: ep\nsubsets:\n- addresses:\n  - ip: "10.0.0.1"\n  ports:\n  - port: 53\n    protocol: UDP\n' application/yaml
    expect_status 201 "endpoints from YAML"
    jq_is .subsets '[{"addresses":[{"ip":"10.0.0.1"}],"ports":[{"port":53,"protocol":"UDP"}]}]'
    # application/yaml with parameters is still YAML
    req POST /api/v1/namespaces/default/endpoints $'metadata:\n  name: ep-param\n' 'application/yaml; charset=utf-8'
    expect_status 201 "YAML with a charset parameter"
}

# apiserver's YAML answer is the JSON converted by sigs.k8s.io/yaml: keys sorted, two-space
# indent, sequences not indented, strings that would read as other types double-quoted.
t_yaml_answers() {
    req GET /api/v1/namespaces/default/services/kubernetes
    expect_status 200
    local uid rv ts mt
    uid=$(jq_get .metadata.uid); rv=$(jq_get .metadata.resourceVersion); ts=$(jq_get .metadata.creationTimestamp)
    mt=$(jq_get '.metadata.managedFields[0].time')
    req GET /api/v1/namespaces/default/services/kubernetes "" "" application/yaml
    expect_status 200 "GET in YAML"
    expect_header Content-Type application/yaml
    cat >"$WORK/want.yaml" <<EOF
apiVersion: v1
kind: Service
metadata:
  creationTimestamp: "$ts"
  labels:
    component: apiserver
    provider: kubernetes
  managedFields:
  - apiVersion: v1
    fieldsType: FieldsV1
    fieldsV1:
      f:metadata:
        f:labels:
          .: {}
          f:component: {}
          f:provider: {}
      f:spec:
        f:clusterIP: {}
        f:internalTrafficPolicy: {}
        f:ipFamilyPolicy: {}
        f:ports:
          .: {}
          k:{"port":443,"protocol":"TCP"}:
            .: {}
            f:name: {}
            f:port: {}
            f:protocol: {}
            f:targetPort: {}
        f:sessionAffinity: {}
        f:type: {}
    manager: kube-apiserver
    operation: Update
    time: "$mt"
  name: kubernetes
  namespace: default
  resourceVersion: "$rv"
  uid: $uid
spec:
  clusterIP: 10.96.0.1
  clusterIPs:
  - 10.96.0.1
  internalTrafficPolicy: Cluster
  ipFamilies:
  - IPv4
  ipFamilyPolicy: SingleStack
  ports:
  - name: https
    port: 443
    protocol: TCP
    targetPort: $PORT
  sessionAffinity: None
  type: ClusterIP
status:
  loadBalancer: {}
EOF
    diff "$WORK/want.yaml" "$BODY_FILE" >&2 || fail "YAML answer differs from upstream's rendering"
    # a list in YAML carries the same content as the JSON list
    req GET /api/v1/namespaces
    cp "$BODY_FILE" "$WORK/list.json"
    req GET /api/v1/namespaces "" "" application/yaml
    expect_status 200 "LIST in YAML"
    expect_header Content-Type application/yaml
    $PY - "$WORK/list.json" "$BODY_FILE" <<'EOF' || fail "the YAML list differs from the JSON list"
import json, sys
import yaml
j = json.load(open(sys.argv[1]))
y = yaml.safe_load(open(sys.argv[2]))
sys.exit(0 if j == y else 1)
EOF
    grep -q '^kind: NamespaceList$' "$BODY_FILE" || fail "list kind line"
}

# Errors are negotiated like any answer (responsewriters.ErrorNegotiated).
t_yaml_errors() {
    req GET /api/v1/namespaces/default/services/nope "" "" application/yaml
    expect_status 404
    expect_header Content-Type application/yaml
    $PY - "$BODY_FILE" <<'EOF' || fail "the YAML Status differs"
import sys
import yaml
got = yaml.safe_load(open(sys.argv[1]))
want = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'services "nope" not found', "reason": "NotFound",
        "details": {"name": "nope", "kind": "services"}, "code": 404}
sys.exit(0 if got == want else 1)
EOF
}

# kubectl 1.32+ typed clients ask for protobuf first; JSON is the acceptable fallback.
t_protobuf_first_accept() {
    req GET /api/v1/namespaces/default/services/kubernetes "" "" "$PROTO_FIRST"
    expect_status 200
    expect_header Content-Type application/json
    jq_is .kind '"Service"'
    req GET /api/v1/namespaces/default/services "" "" "$PROTO_FIRST"
    expect_status 200
    expect_header Content-Type application/json
    jq_is .kind '"ServiceList"'
    req GET /api/v1/namespaces "" "" "$PROTO_FIRST"
    jq_is .kind '"NamespaceList"'
    req POST /api/v1/namespaces/default/endpoints '{"metadata":{"name":"pb"}}' application/json "$PROTO_FIRST"
    expect_status 201
    expect_header Content-Type application/json
    req GET /api/v1/namespaces/default/services/nope "" "" "$PROTO_FIRST"
    expect_header Content-Type application/json
    expect_failure 404 NotFound 'services "nope" not found' '{"name":"nope","kind":"services"}'
    local a
    for a in '*/*' 'application/json, */*' 'application/vnd.kubernetes.protobuf, */*' 'application/*'; do
        req GET /api/v1/namespaces/default/services/kubernetes "" "" "$a"
        expect_status 200 "Accept: $a"
        expect_header Content-Type application/json
    done
    # no Accept header at all
    STATUS=$(curl -s -o "$BODY_FILE" -D "$HDR_FILE" -w '%{http_code}' -H 'Accept:' "$URL/api/v1/namespaces/default/services/kubernetes")
    expect_status 200 "no Accept"
    expect_header Content-Type application/json
}

t_not_acceptable() {
    # no route produces text/html: go-restful's 406, wrapped by apiserver's service error handler
    req GET /api/v1/namespaces/default/services/kubernetes "" "" text/html
    expect_failure 406 NotAcceptable "406: Not Acceptable" '{}'
    req GET /api/v1/namespaces/default/services "" "" 'text/plain'
    expect_failure 406 NotAcceptable "406: Not Acceptable" '{}'
}

t_not_acceptable_handler() {
    # application/json passes the router; the handler then finds no form it can serve
    req GET /api/v1/namespaces/default/services/kubernetes "" "" 'application/json;as=Foo;v=v1;g=meta.k8s.io'
    expect_failure 406 NotAcceptable \
        "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf"
    req GET /api/v1/namespaces/default/services "" "" 'application/json;as=Table;v=v9;g=meta.k8s.io'
    expect_failure 406 NotAcceptable \
        "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf"
}

t_unsupported_media_type() {
    req POST /api/v1/namespaces/default/services '{"metadata":{"name":"x"}}' text/plain
    expect_failure 415 UnsupportedMediaType \
        "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf"
    req PUT /api/v1/namespaces/default/endpoints/x '{"metadata":{"name":"x"}}' application/xml
    expect_failure 415 UnsupportedMediaType \
        "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf"
}

# Column definitions without the descriptions (those are our own words, checked non-empty).
columns_are() {
    $PY -S - "$BODY_FILE" "$1" <<'EOF' || fail "columnDefinitions"
import json, sys
got = json.load(open(sys.argv[1]))["columnDefinitions"]
want = json.loads(sys.argv[2])
ok = True
for c in got:
    if list(c.keys()) != ["name", "type", "format", "description", "priority"]:
        print("keys %s" % list(c.keys()), file=sys.stderr); ok = False
    if not isinstance(c.get("description"), str) or not c["description"]:
        print("empty description in %s" % c, file=sys.stderr); ok = False
got = [[c.get("name"), c.get("type"), c.get("format"), c.get("priority")] for c in got]
if got != want:
    print("columns %s\n wanted %s" % (got, want), file=sys.stderr); ok = False
sys.exit(0 if ok else 1)
EOF
}

# Rows: cells (the Age cell matched loosely) and the PartialObjectMetadata of each object.
rows_are() {
    $PY -S - "$BODY_FILE" "$1" "$2" <<'EOF' || fail "rows"
import json, re, sys
t = json.load(open(sys.argv[1]))
want, age_col = json.loads(sys.argv[2]), int(sys.argv[3])
ok = True
cells = []
for r in t["rows"]:
    c = list(r["cells"])
    if not re.fullmatch(r"[0-9]+s", str(c[age_col])):
        print("age cell %r" % c[age_col], file=sys.stderr); ok = False
    c[age_col] = "<age>"
    cells.append(c)
    o = r.get("object", {})
    if o.get("kind") != "PartialObjectMetadata" or o.get("apiVersion") != t["apiVersion"]:
        print("row object %s" % o, file=sys.stderr); ok = False
    if o.get("metadata", {}).get("name") != r["cells"][0]:
        print("row object metadata %s" % o.get("metadata"), file=sys.stderr); ok = False
if cells != want:
    print("cells %s\n wanted %s" % (cells, want), file=sys.stderr); ok = False
sys.exit(0 if ok else 1)
EOF
}

SVC_COLUMNS='[["Name","string","name",0],["Type","string","",0],["Cluster-IP","string","",0],["External-IP","string","",0],["Port(s)","string","",0],["Age","string","",0],["Selector","string","",1]]'

t_tables() {
    req POST /api/v1/namespaces '{"metadata":{"name":"tables"}}'
    expect_status 201
    req POST /api/v1/namespaces/tables/services '{"metadata":{"name":"a"},"spec":{"clusterIP":"10.96.5.5","selector":{"tier":"fe","app":"a"},"ports":[{"name":"http","port":80},{"name":"dns","port":53,"protocol":"UDP"}]}}'
    expect_status 201 "service a"
    req POST /api/v1/namespaces/tables/services '{"metadata":{"name":"b"},"spec":{"clusterIP":"None","ports":[{"port":80}]}}'
    expect_status 201 "service b"
    req POST /api/v1/namespaces/tables/endpoints '{"metadata":{"name":"ext"},"subsets":[{"addresses":[{"ip":"10.1.0.1"},{"ip":"10.1.0.2"}],"ports":[{"port":8080}]}]}'
    expect_status 201 "endpoints ext"
    # the endpoints controller gives the selector Service "a" its (empty) Endpoints
    ep_a() { req GET /api/v1/namespaces/tables/endpoints/a && [ "$STATUS" = 200 ]; }
    wait_until 5 ep_a || fail "no Endpoints for the selector Service"

    req GET /api/v1/namespaces/tables/services "" "" "$TABLE"
    expect_status 200 "service Table"
    expect_header Content-Type application/json
    jq_is .kind '"Table"'
    jq_is .apiVersion '"meta.k8s.io/v1"'
    local list_rv
    list_rv=$(jq_get .metadata.resourceVersion)
    req GET /api/v1/namespaces/tables/services
    [ "$(jq_get .metadata.resourceVersion)" = "$list_rv" ] || fail "Table resourceVersion is not the list's"
    req GET /api/v1/namespaces/tables/services "" "" "$TABLE"
    columns_are "$SVC_COLUMNS"
    rows_are '[["a","ClusterIP","10.96.5.5","<none>","80/TCP,53/UDP","<age>","app=a,tier=fe"],["b","ClusterIP","None","<none>","80/TCP","<age>","<none>"]]' 5
    jq_is '.rows[0].object.metadata.namespace' '"tables"'

    # a single GET is a one-row Table with the object's resourceVersion
    req GET /api/v1/namespaces/tables/services/a
    local rv
    rv=$(jq_get .metadata.resourceVersion)
    req GET /api/v1/namespaces/tables/services/a "" "" "$TABLE"
    expect_status 200 "one-row Table"
    jq_is .kind '"Table"'
    jq_is .metadata "{\"resourceVersion\":\"$rv\"}"
    columns_are "$SVC_COLUMNS"
    rows_are '[["a","ClusterIP","10.96.5.5","<none>","80/TCP,53/UDP","<age>","app=a,tier=fe"]]' 5

    req GET /api/v1/namespaces/tables/endpoints "" "" "$TABLE"
    expect_status 200 "endpoints Table"
    columns_are '[["Name","string","name",0],["Endpoints","string","",0],["Age","string","",0]]'
    rows_are '[["a","<none>","<age>"],["ext","10.1.0.1:8080,10.1.0.2:8080","<age>"]]' 2

    req GET /api/v1/namespaces "" "" "$TABLE"
    expect_status 200 "namespace Table"
    columns_are '[["Name","string","name",0],["Status","string","",0],["Age","string","",0]]'
    rows_are '[["default","Active","<age>"],["from-yaml","Active","<age>"],["kube-node-lease","Active","<age>"],["kube-public","Active","<age>"],["kube-system","Active","<age>"],["tables","Active","<age>"]]' 2
    req GET /api/v1/namespaces/tables "" "" "$TABLE"
    rows_are '[["tables","Active","<age>"]]' 2

    # v1beta1 only
    req GET /api/v1/namespaces/tables/services/a "" "" 'application/json;as=Table;v=v1beta1;g=meta.k8s.io'
    expect_status 200 "v1beta1 Table"
    jq_is .apiVersion '"meta.k8s.io/v1beta1"'
    jq_is '.rows[0].object.apiVersion' '"meta.k8s.io/v1beta1"'
    # an empty list is a Table with no rows
    req GET /api/v1/namespaces/kube-public/services "" "" "$TABLE"
    jq_is .rows '[]'
    # without as=Table the plain object
    req GET /api/v1/namespaces/tables/services/a "" "" application/json
    jq_is .kind '"Service"'
}

run_case yaml_request_bodies t_yaml_request_bodies
run_case yaml_answers t_yaml_answers
run_case yaml_errors t_yaml_errors
run_case protobuf_first_accept_answered_in_json t_protobuf_first_accept
run_case not_acceptable_router t_not_acceptable
run_case not_acceptable_handler t_not_acceptable_handler
run_case unsupported_media_type t_unsupported_media_type
run_case tables t_tables
finish format
