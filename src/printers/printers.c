/*
 * printers: the table of kinds that have a server-side Table printer, the public entry points, and
 * the cell helpers the per-kind files share. The kinds themselves live in network.c (Service,
 * Endpoints, EndpointSlice), workloads.c (Pod, ReplicaSet) and cluster.c (Namespace, Node, Event,
 * Lease). Depends on jansson, strbuf, util and duration; never on HTTP, the store or the clock.
 */
#include "printers_private.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "svc/duration.h"
#include "svc/strbuf.h"
#include "svc/util.h"

static const struct printers_kind *const printers_all[] = {
    &printers_kind_service, &printers_kind_endpoints,  &printers_kind_endpointslice,
    &printers_kind_pod,     &printers_kind_replicaset, &printers_kind_namespace,
    &printers_kind_node,    &printers_kind_event,      &printers_kind_lease,
};

const struct printers_kind *printers_find(const char *group, const char *kind)
{
    if (!group)
        group = "";
    if (!kind)
        return NULL;
    for (size_t i = 0; i < sizeof(printers_all) / sizeof(printers_all[0]); i++) {
        const struct printers_kind *pk = printers_all[i];
        if (strcmp(pk->group, group) == 0 && strcmp(pk->kind, kind) == 0)
            return pk;
    }
    return NULL;
}

const struct printers_column *printers_columns(const struct printers_kind *pk, size_t *n)
{
    *n = pk->ncolumns;
    return pk->columns;
}

/* A new JSON value, or abort: jansson fails only when memory runs out. */
static json_t *checked(json_t *v)
{
    if (!v)
        abort();
    return v;
}

json_t *printers_columns_json(const struct printers_kind *pk)
{
    json_t *defs = checked(json_array());
    for (size_t i = 0; i < pk->ncolumns; i++) {
        const struct printers_column *c = &pk->columns[i];
        json_t *d = checked(json_object());
        /* Keys in metav1.TableColumnDefinition's field order, so the bytes read like upstream. */
        json_object_set_new(d, "name", checked(json_string(c->name)));
        json_object_set_new(d, "type", checked(json_string(c->type)));
        json_object_set_new(d, "format", checked(json_string(c->format)));
        json_object_set_new(d, "description", checked(json_string(c->description)));
        json_object_set_new(d, "priority", checked(json_integer(c->priority)));
        json_array_append_new(defs, d);
    }
    return defs;
}

json_t *printers_cells(const struct printers_kind *pk, const json_t *obj, struct timespec now)
{
    json_t *cells = checked(json_array());
    pk->cells(cells, obj, now);
    return cells;
}

json_t *printers_row_conditions(const struct printers_kind *pk, const json_t *obj)
{
    return pk->conditions ? pk->conditions(obj) : NULL;
}

/* ---- helpers shared by the kinds ------------------------------------------------------------ */

const char *printers_str(const json_t *obj, const char *key)
{
    const char *s = ju_str(obj, key);
    return s ? s : "";
}

const char *printers_name(const json_t *obj)
{
    return printers_str(ju_obj(obj, "metadata"), "name");
}

static void cell_strn(json_t *cells, const char *s, size_t len)
{
    /*
     * Every string reaching here is valid UTF-8: it comes from jansson, or is built from jansson
     * strings cut only at ASCII bytes or code point boundaries. Skipping the re-check keeps the
     * one failure mode "out of memory".
     */
    json_array_append_new(cells, checked(json_stringn_nocheck(s, len)));
}

void printers_cell_str(json_t *cells, const char *s)
{
    if (!s)
        s = "";
    cell_strn(cells, s, strlen(s));
}

void printers_cell_buf(json_t *cells, struct strbuf *sb)
{
    cell_strn(cells, strbuf_str(sb), sb->len);
    strbuf_reset(sb);
}

void printers_cell_int(json_t *cells, long long v)
{
    json_array_append_new(cells, checked(json_integer(v)));
}

void printers_cell_age(json_t *cells, const char *timestamp, struct timespec now)
{
    char age[DURATION_LEN];
    duration_age(timestamp, now, age);
    printers_cell_str(cells, age);
}

void printers_sort_stable(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n < 2)
        return;
    /* Bottom-up merge sort: stable like the insertion sort Go uses for short lists, and never
     * quadratic or recursive on long ones. */
    char *tmp = xmalloc(n * size);
    char *src = base, *dst = tmp;
    for (size_t width = 1; width<n; width = width> n / 2 ? n : width * 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = width < n - lo ? lo + width : n;
            size_t hi = 2 * width < n - lo ? lo + 2 * width : n;
            size_t a = lo, b = mid, k = lo;
            while (a < mid && b < hi) {
                /* Take from the right run only when strictly smaller: that keeps it stable. */
                if (cmp(src + b * size, src + a * size) < 0)
                    memcpy(dst + k++ * size, src + b++ * size, size);
                else
                    memcpy(dst + k++ * size, src + a++ * size, size);
            }
            if (a < mid)
                memcpy(dst + k * size, src + a * size, (mid - a) * size);
            k += mid - a;
            if (b < hi)
                memcpy(dst + k * size, src + b * size, (hi - b) * size);
        }
        char *t = src;
        src = dst;
        dst = t;
    }
    if (src != base)
        memcpy(base, src, n * size);
    free(tmp);
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void printers_sort_strings(const char **v, size_t n)
{
    printers_sort_stable(v, n, sizeof(*v), cmp_cstr);
}

void printers_join(struct strbuf *sb, const char *const *v, size_t n, const char *sep, bool unique)
{
    for (size_t i = 0; i < n; i++) {
        if (unique && i > 0 && strcmp(v[i], v[i - 1]) == 0)
            continue;
        if (i > 0)
            strbuf_addstr(sb, sep);
        strbuf_addstr(sb, v[i]);
    }
}
