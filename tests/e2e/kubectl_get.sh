#!/usr/bin/env bash
# Real kubectl, every version on the machine (issue 4): `kubectl get` in its forms against the
# tutorial's workload (a ReplicaSet of three pods and Services of every type): tables of lists
# and of single objects, wide,
# --show-labels, -L, --sort-by, -o yaml|json|name|jsonpath|custom-columns, `get all`,
# `get svc,ep` (with the 1.33 Endpoints Warning on stderr), EndpointSlices, Events with field
# selectors, Nodes, Pods and ReplicaSets. The expected outputs are in tests/data/e2e/kubectl/:
# what a real kube-apiserver 1.33 makes each kubectl print, with ages, addresses, uids and
# random name suffixes matched by pattern and the column layout checked exactly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helpers.sh"
. "$DATA/e2e/kubectl/lib.sh"
start_server --load-balancer-ip-range "$LB_RANGE"
create_workload

JSONPATH='jsonpath={range .items[*]}{.metadata.name}{"\t"}{.spec.clusterIPs[0]}{"\t"}'
JSONPATH+='{.spec.ports[*].nodePort}{"\n"}{end}'
COLUMNS='custom-columns=NAME:.metadata.name,TYPE:.spec.type,PORTS:.spec.ports[*].port,'
COLUMNS+='APP:.metadata.labels.app'

v_services() {
    kc_ok get svc && expect_table get_svc.tbl "${LB[@]}"
    expect_no_err
    kc_ok get svc -o wide --sort-by=.spec.type &&
        expect_table get_svc_wide_sort_by_type.tbl "${LB[@]}"
    kc_ok get services --show-labels -L app -L component &&
        expect_table get_svc_show_labels.tbl "${LB[@]}"
    # two single GETs, each answered with a one-row Table, printed as one table
    kc_ok get svc rs-service-nodeport rs-service-loadbalancer && expect_table - "${LB[@]}" <<'EOF'
NAME | TYPE | CLUSTER-IP | EXTERNAL-IP | PORT(S) | AGE
rs-service-nodeport | NodePort | {{CIP}} | <none> | 80:30256/TCP | {{AGE}}
rs-service-loadbalancer | LoadBalancer | {{CIP}} | {{LBIP}} | 80:30056/TCP | {{AGE}}
EOF
    expect_no_err
}
t_services() { for_each_kubectl v_services; case_done; }

v_output_formats() {
    kc_ok get svc rs-service -o yaml && expect_text get_svc_clusterip_yaml.txt
    kc_ok get svc rs-service-loadbalancer -o json &&
        expect_text get_svc_loadbalancer_json.txt "${LB[@]}"
    kc_ok get svc -o name && expect_text get_svc_name.txt
    kc_ok get svc -o "$JSONPATH" && expect_text get_svc_jsonpath.txt
    kc_ok get svc -o "$COLUMNS" && expect_table get_svc_custom_columns.tbl
    expect_no_err
}
t_output_formats() { for_each_kubectl v_output_formats; case_done; }

v_several_kinds() {
    kc_ok get all && expect_table get_all.tbl "${LB[@]}"
    expect_no_err
    kc_ok get svc,ep && expect_table get_svc_ep.tbl "${LB[@]}"
    expect_err "$EP_WARNING"
    kc_ok get endpointslices && expect_table get_endpointslices.tbl
    expect_no_err
}
t_several_kinds() { for_each_kubectl v_several_kinds; case_done; }

v_events() {
    kc_ok get events --field-selector involvedObject.kind=ReplicaSet,type=Normal &&
        expect_table events_replicaset.tbl
    kc_ok get ev -o wide \
        --field-selector involvedObject.name=rs-service-loadbalancer,involvedObject.kind=Service &&
        expect_table events_loadbalancer_wide.tbl
    expect_no_err
    kc_ok get events --field-selector type=Warning
    [ -s "$WORK/kout" ] && kfail "printed $(cat "$WORK/kout")"
    expect_err 'No resources found in default namespace.'
}
t_events() { for_each_kubectl v_events; case_done; }

v_workloads() {
    kc_ok get nodes -o wide && expect_table get_nodes_wide.tbl
    kc_ok get pods -o wide && expect_table get_pods_wide.tbl
    kc_ok get rs -o wide && expect_table get_rs_wide.tbl
    expect_no_err
}
t_workloads() { for_each_kubectl v_workloads; case_done; }

run_case services t_services
run_case output_formats t_output_formats
run_case several_kinds t_several_kinds
run_case events t_events
run_case workloads t_workloads
finish kubectl_get
