/*
 * list: LIST and deletecollection in the registry: label and field selectors, paging with
 * continue tokens, and the resourceVersion / resourceVersionMatch semantics of
 * apiserver's storage layer (service-semantics.md §8.8 and §8.10).
 *
 * A continue token is what etcd3's storage layer writes: base64url without padding of
 * {"v":"meta.k8s.io/v1","rv":<list revision>,"start":"<last key relative to the prefix>\u0000"}.
 * Later pages are read at the token's revision, rebuilt from the event log, so a paged list is
 * one consistent snapshot; once the log has moved past it the token has expired (410).
 */
#include "registry_private.h"

#include "svc/api.h"
#include "svc/apierr.h"
#include "svc/selector.h"
#include "svc/store.h"
#include "svc/strbuf.h"
#include "svc/util.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *base64url_encode(const char *data, size_t len)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    const unsigned char *p = (const unsigned char *)data;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        strbuf_addch(&sb, b64url[(v >> 18) & 63]);
        strbuf_addch(&sb, b64url[(v >> 12) & 63]);
        if (i + 1 < len)
            strbuf_addch(&sb, b64url[(v >> 6) & 63]);
        if (i + 2 < len)
            strbuf_addch(&sb, b64url[v & 63]);
    }
    return strbuf_detach(&sb, NULL);
}

/* Decode base64url (padding tolerated); NULL when malformed. */
static char *base64url_decode(const char *s, size_t *len_out)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    unsigned acc = 0;
    int bits = 0;
    for (const char *p = s; *p && *p != '='; p++) {
        const char *pos = strchr(b64url, *p);
        if (!pos || !*p) {
            strbuf_release(&sb);
            return NULL;
        }
        acc = (acc << 6) | (unsigned)(pos - b64url);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            strbuf_addch(&sb, (char)((acc >> bits) & 0xff));
        }
    }
    return strbuf_detach(&sb, len_out);
}

static char *continue_encode(uint64_t rv, const char *rel_key)
{
    struct strbuf start;
    strbuf_init(&start, STRBUF_NO_LIMIT);
    strbuf_addstr(&start, rel_key);
    /* json_stringn keeps the NUL that makes the next page start strictly after the key. */
    json_t *tok = json_pack("{s:s,s:I,s:o}", "v", "meta.k8s.io/v1", "rv", (json_int_t)rv, "start",
                            json_stringn(strbuf_str(&start), start.len + 1));
    strbuf_release(&start);
    char *text = json_dumps(tok, JSON_COMPACT);
    json_decref(tok);
    char *out = base64url_encode(text, strlen(text));
    free(text);
    return out;
}

/* 0 with *rv and *start_rel (caller frees) set, or -1 with a 400 in err. */
static int continue_decode(const char *token, uint64_t *rv, char **start_rel, struct apierr *err)
{
    size_t len;
    char *raw = base64url_decode(token, &len);
    json_error_t jerr;
    json_t *tok = raw ? json_loadb(raw, len, JSON_ALLOW_NUL, &jerr) : NULL;
    free(raw);
    const char *v = ju_str(tok, "v");
    json_t *jrv = ju_get(tok, "rv");
    json_t *jstart = ju_get(tok, "start");
    if (!tok || !v || strcmp(v, "meta.k8s.io/v1") || !json_is_integer(jrv) ||
        json_integer_value(jrv) <= 0 || !json_is_string(jstart)) {
        json_decref(tok);
        return apierr_simple(err, APIERR_BAD_REQUEST,
                             "invalid continue token: continue key is not valid: %s",
                             !tok ? "illegal base64 data" : "incorrect encoded start resourceVersion "
                                                             "(version meta.k8s.io/v1)");
    }
    size_t n = json_string_length(jstart);
    const char *s = json_string_value(jstart);
    /* The key the previous page ended with, followed by the NUL that starts after it. */
    if (n && s[n - 1] == '\0')
        n--;
    if (memchr(s, '\0', n) || strstr(s, "..") || (n && s[0] == '/')) {
        json_decref(tok);
        return apierr_simple(err, APIERR_BAD_REQUEST,
                             "invalid continue token: continue key is not valid: %s",
                             "key must not contain a relative path or NUL");
    }
    *rv = (uint64_t)json_integer_value(jrv);
    *start_rel = xstrndup(s, n);
    json_decref(tok);
    return 0;
}

struct reg_filter {
    const struct reg_kind *kind;
    struct label_selector *labels;
    struct field_selector *fields;
};

static const char *field_get(void *ctx, const char *field)
{
    void **c = ctx;
    const struct reg_kind *kind = c[0];
    const json_t *obj = c[1];
    char *buf = c[2];
    if (!strcmp(field, "metadata.name"))
        return ju_meta_str(obj, "name");
    if (!strcmp(field, "metadata.namespace")) {
        const char *ns = ju_meta_str(obj, "namespace");
        return ns ? ns : "";
    }
    return kind->field_value ? kind->field_value(obj, field, buf) : NULL;
}

static bool filter_accepts(void *ctx, const struct store_obj *obj)
{
    struct reg_filter *f = ctx;
    if (f->labels && !label_selector_matches(f->labels, ju_obj(ju_obj(obj->json, "metadata"),
                                                                "labels")))
        return false;
    if (f->fields) {
        char buf[64];
        void *gctx[3] = {(void *)f->kind, obj->json, buf};
        if (!field_selector_matches(f->fields, field_get, gctx))
            return false;
    }
    return true;
}

static int parse_selectors(const struct reg_kind *kind, bool res_namespaced,
                           const struct reg_list_opts *opts, struct reg_filter *f,
                           struct apierr *err)
{
    char *msg = NULL;
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    if (!ju_empty(opts->label_selector)) {
        f->labels = label_selector_parse(opts->label_selector, &msg);
        if (!f->labels)
            goto bad;
        if (label_selector_empty(f->labels)) {
            label_selector_free(f->labels);
            f->labels = NULL;
        }
    }
    if (!ju_empty(opts->field_selector)) {
        f->fields = field_selector_parse(opts->field_selector, &msg);
        if (!f->fields)
            goto bad;
        int rc;
        if (kind->selectable_fields) {
            /* The kind's own list plus the two metadata fields every kind supports. */
            const char *all[32];
            size_t n = 0;
            all[n++] = "metadata.name";
            /* Cluster-scoped kinds (Namespace, Node) have no namespace field upstream. */
            if (res_namespaced)
                all[n++] = "metadata.namespace";
            for (const char *const *p = kind->selectable_fields; *p && n < 31; p++)
                all[n++] = *p;
            all[n] = NULL;
            rc = field_selector_check_supported(f->fields, all, &msg);
        } else {
            rc = field_selector_check_default(f->fields, &msg);
        }
        if (rc)
            goto bad;
        if (field_selector_empty(f->fields)) {
            field_selector_free(f->fields);
            f->fields = NULL;
        }
    }
    return 0;
bad:
    apierr_simple(err, APIERR_BAD_REQUEST, "%s", msg ? msg : "invalid selector");
    free(msg);
    label_selector_free(f->labels);
    field_selector_free(f->fields);
    memset(f, 0, sizeof(*f));
    return -1;
}

struct reg_filter *reg_filter_new(const struct api_resource *res, const char *label_selector,
                                  const char *field_selector, struct apierr *err)
{
    struct reg_filter *f = xcalloc(1, sizeof(*f));
    struct reg_list_opts lo = {.label_selector = label_selector,
                               .field_selector = field_selector};
    if (parse_selectors(registry_kind(res), res->namespaced, &lo, f, err)) {
        free(f);
        return NULL;
    }
    return f;
}

void reg_filter_free(struct reg_filter *f)
{
    if (!f)
        return;
    label_selector_free(f->labels);
    field_selector_free(f->fields);
    free(f);
}

bool reg_filter_empty(const struct reg_filter *f)
{
    return !f->labels && !f->fields;
}

bool reg_filter_match(const struct reg_filter *f, const struct store_obj *obj)
{
    return filter_accepts((void *)f, obj);
}

static int parse_rv(const char *s, uint64_t *out)
{
    if (ju_empty(s))
        return 1; /* absent */
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

int registry_list(struct registry *reg, const struct reg_req *req,
                  const struct reg_list_opts *opts, struct reg_list *out, struct apierr *err)
{
    const struct reg_kind *kind = registry_kind(req->res);
    struct reg_filter f;
    char *prefix = registry_prefix(req->res, req->ns);
    char *start_rel = NULL, *start_key = NULL;
    int rc = -1;
    memset(out, 0, sizeof(*out));
    out->remaining = -1;
    if (parse_selectors(kind, req->res->namespaced, opts, &f, err)) {
        free(prefix);
        return -1;
    }
    struct store_list_opts lo = {.prefix = prefix, .limit = opts->limit,
                                 .filter = (f.labels || f.fields) ? filter_accepts : NULL,
                                 .filter_ctx = &f};
    uint64_t rv = 0;
    int has_rv = parse_rv(opts->resource_version, &rv);
    const char *match = opts->resource_version_match;
    if (has_rv < 0) {
        apierr_simple(err, APIERR_BAD_REQUEST, "invalid resource version: %s",
                      opts->resource_version);
        goto out;
    }
    if (!ju_empty(match) && strcmp(match, "NotOlderThan") && strcmp(match, "Exact")) {
        apierr_simple(err, APIERR_BAD_REQUEST,
                      "resourceVersionMatch: Unsupported value: \"%s\": supported values: "
                      "\"Exact\", \"NotOlderThan\"", match);
        goto out;
    }
    if (!ju_empty(match) && has_rv) {
        apierr_simple(err, APIERR_BAD_REQUEST,
                      "resourceVersionMatch is forbidden unless resourceVersion is provided");
        goto out;
    }
    if (!ju_empty(opts->continue_token)) {
        uint64_t tok_rv = 0;
        if (continue_decode(opts->continue_token, &tok_rv, &start_rel, err))
            goto out;
        if (has_rv == 0 && rv != 0) {
            apierr_simple(err, APIERR_BAD_REQUEST,
                          "specifying resource version is not allowed when using continue");
            goto out;
        }
        start_key = xasprintf("%s%s", prefix, start_rel);
        lo.start_after = start_key;
        lo.at_rv = tok_rv;
    } else if (has_rv == 0 && rv != 0) {
        /* Exact, or a paged list from a given revision (the legacy meaning of limit + rv). */
        bool exact = (match && !strcmp(match, "Exact")) || (ju_empty(match) && opts->limit);
        uint64_t now = store_revision(reg->store);
        if (rv > now) {
            apierr_simple(err, APIERR_TIMEOUT, "Too large resource version: %llu, current: %llu",
                          (unsigned long long)rv, (unsigned long long)now);
            goto out;
        }
        if (exact)
            lo.at_rv = rv;
    }
    struct store_list_result lr;
    int src = store_list(reg->store, &lo, &lr);
    if (src == STORE_ERR_EXPIRED) {
        if (start_key) {
            apierr_simple(err, APIERR_EXPIRED,
                          "The provided continue parameter is too old to display a consistent "
                          "list result. You can start a new list without the continue parameter, "
                          "or use the continue token in this response to retrieve the remainder "
                          "of the results. Continuing with the provided token results in an "
                          "inconsistent list - objects that were created, modified, or deleted "
                          "between the time the first chunk was returned and now may show up in "
                          "the list.");
        } else {
            apierr_simple(err, APIERR_EXPIRED,
                          "The resourceVersion for the provided list is too old.");
        }
        goto out;
    }
    if (src != STORE_OK) {
        apierr_internal(err, "storage error %d", src);
        goto out;
    }
    out->items = lr.items;
    out->n = lr.n;
    out->rv = lr.rv;
    out->remaining = lr.more ? lr.remaining : -1;
    if (lr.more && lr.n) {
        const char *last = lr.items[lr.n - 1]->key;
        out->continue_token = continue_encode(lr.rv, last + strlen(prefix));
    }
    rc = 0;
out:
    label_selector_free(f.labels);
    field_selector_free(f.fields);
    free(prefix);
    free(start_rel);
    free(start_key);
    return rc;
}

int registry_delete_collection(struct registry *reg, const struct reg_req *req,
                               const struct reg_list_opts *opts, const json_t *options,
                               struct reg_list *out, struct apierr *err)
{
    struct reg_list all;
    struct reg_list_opts lo = *opts;
    lo.limit = 0;
    lo.continue_token = NULL;
    if (registry_list(reg, req, &lo, &all, err))
        return -1;
    memset(out, 0, sizeof(*out));
    out->remaining = -1;
    out->items = xcalloc(all.n ? all.n : 1, sizeof(*out->items));
    for (size_t i = 0; i < all.n; i++) {
        struct reg_req one = *req;
        one.ns = ju_meta_str(all.items[i]->json, "namespace");
        one.name = ju_meta_str(all.items[i]->json, "name");
        struct reg_result res;
        struct apierr e;
        apierr_init(&e);
        /* An object deleted meanwhile by someone else is simply not in the answer. */
        if (!registry_delete(reg, &one, options, &res, &e)) {
            out->items[out->n++] = store_obj_ref(res.obj ? res.obj : all.items[i]);
            reg_result_release(&res);
        }
        apierr_release(&e);
    }
    out->rv = store_revision(reg->store);
    reg_list_release(&all);
    return 0;
}
