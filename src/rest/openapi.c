/*
 * openapi: the HTTP side of /openapi/v2, /openapi/v3 and /openapi/v3/<group-version>.
 *
 * The documents are built at compile time (tools/openapi_gen.c, data in src/api_data.c); this
 * file only chooses which bytes to send, after kube-openapi's handlers (pkg/handler for v2,
 * pkg/handler3 for v3) as kube-apiserver 1.33 serves them:
 * - v2: the Accept header is read like goautoneg does; the first clause, by quality then
 *   specificity, that names JSON or the protobuf (dotted or "@" spelling) picks the form. The
 *   protobuf is always labelled with the dotted media type, since kubectl cannot parse the "@"
 *   one it asks for. No match answers 406 with an empty body.
 * - v3 index: always JSON.
 * - v3 group version: JSON only (we do not produce the v3 protobuf); an unknown group version
 *   is a bare 404, as kube-aggregator answers. With ?hash= equal to the document's hash the
 *   answer may be cached forever; a stale hash is redirected (301) to the current URL.
 * Depends on the REST types and strbuf; never parses or changes the documents.
 */
#include "svc/openapi.h"

#include "svc/rest.h"
#include "svc/strbuf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Accept headers are request data: only this many clauses are looked at. */
#define OPENAPI_MAX_CLAUSES 32

/* One media range of an Accept header: type/subtype and its quality. */
struct accept_clause {
    char type[64];
    char subtype[128];
    double q;
};

/* What a v2 or v3 handler can send: a media range it answers to, and the Content-Type used. */
struct openapi_form {
    const char *type;
    const char *subtype;
    const char *content_type;
    bool protobuf;
};

static const struct openapi_form v2_forms[] = {
    {"application", "json", "application/json", false},
    {"application", "com.github.proto-openapi.spec.v2@v1.0+protobuf", OPENAPI_V2_PROTOBUF_TYPE,
     true},
    {"application", "com.github.proto-openapi.spec.v2.v1.0+protobuf", OPENAPI_V2_PROTOBUF_TYPE,
     true},
};

static const struct openapi_form v3_forms[] = {
    {"application", "json", "application/json", false},
};

static void trim(const char **s, size_t *len)
{
    while (*len && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*len)--;
    }
    while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

static void copy_token(char *dst, size_t dst_len, const char *src, size_t len)
{
    if (len >= dst_len)
        len = dst_len - 1; /* a longer token cannot match anything we serve */
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/*
 * goautoneg.ParseAccept: clauses "type/subtype;q=x;...", a bare "*" meaning any type, q defaulting
 * to 1; then sorted by descending q, concrete types before wildcards. The sort is an insertion
 * sort, which for headers of this size orders ties as Go's sort.Sort does (in input order).
 */
static size_t parse_accept(const char *header, struct accept_clause *out, size_t max)
{
    size_t n = 0;
    const char *p = header;
    while (*p && n < max) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *clause = p;
        const char *semi = memchr(p, ';', len);
        size_t range_len = semi ? (size_t)(semi - p) : len;
        trim(&clause, &range_len);
        struct accept_clause c = {.q = 1.0};
        const char *slash = memchr(clause, '/', range_len);
        if (slash) {
            const char *type = clause, *sub = slash + 1;
            size_t type_len = (size_t)(slash - clause);
            size_t sub_len = range_len - type_len - 1;
            trim(&type, &type_len);
            trim(&sub, &sub_len);
            copy_token(c.type, sizeof(c.type), type, type_len);
            copy_token(c.subtype, sizeof(c.subtype), sub, sub_len);
        } else {
            copy_token(c.type, sizeof(c.type), clause, range_len);
            snprintf(c.subtype, sizeof(c.subtype), "%s", strcmp(c.type, "*") ? "" : "*");
        }
        /* parameters: only q matters here */
        for (const char *param = semi; param && param < p + len;) {
            const char *next = memchr(param + 1, ';', (size_t)(p + len - param - 1));
            const char *name = param + 1;
            size_t plen = (next ? (size_t)(next - param) : (size_t)(p + len - param)) - 1;
            trim(&name, &plen);
            if (plen > 2 && name[0] == 'q' && name[1] == '=') {
                char num[32];
                copy_token(num, sizeof(num), name + 2, plen - 2);
                c.q = strtod(num, NULL);
            }
            param = next;
        }
        out[n++] = c;
        if (!end)
            break;
        p = end + 1;
    }
    for (size_t i = 1; i < n; i++) {
        struct accept_clause c = out[i];
        size_t j = i;
        while (j > 0) {
            /* goautoneg's Less, quirk included: a concrete type goes before a wildcard even
               when its q is lower. */
            const struct accept_clause *a = &c, *b = &out[j - 1];
            bool before = a->q > b->q || (strcmp(a->type, "*") && !strcmp(b->type, "*")) ||
                          (strcmp(a->subtype, "*") && !strcmp(b->subtype, "*"));
            if (!before)
                break;
            out[j] = out[j - 1];
            j--;
        }
        out[j] = c;
    }
    return n;
}

/* The form to answer with, or NULL when no clause names one of forms (406). */
static const struct openapi_form *choose(const char *accept, const struct openapi_form *forms,
                                         size_t n_forms)
{
    struct accept_clause clauses[OPENAPI_MAX_CLAUSES];
    size_t n = parse_accept(accept && *accept ? accept : "*/*", clauses, OPENAPI_MAX_CLAUSES);
    for (size_t i = 0; i < n; i++) {
        for (size_t f = 0; f < n_forms; f++) {
            if (strcmp(clauses[i].type, forms[f].type) && strcmp(clauses[i].type, "*"))
                continue;
            if (strcmp(clauses[i].subtype, forms[f].subtype) && strcmp(clauses[i].subtype, "*"))
                continue;
            return &forms[f];
        }
    }
    return NULL;
}

/*
 * Response headers beyond Content-Type (ETag, Vary, Cache-Control, Expires, Location) need a
 * header list in struct rest_response; REST_RESPONSE_HEADERS says the REST layer has one. Without
 * it the answers are the same documents, only never cached and never redirected.
 */
static bool set_header(struct rest_response *resp, const char *name, const char *value)
{
#ifdef REST_RESPONSE_HEADERS
    rest_response_set_header(resp, name, value);
    return true;
#else
    (void)resp;
    (void)name;
    (void)value;
    return false;
#endif
}

static void set_etag(struct rest_response *resp, const char *hash)
{
    char etag[160];
    snprintf(etag, sizeof(etag), "\"%s\"", hash);
    set_header(resp, "Etag", etag);
}

static void respond_bytes(struct rest_response *resp, int status, const char *content_type,
                          const char *data, size_t len)
{
    strbuf_reset(&resp->body);
    resp->status = status;
    snprintf(resp->content_type, sizeof(resp->content_type), "%s", content_type);
    if (len)
        strbuf_add(&resp->body, data, len);
}

/* kube-openapi writes a bare status with no body for 404 and 406. */
static void respond_empty(struct rest_response *resp, int status)
{
    respond_bytes(resp, status, "text/plain; charset=utf-8", NULL, 0);
}

static void serve_v2(const struct rest_request *req, struct rest_response *resp)
{
    set_header(resp, "Vary", "Accept");
    const struct openapi_form *form =
        choose(req->accept, v2_forms, sizeof(v2_forms) / sizeof(v2_forms[0]));
    if (!form) {
        respond_empty(resp, 406);
        return;
    }
    /* Both forms share the ETag of the JSON, as upstream's caches do (Vary keeps them apart). */
    set_etag(resp, svc_openapi_v2_hash);
    if (form->protobuf)
        respond_bytes(resp, 200, form->content_type, svc_openapi_v2_pb, svc_openapi_v2_pb_len);
    else
        respond_bytes(resp, 200, form->content_type, svc_openapi_v2_json, svc_openapi_v2_json_len);
}

static void serve_v3_index(struct rest_response *resp)
{
    set_etag(resp, svc_openapi_v3_index_hash);
    respond_bytes(resp, 200, "application/json", svc_openapi_v3_index_json,
                  svc_openapi_v3_index_json_len);
}

const struct openapi_v3_doc *openapi_v3_find(const char *path)
{
    for (size_t i = 0; path && i < svc_openapi_v3_n_docs; i++)
        if (!strcmp(svc_openapi_v3_docs[i].path, path))
            return &svc_openapi_v3_docs[i];
    return NULL;
}

static void serve_v3_doc(const struct rest_request *req, const char *path,
                         struct rest_response *resp)
{
    const struct openapi_v3_doc *doc = openapi_v3_find(path);
    if (!doc) {
        respond_empty(resp, 404);
        return;
    }
    set_header(resp, "Vary", "Accept");
    const struct openapi_form *form =
        choose(req->accept, v3_forms, sizeof(v3_forms) / sizeof(v3_forms[0]));
    if (!form) {
        respond_empty(resp, 406);
        return;
    }
    set_etag(resp, doc->hash);
    const char *hash = rest_param(req, "hash");
    if (hash && *hash) {
        if (strcmp(hash, doc->hash)) {
            /* A client holding an old index: send it to the document as it is now. */
            char location[512];
            snprintf(location, sizeof(location), "/openapi/v3/%s?hash=%s", doc->path, doc->hash);
            if (set_header(resp, "Location", location)) {
                respond_bytes(resp, 301, "text/html; charset=utf-8", NULL, 0);
                return;
            }
        } else {
            /* The URL names this exact content: it may be cached for good. Upstream formats Expires
               with Go's RFC1123 layout in the server's zone, UTC on a cluster. */
            char expires[64];
            time_t later = time(NULL) + 365 * 24 * 3600;
            struct tm tm;
            gmtime_r(&later, &tm);
            strftime(expires, sizeof(expires), "%a, %d %b %Y %H:%M:%S UTC", &tm);
            set_header(resp, "Cache-Control", "public, immutable");
            set_header(resp, "Expires", expires);
        }
    }
    respond_bytes(resp, 200, form->content_type, doc->json, doc->json_len);
}

void openapi_handle(const struct rest_request *req, const struct route *route,
                    struct rest_response *resp)
{
    switch (route->kind) {
    case ROUTE_OPENAPI_V2:
        serve_v2(req, resp);
        return;
    case ROUTE_OPENAPI_V3:
        serve_v3_index(resp);
        return;
    case ROUTE_OPENAPI_V3_GV:
        serve_v3_doc(req, route->extra, resp);
        return;
    default:
        respond_empty(resp, 404);
        return;
    }
}
