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
#include "svc/field_error.h"
#include "svc/selector.h"
#include "svc/store.h"
#include "svc/strbuf.h"
#include "svc/util.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

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

/*
 * base64.RawURLEncoding.DecodeString: no padding, CR and LF skipped, and the first bad byte
 * reported by its index ("illegal base64 data at input byte N", which the caller writes).
 * Returns the bytes (caller frees), or NULL with *bad_at set.
 */
static char *base64url_decode(const char *s, size_t *len_out, size_t *bad_at)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    unsigned acc = 0;
    int bits = 0, in_quantum = 0;
    size_t i, last = 0;
    for (i = 0; s[i]; i++) {
        if (s[i] == '\r' || s[i] == '\n')
            continue;
        const char *pos = strchr(b64url, s[i]);
        if (!pos) {
            *bad_at = i;
            strbuf_release(&sb);
            return NULL;
        }
        last = i;
        in_quantum = (in_quantum + 1) % 4;
        acc = (acc << 6) | (unsigned)(pos - b64url);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            strbuf_addch(&sb, (char)((acc >> bits) & 0xff));
        }
    }
    if (in_quantum == 1) {
        /* One character cannot carry a byte: Go blames that character. */
        *bad_at = last;
        strbuf_release(&sb);
        return NULL;
    }
    return strbuf_detach(&sb, len_out);
}

/* The token of a page that ended with rel_key (relative to the list prefix), at revision rv
   (-1: "the latest", as etcd3's handleCompactedErrorForPaging writes it). */
static char *continue_encode(long long rv, const char *rel_key)
{
    struct strbuf start;
    strbuf_init(&start, STRBUF_NO_LIMIT);
    strbuf_addstr(&start, rel_key);
    /* json_stringn keeps the NUL that makes the next page start strictly after the key. */
    json_t *tok = json_pack("{s:s,s:I,s:o}", "v", "meta.k8s.io/v1", "rv", (json_int_t)rv, "start",
                            json_stringn(strbuf_str(&start), start.len + 1));
    strbuf_release(&start);
    char *text = ju_dumps(tok, JSON_COMPACT);
    json_decref(tok);
    char *out = base64url_encode(text, strlen(text));
    free(text);
    return out;
}

/* The member encoding/json would decode into a struct field: names match case-insensitively
   and the last match wins. NULL when absent or null (which leaves the field zero). */
static json_t *go_json_field(const json_t *obj, const char *name)
{
    json_t *found = NULL;
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)obj, k, v) {
        if (!strcasecmp(k, name))
            found = v;
    }
    return json_is_null(found) ? NULL : found;
}

/* The text of a json.Unmarshal failure of the token into storage's continueToken. */
static char *token_json_error(const char *raw, size_t len, json_t *tok, const json_error_t *jerr)
{
    if (!tok) {
        size_t i = 0;
        while (i < len && strchr(" \t\r\n", raw[i]))
            i++;
        if (i == len || (size_t)jerr->position >= len)
            return xstrdup("unexpected end of JSON input");
        if (!strchr("{[\"-0123456789tfn", raw[i]))
            return isprint((unsigned char)raw[i])
                       ? xasprintf("invalid character '%c' looking for beginning of value", raw[i])
                       : xasprintf("invalid character '\\x%02x' looking for beginning of value",
                                   (unsigned char)raw[i]);
        return xstrdup(jerr->text);
    }
    /* (null decodes into the zero token, which the checks after this refuse) */
    if (!json_is_object(tok) && !json_is_null(tok))
        return xasprintf("json: cannot unmarshal %s into Go value of type storage.continueToken",
                         ju_go_type_word(tok));
    static const struct {
        const char *name;
        const char *go_type;
    } fields[] = {{"v", "string"}, {"rv", "int64"}, {"start", "string"}};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        json_t *v = go_json_field(tok, fields[i].name);
        bool want_int = !strcmp(fields[i].go_type, "int64");
        if (!v || (want_int ? json_is_integer(v) : json_is_string(v)))
            continue;
        if (want_int && json_is_real(v)) {
            char num[64];
            snprintf(num, sizeof(num), "%g", json_real_value(v));
            return xasprintf("json: cannot unmarshal number %s into Go struct field "
                             "continueToken.%s of type int64",
                             num, fields[i].name);
        }
        return xasprintf("json: cannot unmarshal %s into Go struct field continueToken.%s of "
                         "type %s",
                         ju_go_type_word(v), fields[i].name, fields[i].go_type);
    }
    return NULL;
}

/* Is "/" + key what path.Clean leaves unchanged (no empty, "." or ".." segment, no trailing
   slash)? Upstream refuses a token whose key is not, against path traversal. */
static bool path_is_clean(const char *key, size_t n)
{
    size_t i = key[0] == '/' ? 1 : 0;
    if (i == n)
        return true; /* "/" */
    size_t seg = i;
    for (; i <= n; i++) {
        if (i < n && key[i] != '/')
            continue;
        size_t len = i - seg;
        if (len == 0 || (len == 1 && key[seg] == '.') ||
            (len == 2 && key[seg] == '.' && key[seg + 1] == '.'))
            return false;
        seg = i + 1;
    }
    return true;
}

/*
 * storage.DecodeContinue: 0 with *rv (positive: that revision; negative: the latest) and
 * *start_rel (the key relative to the list prefix, its trailing NUL removed; caller frees), or
 * -1 with the 400 upstream gives.
 */
static int continue_decode(const char *token, long long *rv, char **start_rel, struct apierr *err)
{
    size_t len = 0, bad_at = 0;
    char *why = NULL;
    json_t *tok = NULL;
    char *raw = base64url_decode(token, &len, &bad_at);
    if (!raw) {
        why = xasprintf("continue key is not valid: illegal base64 data at input byte %zu", bad_at);
        goto bad;
    }
    json_error_t jerr;
    tok = json_loadb(raw, len, JSON_ALLOW_NUL | JSON_DECODE_ANY, &jerr);
    char *jmsg = token_json_error(raw, len, tok, &jerr);
    free(raw);
    if (jmsg) {
        why = xasprintf("continue key is not valid: %s", jmsg);
        free(jmsg);
        goto bad;
    }
    json_t *jv = go_json_field(tok, "v"), *jrv = go_json_field(tok, "rv");
    json_t *jstart = go_json_field(tok, "start");
    const char *v = jv ? json_string_value(jv) : "";
    if (strcmp(v, "meta.k8s.io/v1")) {
        why = xasprintf("continue key is not valid: server does not recognize this encoded "
                        "version %s",
                        v);
        goto bad;
    }
    long long r = jrv ? (long long)json_integer_value(jrv) : 0;
    if (r == 0) {
        why = xstrdup("continue key is not valid: incorrect encoded start resourceVersion "
                      "(version meta.k8s.io/v1)");
        goto bad;
    }
    size_t n = jstart ? json_string_length(jstart) : 0;
    const char *s = jstart ? json_string_value(jstart) : "";
    if (n == 0) {
        why = xstrdup("continue key is not valid: encoded start key empty (version "
                      "meta.k8s.io/v1)");
        goto bad;
    }
    if (!path_is_clean(s, n)) {
        why = xasprintf("continue key is not valid: %.*s", (int)strnlen(s, n), s);
        goto bad;
    }
    /* keyPrefix + the cleaned key without its leading slash; the NUL that ends the previous
       page's key makes the next page start strictly after it, which start_after expresses. */
    if (s[0] == '/') {
        s++;
        n--;
    }
    if (n && s[n - 1] == '\0')
        n--;
    *rv = r;
    *start_rel = xstrndup(s, n);
    json_decref(tok);
    return 0;
bad:
    json_decref(tok);
    apierr_simple(err, APIERR_BAD_REQUEST, "invalid continue token: %s", why);
    free(why);
    return -1;
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
    if (f->labels && !label_selector_matches(
                         f->labels, ju_obj(ju_obj(store_obj_json(obj), "metadata"), "labels")))
        return false;
    if (f->fields) {
        char buf[64];
        void *gctx[3] = {(void *)f->kind, store_obj_json(obj), buf};
        if (!field_selector_matches(f->fields, field_get, gctx))
            return false;
    }
    return true;
}

/* The selectors' syntax, as DecodeParameters parses them: 0, or -1 with the 400. */
static int parse_selectors(const struct reg_kind *kind, const char *labels, const char *fields,
                           struct reg_filter *f, struct apierr *err)
{
    char *msg = NULL;
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    if (!ju_empty(labels)) {
        f->labels = label_selector_parse(labels, &msg);
        if (!f->labels)
            goto bad;
        if (label_selector_empty(f->labels)) {
            label_selector_free(f->labels);
            f->labels = NULL;
        }
    }
    if (!ju_empty(fields)) {
        f->fields = field_selector_parse(fields, &msg);
        if (!f->fields)
            goto bad;
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

/* The kind's field-label conversion (the selector's Transform in ListResource, after the
   ListOptions checks): 0, or -1 with the 400 for an unsupported field. */
static int check_fields(bool res_namespaced, struct reg_filter *f, struct apierr *err)
{
    char *msg = NULL;
    if (!f->fields)
        return 0;
    int rc;
    if (f->kind->selectable_fields) {
        /* The kind's own list plus the metadata fields every kind supports. */
        const char *all[32];
        size_t n = 0;
        all[n++] = "metadata.name";
        /* Cluster-scoped kinds (Namespace, Node) have no namespace field upstream. */
        if (res_namespaced)
            all[n++] = "metadata.namespace";
        for (const char *const *p = f->kind->selectable_fields; *p && n < 31; p++)
            all[n++] = *p;
        all[n] = NULL;
        rc = field_selector_check_supported(f->fields, all, &msg);
    } else {
        rc = field_selector_check_default(f->fields, &msg);
    }
    if (rc) {
        apierr_simple(err, APIERR_BAD_REQUEST, "%s", msg ? msg : "invalid selector");
        free(msg);
        return -1;
    }
    if (field_selector_empty(f->fields)) {
        field_selector_free(f->fields);
        f->fields = NULL;
    }
    return 0;
}

static void release_selectors(struct reg_filter *f)
{
    label_selector_free(f->labels);
    field_selector_free(f->fields);
    memset(f, 0, sizeof(*f));
}

struct reg_filter *reg_filter_new(const struct api_resource *res, const char *label_selector,
                                  const char *field_selector, struct apierr *err)
{
    struct reg_filter *f = xcalloc(1, sizeof(*f));
    if (parse_selectors(registry_kind(res), label_selector, field_selector, f, err) ||
        check_fields(res->namespaced, f, err)) {
        release_selectors(f);
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

/* ValidateListOptions of a list (apimachinery internalversion/validation): 0, or -1 with the
   422. */
static int validate_list_options(const struct reg_list_opts *opts, struct apierr *err)
{
    const char *match = opts->resource_version_match;
    const char *rv = opts->resource_version;
    struct field_errors errs;
    if (ju_empty(match) && !opts->send_initial_events)
        return 0;
    fe_init(&errs);
    if (ju_empty(match))
        goto initial_events;
    if (ju_empty(rv))
        fe_forbidden(&errs, "resourceVersionMatch",
                     "resourceVersionMatch is forbidden unless resourceVersion is provided");
    if (!ju_empty(opts->continue_token))
        fe_forbidden(&errs, "resourceVersionMatch",
                     "resourceVersionMatch is forbidden when continue is provided");
    if (strcmp(match, "Exact") && strcmp(match, "NotOlderThan")) {
        static const char *const supported[] = {"Exact", "NotOlderThan", ""};
        char *q = fe_quote(match);
        fe_not_supported(&errs, "resourceVersionMatch", q, supported, 3);
        free(q);
    }
    if (!strcmp(match, "Exact") && rv && !strcmp(rv, "0"))
        fe_forbidden(&errs, "resourceVersionMatch",
                     "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"");
initial_events:
    if (opts->send_initial_events)
        fe_forbidden(&errs, "sendInitialEvents", "sendInitialEvents is forbidden for list");
    int rc = 0;
    if (errs.len)
        rc = apierr_invalid(err, "meta.k8s.io", "ListOptions", "", &errs);
    fe_release(&errs);
    return rc;
}

/* storage.ValidateListOptions's 400 for a version that does not parse. */
static int invalid_rv(const char *rv, int rc, struct apierr *err)
{
    struct field_errors errs;
    fe_init(&errs);
    char *q = fe_quote(rv);
    char *detail = xasprintf("strconv.ParseUint: parsing %s: %s", q,
                             rc == 2 ? "value out of range" : "invalid syntax");
    fe_invalid(&errs, "resourceVersion", q, detail);
    char *msg = fe_aggregate(&errs);
    apierr_simple(err, APIERR_BAD_REQUEST, "invalid resource version: %s", msg);
    free(msg);
    free(detail);
    free(q);
    fe_release(&errs);
    return -1;
}

/* storage.NewTooLargeResourceVersionError, as the watch cache returns it after its wait. */
static int too_large_rv(uint64_t rv, uint64_t now, struct apierr *err)
{
    apierr_simple(err, APIERR_TIMEOUT, "Timeout: Too large resource version: %llu, current: %llu",
                  (unsigned long long)rv, (unsigned long long)now);
    err->retry_after_seconds = 1;
    err->causes = json_pack("[{s:s,s:s}]", "reason", "ResourceVersionTooLarge", "message",
                            "Too large resource version");
    return -1;
}

/*
 * Which state a list reads, after apiserver's cacher and its delegation to etcd (v0.33
 * delegator.ShouldDelegateList, watchCache.list, etcd3 GetList): a continue token reads its
 * revision (a negative one: the latest); Exact, and the legacy "limit with a version", read
 * that revision; everything else reads the current state, which must not be older than the
 * version asked for. "0" reads the cache with no paging at all (computeListLimit).
 */
int registry_list(struct registry *reg, const struct reg_req *req, const struct reg_list_opts *opts,
                  struct reg_list *out, struct apierr *err)
{
    const struct reg_kind *kind = registry_kind(req->res);
    struct reg_filter f;
    char *prefix = registry_prefix(req->res, req->ns);
    char *start_rel = NULL, *start_key = NULL;
    const char *rvs = opts->resource_version;
    const char *match = opts->resource_version_match;
    int rc = -1;
    memset(out, 0, sizeof(*out));
    out->remaining = -1;
    /* In upstream's order: parameter decoding, ListOptions validation, field labels. */
    if (parse_selectors(kind, opts->label_selector, opts->field_selector, &f, err)) {
        free(prefix);
        return -1;
    }
    if (validate_list_options(opts, err) || check_fields(req->res->namespaced, &f, err))
        goto out;
    struct store_list_opts lo = {.prefix = prefix,
                                 .limit = opts->limit,
                                 .filter = (f.labels || f.fields) ? filter_accepts : NULL,
                                 .filter_ctx = &f};
    uint64_t rv = 0;
    if (!ju_empty(opts->continue_token)) {
        long long tok_rv = 0;
        if (continue_decode(opts->continue_token, &tok_rv, &start_rel, err))
            goto out;
        if (!ju_empty(rvs) && strcmp(rvs, "0")) {
            apierr_simple(err, APIERR_BAD_REQUEST,
                          "specifying resource version is not allowed when using continue");
            goto out;
        }
        start_key = xasprintf("%s%s", prefix, start_rel);
        lo.start_after = start_key;
        lo.at_rv = tok_rv > 0 ? (uint64_t)tok_rv : 0;
    } else if (!ju_empty(rvs)) {
        int prc = util_parse_uint64(rvs, &rv);
        if (prc) {
            invalid_rv(rvs, prc, err);
            goto out;
        }
        bool exact = (match && !strcmp(match, "Exact")) ||
                     (ju_empty(match) && opts->limit && strcmp(rvs, "0"));
        uint64_t now = store_revision(reg->store);
        if (rv > now) {
            too_large_rv(rv, now, err);
            goto out;
        }
        if (exact && rv)
            lo.at_rv = rv;
        if (!strcmp(rvs, "0"))
            lo.limit = 0;
    }
    struct store_list_result lr;
    int src = store_list(reg->store, &lo, &lr);
    if (src == STORE_ERR_EXPIRED) {
        /* What etcd3's interpretListError says once the revision is compacted; an expired
           page also gets a fresh token (rv -1: continue at the latest revision from the same
           key, handleCompactedErrorForPaging). */
        if (start_key) {
            apierr_simple(err, APIERR_EXPIRED,
                          "The provided continue parameter is too old to display a consistent "
                          "list result. You can start a new list without the continue parameter, "
                          "or use the continue token in this response to retrieve the remainder "
                          "of the results. Continuing with the provided token results in an "
                          "inconsistent list - objects that were created, modified, or deleted "
                          "between the time the first chunk was returned and now may show up in "
                          "the list.");
            err->list_continue = continue_encode(-1, start_rel);
        } else
            apierr_simple(err, APIERR_EXPIRED,
                          "The resourceVersion for the provided list is too old.");
        goto out;
    }
    if (src == STORE_ERR_TOO_NEW) {
        too_large_rv(lo.at_rv, store_revision(reg->store), err);
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
        out->continue_token = continue_encode((long long)lr.rv, last + strlen(prefix));
    }
    rc = 0;
out:
    release_selectors(&f);
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
        one.ns = ju_meta_str(store_obj_json(all.items[i]), "namespace");
        one.name = ju_meta_str(store_obj_json(all.items[i]), "name");
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
