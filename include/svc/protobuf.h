/*
 * protobuf: decodes Kubernetes protobuf request bodies (Content-Type
 * application/vnd.kubernetes.protobuf) into the jansson tree the same object sent as JSON gives.
 *
 * kubectl 1.32 and later send `create service ...` and `create namespace ...` this way and never
 * fall back to JSON. A body is the magic "k8s\0" followed by a runtime.Unknown message whose
 * typeMeta names the kind and whose raw bytes are the object's own message. Only core/v1 Service
 * and core/v1 Namespace are decoded; the tree is what decoding into the Go struct of k8s.io/api
 * v0.33 and marshalling that struct with encoding/json yields: Go field order, omitempty zero
 * values left out, pointer fields kept when present on the wire, map keys sorted, metav1.Time as
 * RFC 3339 (or null), IntOrString as a number or a string. Errors are worded as kube-apiserver
 * words them (the 415 of a type without a protobuf serializer, the 400 of a failed decode, the
 * 413 of a body over a limit), with our own description of the problem and its byte offset.
 * Nothing here is encoding: the server always answers in JSON.
 * Depends on jansson and libc only; never sees HTTP.
 */
#ifndef SVC_PROTOBUF_H
#define SVC_PROTOBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct json_t json_t;

#define PROTOBUF_MEDIA_TYPE "application/vnd.kubernetes.protobuf"

/* protobuf_error.code */
#define PROTOBUF_EBADREQUEST  (-1) /* malformed body: HTTP 400, reason BadRequest */
#define PROTOBUF_EUNSUPPORTED (-2) /* a kind we cannot decode from protobuf: 415 */
#define PROTOBUF_ETOOBIG      (-3) /* more than PROTOBUF_MAX_ITEMS: 413 */

/* How deep the decoded tree may nest (objects and arrays); only metadata.managedFields[].fieldsV1
 * carries free-form JSON that could reach it. */
#define PROTOBUF_MAX_DEPTH 32

/* How many list elements and map entries one body may hold in all. Each costs a few wire bytes
 * but a few hundred bytes of tree, so the body size limit alone would let a 3 MiB body grow to
 * a gigabyte; no real Service or Namespace comes near this. */
#define PROTOBUF_MAX_ITEMS 65536

/* Filled by protobuf_decode on failure. Caller-owned storage; nothing in it needs freeing. */
struct protobuf_error {
    int code;           /* PROTOBUF_EBADREQUEST, PROTOBUF_EUNSUPPORTED or PROTOBUF_ETOOBIG */
    int http_status;    /* 400, 415 or 413 */
    const char *reason; /* "BadRequest", "UnsupportedMediaType" or "RequestEntityTooLarge";
                           static */
    size_t offset;      /* byte of the body where the problem was found, counted from the
                           start of the magic; 0 when the problem has no place */
    char detail[256];   /* the problem alone, e.g. "proto: truncated varint in ServicePort.port
                           at byte 80" */
    char message[640];  /* the Status message, e.g. "Service in version \"v1\" cannot be handled
                           as a Service: proto: ..." */
};

/*
 * Whether objects of this kind can be decoded from protobuf (true for "v1" Service and
 * Namespace). A request whose resource answers false must be refused with 415 before its body
 * is read, as kube-apiserver does for a type that has no protobuf serializer; protobuf_decode
 * does that too.
 */
bool protobuf_kind_supported(const char *api_version, const char *kind);

/*
 * Decode a protobuf request body of len bytes (borrowed; need not be NUL-terminated) posted to a
 * resource whose objects are `kind` in `api_version` (e.g. "v1", "Service"; borrowed). As
 * upstream does, an envelope that leaves its kind or apiVersion empty takes them from these.
 * Returns a new reference to a JSON object with kind and apiVersion set, or NULL with err filled:
 * PROTOBUF_EUNSUPPORTED when the resource's kind or the envelope's kind is not Service or
 * Namespace of core v1, PROTOBUF_EBADREQUEST for anything malformed (missing magic, truncated
 * varints or lengths, bad wire types, groups, invalid UTF-8 or NUL in strings, nesting past
 * PROTOBUF_MAX_DEPTH, an envelope of the other supported kind), PROTOBUF_ETOOBIG past
 * PROTOBUF_MAX_ITEMS. Never reads outside the body.
 */
json_t *protobuf_decode(const void *body, size_t len, const char *api_version, const char *kind,
                        struct protobuf_error *err);

#endif
