/*
 * svc-apiserver: a small Kubernetes API server for Services and Endpoints.
 *
 * main wires the modules: settings -> store -> registry (with the cluster's first objects) ->
 * REST server -> HTTP daemon; then it writes the port file and the kubeconfig, reports ready,
 * and waits for SIGINT or SIGTERM to stop everything in reverse order.
 */
#include "svc/apierr.h"
#include "svc/api.h"
#include "svc/config.h"
#include "svc/controllers.h"
#include "svc/http.h"
#include "svc/registry.h"
#include "svc/rest.h"
#include "svc/store.h"
#include "svc/tree_arena.h"
#include "svc/util.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* 3 MiB: what kube-apiserver accepts for a request body (MaxRequestBodyBytes). */
#define MAX_BODY (3u * 1024 * 1024)

/* Write text to path atomically (temporary file, then rename), so readers never see half. */
static int write_file(const char *path, const char *text)
{
    char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "svc-apiserver: cannot write %s: %s\n", path, strerror(errno));
        free(tmp);
        return -1;
    }
    fputs(text, f);
    int rc = fclose(f) == 0 && rename(tmp, path) == 0 ? 0 : -1;
    if (rc)
        fprintf(stderr, "svc-apiserver: cannot write %s: %s\n", path, strerror(errno));
    free(tmp);
    return rc;
}

/* Where clients on this machine reach the server: the bind address, or loopback when bound to
   every address. (The advertise address is what the cluster's objects show; it need not be
   an address of this machine at all.) */
static char *server_url(const struct svc_config *cfg, int port)
{
    const char *host = cfg->bind_address;
    if (!strcmp(host, "0.0.0.0"))
        host = "127.0.0.1";
    else if (!strcmp(host, "::"))
        host = "::1";
    if (strchr(host, ':'))
        return xasprintf("http://[%s]:%d", host, port);
    return xasprintf("http://%s:%d", host, port);
}

static int write_kubeconfig(const char *path, const char *url)
{
    char *text = xasprintf("apiVersion: v1\n"
                           "kind: Config\n"
                           "clusters:\n"
                           "- cluster:\n"
                           "    server: %s\n"
                           "  name: svc-apiserver\n"
                           "contexts:\n"
                           "- context:\n"
                           "    cluster: svc-apiserver\n"
                           "    namespace: default\n"
                           "    user: svc-apiserver\n"
                           "  name: svc-apiserver\n"
                           "current-context: svc-apiserver\n"
                           "preferences: {}\n"
                           "users:\n"
                           "- name: svc-apiserver\n"
                           "  user: {}\n",
                           url);
    int rc = write_file(path, text);
    free(text);
    return rc;
}

/* Many watchers means many sockets: use all the descriptors the hard limit allows. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    struct svc_config cfg;
    char msg[512];
    int status = 1;
    struct store *store = NULL;
    struct registry *reg = NULL;
    struct rest_server *rest = NULL;
    struct http_server *http = NULL;
    struct controllers *ctl = NULL;
    struct apierr err;
    /* Before any JSON value exists: jansson's allocator cannot change under live values. Without
       the address space for the arenas every request simply uses malloc. */
    tree_arena_install();
    apierr_init(&err);
    config_init(&cfg);
    if (config_parse(&cfg, argc, argv, msg, sizeof(msg))) {
        fprintf(stderr, "svc-apiserver: %s\n%s", msg, "Run 'svc-apiserver --help' for usage.\n");
        config_release(&cfg);
        return 2;
    }
    if (cfg.help) {
        fputs(config_usage(), stdout);
        config_release(&cfg);
        return 0;
    }
    if (cfg.version) {
        printf("svc-apiserver %s (Kubernetes API v1.33)\n", SVC_VERSION);
        config_release(&cfg);
        return 0;
    }
    if (!cfg.advertise_address)
        cfg.advertise_address = xstrdup(
            strcmp(cfg.bind_address, "0.0.0.0") && strcmp(cfg.bind_address, "::") ? cfg.bind_address
                                                                                  : "127.0.0.1");

    /* Block the stop signals in every thread; main waits for them with sigwait. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();

    /* The store is loaded from --data-dir before the registry, which rebuilds its allocators
       from the stored Services. */
    struct store_config scfg = {.event_log_size = (size_t)cfg.watch_cache_size,
                                .data_dir = cfg.data_dir,
                                .snapshot_threshold = (uint64_t)cfg.snapshot_threshold};
    store = store_open(&scfg, msg, sizeof(msg));
    if (!store) {
        fprintf(stderr, "svc-apiserver: %s\n", msg);
        goto out;
    }
    struct http_config hcfg = {.bind_address = cfg.bind_address,
                               .port = cfg.port,
                               .threads = (unsigned)cfg.threads,
                               .max_body = MAX_BODY,
                               .verbosity = cfg.verbosity};
    /* The port is needed by the kubernetes Endpoints, so the registry comes after the bind.
       Requests that arrive in between get 503 from /readyz and find an empty store. */
    struct registry_config rcfg = {.service_cluster_ip_range = cfg.service_cluster_ip_range,
                                   .service_node_port_range = cfg.service_node_port_range,
                                   .advertise_address = cfg.advertise_address};
    reg = registry_new(store, api_builtin(), &rcfg, &err);
    if (!reg) {
        fprintf(stderr, "svc-apiserver: %s\n", err.message ? err.message : "bad settings");
        goto out;
    }
    struct rest_server_config restcfg = {.advertise_address = cfg.advertise_address,
                                         .port = cfg.port};
    rest = rest_server_new(reg, &restcfg);
    http = http_start(&hcfg, rest, msg, sizeof(msg));
    if (!http) {
        fprintf(stderr, "svc-apiserver: %s\n", msg);
        goto out;
    }
    int port = http_port(http);
    registry_set_port(reg, port);
    rest_server_set_port(rest, port);
    if (registry_bootstrap(reg, &err)) {
        fprintf(stderr, "svc-apiserver: start-up failed: %s\n", err.message);
        goto out;
    }
    struct controllers_config ccfg = {.nodes = cfg.nodes,
                                      .pod_cidr = cfg.pod_cidr,
                                      .pod_ready_delay = cfg.pod_ready_delay,
                                      .lb_ip_range = cfg.load_balancer_ip_range,
                                      .max_endpoints_per_slice = 100};
    ctl = controllers_start(reg, &ccfg, msg, sizeof(msg));
    if (!ctl) {
        fprintf(stderr, "svc-apiserver: %s\n", msg);
        goto out;
    }
    char *url = server_url(&cfg, port);
    if (cfg.write_kubeconfig && write_kubeconfig(cfg.write_kubeconfig, url)) {
        free(url);
        goto out;
    }
    if (cfg.port_file) {
        char text[16];
        snprintf(text, sizeof(text), "%d\n", port);
        if (write_file(cfg.port_file, text)) {
            free(url);
            goto out;
        }
    }
    rest_server_set_ready(rest, true);
    fprintf(stderr,
            "svc-apiserver %s listening on %s\n"
            "  kubectl:  kubectl -s %s get svc -A%s%s\n"
            "  curl:     curl %s/api/v1/namespaces/default/services\n",
            SVC_VERSION, url, url, cfg.write_kubeconfig ? "   (or KUBECONFIG=" : "",
            cfg.write_kubeconfig ? cfg.write_kubeconfig : "", url);
    if (cfg.write_kubeconfig)
        fprintf(stderr, "%s", " kubectl get svc -A)\n");
    free(url);

    int sig;
    sigwait(&stop, &sig);
    fprintf(stderr, "svc-apiserver: %s, stopping\n", sig == SIGINT ? "interrupted" : "terminated");
    status = 0;
out:
    controllers_stop(ctl);
    if (rest)
        rest_server_shutdown(rest);
    http_stop(http);
    rest_server_free(rest);
    registry_free(reg);
    store_free(store);
    apierr_release(&err);
    config_release(&cfg);
    return status;
}
