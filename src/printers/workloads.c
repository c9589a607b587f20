/*
 * printers/workloads: the Table rows of Pods and ReplicaSets as upstream's printPod and
 * printReplicaSet (k8s pkg/printers/internalversion/printers.go) write them, always in wide mode,
 * including the Pod STATUS rules (init containers, sidecars, Terminating) and the row conditions
 * of finished Pods. Depends on jansson, strbuf, util and duration.
 */
#include "printers_private.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "svc/duration.h"
#include "svc/strbuf.h"
#include "svc/util.h"

/* ---- a name index, so lookups by name stay O(log n) on long lists ---------------------------- */

struct name_entry {
    const char *name;
    const json_t *item;
};

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct name_entry *)a)->name, ((const struct name_entry *)b)->name);
}

/* Index the items of arr by their string member key; *n receives the count. Caller frees. */
static struct name_entry *index_by(const json_t *arr, const char *key, size_t *n)
{
    size_t len = json_array_size(arr);
    struct name_entry *idx = xcalloc(len ? len : 1, sizeof(*idx));
    for (size_t i = 0; i < len; i++) {
        idx[i].item = json_array_get(arr, i);
        idx[i].name = printers_str(idx[i].item, key);
    }
    printers_sort_stable(idx, len, sizeof(*idx), cmp_entry);
    *n = len;
    return idx;
}

/*
 * The item named name, or NULL. With duplicates, last picks the one latest in the original list
 * (what a Go map filled in order keeps), otherwise the earliest (what a first-match loop finds).
 */
static const json_t *index_find(const struct name_entry *idx, size_t n, const char *name, bool last)
{
    size_t lo = 0, hi = n;
    /* Find the first entry >= name (or > name for the last duplicate). */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(idx[mid].name, name);
        if (c < 0 || (last && c == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (last)
        return lo > 0 && strcmp(idx[lo - 1].name, name) == 0 ? idx[lo - 1].item : NULL;
    return lo < n && strcmp(idx[lo].name, name) == 0 ? idx[lo].item : NULL;
}

/* ---- Pod ------------------------------------------------------------------------------------ */

static const struct printers_column pod_columns[] = {
    {"Name", "string", "name", PRINTERS_DESC_NAME, 0},
    {"Ready", "string", "", "Containers ready to serve, out of all the Pod's long-running ones.",
     0},
    {"Status", "string", "", "A one-word summary of where the Pod and its containers stand.", 0},
    {"Restarts", "string", "",
     "How often the Pod's containers restarted, and how long ago the latest restart was.", 0},
    {"Age", "string", "", PRINTERS_DESC_AGE, 0},
    {"IP", "string", "", "The Pod's primary IP address.", 1},
    {"Node", "string", "", "The node the Pod is bound to.", 1},
    {"Nominated Node", "string", "", "The node preemption made room on for this Pod, if any.", 1},
    {"Readiness Gates", "string", "",
     "Extra readiness conditions that hold, out of those the Pod declares.", 1},
};

/* metav1.Time that may be unset (Go's zero time). */
struct opt_time {
    bool set;
    struct timespec ts;
};

/* lastRestartDate = max(lastRestartDate, lastState.terminated.finishedAt); unset never wins. */
static void note_restart_time(struct opt_time *last, const json_t *status)
{
    const json_t *term = ju_obj(ju_obj(status, "lastState"), "terminated");
    struct timespec t;
    if (!term || duration_parse_timestamp(ju_str(term, "finishedAt"), &t) < 0)
        return;
    if (!last->set || duration_between(last->ts, t) > 0) {
        last->set = true;
        last->ts = t;
    }
}

/*
 * restartCount, an int32 upstream. A value outside that range could not be decoded there and
 * counts as 0 here, which also keeps the sums below far from overflowing.
 */
static long long restart_count(const json_t *status)
{
    long long n = ju_int(status, "restartCount", 0);
    return n < INT32_MIN || n > INT32_MAX ? 0 : n;
}

static bool pod_condition_true(const json_t *status, const char *type, bool first_only)
{
    size_t i;
    json_t *c;
    json_array_foreach (ju_arr(status, "conditions"), i, c) {
        if (strcmp(printers_str(c, "type"), type) != 0)
            continue;
        if (strcmp(printers_str(c, "status"), "True") == 0)
            return true;
        /* isPodInitializedConditionTrue decides on the first match; hasPodReadyCondition does
         * not stop there. */
        if (first_only)
            return false;
    }
    return false;
}

static void set_reason(struct strbuf *reason, const char *s)
{
    strbuf_reset(reason);
    strbuf_addstr(reason, s);
}

/* A terminated state's reason, or "<prefix>Signal:N" / "<prefix>ExitCode:N" without one. */
static void set_terminated_reason(struct strbuf *reason, const char *prefix, const json_t *term)
{
    const char *r = printers_str(term, "reason");
    strbuf_reset(reason);
    if (*r)
        strbuf_addf(reason, "%s%s", prefix, r);
    else if (ju_int(term, "signal", 0) != 0)
        strbuf_addf(reason, "%sSignal:%lld", prefix, ju_int(term, "signal", 0));
    else
        strbuf_addf(reason, "%sExitCode:%lld", prefix, ju_int(term, "exitCode", 0));
}

struct pod_summary {
    long long ready, total, restarts;
    struct opt_time last_restart;
};

/*
 * Walk the init container statuses in order until the first one that is not done, as upstream
 * does: a failed, waiting or running init container sets STATUS to Init:<...>. Restartable init
 * containers (sidecars, restartPolicy Always) that have started count towards READY.
 * Returns whether the Pod is still initializing; fills the sidecar restart totals.
 */
static bool pod_init_containers(const json_t *pod, struct strbuf *reason, struct pod_summary *sum,
                                long long *sidecar_restarts, struct opt_time *sidecar_last)
{
    json_t *spec = ju_obj(pod, "spec"), *status = ju_obj(pod, "status");
    size_t nspec;
    struct name_entry *idx = index_by(ju_arr(spec, "initContainers"), "name", &nspec);
    bool initializing = false;
    size_t i;
    json_t *cs;
    json_array_foreach (ju_arr(status, "initContainerStatuses"), i, cs) {
        const json_t *container = index_find(idx, nspec, printers_str(cs, "name"), true);
        bool restartable = strcmp(printers_str(container, "restartPolicy"), "Always") == 0;
        long long count = restart_count(cs);
        sum->restarts += count;
        note_restart_time(&sum->last_restart, cs);
        if (restartable) {
            *sidecar_restarts += count;
            note_restart_time(sidecar_last, cs);
        }
        json_t *state = ju_obj(cs, "state");
        json_t *term = ju_obj(state, "terminated"), *waiting = ju_obj(state, "waiting");
        const char *wreason = printers_str(waiting, "reason");
        if (term && ju_int(term, "exitCode", 0) == 0)
            continue;
        if (restartable && ju_bool(cs, "started", false)) {
            if (ju_bool(cs, "ready", false))
                sum->ready++;
            continue;
        }
        initializing = true;
        if (term) {
            set_terminated_reason(reason, "Init:", term);
        } else if (waiting && *wreason && strcmp(wreason, "PodInitializing") != 0) {
            strbuf_reset(reason);
            strbuf_addf(reason, "Init:%s", wreason);
        } else {
            strbuf_reset(reason);
            strbuf_addf(reason, "Init:%zu/%zu", i, nspec);
        }
        break;
    }
    free(idx);
    return initializing;
}

/*
 * The regular containers, walked from last to first as upstream walks them, so the state of the
 * first container with a waiting or terminated reason is what STATUS ends up showing.
 */
static void pod_containers(const json_t *pod, struct strbuf *reason, struct pod_summary *sum)
{
    json_t *status = ju_obj(pod, "status");
    json_t *statuses = ju_arr(status, "containerStatuses");
    bool has_running = false;
    for (size_t i = json_array_size(statuses); i-- > 0;) {
        json_t *cs = json_array_get(statuses, i);
        sum->restarts += restart_count(cs);
        note_restart_time(&sum->last_restart, cs);
        json_t *state = ju_obj(cs, "state");
        json_t *term = ju_obj(state, "terminated"), *waiting = ju_obj(state, "waiting");
        if (waiting && *printers_str(waiting, "reason")) {
            set_reason(reason, printers_str(waiting, "reason"));
        } else if (term) {
            set_terminated_reason(reason, "", term);
        } else if (ju_bool(cs, "ready", false) && ju_obj(state, "running")) {
            has_running = true;
            sum->ready++;
        }
    }
    /* A container that finished with "Completed" while another still runs: the Pod is running. */
    if (strcmp(strbuf_str(reason), "Completed") == 0 && has_running)
        set_reason(reason, pod_condition_true(status, "Ready", false) ? "Running" : "NotReady");
}

static void pod_status_reason(const json_t *pod, struct strbuf *reason, struct pod_summary *sum)
{
    json_t *spec = ju_obj(pod, "spec"), *status = ju_obj(pod, "status");
    const char *phase = printers_str(status, "phase");
    const char *status_reason = printers_str(status, "reason");
    set_reason(reason, *status_reason ? status_reason : phase);

    size_t i;
    json_t *c;
    json_array_foreach (ju_arr(status, "conditions"), i, c) {
        if (strcmp(printers_str(c, "type"), "PodScheduled") == 0 &&
            strcmp(printers_str(c, "reason"), "SchedulingGated") == 0)
            set_reason(reason, "SchedulingGated");
    }

    sum->total = (long long)json_array_size(ju_arr(spec, "containers"));
    json_array_foreach (ju_arr(spec, "initContainers"), i, c) {
        if (strcmp(printers_str(c, "restartPolicy"), "Always") == 0)
            sum->total++;
    }

    long long sidecar_restarts = 0;
    struct opt_time sidecar_last = {0};
    bool initializing = pod_init_containers(pod, reason, sum, &sidecar_restarts, &sidecar_last);
    if (!initializing || pod_condition_true(status, "Initialized", true)) {
        /* Once initialized, only sidecars' restarts count among the init containers'. */
        sum->restarts = sidecar_restarts;
        sum->last_restart = sidecar_last;
        pod_containers(pod, reason, sum);
    }

    const json_t *deletion = ju_get(ju_obj(pod, "metadata"), "deletionTimestamp");
    if (json_is_string(deletion)) {
        if (strcmp(status_reason, "NodeLost") == 0)
            set_reason(reason, "Unknown");
        else if (strcmp(phase, "Succeeded") != 0 && strcmp(phase, "Failed") != 0)
            set_reason(reason, "Terminating");
    }
}

/*
 * v1 to internal conversion of PodStatus: podIPs[0], except that a podIP set and different
 * from it wins, and podIP alone stands for podIPs.
 */
static const char *pod_ip(const json_t *status)
{
    const char *single = printers_str(status, "podIP");
    json_t *ips = ju_arr(status, "podIPs");
    if (*single)
        return single;
    return json_array_size(ips) > 0 ? printers_str(json_array_get(ips, 0), "ip") : "";
}

static void readiness_gates(struct strbuf *sb, const json_t *pod)
{
    json_t *gates = ju_arr(ju_obj(pod, "spec"), "readinessGates");
    size_t ngates = json_array_size(gates);
    if (ngates == 0) {
        strbuf_addstr(sb, "<none>");
        return;
    }
    size_t nconds;
    struct name_entry *idx = index_by(ju_arr(ju_obj(pod, "status"), "conditions"), "type", &nconds);
    size_t true_count = 0, i;
    json_t *gate;
    json_array_foreach (gates, i, gate) {
        /* The first condition of the gate's type decides. */
        const json_t *c = index_find(idx, nconds, printers_str(gate, "conditionType"), false);
        if (c && strcmp(printers_str(c, "status"), "True") == 0)
            true_count++;
    }
    free(idx);
    strbuf_addf(sb, "%zu/%zu", true_count, ngates);
}

static void cell_or_none(json_t *cells, const char *s)
{
    printers_cell_str(cells, *s ? s : "<none>");
}

static void pod_cells(json_t *cells, const json_t *pod, struct timespec now)
{
    struct strbuf reason, sb;
    strbuf_init(&reason, STRBUF_NO_LIMIT);
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    struct pod_summary sum = {0};
    pod_status_reason(pod, &reason, &sum);

    printers_cell_str(cells, printers_name(pod));
    strbuf_addf(&sb, "%lld/%lld", sum.ready, sum.total);
    printers_cell_buf(cells, &sb);
    printers_cell_buf(cells, &reason);
    if (sum.restarts != 0 && sum.last_restart.set) {
        char ago[DURATION_LEN];
        duration_age_ts(sum.last_restart.ts, now, ago);
        strbuf_addf(&sb, "%lld (%s ago)", sum.restarts, ago);
    } else {
        strbuf_addf(&sb, "%lld", sum.restarts);
    }
    printers_cell_buf(cells, &sb);
    printers_cell_age(cells, ju_meta_str(pod, "creationTimestamp"), now);
    cell_or_none(cells, pod_ip(ju_obj(pod, "status")));
    cell_or_none(cells, printers_str(ju_obj(pod, "spec"), "nodeName"));
    cell_or_none(cells, printers_str(ju_obj(pod, "status"), "nominatedNodeName"));
    readiness_gates(&sb, pod);
    printers_cell_buf(cells, &sb);
    strbuf_release(&reason);
    strbuf_release(&sb);
}

/* The condition upstream attaches to rows of finished Pods; the messages are client-visible. */
static json_t *pod_conditions(const json_t *pod)
{
    const char *phase = printers_str(ju_obj(pod, "status"), "phase");
    const char *message;
    if (strcmp(phase, "Succeeded") == 0)
        message = "The pod has completed successfully.";
    else if (strcmp(phase, "Failed") == 0)
        message = "The pod failed.";
    else
        return NULL;
    json_t *cond = json_pack("{s:s, s:s, s:s, s:s}", "type", "Completed", "status", "True",
                             "reason", phase, "message", message);
    json_t *conds = json_array();
    if (!cond || !conds)
        abort();
    json_array_append_new(conds, cond);
    return conds;
}

const struct printers_kind printers_kind_pod = {
    .group = "",
    .kind = "Pod",
    .columns = pod_columns,
    .ncolumns = sizeof(pod_columns) / sizeof(pod_columns[0]),
    .cells = pod_cells,
    .conditions = pod_conditions,
};

/* ---- ReplicaSet ----------------------------------------------------------------------------- */

static const struct printers_column replicaset_columns[] = {
    {"Name", "string", "name", PRINTERS_DESC_NAME, 0},
    {"Desired", "integer", "", "Number of Pods the ReplicaSet should keep.", 0},
    {"Current", "integer", "", "Number of Pods the ReplicaSet has now.", 0},
    {"Ready", "integer", "", "Number of its Pods that are ready.", 0},
    {"Age", "string", "", PRINTERS_DESC_AGE, 0},
    {"Containers", "string", "", "Container names in the Pod template.", 1},
    {"Images", "string", "", "Container images in the Pod template.", 1},
    {"Selector", "string", "", "The label query that picks the ReplicaSet's Pods.", 1},
};

/* upstream layoutContainerCells: one member of every container, joined by "," */
static void join_member(struct strbuf *sb, const json_t *arr, const char *key)
{
    size_t i;
    json_t *item;
    json_array_foreach (arr, i, item) {
        if (i > 0)
            strbuf_addch(sb, ',');
        strbuf_addstr(sb, printers_str(item, key));
    }
}

/* apimachinery validation.IsQualifiedName's name part: [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])? */
static bool is_qualified_name_part(const char *s, size_t len)
{
    if (len == 0 || len > 63)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        bool inner = c == '-' || c == '_' || c == '.';
        if (!alnum && !(inner && i > 0 && i < len - 1))
            return false;
    }
    return true;
}

/* RFC 1123 subdomain: dot-separated lowercase labels [a-z0-9]([-a-z0-9]*[a-z0-9])?, <= 253. */
static bool is_dns1123_subdomain(const char *s, size_t len)
{
    if (len == 0 || len > 253)
        return false;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.')
            continue;
        if (i == start)
            return false;
        for (size_t j = start; j < i; j++) {
            char c = s[j];
            bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
            if (!alnum && !(c == '-' && j > start && j < i - 1))
                return false;
        }
        start = i + 1;
    }
    return true;
}

/* labels.NewRequirement's key check: [prefix/]name. */
static bool is_label_key(const char *key)
{
    const char *slash = strchr(key, '/');
    if (!slash)
        return is_qualified_name_part(key, strlen(key));
    if (strchr(slash + 1, '/'))
        return false;
    return is_dns1123_subdomain(key, (size_t)(slash - key)) &&
           is_qualified_name_part(slash + 1, strlen(slash + 1));
}

static bool is_label_value(const char *v)
{
    size_t len = strlen(v);
    return len == 0 || is_qualified_name_part(v, len);
}

struct requirement {
    const char *key;
    const char *op; /* "=", "in", "notin", "exists", "!" */
    const char **values;
    size_t nvalues;
};

static int cmp_requirement(const void *a, const void *b)
{
    return strcmp(((const struct requirement *)a)->key, ((const struct requirement *)b)->key);
}

/* One matchExpressions entry as a requirement; -1 when upstream would refuse it. */
static int expression_requirement(const json_t *expr, struct requirement *r)
{
    const char *op = printers_str(expr, "operator");
    json_t *values = ju_arr(expr, "values");
    r->key = printers_str(expr, "key");
    r->nvalues = json_array_size(values);
    if (strcmp(op, "In") == 0)
        r->op = "in";
    else if (strcmp(op, "NotIn") == 0)
        r->op = "notin";
    else if (strcmp(op, "Exists") == 0)
        r->op = "exists";
    else if (strcmp(op, "DoesNotExist") == 0)
        r->op = "!";
    else
        return -1;
    bool set_op = r->op[0] == 'i' || r->op[0] == 'n';
    if (!is_label_key(r->key) || (set_op && r->nvalues == 0) || (!set_op && r->nvalues > 0))
        return -1;
    r->values = xcalloc(r->nvalues ? r->nvalues : 1, sizeof(*r->values));
    for (size_t i = 0; i < r->nvalues; i++) {
        const char *v = json_string_value(json_array_get(values, i));
        r->values[i] = v ? v : "";
        if (!is_label_value(r->values[i]))
            return -1;
    }
    /* Requirement.String lists the values of in/notin sorted. */
    printers_sort_strings(r->values, r->nvalues);
    return 0;
}

/*
 * metav1.FormatLabelSelector: requirements from matchLabels then matchExpressions, sorted by key
 * (stable), written "k=v", "k in (a,b)", "k notin (a)", "k", "!k" and joined by ","; "<none>"
 * for a missing or empty selector, "<error>" for one upstream cannot convert.
 * Kept local for now; the selector module owns the general parser.
 */
static void format_label_selector(struct strbuf *sb, const json_t *sel)
{
    json_t *labels = ju_obj(sel, "matchLabels"), *exprs = ju_arr(sel, "matchExpressions");
    size_t nlabels = labels ? json_object_size(labels) : 0, nexprs = json_array_size(exprs);
    size_t n = 0, total = nlabels + nexprs;
    struct requirement *reqs = xcalloc(total ? total : 1, sizeof(*reqs));
    bool ok = true;
    const char *key;
    json_t *value;
    if (labels) {
        json_object_foreach (labels, key, value) {
            struct requirement *r = &reqs[n++];
            r->key = key;
            r->op = "=";
            r->values = xcalloc(1, sizeof(*r->values));
            r->values[0] = json_is_string(value) ? json_string_value(value) : "";
            r->nvalues = 1;
            ok = ok && is_label_key(key) && is_label_value(r->values[0]);
        }
    }
    for (size_t i = 0; ok && i < nexprs; i++)
        ok = expression_requirement(json_array_get(exprs, i), &reqs[n++]) == 0;

    if (!ok) {
        strbuf_addstr(sb, "<error>");
    } else {
        printers_sort_stable(reqs, n, sizeof(*reqs), cmp_requirement);
        for (size_t i = 0; i < n; i++) {
            const struct requirement *r = &reqs[i];
            if (i > 0)
                strbuf_addch(sb, ',');
            if (strcmp(r->op, "=") == 0) {
                strbuf_addf(sb, "%s=%s", r->key, r->values[0]);
            } else if (strcmp(r->op, "exists") == 0) {
                strbuf_addstr(sb, r->key);
            } else if (strcmp(r->op, "!") == 0) {
                strbuf_addf(sb, "!%s", r->key);
            } else {
                strbuf_addf(sb, "%s %s (", r->key, r->op);
                printers_join(sb, r->values, r->nvalues, ",", false);
                strbuf_addch(sb, ')');
            }
        }
        /* A nil selector selects nothing and an empty one everything; both print as "". */
        if (n == 0)
            strbuf_addstr(sb, "<none>");
    }
    for (size_t i = 0; i < total; i++)
        free(reqs[i].values);
    free(reqs);
}

static void replicaset_cells(json_t *cells, const json_t *rs, struct timespec now)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    json_t *spec = ju_obj(rs, "spec"), *status = ju_obj(rs, "status");
    json_t *containers = ju_arr(ju_obj(ju_obj(spec, "template"), "spec"), "containers");

    printers_cell_str(cells, printers_name(rs));
    /* apps/v1 defaulting sets an absent spec.replicas to 1. */
    printers_cell_int(cells, ju_int(spec, "replicas", 1));
    printers_cell_int(cells, ju_int(status, "replicas", 0));
    printers_cell_int(cells, ju_int(status, "readyReplicas", 0));
    printers_cell_age(cells, ju_meta_str(rs, "creationTimestamp"), now);
    join_member(&sb, containers, "name");
    printers_cell_buf(cells, &sb);
    join_member(&sb, containers, "image");
    printers_cell_buf(cells, &sb);
    format_label_selector(&sb, ju_obj(spec, "selector"));
    printers_cell_buf(cells, &sb);
    strbuf_release(&sb);
}

const struct printers_kind printers_kind_replicaset = {
    .group = "apps",
    .kind = "ReplicaSet",
    .columns = replicaset_columns,
    .ncolumns = sizeof(replicaset_columns) / sizeof(replicaset_columns[0]),
    .cells = replicaset_cells,
    .conditions = NULL,
};
