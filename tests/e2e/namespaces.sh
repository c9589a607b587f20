#!/usr/bin/env bash
# Namespaces: the four that exist at start, create/get/list/delete, deletion that removes the
# namespace's Services and Endpoints and then the namespace; deletecollection with labelSelector.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helpers.sh"
start_server

ns_json() { # NAME PHASE [MANAGER]: a Namespace as upstream answers it (volatile fields as
    # placeholders); MANAGER wrote it (curl, our client, unless given: the server's own are
    # kube-apiserver's), owning the label defaulting added.
    printf '{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"%s","uid":"<uid>","resourceVersion":"<rv>","creationTimestamp":"<time>","labels":{"kubernetes.io/metadata.name":"%s"},"managedFields":[{"manager":"%s","operation":"Update","apiVersion":"v1","time":"<time>","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{".":{},"f:kubernetes.io/metadata.name":{}}}}}]},"spec":{"finalizers":["kubernetes"]},"status":{"phase":"%s"}}' "$1" "$1" "${3:-curl}" "$2"
}

names_of_items() { pyq '" ".join(i["metadata"]["name"] for i in b["items"])'; }

t_initial_namespaces() {
    req GET /api/v1/namespaces
    expect_status 200
    jq_is .kind '"NamespaceList"'
    jq_is .apiVersion '"v1"'
    [ "$(names_of_items)" = "default kube-node-lease kube-public kube-system" ] ||
        fail "namespaces at start: $(names_of_items)"
    local ns
    for ns in default kube-node-lease kube-public kube-system; do
        req GET /api/v1/namespaces/$ns
        expect_status 200 "$ns"
        expect_json "$(ns_json $ns Active kube-apiserver)"
    done
}

t_create_get_list() {
    req POST /api/v1/namespaces '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team-a"}}'
    expect_status 201
    expect_json "$(ns_json team-a Active)"
    local uid
    uid=$(jq_get .metadata.uid)
    req GET /api/v1/namespaces/team-a
    expect_status 200
    expect_json "$(ns_json team-a Active)"
    jq_is .metadata.uid "\"$uid\""
    req GET /api/v1/namespaces
    [ "$(names_of_items)" = "default kube-node-lease kube-public kube-system team-a" ] ||
        fail "list after create: $(names_of_items)"
    # items of a list carry no kind/apiVersion, like upstream's
    jq_is '.items[?name=team-a].metadata.uid' "\"$uid\""
    [ "$(pyq '"kind" in b["items"][4]')" = false ] || fail "list items carry kind"
    # labels given by the client are kept beside the automatic one
    req POST /api/v1/namespaces '{"metadata":{"name":"team-b","labels":{"owner":"me"}}}'
    expect_status 201
    jq_is .metadata.labels '{"kubernetes.io/metadata.name":"team-b","owner":"me"}'
}

# DELETE answers the Namespace, now Terminating; the namespace controller then deletes every
# object in it and finally the namespace. Objects elsewhere are untouched.
t_delete_removes_content() {
    req POST /api/v1/namespaces '{"metadata":{"name":"gone"}}'
    expect_status 201
    local n
    for n in a b; do
        req POST /api/v1/namespaces/gone/services "{\"metadata\":{\"name\":\"$n\"},\"spec\":{\"ports\":[{\"port\":80}]}}"
        expect_status 201 "service $n"
        req POST /api/v1/namespaces/gone/endpoints "{\"metadata\":{\"name\":\"$n\"},\"subsets\":[{\"addresses\":[{\"ip\":\"10.0.0.1\"}]}]}"
        expect_status 201 "endpoints $n"
    done
    req POST /api/v1/namespaces/default/services '{"metadata":{"name":"a"},"spec":{"ports":[{"port":80}]}}'
    expect_status 201 "service a in default"
    req POST /api/v1/namespaces/default/endpoints '{"metadata":{"name":"a"}}'
    expect_status 201 "endpoints a in default"

    req DELETE /api/v1/namespaces/gone
    expect_status 200 "delete"
    jq_is .kind '"Namespace"'
    jq_is .status.phase '"Terminating"'
    ns_gone() { req GET /api/v1/namespaces/gone && [ "$STATUS" = 404 ]; }
    wait_until 5 ns_gone || fail "the namespace was not removed"
    expect_failure 404 NotFound 'namespaces "gone" not found' '{"name":"gone","kind":"namespaces"}'
    req GET /api/v1/namespaces/gone/services
    jq_is .items '[]'
    req GET /api/v1/namespaces/gone/endpoints
    jq_is .items '[]'
    req GET /api/v1/services
    [ "$(pyq '" ".join(i["metadata"]["namespace"] + "/" + i["metadata"]["name"] for i in b["items"])')" = \
        "default/a default/kubernetes" ] || fail "services left: $(pyq 'b["items"]')"
    req GET /api/v1/endpoints
    [ "$(pyq '" ".join(i["metadata"]["namespace"] + "/" + i["metadata"]["name"] for i in b["items"])')" = \
        "default/a default/kubernetes" ] || fail "endpoints left"
    req GET /api/v1/namespaces
    case " $(names_of_items) " in *" gone "*) fail "still listed" ;; esac
    # the name can be used again
    req POST /api/v1/namespaces '{"metadata":{"name":"gone"}}'
    expect_status 201 "create again"
    expect_json "$(ns_json gone Active)"
}

# The namespace registry's first DELETE only sets deletionTimestamp and the phase (no grace
# period, unlike the generic store), and answers that Namespace.
t_delete_answer() {
    req POST /api/v1/namespaces '{"metadata":{"name":"answer"}}'
    expect_status 201
    req DELETE /api/v1/namespaces/answer
    expect_status 200 "delete"
    expect_json '{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"answer","uid":"<uid>","resourceVersion":"<rv>","creationTimestamp":"<time>","deletionTimestamp":"<time>","labels":{"kubernetes.io/metadata.name":"answer"},"managedFields":[{"manager":"curl","operation":"Update","apiVersion":"v1","time":"<time>","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{".":{},"f:kubernetes.io/metadata.name":{}}}}}]},"spec":{"finalizers":["kubernetes"]},"status":{"phase":"Terminating"}}'
}

t_delete_missing() {
    req DELETE /api/v1/namespaces/never
    expect_failure 404 NotFound 'namespaces "never" not found' '{"name":"never","kind":"namespaces"}'
}

t_immortal() {
    local ns
    for ns in default kube-system kube-public; do
        req DELETE /api/v1/namespaces/$ns
        expect_failure 403 Forbidden "namespaces \"$ns\" is forbidden: this namespace may not be deleted" \
            "{\"name\":\"$ns\",\"kind\":\"namespaces\"}"
        req GET /api/v1/namespaces/$ns
        jq_is .status.phase '"Active"'
    done
}

# DELETE on a collection deletes what the selector matches, through the normal delete path,
# and answers the list of the deleted objects.
t_deletecollection() {
    req POST /api/v1/namespaces '{"metadata":{"name":"dc"}}'
    expect_status 201
    local n
    for n in a1 a2 b1; do
        req POST /api/v1/namespaces/dc/services "{\"metadata\":{\"name\":\"$n\",\"labels\":{\"app\":\"${n:0:1}\"}},\"spec\":{\"ports\":[{\"port\":80}]}}"
        expect_status 201 "service $n"
        # not named like the Services: the endpoints controller removes those with them
        req POST /api/v1/namespaces/dc/endpoints "{\"metadata\":{\"name\":\"ep-$n\",\"labels\":{\"app\":\"${n:0:1}\"}}}"
        expect_status 201 "endpoints ep-$n"
    done
    # the same labels in another namespace must survive
    req POST /api/v1/namespaces/default/services '{"metadata":{"name":"a9","labels":{"app":"a"}},"spec":{"ports":[{"port":80}]}}'
    expect_status 201

    req DELETE '/api/v1/namespaces/dc/services?labelSelector=app%3Da'
    expect_status 200 "deletecollection services"
    jq_is .kind '"ServiceList"'
    jq_is .apiVersion '"v1"'
    [ "$(names_of_items)" = "a1 a2" ] || fail "deleted services: $(names_of_items)"
    req GET /api/v1/namespaces/dc/services
    [ "$(names_of_items)" = "b1" ] || fail "services left in dc: $(names_of_items)"
    req GET /api/v1/namespaces/default/services/a9
    expect_status 200 "the other namespace keeps its service"

    req DELETE '/api/v1/namespaces/dc/endpoints?labelSelector=app+in+%28a%29'
    expect_status 200 "deletecollection endpoints"
    jq_is .kind '"EndpointsList"'
    [ "$(names_of_items)" = "ep-a1 ep-a2" ] || fail "deleted endpoints: $(names_of_items)"
    req GET /api/v1/namespaces/dc/endpoints
    [ "$(names_of_items)" = "ep-b1" ] || fail "endpoints left in dc: $(names_of_items)"

    # a selector that matches nothing deletes nothing
    req DELETE '/api/v1/namespaces/dc/services?labelSelector=app%3Dzzz'
    expect_status 200
    jq_is .items '[]'
    req GET /api/v1/namespaces/dc/services
    [ "$(names_of_items)" = "b1" ] || fail "after an empty deletecollection: $(names_of_items)"
    # a bad selector is a 400 and deletes nothing
    req DELETE '/api/v1/namespaces/dc/services?labelSelector=app%3D%3D%3D'
    expect_status 400 "bad selector"
    jq_is .reason '"BadRequest"'
    req GET /api/v1/namespaces/dc/services
    [ "$(names_of_items)" = "b1" ] || fail "after a bad selector: $(names_of_items)"
}

run_case initial_namespaces t_initial_namespaces
run_case create_get_list t_create_get_list
run_case delete_removes_content t_delete_removes_content
run_case delete_answer t_delete_answer
run_case delete_missing t_delete_missing
run_case immortal_namespaces t_immortal
run_case deletecollection t_deletecollection
finish namespaces
