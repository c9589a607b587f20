/*
 * http: the libmicrohttpd glue. Reads each request (headers, the raw target, a body bounded by
 * max_body), hands it to rest_handle, and sends the answer: a buffer, or a stream (watch) that
 * is pulled chunk by chunk and whose connection is suspended while it has nothing to send, and
 * resumed by the stream's waker. The only module that sees libmicrohttpd.
 */
#ifndef SVC_HTTP_H
#define SVC_HTTP_H

#include <stddef.h>

struct rest_server;

struct http_config {
    const char *bind_address; /* "127.0.0.1", "0.0.0.0", "::1", ... */
    int port;                 /* 0 picks a free port */
    unsigned threads;         /* worker threads of the epoll pool */
    size_t max_body;          /* bodies larger than this get 413 */
    int verbosity;            /* >= 1: one log line per request on stderr */
};

struct http_server;

/* Start serving; NULL with msg filled when the address cannot be bound. */
struct http_server *http_start(const struct http_config *cfg, struct rest_server *rest, char *msg,
                               size_t msg_len);
/* The port actually bound. */
int http_port(const struct http_server *srv);
/* Stop accepting, end open streams, close every connection, free srv. */
void http_stop(struct http_server *srv);

#endif
