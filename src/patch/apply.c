/*
 * apply: server-side apply, as kube-apiserver 1.33's FieldManager.Apply runs it: the version
 * check, the last-applied annotation handling for manager "kubectl" (lastAppliedUpdater and
 * lastAppliedManager, which let `kubectl apply --server-side` take over from client-side apply),
 * "before-first-apply" for objects nobody tracked, and structured-merge-diff's Updater.Apply:
 * merge the applied configuration into the live object, give the manager exactly the applied
 * fields, prune what it applied before and applies no more unless someone else owns it, and
 * take changed fields from other managers only with force (else the 409 with one cause per
 * field). Depends on jansson, strbuf and util only.
 */
#include "mf_private.h"

#include "svc/strbuf.h"
#include "svc/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* skipNonAppliedManager: the owner of what an object held before its first apply. */
#define BEFORE_FIRST_APPLY "before-first-apply"
/* lastAppliedManager and lastAppliedUpdater act only for kubectl's own manager name. */
#define KUBECTL_MANAGER "kubectl"
/* apimachinery's TotalAnnotationSizeLimitB: past it SetLastApplied drops the annotation. */
#define ANNOTATIONS_SIZE_LIMIT (256 * 1024)

static int fail(struct mf_error *err, enum mf_error_kind kind, char *message)
{
    mf_error_release(err);
    err->kind = kind;
    err->message = message;
    return -1;
}

/* "<group>/<version>, Kind=<kind>" of an unstructured object (empty when apiVersion does not
   parse, as Unstructured.GroupVersionKind gives). */
static char *gvk_string(const json_t *obj)
{
    const char *av = json_string_value(json_object_get(obj, "apiVersion"));
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    av = av ? av : "";
    const char *slash = strchr(av, '/');
    if (slash && strchr(slash + 1, '/'))
        return xstrdup("/, Kind=");
    if (!slash)
        return xasprintf("/%s, Kind=%s", av, kind ? kind : "");
    return xasprintf("%s, Kind=%s", av, kind ? kind : "");
}

static char *expected_gvk(const struct mf_context *ctx)
{
    const char *av = ctx->api_version ? ctx->api_version : "";
    if (!strchr(av, '/'))
        return xasprintf("/%s, Kind=%s", av, ctx->kind ? ctx->kind : "");
    return xasprintf("%s, Kind=%s", av, ctx->kind ? ctx->kind : "");
}

/* The kind's empty object as the live side of a create: Go's zero struct, with the type meta
   the conversion to the request version sets. */
static json_t *zero_live(const struct mf_context *ctx, const struct mf_schema *sc)
{
    json_t *z = mf_zero_object(sc);
    json_t *out = json_object();
    json_object_set_new(out, "apiVersion", json_string(ctx->api_version ? ctx->api_version : ""));
    json_object_set_new(out, "kind", json_string(ctx->kind ? ctx->kind : ""));
    json_object_update(out, z);
    json_decref(z);
    return out;
}

/* ---- prune (Updater.prune, addBackOwnedItems, addBackDanglingItems) -----------------------------
 */

static struct mf_set *ensured_field_set(const struct mf_schema *sc, const json_t *v)
{
    struct mf_set *s = mf_to_field_set(sc, v);
    if (!s)
        return NULL;
    struct mf_set *e = mf_ensure_named(sc, s);
    mf_set_free(s);
    return e;
}

/* Remove from merged what last (the manager's previous set) had and nobody owns any more.
   A new reference, or NULL with *err. */
static json_t *prune(const struct mf_schema *sc, const json_t *merged, const struct mf_managed *m,
                     const struct mf_set *last, char **err)
{
    if (!last || mf_set_empty(last))
        return json_incref((json_t *)merged);
    json_t *out = NULL, *pruned = NULL, *pruned2 = NULL;
    struct mf_set *last_e = mf_ensure_named(sc, last), *owned = mf_set_new();
    struct mf_set *merged_e = NULL, *pruned_e = NULL, *keep = NULL, *rm = NULL;
    pruned = mf_remove_items(sc, merged, last_e);

    for (size_t i = 0; i < m->n; i++)
        mf_set_assign(&owned, mf_set_union(owned, m->items[i].set));
    struct mf_set *owned_e = mf_ensure_named(sc, owned);
    merged_e = ensured_field_set(sc, merged);
    pruned_e = ensured_field_set(sc, pruned);
    if (!merged_e || !pruned_e) {
        *err = xstrdup("failed add back owned items: failed to create field set");
        mf_set_free(owned_e);
        goto out;
    }
    keep = mf_set_union(pruned_e, owned_e);
    mf_set_free(owned_e);
    rm = mf_set_difference(merged_e, keep);
    pruned2 = mf_remove_items(sc, merged, rm);

    mf_set_free(pruned_e);
    pruned_e = ensured_field_set(sc, pruned2);
    if (!pruned_e) {
        *err = xstrdup("failed add back dangling items: failed to create field set");
        goto out;
    }
    mf_set_assign(&rm, mf_set_difference(merged_e, pruned_e));
    mf_set_assign(&rm, mf_set_intersection(rm, last_e));
    out = mf_remove_items(sc, merged, rm);
out:
    json_decref(pruned);
    json_decref(pruned2);
    mf_set_free(last_e);
    mf_set_free(owned);
    mf_set_free(merged_e);
    mf_set_free(pruned_e);
    mf_set_free(keep);
    mf_set_free(rm);
    return out;
}

/* ---- conflicts
 * ------------------------------------------------------------------------------------- */

static void path_string(struct strbuf *sb, const struct mf_conflict *c)
{
    for (size_t i = 0; i < c->n; i++)
        mf_pe_append_string(sb, &c->path[i]);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* internal.NewConflictError: the 409 upstream answers with. */
static int conflict_error(struct mf_error *err, const struct mf_conflicts *c)
{
    struct strbuf msg;
    strbuf_init(&msg, STRBUF_NO_LIMIT);
    json_t *causes = json_array();
    for (size_t i = 0; i < c->n; i++) {
        struct strbuf m, f;
        strbuf_init(&m, STRBUF_NO_LIMIT);
        strbuf_init(&f, STRBUF_NO_LIMIT);
        strbuf_addstr(&m, "conflict with ");
        mf_print_manager(&m, c->items[i].manager_id);
        path_string(&f, &c->items[i]);
        json_array_append_new(causes,
                              json_pack("{s:s,s:s,s:s}", "reason", "FieldManagerConflict",
                                        "message", strbuf_str(&m), "field", strbuf_str(&f)));
        strbuf_release(&m);
        strbuf_release(&f);
    }
    if (c->n == 1) {
        strbuf_addstr(&msg, "Apply failed with 1 conflict: conflict with ");
        mf_print_manager(&msg, c->items[0].manager_id);
        strbuf_addstr(&msg, ": ");
        path_string(&msg, &c->items[0]);
    } else {
        /* grouped by manager, managers in sorted order, paths in conflict order */
        const char **ids = xcalloc(c->n ? c->n : 1, sizeof(*ids));
        size_t n_ids = 0;
        for (size_t i = 0; i < c->n; i++) {
            bool seen = false;
            for (size_t k = 0; k < n_ids && !seen; k++)
                seen = !strcmp(ids[k], c->items[i].manager_id);
            if (!seen)
                ids[n_ids++] = c->items[i].manager_id;
        }
        qsort(ids, n_ids, sizeof(*ids), cmp_str);
        strbuf_addf(&msg, "Apply failed with %zu conflicts: ", c->n);
        for (size_t k = 0; k < n_ids; k++) {
            if (k)
                strbuf_addch(&msg, '\n');
            strbuf_addstr(&msg, "conflicts with ");
            mf_print_manager(&msg, ids[k]);
            strbuf_addch(&msg, ':');
            for (size_t i = 0; i < c->n; i++) {
                if (strcmp(c->items[i].manager_id, ids[k]))
                    continue;
                strbuf_addstr(&msg, "\n- ");
                path_string(&msg, &c->items[i]);
            }
        }
        free(ids);
    }
    fail(err, MF_ERR_CONFLICT, strbuf_detach(&msg, NULL));
    err->causes = causes;
    return -1;
}

/* ---- the Apply chain below lastAppliedManager
 * ------------------------------------------------------ */

struct apply_out {
    json_t *obj; /* merged object, or NULL when the merge changed nothing */
    struct mf_conflicts conflicts;
};

/* structuredMergeManager.Apply with merge.Updater.Apply, on a copy of m that replaces m only on
   success (upstream's updater works on a fresh map). 0, 1 on conflicts, -1 with err. */
static int structured_apply(const struct mf_context *ctx, const struct mf_schema *sc,
                            const json_t *live, const json_t *config, const char *id, bool force,
                            struct mf_managed *m, struct apply_out *out, struct mf_error *err)
{
    const char *version = ctx->api_version ? ctx->api_version : "";
    struct mf_errs errs = {0};
    struct mf_managed work;
    struct mf_set *exclude = mf_reset_set(ctx->reset_fields), *last = NULL;
    json_t *merged = NULL, *pruned = NULL;
    char *perr = NULL;
    int rc = -1;
    mf_managed_copy(&work, m);

    const json_t *cmf = json_object_get(json_object_get(config, "metadata"), "managedFields");
    if (json_is_array(cmf)) {
        bool all_maps = true;
        for (size_t i = 0; i < json_array_size(cmf); i++)
            all_maps = all_maps && json_is_object(json_array_get(cmf, i));
        if (all_maps) {
            fail(err, MF_ERR_BAD_REQUEST, xstrdup("metadata.managedFields must be nil"));
            goto out;
        }
    }
    if (mf_validate(sc, config, false, &errs)) {
        char *t = mf_errs_text(&errs), *g = mf_object_gvknn(config);
        fail(err, MF_ERR_INTERNAL, xasprintf("failed to create typed patch object (%s): %s", g, t));
        free(t);
        free(g);
        goto out;
    }
    if (mf_validate(sc, live, true, &errs)) {
        char *t = mf_errs_text(&errs), *g = mf_object_gvknn(live);
        fail(err, MF_ERR_INTERNAL, xasprintf("failed to create typed live object (%s): %s", g, t));
        free(t);
        free(g);
        goto out;
    }
    mf_managed_drop_other_versions(&work, version);
    merged = mf_merge(sc, live, config, &errs);
    if (!merged) {
        char *t = mf_errs_text(&errs);
        fail(err, MF_ERR_INTERNAL, xasprintf("failed to merge config: %s", t));
        free(t);
        goto out;
    }
    struct mf_entry *prev = mf_managed_get(&work, id);
    last = prev ? mf_set_copy(prev->set) : NULL;
    struct mf_set *set = mf_to_field_set(sc, config);
    if (!set) {
        fail(err, MF_ERR_INTERNAL, xstrdup("failed to get field set"));
        goto out;
    }
    if (exclude)
        mf_set_assign(&set, mf_set_recursive_difference(set, exclude));
    mf_managed_put(&work, id, set, version, true);
    pruned = prune(sc, merged, &work, last, &perr);
    if (!pruned) {
        fail(err, MF_ERR_INTERNAL, xasprintf("failed to prune fields: %s", perr ? perr : ""));
        goto out;
    }
    int u = mf_updater_update(sc, exclude, live, pruned, version, &work, id, force, NULL,
                              &out->conflicts, &errs);
    if (u < 0) {
        char *t = mf_errs_text(&errs);
        fail(err, MF_ERR_INTERNAL, xasprintf("failed to compare objects: %s", t));
        free(t);
        goto out;
    }
    if (u > 0) {
        rc = 1;
        goto out;
    }
    if (!mf_value_equal(live, pruned))
        out->obj = json_incref(pruned);
    mf_managed_release(m);
    *m = work;
    mf_managed_init(&work);
    rc = 0;
out:
    mf_managed_release(&work);
    mf_errs_release(&errs);
    mf_set_free(exclude);
    mf_set_free(last);
    json_decref(merged);
    json_decref(pruned);
    free(perr);
    return rc;
}

/* skipNonApplied, capManagers (nothing to do on apply), buildManagerInfo,
   managedFieldsUpdater, stripMeta and structuredMerge. */
static int apply_chain(const struct mf_context *ctx, const struct mf_schema *sc, const json_t *live,
                       const json_t *config, const char *manager, bool force, struct mf_managed *m,
                       struct apply_out *out, struct mf_error *err)
{
    if (!m->n) {
        /* what the object holds is owned by "before-first-apply" from now on */
        json_t *empty = zero_live(ctx, sc);
        char *e = NULL;
        int rc = mf_track_update(ctx, sc, empty, live, BEFORE_FIRST_APPLY, m, &e);
        json_decref(empty);
        if (rc) {
            fail(err, MF_ERR_INTERNAL,
                 xasprintf("failed to create manager for existing fields: %s", e ? e : ""));
            free(e);
            return -1;
        }
    }
    char *id = mf_manager_id(manager && *manager ? manager : "unknown", true, ctx->api_version,
                             mf_subresource(ctx));
    int rc = structured_apply(ctx, sc, live, config, id, force, m, out, err);
    if (rc == 0) {
        mf_strip_meta(m, id);
        if (out->obj)
            mf_managed_set_time(m, id, ctx->now);
    }
    free(id);
    return rc;
}

/* ---- last-applied
 * ------------------------------------------------------------------------------------ */

static const char *last_applied_of(const json_t *obj)
{
    const json_t *ann = json_object_get(json_object_get(obj, "metadata"), "annotations");
    const char *v = json_string_value(json_object_get(ann, MF_LAST_APPLIED_ANNOTATION));
    return v && *v ? v : NULL;
}

/* lastAppliedManager.allowedConflictsFromLastApplied: the fields of the last-applied
   configuration whose value the live object still has. NULL when there is no usable one. */
static struct mf_set *allowed_from_last_applied(const struct mf_context *ctx,
                                                const struct mf_schema *sc, const json_t *live)
{
    const char *text = last_applied_of(live);
    if (!text)
        return NULL;
    json_t *last = json_loads(text, 0, NULL);
    struct mf_errs errs = {0};
    struct mf_set *out = NULL, *set = NULL;
    struct mf_comparison cmp = {0};
    const char *av = json_string_value(json_object_get(last, "apiVersion"));
    const char *kind = json_string_value(json_object_get(last, "kind"));
    if (!json_is_object(last) || !av || strcmp(av, ctx->api_version ? ctx->api_version : "") ||
        !kind || strcmp(kind, ctx->kind ? ctx->kind : ""))
        goto out;
    if (mf_validate(sc, live, false, &errs) || mf_validate(sc, last, false, &errs))
        goto out;
    set = mf_to_field_set(sc, last);
    if (!set || mf_compare(sc, last, live, &cmp, &errs))
        goto out;
    out = mf_set_difference(set, cmp.modified);
    mf_set_assign(&out, mf_set_difference(out, cmp.added));
    mf_set_assign(&out, mf_set_difference(out, cmp.removed));
out:
    mf_comparison_release(&cmp);
    mf_errs_release(&errs);
    mf_set_free(set);
    json_decref(last);
    return out;
}

/* buildLastApplied: the configuration without the annotation itself, as encoding/json's
   Encoder writes it (sorted keys, trailing newline). */
static char *build_last_applied(const json_t *config)
{
    json_t *copy = json_deep_copy(config);
    json_t *meta = json_object_get(copy, "metadata");
    json_t *ann = json_object_get(meta, "annotations");
    if (json_is_object(ann)) {
        bool strings = true;
        const char *k;
        json_t *v;
        json_object_foreach (ann, k, v)
            strings = strings && json_is_string(v);
        if (strings)
            json_object_del(ann, MF_LAST_APPLIED_ANNOTATION);
        else
            json_object_del(meta, "annotations"); /* GetAnnotations gives nil: the map goes */
    } else if (ann) {
        json_object_del(meta, "annotations");
    }
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    mf_go_json(&sb, copy);
    strbuf_addch(&sb, '\n');
    json_decref(copy);
    return strbuf_detach(&sb, NULL);
}

/* SetLastApplied on obj (changed in place). */
static void set_last_applied(json_t *obj, const char *value)
{
    json_t *meta = json_object_get(obj, "metadata");
    if (!json_is_object(meta)) {
        meta = json_object();
        json_object_set_new(obj, "metadata", meta);
    }
    json_t *ann = json_object_get(meta, "annotations");
    if (!json_is_object(ann)) {
        ann = json_object();
        json_object_set_new(meta, "annotations", ann);
    }
    json_object_set_new(ann, MF_LAST_APPLIED_ANNOTATION, json_string(value));
    size_t total = 0;
    const char *k;
    json_t *v;
    json_object_foreach (ann, k, v)
        total += strlen(k) + json_string_length(v);
    if (total > ANNOTATIONS_SIZE_LIMIT)
        json_object_del(ann, MF_LAST_APPLIED_ANNOTATION);
}

/* ---- FieldManager.Apply ---------------------------------------------------------------------- */

int mf_apply(const struct mf_context *ctx, const json_t *live, const json_t *config,
             const char *manager, bool force, json_t **out, bool *changed, struct mf_error *err)
{
    struct mf_schema sc = {.defs = ctx->definitions, .root = ctx->root};
    struct mf_managed m;
    struct apply_out res = {0};
    json_t *live_n = NULL, *result = NULL;
    char *derr = NULL;
    int rc = -1;
    *out = NULL;
    if (changed)
        *changed = false;
    mf_managed_init(&m);
    if (live &&
        mf_managed_decode(json_object_get(json_object_get(live, "metadata"), "managedFields"), &m,
                          &derr)) {
        fail(err, MF_ERR_INTERNAL, xasprintf("failed to decode managed fields: %s", derr));
        free(derr);
        goto out;
    }
    /* versionCheckManager */
    char *got = gvk_string(config), *want = expected_gvk(ctx);
    bool same = !strcmp(got, want);
    if (!same)
        fail(err, MF_ERR_BAD_REQUEST, xasprintf("invalid object type: %s", got));
    free(got);
    free(want);
    if (!same)
        goto out;

    live_n = live ? mf_normalize(&sc, live) : zero_live(ctx, &sc);
    struct mf_managed saved;
    mf_managed_copy(&saved, &m);
    int r = apply_chain(ctx, &sc, live_n, config, manager, force, &m, &res, err);
    if (r > 0 && manager && !strcmp(manager, KUBECTL_MANAGER)) {
        /* lastAppliedManager: conflicts the last-applied configuration explains are forced */
        struct mf_set *allowed = allowed_from_last_applied(ctx, &sc, live_n);
        if (allowed) {
            struct mf_conflicts left = {0};
            for (size_t i = 0; i < res.conflicts.n; i++) {
                const struct mf_conflict *c = &res.conflicts.items[i];
                const struct mf_pe **path = xcalloc(c->n ? c->n : 1, sizeof(*path));
                for (size_t k = 0; k < c->n; k++)
                    path[k] = &c->path[k];
                if (!mf_set_has(allowed, path, c->n)) {
                    if (left.n == left.alloc) {
                        left.alloc = left.alloc ? 2 * left.alloc : 4;
                        left.items = xrealloc(left.items, left.alloc * sizeof(*left.items));
                    }
                    left.items[left.n++] = *c;
                    res.conflicts.items[i] = (struct mf_conflict){0};
                }
                free(path);
            }
            mf_set_free(allowed);
            if (left.n) {
                mf_conflicts_release(&res.conflicts);
                res.conflicts = left;
            } else {
                mf_conflicts_release(&left);
                mf_conflicts_release(&res.conflicts);
                /* the forced retry starts from the managers as they were; apply_chain
                   records "before-first-apply" again when there were none, as upstream */
                mf_managed_release(&m);
                m = saved;
                mf_managed_init(&saved);
                r = apply_chain(ctx, &sc, live_n, config, manager, true, &m, &res, err);
            }
        }
    }
    mf_managed_release(&saved);
    if (r > 0) {
        conflict_error(err, &res.conflicts);
        goto out;
    }
    if (r < 0)
        goto out;

    if (res.obj) {
        result = json_deep_copy(res.obj);
        if (changed)
            *changed = true;
    } else {
        result = live ? json_deep_copy(live) : json_deep_copy(live_n);
    }
    if (!json_is_object(result)) {
        json_decref(result);
        result = json_object();
    }
    /* lastAppliedUpdater */
    if (manager && !strcmp(manager, KUBECTL_MANAGER) && last_applied_of(result)) {
        char *value = build_last_applied(config);
        set_last_applied(result, value);
        free(value);
    }
    /* EncodeObjectManagedFields */
    json_t *meta = json_object_get(result, "metadata");
    json_t *list = mf_managed_encode(&m);
    if (json_array_size(list)) {
        if (!json_is_object(meta)) {
            meta = json_object();
            json_object_set_new(result, "metadata", meta);
        }
        json_object_set_new(meta, "managedFields", list);
    } else {
        json_decref(list);
        if (json_is_object(meta))
            json_object_del(meta, "managedFields");
    }
    *out = result;
    result = NULL;
    rc = 0;
out:
    json_decref(result);
    json_decref(res.obj);
    mf_conflicts_release(&res.conflicts);
    json_decref(live_n);
    mf_managed_release(&m);
    mf_schema_release(&sc);
    return rc;
}
