/*
 * printers: the server-side Table view (meta.k8s.io/v1 Table) of every served kind, as
 * kube-apiserver 1.33 prints it (k8s pkg/printers/internalversion/printers.go): the column
 * definitions of each kind, the cells of one object's row and the row's conditions.
 *
 * Tables are always built "wide", as the real server builds them: every column, priority 1
 * included, is present in the definitions and in each row; kubectl hides priority 1 unless -o wide.
 * The object is read as the API returns it (a v1 JSON tree); a field that v1 defaulting would
 * fill is read with its default when absent, a mistyped field counts as absent.
 *
 * Pure functions: no HTTP, no store, no clock ("now" is an argument). Depends on jansson, strbuf,
 * util and duration only. Assembling the Table document itself is the codec's job.
 */
#ifndef SVC_PRINTERS_H
#define SVC_PRINTERS_H

#include <stddef.h>
#include <time.h>

typedef struct json_t json_t;

/* One column definition (metav1.TableColumnDefinition). All strings are static. */
struct printers_column {
    const char *name;        /* header text as upstream spells it, e.g. "Cluster-IP" */
    const char *type;        /* type of the cells: "string" or "integer" */
    const char *format;      /* "name" for the column holding the object name, else "" */
    const char *description; /* what the column shows, in our words */
    int priority;            /* 0: always shown; 1: shown by kubectl only with -o wide */
};

/* The printer of one kind; static, never freed. */
struct printers_kind;

/*
 * The printer of a kind: group "" for the core group ("apps", "discovery.k8s.io" otherwise) and
 * the kind ("Service"). Served: Service, Endpoints, Namespace, Pod, Node, Event (core),
 * ReplicaSet (apps), EndpointSlice (discovery.k8s.io). NULL for any other kind; the caller then
 * prints the default Name/Age table. group and kind are borrowed; NULL is treated as "".
 */
const struct printers_kind *printers_find(const char *group, const char *kind);

/* The column definitions of pk in order (a static array); *n receives their number. */
const struct printers_column *printers_columns(const struct printers_kind *pk, size_t *n);

/*
 * The column definitions as a new JSON array of {name, type, format, description, priority}
 * objects, keys in that order (upstream's field order). Caller owns the reference.
 */
json_t *printers_columns_json(const struct printers_kind *pk);

/*
 * The cells of obj's row: a new JSON array (caller owns it) with one value per column, strings
 * except where the column type is integer (and the Event count). obj is borrowed and may be
 * malformed (absent fields print as upstream prints zero values); now is the time ages are
 * measured against. Never NULL.
 */
json_t *printers_cells(const struct printers_kind *pk, const json_t *obj, struct timespec now);

/*
 * The row conditions of obj: a new JSON array (caller owns it), or NULL when the row has none
 * (the row then carries no "conditions" key). Only Pods have them: phase Succeeded or Failed gives
 * one {"type":"Completed","status":"True",...} condition.
 */
json_t *printers_row_conditions(const struct printers_kind *pk, const json_t *obj);

#endif
