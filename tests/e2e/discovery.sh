#!/usr/bin/env bash
# Discovery (/version, /api, /apis, group versions; aggregated discovery only when asked, in the
# version asked), health endpoints, and what exists at start: the kubernetes Service and its
# Endpoints, following --service-cluster-ip-range and --advertise-address.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helpers.sh"
start_server

VERBS8='["create","delete","deletecollection","get","list","patch","update","watch"]'
AGG_V2='application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList'
AGG_V2BETA1='application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList'
# what kubectl 1.30+ and 1.27-1.29 send to /api and /apis
ACCEPT_133="$AGG_V2,$AGG_V2BETA1,application/json"
ACCEPT_127="$AGG_V2BETA1,application/json"

t_version() {
    req GET /version
    expect_status 200
    expect_header Content-Type application/json
    [ "$(pyq 'list(b.keys())')" = '["major","minor","emulationMajor","emulationMinor","minCompatibilityMajor","minCompatibilityMinor","gitVersion","gitCommit","gitTreeState","buildDate","goVersion","compiler","platform"]' ] ||
        fail "version keys: $(pyq 'list(b.keys())')"
    jq_is .major '"1"'
    jq_is .minor '"33"'
    [[ $(jq_get .gitVersion) =~ ^v1\.33\.[0-9]+ ]] || fail "gitVersion $(jq_get .gitVersion)"
}

t_api() {
    req GET /api
    expect_status 200
    expect_header Content-Type application/json
    expect_json "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"],\"serverAddressByClientCIDRs\":[{\"clientCIDR\":\"0.0.0.0/0\",\"serverAddress\":\"127.0.0.1:$PORT\"}]}"
}

t_apis() {
    req GET /apis
    expect_status 200
    expect_header Content-Type application/json
    expect_json '{"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],"preferredVersion":{"groupVersion":"apps/v1","version":"v1"}},{"name":"coordination.k8s.io","versions":[{"groupVersion":"coordination.k8s.io/v1","version":"v1"}],"preferredVersion":{"groupVersion":"coordination.k8s.io/v1","version":"v1"}},{"name":"discovery.k8s.io","versions":[{"groupVersion":"discovery.k8s.io/v1","version":"v1"}],"preferredVersion":{"groupVersion":"discovery.k8s.io/v1","version":"v1"}}]}'
    req GET /apis/apps
    expect_status 200
    expect_json '{"kind":"APIGroup","apiVersion":"v1","name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],"preferredVersion":{"groupVersion":"apps/v1","version":"v1"}}'
}

# resource_is PLURAL JSON: that entry of the last APIResourceList, storageVersionHash aside
resource_is() {
    $PY -S - "$BODY_FILE" "$1" "$2" <<'EOF' || fail "discovery entry for $1"
import json, sys
from collections import OrderedDict as O
lst = json.load(open(sys.argv[1]), object_pairs_hook=O)
got = [r for r in lst["resources"] if r["name"] == sys.argv[2]]
want = json.loads(sys.argv[3], object_pairs_hook=O)
if len(got) != 1:
    print("%d entries named %s" % (len(got), sys.argv[2]), file=sys.stderr); sys.exit(1)
got = got[0]
got.pop("storageVersionHash", None)
if got != want:
    print("got:    " + json.dumps(got) + "\nwanted: " + json.dumps(want), file=sys.stderr)
    sys.exit(1)
EOF
}

t_api_v1() {
    req GET /api/v1
    expect_status 200
    expect_header Content-Type application/json
    jq_is .kind '"APIResourceList"'
    jq_is .groupVersion '"v1"'
    [ "$(pyq '" ".join(r["name"] for r in b["resources"])')" = \
        "endpoints events namespaces namespaces/finalize namespaces/status nodes nodes/status pods pods/status services services/status" ] ||
        fail "resources: $(pyq '" ".join(r["name"] for r in b["resources"])')"
    resource_is services "{\"name\":\"services\",\"singularName\":\"service\",\"namespaced\":true,\"kind\":\"Service\",\"verbs\":$VERBS8,\"shortNames\":[\"svc\"],\"categories\":[\"all\"]}"
    resource_is services/status '{"name":"services/status","singularName":"","namespaced":true,"kind":"Service","verbs":["get","patch","update"]}'
    resource_is endpoints "{\"name\":\"endpoints\",\"singularName\":\"endpoints\",\"namespaced\":true,\"kind\":\"Endpoints\",\"verbs\":$VERBS8,\"shortNames\":[\"ep\"]}"
    resource_is namespaces '{"name":"namespaces","singularName":"namespace","namespaced":false,"kind":"Namespace","verbs":["create","delete","get","list","patch","update","watch"],"shortNames":["ns"]}'
}

t_apps_v1() {
    req GET /apis/apps/v1
    expect_status 200
    jq_is .kind '"APIResourceList"'
    jq_is .apiVersion '"v1"'
    jq_is .groupVersion '"apps/v1"'
    resource_is replicasets "{\"name\":\"replicasets\",\"singularName\":\"replicaset\",\"namespaced\":true,\"kind\":\"ReplicaSet\",\"verbs\":$VERBS8,\"shortNames\":[\"rs\"],\"categories\":[\"all\"]}"
    req GET /apis/discovery.k8s.io/v1
    expect_status 200
    resource_is endpointslices "{\"name\":\"endpointslices\",\"singularName\":\"endpointslice\",\"namespaced\":true,\"kind\":\"EndpointSlice\",\"verbs\":$VERBS8}"
}

# Upstream puts discovery.StorageVersionHash(group, version, kind) on every resource (not on
# subresources): base64 of the first 8 bytes of sha256("<group>/<version>/<Kind>").
t_storage_version_hash() {
    req GET /api/v1
    $PY -S - "$BODY_FILE" <<'EOF' || fail "storageVersionHash"
import base64, hashlib, json, sys
ok = True
lst = json.load(open(sys.argv[1]))
gv = lst["groupVersion"]
gv = gv if "/" in gv else "/" + gv  # the core group is the empty string
for r in lst["resources"]:
    digest = hashlib.sha256(("%s/%s" % (gv, r["kind"])).encode()).digest()
    want = None if "/" in r["name"] else base64.b64encode(digest[:8]).decode()
    if r.get("storageVersionHash") != want:
        print("%s: storageVersionHash %r, wanted %r" % (r["name"], r.get("storageVersionHash"), want), file=sys.stderr)
        ok = False
sys.exit(0 if ok else 1)
EOF
    jq_is '.resources[?name=services].storageVersionHash' '"0/CO1lhkEBI="'
}

# Aggregated discovery, only when the Accept asks for it, in the version it asks for; the
# Content-Type carries the exact media type (client-go decides the format from it alone).
t_aggregated_v2() {
    req GET /api "" "" "$ACCEPT_133"
    expect_status 200
    expect_header Content-Type "$AGG_V2"
    jq_is .kind '"APIGroupDiscoveryList"'
    jq_is .apiVersion '"apidiscovery.k8s.io/v2"'
    jq_is .metadata '{}'
    [ "$(pyq 'len(b["items"])')" = 1 ] || fail "/api lists one group"
    jq_is '.items[0].versions[0].version' '"v1"'
    jq_is '.items[0].versions[0].freshness' '"Current"'
    $PY -S - "$BODY_FILE" "$VERBS8" <<'EOF' || fail "aggregated services entry"
import json, sys
from collections import OrderedDict as O
v = json.load(open(sys.argv[1]), object_pairs_hook=O)["items"][0]["versions"][0]
got = [r for r in v["resources"] if r["resource"] == "services"]
want = O([("resource", "services"), ("responseKind", O([("group", ""), ("version", "v1"), ("kind", "Service")])),
          ("scope", "Namespaced"), ("singularResource", "service"), ("verbs", json.loads(sys.argv[2])),
          ("shortNames", ["svc"]), ("categories", ["all"]),
          ("subresources", [O([("subresource", "status"),
                               ("responseKind", O([("group", ""), ("version", "v1"), ("kind", "Service")])),
                               ("verbs", ["get", "patch", "update"])])])])
if got != [want]:
    print("got:    %s\nwanted: %s" % (json.dumps(got), json.dumps(want)), file=sys.stderr)
    sys.exit(1)
ns = [r for r in v["resources"] if r["resource"] == "namespaces"]
if not ns or ns[0]["scope"] != "Cluster" or ns[0].get("shortNames") != ["ns"]:
    print("namespaces entry %s" % ns, file=sys.stderr)
    sys.exit(1)
if [r for r in v["resources"] if r["resource"] == "endpoints"][0].get("shortNames") != ["ep"]:
    sys.exit(1)
EOF
    req GET /apis "" "" "$ACCEPT_133"
    expect_status 200
    expect_header Content-Type "$AGG_V2"
    jq_is .apiVersion '"apidiscovery.k8s.io/v2"'
    [ "$(pyq '[i["metadata"]["name"] for i in b["items"]]')" = '["apps","coordination.k8s.io","discovery.k8s.io"]' ] ||
        fail "groups: $(pyq '[i["metadata"]["name"] for i in b["items"]]')"
    jq_is '.items[0].versions[0].resources[0].resource' '"replicasets"'
    jq_is '.items[0].versions[0].resources[0].categories' '["all"]'
}

# The core group's item has an empty name, which ObjectMeta's omitempty leaves out.
t_aggregated_core_item_metadata() {
    req GET /api "" "" "$ACCEPT_133"
    jq_is '.items[0].metadata' '{"creationTimestamp":null}'
}

t_aggregated_v2beta1() {
    local p
    for p in /api /apis; do
        req GET $p "" "" "$ACCEPT_127"
        expect_status 200 "$p"
        expect_header Content-Type "$AGG_V2BETA1"
        jq_is .kind '"APIGroupDiscoveryList"'
        jq_is .apiVersion '"apidiscovery.k8s.io/v2beta1"'
        # only v2 asked (with a JSON fallback): v2
        req GET $p "" "" "$AGG_V2,application/json"
        expect_header Content-Type "$AGG_V2"
    done
}

t_legacy_unless_asked() {
    local a
    for a in application/json '*/*' 'application/json, */*'; do
        req GET /api "" "" "$a"
        expect_status 200 "/api with $a"
        expect_header Content-Type application/json
        jq_is .kind '"APIVersions"'
        req GET /apis "" "" "$a"
        expect_status 200 "/apis with $a"
        expect_header Content-Type application/json
        jq_is .kind '"APIGroupList"'
    done
}

t_health() {
    local p
    for p in /healthz /livez /readyz; do
        req GET $p "" "" '*/*'
        expect_status 200 "$p"
        [ "$(cat "$BODY_FILE")" = ok ] || fail "$p answered '$(cat "$BODY_FILE")'"
        expect_header Content-Type 'text/plain; charset=utf-8'
    done
}

kubernetes_service_json() { # CLUSTER_IP TARGET_PORT
    printf '{"kind":"Service","apiVersion":"v1","metadata":{"name":"kubernetes","namespace":"default","uid":"<uid>","resourceVersion":"<rv>","creationTimestamp":"<time>","labels":{"component":"apiserver","provider":"kubernetes"},"managedFields":[{"manager":"kube-apiserver","operation":"Update","apiVersion":"v1","time":"<time>","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{".":{},"f:component":{},"f:provider":{}}},"f:spec":{"f:clusterIP":{},"f:internalTrafficPolicy":{},"f:ipFamilyPolicy":{},"f:ports":{".":{},"k:{\\"port\\":443,\\"protocol\\":\\"TCP\\"}":{".":{},"f:name":{},"f:port":{},"f:protocol":{},"f:targetPort":{}}},"f:sessionAffinity":{},"f:type":{}}}}]},"spec":{"ports":[{"name":"https","protocol":"TCP","port":443,"targetPort":%s}],"clusterIP":"%s","clusterIPs":["%s"],"type":"ClusterIP","sessionAffinity":"None","ipFamilies":["IPv4"],"ipFamilyPolicy":"SingleStack","internalTrafficPolicy":"Cluster"},"status":{"loadBalancer":{}}}' "$2" "$1" "$1"
}

kubernetes_endpoints_json() { # IP PORT
    printf '{"kind":"Endpoints","apiVersion":"v1","metadata":{"name":"kubernetes","namespace":"default","uid":"<uid>","resourceVersion":"<rv>","creationTimestamp":"<time>","labels":{"endpointslice.kubernetes.io/skip-mirror":"true"},"managedFields":[{"manager":"kube-apiserver","operation":"Update","apiVersion":"v1","time":"<time>","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{".":{},"f:endpointslice.kubernetes.io/skip-mirror":{}}},"f:subsets":{}}}]},"subsets":[{"addresses":[{"ip":"%s"}],"ports":[{"name":"https","port":%s,"protocol":"TCP"}]}]}' "$1" "$2"
}

t_kubernetes_service_at_start() {
    req GET /api/v1/namespaces/default/services/kubernetes
    expect_status 200
    expect_json "$(kubernetes_service_json 10.96.0.1 "$PORT")"
    req GET /api/v1/namespaces/default/endpoints/kubernetes
    expect_status 200
    expect_json "$(kubernetes_endpoints_json 127.0.0.1 "$PORT")"
    req GET /api/v1/services
    [ "$(pyq '[i["metadata"]["name"] for i in b["items"]]')" = '["kubernetes"]' ] || fail "services at start"
}

t_cluster_ip_range_and_advertise_address() {
    spawn_server ranged --service-cluster-ip-range 172.20.0.0/16 --advertise-address 10.20.30.40
    local URL=$SPAWN_URL
    req GET /api/v1/namespaces/default/services/kubernetes
    expect_status 200
    expect_json "$(kubernetes_service_json 172.20.0.1 "$SPAWN_PORT")"
    req GET /api/v1/namespaces/default/endpoints/kubernetes
    expect_json "$(kubernetes_endpoints_json 10.20.30.40 "$SPAWN_PORT")"
    req GET /api
    jq_is '.serverAddressByClientCIDRs' "[{\"clientCIDR\":\"0.0.0.0/0\",\"serverAddress\":\"10.20.30.40:$SPAWN_PORT\"}]"
    # new Services come from the new range
    req POST /api/v1/namespaces/default/services '{"metadata":{"name":"web"},"spec":{"ports":[{"port":80}]}}'
    expect_status 201
    [[ $(jq_get .spec.clusterIP) =~ ^172\.20\.[0-9]+\.[0-9]+$ ]] || fail "clusterIP $(jq_get .spec.clusterIP) outside 172.20.0.0/16"
    stop_spawned "$SPAWN_PID"

    spawn_server small --service-cluster-ip-range 10.0.0.0/24
    URL=$SPAWN_URL
    req GET /api/v1/namespaces/default/services/kubernetes
    jq_is .spec.clusterIP '"10.0.0.1"'
    jq_is .spec.clusterIPs '["10.0.0.1"]'
    stop_spawned "$SPAWN_PID"
}

run_case version t_version
run_case api t_api
run_case apis t_apis
run_case api_v1 t_api_v1
run_case apps_v1 t_apps_v1
run_case storage_version_hash t_storage_version_hash
run_case aggregated_v2 t_aggregated_v2
run_case aggregated_core_item_metadata t_aggregated_core_item_metadata
run_case aggregated_v2beta1 t_aggregated_v2beta1
run_case legacy_unless_asked t_legacy_unless_asked
run_case health t_health
run_case kubernetes_service_at_start t_kubernetes_service_at_start
run_case cluster_ip_range_and_advertise_address t_cluster_ip_range_and_advertise_address
finish discovery
