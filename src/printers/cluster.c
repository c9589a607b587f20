/*
 * printers/cluster: the Table rows of Namespaces, Nodes, core/v1 Events and Leases as upstream's
 * printNamespace, printNode, printEvent and printLease (k8s
 * pkg/printers/internalversion/printers.go) write them, always in wide mode. Depends on jansson,
 * strbuf, util and duration.
 */
#include "printers_private.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "svc/duration.h"
#include "svc/strbuf.h"
#include "svc/util.h"

/* ---- Namespace ------------------------------------------------------------------------------ */

static const struct printers_column namespace_columns[] = {
    {"Name", "string", "name", PRINTERS_DESC_NAME, 0},
    {"Status", "string", "", "Whether the namespace is Active or being deleted (Terminating).", 0},
    {"Age", "string", "", PRINTERS_DESC_AGE, 0},
};

static void namespace_cells(json_t *cells, const json_t *ns, struct timespec now)
{
    /* v1 defaulting gives a namespace without a phase the phase Active. */
    const char *phase = printers_str(ju_obj(ns, "status"), "phase");
    printers_cell_str(cells, printers_name(ns));
    printers_cell_str(cells, *phase ? phase : "Active");
    printers_cell_age(cells, ju_meta_str(ns, "creationTimestamp"), now);
}

const struct printers_kind printers_kind_namespace = {
    .group = "",
    .kind = "Namespace",
    .columns = namespace_columns,
    .ncolumns = sizeof(namespace_columns) / sizeof(namespace_columns[0]),
    .cells = namespace_cells,
    .conditions = NULL,
};

/* ---- Node ----------------------------------------------------------------------------------- */

static const struct printers_column node_columns[] = {
    {"Name", "string", "name", PRINTERS_DESC_NAME, 0},
    {"Status", "string", "", "Readiness of the node, and whether scheduling onto it is disabled.",
     0},
    {"Roles", "string", "", "Roles taken from the node's node-role labels.", 0},
    {"Age", "string", "", PRINTERS_DESC_AGE, 0},
    {"Version", "string", "", "Version of the kubelet on the node.", 0},
    {"Internal-IP", "string", "", "The node's first address of type InternalIP.", 1},
    {"External-IP", "string", "", "The node's first address of type ExternalIP.", 1},
    {"OS-Image", "string", "", "Operating system the node reports.", 1},
    {"Kernel-Version", "string", "", "Kernel version the node reports.", 1},
    {"Container-Runtime", "string", "", "Container runtime and version the node reports.", 1},
};

#define NODE_ROLE_PREFIX "node-role.kubernetes.io/"
#define NODE_ROLE_LABEL  "kubernetes.io/role"

/* upstream findNodeRoles: node-role.kubernetes.io/<role> keys and the kubernetes.io/role value,
 * as a sorted set */
static void node_roles(struct strbuf *sb, const json_t *node)
{
    json_t *labels = ju_obj(ju_obj(node, "metadata"), "labels");
    size_t n = labels ? json_object_size(labels) : 0, count = 0;
    const char **roles = xcalloc(n ? n : 1, sizeof(*roles));
    const char *key;
    json_t *value;
    if (labels) {
        json_object_foreach (labels, key, value) {
            const char *v = json_is_string(value) ? json_string_value(value) : "";
            if (strncmp(key, NODE_ROLE_PREFIX, strlen(NODE_ROLE_PREFIX)) == 0) {
                if (key[strlen(NODE_ROLE_PREFIX)])
                    roles[count++] = key + strlen(NODE_ROLE_PREFIX);
            } else if (strcmp(key, NODE_ROLE_LABEL) == 0 && *v) {
                roles[count++] = v;
            }
        }
    }
    printers_sort_strings(roles, count);
    printers_join(sb, roles, count, ",", true);
    if (sb->len == 0)
        strbuf_addstr(sb, "<none>");
    free(roles);
}

static void node_status(struct strbuf *sb, const json_t *node)
{
    /* Upstream keys the conditions by type in a map, so the last Ready condition counts. */
    const json_t *ready = NULL;
    size_t i;
    json_t *c;
    json_array_foreach (ju_arr(ju_obj(node, "status"), "conditions"), i, c) {
        if (strcmp(printers_str(c, "type"), "Ready") == 0)
            ready = c;
    }
    if (!ready)
        strbuf_addstr(sb, "Unknown");
    else if (strcmp(printers_str(ready, "status"), "True") == 0)
        strbuf_addstr(sb, "Ready");
    else
        strbuf_addstr(sb, "NotReady");
    if (ju_bool(ju_obj(node, "spec"), "unschedulable", false))
        strbuf_addstr(sb, ",SchedulingDisabled");
}

static const char *node_address(const json_t *node, const char *type)
{
    size_t i;
    json_t *a;
    json_array_foreach (ju_arr(ju_obj(node, "status"), "addresses"), i, a) {
        if (strcmp(printers_str(a, "type"), type) == 0)
            return printers_str(a, "address");
    }
    return "<none>";
}

static void cell_or_unknown(json_t *cells, const char *s)
{
    printers_cell_str(cells, *s ? s : "<unknown>");
}

static void node_cells(json_t *cells, const json_t *node, struct timespec now)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    json_t *info = ju_obj(ju_obj(node, "status"), "nodeInfo");

    printers_cell_str(cells, printers_name(node));
    node_status(&sb, node);
    printers_cell_buf(cells, &sb);
    node_roles(&sb, node);
    printers_cell_buf(cells, &sb);
    printers_cell_age(cells, ju_meta_str(node, "creationTimestamp"), now);
    printers_cell_str(cells, printers_str(info, "kubeletVersion"));
    printers_cell_str(cells, node_address(node, "InternalIP"));
    printers_cell_str(cells, node_address(node, "ExternalIP"));
    cell_or_unknown(cells, printers_str(info, "osImage"));
    cell_or_unknown(cells, printers_str(info, "kernelVersion"));
    cell_or_unknown(cells, printers_str(info, "containerRuntimeVersion"));
    strbuf_release(&sb);
}

const struct printers_kind printers_kind_node = {
    .group = "",
    .kind = "Node",
    .columns = node_columns,
    .ncolumns = sizeof(node_columns) / sizeof(node_columns[0]),
    .cells = node_cells,
    .conditions = NULL,
};

/* ---- Event ---------------------------------------------------------------------------------- */

static const struct printers_column event_columns[] = {
    {"Last Seen", "string", "", "Time since the event was last observed.", 0},
    {"Type", "string", "", "Normal or Warning.", 0},
    {"Reason", "string", "", "A short machine-readable cause of the event.", 0},
    {"Object", "string", "", "The object the event is about, as kind/name.", 0},
    {"Subobject", "string", "", "The part of the object concerned, such as a container.", 1},
    {"Source", "string", "", "The component, and host, that reported the event.", 1},
    {"Message", "string", "", "What happened, in words.", 0},
    {"First Seen", "string", "", "Time since the event was first observed.", 1},
    /* upstream declares Count a string column but fills it with an integer */
    {"Count", "string", "", "How many times the event occurred.", 1},
    {"Name", "string", "name", PRINTERS_DESC_NAME, 1},
};

/* Length of the UTF-8 sequence starting at s (1 for a stray byte), and its code point. */
static size_t utf8_decode(const unsigned char *s, size_t len, unsigned long *cp)
{
    size_t n = s[0] < 0x80 ? 1 : s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 1;
    if (n > len)
        n = 1;
    unsigned long v = n == 1 ? s[0] : s[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++)
        v = (v << 6) | (s[i] & 0x3F);
    *cp = v;
    return n;
}

/* Go's unicode.IsSpace: ASCII and Latin-1 spaces plus the Unicode White_Space characters. */
static bool is_go_space(unsigned long c)
{
    return (c >= '\t' && c <= '\r') || c == ' ' || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

/* strings.TrimSpace: append s to sb without leading and trailing white space. */
static void add_trimmed(struct strbuf *sb, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), start = 0, end = len;
    unsigned long cp;
    while (start < end) {
        size_t n = utf8_decode(p + start, end - start, &cp);
        if (!is_go_space(cp))
            break;
        start += n;
    }
    while (end > start) {
        /* Step back to the first byte of the last sequence. */
        size_t b = end - 1;
        while (b > start && (p[b] & 0xC0) == 0x80 && end - b < 4)
            b--;
        size_t n = utf8_decode(p + b, end - b, &cp);
        if (b + n != end || !is_go_space(cp))
            break;
        end = b;
    }
    strbuf_add(sb, s + start, end - start);
}

/* upstream formatEventSource: component, else reportingComponent; ", host" (else the reporting
 * instance) only when there is one */
static void event_source(struct strbuf *sb, const json_t *ev)
{
    json_t *source = ju_obj(ev, "source");
    const char *component = printers_str(source, "component");
    const char *host = printers_str(source, "host");
    if (!*component)
        component = printers_str(ev, "reportingComponent");
    if (!*host)
        host = printers_str(ev, "reportingInstance");
    strbuf_addstr(sb, component);
    if (*host)
        strbuf_addf(sb, ", %s", host);
}

/* "<kind in lower case>/<name>", or just the kind without a name. Kinds are ASCII. */
static void event_object(struct strbuf *sb, const json_t *ev)
{
    json_t *involved = ju_obj(ev, "involvedObject");
    const char *kind = printers_str(involved, "kind"), *name = printers_str(involved, "name");
    for (const char *k = kind; *k; k++)
        strbuf_addch(sb, *k >= 'A' && *k <= 'Z' ? (char)(*k - 'A' + 'a') : *k);
    if (*name)
        strbuf_addf(sb, "/%s", name);
}

static void event_cells(json_t *cells, const json_t *ev, struct timespec now)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    char first[DURATION_LEN], last[DURATION_LEN];
    struct timespec ts;

    /* firstTimestamp, else the new API's eventTime; lastTimestamp, else the first seen. */
    if (duration_parse_timestamp(ju_str(ev, "firstTimestamp"), &ts) == 0)
        duration_age_ts(ts, now, first);
    else
        duration_age(ju_str(ev, "eventTime"), now, first);
    if (duration_parse_timestamp(ju_str(ev, "lastTimestamp"), &ts) == 0)
        duration_age_ts(ts, now, last);
    else
        memcpy(last, first, sizeof(last));

    long long count = ju_int(ev, "count", 0);
    json_t *series = ju_obj(ev, "series");
    if (series) {
        /* An event series carries its own last time and count (even a count of 0). */
        duration_age(ju_str(series, "lastObservedTime"), now, last);
        count = ju_int(series, "count", 0);
    } else if (count == 0) {
        /* Singleton events of the new API leave count unset; they happened once. */
        count = 1;
    }

    printers_cell_str(cells, last);
    printers_cell_str(cells, printers_str(ev, "type"));
    printers_cell_str(cells, printers_str(ev, "reason"));
    event_object(&sb, ev);
    printers_cell_buf(cells, &sb);
    printers_cell_str(cells, printers_str(ju_obj(ev, "involvedObject"), "fieldPath"));
    event_source(&sb, ev);
    printers_cell_buf(cells, &sb);
    add_trimmed(&sb, printers_str(ev, "message"));
    printers_cell_buf(cells, &sb);
    printers_cell_str(cells, first);
    printers_cell_int(cells, count);
    printers_cell_str(cells, printers_name(ev));
    strbuf_release(&sb);
}

const struct printers_kind printers_kind_event = {
    .group = "",
    .kind = "Event",
    .columns = event_columns,
    .ncolumns = sizeof(event_columns) / sizeof(event_columns[0]),
    .cells = event_cells,
    .conditions = NULL,
};

/* ---- Lease ---------------------------------------------------------------------------------- */

static const struct printers_column lease_columns[] = {
    {"Name", "string", "name", PRINTERS_DESC_NAME, 0},
    {"Holder", "string", "", "Who holds the lease now.", 0},
    {"Age", "string", "", PRINTERS_DESC_AGE, 0},
};

static void lease_cells(json_t *cells, const json_t *lease, struct timespec now)
{
    printers_cell_str(cells, printers_name(lease));
    printers_cell_str(cells, printers_str(ju_obj(lease, "spec"), "holderIdentity"));
    printers_cell_age(cells, ju_meta_str(lease, "creationTimestamp"), now);
}

const struct printers_kind printers_kind_lease = {
    .group = "coordination.k8s.io",
    .kind = "Lease",
    .columns = lease_columns,
    .ncolumns = sizeof(lease_columns) / sizeof(lease_columns[0]),
    .cells = lease_cells,
    .conditions = NULL,
};
