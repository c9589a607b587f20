/*
 * printers/network: the Table rows of Services, Endpoints and EndpointSlices, cell for cell as
 * upstream's printService, printEndpoints and printEndpointSlice (k8s
 * pkg/printers/internalversion/printers.go) write them, always in wide mode.
 * Depends on jansson, strbuf and util; the shared helpers are in printers.c.
 */
#include "printers_private.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "svc/strbuf.h"
#include "svc/util.h"

/* Upstream shows at most this many endpoints or ports, then " + N more...". */
#define PRINTERS_LIST_MAX 3

/* ---- Service -------------------------------------------------------------------------------- */

static const struct printers_column service_columns[] = {
    {"Name", "string", "name", PRINTERS_DESC_NAME, 0},
    {"Type", "string", "",
     "How the Service is exposed: ClusterIP, NodePort, LoadBalancer or ExternalName.", 0},
    {"Cluster-IP", "string", "", "The virtual IP inside the cluster, None for a headless Service.",
     0},
    {"External-IP", "string", "",
     "Addresses reachable from outside: external IPs and load-balancer ingress points.", 0},
    {"Port(s)", "string", "", "Service ports with their node ports and protocols.", 0},
    {"Age", "string", "", PRINTERS_DESC_AGE, 0},
    {"Selector", "string", "", "Labels a Pod must carry to back this Service.", 1},
};

/*
 * The load-balancer part of External-IP: each ingress point's ip, or its hostname when it has
 * no ip, as a sorted set joined by ",". Server tables are wide, so upstream's 16-character
 * truncation never applies here.
 */
static void lb_ingress_join(struct strbuf *sb, const json_t *svc)
{
    json_t *ingress = ju_arr(ju_obj(ju_obj(svc, "status"), "loadBalancer"), "ingress");
    size_t n = json_array_size(ingress), count = 0;
    const char **v = xcalloc(n ? n : 1, sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        json_t *ing = json_array_get(ingress, i);
        const char *ip = printers_str(ing, "ip"), *host = printers_str(ing, "hostname");
        if (*ip)
            v[count++] = ip;
        else if (*host)
            v[count++] = host;
    }
    printers_sort_strings(v, count);
    printers_join(sb, v, count, ",", true);
    free(v);
}

static void join_string_array(struct strbuf *sb, const json_t *arr)
{
    size_t i;
    json_t *item;
    json_array_foreach (arr, i, item) {
        if (i > 0)
            strbuf_addch(sb, ',');
        strbuf_addstr(sb, json_is_string(item) ? json_string_value(item) : "");
    }
}

/* upstream getServiceExternalIP, wide */
static void service_external_ip(struct strbuf *sb, const json_t *svc, const char *type)
{
    json_t *spec = ju_obj(svc, "spec");
    json_t *external_ips = ju_arr(spec, "externalIPs");
    bool have_external = json_array_size(external_ips) > 0;

    if (strcmp(type, "ClusterIP") == 0 || strcmp(type, "NodePort") == 0) {
        if (have_external)
            join_string_array(sb, external_ips);
        else
            strbuf_addstr(sb, "<none>");
    } else if (strcmp(type, "LoadBalancer") == 0) {
        lb_ingress_join(sb, svc);
        /* spec.externalIPs follow the ingress set as given: not sorted, not de-duplicated. */
        if (have_external) {
            if (sb->len > 0)
                strbuf_addch(sb, ',');
            join_string_array(sb, external_ips);
        } else if (sb->len == 0) {
            strbuf_addstr(sb, "<pending>");
        }
    } else if (strcmp(type, "ExternalName") == 0) {
        strbuf_addstr(sb, printers_str(spec, "externalName"));
    } else {
        strbuf_addstr(sb, "<unknown>");
    }
}

/* upstream makePortString: "80/TCP", or "80:30080/TCP" with a node port; "," between ports */
static void service_ports(struct strbuf *sb, const json_t *spec)
{
    size_t i;
    json_t *port;
    json_array_foreach (ju_arr(spec, "ports"), i, port) {
        const char *proto = ju_str(port, "protocol");
        /* v1 defaulting fills an absent protocol with TCP before upstream prints. */
        if (ju_empty(proto))
            proto = "TCP";
        long long node_port = ju_int(port, "nodePort", 0);
        if (i > 0)
            strbuf_addch(sb, ',');
        if (node_port > 0)
            strbuf_addf(sb, "%lld:%lld/%s", ju_int(port, "port", 0), node_port, proto);
        else
            strbuf_addf(sb, "%lld/%s", ju_int(port, "port", 0), proto);
    }
    if (sb->len == 0)
        strbuf_addstr(sb, "<none>");
}

static int cmp_cstr_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * upstream labels.FormatLabels: "k=v" pairs sorted as whole strings (not by key), joined by ",";
 * "<none>" when empty.
 */
static void format_labels(struct strbuf *sb, const json_t *map)
{
    size_t n = json_is_object(map) ? json_object_size(map) : 0, count = 0;
    char **pairs = xcalloc(n ? n : 1, sizeof(*pairs));
    const char *key;
    json_t *value;
    if (n > 0) {
        json_object_foreach ((json_t *)map, key, value) {
            const char *v = json_is_string(value) ? json_string_value(value) : "";
            pairs[count++] = xasprintf("%s=%s", key, v);
        }
    }
    printers_sort_stable(pairs, count, sizeof(*pairs), cmp_cstr_ptr);
    printers_join(sb, (const char *const *)pairs, count, ",", false);
    if (count == 0)
        strbuf_addstr(sb, "<none>");
    for (size_t i = 0; i < count; i++)
        free(pairs[i]);
    free(pairs);
}

static void service_cells(json_t *cells, const json_t *svc, struct timespec now)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    json_t *spec = ju_obj(svc, "spec");
    /* v1 defaulting gives a Service without a type the type ClusterIP. */
    const char *type = ju_str(spec, "type");
    if (ju_empty(type))
        type = "ClusterIP";

    /* clusterIPs[0]; clusterIP stands in for a stored object that predates clusterIPs, as the
     * read path back-fills the plural from the singular. ExternalName Services have neither. */
    json_t *cluster_ips = ju_arr(spec, "clusterIPs");
    const char *cluster_ip = "<none>";
    if (json_array_size(cluster_ips) > 0) {
        cluster_ip = json_string_value(json_array_get(cluster_ips, 0));
        if (!cluster_ip)
            cluster_ip = "";
    } else if (!ju_empty(ju_str(spec, "clusterIP"))) {
        cluster_ip = ju_str(spec, "clusterIP");
    }

    printers_cell_str(cells, printers_name(svc));
    printers_cell_str(cells, type);
    printers_cell_str(cells, cluster_ip);
    service_external_ip(&sb, svc, type);
    printers_cell_buf(cells, &sb);
    service_ports(&sb, spec);
    printers_cell_buf(cells, &sb);
    printers_cell_age(cells, ju_meta_str(svc, "creationTimestamp"), now);
    format_labels(&sb, ju_obj(spec, "selector"));
    printers_cell_buf(cells, &sb);
    strbuf_release(&sb);
}

const struct printers_kind printers_kind_service = {
    .group = "",
    .kind = "Service",
    .columns = service_columns,
    .ncolumns = sizeof(service_columns) / sizeof(service_columns[0]),
    .cells = service_cells,
    .conditions = NULL,
};

/* ---- Endpoints ------------------------------------------------------------------------------ */

static const struct printers_column endpoints_columns[] = {
    {"Name", "string", "name", PRINTERS_DESC_NAME, 0},
    {"Endpoints", "string", "", "Ready addresses with their ports; not-ready ones are left out.",
     0},
    {"Age", "string", "", PRINTERS_DESC_AGE, 0},
};

/* A growing list capped at PRINTERS_LIST_MAX entries, with the count of everything offered. */
struct capped_list {
    struct strbuf *sb;
    size_t shown;
    long long total;
    bool more;
};

static void capped_add(struct capped_list *l, const char *host, long long port, bool with_port)
{
    if (l->shown == PRINTERS_LIST_MAX) {
        l->more = true;
        return;
    }
    if (l->shown > 0)
        strbuf_addch(l->sb, ',');
    /* net.JoinHostPort: an IPv6 address (it has a colon) gets brackets. */
    if (with_port && strchr(host, ':'))
        strbuf_addf(l->sb, "[%s]:%lld", host, port);
    else if (with_port)
        strbuf_addf(l->sb, "%s:%lld", host, port);
    else
        strbuf_addstr(l->sb, host);
    l->shown++;
}

static void capped_finish(struct capped_list *l)
{
    if (l->more)
        strbuf_addf(l->sb, " + %lld more...", l->total - PRINTERS_LIST_MAX);
}

/*
 * upstream formatEndpoints with all ports: per subset, per port, per ready address "ip:port"
 * (just "ip" in a subset without ports). Every address counts towards N of " + N more...", even
 * those past the first three. notReadyAddresses never show; subsets holding only those print "".
 */
static void endpoints_format(struct strbuf *sb, const json_t *ep)
{
    json_t *subsets = ju_arr(ep, "subsets");
    if (json_array_size(subsets) == 0) {
        strbuf_addstr(sb, "<none>");
        return;
    }
    struct capped_list l = {.sb = sb};
    size_t i;
    json_t *ss;
    json_array_foreach (subsets, i, ss) {
        json_t *addrs = ju_arr(ss, "addresses");
        json_t *ports = ju_arr(ss, "ports");
        size_t naddr = json_array_size(addrs);
        if (json_array_size(ports) == 0) {
            l.total += (long long)naddr;
            for (size_t a = 0; a < naddr && !l.more; a++)
                capped_add(&l, printers_str(json_array_get(addrs, a), "ip"), 0, false);
            continue;
        }
        size_t p;
        json_t *port;
        json_array_foreach (ports, p, port) {
            l.total += (long long)naddr;
            for (size_t a = 0; a < naddr && !l.more; a++)
                capped_add(&l, printers_str(json_array_get(addrs, a), "ip"),
                           ju_int(port, "port", 0), true);
        }
    }
    capped_finish(&l);
}

static void endpoints_cells(json_t *cells, const json_t *ep, struct timespec now)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    printers_cell_str(cells, printers_name(ep));
    endpoints_format(&sb, ep);
    printers_cell_buf(cells, &sb);
    printers_cell_age(cells, ju_meta_str(ep, "creationTimestamp"), now);
    strbuf_release(&sb);
}

const struct printers_kind printers_kind_endpoints = {
    .group = "",
    .kind = "Endpoints",
    .columns = endpoints_columns,
    .ncolumns = sizeof(endpoints_columns) / sizeof(endpoints_columns[0]),
    .cells = endpoints_cells,
    .conditions = NULL,
};

/* ---- EndpointSlice -------------------------------------------------------------------------- */

static const struct printers_column endpointslice_columns[] = {
    {"Name", "string", "name", PRINTERS_DESC_NAME, 0},
    {"AddressType", "string", "", "The family of every address in the slice: IPv4, IPv6 or FQDN.",
     0},
    {"Ports", "string", "", "Port numbers the slice's endpoints serve.", 0},
    {"Endpoints", "string", "", "Addresses of the endpoints, whatever their conditions.", 0},
    {"Age", "string", "", PRINTERS_DESC_AGE, 0},
};

/* upstream listWithMoreString: "" becomes "<unset>" unless entries were cut off */
static void capped_finish_unset(struct capped_list *l)
{
    if (l->more)
        capped_finish(l);
    else if (l->sb->len == 0)
        strbuf_addstr(l->sb, "<unset>");
}

/* upstream formatDiscoveryPorts */
static void endpointslice_ports(struct strbuf *sb, const json_t *slice)
{
    struct capped_list l = {.sb = sb};
    size_t i;
    json_t *port;
    json_array_foreach (ju_arr(slice, "ports"), i, port) {
        l.total++;
        if (l.more)
            continue;
        json_t *num = ju_get(port, "port");
        if (json_is_integer(num)) {
            char digits[24];
            snprintf(digits, sizeof(digits), "%lld", (long long)json_integer_value(num));
            capped_add(&l, digits, 0, false);
        } else {
            /*
             * A port without a number shows its name. v1 defaulting sets an absent name to "",
             * so upstream's "*" (for a nil name) cannot happen on a stored slice, and a nameless
             * numberless port shows as an empty entry.
             */
            capped_add(&l, printers_str(port, "name"), 0, false);
        }
    }
    capped_finish_unset(&l);
}

/* upstream formatDiscoveryEndpoints: addresses of all endpoints, ready or not */
static void endpointslice_endpoints(struct strbuf *sb, const json_t *slice)
{
    struct capped_list l = {.sb = sb};
    size_t i, a;
    json_t *ep, *addr;
    json_array_foreach (ju_arr(slice, "endpoints"), i, ep) {
        json_array_foreach (ju_arr(ep, "addresses"), a, addr) {
            l.total++;
            if (!l.more)
                capped_add(&l, json_is_string(addr) ? json_string_value(addr) : "", 0, false);
        }
    }
    capped_finish_unset(&l);
}

static void endpointslice_cells(json_t *cells, const json_t *slice, struct timespec now)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    printers_cell_str(cells, printers_name(slice));
    printers_cell_str(cells, printers_str(slice, "addressType"));
    endpointslice_ports(&sb, slice);
    printers_cell_buf(cells, &sb);
    endpointslice_endpoints(&sb, slice);
    printers_cell_buf(cells, &sb);
    printers_cell_age(cells, ju_meta_str(slice, "creationTimestamp"), now);
    strbuf_release(&sb);
}

const struct printers_kind printers_kind_endpointslice = {
    .group = "discovery.k8s.io",
    .kind = "EndpointSlice",
    .columns = endpointslice_columns,
    .ncolumns = sizeof(endpointslice_columns) / sizeof(endpointslice_columns[0]),
    .cells = endpointslice_cells,
    .conditions = NULL,
};
