"""Informer-style list and watch with Debian's python3-kubernetes against svc-apiserver.

Run by watch_python.sh, which starts the server (with a small --watch-cache-size) and passes its
URL in SVC_URL and the size in SVC_WATCH_CACHE. Each check prints "ok: ..." or raises.

  - list_namespaced_service / list_namespaced_endpoints, then kubernetes.watch.Watch from the
    list's version; the stream is stopped (disconnected) halfway, the objects change while no one
    watches, and a new stream resumes from the watcher's last version: the list plus every event
    rebuilds exactly the state a fresh list shows, with no event twice and versions rising;
  - a watch from a version the event log has dropped gets the 410 (ApiException status 410),
    and the client recovers by relisting and watching from the new list's version;
  - allowWatchBookmarks: a BOOKMARK arrives before timeoutSeconds ends the stream;
  - WatchList (sendInitialEvents) through the client's transport: the current objects as ADDED,
    then the bookmark annotated k8s.io/initial-events-end.
"""
import json
import os
import threading
import time

from kubernetes import client, watch
from kubernetes.client.rest import ApiException

URL = os.environ["SVC_URL"]
CACHE = int(os.environ.get("SVC_WATCH_CACHE", "100"))
NS = "py"

cfg = client.Configuration()
cfg.host = URL
api = client.ApiClient(cfg)
v1 = client.CoreV1Api(api)


def ok(msg):
    print("ok: " + msg, flush=True)


def service(name, app=None):
    return client.V1Service(
        metadata=client.V1ObjectMeta(name=name, labels={"app": app or name}),
        spec=client.V1ServiceSpec(selector={"app": app or name},
                                  ports=[client.V1ServicePort(port=80)]))


def state(lst):
    return {o.metadata.name: o.metadata.resource_version for o in lst.items}


def apply(st, events, kind):
    """Apply watch events to a name -> resourceVersion map, checking their order."""
    last = 0
    for e in events:
        o = e["raw_object"]
        rv = int(o["metadata"]["resourceVersion"])
        assert rv > last, "%s: versions not rising: %s after %s" % (kind, rv, last)
        last = rv
        name = o["metadata"]["name"]
        if e["type"] == "ADDED":
            assert name not in st, "%s: ADDED %s twice" % (kind, name)
            st[name] = str(rv)
        elif e["type"] == "MODIFIED":
            assert name in st, "%s: MODIFIED %s before ADDED" % (kind, name)
            st[name] = str(rv)
        elif e["type"] == "DELETED":
            assert name in st, "%s: DELETED %s not known" % (kind, name)
            del st[name]
        else:
            raise AssertionError("%s: unexpected %s" % (kind, e["type"]))
    return st


def wait_for(cond, what, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def collect(func, rv, stop_after=None, timeout=2, **kw):
    """Watch from rv; stop the stream after stop_after events (a disconnect) or at timeout."""
    w = watch.Watch()
    got = []
    for e in w.stream(func, NS, resource_version=rv, timeout_seconds=timeout, **kw):
        got.append(e)
        if stop_after is not None and len(got) >= stop_after:
            w.stop()
    return got, w.resource_version


def resume_misses_nothing():
    v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
    svcs0 = v1.list_namespaced_service(NS)
    eps0 = v1.list_namespaced_endpoints(NS)
    for n in ("s1", "s2", "s3"):
        v1.create_namespaced_service(NS, service(n))
    wait_for(lambda: len(v1.list_namespaced_endpoints(NS).items) == 3, "three Endpoints")

    # First session: disconnected after two events.
    svc_first, svc_rv = collect(v1.list_namespaced_service, svcs0.metadata.resource_version,
                                stop_after=2)
    ep_first, ep_rv = collect(v1.list_namespaced_endpoints, eps0.metadata.resource_version,
                              stop_after=2)
    assert [e["type"] for e in svc_first] == ["ADDED", "ADDED"], svc_first
    assert [e["raw_object"]["metadata"]["name"] for e in svc_first] == ["s1", "s2"]
    assert svc_rv == svc_first[-1]["raw_object"]["metadata"]["resourceVersion"]

    # Changes while nobody watches.
    v1.patch_namespaced_service("s1", NS, {"metadata": {"labels": {"changed": "yes"}}})
    v1.delete_namespaced_service("s2", NS)
    v1.create_namespaced_service(NS, service("s4"))
    v1.patch_namespaced_service("s3", NS, {"spec": {"selector": {"app": "other"}}})
    wait_for(lambda: sorted(state(v1.list_namespaced_endpoints(NS))) == ["s1", "s3", "s4"],
             "Endpoints to follow the Services")
    time.sleep(0.3)

    # Second session resumes from the last version each watcher saw.
    svc_rest, _ = collect(v1.list_namespaced_service, svc_rv, timeout=2)
    ep_rest, _ = collect(v1.list_namespaced_endpoints, ep_rv, timeout=2)
    for kind, lst0, first, rest, now in (
            ("services", svcs0, svc_first, svc_rest, v1.list_namespaced_service(NS)),
            ("endpoints", eps0, ep_first, ep_rest, v1.list_namespaced_endpoints(NS))):
        rvs = [e["raw_object"]["metadata"]["resourceVersion"] for e in first + rest]
        assert len(rvs) == len(set(rvs)), "%s: an event came twice: %s" % (kind, rvs)
        rebuilt = apply(state(lst0), first + rest, kind)
        assert rebuilt == state(now), "%s: rebuilt %s, list says %s" % (kind, rebuilt, state(now))
    types = [e["type"] for e in svc_rest]
    assert types == ["ADDED", "MODIFIED", "DELETED", "ADDED", "MODIFIED"], types
    ok("list + watch, disconnect, resume from the last version: services and endpoints "
       "rebuilt exactly (%d + %d events)" % (len(svc_first) + len(svc_rest),
                                            len(ep_first) + len(ep_rest)))


def expired_then_relist():
    old = v1.list_namespaced_service(NS).metadata.resource_version
    for i in range(CACHE + 20):
        v1.patch_namespaced_service("s4", NS, {"metadata": {"labels": {"n": str(i)}}})
    try:
        collect(v1.list_namespaced_service, old, timeout=2)
        raise AssertionError("a watch from a dropped version did not fail")
    except ApiException as e:
        assert e.status == 410, e
        assert "Expired: too old resource version: %s (" % old in str(e.reason), e.reason
    # The informer's answer to 410: list again and watch from there.
    fresh = v1.list_namespaced_service(NS)
    done = threading.Timer(0.5, lambda: v1.patch_namespaced_service(
        "s1", NS, {"metadata": {"labels": {"after": "relist"}}}))
    done.start()
    got, _ = collect(v1.list_namespaced_service, fresh.metadata.resource_version, timeout=2)
    done.join()
    assert [(e["type"], e["raw_object"]["metadata"]["name"]) for e in got] == [("MODIFIED", "s1")], got
    assert got[0]["raw_object"]["metadata"]["labels"]["after"] == "relist"
    ok("watch past the event log's %d events: 410, then relist and watch again" % CACHE)


def bookmarks_arrive():
    rv = v1.list_namespaced_service(NS).metadata.resource_version
    t = threading.Timer(0.5, lambda: v1.create_namespaced_service(NS, service("s5")))
    t.start()
    start = time.time()
    got, _ = collect(v1.list_namespaced_service, rv, timeout=4, allow_watch_bookmarks=True)
    t.join()
    took = time.time() - start
    types = [e["type"] for e in got]
    assert types == ["ADDED", "BOOKMARK"], types
    bm = got[1]["raw_object"]
    assert bm["kind"] == "Service" and bm["apiVersion"] == "v1", bm
    assert int(bm["metadata"]["resourceVersion"]) >= int(
        got[0]["raw_object"]["metadata"]["resourceVersion"]), bm
    assert 3.5 < took < 6, took
    ok("allowWatchBookmarks: BOOKMARK before the %d s timeout ends the stream" % 4)


def watch_list_initial_events():
    current = v1.list_namespaced_service(NS)
    resp = api.call_api(
        "/api/v1/namespaces/{namespace}/services", "GET", path_params={"namespace": NS},
        query_params=[("watch", "true"), ("sendInitialEvents", "true"),
                      ("resourceVersionMatch", "NotOlderThan"), ("allowWatchBookmarks", "true"),
                      ("timeoutSeconds", "1")],
        header_params={"Accept": "application/json"}, response_type="V1ServiceList",
        auth_settings=["BearerToken"], _preload_content=False)[0]
    events = [json.loads(line) for line in resp.data.decode().splitlines() if line]
    names = [e["object"]["metadata"].get("name") for e in events[:-1]]
    assert [e["type"] for e in events[:-1]] == ["ADDED"] * len(current.items), events
    assert names == [o.metadata.name for o in current.items], names
    last = events[-1]
    assert last["type"] == "BOOKMARK", last
    meta = last["object"]["metadata"]
    assert meta["annotations"]["k8s.io/initial-events-end"] == "true", meta
    assert int(meta["resourceVersion"]) >= int(current.metadata.resource_version), meta
    ok("WatchList: %d initial ADDED events, then the initial-events-end bookmark" % len(names))


resume_misses_nothing()
expired_then_relist()
bookmarks_arrive()
watch_list_initial_events()
