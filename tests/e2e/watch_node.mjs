// The informer of @kubernetes/client-node against svc-apiserver (run by watch_node.sh, which
// installs the client and passes the server's URL in SVC_URL). makeInformer lists Services,
// watches from the list's resourceVersion, and calls back: add for the object that was there
// before it started and for one created after, update for a change, delete for a deletion.
import * as k8s from '@kubernetes/client-node';

const NS = 'nodejs';
const kc = new k8s.KubeConfig();
kc.loadFromOptions({
    clusters: [{ name: 'svc', server: process.env.SVC_URL, skipTLSVerify: true }],
    users: [{ name: 'anonymous' }],
    contexts: [{ name: 'svc', cluster: 'svc', user: 'anonymous', namespace: NS }],
    currentContext: 'svc',
});
const core = kc.makeApiClient(k8s.CoreV1Api);

function fail(msg) {
    console.error('FAIL: ' + msg);
    process.exit(1);
}

async function until(cond, what, ms = 10000) {
    const end = Date.now() + ms;
    while (Date.now() < end) {
        if (cond()) return;
        await new Promise((r) => setTimeout(r, 25));
    }
    fail('timed out waiting for ' + what + '; seen ' + JSON.stringify(seen));
}

const svc = (name) => ({
    metadata: { name, labels: { app: name } },
    spec: { selector: { app: name }, ports: [{ port: 80 }] },
});

const seen = { add: [], update: [], delete: [], error: [] };
await core.createNamespace({ body: { metadata: { name: NS } } });
await core.createNamespacedService({ namespace: NS, body: svc('before') });

const informer = k8s.makeInformer(kc, `/api/v1/namespaces/${NS}/services`,
    () => core.listNamespacedService({ namespace: NS }));
informer.on('add', (o) => seen.add.push(o.metadata.name));
informer.on('update', (o) => seen.update.push(`${o.metadata.name}:${o.spec.type}`));
informer.on('delete', (o) => seen.delete.push(o.metadata.name));
informer.on('error', (e) => seen.error.push(String(e)));
await informer.start();
await until(() => seen.add.includes('before'), 'add for the listed Service');

await core.createNamespacedService({ namespace: NS, body: svc('web') });
await until(() => seen.add.includes('web'), 'add for a created Service');

const cur = await core.readNamespacedService({ name: 'web', namespace: NS });
cur.spec.type = 'NodePort';
await core.replaceNamespacedService({ name: 'web', namespace: NS, body: cur });
await until(() => seen.update.includes('web:NodePort'), 'update for a changed Service');

await core.deleteNamespacedService({ name: 'web', namespace: NS });
await until(() => seen.delete.includes('web'), 'delete for a deleted Service');

const cached = informer.list(NS).map((o) => o.metadata.name).sort();
if (JSON.stringify(cached) !== JSON.stringify(['before'])) fail('informer cache holds ' + cached);
if (seen.error.length) fail('informer errors: ' + seen.error.join('; '));
if (seen.add.filter((n) => n === 'web').length !== 1) fail('web added twice: ' + seen.add);
await informer.stop();
console.log(`ok: makeInformer on Services: add (${seen.add}), update (${seen.update}), ` +
    `delete (${seen.delete}) callbacks fired`);
process.exit(0);
