/*
 * meta: ObjectMeta validation on create and update, as apimachinery's pkg/api/validation
 * (objectmeta.go) and core validation's wrappers (pkg/apis/core/validation) run it in 1.33.
 *
 * The metadata arrives as a jansson object; a member of the wrong type is treated as absent, the
 * way a Go zero value would be, so a decoder slip can never crash us. Upstream quirks kept:
 * label, annotation and finalizer-name errors carry no key or index in their path
 * ("metadata.labels", "metadata.finalizers"), owner reference errors carry no index either
 * ("metadata.ownerReferences.uid"), while the standard-finalizer rule does ("finalizers[1]").
 * Upstream walks label and annotation maps in Go's random order; we use the object's order.
 * Depends on field_error, names.c's checks, util and jansson.
 */
#include "svc/validate.h"

#include "svc/field_error.h"
#include "svc/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ANNOTATIONS_SIZE_LIMIT (256 * 1024) /* TotalAnnotationSizeLimitB */
#define FIELD_MANAGER_MAX      128          /* FieldManagerMaxLength */
#define SUBRESOURCE_NAME_MAX   256          /* MaxSubresourceNameLength */

/* A string member, or "" when absent or not a string (Go's zero value). */
static const char *str_or_empty(const json_t *obj, const char *key)
{
    const char *s = ju_str(obj, key);
    return s ? s : "";
}

/* An integer member, or 0 (Go's zero value). */
static long long int_or_zero(const json_t *obj, const char *key)
{
    return ju_int(obj, key, 0);
}

static const char *item_str(const json_t *item)
{
    const char *s = json_string_value(item);
    return s ? s : "";
}

static void add_name_msgs(struct field_errors *errs, const char *path, const char *value,
                          validate_name_fn fn, bool prefix)
{
    struct validate_msgs msgs;
    if (fn(value, prefix, &msgs))
        validate_add_msgs(errs, path, value, &msgs);
}

/* ---- labels and annotations --------------------------------------------------------------------
 */

void validate_labels(struct field_errors *errs, const char *path, const json_t *labels)
{
    const char *key;
    json_t *value;
    if (!json_is_object(labels))
        return;
    json_object_foreach ((json_t *)labels, key, value) {
        validate_qualified_name_field(errs, path, key);
        validate_label_value_field(errs, path, item_str(value));
    }
}

/*
 * strings.ToLower as far as it matters to a qualified-name check: ASCII letters, and the Kelvin
 * sign U+212A, the one non-ASCII letter whose lower case is ASCII ('k'). Other non-ASCII
 * characters fail the check in either case and are left alone.
 */
static char *go_to_lower(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out = xmalloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x84 &&
            (unsigned char)s[i + 2] == 0xaa) {
            out[o++] = 'k';
            i += 2;
        } else if (s[i] >= 'A' && s[i] <= 'Z') {
            out[o++] = (char)(s[i] - 'A' + 'a');
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

void validate_annotations(struct field_errors *errs, const char *path, const json_t *annotations)
{
    const char *key;
    json_t *value;
    size_t total = 0;
    if (!json_is_object(annotations))
        return;
    json_object_foreach ((json_t *)annotations, key, value) {
        /* Keys are qualified names in any case: checked lowercased, reported as written. */
        struct validate_msgs msgs;
        char *lower = go_to_lower(key);
        if (validate_is_qualified_name(lower, &msgs))
            validate_add_msgs(errs, path, key, &msgs);
        free(lower);
        total += strlen(key) + (json_is_string(value) ? json_string_length(value) : 0);
    }
    if (total > ANNOTATIONS_SIZE_LIMIT)
        fe_too_long(errs, path, ANNOTATIONS_SIZE_LIMIT);
}

/* ---- owner references --------------------------------------------------------------------------
 */

/* Go's %#v of a *bool: upstream prints the pointer's address, which no client can rely on; we
 * print a fixed address of the same shape. */
static const char *bool_ptr_text(const json_t *v)
{
    return json_is_boolean(v) ? "(*bool)(0xc000010000)" : "(*bool)(nil)";
}

/* %#v of one metav1.OwnerReference; caller frees. */
static char *owner_ref_text(const json_t *ref)
{
    char *api = fe_quote(str_or_empty(ref, "apiVersion"));
    char *kind = fe_quote(str_or_empty(ref, "kind"));
    char *name = fe_quote(str_or_empty(ref, "name"));
    char *uid = fe_quote(str_or_empty(ref, "uid"));
    char *s = xasprintf("v1.OwnerReference{APIVersion:%s, Kind:%s, Name:%s, UID:%s, "
                        "Controller:%s, BlockOwnerDeletion:%s}",
                        api, kind, name, uid, bool_ptr_text(ju_get(ref, "controller")),
                        bool_ptr_text(ju_get(ref, "blockOwnerDeletion")));
    free(api);
    free(kind);
    free(name);
    free(uid);
    return s;
}

/* %#v of the []metav1.OwnerReference. */
static char *owner_refs_text(const json_t *refs)
{
    size_t n = json_array_size(refs);
    char **parts = xmalloc((n ? n : 1) * sizeof(*parts));
    size_t total = strlen("[]v1.OwnerReference{}") + 1;
    for (size_t i = 0; i < n; i++) {
        parts[i] = owner_ref_text(json_array_get(refs, i));
        total += strlen(parts[i]) + 2;
    }
    char *s = xmalloc(total), *end = s;
    end = stpcpy(end, "[]v1.OwnerReference{");
    for (size_t i = 0; i < n; i++) {
        if (i)
            end = stpcpy(end, ", ");
        end = stpcpy(end, parts[i]);
        free(parts[i]);
    }
    stpcpy(end, "}");
    free(parts);
    return s;
}

static void validate_owner_reference(struct field_errors *errs, const char *path, const json_t *ref)
{
    const char *api = str_or_empty(ref, "apiVersion");
    const char *kind = str_or_empty(ref, "kind");
    /* schema.ParseGroupVersion: "" and "/" are the empty version; one '/' splits group and
     * version; more than one is an error, which also leaves the version empty. */
    const char *group = "", *version = "";
    char *owned_group = NULL;
    const char *slash = strchr(api, '/');
    if (*api && strcmp(api, "/") != 0) {
        if (!slash) {
            version = api;
        } else if (!strchr(slash + 1, '/')) {
            owned_group = xstrndup(api, (size_t)(slash - api));
            group = owned_group;
            version = slash + 1;
        }
    }
    char *p;
    if (!*version) {
        p = fe_path_child(path, "apiVersion");
        fe_invalid_str(errs, p, api, "version must not be empty");
        free(p);
    }
    if (!*kind) {
        p = fe_path_child(path, "kind");
        fe_invalid_str(errs, p, kind, "kind must not be empty");
        free(p);
    }
    if (!*str_or_empty(ref, "name")) {
        p = fe_path_child(path, "name");
        fe_invalid_str(errs, p, "", "name must not be empty");
        free(p);
    }
    if (!*str_or_empty(ref, "uid")) {
        p = fe_path_child(path, "uid");
        fe_invalid_str(errs, p, "", "uid must not be empty");
        free(p);
    }
    /* BannedOwners: core/v1 Events may not own anything. */
    if (!*group && strcmp(version, "v1") == 0 && strcmp(kind, "Event") == 0) {
        char *text = owner_ref_text(ref);
        fe_invalid(errs, path, text, "/v1, Kind=Event is disallowed from being an owner");
        free(text);
    }
    free(owned_group);
}

void validate_owner_references(struct field_errors *errs, const char *path, const json_t *refs)
{
    char *first = NULL, *list_text = NULL;
    if (!json_is_array(refs))
        return;
    for (size_t i = 0; i < json_array_size(refs); i++) {
        const json_t *ref = json_array_get(refs, i);
        validate_owner_reference(errs, path, ref);
        if (!json_is_true(ju_get(ref, "controller")))
            continue;
        char *current = xasprintf("%s/%s", str_or_empty(ref, "kind"), str_or_empty(ref, "name"));
        if (!first) {
            first = current;
            continue;
        }
        /* The value is the whole list, rendered once however many extra controllers there are. */
        if (!list_text)
            list_text = owner_refs_text(refs);
        char *detail = xasprintf("Only one reference can have Controller set to true. Found "
                                 "\"true\" in references for %s and %s",
                                 first, current);
        fe_invalid(errs, path, list_text, detail);
        free(detail);
        free(current);
    }
    free(first);
    free(list_text);
}

/* ---- finalizers --------------------------------------------------------------------------------
 */

void validate_finalizers(struct field_errors *errs, const char *path, const json_t *finalizers)
{
    bool orphan = false, foreground = false;
    if (!json_is_array(finalizers))
        return;
    for (size_t i = 0; i < json_array_size(finalizers); i++) {
        const char *f = item_str(json_array_get(finalizers, i));
        validate_qualified_name_field(errs, path, f);
        orphan = orphan || strcmp(f, "orphan") == 0;
        foreground = foreground || strcmp(f, "foregroundDeletion") == 0;
    }
    if (orphan && foreground) {
        char *text = fe_json_strings(finalizers);
        fe_invalid(errs, path, text, "finalizer orphan and foregroundDeletion cannot be both set");
        free(text);
    }
}

void validate_kube_finalizer_name(struct field_errors *errs, const char *path, const char *name)
{
    static const char *const standard[] = {"kubernetes", "orphan", "foregroundDeletion"};
    const char *n = name ? name : "";
    if (strchr(n, '/'))
        return; /* fully qualified: the qualified-name check covers it */
    for (size_t i = 0; i < 3; i++)
        if (strcmp(n, standard[i]) == 0)
            return;
    fe_invalid_str(errs, path, n,
                   "name is neither a standard finalizer name nor is it fully qualified");
}

static void kube_finalizer_names(struct field_errors *errs, const char *path,
                                 const json_t *finalizers)
{
    if (!json_is_array(finalizers))
        return;
    char *fpath = fe_path_child(path, "finalizers");
    for (size_t i = 0; i < json_array_size(finalizers); i++) {
        char *p = fe_path_index(fpath, i);
        validate_kube_finalizer_name(errs, p, item_str(json_array_get(finalizers, i)));
        free(p);
    }
    free(fpath);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char **string_items(const json_t *array, size_t *n)
{
    *n = json_is_array(array) ? json_array_size(array) : 0;
    const char **items = xmalloc((*n ? *n : 1) * sizeof(*items));
    for (size_t i = 0; i < *n; i++)
        items[i] = item_str(json_array_get(array, i));
    return items;
}

void validate_no_new_finalizers(struct field_errors *errs, const char *path,
                                const json_t *new_finalizers, const json_t *old_finalizers)
{
    size_t n_new, n_old, count = 0;
    const char **added = string_items(new_finalizers, &n_new);
    const char **old = string_items(old_finalizers, &n_old);
    /* sets.NewString(new...).Difference(old).List(): sorted, without repeats. Sorting both
     * sides keeps this n log n for lists of any length. */
    qsort(added, n_new, sizeof(*added), cmp_str);
    qsort(old, n_old, sizeof(*old), cmp_str);
    for (size_t i = 0; i < n_new; i++) {
        if (count > 0 && strcmp(added[count - 1], added[i]) == 0)
            continue;
        if (!bsearch(&added[i], old, n_old, sizeof(*old), cmp_str))
            added[count++] = added[i];
    }
    if (count > 0) {
        char *list = fe_strings(added, count);
        fe_addf(errs, FE_FORBIDDEN, path, NULL,
                "no new finalizers can be added if the object is being deleted, found new "
                "finalizers %s",
                list);
        free(list);
    }
    free(added);
    free(old);
}

/* ---- managed fields ----------------------------------------------------------------------------
 */

void validate_field_manager(struct field_errors *errs, const char *path, const char *m)
{
    if (!m)
        return;
    size_t n = strlen(m);
    if (n > FIELD_MANAGER_MAX)
        fe_too_long(errs, path, FIELD_MANAGER_MAX);
    for (size_t i = 0; i < n;) {
        uint32_t r;
        size_t w = fe_decode_rune(m + i, n - i, &r);
        if (!fe_is_print(r)) {
            /* %#U of a rune that is not printable is just "U+XXXX"; the position is in bytes. */
            char *quoted = fe_quote(m);
            char *detail = xasprintf("invalid character U+%04X (at position %zu)", (unsigned)r, i);
            fe_invalid(errs, path, quoted, detail);
            free(detail);
            free(quoted);
        }
        i += w;
    }
}

void validate_managed_fields(struct field_errors *errs, const char *path, const json_t *fields)
{
    if (!json_is_array(fields))
        return;
    for (size_t i = 0; i < json_array_size(fields); i++) {
        const json_t *entry = json_array_get(fields, i);
        char *base = fe_path_index(path, i);
        char *p;
        const char *op = str_or_empty(entry, "operation");
        if (strcmp(op, "Apply") != 0 && strcmp(op, "Update") != 0) {
            p = fe_path_child(base, "operation");
            fe_invalid_str(errs, p, op, "must be `Apply` or `Update`");
            free(p);
        }
        const char *ft = str_or_empty(entry, "fieldsType");
        if (*ft && strcmp(ft, "FieldsV1") != 0) {
            p = fe_path_child(base, "fieldsType");
            fe_invalid_str(errs, p, ft, "must be `FieldsV1`");
            free(p);
        }
        p = fe_path_child(base, "manager");
        validate_field_manager(errs, p, str_or_empty(entry, "manager"));
        free(p);
        if (strlen(str_or_empty(entry, "subresource")) > SUBRESOURCE_NAME_MAX) {
            p = fe_path_child(base, "subresource");
            fe_too_long(errs, p, SUBRESOURCE_NAME_MAX);
            free(p);
        }
        free(base);
    }
}

/* ---- create ------------------------------------------------------------------------------------
 */

void validate_meta(struct field_errors *errs, const char *path, const json_t *meta, bool namespaced,
                   validate_name_fn name_fn)
{
    const char *generate_name = str_or_empty(meta, "generateName");
    const char *name = str_or_empty(meta, "name");
    const char *ns = str_or_empty(meta, "namespace");
    char *p;

    if (*generate_name) {
        p = fe_path_child(path, "generateName");
        add_name_msgs(errs, p, generate_name, name_fn, true);
        free(p);
    }
    p = fe_path_child(path, "name");
    if (!*name)
        fe_required(errs, p, "name or generateName is required");
    else
        add_name_msgs(errs, p, name, name_fn, false);
    free(p);

    p = fe_path_child(path, "namespace");
    if (namespaced) {
        if (!*ns)
            fe_required(errs, p, "");
        else
            add_name_msgs(errs, p, ns, validate_name_is_dns_label, false);
    } else if (*ns) {
        fe_forbidden(errs, p, "not allowed on this type");
    }
    free(p);

    p = fe_path_child(path, "generation");
    validate_nonnegative_field(errs, p, int_or_zero(meta, "generation"));
    free(p);
    p = fe_path_child(path, "labels");
    validate_labels(errs, p, ju_get(meta, "labels"));
    free(p);
    p = fe_path_child(path, "annotations");
    validate_annotations(errs, p, ju_get(meta, "annotations"));
    free(p);
    p = fe_path_child(path, "ownerReferences");
    validate_owner_references(errs, p, ju_get(meta, "ownerReferences"));
    free(p);
    p = fe_path_child(path, "finalizers");
    validate_finalizers(errs, p, ju_get(meta, "finalizers"));
    free(p);
    p = fe_path_child(path, "managedFields");
    validate_managed_fields(errs, p, ju_get(meta, "managedFields"));
    free(p);
}

void validate_object_meta(struct field_errors *errs, const char *path, const json_t *meta,
                          bool namespaced, validate_name_fn name_fn)
{
    validate_meta(errs, path, meta, namespaced, name_fn);
    kube_finalizer_names(errs, path, ju_get(meta, "finalizers"));
}

/* ---- update ------------------------------------------------------------------------------------
 */

/*
 * A metav1.Time member as ValidateImmutableField compares and prints it: equal when the instants
 * are equal; printed with Go's Time.String ("2025-05-01 10:00:00 +0000 UTC", the server's zone
 * being UTC). Absent or unparseable is the zero time, as a failed decode would leave it.
 */
struct meta_time {
    bool set;
    struct timespec ts;
};

static struct meta_time time_member(const json_t *meta, const char *key)
{
    struct meta_time t = {false, {0, 0}};
    const char *s = ju_str(meta, key);
    if (s && util_parse_time(s, &t.ts) == 0)
        t.set = true;
    return t;
}

static bool time_equal(struct meta_time a, struct meta_time b)
{
    if (a.set != b.set)
        return false;
    return !a.set || (a.ts.tv_sec == b.ts.tv_sec && a.ts.tv_nsec == b.ts.tv_nsec);
}

static char *go_time_string(struct meta_time t)
{
    if (!t.set)
        return xstrdup("0001-01-01 00:00:00 +0000 UTC");
    struct tm tm;
    char date[64], frac[16] = "";
    gmtime_r(&t.ts.tv_sec, &tm);
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
    if (t.ts.tv_nsec > 0) {
        /* Go's ".999999999": the fraction with trailing zeros removed. */
        snprintf(frac, sizeof(frac), ".%09ld", (long)t.ts.tv_nsec % 1000000000L);
        size_t n = strlen(frac);
        while (n > 1 && frac[n - 1] == '0')
            frac[--n] = '\0';
    }
    return xasprintf("%s%s +0000 UTC", date, frac);
}

static void immutable_time(struct field_errors *errs, const char *path, const char *key,
                           const json_t *new_meta, const json_t *old_meta, bool pointer)
{
    struct meta_time n = time_member(new_meta, key), o = time_member(old_meta, key);
    if (time_equal(n, o))
        return;
    /* creationTimestamp is a metav1.Time (a Stringer, printed bare); deletionTimestamp is a
     * pointer to one, printed as a quoted "null" when nil. */
    char *value = pointer && !n.set ? xstrdup(FE_NIL_VALUE) : go_time_string(n);
    char *p = fe_path_child(path, key);
    fe_invalid(errs, p, value, "field is immutable");
    free(p);
    free(value);
}

static void immutable_grace_period(struct field_errors *errs, const char *path,
                                   const json_t *new_meta, const json_t *old_meta)
{
    const json_t *n = ju_get(new_meta, "deletionGracePeriodSeconds");
    const json_t *o = ju_get(old_meta, "deletionGracePeriodSeconds");
    bool n_set = json_is_integer(n), o_set = json_is_integer(o);
    if (n_set == o_set && (!n_set || json_integer_value(n) == json_integer_value(o)))
        return;
    char *p = fe_path_child(path, "deletionGracePeriodSeconds");
    if (n_set)
        fe_invalid_int(errs, p, json_integer_value(n), "field is immutable");
    else
        fe_invalid(errs, p, FE_NIL_VALUE, "field is immutable");
    free(p);
}

void validate_meta_update(struct field_errors *errs, const char *path, const json_t *new_meta,
                          const json_t *old_meta)
{
    char *p;
    const json_t *old_deletion = ju_get(old_meta, "deletionTimestamp");
    if (old_deletion && !json_is_null(old_deletion)) {
        p = fe_path_child(path, "finalizers");
        validate_no_new_finalizers(errs, p, ju_get(new_meta, "finalizers"),
                                   ju_get(old_meta, "finalizers"));
        free(p);
    }
    if (!*str_or_empty(new_meta, "resourceVersion")) {
        p = fe_path_child(path, "resourceVersion");
        fe_invalid_str(errs, p, "", "must be specified for an update");
        free(p);
    }
    long long new_gen = int_or_zero(new_meta, "generation");
    if (new_gen < int_or_zero(old_meta, "generation")) {
        p = fe_path_child(path, "generation");
        fe_invalid_int(errs, p, new_gen, "must not be decremented");
        free(p);
    }
    static const char *const immutable[] = {"name", "namespace", "uid"};
    for (size_t i = 0; i < 3; i++) {
        p = fe_path_child(path, immutable[i]);
        validate_immutable_string(errs, p, str_or_empty(new_meta, immutable[i]),
                                  str_or_empty(old_meta, immutable[i]));
        free(p);
    }
    immutable_time(errs, path, "creationTimestamp", new_meta, old_meta, false);
    immutable_time(errs, path, "deletionTimestamp", new_meta, old_meta, true);
    immutable_grace_period(errs, path, new_meta, old_meta);

    p = fe_path_child(path, "labels");
    validate_labels(errs, p, ju_get(new_meta, "labels"));
    free(p);
    p = fe_path_child(path, "annotations");
    validate_annotations(errs, p, ju_get(new_meta, "annotations"));
    free(p);
    p = fe_path_child(path, "ownerReferences");
    validate_owner_references(errs, p, ju_get(new_meta, "ownerReferences"));
    free(p);
    p = fe_path_child(path, "managedFields");
    validate_managed_fields(errs, p, ju_get(new_meta, "managedFields"));
    free(p);
}

void validate_object_meta_update(struct field_errors *errs, const char *path,
                                 const json_t *new_meta, const json_t *old_meta)
{
    validate_meta_update(errs, path, new_meta, old_meta);
    kube_finalizer_names(errs, path, ju_get(new_meta, "finalizers"));
}
