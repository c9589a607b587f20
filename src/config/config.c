/*
 * config: flags and the YAML config file (see include/svc/config.h). One table describes every
 * setting, so the command line, the file and --help cannot disagree.
 */
#include "svc/config.h"

#include "svc/cidr.h"
#include "svc/portalloc.h"

#include "svc/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* OPT_IP, OPT_SERVICE_CIDRS and OPT_PORT_RANGE are strings checked when set, so that a bad
   value in a file is reported at its line (by the modules that will use them). */
enum opt_type {
    OPT_STRING,
    OPT_INT,
    OPT_BOOL,
    OPT_DURATION,
    OPT_SIZE,
    OPT_IP,
    OPT_SERVICE_CIDRS,
    OPT_PORT_RANGE,
};

struct option_desc {
    const char *name; /* flag without dashes, and file key */
    enum opt_type type;
    size_t offset;
    long min, max; /* for OPT_INT and OPT_SIZE */
    const char *help;
};

#define OFF(field) offsetof(struct svc_config, field)

static const struct option_desc options[] = {
    {"config", OPT_STRING, OFF(config_file), 0, 0,
     "read settings from this YAML file (keys are the flag names); flags override it"},
    {"bind-address", OPT_IP, OFF(bind_address), 0, 0,
     "the IP address to listen on (default 127.0.0.1)"},
    {"port", OPT_INT, OFF(port), 0, 65535,
     "the port to listen on; 0 picks a free one (default 8080)"},
    {"port-file", OPT_STRING, OFF(port_file), 0, 0,
     "write the bound port to this file once the server listens"},
    {"advertise-address", OPT_IP, OFF(advertise_address), 0, 0,
     "the address the kubernetes Service's Endpoints and EndpointSlice show (default: the bind "
     "address, or 127.0.0.1 when bound to every address)"},
    {"service-cluster-ip-range", OPT_SERVICE_CIDRS, OFF(service_cluster_ip_range), 0, 0,
     "CIDR(s) ClusterIPs are allocated from, one IPv4 and/or one IPv6, comma-separated "
     "(default 10.96.0.0/12)"},
    {"service-node-port-range", OPT_PORT_RANGE, OFF(service_node_port_range), 0, 0,
     "the range nodePorts are allocated from (default 30000-32767)"},
    {"write-kubeconfig", OPT_STRING, OFF(write_kubeconfig), 0, 0,
     "write a kubeconfig for this server to this file once it listens"},
    {"v", OPT_INT, OFF(verbosity), 0, 10, "log verbosity; 1 logs every request (default 0)"},
    {"watch-cache-size", OPT_INT, OFF(watch_cache_size), 1, 100000000,
     "how many events are kept for watches to resume from (default 10000)"},
    {"threads", OPT_INT, OFF(threads), 1, 256, "HTTP worker threads (default 4)"},
    {"nodes", OPT_INT, OFF(nodes), 0, 1000, "simulated Nodes pods are scheduled to (default 1)"},
    {"pod-cidr", OPT_STRING, OFF(pod_cidr), 0, 0,
     "IPv4 CIDR pod addresses come from, a /24 per node (default 10.244.0.0/16)"},
    {"pod-ready-delay", OPT_DURATION, OFF(pod_ready_delay), 0, 86400,
     "how long a new pod runs before it turns Ready, e.g. 2s or 500ms (default 0)"},
    {"load-balancer-ip-range", OPT_STRING, OFF(load_balancer_ip_range), 0, 0,
     "IPv4 CIDR or first-last range LoadBalancer Services get an external address from; "
     "without it they stay <pending>"},
    {"data-dir", OPT_STRING, OFF(data_dir), 0, 0,
     "keep the store in this directory (write-ahead log and snapshots) so that every "
     "acknowledged write survives a crash; without it everything is kept in memory only"},
    {"snapshot-threshold", OPT_SIZE, OFF(snapshot_threshold), 1, 1L << 40,
     "with --data-dir, snapshot the store once the log grows past this size, e.g. 4096, 512Ki "
     "or 1Gi (default 64Mi)"},
    {"help", OPT_BOOL, OFF(help), 0, 0, "print this help and exit"},
    {"version", OPT_BOOL, OFF(version), 0, 0, "print the version and exit"},
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

void config_init(struct svc_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->bind_address = xstrdup("127.0.0.1");
    cfg->port = 8080;
    cfg->service_cluster_ip_range = xstrdup("10.96.0.0/12");
    cfg->service_node_port_range = xstrdup("30000-32767");
    cfg->watch_cache_size = 10000;
    cfg->threads = 4;
    cfg->nodes = 1;
    cfg->pod_cidr = xstrdup("10.244.0.0/16");
    cfg->snapshot_threshold = 64LL << 20;
}

/* Settings kept as strings (the checked kinds too). */
static bool holds_string(const struct option_desc *o)
{
    return o->type == OPT_STRING || o->type == OPT_IP || o->type == OPT_SERVICE_CIDRS ||
           o->type == OPT_PORT_RANGE;
}

void config_release(struct svc_config *cfg)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (holds_string(&options[i])) {
            char **p = (char **)((char *)cfg + options[i].offset);
            free(*p);
            *p = NULL;
        }
}

static const struct option_desc *find_option(const char *name, size_t len)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strlen(options[i].name) == len && !strncmp(options[i].name, name, len))
            return &options[i];
    return NULL;
}

/* Store value into the setting; 0, or -1 with the reason in msg. */
static int set_option(struct svc_config *cfg, const struct option_desc *o, const char *value,
                      char *msg, size_t msg_len)
{
    void *field = (char *)cfg + o->offset;
    switch (o->type) {
    case OPT_IP: {
        unsigned char buf[16];
        if (inet_pton(AF_INET, value, buf) != 1 && inet_pton(AF_INET6, value, buf) != 1) {
            snprintf(msg, msg_len, "%s: \"%s\" is not an IP address", o->name, value);
            return -1;
        }
        free(*(char **)field);
        *(char **)field = xstrdup(value);
        return 0;
    }
    case OPT_SERVICE_CIDRS:
    case OPT_PORT_RANGE: {
        char *why = NULL;
        int bad;
        if (o->type == OPT_SERVICE_CIDRS) {
            struct cidr_service_ranges ranges;
            bad = cidr_parse_service_cluster_ip_range(value, &ranges, &why);
        } else {
            struct portalloc_range range;
            bad = portalloc_parse_range(value, &range, &why);
        }
        if (bad) {
            snprintf(msg, msg_len, "%s: %s", o->name, why ? why : "bad value");
            free(why);
            return -1;
        }
        free(*(char **)field);
        *(char **)field = xstrdup(value);
        return 0;
    }
    case OPT_STRING:
        free(*(char **)field);
        *(char **)field = xstrdup(value);
        return 0;
    case OPT_BOOL:
        if (!strcmp(value, "true") || !*value) {
            *(bool *)field = true;
        } else if (!strcmp(value, "false")) {
            *(bool *)field = false;
        } else {
            snprintf(msg, msg_len, "%s: \"%s\" is not true or false", o->name, value);
            return -1;
        }
        return 0;
    case OPT_DURATION: {
        /* Seconds as a number, or a Go duration: "500ms", "2s", "1m30s". */
        double total = 0;
        const char *p = value;
        char *end;
        if (!*p) {
            snprintf(msg, msg_len, "%s: empty duration", o->name);
            return -1;
        }
        while (*p) {
            double v = strtod(p, &end);
            if (end == p || v < 0) {
                snprintf(msg, msg_len, "%s: \"%s\" is not a duration", o->name, value);
                return -1;
            }
            p = end;
            if (!strncmp(p, "ms", 2)) {
                v /= 1000;
                p += 2;
            } else if (*p == 's') {
                p++;
            } else if (*p == 'm') {
                v *= 60;
                p++;
            } else if (*p == 'h') {
                v *= 3600;
                p++;
            } else if (*p) {
                snprintf(msg, msg_len, "%s: \"%s\" is not a duration", o->name, value);
                return -1;
            }
            total += v;
        }
        if (total > (double)o->max) {
            snprintf(msg, msg_len, "%s: %s is out of range", o->name, value);
            return -1;
        }
        *(double *)field = total;
        return 0;
    }
    case OPT_SIZE: {
        /* Bytes, as a Kubernetes quantity: binary (Ki, Mi, Gi, Ti) or decimal (k, M, G, T). */
        static const struct {
            const char *suffix;
            long long mult;
        } units[] = {{"Ki", 1LL << 10},   {"Mi", 1LL << 20},      {"Gi", 1LL << 30},
                     {"Ti", 1LL << 40},   {"k", 1000LL},          {"M", 1000000LL},
                     {"G", 1000000000LL}, {"T", 1000000000000LL}, {"", 1}};
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        long long mult = 0;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && !mult; i++)
            if (!strcmp(end, units[i].suffix))
                mult = units[i].mult;
        if (end == value || !isdigit((unsigned char)*value) || errno || !mult) {
            snprintf(msg, msg_len,
                     "%s: \"%s\" is not a size (bytes, or a number with Ki, Mi or Gi)", o->name,
                     value);
            return -1;
        }
        if (v < o->min || v > o->max / mult || v * mult < o->min) {
            snprintf(msg, msg_len, "%s: %s is out of range [%ld, %ld]", o->name, value, o->min,
                     o->max);
            return -1;
        }
        *(long long *)field = v * mult;
        return 0;
    }
    case OPT_INT: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (!*value || *end || errno) {
            snprintf(msg, msg_len, "%s: \"%s\" is not a number", o->name, value);
            return -1;
        }
        if (v < o->min || v > o->max) {
            snprintf(msg, msg_len, "%s: %ld is out of range [%ld, %ld]", o->name, v, o->min,
                     o->max);
            return -1;
        }
        if (o->offset == OFF(watch_cache_size))
            *(long *)field = v;
        else
            *(int *)field = (int)v;
        return 0;
    }
    }
    return -1;
}

int config_load_yaml(struct svc_config *cfg, const char *name, const char *text, size_t len,
                     char *msg, size_t msg_len)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    int rc = -1, depth = 0;
    char *key = NULL;
    size_t key_line = 0;
    char why[256];
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    for (;;) {
        if (!yaml_parser_parse(&parser, &ev)) {
            snprintf(msg, msg_len, "%s:%zu: %s", name, parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "malformed YAML");
            goto out;
        }
        yaml_event_type_t type = ev.type;
        size_t line = ev.start_mark.line + 1;
        if (type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (type == YAML_MAPPING_START_EVENT || type == YAML_SEQUENCE_START_EVENT) {
            depth++;
            if (depth > 1 || type == YAML_SEQUENCE_START_EVENT) {
                snprintf(msg, msg_len, "%s:%zu: %s%svalue must be a scalar", name, line,
                         key ? key : "", key ? ": " : "");
                yaml_event_delete(&ev);
                goto out;
            }
        } else if (type == YAML_MAPPING_END_EVENT) {
            depth--;
        } else if (type == YAML_ALIAS_EVENT) {
            /* Settings are plain scalars; an alias where a key or value belongs is refused
               rather than skipped (skipping would pair the key with the next scalar). */
            snprintf(msg, msg_len, "%s:%zu: %s%saliases are not supported", name, line,
                     key ? key : "", key ? ": " : "");
            yaml_event_delete(&ev);
            goto out;
        } else if (type == YAML_SCALAR_EVENT) {
            const char *v = (const char *)ev.data.scalar.value;
            if (depth == 0) {
                snprintf(msg, msg_len, "%s:%zu: the file must be a mapping of settings", name,
                         line);
                yaml_event_delete(&ev);
                goto out;
            }
            if (!key) {
                key = xstrdup(v);
                key_line = line;
                const struct option_desc *o = find_option(key, strlen(key));
                if (!o || o->offset == OFF(config_file) || o->offset == OFF(help) ||
                    o->offset == OFF(version)) {
                    snprintf(msg, msg_len, "%s:%zu: unknown key \"%s\"", name, key_line, key);
                    yaml_event_delete(&ev);
                    goto out;
                }
            } else {
                const struct option_desc *o = find_option(key, strlen(key));
                if (set_option(cfg, o, v, why, sizeof(why))) {
                    snprintf(msg, msg_len, "%s:%zu: %s", name, line, why);
                    yaml_event_delete(&ev);
                    goto out;
                }
                free(key);
                key = NULL;
            }
        }
        yaml_event_delete(&ev);
    }
    rc = 0;
out:
    free(key);
    yaml_parser_delete(&parser);
    return rc;
}

static int load_file(struct svc_config *cfg, const char *path, char *msg, size_t msg_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(msg, msg_len, "config: cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char *text = NULL;
    size_t len = 0, cap = 0, n;
    char buf[4096];
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (len + n > 1 << 20) {
            fclose(f);
            free(text);
            snprintf(msg, msg_len, "config: %s is larger than 1 MiB", path);
            return -1;
        }
        if (len + n > cap) {
            cap = (len + n) * 2;
            text = xrealloc(text, cap);
        }
        memcpy(text + len, buf, n);
        len += n;
    }
    fclose(f);
    int rc = config_load_yaml(cfg, path, text ? text : "", len, msg, msg_len);
    free(text);
    return rc;
}

/* Split "--name=value" / "--name value" / "-v 2"; returns the option or NULL. */
static const struct option_desc *flag_of(const char *arg, const char **inline_value)
{
    const char *p = arg;
    if (p[0] != '-')
        return NULL;
    p += p[1] == '-' ? 2 : 1;
    const char *eq = strchr(p, '=');
    size_t len = eq ? (size_t)(eq - p) : strlen(p);
    *inline_value = eq ? eq + 1 : NULL;
    const struct option_desc *o = find_option(p, len);
    /* Single-dash forms are accepted only for -v, as kube components do. */
    if (o && arg[1] != '-' && strcmp(o->name, "v"))
        return NULL;
    return o;
}

int config_parse(struct svc_config *cfg, int argc, char **argv, char *msg, size_t msg_len)
{
    /* The file first, so that flags override it wherever --config appears. */
    for (int i = 1; i < argc; i++) {
        const char *val;
        const struct option_desc *o = flag_of(argv[i], &val);
        if (!o || o->offset != OFF(config_file))
            continue;
        if (!val) {
            if (i + 1 >= argc) {
                snprintf(msg, msg_len, "flag needs a value: --config");
                return -1;
            }
            val = argv[++i];
        }
        if (load_file(cfg, val, msg, msg_len))
            return -1;
        free(cfg->config_file);
        cfg->config_file = xstrdup(val);
    }
    for (int i = 1; i < argc; i++) {
        const char *val;
        const struct option_desc *o = flag_of(argv[i], &val);
        if (!o) {
            snprintf(msg, msg_len, "unknown flag: %s", argv[i]);
            return -1;
        }
        if (!val && o->type != OPT_BOOL) {
            if (i + 1 >= argc) {
                snprintf(msg, msg_len, "flag needs a value: %s", argv[i]);
                return -1;
            }
            val = argv[++i];
        }
        if (o->offset == OFF(config_file))
            continue;
        char why[256];
        if (set_option(cfg, o, val ? val : "", why, sizeof(why))) {
            snprintf(msg, msg_len, "invalid value for --%s", why);
            return -1;
        }
    }
    return 0;
}

const char *config_usage(void)
{
    static char text[4096];
    if (text[0])
        return text;
    size_t n = (size_t)snprintf(text, sizeof(text),
                                "Usage: svc-apiserver [flags]\n\n"
                                "A small Kubernetes API server for Services and Endpoints.\n\n"
                                "Flags (each is also a key of the --config YAML file):\n");
    for (size_t i = 0; i < N_OPTIONS && n < sizeof(text); i++) {
        const char *arg = holds_string(&options[i])         ? " string"
                          : options[i].type == OPT_INT      ? " int"
                          : options[i].type == OPT_DURATION ? " duration"
                          : options[i].type == OPT_SIZE     ? " size"
                                                            : "";
        n += (size_t)snprintf(text + n, sizeof(text) - n, "  %s%s%s\n      %s\n",
                              strcmp(options[i].name, "v") ? "--" : "-", options[i].name, arg,
                              options[i].help);
    }
    return text;
}
