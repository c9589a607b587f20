"""The Python client (Debian's python3-kubernetes) watching Endpoints while pods come and go.

Run by endpoints_python.sh, which starts the server with --pod-ready-delay 1s and passes its URL
in SVC_URL. A Service selects the pods of a ReplicaSet; a kubernetes.watch.Watch on its Endpoints,
started from a list's resourceVersion, must see, as typed V1Endpoints objects with versions
rising:
  - the two new pods in not_ready_addresses first, then both in addresses once they are Ready;
  - after a scale to three, the third pod not ready beside the two ready ones, then all three
    ready;
  - after a pod's graceful deletion, that pod leaving the Endpoints at once (a terminating pod is
    not an endpoint) while the ReplicaSet's replacement comes up not ready, then ready.
Each address names its pod (target_ref) and node. Prints "ok: ..." per step or raises.
"""
import os
import queue
import threading
import time

from kubernetes import client, watch

URL = os.environ["SVC_URL"]
NS = "pywatch"

cfg = client.Configuration()
cfg.host = URL
api = client.ApiClient(cfg)
v1 = client.CoreV1Api(api)
apps = client.AppsV1Api(api)


def ok(msg):
    print("ok: " + msg, flush=True)


def state(ep):
    """(ready pod names, not-ready pod names) of a V1Endpoints."""
    ready, not_ready = set(), set()
    for s in ep.subsets or []:
        for a in s.addresses or []:
            assert a.target_ref and a.target_ref.kind == "Pod", a
            assert a.node_name == "node-1", a
            ready.add(a.target_ref.name)
        for a in s.not_ready_addresses or []:
            assert a.target_ref and a.target_ref.kind == "Pod", a
            not_ready.add(a.target_ref.name)
        for p in s.ports or []:
            assert p.port == 8080 and p.protocol == "TCP", p
    return frozenset(ready), frozenset(not_ready)


v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
v1.create_namespaced_service(NS, client.V1Service(
    metadata=client.V1ObjectMeta(name="web"),
    spec=client.V1ServiceSpec(selector={"app": "web"},
                              ports=[client.V1ServicePort(port=80, target_port="http")])))
# The Endpoints object appears for the Service (without subsets) before any pod exists.
deadline = time.monotonic() + 5
while True:
    lst = v1.list_namespaced_endpoints(NS, field_selector="metadata.name=web")
    if lst.items:
        break
    assert time.monotonic() < deadline, "no Endpoints for the Service"
    time.sleep(0.05)
assert state(lst.items[0]) == (frozenset(), frozenset()), lst.items[0]
ok("the Service has its Endpoints, empty")

events = queue.Queue()
w = watch.Watch()


def follow():
    try:
        for e in w.stream(v1.list_namespaced_endpoints, NS, field_selector="metadata.name=web",
                          resource_version=lst.metadata.resource_version, timeout_seconds=30):
            events.put(e)
    except Exception as exc:  # reported by the main thread
        events.put(exc)
    events.put(None)


t = threading.Thread(target=follow, daemon=True)
t.start()
last_rv = int(lst.metadata.resource_version)
seen = []


def expect(pred, what, limit=6.0):
    """Read events until pred(ready, not_ready) holds for the object of one of them."""
    global last_rv
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            e = events.get(timeout=max(0.05, deadline - time.monotonic()))
        except queue.Empty:
            break
        if e is None:
            raise AssertionError("the watch ended while waiting for: " + what)
        if isinstance(e, Exception):
            raise e
        assert e["type"] == "MODIFIED", e["type"]
        ep = e["object"]
        assert isinstance(ep, client.V1Endpoints), type(ep)
        rv = int(ep.metadata.resource_version)
        assert rv > last_rv, "versions not rising: %d after %d" % (rv, last_rv)
        last_rv = rv
        st = state(ep)
        seen.append(st)
        if pred(*st):
            return st
    raise AssertionError("never saw %s; states seen: %s" % (what, [
        (sorted(r), sorted(n)) for r, n in seen]))


def pod_names():
    pods = v1.list_namespaced_pod(NS, label_selector="app=web").items
    return {p.metadata.name for p in pods if p.metadata.deletion_timestamp is None}


container = client.V1Container(name="c", image="nginx",
                               ports=[client.V1ContainerPort(name="http", container_port=8080)])
apps.create_namespaced_replica_set(NS, client.V1ReplicaSet(
    metadata=client.V1ObjectMeta(name="web"),
    spec=client.V1ReplicaSetSpec(
        replicas=2, selector=client.V1LabelSelector(match_labels={"app": "web"}),
        template=client.V1PodTemplateSpec(
            metadata=client.V1ObjectMeta(labels={"app": "web"}),
            spec=client.V1PodSpec(containers=[container])))))

expect(lambda r, n: not r and len(n) == 2, "two pods not ready")
first = pod_names()
ok("two new pods not ready: %s" % sorted(first))
st = expect(lambda r, n: len(r) == 2 and not n, "both pods ready")
assert st[0] == first, (st, first)
ok("both pods ready")

apps.patch_namespaced_replica_set_scale("web", NS, {"spec": {"replicas": 3}})
st = expect(lambda r, n: r == first and len(n) == 1, "a third pod not ready beside the two")
third = set(st[1])
ok("scaled to three: %s not ready yet" % sorted(third))
expect(lambda r, n: len(r) == 3 and not n, "all three ready")
ok("all three ready")

victim = sorted(first)[0]
v1.delete_namespaced_pod(victim, NS)
st = expect(lambda r, n: victim not in r and victim not in n, "the deleted pod leaving the Endpoints")
ok("the terminating pod %s left the Endpoints" % victim)
expect(lambda r, n: len(r) == 3 and not n and victim not in r, "the replacement ready")
ok("the replacement is ready")
w.stop()
