/*
 * events: core/v1 Events as client-go's event recorder writes them for a component
 * (tools/record): named "<object>.<hex nanoseconds>", and an event identical to one already
 * recorded (same source, object, type, reason and message: events_cache.go getEventKey) is not
 * written again but counted: its count goes up and lastTimestamp moves, as the recorder's patch
 * does. `kubectl describe` then shows "(x2 over 5s)". The cache is bounded like upstream's LRU.
 */
#include "ctl.h"

#include "svc/registry.h"
#include "svc/store.h"
#include "svc/strbuf.h"
#include "svc/util.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* client-go's maxLruCacheEntries. */
#define EVENT_CACHE_SIZE 4096

struct event_seen {
    char *key;  /* owned: getEventKey's fields joined */
    char *ns;   /* owned: the event's namespace */
    char *name; /* owned: the event's name */
};

void ctl_events_free(struct controllers *c)
{
    for (size_t i = 0; i < c->n_events_seen; i++) {
        free(c->events_seen[i].key);
        free(c->events_seen[i].ns);
        free(c->events_seen[i].name);
    }
    free(c->events_seen);
    c->events_seen = NULL;
    c->n_events_seen = c->next_event_slot = 0;
}

static char *event_key(const json_t *ev)
{
    const json_t *src = ju_obj(ev, "source"), *io = ju_obj(ev, "involvedObject");
    const char *parts[] = {
        ju_str(src, "component"), ju_str(src, "host"),      ju_str(io, "kind"),
        ju_str(io, "namespace"),  ju_str(io, "name"),       ju_str(io, "fieldPath"),
        ju_str(io, "uid"),        ju_str(io, "apiVersion"), ju_str(ev, "type"),
        ju_str(ev, "reason"),     ju_str(ev, "message")};
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    /* Upstream joins with "": a separator that cannot occur keeps distinct keys distinct. */
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        strbuf_addstr(&sb, parts[i] ? parts[i] : "");
        strbuf_addch(&sb, '\x01');
    }
    return strbuf_detach(&sb, NULL);
}

static struct event_seen *find_seen(struct controllers *c, const char *key)
{
    for (size_t i = 0; i < c->n_events_seen; i++)
        if (!strcmp(c->events_seen[i].key, key))
            return &c->events_seen[i];
    return NULL;
}

static void remember(struct controllers *c, char *key, const char *ns, const char *name)
{
    if (!c->events_seen)
        c->events_seen = xcalloc(EVENT_CACHE_SIZE, sizeof(*c->events_seen));
    struct event_seen *slot;
    if (c->n_events_seen < EVENT_CACHE_SIZE) {
        slot = &c->events_seen[c->n_events_seen++];
    } else {
        /* Oldest first, as an LRU of entries that are never looked at again would. */
        slot = &c->events_seen[c->next_event_slot];
        c->next_event_slot = (c->next_event_slot + 1) % EVENT_CACHE_SIZE;
        free(slot->key);
        free(slot->ns);
        free(slot->name);
    }
    slot->key = key;
    slot->ns = xstrdup(ns);
    slot->name = xstrdup(name);
}

/* An identical event was recorded before: count it on that one. 0 when done. */
static int count_again(struct controllers *c, const struct event_seen *seen, const char *ts,
                       const char *manager)
{
    struct store_obj *old = ctl_get(c, c->res_events, seen->ns, seen->name);
    if (!old)
        return -1; /* deleted since (or expired): record a new one */
    json_t *ev = json_deep_copy(store_obj_json(old));
    store_obj_unref(old);
    json_object_set_new(ev, "count", json_integer(ju_int(ev, "count", 1) + 1));
    json_object_set_new(ev, "lastTimestamp", json_string(ts));
    return ctl_update(c, c->res_events, ev, NULL, manager, false);
}

static void record_event(struct controllers *c, const json_t *obj, const char *field_path,
                         const char *type, const char *reason, const char *component,
                         const char *host, const char *message)
{
    struct timespec now = util_now();
    char ts[UTIL_RFC3339_LEN];
    util_format_time(now.tv_sec, ts);
    const char *name = ju_meta_str(obj, "name") ?: "";
    const char *ns = ju_meta_str(obj, "namespace");
    /* Upstream names an event "<object>.<hex nanoseconds>". */
    char *ev_name =
        xasprintf("%s.%llx", name,
                  (unsigned long long)now.tv_sec * 1000000000ull + (unsigned long long)now.tv_nsec);
    json_t *involved = json_pack("{s:s}", "kind", ju_str(obj, "kind") ?: "");
    if (ns)
        json_object_set_new(involved, "namespace", json_string(ns));
    json_object_set_new(involved, "name", json_string(name));
    json_object_set_new(involved, "uid", json_string(ju_meta_str(obj, "uid") ?: ""));
    json_object_set_new(involved, "apiVersion", json_string(ju_str(obj, "apiVersion") ?: ""));
    json_object_set_new(involved, "resourceVersion",
                        json_string(ju_meta_str(obj, "resourceVersion") ?: ""));
    if (field_path)
        json_object_set_new(involved, "fieldPath", json_string(field_path));
    json_t *source = json_pack("{s:s}", "component", component);
    if (host)
        json_object_set_new(source, "host", json_string(host));
    const char *ev_ns = ns ? ns : "default";
    json_t *ev = json_pack("{s:s,s:s,s:{s:s,s:s},s:o,s:s,s:s,s:o,s:s,s:s,s:i,s:s,s:n,s:s,s:s}",
                           "kind", "Event", "apiVersion", "v1", "metadata", "name", ev_name,
                           "namespace", ev_ns, "involvedObject", involved, "reason", reason,
                           "message", message, "source", source, "firstTimestamp", ts,
                           "lastTimestamp", ts, "count", 1, "type", type, "eventTime",
                           "reportingComponent", component, "reportingInstance", host ? host : "");
    /* The scheduler's own events are written by kube-scheduler (its bindings are not). */
    const char *manager = strcmp(component, "default-scheduler") ? component : "kube-scheduler";
    char *key = event_key(ev);
    struct event_seen *seen = find_seen(c, key);
    if (seen && !count_again(c, seen, ts, manager)) {
        json_decref(ev);
    } else if (!ctl_create(c, c->res_events, ev, manager, NULL)) {
        if (!seen) {
            remember(c, key, ev_ns, ev_name);
            key = NULL;
        } else {
            /* The one counted before is gone: count on the new one from now on. */
            free(seen->name);
            seen->name = xstrdup(ev_name);
        }
    }
    free(key);
    free(ev_name);
}

__attribute__((format(printf, 8, 0))) static void
record_eventv(struct controllers *c, const json_t *obj, const char *field_path, const char *type,
              const char *reason, const char *component, const char *host, const char *fmt,
              va_list ap)
{
    char *message = NULL;
    if (vasprintf(&message, fmt, ap) < 0)
        abort();
    record_event(c, obj, field_path, type, reason, component, host, message);
    free(message);
}

void ctl_event(struct controllers *c, const json_t *obj, const char *type, const char *reason,
               const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record_eventv(c, obj, NULL, type, reason, component, NULL, fmt, ap);
    va_end(ap);
}

void ctl_event_on(struct controllers *c, const json_t *obj, const char *field_path,
                  const char *type, const char *reason, const char *component, const char *host,
                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record_eventv(c, obj, field_path, type, reason, component, host, fmt, ap);
    va_end(ap);
}
