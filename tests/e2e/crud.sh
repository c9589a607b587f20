#!/usr/bin/env bash
# Services and Endpoints through create, get, list, update and delete, in two namespaces,
# with curl; JSON and YAML bodies.
. "$(dirname "$0")/lib.sh"
start_server

for ns in default team-a; do
    if [ "$ns" != default ]; then
        req POST /api/v1/namespaces "{\"metadata\":{\"name\":\"$ns\"}}"
        expect_status 201 "create namespace $ns"
        jq_is .status.phase '"Active"'
    fi
    req POST /api/v1/namespaces/$ns/services \
        '{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","labels":{"app":"web"}},"spec":{"selector":{"app":"web"},"ports":[{"port":80}]}}'
    expect_status 201 "create service in $ns"
    jq_is .kind '"Service"'
    jq_is .metadata.namespace "\"$ns\""
    jq_is .spec.ports[0].targetPort 80
    uid=$(jq_get .metadata.uid)
    rv=$(jq_get .metadata.resourceVersion)

    req GET /api/v1/namespaces/$ns/services/web
    expect_status 200
    jq_is .metadata.uid "\"$uid\""

    # update with the current resourceVersion, then with the now stale one
    req PUT /api/v1/namespaces/$ns/services/web \
        "{\"metadata\":{\"name\":\"web\",\"resourceVersion\":\"$rv\",\"labels\":{\"app\":\"web\",\"tier\":\"fe\"}},\"spec\":{\"selector\":{\"app\":\"web\"},\"ports\":[{\"port\":80}]}}"
    expect_status 200 "update"
    jq_is .metadata.labels.tier '"fe"'
    jq_is .metadata.uid "\"$uid\""
    req PUT /api/v1/namespaces/$ns/services/web \
        "{\"metadata\":{\"name\":\"web\",\"resourceVersion\":\"$rv\"},\"spec\":{\"ports\":[{\"port\":81}]}}"
    expect_status 409 "stale update"
    jq_is .message '"Operation cannot be fulfilled on services \"web\": the object has been modified; please apply your changes to the latest version and try again"'
    jq_is .reason '"Conflict"'
    jq_is .details '{"name":"web","kind":"services"}'

    # Endpoints of a selectorless Service belong to the user; in YAML
    req POST /api/v1/namespaces/$ns/endpoints $'metadata:\n  name: ext\nsubsets:\n- addresses:\n  - ip: 10.244.0.5\n  ports:\n  - port: 8080\n' application/yaml
    expect_status 201 "create endpoints from YAML"
    jq_is .subsets '[{"addresses":[{"ip":"10.244.0.5"}],"ports":[{"port":8080,"protocol":"TCP"}]}]'
done

req GET /api/v1/services
expect_status 200
jq_is .kind '"ServiceList"'
names=$($JSONQ get-json "$BODY_FILE" .items | /usr/bin/python3 -c 'import json,sys; print(" ".join(i["metadata"]["namespace"]+"/"+i["metadata"]["name"] for i in json.load(sys.stdin)))')
[ "$names" = "default/kubernetes default/web team-a/web" ] || fail "list across namespaces: $names"

req GET /api/v1/namespaces/team-a/services
jq_is '.items[0].metadata.name' '"web"'
[ "$($JSONQ get-json "$BODY_FILE" .items | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1 ] || fail "namespace list"

# delete: Services answer with the object, Endpoints with a Status
req DELETE /api/v1/namespaces/team-a/services/web
expect_status 200
jq_is .kind '"Service"'
req DELETE /api/v1/namespaces/team-a/endpoints/ext
expect_status 200
jq_is .status '"Success"'
jq_is .details.kind '"endpoints"'
req GET /api/v1/namespaces/team-a/services/web
expect_status 404
jq_is .message '"services \"web\" not found"'
pass crud
