/*
 * protobuf_writer: a minimal protobuf encoder, and the gnostic openapi.v2.Document written with
 * it (part of tools/apigen).
 *
 * kube-apiserver serves /openapi/v2 as the protobuf form of its Swagger 2.0 JSON: kube-openapi
 * parses the JSON with gnostic (google/gnostic openapiv2/OpenAPIv2.proto) and marshals the
 * result. pbw_openapi_v2 does the same for the JSON tree apigen builds, so the two forms served
 * are one document. Only the parts of the Swagger schema that svc-apiserver's documents use are
 * known; any other key is refused with a message, so a document never loses content silently.
 * Values gnostic keeps as `Any` (vendor extensions, defaults, enums) are written as YAML, as
 * gnostic does. Build-time code: depends on jansson and strbuf only, never on the server.
 */
#ifndef SVC_TOOLS_PROTOBUF_WRITER_H
#define SVC_TOOLS_PROTOBUF_WRITER_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;
typedef struct json_t json_t;

/* Protobuf wire types. */
#define PBW_VARINT  0
#define PBW_FIXED64 1
#define PBW_LEN     2

/* Append a base-128 varint. */
void pbw_varint(struct strbuf *out, uint64_t v);
/* Append a field key (number, wire type). */
void pbw_key(struct strbuf *out, unsigned field, unsigned wire);
/* Append a length-delimited field (string, bytes or an encoded submessage). */
void pbw_bytes(struct strbuf *out, unsigned field, const void *data, size_t len);
/* Append a varint field: a bool, an int64 (two's complement, as protobuf does). */
void pbw_uint(struct strbuf *out, unsigned field, uint64_t v);
/* Append a double field (fixed64, little-endian IEEE 754). */
void pbw_double(struct strbuf *out, unsigned field, double v);

/*
 * Write v as a YAML document (block style, strings quoted whenever a plain scalar could read as
 * something else), as gnostic stores an `Any`. Depth is bounded; -1 past it.
 */
int pbw_yaml(struct strbuf *out, const json_t *v);

/*
 * Encode swagger, a Swagger 2.0 document as JSON, as a gnostic openapi.v2.Document into out
 * (caller-initialised). 0 on success; -1 with a message naming the JSON path in err when the
 * document uses something this encoder does not know.
 */
int pbw_openapi_v2(const json_t *swagger, struct strbuf *out, char *err, size_t err_len);

#endif
