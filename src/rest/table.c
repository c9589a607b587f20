/*
 * table: meta.k8s.io Tables (server-side printing, service-semantics.md §7.1). The cells come
 * from the printers module; this file adds the envelope, the column definitions and the row
 * object chosen by includeObject.
 */
#include "rest_private.h"

#include "svc/api.h"
#include "svc/apierr.h"
#include "svc/field_error.h"
#include "svc/printers.h"
#include "svc/store.h"
#include "svc/util.h"

#include <jansson.h>
#include <string.h>

enum include_object { INCLUDE_METADATA, INCLUDE_OBJECT, INCLUDE_NONE };

static int parse_include(const char *v, enum include_object *out, struct apierr *err)
{
    if (!v || !*v || !strcmp(v, "Metadata"))
        *out = INCLUDE_METADATA;
    else if (!strcmp(v, "Object"))
        *out = INCLUDE_OBJECT;
    else if (!strcmp(v, "None"))
        *out = INCLUDE_NONE;
    else {
        char *q = fe_quote(v);
        apierr_simple(err, APIERR_BAD_REQUEST,
                      "Unable to convert to Table as requested: includeObject: Invalid value: %s: "
                      "must be 'Metadata', 'Object', 'None', or empty",
                      q);
        free(q);
        return -1;
    }
    return 0;
}

/* Kinds without a printer get upstream's default columns: the name and the creation time. */
static json_t *default_columns(void)
{
    return json_pack("[{s:s,s:s,s:s,s:s,s:i},{s:s,s:s,s:s,s:s,s:i}]", "name", "Name", "type",
                     "string", "format", "name", "description", "The name of the object.",
                     "priority", 0, "name", "Created At", "type", "date", "format", "",
                     "description", "When the object was created.", "priority", 0);
}

json_t *rest_table(const struct api_resource *res, const char *version, const char *include_object,
                   struct store_obj *const *objs, size_t n, bool with_columns, struct apierr *err)
{
    enum include_object inc;
    if (parse_include(include_object, &inc, err))
        return NULL;
    const char *v = version && *version ? version : "v1";
    char *av = xasprintf("meta.k8s.io/%s", v);
    const struct printers_kind *pk = printers_find(res->group, res->kind);
    json_t *table = json_pack("{s:s,s:s,s:{}}", "kind", "Table", "apiVersion", av, "metadata");
    if (with_columns)
        json_object_set_new(table, "columnDefinitions",
                            pk ? printers_columns_json(pk) : default_columns());
    else
        json_object_set_new(table, "columnDefinitions", json_null());
    json_t *rows = json_array();
    struct timespec now = util_now();
    for (size_t i = 0; i < n; i++) {
        const json_t *obj = store_obj_json(objs[i]);
        json_t *cells;
        if (pk) {
            cells = printers_cells(pk, obj, now);
        } else {
            const char *ts = ju_meta_str(obj, "creationTimestamp");
            cells = json_pack("[s,s]", ju_meta_str(obj, "name") ?: "", ts ? ts : "");
        }
        json_t *row = json_pack("{s:o}", "cells", cells);
        json_t *conds = pk ? printers_row_conditions(pk, obj) : NULL;
        if (conds)
            json_object_set_new(row, "conditions", conds);
        switch (inc) {
        case INCLUDE_OBJECT:
            json_object_set(row, "object", (json_t *)obj);
            break;
        case INCLUDE_NONE:
            json_object_set_new(row, "object", json_null());
            break;
        default:
            json_object_set_new(row, "object",
                                json_pack("{s:s,s:s,s:O}", "kind", "PartialObjectMetadata",
                                          "apiVersion", av, "metadata", ju_obj(obj, "metadata")));
        }
        json_array_append_new(rows, row);
    }
    json_object_set_new(table, "rows", rows);
    free(av);
    return table;
}
