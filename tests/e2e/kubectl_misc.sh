#!/usr/bin/env bash
# Real kubectl, every version on the machine (issue 4): `version`, `cluster-info`,
# `api-versions`, `api-resources` (the rows of our kinds, also -o wide with verbs and
# categories), `explain service.spec.ports` and `explain endpoints.subsets` from the OpenAPI v3
# documents, and the Warning kube-apiserver 1.33 sends on every v1 Endpoints request, which
# kubectl prints on stderr whatever its version. The expected outputs are in
# tests/data/e2e/kubectl/ and are what a real 1.33 cluster makes each kubectl print.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helpers.sh"
. "$DATA/e2e/kubectl/lib.sh"
start_server

v_version() {
    kc_ok version && expect_text version.txt
    expect_err_text version_err.txt
    kc_ok version -o json && expect_text version_json.txt
}
t_version() { for_each_kubectl v_version; case_done; }

v_cluster_info() {
    kc_ok cluster-info && expect_text cluster_info.txt
    expect_no_err
}
t_cluster_info() { for_each_kubectl v_cluster_info; case_done; }

v_api() {
    # a real cluster serves more groups; ours are there, in kubectl's order (sort.Strings)
    if kc_ok api-versions; then
        LC_ALL=C sort -c "$WORK/kout" 2>/dev/null || kfail "not sorted: $(cat "$WORK/kout")"
        grep -xE 'apps/v1|discovery\.k8s\.io/v1|v1' "$WORK/kout" >"$WORK/kout.ours"
        mv "$WORK/kout.ours" "$WORK/kout"
        expect_text api_versions.txt
    fi
    expect_no_err
    kc_ok api-resources && expect_table api_resources.tbl
    expect_no_err
    kc_ok api-resources -o wide && expect_table api_resources_wide.tbl
    expect_no_err
}
t_api() { for_each_kubectl v_api; case_done; }

v_explain() {
    kc_ok explain service.spec.ports && expect_text explain_service_spec_ports.txt
    expect_no_err
    kc_ok explain endpoints.subsets && expect_text explain_endpoints_subsets.txt
    expect_no_err
}
t_explain() { for_each_kubectl v_explain; case_done; }

# Every verb on v1 Endpoints carries the 1.33 deprecation Warning (KEP-4974); kubectl prints
# each distinct warning once on stderr, and nothing for the EndpointSlice the advice names: the
# one the apiserver keeps for the kubernetes Service beside its Endpoints (named "kubernetes",
# pkg/controlplane/reconcilers/endpointsadapter.go).
v_endpoints_warning() {
    kc_ok get endpoints kubernetes && expect_table - <<'EOF'
NAME | ENDPOINTS | AGE
kubernetes | 127.0.0.1:{{PORT}} | {{AGE}}
EOF
    expect_err "$EP_WARNING"
    kc_ok get ep -o name && expect_out endpoints/kubernetes
    expect_err "$EP_WARNING"
    kc_ok get endpointslices -l kubernetes.io/service-name=kubernetes -o name &&
        expect_out endpointslice.discovery.k8s.io/kubernetes
    expect_no_err
}
t_endpoints_warning() { for_each_kubectl v_endpoints_warning; case_done; }

run_case version t_version
run_case cluster_info t_cluster_info
run_case api_versions_and_resources t_api
run_case explain t_explain
run_case endpoints_warning t_endpoints_warning
finish kubectl_misc
