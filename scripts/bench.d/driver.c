/*
 * driver: the measurements wrk cannot express, for scripts/bench.
 *
 *   driver load PORT NAMESPACE COUNT PREFIX     create COUNT Services over 8 keep-alive
 *                                                connections; prints creates/s
 *   driver watch PORT WATCHERS WRITES           WATCHERS watches on one namespace; for each of
 *                                                WRITES creates, the time until the last
 *                                                watcher has the event; prints p50 and p99 (ms)
 *   driver start RUNS SERVER [ARGS...]          exec the server RUNS times; the time from exec
 *                                                to /readyz answering 200; prints the median
 *                                                (ms)
 *
 * Plain blocking sockets and epoll: no dependencies beyond libc.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Send a request and read one whole response (Content-Length framed); returns the status. */
static int roundtrip(int fd, const char *method, const char *path, const char *body, char *resp,
                     size_t resp_len)
{
    char req[4096];
    int n = snprintf(req, sizeof(req),
                     "%s %s HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, path, body ? strlen(body) : 0, body ? body : "");
    if (write(fd, req, (size_t)n) != n)
        return -1;
    size_t got = 0;
    long need = -1;
    char *hdr_end = NULL;
    for (;;) {
        ssize_t r = read(fd, resp + got, resp_len - got - 1);
        if (r <= 0)
            return -1;
        got += (size_t)r;
        resp[got] = '\0';
        if (!hdr_end && (hdr_end = strstr(resp, "\r\n\r\n"))) {
            char *cl = strcasestr(resp, "Content-Length:");
            need = (long)(hdr_end + 4 - resp) + (cl ? atol(cl + 15) : 0);
        }
        if (hdr_end && (long)got >= need)
            break;
        if (got + 1 >= resp_len)
            return -1;
    }
    return atoi(resp + 9);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cmd_load(int port, const char *ns, long count, const char *prefix)
{
    enum { CONNS = 8 };
    int fds[CONNS];
    for (int i = 0; i < CONNS; i++)
        if ((fds[i] = dial(port)) < 0)
            return 1;
    char path[256], body[512];
    static char resp[1 << 16];
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/services", ns);
    double t0 = now_ms();
    long failed = 0;
    for (long i = 0; i < count; i++) {
        snprintf(body, sizeof(body),
                 "{\"metadata\":{\"name\":\"%s-%ld\"},\"spec\":{\"ports\":[{\"port\":80}]}}",
                 prefix, i);
        int st = roundtrip(fds[i % CONNS], "POST", path, body, resp, sizeof(resp));
        if (st != 201)
            failed++;
    }
    double dt = now_ms() - t0;
    printf("%.0f %ld\n", (double)count / (dt / 1e3), failed);
    return failed ? 1 : 0;
}

static int cmd_watch(int port, int watchers, int writes)
{
    static char resp[1 << 16];
    int ctl = dial(port);
    if (ctl < 0)
        return 1;
    roundtrip(ctl, "POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"fanout\"}}", resp,
              sizeof(resp));
    if (roundtrip(ctl, "GET", "/api/v1/namespaces/fanout/services?limit=1", NULL, resp,
                  sizeof(resp)) != 200)
        return 1;
    char *rvp = strstr(resp, "\"resourceVersion\":\"");
    long rv = rvp ? atol(rvp + 19) : 0;
    int ep = epoll_create1(0);
    int *fds = calloc((size_t)watchers, sizeof(int));
    char **seen = calloc((size_t)watchers, sizeof(char *));
    size_t *seen_len = calloc((size_t)watchers, sizeof(size_t));
    char req[256];
    int rl = snprintf(req, sizeof(req),
                      "GET /api/v1/namespaces/fanout/services?watch=true&resourceVersion=%ld "
                      "HTTP/1.1\r\nHost: bench\r\n\r\n",
                      rv);
    for (int i = 0; i < watchers; i++) {
        fds[i] = dial(port);
        if (fds[i] < 0 || write(fds[i], req, (size_t)rl) != rl) {
            fprintf(stderr, "watcher %d: %s\n", i, strerror(errno));
            return 1;
        }
        fcntl(fds[i], F_SETFL, O_NONBLOCK);
        struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e);
        seen[i] = malloc(1 << 16);
    }
    usleep(300000); /* let every watch start */
    double *lat = calloc((size_t)writes, sizeof(double));
    char body[256], want[64];
    struct epoll_event evs[256];
    for (int w = 0; w < writes; w++) {
        snprintf(want, sizeof(want), "\"name\":\"f-%d\"", w);
        snprintf(body, sizeof(body),
                 "{\"metadata\":{\"name\":\"f-%d\"},\"spec\":{\"ports\":[{\"port\":80}]}}", w);
        for (int i = 0; i < watchers; i++)
            seen_len[i] = 0;
        int remaining = watchers;
        char *done = calloc((size_t)watchers, 1);
        double t0 = now_ms();
        if (roundtrip(ctl, "POST", "/api/v1/namespaces/fanout/services", body, resp,
                      sizeof(resp)) != 201)
            return 1;
        while (remaining > 0) {
            int n = epoll_wait(ep, evs, 256, 5000);
            if (n <= 0) {
                fprintf(stderr, "timeout: %d watchers did not get write %d\n", remaining, w);
                return 1;
            }
            for (int k = 0; k < n; k++) {
                int i = (int)evs[k].data.u32;
                ssize_t r;
                while ((r = read(fds[i], seen[i] + seen_len[i], (1 << 16) - 1 - seen_len[i])) > 0)
                    seen_len[i] += (size_t)r;
                seen[i][seen_len[i]] = '\0';
                if (!done[i] && memmem(seen[i], seen_len[i], want, strlen(want))) {
                    done[i] = 1;
                    remaining--;
                }
                if (seen_len[i] > (1 << 15))
                    seen_len[i] = 0;
            }
        }
        lat[w] = now_ms() - t0;
        free(done);
    }
    qsort(lat, (size_t)writes, sizeof(double), cmp_double);
    printf("%.2f %.2f\n", lat[writes / 2], lat[(int)((writes - 1) * 0.99)]);
    return 0;
}

static int cmd_start(int runs, char **argv)
{
    double *t = calloc((size_t)runs, sizeof(double));
    char portfile[] = "/tmp/svc-bench-start.XXXXXX";
    int pf = mkstemp(portfile);
    close(pf);
    static char resp[4096];
    for (int r = 0; r < runs; r++) {
        unlink(portfile);
        double t0 = now_ms();
        pid_t pid = fork();
        if (pid == 0) {
            int devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, 1);
            dup2(devnull, 2);
            char *args[64];
            int n = 0;
            for (; argv[n] && n < 58; n++)
                args[n] = argv[n];
            args[n++] = "--port";
            args[n++] = "0";
            args[n++] = "--port-file";
            args[n++] = portfile;
            args[n] = NULL;
            execv(args[0], args);
            _exit(127);
        }
        int port = 0;
        for (;;) {
            FILE *f = fopen(portfile, "r");
            if (f) {
                if (fscanf(f, "%d", &port) == 1 && port > 0) {
                    fclose(f);
                    int fd = dial(port);
                    if (fd >= 0) {
                        int st = roundtrip(fd, "GET", "/readyz", NULL, resp, sizeof(resp));
                        close(fd);
                        if (st == 200)
                            break;
                    }
                } else {
                    fclose(f);
                }
            }
            if (now_ms() - t0 > 60000) {
                kill(pid, SIGKILL);
                return 1;
            }
            usleep(200);
        }
        t[r] = now_ms() - t0;
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    unlink(portfile);
    qsort(t, (size_t)runs, sizeof(double), cmp_double);
    printf("%.2f\n", t[runs / 2]);
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (argc >= 6 && !strcmp(argv[1], "load"))
        return cmd_load(atoi(argv[2]), argv[3], atol(argv[4]), argv[5]);
    if (argc >= 5 && !strcmp(argv[1], "watch"))
        return cmd_watch(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
    if (argc >= 4 && !strcmp(argv[1], "start"))
        return cmd_start(atoi(argv[2]), argv + 3);
    fprintf(stderr, "usage: driver load|watch|start ...\n");
    return 2;
}
