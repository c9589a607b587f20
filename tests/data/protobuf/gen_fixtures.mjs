// Builds the hand-made protobuf fixtures of tests/data/protobuf with an encoder that is not ours
// (protobufjs, reading the upstream generated.proto files of k8s.io/api and apimachinery v0.33.0),
// so that the decoder is checked against bytes it did not produce. The expected JSON beside each
// fixture is written by hand from types.go (json tags, omitempty, pointers), not from our output.
//
// Regenerate (only needed when a fixture changes):
//   npm install protobufjs@8          (in a scratch folder)
//   PROTO_ROOT=<folder holding k8s.io/api/... and k8s.io/apimachinery/... generated.proto>
//   node gen_fixtures.mjs $PROTO_ROOT <output folder>
import protobuf from "protobufjs";
import fs from "node:fs";
import path from "node:path";

const [root, outDir] = process.argv.slice(2);
const r = new protobuf.Root();
r.resolvePath = (_origin, target) => path.join(root, target);
r.loadSync(["k8s.io/api/core/v1/generated.proto", "k8s.io/apimachinery/pkg/runtime/generated.proto"],
           { keepCase: true });
const Unknown = r.lookupType("k8s.io.apimachinery.pkg.runtime.Unknown");

function envelope(kind, typeName, obj) {
  const T = r.lookupType(typeName);
  const err = T.verify(obj);
  if (err) throw new Error(`${kind}: ${err}`);
  const raw = T.encode(T.fromObject(obj)).finish();
  const unk = Unknown.encode(Unknown.fromObject({
    typeMeta: { apiVersion: "v1", kind }, raw, contentEncoding: "", contentType: "",
  })).finish();
  return Buffer.concat([Buffer.from([0x6b, 0x38, 0x73, 0x00]), Buffer.from(unk)]);
}

const fieldsV1 = '{"f:metadata":{"f:labels":{".":{},"f:app":{}}},' +
  '"f:spec":{"f:ports":{"k:{\\"port\\":80,\\"protocol\\":\\"TCP\\"}":{".":{}}}}}';

const service = {
  metadata: {
    name: "web-full", generateName: "web-", namespace: "prod", selfLink: "",
    uid: "0f6a4c1e-6a39-4d5b-9a57-5f0d1c2b3a41", resourceVersion: "12345", generation: 3,
    creationTimestamp: { seconds: 1764424003 },
    deletionTimestamp: { seconds: 1764424603, nanos: 500000000 },
    deletionGracePeriodSeconds: 0,
    labels: { tier: "frontend", app: "web" },
    annotations: { note: "h\u00e9llo \u2713 \u{1F680}" },
    ownerReferences: [
      { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-abc", uid: "u-1",
        controller: true, blockOwnerDeletion: false },
      { kind: "Deployment" },
    ],
    finalizers: ["example.com/a", ""],
    managedFields: [{
      manager: "kubectl-create", operation: "Update", apiVersion: "v1",
      time: { seconds: 1764424003 }, fieldsType: "FieldsV1",
      fieldsV1: { Raw: Buffer.from(fieldsV1) }, subresource: "",
    }],
  },
  spec: {
    ports: [
      { name: "http", protocol: "TCP", appProtocol: "", port: 80,
        targetPort: { type: 1, strVal: "web" }, nodePort: 30080 },
      { name: "", protocol: "UDP", port: 53, targetPort: { type: 0, intVal: 5353 } },
      {},
    ],
    selector: { env: "", app: "web" },
    clusterIP: "10.96.0.10", clusterIPs: ["10.96.0.10", "fd00::10"], type: "LoadBalancer",
    externalIPs: ["192.0.2.1"], sessionAffinity: "ClientIP", loadBalancerIP: "198.51.100.7",
    loadBalancerSourceRanges: ["10.0.0.0/8"], externalName: "", externalTrafficPolicy: "Local",
    healthCheckNodePort: 32000, publishNotReadyAddresses: true,
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } },
    ipFamilies: ["IPv4", "IPv6"], ipFamilyPolicy: "PreferDualStack",
    allocateLoadBalancerNodePorts: false, loadBalancerClass: "",
    internalTrafficPolicy: "Cluster", trafficDistribution: "PreferClose",
  },
  status: {
    loadBalancer: {
      ingress: [
        { ip: "203.0.113.9", hostname: "", ipMode: "VIP",
          ports: [{ port: 80, protocol: "TCP", error: "boom" }, {}] },
        { hostname: "lb.example.com" },
      ],
    },
    conditions: [
      { type: "Ready", status: "True", observedGeneration: 3,
        lastTransitionTime: { seconds: 0 }, reason: "", message: "" },
      { type: "Other" },
    ],
  },
};

const namespace = {
  metadata: { name: "team-b", labels: { "kubernetes.io/metadata.name": "team-b" },
              creationTimestamp: {} },
  spec: { finalizers: ["kubernetes"] },
  status: {
    phase: "Active",
    conditions: [{ type: "NamespaceDeletionContentFailure", status: "False",
                   lastTransitionTime: { seconds: 253402300799 }, reason: "", message: "m" }],
  },
};

fs.writeFileSync(path.join(outDir, "protobufjs-service-full.bin"),
                 envelope("Service", "k8s.io.api.core.v1.Service", service));
fs.writeFileSync(path.join(outDir, "protobufjs-namespace-full.bin"),
                 envelope("Namespace", "k8s.io.api.core.v1.Namespace", namespace));
