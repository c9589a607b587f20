#!/usr/bin/env bash
# Watches at scale (the design in include/svc/watch.h): 1,000 idle watchers on one server cost
# no CPU (their connections are suspended, never polled: the server's CPU time in
# /proc/<pid>/stat barely moves over a few seconds, with a generous bound), one change reaches
# every one of them; and a watcher that stops reading while the objects keep changing does not
# make the server's memory grow (it lags in the shared event log and then gets the 410).
. "$(dirname "$0")/lib.sh"

[ -r /proc/self/stat ] || { echo "SKIP: no /proc"; exit 77; }
WATCHERS=${WATCHERS:-1000}
# Keep freed memory out of ASan's quarantine, so resident memory shows what the server holds.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4"
start_server --watch-cache-size 200

$PY - "$URL" "$SVC_PID" "$WATCHERS" <<'EOF' || fail "watch scale test failed"
import http.client, json, os, resource, selectors, socket, sys, time

url, pid, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
host, port = url.split("//")[1].split(":")
port = int(port)
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
if hard < count + 100:
    print("SKIP-ish: only %d file descriptors" % hard)
    count = hard - 100
tick = os.sysconf("SC_CLK_TCK")

def cpu_seconds():
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick      # utime + stime

def rss_mb():
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0

def api(method, path, body=None):
    c = http.client.HTTPConnection(host, port, timeout=20)
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Content-Type": "application/merge-patch+json" if method == "PATCH"
                       else "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    assert r.status < 300, (method, path, r.status, data[:300])
    return json.loads(data)

api("POST", "/api/v1/namespaces", {"metadata": {"name": "scale"}})
rv = api("GET", "/api/v1/namespaces/scale/services")["metadata"]["resourceVersion"]

# ---- a watcher that stops reading ------------------------------------------------------------
api("POST", "/api/v1/namespaces/scale/services",
    {"metadata": {"name": "hello"}, "spec": {"ports": [{"port": 80}]}})
stalled = socket.socket()
stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
stalled.connect((host, port))
rv = api("GET", "/api/v1/namespaces/scale/services")["metadata"]["resourceVersion"]
stalled.sendall(("GET /api/v1/namespaces/scale/services?watch=true&resourceVersion=%s HTTP/1.1\r\n"
                 "Host: x\r\n\r\n" % rv).encode())
big = "x" * 20000
conn = http.client.HTTPConnection(host, port, timeout=20)

def patch(i):
    conn.request("PATCH", "/api/v1/namespaces/scale/services/hello",
                 body=json.dumps({"metadata": {"annotations": {"big": big, "n": str(i)}}}),
                 headers={"Content-Type": "application/merge-patch+json"})
    r = conn.getresponse()
    r.read()
    assert r.status == 200, r.status

for i in range(300):
    patch(i)
warm = rss_mb()
n = 1500
for i in range(300, 300 + n):
    patch(i)
grown = rss_mb() - warm
sent_mb = n * len(big) / 1e6
print("ok: a watcher that reads nothing while %.0f MB of events pass: the server grew %.1f MB"
      % (sent_mb, grown))
assert grown < sent_mb / 3, "memory grew %.1f MB for %.0f MB of events" % (grown, sent_mb)
# When it reads again, it has fallen out of the 200-event log: the 410, then the end.
stalled.settimeout(20)
data = b""
while True:
    chunk = stalled.recv(1 << 20)
    if not chunk:
        break
    data += chunk
    if b'"code":410' in data and data.endswith(b"0\r\n\r\n"):
        break
assert b'"reason":"Expired","code":410}}' in data, data[-400:]
print("ok: the stalled watcher gets the 410 once it reads again")
# ---- 1,000 idle watchers -------------------------------------------------------------------
rv = api("GET", "/api/v1/namespaces/scale/services")["metadata"]["resourceVersion"]
sel = selectors.DefaultSelector()
conns = []
request = ("GET /api/v1/namespaces/scale/services?watch=true&resourceVersion=%s HTTP/1.1\r\n"
           "Host: %s:%d\r\nAccept: application/json\r\n\r\n" % (rv, host, port)).encode()
for i in range(count):
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(request)
    s.setblocking(False)
    conns.append({"sock": s, "buf": b""})
    sel.register(s, selectors.EVENT_READ, conns[-1])

def read_until(pred, deadline, what):
    pending = [c for c in conns if not pred(c)]
    while pending and time.time() < deadline:
        for key, _ in sel.select(timeout=0.5):
            c = key.data
            try:
                data = c["sock"].recv(65536)
            except BlockingIOError:
                continue
            if not data:
                raise AssertionError("a watcher's connection closed: %r" % c["buf"][-200:])
            c["buf"] += data
        pending = [c for c in conns if not pred(c)]
    if pending:
        raise AssertionError("%d of %d watchers never got %s" % (len(pending), count, what))

read_until(lambda c: b"\r\n\r\n" in c["buf"], time.time() + 30, "response headers")
assert all(c["buf"].startswith(b"HTTP/1.1 200") for c in conns)
time.sleep(0.5)
before, t0 = cpu_seconds(), time.time()
time.sleep(3)
used, took = cpu_seconds() - before, time.time() - t0
print("ok: %d idle watchers: the server used %.2f s of CPU in %.1f s" % (count, used, took))
assert used < 0.3, "idle watchers cost %.2f s of CPU in %.1f s" % (used, took)

t0 = time.time()
api("POST", "/api/v1/namespaces/scale/services",
    {"metadata": {"name": "fanout"}, "spec": {"ports": [{"port": 80}]}})
read_until(lambda c: b'"name":"fanout"' in c["buf"], time.time() + 30, "the ADDED event")
assert all(b'{"type":"ADDED","object":{"kind":"Service"' in c["buf"] for c in conns)
print("ok: one create reached all %d watchers in %.2f s" % (count, time.time() - t0))
for c in conns:
    sel.unregister(c["sock"])
    c["sock"].close()

EOF
pass "1,000 idle watchers, fan-out, and a stalled watcher"
