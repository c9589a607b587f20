#!/usr/bin/env bash
# Every error path of the REST core, with the exact Status kube-apiserver 1.33 answers, and the
# guarantee that a failed request stores nothing: the lists (their resourceVersion included) are
# compared before and after.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helpers.sh"
start_server

# No selector: the endpoints controller leaves the Endpoints of the same name to us.
SVC='{"metadata":{"name":"web","labels":{"app":"web"}},"spec":{"ports":[{"port":80}]}}'
req POST /api/v1/namespaces/default/services "$SVC"
expect_status 201 "setup: service"
req POST /api/v1/namespaces/default/endpoints \
    '{"metadata":{"name":"web"},"subsets":[{"addresses":[{"ip":"10.244.0.5"}],"ports":[{"port":8080}]}]}'
expect_status 201 "setup: endpoints"
req POST /api/v1/namespaces '{"metadata":{"name":"team-a"}}'
expect_status 201 "setup: namespace"

SVCS=/api/v1/namespaces/default/services
SNAPSHOT_CASES=1
DECODE_PREFIX="couldn't get version/kind; json parse error: "

# Malformed JSON: upstream's decoder frame around the parse error; we add the position.
t_malformed_json() {
    printf '{"metadata":' >"$WORK/b1"
    req POST $SVCS "@$WORK/b1"
    expect_decode_error Service "$WORK/b1" "${DECODE_PREFIX}.+line 1, column [0-9]+.*"

    printf '{\n  "metadata": {"name": "web2", "labels": {"a": "b",}},\n  "spec": {}\n}\n' >"$WORK/b2"
    req POST $SVCS "@$WORK/b2"
    expect_decode_error Service "$WORK/b2" "${DECODE_PREFIX}.+line 2, column [0-9]+.*"

    printf 'not json at all' >"$WORK/b3"
    req POST $SVCS "@$WORK/b3"
    expect_decode_error Service "$WORK/b3" "${DECODE_PREFIX}.+line 1, column [0-9]+.*"

    # an empty body is Go's own message, position-free
    : >"$WORK/b4"
    req PUT $SVCS/web "@$WORK/b4"
    expect_failure 400 BadRequest \
        "the object provided is unrecognized (must be of type Service): couldn't get version/kind; json parse error: unexpected end of JSON input (<empty>)"

    printf '{"metadata":{"name":"web"' >"$WORK/b5"
    req POST /api/v1/namespaces/default/endpoints "@$WORK/b5"
    expect_decode_error Endpoints "$WORK/b5" "${DECODE_PREFIX}.+line 1, column [0-9]+.*"
    expect_unchanged "$CASE_START" "malformed JSON"
}

# Malformed YAML: sigs.k8s.io/yaml's error (go-yaml v2 wording and line rule) inside the same
# frame. go-yaml counts a scanner error's line from 1, a parser error's from 0 (its fail()).
t_malformed_yaml_scanner() {
    printf 'metadata:\n\tname: web2\n' >"$WORK/y1"
    req POST $SVCS "@$WORK/y1" application/yaml
    expect_decode_error Service "$WORK/y1" "yaml: line 2: found character that cannot start any token"
    expect_unchanged "$CASE_START" "malformed YAML"
}

t_malformed_yaml_parser() {
    printf 'metadata:\n  name: [web2\n' >"$WORK/y2"
    req POST $SVCS "@$WORK/y2" application/yaml
    expect_decode_error Service "$WORK/y2" "yaml: line 2: did not find expected ',' or ']'"
    expect_unchanged "$CASE_START" "malformed YAML"
}

# apiserver reads at most 3 MiB (3145728 bytes) of a body: one byte more is 413.
t_too_large() {
    $PY - "$WORK/big" <<'EOF'
import sys
head = b'{"metadata":{"name":"big","annotations":{"a":"'
tail = b'"}},"spec":{"ports":[{"port":80}]}}'
open(sys.argv[1], "wb").write(head + b"x" * (3145729 - len(head) - len(tail)) + tail)
EOF
    [ "$(stat -c %s "$WORK/big")" = 3145729 ] || fail "test body size"
    req POST $SVCS "@$WORK/big"
    expect_failure 413 RequestEntityTooLarge "Request entity too large: limit is 3145728"
    req PUT $SVCS/web "@$WORK/big"
    expect_failure 413 RequestEntityTooLarge "Request entity too large: limit is 3145728"
    req POST /api/v1/namespaces/default/services "@$WORK/big" application/yaml
    expect_failure 413 RequestEntityTooLarge "Request entity too large: limit is 3145728"
    # the server still answers on a fresh connection
    req GET $SVCS/web
    expect_status 200 "after 413"
    expect_unchanged "$CASE_START" "413"
}

nested_json() { # DEPTH FILE: an object nested DEPTH levels deep (the outermost counts as 1)
    $PY - "$1" "$2" <<'EOF'
import sys
n = int(sys.argv[1]) - 1
open(sys.argv[2], "w").write('{"metadata":{"name":"deep"},"spec":{"ports":[{"port":80}]},"x":'
                             + "[" * n + "]" * n + "}")
EOF
}

t_nesting() {
    nested_json 101 "$WORK/deep101"
    req POST $SVCS "@$WORK/deep101"
    expect_decode_error Service "$WORK/deep101" "${DECODE_PREFIX}.*max depth.*"
    expect_unchanged "$CASE_START" "nesting"
}

t_nesting_yaml() {
    printf 'metadata:\n  name: deep\nspec:\n  ports:\n  - port: 80\nx: %s%s\n' "$(printf '[%.0s' $(seq 100))" \
        "$(printf ']%.0s' $(seq 100))" >"$WORK/deep101.yaml"
    req POST $SVCS "@$WORK/deep101.yaml" application/yaml
    expect_decode_error Service "$WORK/deep101.yaml" "yaml: .*max depth.*"
    expect_unchanged "$CASE_START" "nesting"
}

t_stale_resource_version() {
    req GET $SVCS/web
    local rv
    rv=$(jq_get .metadata.resourceVersion)
    req PUT $SVCS/web "{\"metadata\":{\"name\":\"web\",\"resourceVersion\":\"$((rv - 1))\"},\"spec\":{\"ports\":[{\"port\":81}]}}"
    expect_failure 409 Conflict \
        'Operation cannot be fulfilled on services "web": the object has been modified; please apply your changes to the latest version and try again' \
        '{"name":"web","kind":"services"}'
    req PUT /api/v1/namespaces/default/endpoints/web '{"metadata":{"name":"web","resourceVersion":"1"}}'
    expect_failure 409 Conflict \
        'Operation cannot be fulfilled on endpoints "web": the object has been modified; please apply your changes to the latest version and try again' \
        '{"name":"web","kind":"endpoints"}'
    req PUT /api/v1/namespaces/team-a '{"metadata":{"name":"team-a","resourceVersion":"1"}}'
    expect_failure 409 Conflict \
        'Operation cannot be fulfilled on namespaces "team-a": the object has been modified; please apply your changes to the latest version and try again' \
        '{"name":"team-a","kind":"namespaces"}'
    expect_unchanged "$CASE_START" "stale resourceVersion"
}

t_put_name_mismatch() {
    req PUT $SVCS/web '{"metadata":{"name":"other"},"spec":{"ports":[{"port":80}]}}'
    expect_failure 400 BadRequest "the name of the object (other) does not match the name on the URL (web)"
    req PUT /api/v1/namespaces/default/endpoints/web '{"metadata":{"name":"other"}}'
    expect_failure 400 BadRequest "the name of the object (other) does not match the name on the URL (web)"
    req PUT /api/v1/namespaces/team-a '{"metadata":{"name":"team-b"}}'
    expect_failure 400 BadRequest "the name of the object (team-b) does not match the name on the URL (team-a)"
    expect_unchanged "$CASE_START" "PUT name mismatch"
}

# A PUT body without a name is not named after the URL: checkName cannot read a name from it.
t_put_without_name() {
    req PUT $SVCS/web '{"metadata":{},"spec":{"ports":[{"port":80}]}}'
    expect_failure 400 BadRequest "the name of the object (web based on URL) was undeterminable: name must be provided"
    req PUT /api/v1/namespaces/default/endpoints/fresh '{"subsets":[]}'
    expect_failure 400 BadRequest "the name of the object (fresh based on URL) was undeterminable: name must be provided"
    expect_unchanged "$CASE_START" "PUT without a name"
}

# The update handler checks the body's namespace (rest.EnsureObjectNamespaceMatchesRequestNamespace)
# before its name (checkName), so a PUT with a foreign namespace gets the same text as a POST.
t_put_namespace_mismatch() {
    req PUT $SVCS/web '{"metadata":{"name":"web","namespace":"team-a"},"spec":{"ports":[{"port":80}]}}'
    expect_failure 400 BadRequest "the namespace of the provided object does not match the namespace sent on the request"
    req PUT $SVCS/web '{"metadata":{"name":"other","namespace":"team-a"},"spec":{"ports":[{"port":80}]}}'
    expect_failure 400 BadRequest "the namespace of the provided object does not match the namespace sent on the request"
    expect_unchanged "$CASE_START" "PUT namespace mismatch"
}

t_post_namespace_mismatch() {
    req POST $SVCS '{"metadata":{"name":"web2","namespace":"team-a"},"spec":{"ports":[{"port":80}]}}'
    expect_failure 400 BadRequest "the namespace of the provided object does not match the namespace sent on the request"
    req POST /api/v1/namespaces/team-a/endpoints '{"metadata":{"name":"web2","namespace":"default"}}'
    expect_failure 400 BadRequest "the namespace of the provided object does not match the namespace sent on the request"
    expect_unchanged "$CASE_START" "POST namespace mismatch"
}

# NamespaceLifecycle admission: writes into a namespace that does not exist.
t_missing_namespace() {
    req POST /api/v1/namespaces/nowhere/services "$SVC"
    expect_failure 404 NotFound 'namespaces "nowhere" not found' '{"name":"nowhere","kind":"namespaces"}'
    req POST /api/v1/namespaces/nowhere/endpoints '{"metadata":{"name":"web"}}'
    expect_failure 404 NotFound 'namespaces "nowhere" not found' '{"name":"nowhere","kind":"namespaces"}'
    # create-on-PUT is a create for admission
    req PUT /api/v1/namespaces/nowhere/services/web "$SVC"
    expect_failure 404 NotFound 'namespaces "nowhere" not found' '{"name":"nowhere","kind":"namespaces"}'
    req PUT /api/v1/namespaces/nowhere/endpoints/web '{"metadata":{"name":"web"}}'
    expect_failure 404 NotFound 'namespaces "nowhere" not found' '{"name":"nowhere","kind":"namespaces"}'
    # reads skip admission: the object is missing, and a list is empty
    req GET /api/v1/namespaces/nowhere/services/web
    expect_failure 404 NotFound 'services "web" not found' '{"name":"web","kind":"services"}'
    req GET /api/v1/namespaces/nowhere/services
    expect_status 200
    jq_is .kind '"ServiceList"'
    jq_is .items '[]'
    req DELETE /api/v1/namespaces/nowhere/services/web
    expect_failure 404 NotFound 'services "web" not found' '{"name":"web","kind":"services"}'
    expect_unchanged "$CASE_START" "missing namespace"
}

t_not_found() {
    req GET $SVCS/nope
    expect_failure 404 NotFound 'services "nope" not found' '{"name":"nope","kind":"services"}'
    req DELETE $SVCS/nope
    expect_failure 404 NotFound 'services "nope" not found' '{"name":"nope","kind":"services"}'
    req GET /api/v1/namespaces/default/endpoints/nope
    expect_failure 404 NotFound 'endpoints "nope" not found' '{"name":"nope","kind":"endpoints"}'
    req DELETE /api/v1/namespaces/default/endpoints/nope
    expect_failure 404 NotFound 'endpoints "nope" not found' '{"name":"nope","kind":"endpoints"}'
    req GET /api/v1/namespaces/nope
    expect_failure 404 NotFound 'namespaces "nope" not found' '{"name":"nope","kind":"namespaces"}'
    # Namespaces cannot be created by PUT
    req PUT /api/v1/namespaces/nope '{"metadata":{"name":"nope"}}'
    expect_failure 404 NotFound 'namespaces "nope" not found' '{"name":"nope","kind":"namespaces"}'
    # named groups: group-qualified resource in the message, "group" in the details
    req GET /apis/apps/v1/namespaces/default/replicasets/nope
    expect_failure 404 NotFound 'replicasets.apps "nope" not found' \
        '{"name":"nope","group":"apps","kind":"replicasets"}'
    req GET /apis/discovery.k8s.io/v1/namespaces/default/endpointslices/nope
    expect_failure 404 NotFound 'endpointslices.discovery.k8s.io "nope" not found' \
        '{"name":"nope","group":"discovery.k8s.io","kind":"endpointslices"}'
    expect_unchanged "$CASE_START" "not found"
}

t_already_exists() {
    req POST $SVCS "$SVC"
    expect_failure 409 AlreadyExists 'services "web" already exists' '{"name":"web","kind":"services"}'
    req POST /api/v1/namespaces/default/endpoints '{"metadata":{"name":"web"}}'
    expect_failure 409 AlreadyExists 'endpoints "web" already exists' '{"name":"web","kind":"endpoints"}'
    req POST /api/v1/namespaces '{"metadata":{"name":"team-a"}}'
    expect_failure 409 AlreadyExists 'namespaces "team-a" already exists' '{"name":"team-a","kind":"namespaces"}'
    req POST /api/v1/namespaces '{"metadata":{"name":"default"}}'
    expect_failure 409 AlreadyExists 'namespaces "default" already exists' '{"name":"default","kind":"namespaces"}'
    expect_unchanged "$CASE_START" "already exists"
}

# The storage refuses a create that carries a resourceVersion with a plain Go error, which the
# handler turns into a 500 Status without a reason (apierrors.ErrorToAPIStatus).
t_resource_version_on_create() {
    req POST $SVCS '{"metadata":{"name":"web2","resourceVersion":"5"},"spec":{"ports":[{"port":80}]}}'
    expect_failure 500 "" "resourceVersion should not be set on objects to be created"
    req POST /api/v1/namespaces/default/endpoints '{"metadata":{"name":"web2","resourceVersion":"5"}}'
    expect_failure 500 "" "resourceVersion should not be set on objects to be created"
    expect_unchanged "$CASE_START" "resourceVersion on create"
}

# Paths under an API root that no route matches get go-restful's 404, which apiserver turns
# into a Status with empty details.
t_unknown_paths() {
    local p
    for p in /api/v1/foos /api/v1/namespaces/default/foos /api/v1/namespaces/default/services/web/foo \
        /apis/apps/v1/foos /apis/apps/v1/namespaces/default/foos /api/v2 /api/v1/namespaces/default/services/web/status/x; do
        req GET "$p"
        expect_failure 404 NotFound "the server could not find the requested resource" '{}'
    done
    # outside every API root (upstream answers these with a plain-text 404)
    for p in /foo /apis/nosuch.example.com/v1 /apis/nosuch.example.com/v1/namespaces/default/things; do
        req GET "$p"
        expect_status 404 "$p"
    done
    expect_unchanged "$CASE_START" "unknown paths"
}

# A verb a resource lacks: apiserver registers no route for it, so go-restful answers 405 and
# apiserver wraps it in a generic Status (NewGenericServerResponse) with empty details.
t_method_not_allowed() {
    local m="the server does not allow this method on the requested resource"
    req DELETE /api/v1/namespaces
    expect_failure 405 MethodNotAllowed "$m" '{}'
    req PUT $SVCS "$SVC"
    expect_failure 405 MethodNotAllowed "$m" '{}'
    req PATCH $SVCS '{}' application/merge-patch+json
    expect_failure 405 MethodNotAllowed "$m" '{}'
    req POST $SVCS/web "$SVC"
    expect_failure 405 MethodNotAllowed "$m" '{}'
    req POST $SVCS/web/status "$SVC"
    expect_failure 405 MethodNotAllowed "$m" '{}'
    req DELETE $SVCS/web/status
    expect_failure 405 MethodNotAllowed "$m" '{}'
    req PUT /api/v1/namespaces/default/endpoints '{"metadata":{"name":"web"}}'
    expect_failure 405 MethodNotAllowed "$m" '{}'
    expect_unchanged "$CASE_START" "method not allowed"
}

# Across namespaces apiserver routes only list and watch: no create, and above all no
# deletecollection (it would wipe every namespace, the kubernetes Service included).
t_cross_namespace_writes() {
    local m="the server does not allow this method on the requested resource"
    req POST /api/v1/services "$SVC"
    expect_failure 405 MethodNotAllowed "$m" '{}'
    req POST /api/v1/endpoints '{"metadata":{"name":"web","namespace":"default"}}'
    expect_failure 405 MethodNotAllowed "$m" '{}'
    req DELETE /api/v1/services
    expect_failure 405 MethodNotAllowed "$m" '{}'
    req DELETE /api/v1/endpoints
    expect_failure 405 MethodNotAllowed "$m" '{}'
    expect_unchanged "$CASE_START" "writes across namespaces"
}

# Immortal namespaces (NamespaceLifecycle admission).
t_undeletable_namespaces() {
    local ns
    for ns in default kube-system kube-public; do
        req DELETE /api/v1/namespaces/$ns
        expect_failure 403 Forbidden "namespaces \"$ns\" is forbidden: this namespace may not be deleted" \
            "{\"name\":\"$ns\",\"kind\":\"namespaces\"}"
    done
    expect_unchanged "$CASE_START" "undeletable namespaces"
}

# Writes that must succeed right at the limits (after the unchanged-state checks).
t_limits_accepted() {
    $PY - "$WORK/max" <<'EOF'
import sys
body = b'{"metadata":{"name":"max"},"spec":{"ports":[{"port":80}]}}'
open(sys.argv[1], "wb").write(body + b" " * (3145728 - len(body)))
EOF
    req POST $SVCS "@$WORK/max"
    expect_status 201 "a body of exactly 3 MiB"
    nested_json 100 "$WORK/deep100"
    req POST $SVCS "@$WORK/deep100"
    expect_status 201 "nesting of exactly 100"
}

# A namespace held by a finalizer stays Terminating after its content is gone; creates in it
# are refused by admission (403 with the NamespaceTerminating cause), even create-on-PUT.
t_terminating_namespace() {
    req POST /api/v1/namespaces '{"metadata":{"name":"doomed","finalizers":["example.com/hold"]}}'
    expect_status 201 "create doomed"
    req POST /api/v1/namespaces/doomed/services "$SVC"
    expect_status 201 "service in doomed"
    req DELETE /api/v1/namespaces/doomed
    expect_status 200 "delete doomed"
    jq_is .status.phase '"Terminating"'
    svc_gone() { req GET /api/v1/namespaces/doomed/services/web && [ "$STATUS" = 404 ]; }
    wait_until 5 svc_gone || fail "the namespace's content was not removed"
    req GET /api/v1/namespaces/doomed
    expect_status 200 "a finalizer keeps the namespace"
    jq_is .status.phase '"Terminating"'
    jq_is .metadata.finalizers '["example.com/hold"]'
    local cause='"causes":[{"reason":"NamespaceTerminating","message":"namespace doomed is being terminated","field":"metadata.namespace"}]'
    req POST /api/v1/namespaces/doomed/services '{"metadata":{"name":"b"},"spec":{"ports":[{"port":80}]}}'
    expect_failure 403 Forbidden \
        'services "b" is forbidden: unable to create new content in namespace doomed because it is being terminated' \
        "{\"name\":\"b\",\"kind\":\"services\",$cause}"
    req POST /api/v1/namespaces/doomed/endpoints '{"metadata":{"name":"b"}}'
    expect_failure 403 Forbidden \
        'endpoints "b" is forbidden: unable to create new content in namespace doomed because it is being terminated' \
        "{\"name\":\"b\",\"kind\":\"endpoints\",$cause}"
    req PUT /api/v1/namespaces/doomed/endpoints/c '{"metadata":{"name":"c"}}'
    expect_failure 403 Forbidden \
        'endpoints "c" is forbidden: unable to create new content in namespace doomed because it is being terminated' \
        "{\"name\":\"c\",\"kind\":\"endpoints\",$cause}"
    req GET /api/v1/namespaces/doomed/services
    jq_is .items '[]'
}

# List parameters the parameter codec and ValidateListOptions refuse; an expired page's 410
# carries a fresh token that lists on from the latest state.
t_list_parameters() {
    req GET "/api/v1/namespaces/default/services?limit=x"
    expect_status 400 "limit=x"
    expect_json '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"strconv.ParseInt: parsing \"x\": invalid syntax","reason":"BadRequest","code":400}'
    req GET "/api/v1/namespaces/default/services?sendInitialEvents=true"
    expect_status 422 "sendInitialEvents on a list"
    expect_json '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list","reason":"Invalid","details":{"group":"meta.k8s.io","kind":"ListOptions","causes":[{"reason":"FieldValueForbidden","message":"Forbidden: sendInitialEvents is forbidden for list","field":"sendInitialEvents"}]},"code":422}'
    req GET "/api/v1/namespaces/default/services/kubernetes?watch=true"
    expect_status 200 "a named GET with watch=true is a get"
    jq_is .metadata.name '"kubernetes"'
}
malformed_json t_malformed_json
run_case malformed_yaml_scanner_error t_malformed_yaml_scanner
run_case malformed_yaml_parser_error t_malformed_yaml_parser
run_case body_too_large t_too_large
run_case nesting_too_deep_json t_nesting
run_case nesting_too_deep_yaml t_nesting_yaml
run_case stale_resource_version t_stale_resource_version
run_case put_name_mismatch t_put_name_mismatch
run_case put_without_name t_put_without_name
run_case put_namespace_mismatch t_put_namespace_mismatch
run_case post_namespace_mismatch t_post_namespace_mismatch
run_case missing_namespace t_missing_namespace
run_case not_found t_not_found
run_case already_exists t_already_exists
run_case resource_version_on_create t_resource_version_on_create
run_case unknown_paths t_unknown_paths
run_case undeletable_namespaces t_undeletable_namespaces
run_case list_parameters t_list_parameters
run_case method_not_allowed t_method_not_allowed
run_case limits_accepted t_limits_accepted
run_case terminating_namespace t_terminating_namespace
run_case cross_namespace_writes t_cross_namespace_writes
finish errors
