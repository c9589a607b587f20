#!/usr/bin/env bash
# Object metadata as kube-apiserver sets it: uid (UUIDv4), creationTimestamp (RFC 3339, UTC,
# seconds), resourceVersion from one global counter, generateName, system fields a client sends
# wiped on create and kept on update, unconditional PUT, create-on-PUT for Services and Endpoints.
. "$(dirname "$0")/lib.sh"

# Metadata without managedFields: upstream tracks what a create sent before PrepareForCreate
# wipes system fields, so f:deletionTimestamp may legitimately be named there.
without_managed_fields() {
    $PY -S -c 'import json, sys; m = json.load(sys.stdin); m.pop("managedFields", None); print(json.dumps(m))'
}
. "$(dirname "$0")/helpers.sh"
start_server

UUID4='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
RFC3339='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
SVCS=/api/v1/namespaces/default/services
svc_body() { printf '{"metadata":{"name":"%s"%s},"spec":{"ports":[{"port":80}]}}' "$1" "${2:+,$2}"; }

t_uid_and_timestamp() {
    local before after uid ts seen=""
    before=$(date -u +%s)
    for n in u1 u2 u3; do
        req POST $SVCS "$(svc_body $n)"
        expect_status 201 "create $n"
        uid=$(jq_get .metadata.uid)
        [[ $uid =~ $UUID4 ]] || fail "uid $uid is not a version 4 UUID"
        case " $seen " in *" $uid "*) fail "uid $uid given twice" ;; esac
        seen="$seen $uid"
        ts=$(jq_get .metadata.creationTimestamp)
        [[ $ts =~ $RFC3339 ]] || fail "creationTimestamp $ts is not RFC 3339 UTC with seconds"
        after=$(date -u +%s)
        t=$(date -u -d "$ts" +%s) || fail "cannot read $ts"
        [ "$t" -ge $((before - 1)) ] && [ "$t" -le $((after + 1)) ] ||
            fail "creationTimestamp $ts is not now (UTC)"
        # a GET answers the same metadata
        req GET $SVCS/$n
        jq_is .metadata.uid "\"$uid\""
        jq_is .metadata.creationTimestamp "\"$ts\""
    done
    req POST /api/v1/namespaces/default/endpoints '{"metadata":{"name":"u1"}}'
    uid=$(jq_get .metadata.uid)
    [[ $uid =~ $UUID4 ]] || fail "endpoints uid $uid"
    req POST /api/v1/namespaces '{"metadata":{"name":"uid-ns"}}'
    uid=$(jq_get .metadata.uid)
    [[ $uid =~ $UUID4 ]] || fail "namespace uid $uid"
}

# One counter for every kind, bumped by every write (deletes included), like an etcd revision;
# a list reports the counter at the time of the read.
t_global_resource_version() {
    local rvs=() last list_rv
    rv_of_last() { jq_get .metadata.resourceVersion; }
    req POST /api/v1/namespaces '{"metadata":{"name":"rv-ns"}}'; expect_status 201; rvs+=("$(rv_of_last)")
    req POST /api/v1/namespaces/rv-ns/services "$(svc_body a)"; expect_status 201; rvs+=("$(rv_of_last)")
    req POST /api/v1/namespaces/rv-ns/endpoints '{"metadata":{"name":"a"}}'; expect_status 201; rvs+=("$(rv_of_last)")
    req POST /api/v1/namespaces/default/endpoints '{"metadata":{"name":"rv-b"}}'; expect_status 201; rvs+=("$(rv_of_last)")
    req PUT /api/v1/namespaces/rv-ns/services/a "$(svc_body a '"labels":{"x":"y"}')"; expect_status 200; rvs+=("$(rv_of_last)")
    req PUT /api/v1/namespaces/rv-ns '{"metadata":{"name":"rv-ns","labels":{"x":"y"}}}'; expect_status 200; rvs+=("$(rv_of_last)")
    last=0
    for rv in "${rvs[@]}"; do
        [[ $rv =~ ^[1-9][0-9]*$ ]] || fail "resourceVersion '$rv' is not a decimal counter"
        [ "$rv" -gt "$last" ] || fail "resourceVersions not strictly increasing across kinds: ${rvs[*]}"
        last=$rv
    done
    # every list, of any kind, reports the same current counter: the last write
    for p in /api/v1/services /api/v1/namespaces/rv-ns/endpoints /api/v1/namespaces \
        /apis/apps/v1/replicasets /apis/discovery.k8s.io/v1/endpointslices; do
        req GET $p
        expect_status 200 "$p"
        list_rv=$(jq_get .metadata.resourceVersion)
        [ "$list_rv" = "$last" ] || fail "list $p reports resourceVersion $list_rv, the last write was $last"
    done
    # a delete is a write too
    req DELETE /api/v1/namespaces/default/endpoints/rv-b
    expect_status 200
    req GET /api/v1/endpoints
    list_rv=$(jq_get .metadata.resourceVersion)
    [ "$list_rv" -gt "$last" ] || fail "the delete did not move the counter ($list_rv after $last)"
    # an unchanged object keeps its resourceVersion in the list
    req GET /api/v1/namespaces/rv-ns/endpoints
    jq_is '.items[0].metadata.resourceVersion' "\"${rvs[2]}\""
}

# Name = prefix (cut to 58 characters) + 5 characters from apimachinery's rand alphabet.
t_generate_name() {
    local name long
    req POST $SVCS '{"metadata":{"generateName":"web-"},"spec":{"ports":[{"port":80}]}}'
    expect_status 201
    name=$(jq_get .metadata.name)
    [[ $name =~ ^web-[bcdfghjklmnpqrstvwxz2456789]{5}$ ]] || fail "generated name $name"
    jq_is .metadata.generateName '"web-"'
    req GET $SVCS/$name
    expect_status 200 "the generated name is the object's name"
    long=$(printf 'a%.0s' $(seq 61))-
    req POST $SVCS "{\"metadata\":{\"generateName\":\"$long\"},\"spec\":{\"ports\":[{\"port\":80}]}}"
    expect_status 201
    name=$(jq_get .metadata.name)
    [[ $name =~ ^a{58}[bcdfghjklmnpqrstvwxz2456789]{5}$ ]] || fail "long prefix: generated name $name"
    req POST /api/v1/namespaces/default/endpoints '{"metadata":{"generateName":"ep-"}}'
    expect_status 201
    name=$(jq_get .metadata.name)
    [[ $name =~ ^ep-[bcdfghjklmnpqrstvwxz2456789]{5}$ ]] || fail "endpoints generated name $name"
    req POST /api/v1/namespaces '{"metadata":{"generateName":"ns-"}}'
    expect_status 201
    name=$(jq_get .metadata.name)
    [[ $name =~ ^ns-[bcdfghjklmnpqrstvwxz2456789]{5}$ ]] || fail "namespace generated name $name"
    jq_is '.metadata.labels["kubernetes.io/metadata.name"]' "\"$name\""
    # a name given with generateName wins
    req POST $SVCS '{"metadata":{"name":"named","generateName":"web-"},"spec":{"ports":[{"port":80}]}}'
    expect_status 201
    jq_is .metadata.name '"named"'
    # twenty in a row, all distinct
    local i names
    names=$(for i in $(seq 1 20); do
        curl -s -X POST -H 'Content-Type: application/json' --data-binary '{"metadata":{"generateName":"many-"}}' \
            "$URL/api/v1/namespaces/default/endpoints" | grep -o '"name":"many-[a-z0-9]*"'
    done | sort -u | wc -l)
    [ "$names" = 20 ] || fail "20 generated names: $names distinct"
}

# rest.WipeObjectMetaSystemFields on create: creationTimestamp, uid, deletionTimestamp,
# deletionGracePeriodSeconds and selfLink from the client are dropped.
t_system_fields_wiped() {
    local sys='"uid":"11111111-1111-4111-8111-111111111111","creationTimestamp":"2001-02-03T04:05:06Z","selfLink":"/api/v1/x","deletionTimestamp":"2001-02-03T04:05:06Z","deletionGracePeriodSeconds":30'
    req POST $SVCS "$(svc_body wiped "$sys")"
    expect_status 201
    $PY -S - "$BODY_FILE" <<'EOF' || fail "system fields kept"
import json, sys
m = json.load(open(sys.argv[1]))["metadata"]
bad = [k for k in ("selfLink", "deletionTimestamp", "deletionGracePeriodSeconds") if k in m]
bad += [k for k, v in (("uid", "11111111-1111-4111-8111-111111111111"),
                       ("creationTimestamp", "2001-02-03T04:05:06Z")) if m.get(k) == v]
if bad:
    print("kept: %s in %s" % (bad, m), file=sys.stderr)
    sys.exit(1)
EOF
    req GET $SVCS/wiped
    jq_get .metadata.uid | grep -qv 11111111 || fail "stored uid is the client's"
    req POST /api/v1/namespaces/default/endpoints "{\"metadata\":{\"name\":\"wiped\",$sys}}"
    expect_status 201
    jq_get .metadata | without_managed_fields | grep -q '11111111\|2001-02-03\|selfLink\|deletion' && fail "endpoints kept system fields"
    req POST /api/v1/namespaces "{\"metadata\":{\"name\":\"wiped\",$sys}}"
    expect_status 201
    jq_get .metadata | without_managed_fields | grep -q '11111111\|2001-02-03\|selfLink\|deletion' && fail "namespace kept system fields"
    return 0
}

# Update without metadata.resourceVersion overwrites; uid and creationTimestamp stay those of
# the stored object (an empty uid is filled, a sent creationTimestamp ignored).
t_unconditional_update() {
    local uid ts rv
    req POST $SVCS "$(svc_body plain)"
    expect_status 201
    uid=$(jq_get .metadata.uid); ts=$(jq_get .metadata.creationTimestamp); rv=$(jq_get .metadata.resourceVersion)
    req PUT $SVCS/plain "$(svc_body plain '"labels":{"v":"2"},"creationTimestamp":"2001-02-03T04:05:06Z"')"
    expect_status 200 "update without resourceVersion"
    jq_is .metadata.labels '{"v":"2"}'
    jq_is .metadata.uid "\"$uid\""
    jq_is .metadata.creationTimestamp "\"$ts\""
    [ "$(jq_get .metadata.resourceVersion)" -gt "$rv" ] || fail "the update did not move the resourceVersion"
    # with the current resourceVersion it is conditional and succeeds
    rv=$(jq_get .metadata.resourceVersion)
    req PUT $SVCS/plain "$(svc_body plain "\"resourceVersion\":\"$rv\",\"labels\":{\"v\":\"3\"}")"
    expect_status 200 "update with the current resourceVersion"
    jq_is .metadata.labels '{"v":"3"}'
    req POST /api/v1/namespaces/default/endpoints '{"metadata":{"name":"plain"}}'
    expect_status 201
    req PUT /api/v1/namespaces/default/endpoints/plain '{"metadata":{"name":"plain","labels":{"v":"2"}},"subsets":[{"addresses":[{"ip":"10.1.2.3"}]}]}'
    expect_status 200 "endpoints update without resourceVersion"
    jq_is .subsets '[{"addresses":[{"ip":"10.1.2.3"}]}]'
    req PUT /api/v1/namespaces/default '{"metadata":{"name":"default","labels":{"kubernetes.io/metadata.name":"default","team":"x"}}}'
    expect_status 200 "namespace update without resourceVersion"
    jq_is .metadata.labels.team '"x"'
    jq_is .status.phase '"Active"'
}

# Services and Endpoints allow create-on-update (AllowCreateOnUpdate): 201 with a fresh object.
t_create_on_put() {
    req PUT $SVCS/byput "$(svc_body byput)"
    expect_status 201 "PUT creates a Service"
    jq_is .kind '"Service"'
    jq_is .metadata.name '"byput"'
    [[ $(jq_get .metadata.uid) =~ $UUID4 ]] || fail "uid"
    req PUT /api/v1/namespaces/default/endpoints/byput '{"metadata":{"name":"byput"},"subsets":[{"addresses":[{"ip":"10.0.0.9"}],"ports":[{"port":53,"protocol":"UDP"}]}]}'
    expect_status 201 "PUT creates Endpoints"
    jq_is .subsets '[{"addresses":[{"ip":"10.0.0.9"}],"ports":[{"port":53,"protocol":"UDP"}]}]'
    req GET /api/v1/namespaces/default/endpoints/byput
    expect_status 200
    # the second PUT updates
    req PUT $SVCS/byput "$(svc_body byput '"labels":{"a":"b"}')"
    expect_status 200 "second PUT updates"
}

run_case uid_and_creation_timestamp t_uid_and_timestamp
run_case global_resource_version t_global_resource_version
run_case generate_name t_generate_name
run_case system_fields_wiped_on_create t_system_fields_wiped
run_case unconditional_update t_unconditional_update
run_case create_on_put t_create_on_put
finish metadata
