/*
 * http server: libmicrohttpd with its internal epoll thread pool (kubectl opens several
 * connections at once and keeps them alive), suspend/resume for watch streams.
 *
 * Per-request state lives in *req_cls from the URI-log callback (which sees the raw target, so
 * we decode the query ourselves: MHD does not turn '+' into a space) to the completion
 * callback, as libmicrohttpd's examples do. A stream answer is pulled by MHD's content-reader
 * callback; when the stream has nothing, the connection is suspended and the stream's waker
 * resumes it: no polling, no thread per watch.
 */
#include "svc/http.h"

#include "svc/apierr.h"
#include "svc/rest.h"
#include "svc/strbuf.h"
#include "svc/tree_arena.h"
#include "svc/util.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

struct http_server {
    struct MHD_Daemon *daemon;
    struct rest_server *rest;
    struct http_config cfg;
    int port;
};

/* The state of one request, from its first byte to its completion. */
struct request_state {
    struct http_server *srv;
    char *target;       /* the raw request target */
    struct strbuf body; /* limited to cfg.max_body */
    bool started;       /* the first (headers only) call happened */
    bool too_large;
    bool answered;
    uint64_t start_us;
};

/* A streamed answer's link between MHD and the stream. */
struct stream_state {
    struct http_server *srv;
    struct MHD_Connection *conn;
    struct rest_stream *stream;
    pthread_mutex_t lock;
    bool suspended;
    bool wake_pending;
};

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)conn;
    struct http_server *srv = cls;
    struct request_state *st = xcalloc(1, sizeof(*st));
    st->srv = srv;
    st->target = xstrdup(uri ? uri : "/");
    strbuf_init(&st->body, srv->cfg.max_body);
    st->start_us = util_monotonic_us();
    return st;
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct request_state *st = *req_cls;
    if (!st)
        return;
    strbuf_release(&st->body);
    free(st->target);
    free(st);
    *req_cls = NULL;
}

static void stream_wake(void *ctx)
{
    struct stream_state *ss = ctx;
    pthread_mutex_lock(&ss->lock);
    if (ss->suspended) {
        ss->suspended = false;
        MHD_resume_connection(ss->conn);
    } else {
        ss->wake_pending = true;
    }
    pthread_mutex_unlock(&ss->lock);
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct stream_state *ss = cls;
    ssize_t n = ss->stream->ops->read(ss->stream, buf, max);
    if (n > 0)
        return n;
    if (n == REST_STREAM_END)
        return MHD_CONTENT_READER_END_OF_STREAM;
    pthread_mutex_lock(&ss->lock);
    if (ss->wake_pending) {
        /* Woken between the read and now: look again on the next round. */
        ss->wake_pending = false;
    } else {
        ss->suspended = true;
        MHD_suspend_connection(ss->conn);
    }
    pthread_mutex_unlock(&ss->lock);
    return 0;
}

static void stream_free(void *cls)
{
    struct stream_state *ss = cls;
    ss->stream->ops->free(ss->stream);
    pthread_mutex_destroy(&ss->lock);
    free(ss);
}

static void log_request(const struct http_server *srv, struct MHD_Connection *conn,
                        const char *method, const struct request_state *st, int status)
{
    if (srv->cfg.verbosity < 1)
        return;
    const char *ua = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "User-Agent");
    fprintf(stderr, "%s %s %d %lluus \"%s\"\n", method, st->target, status,
            (unsigned long long)(util_monotonic_us() - st->start_us), ua ? ua : "");
}

static enum MHD_Result queue(struct MHD_Connection *conn, struct http_server *srv,
                             struct rest_response *resp)
{
    struct MHD_Response *r;
    if (resp->stream) {
        struct stream_state *ss = xcalloc(1, sizeof(*ss));
        ss->srv = srv;
        ss->conn = conn;
        ss->stream = resp->stream;
        resp->stream = NULL;
        pthread_mutex_init(&ss->lock, NULL);
        ss->stream->ops->set_waker(ss->stream, stream_wake, ss);
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_reader, ss,
                                              stream_free);
    } else {
        size_t len;
        char *body = strbuf_detach(&resp->body, &len);
        r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    }
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    if (!json_object_get(resp->headers, "Cache-Control"))
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache, private");
    const char *hname;
    json_t *hval;
    json_object_foreach (resp->headers, hname, hval) {
        MHD_add_response_header(r, hname, json_string_value(hval));
    }
    size_t i;
    json_t *w;
    json_array_foreach (resp->warnings, i, w) {
        /* Warning: 299 - "text", with the text quoted as RFC 7234 wants it. */
        struct strbuf sb;
        strbuf_init(&sb, STRBUF_NO_LIMIT);
        strbuf_addstr(&sb, "299 - \"");
        for (const char *p = json_string_value(w); *p; p++) {
            if (*p == '"' || *p == '\\')
                strbuf_addch(&sb, '\\');
            strbuf_addch(&sb, *p);
        }
        strbuf_addch(&sb, '"');
        MHD_add_response_header(r, "Warning", strbuf_str(&sb));
        strbuf_release(&sb);
    }
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result too_large(struct MHD_Connection *conn, struct request_state *st,
                                 const char *method)
{
    struct apierr err;
    struct rest_response resp;
    apierr_init(&err);
    rest_response_init(&resp);
    apierr_simple(&err, APIERR_TOO_LARGE, "Request entity too large: limit is %zu",
                  st->srv->cfg.max_body);
    rest_respond_error(&resp, &err);
    st->answered = true;
    log_request(st->srv, conn, method, st, resp.status);
    enum MHD_Result ret = queue(conn, st->srv, &resp);
    rest_response_release(&resp);
    apierr_release(&err);
    return ret;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **req_cls)
{
    (void)url;
    (void)version;
    struct http_server *srv = cls;
    struct request_state *st = *req_cls;
    if (!st) /* no URI-log call happened: cannot be, but stay safe */
        *req_cls = st = uri_log(srv, url, conn);
    if (st->answered) {
        *upload_data_size = 0; /* the rest of an over-long body is discarded */
        return MHD_YES;
    }
    if (!st->started) {
        /* The first call carries only the headers: refuse an announced body that is too
           large before it arrives; otherwise wait for the body and the final call. */
        st->started = true;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > srv->cfg.max_body)
            return too_large(conn, st, method);
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (strbuf_add(&st->body, upload_data, *upload_data_size))
            st->too_large = true;
        *upload_data_size = 0;
        if (st->too_large)
            return too_large(conn, st, method);
        return MHD_YES;
    }
    /* A write's trees live in this thread's arena until its answer is queued. Reads are left
       out: a watch's stream outlives the call. */
    bool arena = strcmp(method, "GET") && strcmp(method, "HEAD");
    if (arena)
        tree_arena_begin();
    struct rest_request req = {0};
    struct rest_response resp;
    rest_response_init(&resp);
    req.method = method;
    req.accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept");
    req.content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    req.user_agent = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "User-Agent");
    req.body = st->body.buf;
    req.body_len = st->body.len;
    if (rest_request_parse_target(&req, st->target)) {
        struct apierr err;
        apierr_init(&err);
        apierr_simple(&err, APIERR_BAD_REQUEST, "malformed request target");
        rest_respond_error(&resp, &err);
        apierr_release(&err);
    } else {
        rest_handle(srv->rest, &req, &resp);
    }
    st->answered = true;
    log_request(srv, conn, method, st, resp.status);
    enum MHD_Result ret = queue(conn, srv, &resp);
    rest_request_release(&req);
    rest_response_release(&resp);
    if (arena)
        tree_arena_end();
    return ret;
}

static int fill_addr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof(*a4);
        return AF_INET;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*a6);
        return AF_INET6;
    }
    return -1;
}

/*
 * How many connections to accept at once. Every watcher holds one for as long as it watches,
 * so the limit follows the descriptors the process may open (main raises RLIMIT_NOFILE to its
 * hard limit), less a reserve for the listening socket, epoll, the data directory's files and
 * the clients the controllers need; past it libmicrohttpd stops accepting until a connection
 * closes, instead of failing accept() with EMFILE.
 */
static unsigned connection_limit(void)
{
    struct rlimit rl;
    unsigned limit = 60000;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        rlim_t usable = rl.rlim_cur > 256 ? rl.rlim_cur - 128 : rl.rlim_cur / 2;
        if (usable < limit)
            limit = (unsigned)usable;
    }
    return limit ? limit : 1;
}

struct http_server *http_start(const struct http_config *cfg, struct rest_server *rest, char *msg,
                               size_t msg_len)
{
    struct http_server *srv = xcalloc(1, sizeof(*srv));
    struct sockaddr_storage addr;
    socklen_t alen;
    srv->rest = rest;
    srv->cfg = *cfg;
    int family = fill_addr(cfg->bind_address, cfg->port, &addr, &alen);
    if (family < 0) {
        snprintf(msg, msg_len, "--bind-address: %s is not an IP address", cfg->bind_address);
        free(srv);
        return NULL;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     (family == AF_INET6 ? MHD_USE_IPv6 : 0);
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, access_handler, srv, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)(cfg->threads ? cfg->threads : 4), MHD_OPTION_URI_LOG_CALLBACK, uri_log, srv,
        MHD_OPTION_NOTIFY_COMPLETED, request_completed, srv, MHD_OPTION_CONNECTION_LIMIT,
        connection_limit(), MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024), MHD_OPTION_END);
    if (!srv->daemon) {
        snprintf(msg, msg_len, "cannot listen on %s port %d", cfg->bind_address, cfg->port);
        free(srv);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : cfg->port;
    return srv;
}

int http_port(const struct http_server *srv)
{
    return srv->port;
}

void http_stop(struct http_server *srv)
{
    if (!srv)
        return;
    /* Streams were ended by the REST server's shutdown; stop accepting, then close. */
    MHD_quiesce_daemon(srv->daemon);
    MHD_stop_daemon(srv->daemon);
    free(srv);
}
