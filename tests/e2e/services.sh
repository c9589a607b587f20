#!/usr/bin/env bash
# Service admission end to end (issue 3): the tutorial's Services created with curl come back
# exactly defaulted, allocation errors are upstream's 422s, type transitions release what they
# should (seen through /metrics), concurrent creates never share an address or a port, and
# kubectl prints an invalid Service's causes as on a real cluster.
. "$(dirname "$0")/lib.sh"
start_server
E=$DATA/e2e/services
ns=/api/v1/namespaces/default/services

gauge() { # gauge NAME: the value of a /metrics gauge (summed over labels)
    curl -s "$URL/metrics" | awk -v n="$1" '$1 ~ "^"n"([{]|$)" {s += $2} END {print s + 0}'
}

create() { req POST "$ns" "$1"; }

create '{"apiVersion":"v1","kind":"Service","metadata":{"name":"rs-service"},"spec":{"ports":[{"protocol":"TCP","port":80,"targetPort":80}],"selector":{"app":"my-pod"}}}'
expect_status 201 "ClusterIP"
expect_body_matches "$E/clusterip.json"
create '{"metadata":{"name":"multi"},"spec":{"ports":[{"name":"server-main","protocol":"TCP","port":80,"targetPort":80},{"name":"server-logs","protocol":"TCP","port":25,"targetPort":25}],"selector":{"app":"my-pod"}}}'
expect_status 201 "multiport"
expect_body_matches "$E/multiport.json"
create '{"metadata":{"name":"rs-service-headless"},"spec":{"clusterIP":"None","ports":[{"protocol":"TCP","port":80,"targetPort":80}],"selector":{"app":"my-pod"}}}'
expect_status 201 "headless"
expect_body_matches "$E/headless.json"
create '{"metadata":{"name":"rs-service-nodeport"},"spec":{"type":"NodePort","ports":[{"protocol":"TCP","port":80,"targetPort":80,"nodePort":30256}],"selector":{"app":"my-pod"}}}'
expect_status 201 "NodePort"
expect_body_matches "$E/nodeport.json"
create '{"metadata":{"name":"rs-service-loadbalancer"},"spec":{"type":"LoadBalancer","ports":[{"protocol":"TCP","port":80,"targetPort":80,"nodePort":30056}],"selector":{"app":"my-pod"}}}'
expect_status 201 "LoadBalancer"
expect_body_matches "$E/loadbalancer.json"
pass "the tutorial's Services come back defaulted"

# The ClusterIP of the first Service, in the dynamic band of 10.96.0.0/12 (above 10.96.1.0).
req GET $ns/rs-service
ip=$(jq_get .spec.clusterIP)
/usr/bin/python3 -c "import ipaddress,sys; a=ipaddress.ip_address('$ip'); sys.exit(0 if ipaddress.ip_address('10.96.1.0') < a < ipaddress.ip_address('10.111.255.255') else 1)" ||
    fail "ClusterIP $ip is not in the dynamic band of 10.96.0.0/12"

before_ips=$(gauge kube_apiserver_clusterip_allocator_allocated_ips)
before_ports=$(gauge kube_apiserver_nodeport_allocator_allocated_ports)
create '{"metadata":{"name":"np-clash"},"spec":{"type":"NodePort","ports":[{"protocol":"TCP","port":80,"targetPort":80,"nodePort":30256}],"selector":{"app":"my-pod"}}}'
expect_status 422 "nodePort clash"
expect_body_matches "$E/nodeport_clash.json"
create '{"metadata":{"name":"np-range"},"spec":{"type":"NodePort","ports":[{"protocol":"TCP","port":80,"targetPort":80,"nodePort":8888}],"selector":{"app":"my-pod"}}}'
expect_status 422 "nodePort out of range"
expect_body_matches "$E/nodeport_range.json"
[ "$(gauge kube_apiserver_clusterip_allocator_allocated_ips)" = "$before_ips" ] ||
    fail "a refused create leaked a ClusterIP"
[ "$(gauge kube_apiserver_nodeport_allocator_allocated_ports)" = "$before_ports" ] ||
    fail "a refused create leaked a nodePort"
pass "allocation errors are upstream's and leak nothing"

# Type transitions: NodePort -> ClusterIP releases the nodePort; -> ExternalName the address.
ports0=$(gauge kube_apiserver_nodeport_allocator_allocated_ports)
ips0=$(gauge kube_apiserver_clusterip_allocator_allocated_ips)
req PUT $ns/rs-service-nodeport '{"metadata":{"name":"rs-service-nodeport"},"spec":{"type":"ClusterIP","ports":[{"protocol":"TCP","port":80,"targetPort":80}],"selector":{"app":"my-pod"}}}'
expect_status 200 "NodePort to ClusterIP"
jq_is '.spec.ports[0]' '{"protocol":"TCP","port":80,"targetPort":80}'
[ "$(gauge kube_apiserver_nodeport_allocator_allocated_ports)" = "$((ports0 - 1))" ] ||
    fail "NodePort to ClusterIP kept its nodePort"
req PUT $ns/rs-service-nodeport '{"metadata":{"name":"rs-service-nodeport"},"spec":{"type":"ExternalName","externalName":"db.example.com"}}'
expect_status 200 "ClusterIP to ExternalName"
jq_is '.spec' '{"type":"ExternalName","sessionAffinity":"None","externalName":"db.example.com"}'
[ "$(gauge kube_apiserver_clusterip_allocator_allocated_ips)" = "$((ips0 - 1))" ] ||
    fail "ClusterIP to ExternalName kept its address"
req PUT $ns/rs-service-nodeport '{"metadata":{"name":"rs-service-nodeport"},"spec":{"type":"NodePort","ports":[{"port":80}],"selector":{"app":"my-pod"}}}'
expect_status 200 "ExternalName to NodePort"
[ "$(gauge kube_apiserver_clusterip_allocator_allocated_ips)" = "$ips0" ] ||
    fail "ExternalName to NodePort did not allocate an address"
[ "$(gauge kube_apiserver_nodeport_allocator_allocated_ports)" = "$ports0" ] ||
    fail "ExternalName to NodePort did not allocate a nodePort"
req DELETE $ns/rs-service-nodeport
expect_status 200
[ "$(gauge kube_apiserver_nodeport_allocator_allocated_ports)" = "$((ports0 - 1))" ] &&
    [ "$(gauge kube_apiserver_clusterip_allocator_allocated_ips)" = "$((ips0 - 1))" ] ||
    fail "delete did not release"
pass "type transitions and delete release what they should"

# 8 concurrent clients creating 2000 Services of mixed types.
ips_start=$(gauge kube_apiserver_clusterip_allocator_allocated_ips)
ports_start=$(gauge kube_apiserver_nodeport_allocator_allocated_ports)
req POST /api/v1/namespaces '{"metadata":{"name":"load"}}'
clients=()
for c in $(seq 0 7); do
    (
        for i in $(seq 0 249); do
            n=$((c * 250 + i))
            case $((n % 3)) in
            0) t='"type":"ClusterIP"' ;;
            1) t='"type":"NodePort"' ;;
            2) t='"type":"LoadBalancer"' ;;
            esac
            curl -s -o /dev/null -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' \
                "$URL/api/v1/namespaces/load/services" \
                -d "{\"metadata\":{\"name\":\"s$n\"},\"spec\":{$t,\"ports\":[{\"name\":\"a\",\"port\":80},{\"name\":\"b\",\"port\":81}]}}"
        done >"$WORK/client$c"
    ) &
    clients+=($!)
done
wait "${clients[@]}" # not the server: it is a background job of this shell too
codes=$(cat "$WORK"/client* | sort | uniq -c | tr -s ' ')
[ "$(cat "$WORK"/client* | grep -c '^201$')" = 2000 ] || fail "not every create succeeded: $codes"
req GET /api/v1/namespaces/load/services
$PY - "$BODY_FILE" <<'PYEOF' || fail "duplicates among 2000 concurrent creates"
import json, sys
items = json.load(open(sys.argv[1]))["items"]
assert len(items) == 2000, len(items)
ips = [i["spec"]["clusterIP"] for i in items]
ports = [p["nodePort"] for i in items for p in i["spec"]["ports"] if "nodePort" in p]
assert len(set(ips)) == len(ips), "duplicate ClusterIP"
assert len(set(ports)) == len(ports), "duplicate nodePort"
assert len(ports) == 2 * 1333, len(ports)
PYEOF
[ "$(gauge kube_apiserver_clusterip_allocator_allocated_ips)" = "$((ips_start + 2000))" ] ||
    fail "the address gauge does not count 2000 new Services"
req DELETE "/api/v1/namespaces/load/services"
expect_status 200 "deletecollection"
[ "$(gauge kube_apiserver_clusterip_allocator_allocated_ips)" = "$ips_start" ] ||
    fail "addresses not all released: $(gauge kube_apiserver_clusterip_allocator_allocated_ips) vs $ips_start"
[ "$(gauge kube_apiserver_nodeport_allocator_allocated_ports)" = "$ports_start" ] ||
    fail "nodePorts not all released"
pass "2000 concurrent creates: no duplicate, and the gauges return to the start"

# kubectl prints one "* field: message" line per cause.
if command -v kubectl >/dev/null 2>&1; then
    cat >"$WORK/bad.yml" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: bad
spec:
  ports:
  - port: 80
  - port: 0
YAML
    out=$(kubectl -s "$URL" --cache-dir "$WORK/kc" create -f "$WORK/bad.yml" --validate=false 2>&1)
    expected='The Service "bad" is invalid: 
* spec.ports[0].name: Required value
* spec.ports[1].name: Required value
* spec.ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive
* spec.ports[1].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive'
    [ "$out" = "$expected" ] || fail "kubectl printed:
$out
expected:
$expected"
    pass "kubectl prints the causes of an invalid Service"
fi
pass services
