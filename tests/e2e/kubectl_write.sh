#!/usr/bin/env bash
# Real kubectl, every version on the machine (issue 4), writing: `create namespace` and the four
# `create service` generators (which kubectl 1.32+ sends as Kubernetes protobuf), `create -f`
# and `apply -f` with the default validation (OpenAPI v2 for 1.27/1.28, v3 after; the server
# checks fieldValidation=Strict and refuses an unknown field with upstream's 400, and warns of
# it with --validate=warn), a second apply that is unchanged and a third that configures,
# `expose rs` and `expose svc`, `label` and `annotate`, then `delete` of Services, a ReplicaSet
# and the namespace, each waiting until the object is gone. Each kubectl works in a namespace of
# its own; the expected outputs are what a real 1.33 cluster makes it print.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helpers.sh"
. "$DATA/e2e/kubectl/lib.sh"
start_server --load-balancer-ip-range "$LB_RANGE"

N=0

# the Services of the namespace are ready to be listed: the LoadBalancer has its address and
# the exposed Services their endpoints
ns_ready() {
    curl -s "$URL/api/v1/namespaces/$NS/services/lb" | grep -q '"ingress"' &&
        curl -s "$URL/api/v1/namespaces/$NS/endpoints/rs-exposed" | grep -q '"addresses"'
}

# gone PATH...: each object is gone once kubectl delete has returned (it waits for that)
gone() {
    local p
    for p in "$@"; do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL$p")" = 404 ] ||
            kfail "$p still exists after the delete returned"
    done
}

v_write() {
    N=$((N + 1))
    NS=w$N
    local f=$KDATA/svc-unknown-field.yml

    kc_ok create namespace "$NS" && expect_out "namespace/$NS created"
    expect_no_err
    kc_ok create -f "$KDATA/rs.yml" -n "$NS" && expect_out 'replicaset.apps/my-replicaset created'
    expect_no_err
    kc_ok apply -f "$KDATA/svc-clusterip.yml" -n "$NS" && expect_out 'service/rs-service created'
    expect_no_err
    kc_ok apply -f "$KDATA/svc-clusterip.yml" -n "$NS" && expect_out 'service/rs-service unchanged'
    kc_ok apply -f "$KDATA/svc-clusterip-v2.yml" -n "$NS" &&
        expect_out 'service/rs-service configured'
    expect_no_err
    kc create -f "$f" -n "$NS" && kfail "an unknown field was accepted"
    expect_err "Error from server (BadRequest): error when creating \"$f\": Service in version\
 \"v1\" cannot be handled as a Service: strict decoding error: unknown field \"spec.bogusField\""
    # fieldValidation=Warn: created, the unknown field dropped, its name in a Warning header
    kc_ok create -f "$f" -n "$NS" --validate=warn && expect_out 'service/unknown-field created'
    expect_err 'Warning: unknown field "spec.bogusField"'

    kc_ok create service clusterip cip --tcp=80:8080 -n "$NS" && expect_out 'service/cip created'
    kc_ok create service nodeport np --tcp=80:8080 -n "$NS" && expect_out 'service/np created'
    kc_ok create service loadbalancer lb --tcp=80:8080 -n "$NS" && expect_out 'service/lb created'
    kc_ok create service externalname ext --external-name example.com -n "$NS" &&
        expect_out 'service/ext created'
    expect_no_err

    kc_ok label svc rs-service env=prod -n "$NS" && expect_out 'service/rs-service labeled'
    kc_ok annotate svc rs-service note=hello -n "$NS"
    # kubectl 1.27 names the operation "annotate" (its PrintFlags, fixed in 1.28)
    if [ "$KMINOR" = 27 ]; then
        expect_out 'service/rs-service annotate'
    else
        expect_out 'service/rs-service annotated'
    fi
    kc_ok expose rs my-replicaset --port 80 --name rs-exposed -n "$NS" &&
        expect_out 'service/rs-exposed exposed'
    kc_ok expose svc rs-service --name rs-service-2 --port 8080 --target-port 80 -n "$NS" &&
        expect_out 'service/rs-service-2 exposed'
    expect_no_err

    wait_until 10 ns_ready || kfail "the namespace's Services never became ready"
    kc_ok get svc -o wide --show-labels -n "$NS" && expect_table write_svc.tbl "${LB[@]}"
    kc_ok get svc rs-service -o yaml -n "$NS" && expect_text write_rs_service_yaml.txt -D "NS=$NS"

    # delete waits until the objects are gone (a GET answering 404, or a watch)
    kc_ok delete svc cip lb np ext -n "$NS" && expect_out 'service "cip" deleted
service "lb" deleted
service "np" deleted
service "ext" deleted'
    expect_no_err
    gone "/api/v1/namespaces/$NS/services/cip" "/api/v1/namespaces/$NS/services/lb" \
        "/api/v1/namespaces/$NS/services/np" "/api/v1/namespaces/$NS/services/ext"
    kc_ok delete -f "$KDATA/rs.yml" -n "$NS" && expect_out 'replicaset.apps "my-replicaset" deleted'
    gone "/apis/apps/v1/namespaces/$NS/replicasets/my-replicaset"
    kc_ok delete namespace "$NS" && expect_out "namespace \"$NS\" deleted"
    expect_no_err
    gone "/api/v1/namespaces/$NS"
}
t_write() { for_each_kubectl v_write; case_done; }

run_case write t_write
finish kubectl_write
