/*
 * managedfields: the bookkeeping of metadata.managedFields for every write, after apimachinery's
 * pkg/util/managedfields/internal (managers and their identifiers, DecodeManagedFields and
 * encodeManagedFields with their sort, the Update chain: skipNonApplied, capManagers,
 * buildManagerInfo, managedFieldsUpdater, stripMeta, structuredMerge) and
 * structured-merge-diff's merge.Updater.update, which takes changed fields from their owners.
 * Also the small public helpers: reset fields per strategy, the manager name of a request,
 * and apiserver's rule that a write changing only managedFields timestamps changes nothing.
 * Depends on jansson, strbuf and util only.
 */
#include "mf_private.h"

#include "svc/strbuf.h"
#include "svc/tree_arena.h"
#include "svc/util.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* managedFieldsUpdater's placeholder for the manager of the write being tracked. */
#define CURRENT_OPERATION "current-operation"
/* capManagersManager's bucket. */
#define ANCIENT_CHANGES "ancient-changes"

/* ---- reset fields, manager names, errors
 * --------------------------------------------------------- */

static const char *const reset_status[] = {"status", NULL};
static const char *const reset_spec[] = {"spec", NULL};
static const char *const reset_pod_status[] = {"spec", "metadata.deletionTimestamp",
                                               "metadata.ownerReferences", NULL};

/* GetResetFields of each strategy in kubernetes/pkg/registry for the kinds we serve. Endpoints,
   EndpointSlices and Events reset nothing. replicasets/scale is left out: upstream tracks it
   through a ScaleHandler that is not a reset-field filter. */
const char *const *mf_reset_fields(const char *group, const char *resource, const char *subresource)
{
    static const struct {
        const char *group, *resource;
        const char *const *main, *const *status;
    } table[] = {
        {"", "services", reset_status, reset_spec},
        {"", "pods", reset_status, reset_pod_status},
        {"", "nodes", reset_status, reset_spec},
        {"", "namespaces", reset_status, reset_spec},
        {"apps", "replicasets", reset_status, reset_spec},
    };
    if (!resource)
        return NULL;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(table[i].group, group ? group : "") || strcmp(table[i].resource, resource))
            continue;
        if (!subresource || !*subresource)
            return table[i].main;
        return strcmp(subresource, "status") ? NULL : table[i].status;
    }
    return NULL;
}

/* unicode.IsPrint, close enough for User-Agent strings: controls, C1 controls and the spaces
   other than U+0020 are not printable. */
static bool rune_printable(long r)
{
    if (r < 0x20 || (r >= 0x7f && r <= 0xa0) || r == 0xad)
        return false;
    if (r == 0x1680 || (r >= 0x2000 && r <= 0x200f) || (r >= 0x2028 && r <= 0x202f) ||
        r == 0x205f || r == 0x3000 || r == 0xfeff)
        return false;
    return true;
}

char *mf_manager_name(const char *field_manager, const char *user_agent)
{
    if (field_manager && *field_manager)
        return xstrdup(field_manager);
    const unsigned char *p = (const unsigned char *)(user_agent ? user_agent : "");
    size_t end = 0;
    while (p[end] && p[end] != '/')
        end++;
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    for (size_t i = 0; i < end;) {
        /* decode one rune; an invalid byte is U+FFFD, as Go's range over a string gives */
        long r = p[i];
        size_t len = 1, need = 0;
        if (p[i] >= 0x80) {
            if ((p[i] & 0xe0) == 0xc0)
                need = 2, r = p[i] & 0x1f;
            else if ((p[i] & 0xf0) == 0xe0)
                need = 3, r = p[i] & 0x0f;
            else if ((p[i] & 0xf8) == 0xf0)
                need = 4, r = p[i] & 0x07;
            bool ok = need && i + need <= end;
            for (size_t k = 1; ok && k < need; k++) {
                ok = (p[i + k] & 0xc0) == 0x80;
                r = (r << 6) | (p[i + k] & 0x3f);
            }
            static const long min[] = {0, 0, 0x80, 0x800, 0x10000};
            if (ok && (r < min[need] || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)))
                ok = false;
            if (ok)
                len = need;
            else
                r = 0xfffd;
        }
        if (rune_printable(r)) {
            size_t out_len = r == 0xfffd && len == 1 ? 3 : len;
            if (sb.len + out_len > MF_MANAGER_MAX_LEN)
                break;
            if (r == 0xfffd && len == 1)
                strbuf_addstr(&sb, "\xef\xbf\xbd");
            else
                strbuf_add(&sb, p + i, len);
        }
        i += len;
    }
    return strbuf_detach(&sb, NULL);
}

void mf_error_init(struct mf_error *err)
{
    memset(err, 0, sizeof(*err));
}

void mf_error_release(struct mf_error *err)
{
    free(err->message);
    json_decref(err->causes);
    memset(err, 0, sizeof(*err));
}

const char *mf_subresource(const struct mf_context *ctx)
{
    return ctx->subresource ? ctx->subresource : "";
}

char *mf_object_gvknn(const json_t *obj)
{
    const json_t *meta = json_object_get(obj, "metadata");
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *av = json_string_value(json_object_get(obj, "apiVersion"));
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    av = av ? av : "";
    const char *slash = strchr(av, '/');
    char *group = slash ? xstrndup(av, (size_t)(slash - av)) : xstrdup("");
    const char *version = slash ? slash + 1 : av;
    if (slash && strchr(version, '/')) { /* ParseGroupVersion fails: an empty kind */
        free(group);
        group = xstrdup("");
        version = "";
        kind = "";
    }
    char *out = xasprintf("%s/%s; %s/%s, Kind=%s", ns ? ns : "", name ? name : "", group, version,
                          kind ? kind : "");
    free(group);
    return out;
}

/* ---- manager identifiers ------------------------------------------------------------------------
 */

static void add_go_string(struct strbuf *sb, const char *s)
{
    const char *p = s;
    while (*p >= 0x20 && *p < 0x7f && !strchr("\"\\<>&", *p))
        p++;
    if (!*p) { /* nothing Go's encoder would escape */
        strbuf_addch(sb, '"');
        strbuf_add(sb, s, (size_t)(p - s));
        strbuf_addch(sb, '"');
        return;
    }
    json_t *v = json_string(s);
    if (!v) { /* not UTF-8: Go would replace the bad bytes; keep the text printable */
        v = json_string("\xef\xbf\xbd");
    }
    mf_go_json(sb, v);
    json_decref(v);
}

char *mf_manager_id(const char *manager, bool applied, const char *api_version,
                    const char *subresource)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    strbuf_addch(&sb, '{');
    bool any = false;
    if (manager && *manager) {
        strbuf_addstr(&sb, "\"manager\":");
        add_go_string(&sb, manager);
        any = true;
    }
    strbuf_addstr(&sb, any ? ",\"operation\":\"" : "\"operation\":\"");
    strbuf_addstr(&sb, applied ? "Apply\"" : "Update\"");
    if (!applied && api_version && *api_version) {
        strbuf_addstr(&sb, ",\"apiVersion\":");
        add_go_string(&sb, api_version);
    }
    if (subresource && *subresource) {
        strbuf_addstr(&sb, ",\"subresource\":");
        add_go_string(&sb, subresource);
    }
    strbuf_addch(&sb, '}');
    return strbuf_detach(&sb, NULL);
}

void mf_print_manager(struct strbuf *sb, const char *id)
{
    json_t *e = json_loads(id, 0, NULL);
    if (!json_is_object(e)) {
        mf_go_quote(sb, id);
        json_decref(e);
        return;
    }
    const char *manager = json_string_value(json_object_get(e, "manager"));
    const char *sub = json_string_value(json_object_get(e, "subresource"));
    const char *op = json_string_value(json_object_get(e, "operation"));
    const char *av = json_string_value(json_object_get(e, "apiVersion"));
    mf_go_quote(sb, manager ? manager : "");
    if (sub && *sub) {
        strbuf_addstr(sb, " with subresource ");
        mf_go_quote(sb, sub);
    }
    /* identifiers carry no time, so upstream's "at <time>" form never shows */
    if (op && !strcmp(op, "Update"))
        strbuf_addf(sb, " using %s", av ? av : "");
    json_decref(e);
}

/* ---- the managers
 * --------------------------------------------------------------------------------- */

void mf_managed_init(struct mf_managed *m)
{
    memset(m, 0, sizeof(*m));
}

static void entry_release(struct mf_entry *e)
{
    free(e->id);
    free(e->manager);
    free(e->operation);
    free(e->subresource);
    free(e->api_version);
    mf_set_free(e->set);
}

void mf_managed_release(struct mf_managed *m)
{
    for (size_t i = 0; i < m->n; i++)
        entry_release(&m->items[i]);
    for (size_t i = 0; i < m->n_times; i++) {
        free(m->times[i].id);
        free(m->times[i].time);
    }
    free(m->items);
    free(m->times);
    memset(m, 0, sizeof(*m));
}

struct mf_entry *mf_managed_get(struct mf_managed *m, const char *id)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->items[i].id, id))
            return &m->items[i];
    return NULL;
}

/* An identifier as mf_manager_id writes it, when it has no escapes, no non-ASCII bytes and no
   spaces: the values of "manager", "operation" and "subresource" (the last of each, as jansson
   keeps it) in vals, or false for anything else. */
static bool id_parts_plain(const char *p, const char *vals[3], size_t lens[3])
{
    static const char *const names[] = {"manager", "operation", "subresource"};
    if (*p++ != '{')
        return false;
    if (*p == '}')
        return !p[1];
    for (;;) {
        const char *str[2];
        size_t len[2];
        for (int i = 0; i < 2; i++) {
            if (i && *p++ != ':')
                return false;
            if (*p++ != '"')
                return false;
            str[i] = p;
            for (; *p != '"'; p++)
                if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x80 || *p == '\\')
                    return false;
            len[i] = (size_t)(p++ - str[i]);
        }
        for (int k = 0; k < 3; k++) {
            if (strlen(names[k]) == len[0] && !memcmp(names[k], str[0], len[0])) {
                vals[k] = str[1];
                lens[k] = len[1];
            }
        }
        if (*p == '}')
            return !p[1];
        if (*p++ != ',')
            return false;
    }
}

/* The manager, operation and subresource an identifier names ("" for those it does not, and
   for all of them when it is not JSON, like the "current-operation" placeholder). */
static void id_parts(const char *id, struct mf_entry *e)
{
    const char *vals[3] = {"", "", ""};
    size_t lens[3] = {0, 0, 0};
    if (*id != '{' && *id != ' ' && *id != '\t' && *id != '\n' && *id != '\r') {
        /* no JSON text starts so: json_loads would fail */
    } else if (!id_parts_plain(id, vals, lens)) {
        json_t *parsed = json_loads(id, 0, NULL);
        const char *v;
        e->manager = xstrdup((v = json_string_value(json_object_get(parsed, "manager"))) ? v : "");
        e->operation =
            xstrdup((v = json_string_value(json_object_get(parsed, "operation"))) ? v : "");
        e->subresource =
            xstrdup((v = json_string_value(json_object_get(parsed, "subresource"))) ? v : "");
        json_decref(parsed);
        return;
    }
    e->manager = xstrndup(vals[0], lens[0]);
    e->operation = xstrndup(vals[1], lens[1]);
    e->subresource = xstrndup(vals[2], lens[2]);
}

struct mf_entry *mf_managed_put(struct mf_managed *m, const char *id, struct mf_set *set,
                                const char *api_version, bool applied)
{
    struct mf_entry *e = mf_managed_get(m, id);
    if (e) {
        mf_set_free(e->set);
        free(e->api_version);
    } else {
        if (m->n == m->alloc) {
            m->alloc = m->alloc ? 2 * m->alloc : 8;
            m->items = xrealloc(m->items, m->alloc * sizeof(*m->items));
        }
        e = &m->items[m->n++];
        memset(e, 0, sizeof(*e));
        e->id = xstrdup(id);
        id_parts(id, e);
    }
    e->set = set;
    e->fields_json = NULL;
    e->api_version = xstrdup(api_version ? api_version : "");
    e->applied = applied;
    return e;
}

void mf_managed_copy(struct mf_managed *dst, const struct mf_managed *src)
{
    mf_managed_init(dst);
    for (size_t i = 0; i < src->n; i++) {
        const struct mf_entry *e = &src->items[i];
        mf_managed_put(dst, e->id, mf_set_copy(e->set), e->api_version, e->applied)->fields_json =
            e->fields_json; /* an exact copy encodes alike */
    }
    for (size_t i = 0; i < src->n_times; i++)
        mf_managed_set_time(dst, src->times[i].id, src->times[i].time);
}

void mf_managed_remove(struct mf_managed *m, const char *id)
{
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->items[i].id, id))
            continue;
        entry_release(&m->items[i]);
        memmove(&m->items[i], &m->items[i + 1], (m->n - i - 1) * sizeof(*m->items));
        m->n--;
        return;
    }
}

static struct mf_time *find_time(const struct mf_managed *m, const char *id)
{
    for (size_t i = 0; i < m->n_times; i++)
        if (!strcmp(m->times[i].id, id))
            return &m->times[i];
    return NULL;
}

void mf_managed_set_time(struct mf_managed *m, const char *id, const char *time)
{
    struct mf_time *t = find_time(m, id);
    if (!t) {
        if (m->n_times == m->a_times) {
            m->a_times = m->a_times ? 2 * m->a_times : 8;
            m->times = xrealloc(m->times, m->a_times * sizeof(*m->times));
        }
        t = &m->times[m->n_times++];
        t->id = xstrdup(id);
        t->time = NULL;
    }
    free(t->time);
    t->time = time ? xstrdup(time) : NULL;
}

void mf_managed_drop_other_versions(struct mf_managed *m, const char *api_version)
{
    for (size_t i = 0; i < m->n;) {
        if (strcmp(m->items[i].api_version, api_version ? api_version : "")) {
            char *id = xstrdup(m->items[i].id);
            mf_managed_remove(m, id);
            free(id);
        } else {
            i++;
        }
    }
}

/* A time as this server writes it, "2025-05-01T10:00:00Z" with a year of four digits from
   1000 on and a real calendar day (what util_parse_time accepts): *secs set (as timegm gives
   them, proleptic Gregorian), or false for any other text. util_format_time gives such a time
   back unchanged, so it needs no round trip. */
static bool plain_time(const char *s, long long *secs)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    for (size_t i = 0; i < sizeof(shape) - 1; i++)
        if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
            return false;
    if (s[sizeof(shape) - 1])
        return false;
#define NUM2(p) (((p)[0] - '0') * 10 + ((p)[1] - '0'))
    long long y = NUM2(s) * 100 + NUM2(s + 2);
    int mo = NUM2(s + 5), d = NUM2(s + 8), h = NUM2(s + 11), mi = NUM2(s + 14), se = NUM2(s + 17);
#undef NUM2
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1000 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59 ||
        d > days[mo - 1] + (mo == 2 && leap))
        return false;
    /* days from 1970-01-01 (H. Hinnant's days_from_civil) */
    long long yy = mo <= 2 ? y - 1 : y;
    long long era = yy / 400, yoe = yy - era * 400;
    long long doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    *secs = (era * 146097 + doe - 719468) * 86400 + h * 3600 + mi * 60 + se;
    return true;
}

/* metav1.Time round trip: RFC 3339 in, seconds in UTC out; text that does not parse stays. */
static char *normal_time(const char *s)
{
    struct timespec ts;
    long long secs;
    if (!s || plain_time(s, &secs) || util_parse_time(s, &ts))
        return s ? xstrdup(s) : NULL;
    char buf[UTIL_RFC3339_LEN];
    util_format_time(ts.tv_sec, buf);
    return xstrdup(buf);
}

static long long time_unix(const char *s)
{
    struct timespec ts;
    long long secs;
    if (s && plain_time(s, &secs))
        return secs;
    if (!s || util_parse_time(s, &ts))
        return 0;
    return (long long)ts.tv_sec;
}

static const char *str_or_empty(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

int mf_managed_decode(const json_t *list, struct mf_managed *out, char **err)
{
    *err = NULL;
    if (!json_is_array(list))
        return 0;
    size_t i;
    json_t *e;
    json_array_foreach (list, i, e) {
        const char *op = str_or_empty(e, "operation");
        const char *av = str_or_empty(e, "apiVersion");
        const char *ft = str_or_empty(e, "fieldsType");
        if (strcmp(op, "Apply") && strcmp(op, "Update")) {
            *err = xstrdup("operation must be `Apply` or `Update`");
            return -1;
        }
        if (!*av) {
            *err = xstrdup("apiVersion must not be empty");
            return -1;
        }
        if (!*ft) {
            *err = xasprintf("missing fieldsType in managed fields entry %zu", i);
            return -1;
        }
        if (strcmp(ft, "FieldsV1")) {
            struct strbuf q;
            strbuf_init(&q, STRBUF_NO_LIMIT);
            mf_go_quote(&q, ft);
            *err =
                xasprintf("invalid fieldsType %s in managed fields entry %zu", strbuf_str(&q), i);
            strbuf_release(&q);
            return -1;
        }
        bool applied = !strcmp(op, "Apply");
        char *id =
            mf_manager_id(str_or_empty(e, "manager"), applied, av, str_or_empty(e, "subresource"));
        const json_t *fields = json_object_get(e, "fieldsV1");
        struct mf_set *set;
        char *serr = NULL;
        if (!fields || json_is_null(fields)) {
            set = mf_set_new();
        } else {
            set = mf_set_from_fields(fields, &serr);
        }
        if (!set) {
            *err = xasprintf("error decoding versioned set from {%s %s %s %s FieldsV1 %s}: "
                             "error decoding set: %s",
                             str_or_empty(e, "manager"), op, av, str_or_empty(e, "time"),
                             str_or_empty(e, "subresource"), serr);
            free(serr);
            free(id);
            return -1;
        }
        mf_managed_put(out, id, set, av, applied)->fields_json =
            json_is_object(fields) ? fields : NULL;
        char *t = normal_time(json_string_value(json_object_get(e, "time")));
        mf_managed_set_time(out, id, t);
        free(t);
        free(id);
    }
    return 0;
}

struct sort_item {
    const struct mf_entry *e;
    const char *op;
    const char *time;
    long long secs;
};

/* sortEncodedManagedFields */
static int sort_cmp(const void *pa, const void *pb)
{
    const struct sort_item *a = pa, *b = pb;
    int c = strcmp(a->op, b->op);
    if (c)
        return c;
    if (a->secs != b->secs)
        return a->secs < b->secs ? -1 : 1;
    if ((c = strcmp(a->e->manager, b->e->manager)))
        return c;
    if ((c = strcmp(a->e->api_version, b->e->api_version)))
        return c;
    if ((c = strcmp(a->e->subresource, b->e->subresource)))
        return c;
    return strcmp(a->e->id, b->e->id);
}

json_t *mf_managed_encode(const struct mf_managed *m)
{
    json_t *list = json_array();
    if (!m->n)
        return list;
    struct sort_item *items = xcalloc(m->n, sizeof(*items));
    for (size_t i = 0; i < m->n; i++) {
        const struct mf_entry *e = &m->items[i];
        const struct mf_time *t = find_time(m, e->id);
        items[i].e = e;
        items[i].op = e->applied ? "Apply" : e->operation;
        items[i].time = t ? t->time : NULL;
        items[i].secs = time_unix(items[i].time);
    }
    qsort(items, m->n, sizeof(*items), sort_cmp);
    for (size_t i = 0; i < m->n; i++) {
        const struct mf_entry *e = items[i].e;
        json_t *o = json_object();
        /* the keys are ours, and so are "Apply", "Update" and "FieldsV1": no UTF-8 to check */
        if (*e->manager)
            json_object_set_new_nocheck(o, "manager", json_string(e->manager));
        if (*items[i].op)
            json_object_set_new_nocheck(o, "operation", json_string(items[i].op));
        if (*e->api_version)
            json_object_set_new_nocheck(o, "apiVersion", json_string(e->api_version));
        if (items[i].time)
            json_object_set_new_nocheck(o, "time", json_string(items[i].time));
        json_object_set_new_nocheck(o, "fieldsType", json_stringn_nocheck("FieldsV1", 8));
        /* a set that encodes to what it was read from is written as it was read: the list
           then shares that fieldsV1 with the object it was read from */
        if (e->fields_json && mf_set_matches_fields(e->set, e->fields_json))
            json_object_set_nocheck(o, "fieldsV1", (json_t *)e->fields_json);
        else
            json_object_set_new(o, "fieldsV1", mf_set_to_fields(e->set));
        if (*e->subresource)
            json_object_set_new_nocheck(o, "subresource", json_string(e->subresource));
        json_array_append_new(list, o);
    }
    free(items);
    return list;
}

/* ---- merge.Updater.update
 * ------------------------------------------------------------------------ */

void mf_conflicts_release(struct mf_conflicts *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->items[i].manager_id);
        for (size_t k = 0; k < c->items[i].n; k++)
            mf_pe_release(&c->items[i].path[k]);
        free(c->items[i].path);
    }
    free(c->items);
    memset(c, 0, sizeof(*c));
}

struct conflict_sink {
    struct mf_conflicts *out;
    const char *manager_id;
};

static void add_conflict(void *ctx, const struct mf_pe *const *path, size_t n)
{
    struct conflict_sink *s = ctx;
    struct mf_conflicts *c = s->out;
    if (c->n == c->alloc) {
        c->alloc = c->alloc ? 2 * c->alloc : 8;
        c->items = xrealloc(c->items, c->alloc * sizeof(*c->items));
    }
    struct mf_conflict *item = &c->items[c->n++];
    item->manager_id = xstrdup(s->manager_id);
    item->n = n;
    item->path = xcalloc(n ? n : 1, sizeof(*item->path));
    for (size_t i = 0; i < n; i++)
        mf_pe_copy(&item->path[i], path[i]);
}

static int cmp_entry_id(const void *a, const void *b)
{
    return strcmp((*(struct mf_entry *const *)a)->id, (*(struct mf_entry *const *)b)->id);
}

/* merge.Updater.update after the comparison (cmp, taken over). */
static int updater_apply(struct mf_comparison cmp, const struct mf_set *exclude,
                         struct mf_managed *m, const char *workflow, bool force,
                         struct mf_comparison *cmp_out, struct mf_conflicts *conflicts)
{
    mf_comparison_exclude(&cmp, exclude);
    struct mf_set *changed = NULL;

    /* Managers in identifier order: upstream walks a Go map, so its order is arbitrary; ours
       is stable, which only shows in the order of the conflict causes. */
    struct mf_entry **order = xcalloc(m->n ? m->n : 1, sizeof(*order));
    for (size_t i = 0; i < m->n; i++)
        order[i] = &m->items[i];
    qsort(order, m->n, sizeof(*order), cmp_entry_id);
    size_t n = m->n;
    struct mf_set **lost = xcalloc(n ? n : 1, sizeof(*lost));
    bool any_conflict = false;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(order[i]->id, workflow))
            continue;
        if (!changed) /* only other managers need it */
            changed = mf_set_union(cmp.modified, cmp.added);
        if (force) {
            /* nothing to report: the fields just change owner, as below */
            mf_set_subtract_common(order[i]->set, changed);
            continue;
        }
        struct mf_set *c = mf_set_intersection(order[i]->set, changed);
        if (mf_set_empty(c)) {
            mf_set_free(c);
            continue;
        }
        lost[i] = c;
        any_conflict = true;
    }
    int rc = 0;
    if (!force && any_conflict) {
        for (size_t i = 0; i < n; i++) {
            if (!lost[i])
                continue;
            struct conflict_sink sink = {.out = conflicts, .manager_id = order[i]->id};
            if (conflicts)
                mf_set_iterate(lost[i], add_conflict, &sink);
        }
        rc = 1;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(order[i]->id, workflow))
            continue;
        if (lost[i])
            mf_set_subtract(order[i]->set, lost[i]);
        if (!mf_set_empty(cmp.removed))
            mf_set_subtract(order[i]->set, cmp.removed);
    }
    for (size_t i = 0; i < m->n;) {
        if (mf_set_empty(m->items[i].set)) {
            char *id = xstrdup(m->items[i].id);
            mf_managed_remove(m, id);
            free(id);
        } else {
            i++;
        }
    }
out:
    for (size_t i = 0; i < n; i++)
        mf_set_free(lost[i]);
    free(lost);
    free(order);
    mf_set_free(changed);
    if (cmp_out && rc == 0)
        *cmp_out = cmp;
    else
        mf_comparison_release(&cmp);
    return rc;
}

int mf_updater_update(const struct mf_schema *sc, const struct mf_set *exclude, const json_t *lhs,
                      const json_t *rhs, const char *api_version, struct mf_managed *m,
                      const char *workflow, bool force, struct mf_comparison *cmp_out,
                      struct mf_conflicts *conflicts, struct mf_errs *errs)
{
    (void)api_version; /* every set left has this version: the others were dropped */
    struct mf_comparison cmp;
    if (mf_compare(sc, lhs, rhs, &cmp, errs)) {
        mf_comparison_release(&cmp);
        return -1;
    }
    return updater_apply(cmp, exclude, m, workflow, force, cmp_out, conflicts);
}

/* ---- the Update chain
 * ------------------------------------------------------------------------------ */

/* The set of some dotted paths ("metadata.name"); empty segments are skipped. */
static struct mf_set *path_set(const char *const *paths)
{
    struct mf_set *s = mf_set_new();
    for (; *paths; paths++) {
        char *copy = xstrdup(*paths), *save = NULL;
        struct mf_pe pes[16];
        const struct mf_pe *path[16];
        size_t n = 0;
        for (char *tok = strtok_r(copy, ".", &save); tok && n < 16;
             tok = strtok_r(NULL, ".", &save)) {
            pes[n] = (struct mf_pe){.kind = MF_PE_FIELD, .field = tok};
            path[n] = &pes[n];
            n++;
        }
        mf_set_insert(s, path, n);
        free(copy);
    }
    return s;
}

/* stripMetaManager's fields. */
static const char *const strip_paths[] = {
    "apiVersion",
    "kind",
    "metadata",
    "metadata.name",
    "metadata.namespace",
    "metadata.creationTimestamp",
    "metadata.selfLink",
    "metadata.uid",
    "metadata.clusterName",
    "metadata.generation",
    "metadata.managedFields",
    "metadata.resourceVersion",
    NULL,
};

/* The sets of the path lists above, built once for the process and only read afterwards. */
static pthread_once_t fixed_sets_once = PTHREAD_ONCE_INIT;
static struct mf_set *strip_set, *reset_status_set, *reset_spec_set, *reset_pod_status_set;

static void build_fixed_sets(void)
{
    strip_set = path_set(strip_paths);
    reset_status_set = path_set(reset_status);
    reset_spec_set = path_set(reset_spec);
    reset_pod_status_set = path_set(reset_pod_status);
}

/* The set of paths, NULL when there are none: a fixed one for the lists mf_reset_fields gives,
   else a new one in *owned. */
static const struct mf_set *reset_set_of(const char *const *paths, struct mf_set **owned)
{
    *owned = NULL;
    if (!paths || !*paths)
        return NULL;
    tree_arena_once(&fixed_sets_once, build_fixed_sets);
    if (paths == reset_status)
        return reset_status_set;
    if (paths == reset_spec)
        return reset_spec_set;
    if (paths == reset_pod_status)
        return reset_pod_status_set;
    return *owned = path_set(paths);
}

struct mf_set *mf_reset_set(const char *const *paths)
{
    struct mf_set *owned;
    const struct mf_set *s = reset_set_of(paths, &owned);
    return owned ? owned : s ? mf_set_copy(s) : NULL;
}

void mf_strip_meta(struct mf_managed *m, const char *id)
{
    struct mf_entry *e = mf_managed_get(m, id);
    if (!e)
        return;
    tree_arena_once(&fixed_sets_once, build_fixed_sets);
    mf_set_subtract(e->set, strip_set);
    if (mf_set_empty(e->set))
        mf_managed_remove(m, id);
}

struct cap_item {
    char *id;
    long long secs;
};

static int cap_cmp(const void *pa, const void *pb)
{
    const struct cap_item *a = pa, *b = pb;
    if (a->secs != b->secs)
        return a->secs < b->secs ? -1 : 1;
    return strcmp(a->id, b->id);
}

/* capManagersManager.capUpdateManagers, step by step: the oldest Update managers of a version
   are folded into one "ancient-changes" entry until at most MF_MAX_UPDATE_MANAGERS remain. */
static void cap_managers(struct mf_managed *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++)
        n += !m->items[i].applied;
    if (n <= MF_MAX_UPDATE_MANAGERS)
        return;
    struct cap_item *u = xcalloc(n, sizeof(*u));
    size_t k = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (m->items[i].applied)
            continue;
        const struct mf_time *t = find_time(m, m->items[i].id);
        u[k].id = xstrdup(m->items[i].id);
        u[k].secs = time_unix(t ? t->time : NULL);
        k++;
    }
    qsort(u, n, sizeof(*u), cap_cmp);
    struct {
        char *version, *first;
    } firsts[16];
    size_t n_firsts = 0;
    size_t length = n;
    for (size_t i = 0; i < n && length > MF_MAX_UPDATE_MANAGERS; i++) {
        struct mf_entry *vs = mf_managed_get(m, u[i].id);
        if (!vs)
            continue; /* upstream would dereference nil here; it cannot happen in practice */
        const struct mf_time *tt = find_time(m, u[i].id);
        char *t = tt && tt->time ? xstrdup(tt->time) : NULL;
        char *version = xstrdup(vs->api_version);
        char *bucket = mf_manager_id(ANCIENT_CHANGES, false, version, "");
        const char *first = NULL;
        for (size_t f = 0; f < n_firsts; f++)
            if (!strcmp(firsts[f].version, version))
                first = firsts[f].first;
        if (first) {
            if (!mf_managed_get(m, bucket)) {
                struct mf_entry *fe = mf_managed_get(m, first);
                if (fe) {
                    struct mf_set *s = mf_set_copy(fe->set);
                    char *fv = xstrdup(fe->api_version);
                    bool fa = fe->applied;
                    mf_managed_remove(m, first);
                    mf_managed_put(m, bucket, s, fv, fa);
                    free(fv);
                }
            }
            vs = mf_managed_get(m, u[i].id);
            struct mf_entry *be = mf_managed_get(m, bucket);
            struct mf_set *merged = be ? mf_set_union(vs->set, be->set) : mf_set_copy(vs->set);
            char *vv = xstrdup(vs->api_version);
            bool va = vs->applied;
            mf_managed_put(m, bucket, merged, vv, va);
            free(vv);
            mf_managed_remove(m, u[i].id);
            length--;
            mf_managed_set_time(m, bucket, t);
        } else if (n_firsts < sizeof(firsts) / sizeof(firsts[0])) {
            firsts[n_firsts].version = xstrdup(version);
            firsts[n_firsts].first = xstrdup(u[i].id);
            n_firsts++;
        }
        free(t);
        free(version);
        free(bucket);
    }
    for (size_t f = 0; f < n_firsts; f++) {
        free(firsts[f].version);
        free(firsts[f].first);
    }
    for (size_t i = 0; i < n; i++)
        free(u[i].id);
    free(u);
}

/* mf_track_update; with pre, the caller has validated both objects and compared them already
   (pre, taken over). */
static int track_update(const struct mf_context *ctx, const struct mf_schema *sc,
                        const json_t *live, const json_t *obj, const char *manager,
                        struct mf_managed *m, char **err, struct mf_comparison *pre)
{
    *err = NULL;
    const char *version = ctx->api_version ? ctx->api_version : "";
    char *id = mf_manager_id(manager && *manager ? manager : "unknown", false, version,
                             mf_subresource(ctx));
    struct mf_errs errs = {0};
    struct mf_set *exclude_owned;
    const struct mf_set *exclude = reset_set_of(ctx->reset_fields, &exclude_owned);
    struct mf_comparison cmp = {0};
    int rc = -1;

    /* structuredMergeManager.Update: both objects must fit the schema (duplicates allowed) */
    if (pre) {
        mf_managed_drop_other_versions(m, version);
        updater_apply(*pre, exclude, m, CURRENT_OPERATION, true, &cmp, NULL);
        memset(pre, 0, sizeof(*pre));
        goto tracked;
    }
    if (mf_validate(sc, obj, true, &errs)) {
        char *t = mf_errs_text(&errs), *g = mf_object_gvknn(obj);
        *err = xasprintf("failed to convert new object (%s) to smd typed: %s", g, t);
        free(t);
        free(g);
        goto out;
    }
    if (mf_validate(sc, live, true, &errs)) {
        char *t = mf_errs_text(&errs), *g = mf_object_gvknn(live);
        *err = xasprintf("failed to convert live object (%s) to smd typed: %s", g, t);
        free(t);
        free(g);
        goto out;
    }
    mf_managed_drop_other_versions(m, version);
    if (mf_updater_update(sc, exclude, live, obj, version, m, CURRENT_OPERATION, true, &cmp, NULL,
                          &errs)) {
        char *t = mf_errs_text(&errs), *g = mf_object_gvknn(obj);
        *err =
            xasprintf("failed to update ManagedFields (%s): failed to compare objects: %s", g, t);
        free(t);
        free(g);
        goto out;
    }
tracked:
    /* Updater.Update: the operation owns what it added or changed, its set minus removed,
       union modified, union added; done in place (without a set of its own, that is modified) */
    struct mf_entry *cur = mf_managed_get(m, CURRENT_OPERATION);
    struct mf_set *set;
    if (cur) {
        set = mf_set_copy(cur->set);
        mf_set_subtract(set, cmp.removed);
        mf_set_union_into(set, cmp.modified);
    } else {
        set = cmp.modified;
        cmp.modified = NULL;
    }
    mf_set_union_take(set, cmp.added);
    cmp.added = NULL;
    if (exclude)
        mf_set_subtract_recursive(set, exclude);
    if (mf_set_empty(set)) {
        mf_set_free(set);
        mf_managed_remove(m, CURRENT_OPERATION);
    } else {
        mf_managed_put(m, CURRENT_OPERATION, set, version, false);
    }
    mf_strip_meta(m, CURRENT_OPERATION);

    /* managedFieldsUpdater: the placeholder's fields join the manager's, with a new time */
    cur = mf_managed_get(m, CURRENT_OPERATION);
    if (cur) {
        struct mf_set *own = cur->set;
        char *cv = cur->api_version;
        bool ca = cur->applied;
        cur->set = NULL;
        cur->api_version = NULL;
        mf_managed_remove(m, CURRENT_OPERATION);
        struct mf_entry *prev = mf_managed_get(m, id);
        const json_t *as_read = prev ? prev->fields_json : NULL;
        if (prev)
            mf_set_union_into(own, prev->set);
        mf_managed_put(m, id, own, cv, ca)->fields_json = as_read; /* still worth a try */
        free(cv);
        mf_managed_set_time(m, id, ctx->now);
    }
    cap_managers(m);
    rc = 0;
out:
    mf_comparison_release(&cmp);
    mf_set_free(exclude_owned);
    mf_errs_release(&errs);
    free(id);
    return rc;
}

int mf_track_update(const struct mf_context *ctx, const struct mf_schema *sc, const json_t *live,
                    const json_t *obj, const char *manager, struct mf_managed *m, char **err)
{
    return track_update(ctx, sc, live, obj, manager, m, err, NULL);
}

/* isResetManagedFields: `[]`, or one entry with nothing in it, asks to clear the list. */
static bool is_reset(const json_t *list)
{
    if (!json_is_array(list))
        return false;
    if (json_array_size(list) == 0)
        return true;
    if (json_array_size(list) != 1)
        return false;
    const json_t *e = json_array_get(list, 0);
    if (!json_is_object(e))
        return false;
    static const char *const keys[] = {"manager",    "operation", "apiVersion",  "time",
                                       "fieldsType", "fieldsV1",  "subresource", NULL};
    for (size_t i = 0; keys[i]; i++) {
        const json_t *v = json_object_get(e, keys[i]);
        if (!v || json_is_null(v))
            continue;
        if (json_is_string(v) && !json_string_length(v))
            continue;
        return false;
    }
    return true;
}

static const json_t *managed_fields_of(const json_t *obj)
{
    return json_object_get(json_object_get(obj, "metadata"), "managedFields");
}

/* decodeLiveOrNew */
static void decode_live_or_new(const struct mf_context *ctx, const json_t *live, const json_t *obj,
                               struct mf_managed *m)
{
    char *err = NULL;
    const json_t *live_list = live ? managed_fields_of(live) : NULL;
    if (!*mf_subresource(ctx)) {
        const json_t *new_list = managed_fields_of(obj);
        if (is_reset(new_list))
            return;
        if (!mf_managed_decode(new_list, m, &err) && m->n)
            return;
        free(err);
        err = NULL;
        mf_managed_release(m);
        mf_managed_init(m);
    }
    if (mf_managed_decode(live_list, m, &err)) {
        free(err);
        mf_managed_release(m);
        mf_managed_init(m);
    }
}

/* obj as mf_normalize gives it, to be read only: obj itself when it already is (the walks of
   mf_track_update do not care about the order of struct keys). A new reference. */
static json_t *normalized(const struct mf_schema *sc, const json_t *obj)
{
    if (mf_is_normal(sc, obj))
        return json_incref((json_t *)obj);
    return mf_normalize(sc, obj);
}

/* obj, normalised already, without metadata.managedFields (a new reference). */
static json_t *without_managed_fields(const json_t *obj)
{
    const json_t *meta = json_object_get(obj, "metadata");
    if (!json_object_get(meta, "managedFields"))
        return json_incref((json_t *)obj);
    json_t *copy = json_copy((json_t *)obj), *meta_copy = json_copy((json_t *)meta);
    json_object_del(meta_copy, "managedFields");
    json_object_set_new(copy, "metadata", meta_copy);
    return copy;
}

/* The same without metadata.managedFields, which is not part of what a write changes. */
static json_t *normalized_without_managed_fields(const struct mf_schema *sc, const json_t *obj)
{
    if (mf_is_normal(sc, obj))
        return without_managed_fields(obj);
    json_t *n = mf_normalize(sc, obj);
    json_object_del(json_object_get(n, "metadata"), "managedFields");
    return n;
}

json_t *mf_update(const struct mf_context *ctx, const json_t *live, const json_t *obj,
                  const char *manager)
{
    struct mf_schema sc = {.defs = ctx->definitions, .root = ctx->root};
    struct mf_managed m;
    mf_managed_init(&m);
    decode_live_or_new(ctx, live, obj, &m);

    /* skipNonAppliedManager: an existing object nobody tracks stays untracked until an apply */
    const char *uid =
        live ? json_string_value(json_object_get(json_object_get(live, "metadata"), "uid")) : NULL;
    if (!m.n && uid && *uid) {
        mf_managed_release(&m);
        return json_array();
    }
    /* The objects are compared as normalised, and must both fit the schema. A stored or decoded
       object usually is normalised already (but for the order of keys, which no walk minds),
       and then stands for its normalised form: a single walk compares the two as they are and
       finds out whether they fit and are normalised, with the new object's managedFields left
       out as the comparison wants. When they are not, or the walk meets anything amiss, all is
       done again the long way, which says what upstream says. The empty object a create
       compares with is the kind's own, shared and checked once. */
    struct mf_errs errs = {0};
    struct mf_comparison pre = {0};
    bool fit = false;
    const json_t *zero = live ? NULL : mf_zero_shared(&sc);
    const json_t *meta = json_object_get(obj, "metadata");
    const json_t *hide = json_object_get(meta, "managedFields") ? meta : NULL;
    if ((live || (zero && !mf_validate(&sc, zero, true, &errs))) &&
        (!hide || mf_can_hide_managed_fields(&sc))) {
        sc.hidden_meta = hide;
        if (mf_compare_checked(&sc, live ? live : zero, obj, live != NULL, &pre, &errs, &fit) ||
            !fit) {
            fit = false;
            mf_comparison_release(&pre);
        }
        sc.hidden_meta = NULL;
    }
    mf_errs_release(&errs);
    json_t *live_own = NULL, *obj_n = NULL;
    const json_t *live_n = live ? live : zero;
    if (!fit) {
        if (live)
            live_n = live_own = normalized(&sc, live);
        else if (!zero)
            live_n = live_own = json_object();
        obj_n = normalized_without_managed_fields(&sc, obj);
    }
    char *err = NULL;
    json_t *list;
    if (track_update(ctx, &sc, live_n, fit ? obj : obj_n, manager, &m, &err, fit ? &pre : NULL))
        list = json_array(); /* UpdateNoErrors: tracking failed, the object goes without */
    else
        list = mf_managed_encode(&m);
    free(err);
    json_decref(live_own);
    json_decref(obj_n);
    mf_managed_release(&m);
    mf_schema_release(&sc);
    return list;
}

/* ---- no timestamp-only changes -------------------------------------------------------------- */

static bool entries_equal_but_time(const json_t *a, const json_t *b)
{
    static const char *const keys[] = {"manager",  "operation",   "apiVersion", "fieldsType",
                                       "fieldsV1", "subresource", NULL};
    for (size_t i = 0; keys[i]; i++) {
        const json_t *x = json_object_get(a, keys[i]), *y = json_object_get(b, keys[i]);
        if (x && json_is_null(x))
            x = NULL;
        if (y && json_is_null(y))
            y = NULL;
        if (!x || !y) {
            if (x != y)
                return false;
            continue;
        }
        if (!json_equal(x, y))
            return false;
    }
    return true;
}

static bool same_time(const json_t *a, const json_t *b)
{
    const char *x = json_string_value(a), *y = json_string_value(b);
    if (!x || !y)
        return !x && !y;
    long long sx, sy;
    if (plain_time(x, &sx) && plain_time(y, &sy))
        return sx == sy; /* whole seconds, both */
    struct timespec tx, ty;
    if (util_parse_time(x, &tx) || util_parse_time(y, &ty))
        return !strcmp(x, y);
    return tx.tv_sec == ty.tv_sec && tx.tv_nsec == ty.tv_nsec;
}

/* A copy of obj as compared: normalised, without resourceVersion and managedFields times. */
static json_t *comparable(const struct mf_schema *sc, const json_t *obj)
{
    json_t *n = mf_normalize(sc, obj);
    json_t *meta = json_object_get(n, "metadata");
    json_object_del(meta, "resourceVersion");
    size_t i;
    json_t *e;
    json_array_foreach (json_object_get(meta, "managedFields"), i, e)
        json_object_del(e, "time");
    return n;
}

/* mf_value_equal of a and b, objects, but for the key skip of both. */
static bool equal_but(const json_t *a, const json_t *b, const char *skip)
{
    size_t na = json_object_size(a) - (json_object_get(a, skip) != NULL);
    size_t nb = json_object_size(b) - (json_object_get(b, skip) != NULL);
    if (na != nb)
        return false;
    const char *k;
    json_t *v;
    MF_OBJECT_FOREACH(a, it_, k, v)
    {
        if (strcmp(k, skip) && !mf_value_equal(v, json_object_get(b, k)))
            return false;
    }
    return true;
}

/* mf_value_equal(comparable(a), comparable(b)) for objects mf_normalize leaves as they are,
   without the copies: metadata.resourceVersion and the managedFields times left out. */
static bool comparable_equal(const json_t *a, const json_t *b)
{
    if (!json_is_object(a) || !json_is_object(b))
        return mf_value_equal(a, b);
    if (json_object_size(a) != json_object_size(b))
        return false;
    const char *k;
    json_t *v;
    MF_OBJECT_FOREACH(a, it_, k, v)
    {
        const json_t *w = json_object_get(b, k);
        if (strcmp(k, "metadata") || !json_is_object(v) || !json_is_object(w)) {
            /* comparable() changes a metadata that is an object only: if one is not, the
               two differ anyway, as mf_value_equal says */
            if (!mf_value_equal(v, w))
                return false;
            continue;
        }
        size_t nv = json_object_size(v) - (json_object_get(v, "resourceVersion") != NULL);
        size_t nw = json_object_size(w) - (json_object_get(w, "resourceVersion") != NULL);
        if (nv != nw)
            return false;
        const char *mk;
        json_t *mv;
        MF_OBJECT_FOREACH(v, it2_, mk, mv)
        {
            if (!strcmp(mk, "resourceVersion"))
                continue;
            const json_t *mw = json_object_get(w, mk);
            if (strcmp(mk, "managedFields") || !json_is_array(mv) || !json_is_array(mw)) {
                if (!mf_value_equal(mv, mw))
                    return false;
                continue;
            }
            if (json_array_size(mv) != json_array_size(mw))
                return false;
            for (size_t i = 0; i < json_array_size(mv); i++) {
                const json_t *x = json_array_get(mv, i), *y = json_array_get(mw, i);
                if (json_is_object(x) && json_is_object(y) ? !equal_but(x, y, "time")
                                                           : !mf_value_equal(x, y))
                    return false;
            }
        }
    }
    return true;
}

void mf_keep_times_if_unchanged(const struct mf_context *ctx, json_t *obj, const json_t *old)
{
    json_t *nl = json_object_get(json_object_get(obj, "metadata"), "managedFields");
    const json_t *ol = managed_fields_of(old);
    size_t n = json_array_size(nl);
    if (n != json_array_size(ol) || !n)
        return;
    bool times_same = true;
    for (size_t i = 0; i < n && times_same; i++)
        times_same = same_time(json_object_get(json_array_get(nl, i), "time"),
                               json_object_get(json_array_get(ol, i), "time"));
    if (times_same)
        return;
    for (size_t i = 0; i < n; i++)
        if (!entries_equal_but_time(json_array_get(nl, i), json_array_get(ol, i)))
            return;
    struct mf_schema sc = {.defs = ctx->definitions, .root = ctx->root};
    bool equal;
    if (mf_normalizes(&sc, obj) && mf_normalizes(&sc, old) && mf_is_normal(&sc, obj) &&
        mf_is_normal(&sc, old)) {
        equal = comparable_equal(obj, old); /* no copies needed */
    } else {
        /* (where mf_normalize gives an object itself, comparable() changes it in place, old
           included: kept as it was, though no kind the server serves gets there) */
        json_t *a = comparable(&sc, obj), *b = comparable(&sc, old);
        equal = mf_value_equal(a, b);
        json_decref(a);
        json_decref(b);
    }
    mf_schema_release(&sc);
    if (!equal)
        return;
    for (size_t i = 0; i < n; i++) {
        json_t *ne = json_array_get(nl, i);
        json_t *ot = json_object_get(json_array_get(ol, i), "time");
        if (ot && !json_is_null(ot))
            json_object_set(ne, "time", ot);
        else
            json_object_del(ne, "time");
    }
}
