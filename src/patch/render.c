/*
 * render: the patched document as upstream's json-patch library (evanphx/json-patch v4, which
 * apiserver uses for merge and JSON patches) serialises it, for the "patch: Invalid value" of a
 * result that does not decode. That library keeps every part of the document it did not enter
 * as the raw bytes it read, and re-marshals the objects it entered from Go maps, so their keys
 * come out sorted:
 *  - merge patch (MergePatch): the root is entered; a member the patch holds an object for,
 *    where the document has an object too, is entered; a member the patch sets where the
 *    document has no object is the patch's value with nulls pruned, which decodes (and so
 *    sorts) it all the way down; any other patch value stays as written;
 *  - JSON patch: every container on the way to an operation's target (and to a move or copy's
 *    source) is entered; values the operations add stay as written.
 * The entered parts are described by a mask tree mirroring the document: an object whose
 * members are the entered children (array elements by decimal index), or the string "all".
 */
#include "patch_private.h"

#include "svc/codec.h"
#include "svc/strbuf.h"
#include "svc/util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool mask_all(const json_t *mask)
{
    return json_is_string(mask);
}

static const json_t *mask_child(const json_t *mask, const char *key)
{
    return mask_all(mask) ? mask : json_object_get(mask, key);
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void render(struct strbuf *out, const json_t *v, const json_t *mask);

static void render_object(struct strbuf *out, const json_t *v, const json_t *mask)
{
    size_t n = json_object_size(v), i = 0;
    const char **keys = xcalloc(n ? n : 1, sizeof(*keys));
    const char *key;
    json_t *member;
    json_object_foreach ((json_t *)v, key, member)
        keys[i++] = key;
    if (mask)
        qsort(keys, n, sizeof(*keys), cmp_keys); /* a Go map: sorted keys */
    strbuf_addch(out, '{');
    for (i = 0; i < n; i++) {
        if (i)
            strbuf_addch(out, ',');
        json_t *k = json_string(keys[i]);
        codec_json_write(out, k);
        json_decref(k);
        strbuf_addch(out, ':');
        render(out, json_object_get(v, keys[i]), mask ? mask_child(mask, keys[i]) : NULL);
    }
    strbuf_addch(out, '}');
    free(keys);
}

static void render(struct strbuf *out, const json_t *v, const json_t *mask)
{
    if (json_is_object(v)) {
        render_object(out, v, mask);
    } else if (json_is_array(v)) {
        strbuf_addch(out, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            char idx[24];
            snprintf(idx, sizeof(idx), "%zu", i);
            if (i)
                strbuf_addch(out, ',');
            render(out, json_array_get(v, i), mask ? mask_child(mask, idx) : NULL);
        }
        strbuf_addch(out, ']');
    } else {
        codec_json_write(out, v);
    }
}

static char *render_with(const json_t *patched, const json_t *mask)
{
    struct strbuf out;
    strbuf_init(&out, STRBUF_NO_LIMIT);
    render(&out, patched, mask);
    return strbuf_detach(&out, NULL);
}

/* mergeDocs(cur, patch): which members MergePatch enters or decodes. */
static json_t *merge_mask(const json_t *cur, const json_t *patch)
{
    json_t *mask = json_object();
    const char *key;
    json_t *pv;
    json_object_foreach ((json_t *)patch, key, pv) {
        if (json_is_null(pv))
            continue;
        const json_t *cv = json_object_get(cur, key);
        if (json_is_object(cv)) {
            if (json_is_object(pv))
                json_object_set_new(mask, key, merge_mask(cv, pv));
            /* else: merge() returns the patch's raw value */
        } else {
            json_object_set_new(mask, key, json_string("all")); /* pruneNulls decodes it */
        }
    }
    return mask;
}

char *patch_render_merge(const json_t *current, const char *body, size_t len, const json_t *patched)
{
    json_t *patch = json_loadb(body, len, 0, NULL);
    json_t *mask = json_is_object(patch) && json_is_object(current) ? merge_mask(current, patch)
                                                                    : json_string("all");
    char *text = render_with(patched, mask);
    json_decref(mask);
    json_decref(patch);
    return text;
}

/* Mark every container on the way to the target of a JSON pointer (its parents). */
static void enter_parents(json_t *mask, const char *pointer)
{
    if (!pointer || *pointer != '/')
        return;
    const char *p = pointer + 1;
    json_t *node = mask;
    for (;;) {
        const char *slash = strchr(p, '/');
        if (!slash)
            return; /* the last segment is the target, not a container entered */
        struct strbuf seg;
        strbuf_init(&seg, STRBUF_NO_LIMIT);
        for (const char *q = p; q < slash; q++) {
            /* RFC 6901 unescaping: ~1 is '/', ~0 is '~'. */
            if (*q == '~' && q + 1 < slash && (q[1] == '0' || q[1] == '1')) {
                strbuf_addch(&seg, q[1] == '1' ? '/' : '~');
                q++;
            } else {
                strbuf_addch(&seg, *q);
            }
        }
        json_t *child = json_object_get(node, strbuf_str(&seg));
        if (!child) {
            child = json_object();
            json_object_set_new(node, strbuf_str(&seg), child);
        }
        strbuf_release(&seg);
        node = child;
        p = slash + 1;
    }
}

char *patch_render_json(const char *body, size_t len, const json_t *patched)
{
    json_t *ops = json_loadb(body, len, 0, NULL);
    json_t *mask = json_object(); /* the root is always entered */
    size_t i;
    json_t *op;
    json_array_foreach (ops, i, op) {
        enter_parents(mask, ju_str(op, "path"));
        enter_parents(mask, ju_str(op, "from"));
    }
    char *text = render_with(patched, mask);
    json_decref(mask);
    json_decref(ops);
    return text;
}
