/*
 * podutil: Pod and Service helpers shared by the controllers (see podutil.h).
 */
#include "podutil.h"

#include "svc/util.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <string.h>

bool podutil_selector_matches(const json_t *selector, const json_t *labels)
{
    if (!json_is_object(selector) || json_object_size(selector) == 0)
        return false;
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)selector, k, v) {
        const char *have = ju_str(labels, k);
        if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)))
            return false;
    }
    return true;
}

bool podutil_is_ready(const json_t *pod)
{
    size_t i;
    json_t *c;
    json_array_foreach (ju_arr(ju_obj(pod, "status"), "conditions"), i, c) {
        const char *t = ju_str(c, "type"), *s = ju_str(c, "status");
        if (t && !strcmp(t, "Ready"))
            return s && !strcmp(s, "True");
    }
    return false;
}

bool podutil_is_terminating(const json_t *obj)
{
    return ju_meta_str(obj, "deletionTimestamp") != NULL;
}

bool podutil_is_terminal(const json_t *pod)
{
    const char *phase = ju_str(ju_obj(pod, "status"), "phase");
    return phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
}

const char *podutil_family_of(const char *ip)
{
    unsigned char buf[16];
    if (!ip)
        return NULL;
    if (inet_pton(AF_INET, ip, buf) == 1)
        return "IPv4";
    if (inet_pton(AF_INET6, ip, buf) == 1)
        return "IPv6";
    return NULL;
}

const char *podutil_ip_of_family(const json_t *pod, const char *family)
{
    const json_t *status = ju_obj(pod, "status");
    size_t i;
    json_t *e;
    json_array_foreach (ju_arr(status, "podIPs"), i, e) {
        const char *ip = ju_str(e, "ip");
        const char *f = podutil_family_of(ip);
        if (f && family && !strcmp(f, family))
            return ip;
    }
    const char *ip = ju_str(status, "podIP");
    const char *f = podutil_family_of(ip);
    if (ip && (!family || (f && !strcmp(f, family))))
        return ip;
    return NULL;
}

static int find_named_port(const json_t *containers, const char *name, const char *proto,
                           bool only_sidecars)
{
    size_t i, j;
    json_t *c, *p;
    json_array_foreach (containers, i, c) {
        if (only_sidecars) {
            const char *rp = ju_str(c, "restartPolicy");
            if (!rp || strcmp(rp, "Always"))
                continue;
        }
        json_array_foreach (ju_arr(c, "ports"), j, p) {
            const char *pn = ju_str(p, "name");
            const char *pp = ju_str(p, "protocol");
            if (pn && !strcmp(pn, name) && !strcmp(pp ? pp : "TCP", proto))
                return (int)ju_int(p, "containerPort", 0);
        }
    }
    return 0;
}

int podutil_resolve_target_port(const json_t *pod, const json_t *service_port)
{
    json_t *tp = json_object_get(service_port, "targetPort");
    if (json_is_integer(tp))
        return (int)json_integer_value(tp);
    if (!json_is_string(tp))
        return (int)ju_int(service_port, "port", 0);
    const char *name = json_string_value(tp);
    const char *proto = ju_str(service_port, "protocol");
    const json_t *spec = ju_obj(pod, "spec");
    int port = find_named_port(ju_arr(spec, "containers"), name, proto ? proto : "TCP", false);
    if (!port)
        port = find_named_port(ju_arr(spec, "initContainers"), name, proto ? proto : "TCP", true);
    return port;
}

bool podutil_selected_by(const json_t *pod, const json_t *svc)
{
    const char *pns = ju_meta_str(pod, "namespace"), *sns = ju_meta_str(svc, "namespace");
    if (!pns || !sns || strcmp(pns, sns))
        return false;
    return podutil_selector_matches(ju_obj(ju_obj(svc, "spec"), "selector"),
                                    ju_obj(ju_obj(pod, "metadata"), "labels"));
}

bool podutil_should_be_in_endpoints(const json_t *pod, bool include_terminating)
{
    const json_t *status = ju_obj(pod, "status");
    if (podutil_is_terminal(pod))
        return false;
    if (ju_empty(ju_str(status, "podIP")) && !json_array_size(ju_arr(status, "podIPs")))
        return false;
    return include_terminating || !podutil_is_terminating(pod);
}

static const json_t *ready_condition(const json_t *pod)
{
    size_t i;
    json_t *c;
    json_array_foreach (ju_arr(ju_obj(pod, "status"), "conditions"), i, c) {
        const char *t = ju_str(c, "type");
        if (t && !strcmp(t, "Ready"))
            return c;
    }
    return NULL;
}

bool podutil_ready_since(const json_t *pod, struct timespec *out)
{
    const json_t *c = ready_condition(pod);
    return c && util_parse_time(ju_str(c, "lastTransitionTime"), out) == 0;
}

bool podutil_is_available(const json_t *pod, long long min_ready_seconds, struct timespec now,
                          struct timespec *available_at)
{
    if (!podutil_is_ready(pod))
        return false;
    if (min_ready_seconds <= 0)
        return true;
    struct timespec since;
    /* A Ready condition without a transition time never becomes available (upstream:
       LastTransitionTime.IsZero()). */
    if (!podutil_ready_since(pod, &since))
        return false;
    struct timespec at = {since.tv_sec + (time_t)min_ready_seconds, since.tv_nsec};
    /* Available once strictly past lastTransitionTime + minReadySeconds. */
    if (at.tv_sec < now.tv_sec || (at.tv_sec == now.tv_sec && at.tv_nsec < now.tv_nsec))
        return true;
    if (available_at)
        *available_at = at;
    return false;
}

static bool time_before(struct timespec a, struct timespec b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

static void trigger_note_ts(struct podutil_trigger *t, struct timespec ts)
{
    if (!t->set || time_before(ts, t->earliest)) {
        t->earliest = ts;
        t->set = true;
    }
}

void podutil_trigger_note(struct podutil_trigger *t, const char *rfc3339)
{
    struct timespec ts;
    if (rfc3339 && util_parse_time(rfc3339, &ts) == 0)
        trigger_note_ts(t, ts);
}

void podutil_trigger_note_pod(struct podutil_trigger *t, const json_t *pod)
{
    struct timespec ts;
    /* getPodTriggerTime: a pod without a Ready condition has no trigger time. */
    if (podutil_ready_since(pod, &ts))
        trigger_note_ts(t, ts);
}

void podutil_trigger_annotate(const struct podutil_trigger *t, json_t *annotations)
{
    if (!t->set) {
        json_object_del(annotations, PODUTIL_TRIGGER_ANNOTATION);
        return;
    }
    char text[UTIL_RFC3339_NANO_LEN];
    util_format_time_nano(t->earliest, text);
    json_object_set_new(annotations, PODUTIL_TRIGGER_ANNOTATION, json_string(text));
}
