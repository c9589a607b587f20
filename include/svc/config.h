/*
 * config: the server's settings from the command line and from the YAML file named by
 * --config. Every flag is also a key of the file (the same name without the leading dashes);
 * the file is read first and flags override it. An unknown key, or a value of the wrong form,
 * is an error naming the key and, in the file, its line. Depends on libyaml and util only.
 */
#ifndef SVC_CONFIG_H
#define SVC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct svc_config {
    char *config_file;              /* --config */
    char *bind_address;             /* --bind-address (127.0.0.1) */
    int port;                       /* --port (8080; 0 picks a free port) */
    char *port_file;                /* --port-file */
    char *advertise_address;        /* --advertise-address (default: the bind address, or
                                       127.0.0.1 when that is unspecified) */
    char *service_cluster_ip_range; /* --service-cluster-ip-range (10.96.0.0/12) */
    char *service_node_port_range;  /* --service-node-port-range (30000-32767) */
    char *write_kubeconfig;         /* --write-kubeconfig */
    int verbosity;                  /* -v */
    long watch_cache_size;          /* --watch-cache-size (10000) */
    int threads;                    /* --threads (HTTP worker threads) */
    int nodes;                      /* --nodes: simulated Nodes (1) */
    char *pod_cidr;                 /* --pod-cidr (10.244.0.0/16) */
    double pod_ready_delay;         /* --pod-ready-delay seconds (0) */
    char *load_balancer_ip_range;   /* --load-balancer-ip-range: CIDR or first-last */
    char *data_dir;                 /* --data-dir: keep the store on disk here (write-ahead log
                                       and snapshots); unset: memory only */
    long long snapshot_threshold;   /* --snapshot-threshold bytes of log before a snapshot
                                       (64Mi; a size such as 4096, 512Ki, 64Mi or 1Gi) */
    bool help;                      /* --help */
    bool version;                   /* --version */
};

/* Fill cfg with the defaults. */
void config_init(struct svc_config *cfg);
void config_release(struct svc_config *cfg);

/*
 * Parse argv (argv[0] is the program). Reads the --config file first wherever the flag
 * appears. 0, or -1 with msg ("unknown flag: --foo", "config.yaml:3: port: not a number").
 */
int config_parse(struct svc_config *cfg, int argc, char **argv, char *msg, size_t msg_len);

/* Apply the YAML text of a config file (name is used in messages). 0, or -1 with msg. */
int config_load_yaml(struct svc_config *cfg, const char *name, const char *text, size_t len,
                     char *msg, size_t msg_len);

/* The --help text. */
const char *config_usage(void);

#endif
