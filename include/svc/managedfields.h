/*
 * managedfields: server-side apply and field ownership (metadata.managedFields), as
 * kube-apiserver 1.33 does them: apimachinery's pkg/util/managedfields (the FieldManager and its
 * chain of managers), sigs.k8s.io/structured-merge-diff v4.6.0 (sets, merge, prune, conflicts)
 * and apiserver's handlers/fieldmanager (no timestamp-only changes).
 *
 * Pure functions on jansson trees. Type information comes from the API contract's definitions
 * (api/README.md): x-kubernetes-list-type, -list-map-keys, -map-type and the patch strategy and
 * merge key, interpreted as kube-openapi's schemaconv interprets OpenAPI. Nothing here knows
 * HTTP, the store or a particular kind. Depends on jansson, strbuf and util only.
 *
 * Where the REST and registry layers call in (upstream's places, which decide what a manager is
 * said to own):
 *
 *  1. Every write that is not an apply (create, PUT, JSON/merge/strategic PATCH, and their
 *     /status forms) calls mf_update once the new object is decoded and v1-defaulted, and before
 *     the strategy's own work (PrepareForCreate/Update, allocation of clusterIP, nodePorts,
 *     uid, resourceVersion...): upstream's create.go, update.go and patch.go do it there, so
 *     allocated and system fields are nobody's. The result replaces metadata.managedFields
 *     (an empty array means: leave the field out). The object's own metadata.managedFields
 *     must be as the client sent it (a `[]` or `[{}]` is upstream's way to clear the list), so
 *     call it before anything canonicalises the object. mf_update never fails: upstream's
 *     UpdateNoErrors drops managedFields when tracking fails, and so does this.
 *  2. An apply patch (application/apply-patch+yaml) calls mf_apply instead of any merge, with
 *     the live object (NULL when missing: the apply creates it) and the body decoded from YAML
 *     as is (not decoded into the kind, not defaulted, not canonicalised: upstream keeps it
 *     unstructured). The returned object then goes through the kind's path like a patch
 *     result (defaulting, PrepareForUpdate, allocation, validation). No mf_update for it.
 *  3. Every update (apply included) calls mf_keep_times_if_unchanged after PrepareForUpdate and
 *     allocation and before validation, like upstream's generic registry Store.Update, so that
 *     a write that changes nothing but managedFields timestamps changes nothing at all (and the
 *     registry's "no change, no write" rule then applies: `kubectl apply --server-side` twice
 *     leaves resourceVersion alone).
 *
 * Reset fields: what a strategy wipes is nobody's, so status is ignored on the main resource
 * and spec on /status (each strategy's GetResetFields); mf_reset_fields has the table. The
 * system metadata fields (name, namespace, uid, resourceVersion, generation, creationTimestamp,
 * selfLink, managedFields), apiVersion and kind are never owned (stripMetaManager).
 */
#ifndef SVC_MANAGEDFIELDS_H
#define SVC_MANAGEDFIELDS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct json_t json_t;

/* apimachinery's validation.FieldManagerMaxLength: a manager name is at most this many bytes. */
#define MF_MANAGER_MAX_LEN 128
/* capManagersManager: more Update entries than this are folded into "ancient-changes". */
#define MF_MAX_UPDATE_MANAGERS 10
/* The annotation client-side apply keeps; server-side apply by "kubectl" keeps it current. */
#define MF_LAST_APPLIED_ANNOTATION "kubectl.kubernetes.io/last-applied-configuration"

/* What every call needs to know about the request. All pointers are borrowed. */
struct mf_context {
    const json_t *definitions;       /* the API contract's definitions (name -> definition) */
    const char *root;                /* the kind's definition, e.g. "io.k8s.api.core.v1.Service" */
    const char *api_version;         /* group version of the request: "v1", "apps/v1" */
    const char *kind;                /* "Service" (apply checks the body's kind against it) */
    const char *subresource;         /* NULL or "" for the object itself, "status" */
    const char *const *reset_fields; /* from mf_reset_fields; NULL when none */
    const char *now; /* the request's time, RFC 3339 in UTC: "2025-05-01T10:00:00Z" */
};

/*
 * The fields a strategy resets, as dotted paths in a NULL-terminated static array, or NULL when
 * the strategy has none (GetResetFields of kubernetes/pkg/registry): "status" for the main
 * resource of services, pods, nodes, namespaces and replicasets; "spec" for their /status
 * (pods/status also "metadata.deletionTimestamp" and "metadata.ownerReferences"). group is ""
 * for the core group; resource is the plural; subresource NULL or "" for the object itself.
 */
const char *const *mf_reset_fields(const char *group, const char *resource,
                                   const char *subresource);

/*
 * The manager of a non-apply write: fieldManager when it is not empty, else the User-Agent up to
 * its first '/', with unprintable characters dropped and cut at MF_MANAGER_MAX_LEN bytes
 * (apiserver's managerOrUserAgent). May be "" (then mf_update records "unknown", as upstream).
 * Either argument may be NULL. Caller frees.
 */
char *mf_manager_name(const char *field_manager, const char *user_agent);

/*
 * Update accounting for a create, an update or a non-apply patch. live is the stored object
 * (NULL on create: upstream compares with the kind's empty object); obj is the new object as
 * described at the top. Returns the managedFields list to store, a new reference: an array,
 * empty when the object should carry none. What it records, as upstream:
 *  - the manager (entry {manager, operation Update, apiVersion, subresource}) gains every field
 *    the write added or changed (a create: every field set), with time ctx->now; a write that
 *    changes no field leaves every entry, and its time, as it was;
 *  - every other manager loses the fields the write changed or removed; entries left empty go;
 *  - the starting list is obj's metadata.managedFields when the client sent a valid non-empty
 *    one (never for a subresource), else live's; a live object that has none is not tracked;
 *  - at most MF_MAX_UPDATE_MANAGERS Update entries ("ancient-changes" takes the oldest);
 *  - entries sorted as upstream sorts them (Apply before Update, then by time, manager,
 *    apiVersion, subresource), fieldsV1 in upstream's key order.
 */
json_t *mf_update(const struct mf_context *ctx, const json_t *live, const json_t *obj,
                  const char *manager);

/* ---- apply ---------------------------------------------------------------------------------- */

enum mf_error_kind {
    MF_ERR_NONE = 0,
    MF_ERR_BAD_REQUEST, /* 400 BadRequest */
    MF_ERR_CONFLICT,    /* 409 Conflict, with causes */
    MF_ERR_INTERNAL,    /* 500 with no reason: a plain Go error upstream (StatusReasonUnknown) */
};

struct mf_error {
    enum mf_error_kind kind;
    char *message;  /* owned: Status.message */
    json_t *causes; /* owned array of {"reason":"FieldManagerConflict","message":..,"field":..}
                       for MF_ERR_CONFLICT (Status.details.causes; details has nothing else);
                       NULL otherwise */
};

void mf_error_init(struct mf_error *err);
void mf_error_release(struct mf_error *err);

/*
 * Server-side apply of config (the decoded apply body, borrowed) by manager (the fieldManager
 * query parameter, required and checked by the caller) onto live (borrowed; NULL when the object
 * does not exist). On success returns 0 with *out a new reference: the merged object, carrying
 * its new metadata.managedFields (left out when none), not yet defaulted or canonicalised (it may
 * hold nulls where fields were pruned: decode it like a patch result); and *changed (may be
 * NULL) telling whether the merge changed the object (when not, *out is a copy of live with the
 * new managedFields, and the manager's time was not bumped, as upstream: a manager applying
 * exactly what the object already holds gets an Apply entry with no time). On failure returns
 * -1 with err (*out NULL):
 *  - 409 when fields owned by other managers would change and !force, message as upstream:
 *    `Apply failed with 1 conflict: conflict with "m" using v1: .spec.x` or
 *    `Apply failed with 2 conflicts: conflicts with "m" using v1:\n- .a\n- .b` (managers in
 *    sorted order); one cause per conflicting field. With force the fields change owner.
 *    Manager "kubectl" may take over, without force, fields whose value the live object's
 *    last-applied annotation already has (upgrade from client-side apply, lastAppliedManager).
 *  - 400 "invalid object type: <gvk>" when apiVersion/kind are not the kind's;
 *    "metadata.managedFields must be nil" when the body carries any.
 *  - 500 "failed to create typed patch object (<ns>/<name>; <gvk>): <reason>" when the body
 *    does not fit the schema (".spec.foo: field not declared in schema", duplicate keys...),
 *    and the other internal failures upstream reports the same way.
 * Fields this manager applied before and no longer applies are removed from the object unless
 * another manager owns them; map-lists merge by key, sets as sets, atomic lists, maps and
 * structs are replaced whole. With manager "kubectl", an existing last-applied annotation is
 * rewritten to the new configuration (lastAppliedUpdater).
 */
int mf_apply(const struct mf_context *ctx, const json_t *live, const json_t *config,
             const char *manager, bool force, json_t **out, bool *changed, struct mf_error *err);

/* ---- no timestamp-only changes ----------------------------------------------------------------
 */

/*
 * apiserver's IgnoreManagedFieldsTimestampsTransformer: when obj (the new object, changed in
 * place) equals old except for the times of its managedFields entries, and the entries are
 * pairwise equal otherwise, obj's entries get old's times back. Objects are compared as Go
 * would compare the decoded structs (empty fields equal absent ones), resourceVersion aside.
 */
void mf_keep_times_if_unchanged(const struct mf_context *ctx, json_t *obj, const json_t *old);

#endif
