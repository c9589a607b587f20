/*
 * service_alloc: ClusterIP and nodePort allocation for Services, after kubernetes
 * pkg/registry/core/service/storage/alloc.go and storage.go (1.33): IP-family initialisation,
 * allocation on create, the update cases (type changes, dual-stack upgrade and downgrade,
 * nodePort changes, the health-check port), and releases. Everything a write reserves is
 * recorded in a transaction and given back if the write fails; what an update gives up is
 * released only once the write is stored (service-semantics.md §3, §4).
 */
#include "service_private.h"

#include "svc/apierr.h"
#include "svc/ipalloc.h"
#include "svc/portalloc.h"
#include "svc/strbuf.h"
#include "svc/util.h"
#include "svc/validate_service.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upstream's dry-run automatic nodePorts are fake numbers just past the default range. */
#define DRY_RUN_FIRST_NODE_PORT 32769

struct svc_txn {
    struct service_state *st;
    bool dry_run;
    struct cidr_ip ip_alloc[2], ip_release[2];
    int ip_alloc_idx[2], ip_release_idx[2];
    size_t n_ip_alloc, n_ip_release;
    int *port_alloc, *port_release;
    size_t n_port_alloc, n_port_release;
    int next_dry_port;
};

/* ---- readers --------------------------------------------------------------------------------- */

static json_t *spec_of(json_t *svc)
{
    return ju_ensure_obj(svc, "spec");
}

const char *svc_type(const json_t *svc)
{
    const char *t = ju_str(ju_obj(svc, "spec"), "type");
    return t ? t : "";
}

static bool type_is(const json_t *svc, const char *t)
{
    return !strcmp(svc_type(svc), t);
}

static bool needs_cluster_ip(const json_t *svc)
{
    return !type_is(svc, "ExternalName");
}

static bool needs_node_port(const json_t *svc)
{
    return type_is(svc, "NodePort") || type_is(svc, "LoadBalancer");
}

bool svc_needs_health_check(const json_t *svc)
{
    const char *etp = ju_str(ju_obj(svc, "spec"), "externalTrafficPolicy");
    return type_is(svc, "LoadBalancer") && etp && !strcmp(etp, "Local");
}

static const char *first_cluster_ip(const json_t *svc)
{
    return json_string_value(json_array_get(ju_arr(ju_obj(svc, "spec"), "clusterIPs"), 0));
}

bool svc_is_headless(const json_t *svc)
{
    const char *ip = first_cluster_ip(svc);
    return ip && !strcmp(ip, "None");
}

static size_t list_len(const json_t *svc, const char *key)
{
    return json_array_size(ju_arr(ju_obj(svc, "spec"), key));
}

static bool same_list(const json_t *a, const json_t *b, const char *key)
{
    const json_t *la = ju_arr(ju_obj(a, "spec"), key), *lb = ju_arr(ju_obj(b, "spec"), key);
    if (json_array_size(la) != json_array_size(lb))
        return false;
    for (size_t i = 0; i < json_array_size(la); i++)
        if (!json_equal(json_array_get(la, i), json_array_get(lb, i)))
            return false;
    return true;
}

static const char *policy_of(const json_t *svc)
{
    const char *p = ju_str(ju_obj(svc, "spec"), "ipFamilyPolicy");
    return p ? p : "";
}

static enum cidr_family family_of_text(const char *ip)
{
    struct cidr_ip parsed;
    if (!ip || cidr_ip_parse(ip, &parsed))
        return CIDR_FAMILY_NONE;
    return parsed.family;
}

static enum cidr_family family_of_name(const char *name)
{
    if (name && !strcmp(name, "IPv4"))
        return CIDR_IPV4;
    if (name && !strcmp(name, "IPv6"))
        return CIDR_IPV6;
    return CIDR_FAMILY_NONE;
}

/* The allocator index serving a family, or -1 when the cluster lacks it. */
static int family_index(const struct service_state *st, enum cidr_family f)
{
    for (int i = 0; i < 2; i++)
        if (st->ip[i] && st->family[i] == f && f != CIDR_FAMILY_NONE)
            return i;
    return -1;
}

static bool dual_stack_cluster(const struct service_state *st)
{
    return st->ip[1] != NULL;
}

/* ---- transactions ---------------------------------------------------------------------------- */

static struct svc_txn *txn_new(struct service_state *st, bool dry_run)
{
    struct svc_txn *t = xcalloc(1, sizeof(*t));
    t->st = st;
    t->dry_run = dry_run;
    t->next_dry_port = DRY_RUN_FIRST_NODE_PORT;
    return t;
}

static void push_port(int **v, size_t *n, int port)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = port;
}

void svc_txn_finish(struct svc_txn *t, bool committed)
{
    if (!t)
        return;
    if (!t->dry_run) {
        struct service_state *st = t->st;
        if (committed) {
            for (size_t i = 0; i < t->n_ip_release; i++)
                ipalloc_release(st->ip[t->ip_release_idx[i]], &t->ip_release[i]);
            for (size_t i = 0; i < t->n_port_release; i++)
                portalloc_release(st->ports, t->port_release[i]);
        } else {
            for (size_t i = 0; i < t->n_ip_alloc; i++)
                ipalloc_release(st->ip[t->ip_alloc_idx[i]], &t->ip_alloc[i]);
            for (size_t i = 0; i < t->n_port_alloc; i++)
                portalloc_release(st->ports, t->port_alloc[i]);
        }
    }
    free(t->port_alloc);
    free(t->port_release);
    free(t);
}

/* ---- errors ---------------------------------------------------------------------------------- */

static int invalid(struct apierr *err, const json_t *svc, struct field_errors *errs)
{
    const char *name = ju_meta_str(svc, "name");
    apierr_invalid(err, "", "Service", name ? name : "", errs);
    fe_release(errs);
    return -1;
}

/* One field error as a whole 422, as upstream's allocators return them. */
static int invalid1(struct apierr *err, const json_t *svc, const char *field, const char *value,
                    const char *detail)
{
    struct field_errors errs;
    fe_init(&errs);
    fe_add(&errs, FE_INVALID, field, value, detail);
    return invalid(err, svc, &errs);
}

/* ---- IP families (initIPFamilyFields) ------------------------------------------------------- */

static void set_policy(json_t *svc, const char *policy)
{
    json_object_set_new(spec_of(svc), "ipFamilyPolicy", json_string(policy));
}

static json_t *families(json_t *svc)
{
    json_t *spec = spec_of(svc);
    json_t *f = json_object_get(spec, "ipFamilies");
    if (!json_is_array(f)) {
        f = json_array();
        json_object_set_new(spec, "ipFamilies", f);
    }
    return f;
}

static bool has_selector(const json_t *svc)
{
    return json_object_size(ju_obj(ju_obj(svc, "spec"), "selector")) > 0;
}

static bool cluster_ip_is_none(const json_t *svc)
{
    const char *ip = ju_str(ju_obj(svc, "spec"), "clusterIP");
    return ip && !strcmp(ip, "None");
}

/* A PreferDualStack Service that keeps its type, IPs and families is left as it is. */
static bool matching_prefer_dual_stack(const json_t *svc, const json_t *old)
{
    if (!old || !ju_str(ju_obj(svc, "spec"), "ipFamilyPolicy"))
        return false;
    if (strcmp(svc_type(old), svc_type(svc)) || !needs_cluster_ip(svc))
        return false;
    const char *np = ju_str(ju_obj(svc, "spec"), "ipFamilyPolicy");
    const char *op = ju_str(ju_obj(old, "spec"), "ipFamilyPolicy");
    if (np && strcmp(np, "PreferDualStack"))
        return false;
    if (op && strcmp(op, "PreferDualStack"))
        return false;
    return same_list(old, svc, "clusterIPs") && same_list(old, svc, "ipFamilies");
}

static void truncate_list(json_t *svc, const char *key)
{
    json_t *l = ju_arr(ju_obj(svc, "spec"), key);
    while (json_array_size(l) > 1)
        json_array_remove(l, json_array_size(l) - 1);
}

static bool reduced(const json_t *svc, const json_t *old, const char *key)
{
    size_t n = list_len(svc, key);
    return n != 0 && n < list_len(old, key);
}

static void append_other_family(json_t *fams)
{
    const char *first = json_string_value(json_array_get(fams, 0));
    json_array_append_new(fams, json_string(first && !strcmp(first, "IPv4") ? "IPv6" : "IPv4"));
}

static int init_ip_families(struct service_state *st, json_t *svc, const json_t *old,
                            struct apierr *err)
{
    if (type_is(svc, "ExternalName") || matching_prefer_dual_stack(svc, old))
        return 0;
    if (!ju_str(ju_obj(svc, "spec"), "ipFamilyPolicy")) {
        const char *old_policy = old ? ju_str(ju_obj(old, "spec"), "ipFamilyPolicy") : NULL;
        if (old_policy)
            set_policy(svc, old_policy);
        else if (cluster_ip_is_none(svc) && !has_selector(svc))
            set_policy(svc, "RequireDualStack"); /* headless without selector: both families */
        else
            set_policy(svc, "SingleStack");
    }
    struct field_errors errs;
    fe_init(&errs);
    validate_service_cluster_ip_fields(&errs, svc, old);
    if (errs.len)
        return invalid(err, svc, &errs);

    const char *policy = policy_of(svc);
    char *qpolicy = fe_quote(policy);
    bool single = !strcmp(policy, "SingleStack");
    if (old) {
        if (single) {
            /* Choosing SingleStack while leaving the lists alone means: drop the secondary. */
            if (same_list(old, svc, "clusterIPs") && list_len(svc, "clusterIPs") > 1)
                truncate_list(svc, "clusterIPs");
            if (same_list(old, svc, "ipFamilies") && list_len(svc, "ipFamilies") > 1)
                truncate_list(svc, "ipFamilies");
        } else {
            if (reduced(svc, old, "clusterIPs"))
                fe_add(&errs, FE_INVALID, "spec.ipFamilyPolicy", qpolicy,
                       "must be 'SingleStack' to release the secondary cluster IP");
            if (reduced(svc, old, "ipFamilies"))
                fe_add(&errs, FE_INVALID, "spec.ipFamilyPolicy", qpolicy,
                       "must be 'SingleStack' to release the secondary IP family");
        }
    }
    if (single) {
        if (list_len(svc, "clusterIPs") == 2)
            fe_add(&errs, FE_INVALID, "spec.ipFamilyPolicy", qpolicy,
                   "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are "
                   "specified");
        if (list_len(svc, "ipFamilies") == 2)
            fe_add(&errs, FE_INVALID, "spec.ipFamilyPolicy", qpolicy,
                   "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are "
                   "specified");
    }
    /* Infer ipFamilies from the clusterIPs the client chose. */
    json_t *ips = ju_arr(spec_of(svc), "clusterIPs");
    json_t *fams = families(svc);
    for (size_t i = 0; i < json_array_size(ips); i++) {
        const char *ip = json_string_value(json_array_get(ips, i));
        if (!ip || !strcmp(ip, "None"))
            break;
        enum cidr_family f = family_of_text(ip);
        if (i >= json_array_size(fams)) {
            if (family_index(st, f) < 0) {
                char *path = xasprintf("spec.clusterIPs[%zu]", i);
                char *value = fe_json_strings(ips);
                fe_addf(&errs, FE_INVALID, path, value, "%s is not configured on this cluster",
                        cidr_family_name(f));
                free(path);
                free(value);
            } else {
                json_array_append_new(fams, json_string(cidr_family_name(f)));
            }
        }
    }
    if (errs.len) {
        free(qpolicy);
        return invalid(err, svc, &errs);
    }
    if (cluster_ip_is_none(svc) && !has_selector(svc)) {
        /* Headless without selector: any families, even ones the cluster lacks. */
        if (!json_array_size(fams))
            json_array_append_new(fams, json_string(cidr_family_name(st->family[0])));
        if (json_array_size(fams) < 2 && strcmp(policy_of(svc), "SingleStack"))
            append_other_family(fams);
        free(qpolicy);
        return 0;
    }
    if (!strcmp(policy, "RequireDualStack") && !dual_stack_cluster(st))
        fe_add(&errs, FE_INVALID, "spec.ipFamilyPolicy", qpolicy,
               "this cluster is not configured for dual-stack services");
    for (size_t i = 0; i < json_array_size(fams); i++) {
        const char *name = json_string_value(json_array_get(fams, i));
        if (family_index(st, family_of_name(name)) < 0) {
            char *path = xasprintf("spec.ipFamilies[%zu]", i);
            char *value = fe_quote(name ? name : "");
            fe_add(&errs, FE_INVALID, path, value, "not configured on this cluster");
            free(path);
            free(value);
        }
    }
    free(qpolicy);
    if (errs.len)
        return invalid(err, svc, &errs);
    if (!json_array_size(fams))
        json_array_append_new(fams, json_string(cidr_family_name(st->family[0])));
    if (strcmp(policy_of(svc), "SingleStack") && json_array_size(fams) == 1 &&
        dual_stack_cluster(st))
        append_other_family(fams);
    return 0;
}

/* ---- ClusterIPs ------------------------------------------------------------------------------ */

/* Allocate the address of family index fi for slot i of clusterIPs ("" = any). */
static int alloc_ip(struct svc_txn *t, json_t *svc, size_t slot, const char *fam_name,
                    struct apierr *err)
{
    struct service_state *st = t->st;
    int fi = family_index(st, family_of_name(fam_name));
    json_t *ips = ju_arr(spec_of(svc), "clusterIPs");
    const char *want = json_string_value(json_array_get(ips, slot));
    struct cidr_ip ip;
    char text[CIDR_IP_STRLEN];
    if (fi < 0)
        return apierr_internal(err, "no allocator for %s", fam_name ? fam_name : "?");
    struct ipalloc *a = st->ip[fi];
    if (ju_empty(want)) {
        if (t->dry_run) {
            /* A dry run reserves nothing and reports the network address. */
            cidr_network(ipalloc_cidr(a), &ip);
        } else {
            int rc = ipalloc_allocate_next(a, &ip);
            if (rc) {
                char *msg = ipalloc_dynamic_error_message(rc);
                apierr_internal(err, "%s", msg);
                free(msg);
                return -1;
            }
            t->ip_alloc[t->n_ip_alloc] = ip;
            t->ip_alloc_idx[t->n_ip_alloc++] = fi;
        }
        json_array_set_new(ips, slot, json_string(cidr_ip_format(&ip, text)));
        return 0;
    }
    int rc = cidr_ip_parse(want, &ip) ? IPALLOC_ERR_MISMATCHED_NETWORK : 0;
    if (!rc)
        rc = t->dry_run ? ipalloc_check(a, &ip) : ipalloc_allocate(a, &ip);
    if (rc) {
        char *detail = ipalloc_static_error_detail(a, rc, want);
        char *value = fe_json_strings(ips);
        invalid1(err, svc, "spec.clusterIPs", value, detail);
        free(detail);
        free(value);
        return -1;
    }
    if (!t->dry_run) {
        t->ip_alloc[t->n_ip_alloc] = ip;
        t->ip_alloc_idx[t->n_ip_alloc++] = fi;
    }
    return 0;
}

static int alloc_cluster_ips(struct svc_txn *t, json_t *svc, struct apierr *err)
{
    if (type_is(svc, "ExternalName") || svc_is_headless(svc))
        return 0;
    json_t *spec = spec_of(svc);
    json_t *ips = json_object_get(spec, "clusterIPs");
    if (!json_is_array(ips)) {
        ips = json_array();
        json_object_set_new(spec, "clusterIPs", ips);
    }
    json_t *fams = families(svc);
    for (size_t i = 0; i < json_array_size(fams); i++) {
        if (i >= json_array_size(ips))
            json_array_append_new(ips, json_string(""));
        if (alloc_ip(t, svc, i, json_string_value(json_array_get(fams, i)), err))
            return -1;
    }
    json_object_set(spec, "clusterIP", json_array_get(ips, 0));
    return 0;
}

static void release_ip_later(struct svc_txn *t, const char *ip_text)
{
    struct cidr_ip ip;
    if (!ip_text || cidr_ip_parse(ip_text, &ip))
        return;
    int fi = family_index(t->st, ip.family);
    if (fi < 0 || t->n_ip_release == 2)
        return; /* the family is no longer configured: nothing to give back */
    t->ip_release[t->n_ip_release] = ip;
    t->ip_release_idx[t->n_ip_release++] = fi;
}

/* updateClusterIPs: the type-change and dual-stack cases A-D. */
static int update_cluster_ips(struct svc_txn *t, json_t *svc, const json_t *old, struct apierr *err)
{
    if (matching_prefer_dual_stack(svc, old))
        return 0;
    if (type_is(old, "ExternalName") && !type_is(svc, "ExternalName"))
        return alloc_cluster_ips(t, svc, err); /* A: now it needs addresses */
    if (svc_is_headless(old))
        return 0;
    if (!type_is(old, "ExternalName") && type_is(svc, "ExternalName")) {
        /* B: give the addresses back once the write is stored. */
        json_t *old_ips = ju_arr(ju_obj(old, "spec"), "clusterIPs");
        for (size_t i = 0; i < json_array_size(old_ips); i++)
            release_ip_later(t, json_string_value(json_array_get(old_ips, i)));
        return 0;
    }
    size_t old_n = list_len(old, "ipFamilies"), new_n = list_len(svc, "ipFamilies");
    if (old_n == 1 && new_n == 2) {
        /* C: upgrade to dual-stack: the secondary address. */
        json_t *ips = ju_arr(spec_of(svc), "clusterIPs");
        if (!ips) {
            ips = json_array();
            json_object_set_new(spec_of(svc), "clusterIPs", ips);
        }
        if (json_array_size(ips) < 2)
            json_array_append_new(ips, json_string(""));
        return alloc_ip(t, svc, 1, json_string_value(json_array_get(families(svc), 1)), err);
    }
    if (old_n == 2 && new_n == 1) {
        /* D: downgrade: the secondary address goes. */
        release_ip_later(
            t, json_string_value(json_array_get(ju_arr(ju_obj(old, "spec"), "clusterIPs"), 1)));
    }
    return 0;
}

/* ---- nodePorts ------------------------------------------------------------------------------- */

static bool should_allocate_node_ports(const json_t *svc)
{
    if (type_is(svc, "NodePort"))
        return true;
    if (type_is(svc, "LoadBalancer"))
        return ju_bool(ju_obj(svc, "spec"), "allocateLoadBalancerNodePorts", true);
    return false;
}

static int port_allocate(struct svc_txn *t, int port)
{
    if (t->dry_run)
        return portalloc_check(t->st->ports, port);
    int rc = portalloc_allocate(t->st->ports, port);
    if (!rc)
        push_port(&t->port_alloc, &t->n_port_alloc, port);
    return rc;
}

static int port_allocate_next(struct svc_txn *t, int *port)
{
    if (t->dry_run) {
        *port = t->next_dry_port++;
        return 0;
    }
    int rc = portalloc_allocate_next(t->st->ports, port);
    if (!rc)
        push_port(&t->port_alloc, &t->n_port_alloc, *port);
    return rc;
}

static int node_port_error(struct svc_txn *t, const json_t *svc, size_t i, int port, int rc,
                           struct apierr *err)
{
    char *path = xasprintf("spec.ports[%zu].nodePort", i);
    char *value = fe_int(port);
    char *detail = portalloc_strerror(t->st->ports, rc);
    invalid1(err, svc, path, value, detail);
    free(path);
    free(value);
    free(detail);
    return -1;
}

static int next_port_error(int rc, struct apierr *err)
{
    char *msg = portalloc_dynamic_error_message(rc);
    apierr_internal(err, "%s", msg);
    free(msg);
    return -1;
}

static long long port_field(const json_t *port, const char *key)
{
    return ju_int(port, key, 0);
}

/* initNodePorts: one nodePort per service port number, requested values honoured. */
static int init_node_ports(struct svc_txn *t, json_t *svc, struct apierr *err)
{
    json_t *ports = ju_arr(spec_of(svc), "ports");
    size_t n = json_array_size(ports);
    int *by_port_num = xcalloc(n ? n : 1, sizeof(int)); /* nodePort per index's port number */
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        json_t *p = json_array_get(ports, i);
        int np = (int)port_field(p, "nodePort");
        int num = (int)port_field(p, "port");
        if (np == 0 && !should_allocate_node_ports(svc))
            continue; /* no automatic ports, but requested ones are kept */
        int assigned = 0;
        for (size_t k = 0; k < i; k++)
            if ((int)port_field(json_array_get(ports, k), "port") == num && by_port_num[k])
                assigned = by_port_num[k];
        if (!assigned) {
            /* Look forward for a requested value for this port number. */
            int want = 0;
            for (size_t k = i; k < n && !want; k++) {
                json_t *q = json_array_get(ports, k);
                if ((int)port_field(q, "port") == num && port_field(q, "nodePort"))
                    want = (int)port_field(q, "nodePort");
            }
            if (want) {
                int e = port_allocate(t, want);
                if (e) {
                    rc = node_port_error(t, svc, i, want, e, err);
                    break;
                }
                assigned = want;
            } else {
                int e = port_allocate_next(t, &assigned);
                if (e) {
                    rc = next_port_error(e, err);
                    break;
                }
            }
            json_object_set_new(p, "nodePort", json_integer(assigned));
        } else if (np != assigned) {
            if (np == 0) {
                json_object_set_new(p, "nodePort", json_integer(assigned));
            } else {
                int e = port_allocate(t, np);
                if (e) {
                    rc = node_port_error(t, svc, i, np, e, err);
                    break;
                }
                assigned = np;
            }
        }
        by_port_num[i] = assigned;
    }
    free(by_port_num);
    return rc;
}

static int alloc_health_check(struct svc_txn *t, json_t *svc, struct apierr *err)
{
    json_t *spec = spec_of(svc);
    int want = (int)ju_int(spec, "healthCheckNodePort", 0);
    int got = want, rc;
    if (want)
        rc = port_allocate(t, want);
    else
        rc = port_allocate_next(t, &got);
    if (rc) {
        char *msg = portalloc_health_check_error_message(t->st->ports, rc, want);
        apierr_internal(err, "%s", msg);
        free(msg);
        return -1;
    }
    json_object_set_new(spec, "healthCheckNodePort", json_integer(got));
    return 0;
}

static bool int_in(const int *v, size_t n, int x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

static size_t collect_node_ports(const json_t *svc, int **out)
{
    json_t *ports = ju_arr(ju_obj(svc, "spec"), "ports");
    size_t n = 0;
    *out = xcalloc(json_array_size(ports) + 1, sizeof(int));
    for (size_t i = 0; i < json_array_size(ports); i++) {
        int np = (int)port_field(json_array_get(ports, i), "nodePort");
        if (np)
            (*out)[n++] = np;
    }
    return n;
}

/* updateNodePorts */
static int update_node_ports(struct svc_txn *t, json_t *svc, const json_t *old, struct apierr *err)
{
    int *old_nps, *new_nps;
    size_t n_old = collect_node_ports(old, &old_nps);
    json_t *ports = ju_arr(spec_of(svc), "ports");
    size_t n = json_array_size(ports);
    int *allocated_now = xcalloc(n + 1, sizeof(int));
    size_t n_now = 0;
    struct {
        const char *proto;
        int port;
    } *seen = xcalloc(n + 1, sizeof(*seen));
    size_t n_seen = 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        json_t *p = json_array_get(ports, i);
        int np = (int)port_field(p, "nodePort");
        if (np == 0 && !should_allocate_node_ports(svc))
            continue;
        if (np) {
            if (!int_in(old_nps, n_old, np) && !int_in(allocated_now, n_now, np)) {
                int e = port_allocate(t, np);
                if (e) {
                    rc = node_port_error(t, svc, i, np, e, err);
                    break;
                }
                allocated_now[n_now++] = np;
            }
        } else {
            int e = port_allocate_next(t, &np);
            if (e) {
                rc = next_port_error(e, err);
                break;
            }
            json_object_set_new(p, "nodePort", json_integer(np));
        }
        const char *proto = ju_str(p, "protocol");
        for (size_t k = 0; k < n_seen; k++) {
            if (seen[k].port == np && !strcmp(seen[k].proto, proto ? proto : "")) {
                /* A bare Go error upstream, so a 500 without a reason. */
                apierr_simple(err, APIERR_UNKNOWN_500, "duplicate nodePort: {%s %d}",
                              proto ? proto : "", np);
                rc = -1;
                break;
            }
        }
        seen[n_seen].proto = proto ? proto : "";
        seen[n_seen++].port = np;
    }
    if (!rc) {
        size_t n_new = collect_node_ports(svc, &new_nps);
        for (size_t i = 0; i < n_old; i++)
            if (!int_in(new_nps, n_new, old_nps[i]))
                push_port(&t->port_release, &t->n_port_release, old_nps[i]);
        free(new_nps);
    }
    free(seen);
    free(allocated_now);
    free(old_nps);
    return rc;
}

static int update_health_check(struct svc_txn *t, json_t *svc, const json_t *old,
                               struct apierr *err)
{
    bool needed = svc_needs_health_check(old), needs = svc_needs_health_check(svc);
    if (!needed && needs)
        return alloc_health_check(t, svc, err);
    if (needed && !needs) {
        int hc = (int)ju_int(ju_obj(old, "spec"), "healthCheckNodePort", 0);
        if (hc)
            push_port(&t->port_release, &t->n_port_release, hc);
    }
    return 0;
}

/* ---- create and update ----------------------------------------------------------------------- */

int svc_alloc_create(struct service_state *st, json_t *svc, bool dry_run, struct svc_txn **txn,
                     struct apierr *err)
{
    json_t *spec = spec_of(svc);
    /* normalizeClusterIPs on create: the singular fills the plural, never the reverse. */
    const char *ip = ju_str(spec, "clusterIP");
    if (!ju_empty(ip) && !json_array_size(ju_arr(spec, "clusterIPs")))
        json_object_set_new(spec, "clusterIPs", json_pack("[s]", ip));
    *txn = NULL;
    if (init_ip_families(st, svc, NULL, err))
        return -1;
    struct svc_txn *t = txn_new(st, dry_run);
    if (alloc_cluster_ips(t, svc, err))
        goto fail;
    if (needs_node_port(svc) && init_node_ports(t, svc, err))
        goto fail;
    if (svc_needs_health_check(svc) && alloc_health_check(t, svc, err))
        goto fail;
    *txn = t;
    return 0;
fail:
    svc_txn_finish(t, false);
    return -1;
}

/* patchAllocatedValues: keep what the server allocated when an update leaves it out. */
static void patch_allocated_values(json_t *svc, const json_t *old)
{
    json_t *spec = spec_of(svc);
    const json_t *ospec = ju_obj(old, "spec");
    if (needs_cluster_ip(old) && needs_cluster_ip(svc)) {
        if (ju_empty(ju_str(spec, "clusterIP")) && ju_str(ospec, "clusterIP"))
            json_object_set(spec, "clusterIP", json_object_get(ospec, "clusterIP"));
        if (!json_array_size(ju_arr(spec, "clusterIPs")) &&
            json_array_size(ju_arr(ospec, "clusterIPs")))
            json_object_set_new(spec, "clusterIPs",
                                json_deep_copy(json_object_get(ospec, "clusterIPs")));
    }
    if (needs_node_port(old) && needs_node_port(svc)) {
        int *old_nps, *new_nps;
        size_t n_old = collect_node_ports(old, &old_nps);
        size_t n_new = collect_node_ports(svc, &new_nps);
        json_t *ports = ju_arr(spec, "ports");
        json_t *old_ports = ju_arr(ospec, "ports");
        for (size_t i = 0; i < json_array_size(ports); i++) {
            json_t *p = json_array_get(ports, i);
            if (port_field(p, "nodePort"))
                continue;
            const char *name = ju_str(p, "name");
            /* The old nodePort of the port with the same name (the last one, as a Go map). */
            int oldval = 0;
            for (size_t k = 0; k < json_array_size(old_ports); k++) {
                json_t *q = json_array_get(old_ports, k);
                const char *qn = ju_str(q, "name");
                if (!strcmp(qn ? qn : "", name ? name : ""))
                    oldval = (int)port_field(q, "nodePort");
            }
            /* Not if that value is kept by a port of both the old and the new object. */
            bool used = int_in(old_nps, n_old, oldval) && int_in(new_nps, n_new, oldval);
            if (oldval && !used)
                json_object_set_new(p, "nodePort", json_integer(oldval));
        }
        free(old_nps);
        free(new_nps);
    }
    if (svc_needs_health_check(old) && svc_needs_health_check(svc) &&
        !ju_int(spec, "healthCheckNodePort", 0) && ju_int(ospec, "healthCheckNodePort", 0))
        json_object_set(spec, "healthCheckNodePort", json_object_get(ospec, "healthCheckNodePort"));
}

/* normalizeClusterIPs on update: keep the singular and plural fields in step. */
static void normalize_update(json_t *svc, const json_t *old)
{
    json_t *spec = spec_of(svc);
    const char *ip = ju_str(spec, "clusterIP");
    const char *oip = ju_str(ju_obj(old, "spec"), "clusterIP");
    bool same_ips = same_list(old, svc, "clusterIPs");
    if (!strcmp(ip ? ip : "", oip ? oip : "") && same_ips)
        return;
    if (ju_empty(ip) && same_ips) {
        json_object_del(spec, "clusterIPs");
        return;
    }
    if (!ju_empty(ip) && same_ips) {
        json_object_set_new(spec, "clusterIPs", json_pack("[s]", ip));
        return;
    }
    json_t *ips = ju_arr(spec, "clusterIPs");
    if (ju_empty(ip) && json_array_size(ips))
        json_object_set(spec, "clusterIP", json_array_get(ips, 0));
}

int svc_alloc_update(struct service_state *st, json_t *svc, const json_t *old, bool dry_run,
                     struct svc_txn **txn, struct apierr *err)
{
    *txn = NULL;
    patch_allocated_values(svc, old);
    normalize_update(svc, old);
    if (init_ip_families(st, svc, old, err))
        return -1;
    struct svc_txn *t = txn_new(st, dry_run);
    if (update_cluster_ips(t, svc, old, err))
        goto fail;
    if (needs_node_port(old) && (type_is(svc, "ExternalName") || type_is(svc, "ClusterIP"))) {
        int *old_nps;
        size_t n_old = collect_node_ports(old, &old_nps);
        for (size_t i = 0; i < n_old; i++)
            push_port(&t->port_release, &t->n_port_release, old_nps[i]);
        free(old_nps);
    }
    if (needs_node_port(svc) && update_node_ports(t, svc, old, err))
        goto fail;
    if (update_health_check(t, svc, old, err))
        goto fail;
    *txn = t;
    return 0;
fail:
    svc_txn_finish(t, false);
    return -1;
}

/* ---- release and restore --------------------------------------------------------------------- */

void svc_alloc_release_all(struct service_state *st, const json_t *svc)
{
    if (!type_is(svc, "ExternalName") && !svc_is_headless(svc)) {
        json_t *ips = ju_arr(ju_obj(svc, "spec"), "clusterIPs");
        for (size_t i = 0; i < json_array_size(ips); i++) {
            struct cidr_ip ip;
            if (cidr_ip_parse(json_string_value(json_array_get(ips, i)) ?: "", &ip))
                continue;
            int fi = family_index(st, ip.family);
            if (fi >= 0)
                ipalloc_release(st->ip[fi], &ip);
        }
    }
    int *nps;
    size_t n = collect_node_ports(svc, &nps);
    for (size_t i = 0; i < n; i++)
        portalloc_release(st->ports, nps[i]);
    free(nps);
    if (svc_needs_health_check(svc)) {
        int hc = (int)ju_int(ju_obj(svc, "spec"), "healthCheckNodePort", 0);
        if (hc > 0)
            portalloc_release(st->ports, hc);
    }
}

void svc_alloc_restore(struct service_state *st, const json_t *svc, struct strbuf *report)
{
    const char *ns = ju_meta_str(svc, "namespace"), *name = ju_meta_str(svc, "name");
    if (!type_is(svc, "ExternalName") && !svc_is_headless(svc)) {
        json_t *ips = ju_arr(ju_obj(svc, "spec"), "clusterIPs");
        for (size_t i = 0; i < json_array_size(ips); i++) {
            const char *text = json_string_value(json_array_get(ips, i));
            struct cidr_ip ip;
            int fi = -1, rc = -1;
            if (text && !cidr_ip_parse(text, &ip) && (fi = family_index(st, ip.family)) >= 0)
                rc = ipalloc_allocate(st->ip[fi], &ip);
            if (rc == IPALLOC_ERR_ALLOCATED)
                strbuf_addf(report,
                            "ClusterIPAlreadyAllocated: %s/%s has %s, held by another "
                            "Service\n",
                            ns, name, text);
            else if (rc)
                strbuf_addf(report, "ClusterIPOutOfRange: %s/%s has %s, outside the range\n", ns,
                            name, text ? text : "?");
        }
    }
    int *nps;
    size_t n = collect_node_ports(svc, &nps);
    if (svc_needs_health_check(svc) && ju_int(ju_obj(svc, "spec"), "healthCheckNodePort", 0))
        nps[n++] = (int)ju_int(ju_obj(svc, "spec"), "healthCheckNodePort", 0);
    for (size_t i = 0; i < n; i++) {
        bool repeat = int_in(nps, i, nps[i]); /* TCP and UDP of one port share it */
        int rc = repeat ? 0 : portalloc_allocate(st->ports, nps[i]);
        if (rc == PORTALLOC_ERR_ALLOCATED)
            strbuf_addf(report,
                        "PortAlreadyAllocated: %s/%s has nodePort %d, held by another "
                        "Service\n",
                        ns, name, nps[i]);
        else if (rc)
            strbuf_addf(report, "PortOutOfRange: %s/%s has nodePort %d, outside the range\n", ns,
                        name, nps[i]);
    }
    free(nps);
}
