/*
 * codec: request bodies into jansson trees and the choice of answer format, apart from HTTP.
 *
 * Decoding follows apiserver's create/update handlers: the Content-Type picks JSON, YAML or the
 * Kubernetes protobuf envelope; malformed input becomes the same 400 text frame upstream uses
 * ("the object provided is unrecognized (must be of type Service): couldn't get version/kind;
 * json parse error: ..."), with the parser's position added; nesting is bounded. Negotiation
 * reads an Accept header the way apiserver's negotiation package does and says which of our
 * answer forms the client wants (plain JSON, YAML, a meta.k8s.io Table, PartialObjectMetadata,
 * aggregated discovery) or that none is acceptable (406).
 */
#ifndef SVC_CODEC_H
#define SVC_CODEC_H

#include <stdbool.h>
#include <stddef.h>

typedef struct json_t json_t;
struct apierr;
struct strbuf;

#define CODEC_MAX_DEPTH 100

enum codec_media {
    CODEC_MEDIA_JSON,
    CODEC_MEDIA_YAML,
    CODEC_MEDIA_PROTOBUF,
    CODEC_MEDIA_MERGE_PATCH,     /* application/merge-patch+json */
    CODEC_MEDIA_JSON_PATCH,      /* application/json-patch+json */
    CODEC_MEDIA_STRATEGIC_PATCH, /* application/strategic-merge-patch+json */
    CODEC_MEDIA_APPLY_PATCH,     /* application/apply-patch+yaml (and +cbor: refused) */
    CODEC_MEDIA_UNKNOWN,
};

/* Classify a Content-Type header value (parameters ignored; NULL or "" is JSON). */
enum codec_media codec_media_of(const char *content_type);

/* Parse JSON text into a tree, rejecting nesting deeper than CODEC_MAX_DEPTH.
   NULL with *msg (caller frees) describing the problem and its position. */
json_t *codec_parse_json(const char *body, size_t len, bool reject_duplicates, char **msg);

/*
 * Decode a request body that should hold an object of `kind` (e.g. "Service"), as the create
 * and update handlers do. Returns a new reference, or NULL with a 400/415 in err.
 * A protobuf body is decoded only for the kinds the protobuf module knows.
 */
json_t *codec_decode_object(const char *content_type, const char *body, size_t len,
                            const char *kind, const char *version, struct apierr *err);

/*
 * A tree as compact JSON text exactly as Go's encoding/json writes it (kube-apiserver's
 * answers): HTML-safe escapes (\u003c \u003e \u0026, \u2028, \u2029), \b \f \n \r \t,
 * Go's float formatting, members in tree order. codec_json_dumps returns malloc'd, NUL-terminated
 * text (caller frees; *len_out may be NULL); codec_json_write appends to sb (0 or STRBUF_TOO_BIG).
 */
char *codec_json_dumps(const json_t *v, size_t *len_out);
int codec_json_write(struct strbuf *sb, const json_t *v);

/* How deep a tree nests (objects and arrays), counting the outermost as 1. Stops at limit+1. */
int codec_depth(const json_t *v, int limit);

/* ---- negotiation ----------------------------------------------------------------------------- */

enum codec_answer {
    CODEC_ANSWER_JSON,
    CODEC_ANSWER_YAML,
    CODEC_ANSWER_TABLE,     /* meta.k8s.io Table (version in codec_choice.version) */
    CODEC_ANSWER_PARTIAL,   /* PartialObjectMetadata / PartialObjectMetadataList */
    CODEC_ANSWER_DISCOVERY, /* apidiscovery.k8s.io APIGroupDiscoveryList */
};

struct codec_choice {
    enum codec_answer answer;
    char version[16];       /* "v1", "v1beta1" (Table, partial) or "v2", "v2beta1" (discovery) */
    char content_type[128]; /* the Content-Type to answer with */
};

enum codec_allow {
    CODEC_ALLOW_TABLE = 1u << 0,     /* the endpoint can answer Tables (object GET/LIST/WATCH) */
    CODEC_ALLOW_PARTIAL = 1u << 1,   /* ... and PartialObjectMetadata */
    CODEC_ALLOW_DISCOVERY = 1u << 2, /* /api and /apis: aggregated discovery */
    CODEC_ALLOW_YAML = 1u << 3,
};

/* Choose the answer form for an Accept header; 0, or -1 with a 406 in err. */
int codec_negotiate(const char *accept, unsigned allow, struct codec_choice *out,
                    struct apierr *err);

#endif
