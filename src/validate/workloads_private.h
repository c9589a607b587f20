/*
 * workloads_private: what the workload validation files share and nobody else sees: small JSON
 * readers (static inline, so each file has its own), the shared checks of podspec.c, and the
 * quantity values of quantity.c. quantity.c parses and prints resource quantities; podspec.c
 * defaults a PodSpec, computes its QoS class and validates it; workloads.c validates Pods,
 * ReplicaSets, Nodes and Events on top of that.
 */
#ifndef SVC_WORKLOADS_PRIVATE_H
#define SVC_WORKLOADS_PRIVATE_H

#include "svc/field_error.h"
#include "svc/util.h"
#include "svc/validate.h"
#include "svc/validate_workloads.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

__extension__ typedef __int128 i128;

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* obj[key] as a string, "" when absent or not a string (Go's zero value). */
static inline const char *sv(const json_t *obj, const char *key)
{
    const char *s = ju_str(obj, key);
    return s ? s : "";
}

static inline const char *item_str(const json_t *v)
{
    const char *s = json_string_value(v);
    return s ? s : "";
}

static inline size_t alen(const json_t *a)
{
    return json_is_array(a) ? json_array_size(a) : 0;
}

static inline size_t olen(const json_t *o)
{
    return json_is_object(o) ? json_object_size(o) : 0;
}

static inline bool str_eq(const char *a, const char *b)
{
    return !strcmp(a ? a : "", b ? b : "");
}

static inline bool in_list(const char *v, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v, list[i]))
            return true;
    return false;
}

/* JSON equality where absent, null, [] and {} are alike (Semantic.DeepEqual on nil and empty). */
static inline bool is_emptyish(const json_t *v)
{
    return !v || json_is_null(v) || (json_is_array(v) && !json_array_size(v)) ||
           (json_is_object(v) && !json_object_size(v));
}

static inline bool sem_equal(const json_t *a, const json_t *b)
{
    if (is_emptyish(a) && is_emptyish(b))
        return true;
    return a && b && json_equal((json_t *)a, (json_t *)b);
}

/* Sets of strings are jansson objects (hashed): membership in O(1) keeps every list check
   linear however long a request makes the list. Returns true when s was already in set. */
static inline bool set_seen(json_t *set, const char *s)
{
    if (json_object_get(set, s))
        return true;
    json_object_set_new(set, s, json_true());
    return false;
}

/* unicode.IsSpace for the ASCII range (strings.TrimSpace on the texts we trim). */
static inline bool go_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* One Invalid error per message of a name rule. */
static inline void add_name_msgs(struct field_errors *errs, const char *path, const char *value,
                                 validate_name_fn fn)
{
    struct validate_msgs msgs;
    if (fn(value, false, &msgs))
        validate_add_msgs(errs, path, value, &msgs);
}

/* ---- workloads.c ----------------------------------------------------------------------------- */

/* A new string from a format (out of memory aborts); the caller frees. */
char *wl_pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Required when value is empty, else NotSupported unless it is one of supported. */
void wl_enum_field(struct field_errors *errs, const char *path, const char *value,
                   const char *const *supported, size_t n);
/* The keys of obj sorted, in an array of *n borrowed strings the caller frees. */
const char **wl_sorted_keys(const json_t *obj, size_t *n);

/* ---- quantity.c ------------------------------------------------------------------------------ */

/* The text of a quantity member: a string, or the decimal text of a JSON number (in buf);
   NULL for other types. */
const char *wl_quantity_text(const json_t *v, char buf[64]);
/* The value of a quantity string in nano units; 0 when it does not parse. */
i128 wl_quantity_nano(const char *s);
/* Quantity.String() of a member, for messages. */
void wl_quantity_string(const json_t *v, char out[VALIDATE_QUANTITY_STRLEN]);

/* ---- podspec.c ------------------------------------------------------------------------------- */

/* ValidateNonnegativeQuantity at path. */
void wl_quantity_nonnegative(struct field_errors *errs, const char *path, const json_t *v);
/* ValidateTolerations at path. */
void wl_tolerations(struct field_errors *errs, const char *path, const json_t *tols);
/* ValidatePodSpec of spec, reported under base ("spec", "spec.template.spec"); pod is true for
   a Pod's own spec (opts.ResourceIsPod). */
void wl_pod_spec_checks(struct field_errors *errs, const char *base, const json_t *spec, bool pod);

#endif
