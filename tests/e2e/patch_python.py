"""PATCH and server-side apply with Debian's python3-kubernetes against svc-apiserver (issue 6).

Run by patch_python.sh, which starts the server and passes its URL in SVC_URL and a scratch
directory in SVC_WORK. Each check prints "ok: ..." or raises.

How the client (22.x) chooses the Content-Type of patch_namespaced_service: the generated
method asks for the first of its four patch types, application/json-patch+json, and
rest.py sends that only when the body is a list; any other JSON body goes out as
application/strategic-merge-patch+json. A merge patch (or an apply) has to be forced through
the ApiClient's default headers, which call_api lays over the method's own. The types sent are
recorded from the connection pool, so each check also proves which type went out.

  - patch_namespaced_service with a dict (strategic merge: ports merged by port), a list
    (JSON patch), and a forced merge patch (the ports list replaced whole); a no-op patch keeps
    the resourceVersion; dry_run="All" answers the change and stores nothing;
  - a failing JSON-patch test: ApiException 422 with upstream's Status;
  - server-side apply through kubernetes.dynamic (server_side_apply with the configuration as
    YAML text): create (201), the same again (200, no change), a second manager changing an
    owned field (409 ConflictError with upstream's Status; needs managedFields), force
    (force_conflicts=True) takes it;
  - server-side apply through patch_namespaced_service with the apply type forced: create, and
    the 422 without fieldManager.
"""
import json
import os

from kubernetes import client
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ConflictError

URL = os.environ["SVC_URL"]
WORK = os.environ["SVC_WORK"]
NS = "py"

cfg = client.Configuration()
cfg.host = URL


def api_client(content_type=None):
    """An ApiClient whose requests' Content-Types are recorded in .sent."""
    a = client.ApiClient(cfg)
    if content_type:
        a.set_default_header("Content-Type", content_type)
    a.sent = []
    pool = a.rest_client.pool_manager
    orig = pool.request

    def request(method, url, *args, **kwargs):
        if method == "PATCH":
            a.sent.append(kwargs.get("headers", {}).get("Content-Type"))
        return orig(method, url, *args, **kwargs)

    pool.request = request
    return a


plain = api_client()
v1 = client.CoreV1Api(plain)
merge_v1 = client.CoreV1Api(api_client("application/merge-patch+json"))
apply_api = api_client("application/apply-patch+yaml")
apply_v1 = client.CoreV1Api(apply_api)


def ok(msg):
    print("ok: " + msg, flush=True)


def raw(name):
    """The stored object as JSON, read without the client's models."""
    resp = v1.read_namespaced_service(name, NS, _preload_content=False)
    return json.loads(resp.data)


def ports(obj):
    return obj["spec"]["ports"]


def body_of(exc):
    b = exc.body
    return json.loads(b.decode() if isinstance(b, bytes) else b)


def expect_status_body(exc, code, want):
    assert exc.status == code, "status %s, wanted %s: %s" % (exc.status, code, exc.body)
    got = body_of(exc)
    assert got == want, "Status\n  got:    %s\n  wanted: %s" % (json.dumps(got), json.dumps(want))
    assert list(got.keys()) == list(want.keys()), "key order %s" % list(got.keys())


def make_service(name):
    v1.create_namespaced_service(NS, client.V1Service(
        metadata=client.V1ObjectMeta(name=name, labels={"app": "py"}),
        spec=client.V1ServiceSpec(selector={"app": "py"}, ports=[
            client.V1ServicePort(name="http", port=80, target_port=8080),
            client.V1ServicePort(name="https", port=443, target_port=8443)])))


def check_patch_types():
    make_service("pt")
    ip = raw("pt")["spec"]["clusterIP"]
    # a dict: strategic merge, port 80 merged by its key, 443 kept
    out = v1.patch_namespaced_service("pt", NS, {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}})
    assert plain.sent[-1] == "application/strategic-merge-patch+json", plain.sent
    assert out.spec.ports[0].target_port == 9090 and len(out.spec.ports) == 2, out.spec.ports
    assert ports(raw("pt")) == [
        {"name": "http", "protocol": "TCP", "port": 80, "targetPort": 9090},
        {"name": "https", "protocol": "TCP", "port": 443, "targetPort": 8443}], ports(raw("pt"))
    ok("a dict body is a strategic merge patch")

    # a list: JSON patch
    v1.patch_namespaced_service("pt", NS, [
        {"op": "test", "path": "/spec/ports/1/port", "value": 443},
        {"op": "replace", "path": "/spec/ports/1/targetPort", "value": 9443},
        {"op": "add", "path": "/metadata/labels/patched", "value": "json"}])
    assert plain.sent[-1] == "application/json-patch+json", plain.sent
    o = raw("pt")
    assert ports(o)[1] == {"name": "https", "protocol": "TCP", "port": 443, "targetPort": 9443}, ports(o)
    assert o["metadata"]["labels"] == {"app": "py", "patched": "json"}, o["metadata"]["labels"]
    ok("a list body is a JSON patch")

    # forced merge patch: the list is replaced
    merge_v1.patch_namespaced_service("pt", NS, {"spec": {"ports": [{"name": "http", "port": 80, "targetPort": 7070}]}})
    assert merge_v1.api_client.sent[-1] == "application/merge-patch+json", merge_v1.api_client.sent
    o = raw("pt")
    assert ports(o) == [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 7070}], ports(o)
    assert o["spec"]["clusterIP"] == ip and o["spec"]["clusterIPs"] == [ip], o["spec"]
    ok("a forced merge patch replaces the list")

    # no-op patches of each type keep the version
    rv = o["metadata"]["resourceVersion"]
    v1.patch_namespaced_service("pt", NS, {"metadata": {"labels": {"app": "py"}}})
    v1.patch_namespaced_service("pt", NS, [{"op": "test", "path": "/spec/ports/0/port", "value": 80}])
    merge_v1.patch_namespaced_service("pt", NS, {"spec": {"selector": {"app": "py"}}})
    assert raw("pt")["metadata"]["resourceVersion"] == rv, "a no-op patch moved the resourceVersion"
    ok("no-op patches keep the resourceVersion")

    # dry run: the answer shows the change, the store does not
    out = v1.patch_namespaced_service("pt", NS, {"spec": {"type": "NodePort"}}, dry_run="All")
    assert out.spec.type == "NodePort" and out.spec.ports[0].node_port == 32769, out.spec
    assert out.metadata.resource_version == rv, out.metadata.resource_version
    o = raw("pt")
    assert o["spec"]["type"] == "ClusterIP" and o["metadata"]["resourceVersion"] == rv, o["spec"]
    ok("dry_run=All answers the change and stores nothing")

    # a failing test operation
    try:
        v1.patch_namespaced_service("pt", NS, [{"op": "test", "path": "/spec/ports/0/port", "value": 81}])
        raise AssertionError("a failing JSON-patch test succeeded")
    except ApiException as e:
        expect_status_body(e, 422, {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "the server rejected our request due to an error in our request",
            "reason": "Invalid", "details": {}, "code": 422})
    ok("a failing JSON-patch test is upstream's 422")


SSA_A = """apiVersion: v1
kind: Service
metadata:
  name: ssa
  labels:
    app: ssa
spec:
  selector:
    app: ssa
  ports:
  - name: http
    port: 80
    targetPort: 8080
"""
SSA_B = SSA_A.replace("targetPort: 8080", "targetPort: 9090")
CONFLICT_FIELD = '.spec.ports[port=80,protocol="TCP"].targetPort'


def check_dynamic_apply():
    dyn = DynamicClient(client.ApiClient(cfg), cache_file=os.path.join(WORK, "discovery.json"))
    svcs = dyn.resources.get(api_version="v1", kind="Service")
    r = svcs.server_side_apply(body=SSA_A, name="ssa", namespace=NS, field_manager="py-a",
                               serialize=False)
    assert r.status == 201, r.status
    created = json.loads(r.data)
    assert ports(created) == [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}], ports(created)
    assert created["spec"]["type"] == "ClusterIP" and created["spec"]["clusterIP"], created["spec"]
    rv = created["metadata"]["resourceVersion"]
    r = svcs.server_side_apply(body=SSA_A, name="ssa", namespace=NS, field_manager="py-a",
                               serialize=False)
    assert r.status == 200, r.status
    assert json.loads(r.data)["metadata"]["resourceVersion"] == rv, "the same apply changed the object"
    ok("kubernetes.dynamic server_side_apply creates (201) and re-applies without a change")

    try:
        svcs.server_side_apply(body=SSA_B, name="ssa", namespace=NS, field_manager="py-b")
        raise AssertionError("a conflicting apply succeeded")
    except ConflictError as e:
        expect_status_body(e, 409, {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": 'Apply failed with 1 conflict: conflict with "py-a": ' + CONFLICT_FIELD,
            "reason": "Conflict",
            "details": {"causes": [{"reason": "FieldManagerConflict",
                                    "message": 'conflict with "py-a"', "field": CONFLICT_FIELD}]},
            "code": 409})
    assert ports(raw("ssa"))[0]["targetPort"] == 8080, "a refused apply changed the object"
    ok("a second manager's apply of an owned field is upstream's 409")
    out = svcs.server_side_apply(body=SSA_B, name="ssa", namespace=NS, field_manager="py-b",
                                 force_conflicts=True)
    assert out.spec.ports[0].targetPort == 9090, out.spec.ports
    ok("force_conflicts takes the field")


def check_forced_apply_type():
    cfgtext = SSA_A.replace("name: ssa", "name: ssa2")
    out = apply_v1.patch_namespaced_service("ssa2", NS, cfgtext, field_manager="py-raw")
    assert apply_api.sent[-1] == "application/apply-patch+yaml", apply_api.sent
    assert out.metadata.name == "ssa2" and out.spec.ports[0].target_port == 8080, out
    ok("patch_namespaced_service with the apply type forced creates the object")
    try:
        apply_v1.patch_namespaced_service("ssa2", NS, cfgtext)
        raise AssertionError("an apply without fieldManager succeeded")
    except ApiException as e:
        expect_status_body(e, 422, {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
            "reason": "Invalid",
            "details": {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [{
                "reason": "FieldValueRequired", "message": "Required value: is required for apply patch",
                "field": "fieldManager"}]},
            "code": 422})
    ok("an apply without fieldManager is upstream's 422")


v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
failed = []
for check in (check_patch_types, check_dynamic_apply, check_forced_apply_type):
    try:
        check()
    except Exception as e:  # report every check, then fail
        print("FAIL: %s: %s: %s" % (check.__name__, type(e).__name__, e), flush=True)
        failed.append(check.__name__)
if failed:
    raise SystemExit("failed: " + ", ".join(failed))
