#!/usr/bin/env bash
# Real kubectl, every version on the machine (issue 4): `kubectl describe` of the tutorial's
# Services (ClusterIP, headless, NodePort, LoadBalancer, two ports, ExternalName and the
# kubernetes Service), with their endpoints read from v1 Endpoints by kubectl 1.27-1.30 (whose
# requests get the 1.33 Warning) and from EndpointSlices by 1.31+; of the ReplicaSet, one of its
# pods and the node, each with the Events found by the involvedObject.* field selector. The
# expected outputs in tests/data/e2e/kubectl/ are what a real 1.33 cluster makes each kubectl
# print; describe's own column layout is checked exactly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helpers.sh"
. "$DATA/e2e/kubectl/lib.sh"
start_server --load-balancer-ip-range "$LB_RANGE"
create_workload

req GET /api/v1/namespaces/default/pods
POD=$(pyq 'sorted(i["metadata"]["name"] for i in b["items"])[0]')

v_services() {
    kc_ok describe svc && expect_text describe_svc.txt "${LB[@]}"
    # describe reads v1 Endpoints only before 1.31; kubectl prints each warning once
    if [ "$KMINOR" -le 30 ]; then
        expect_err "$EP_WARNING"
    else
        expect_no_err
    fi
}
t_services() { for_each_kubectl v_services; case_done; }

v_workloads() {
    kc_ok describe rs my-replicaset && expect_text describe_rs.txt
    expect_no_err
    kc_ok describe pod "$POD" && expect_text describe_pod.txt -D "POD=$POD"
    expect_no_err
    kc_ok describe node node-1 && expect_text describe_node.txt
    expect_no_err
}
t_workloads() { for_each_kubectl v_workloads; case_done; }

# A name that does not exist: describe lists the Services to find ones starting with it, finds
# none and reports the first lookup's NotFound (describe.go: prefix search).
v_missing() {
    kc describe svc nonexist && kfail "succeeded"
    expect_err 'Error from server (NotFound): services "nonexist" not found'
    [ -s "$WORK/kout" ] && kfail "printed $(cat "$WORK/kout")"
    return 0
}
t_missing() { for_each_kubectl v_missing; case_done; }

run_case describe_services t_services
run_case describe_workloads t_workloads
run_case describe_missing t_missing
finish kubectl_describe
