/*
 * printers_private: what the files of the printers module share and nobody else sees: the shape
 * of a kind's printer and small helpers for appending cells.
 * Depends on jansson, strbuf and the public printers header.
 */
#ifndef SVC_PRINTERS_PRIVATE_H
#define SVC_PRINTERS_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "svc/printers.h"

struct strbuf;

/* Append the cells of obj (borrowed) to cells (a JSON array), one per column, in column order. */
typedef void (*printers_cells_fn)(json_t *cells, const json_t *obj, struct timespec now);
/* Return the row conditions of obj as a new array, or NULL when there are none. */
typedef json_t *(*printers_conditions_fn)(const json_t *obj);

struct printers_kind {
    const char *group; /* "" for core */
    const char *kind;
    const struct printers_column *columns;
    size_t ncolumns;
    printers_cells_fn cells;
    printers_conditions_fn conditions; /* NULL: the kind's rows never carry conditions */
};

/* The printers, one per file family: network.c, workloads.c, cluster.c. */
extern const struct printers_kind printers_kind_service;
extern const struct printers_kind printers_kind_endpoints;
extern const struct printers_kind printers_kind_endpointslice;
extern const struct printers_kind printers_kind_pod;
extern const struct printers_kind printers_kind_replicaset;
extern const struct printers_kind printers_kind_namespace;
extern const struct printers_kind printers_kind_node;
extern const struct printers_kind printers_kind_event;
extern const struct printers_kind printers_kind_lease;

/* Descriptions shared by the columns every kind has. */
#define PRINTERS_DESC_NAME "Name of the object, unique within its namespace (or cluster-wide)."
#define PRINTERS_DESC_AGE  "Time elapsed since the object was created."

/* ---- cell helpers (printers.c) ------------------------------------------------------------- */

/* obj[key] as a string, or "" when absent or not a string (Go's zero value). Borrowed. */
const char *printers_str(const json_t *obj, const char *key);
/* obj.metadata.name, or "". Borrowed. */
const char *printers_name(const json_t *obj);

/* Append a string cell; NULL appends "". s must be valid UTF-8 (it comes from jansson). */
void printers_cell_str(json_t *cells, const char *s);
/* Append the contents of sb as a string cell and empty sb for reuse. */
void printers_cell_buf(json_t *cells, struct strbuf *sb);
/* Append an integer cell. */
void printers_cell_int(json_t *cells, long long v);
/* Append the AGE of a timestamp string (NULL when absent): "5m2s", or "<unknown>". */
void printers_cell_age(json_t *cells, const char *timestamp, struct timespec now);

/*
 * Sort n elements of size bytes at base, qsort-style (cmp receives pointers to elements), but
 * stable and without recursion: the lists sorted come from request data and may be long.
 */
void printers_sort_stable(void *base, size_t n, size_t size,
                          int (*cmp)(const void *, const void *));
/* Sort n C strings bytewise ascending (Go's sort.Strings order). */
void printers_sort_strings(const char **v, size_t n);

/*
 * Append the strings of v (n of them, already in their final order) to sb, joined by sep. When
 * unique, a string equal to the one before it is skipped (for sorted sets).
 */
void printers_join(struct strbuf *sb, const char *const *v, size_t n, const char *sep, bool unique);

#endif
