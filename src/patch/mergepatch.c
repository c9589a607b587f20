/*
 * mergepatch: JSON merge patch (RFC 7386) exactly as kube-apiserver applies it, that is as
 * github.com/evanphx/json-patch v4.12.0 MergePatch merges after patch.go's own decoding; plus
 * what the three patch files share: the error constructors, the strict-error list and the work
 * budget. It must not depend on the strategic merge (strategic.c) nor on HTTP.
 */
#include "patch_private.h"

#include "svc/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors ------------------------------------------------------------------------------------
 */

void patch_error_init(struct patch_error *err)
{
    memset(err, 0, sizeof(*err));
    err->reason = "";
}

void patch_error_release(struct patch_error *err)
{
    free(err->message);
    free(err->cause);
    free(err->detail);
    patch_error_init(err);
}

static void perr_set(struct patch_error *err, int code, const char *reason, const char *message,
                     const char *detail)
{
    patch_error_release(err);
    err->code = code;
    err->reason = reason;
    err->message = xstrdup(message);
    err->detail = xstrdup(detail);
}

void perr_bad_request(struct patch_error *err, const char *msg)
{
    perr_set(err, 400, "BadRequest", msg, msg);
}

void perr_invalid(struct patch_error *err, const char *detail)
{
    /* errors.NewGenericServerResponse(422, ...) drops the underlying text: the client only ever
     * sees this generic sentence, and kubectl prints "The request is invalid: ...". */
    perr_set(err, 422, "Invalid", "the server rejected our request due to an error in our request",
             detail);
    err->details_empty = true;
}

void perr_internal(struct patch_error *err, const char *msg)
{
    /* responsewriters.ErrorToAPIStatus: a plain error becomes 500 with StatusReasonUnknown (""). */
    perr_set(err, 500, "", msg, msg);
}

void perr_panic(struct patch_error *err, const char *detail)
{
    perr_set(err, 500, "", "This request caused apiserver to panic. Look in the logs for details.",
             detail);
    err->plain_text = true;
}

void perr_too_large(struct patch_error *err, const char *msg)
{
    char *m = xasprintf("Request entity too large: %s", msg);
    perr_set(err, 413, "RequestEntityTooLarge", m, m);
    free(m);
}

void perr_too_complex(struct patch_error *err)
{
    perr_too_large(err, "the patch needs too much work or nests too deeply to be applied");
}

/* ---- strict findings
 * ----------------------------------------------------------------------------- */

void patch_strict_init(struct patch_strict *s)
{
    memset(s, 0, sizeof(*s));
}

void patch_strict_release(struct patch_strict *s)
{
    for (size_t i = 0; i < s->len; i++)
        free(s->items[i]);
    free(s->items);
    patch_strict_init(s);
}

void pstrict_add(struct patch_strict *s, const char *msg)
{
    if (s->len >= PATCH_MAX_STRICT_ERRORS)
        return;
    for (size_t i = 0; i < s->len; i++) {
        if (strcmp(s->items[i], msg) == 0)
            return;
    }
    if (s->len == s->alloc) {
        s->alloc = s->alloc ? s->alloc * 2 : 8;
        s->items = xrealloc(s->items, s->alloc * sizeof(*s->items));
    }
    s->items[s->len++] = xstrdup(msg);
}

/* ---- budget and depth --------------------------------------------------------------------------
 */

void pbudget_init(struct pbudget *b)
{
    b->left = PATCH_MAX_WORK;
    b->exhausted = false;
}

bool pbudget_spend(struct pbudget *b, uint64_t n)
{
    if (b->exhausted || n > b->left) {
        b->exhausted = true;
        b->left = 0;
        return false;
    }
    b->left -= n;
    return true;
}

static int depth_rec(const json_t *v, int level, int limit)
{
    int best = level;
    if (level > limit)
        return level;
    if (json_is_object(v)) {
        const char *k;
        json_t *child;
        json_object_foreach ((json_t *)v, k, child) {
            int d = depth_rec(child, level + 1, limit);
            if (d > best)
                best = d;
            if (best > limit)
                break;
        }
        if (best == level)
            best = level + 1;
    } else if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach (v, i, child) {
            int d = depth_rec(child, level + 1, limit);
            if (d > best)
                best = d;
            if (best > limit)
                break;
        }
        if (best == level)
            best = level + 1;
    }
    return best;
}

int pjson_depth(const json_t *value, int limit)
{
    return depth_rec(value, 0, limit);
}

/* ---- media types -------------------------------------------------------------------------------
 */

int patch_type_parse(const char *media_type, enum patch_type *out)
{
    static const struct {
        const char *name;
        enum patch_type type;
    } types[] = {
        {"application/json-patch+json", PATCH_TYPE_JSON},
        {"application/merge-patch+json", PATCH_TYPE_MERGE},
        {"application/strategic-merge-patch+json", PATCH_TYPE_STRATEGIC},
    };
    if (!media_type)
        return -1;
    /* patch.go compares the header byte for byte once the parameters are cut off. */
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(media_type, types[i].name) == 0) {
            *out = types[i].type;
            return 0;
        }
    }
    return -1;
}

/* ---- RFC 7386 as evanphx/json-patch merges ----------------------------------------------------
 */

static void prune_nulls(json_t *v);

static void prune_doc_nulls(json_t *obj)
{
    const char *k;
    json_t *child;
    void *tmp;
    json_object_foreach_safe (obj, tmp, k, child) {
        if (json_is_null(child))
            json_object_del(obj, k);
        else
            prune_nulls(child);
    }
}

/* pruneAryNulls: null elements stay; only the objects inside lose their null members. */
static void prune_ary_nulls(json_t *arr)
{
    size_t i;
    json_t *child;
    json_array_foreach (arr, i, child) {
        if (!json_is_null(child))
            prune_nulls(child);
    }
}

static void prune_nulls(json_t *v)
{
    if (json_is_object(v))
        prune_doc_nulls(v);
    else if (json_is_array(v))
        prune_ary_nulls(v);
}

static void merge_docs(json_t *doc, json_t *patch);

/* merge(cur, patch): returns a borrowed reference to the value that takes cur's place. */
static json_t *merge_value(json_t *cur, json_t *patch)
{
    if (!json_is_object(cur)) {
        prune_nulls(patch);
        return patch;
    }
    /* A non-object patch replaces an object as it is: evanphx does not prune it here. */
    if (!json_is_object(patch))
        return patch;
    merge_docs(cur, patch);
    return cur;
}

static void merge_docs(json_t *doc, json_t *patch)
{
    const char *k;
    json_t *v;
    json_object_foreach (patch, k, v) {
        if (json_is_null(v)) {
            json_object_del(doc, k);
            continue;
        }
        json_t *cur = json_object_get(doc, k);
        if (!cur || json_is_null(cur)) {
            prune_nulls(v);
            json_object_set(doc, k, v);
        } else {
            json_t *merged = merge_value(cur, v);
            if (merged != cur)
                json_object_set(doc, k, merged);
        }
    }
}

/* Merge a patch tree the caller lets us change (it is pruned in place). */
static json_t *merge_owned(const json_t *current, json_t *patch)
{
    if (json_is_array(patch)) {
        prune_ary_nulls(patch);
        return json_incref(patch);
    }
    if (!json_is_object(patch))
        return NULL;
    json_t *doc = json_deep_copy(current);
    if (!doc)
        abort();
    if (!json_is_object(doc)) {
        /* evanphx: a document that is not an object is replaced by the pruned patch. */
        json_decref(doc);
        prune_doc_nulls(patch);
        return json_incref(patch);
    }
    merge_docs(doc, patch);
    return doc;
}

json_t *patch_merge_tree(const json_t *current, const json_t *patch)
{
    if (!json_is_object(patch) && !json_is_array(patch))
        return NULL;
    json_t *copy = json_deep_copy(patch);
    if (!copy)
        abort();
    json_t *out = merge_owned(current, copy);
    json_decref(copy);
    return out;
}

json_t *patch_merge_apply(const json_t *current, const char *body, size_t len,
                          enum patch_validation validation, struct patch_strict *strict,
                          struct patch_error *err)
{
    struct gojson_result res = {0};
    json_t *out = NULL;

    if (validation != PATCH_VALIDATION_IGNORE) {
        /* patch.go first decodes into map[string]interface{} with kjson.UnmarshalStrict. */
        if (gojson_decode(body, len, GOJSON_MAP, strict, &res) < 0) {
            char *m = xasprintf("error decoding patch: %s", res.error);
            perr_bad_request(err, m);
            free(m);
            goto out;
        }
    } else if (gojson_decode(body, len, GOJSON_MERGE_DOC, NULL, &res) < 0) {
        perr_bad_request(err, "Invalid JSON Patch");
        goto out;
    }
    /* jsonpatch.MergePatch: a null patch, or one neither object nor array, is ErrBadJSONPatch. */
    out = merge_owned(current, res.value);
    if (!out)
        perr_bad_request(err, "Invalid JSON Patch");
out:
    gojson_result_release(&res);
    return out;
}
