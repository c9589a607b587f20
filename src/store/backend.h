/*
 * backend: where the store's commits are made durable (private to src/store/).
 *
 * The store keeps every object in memory and stays the only thing the registry, the REST layer
 * and the watch module talk to; a backend only persists. The store hands it each commit, in
 * revision order, while holding the store lock (so append must only queue, never wait for I/O),
 * then waits outside the lock until the commit is durable before it answers the writer or shows
 * the commit to any reader or watcher. At start the backend replays what it holds into a loader.
 *
 * The write-ahead log in wal.c is the one backend today. Another one (etcd) would implement the
 * same table: append as a transaction put or delete of the key, wait as waiting for the
 * transaction's response, load as a range read plus the revision, and snapshot as a no-op
 * (etcd compacts by itself). The REST layer would not change, since it only sees store.h.
 */
#ifndef SVC_STORE_BACKEND_H
#define SVC_STORE_BACKEND_H

#include "svc/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One commit: a put of the object's serialised bytes, or a deletion, at revision rv. */
struct store_commit {
    uint64_t rv;
    bool deleted;
    const char *key;   /* borrowed for the call */
    const char *bytes; /* the object's JSON as the store serialised it (puts only); borrowed */
    size_t len;
};

/* The store being filled at start-up: backends report each key's latest state into it. */
struct store_loader;

/* key (key_len bytes, no NUL needed) holds bytes (copied) as of revision rv. */
void store_loader_put(struct store_loader *ld, const char *key, size_t key_len, uint64_t rv,
                      const char *bytes, size_t len);
/* key no longer exists as of revision rv. */
void store_loader_delete(struct store_loader *ld, const char *key, size_t key_len);

struct store_backend;

/* Called by the backend, from its own thread, each time the durable revision advances. */
typedef void (*store_durable_fn)(void *ctx, uint64_t durable_rv);

struct store_backend_ops {
    /*
     * Replay the stored state into ld and set *rv to the newest stored revision; afterwards the
     * backend accepts appends. 0, or -1 with a message naming the file and offset at fault.
     */
    int (*load)(struct store_backend *be, struct store_loader *ld, uint64_t *rv, char *msg,
                size_t msg_len);
    /* Queue a commit for durability. Called under the store lock, in revision order. */
    void (*append)(struct store_backend *be, const struct store_commit *c);
    /* Whether the backend wants a copy of the whole state now (called under the store lock). */
    bool (*wants_snapshot)(struct store_backend *be);
    /*
     * The whole state as of revision rv (the last commit appended): n objects in key order,
     * references the backend takes over. Called under the store lock; must not block.
     */
    void (*snapshot)(struct store_backend *be, uint64_t rv, struct store_obj **objs, size_t n);
    /* Block until the commit at rv is durable: 0, or STORE_ERR_IO when it never will be. */
    int (*wait)(struct store_backend *be, uint64_t rv);
    /* The newest revision known durable (every commit up to it is). Lock-free. */
    uint64_t (*durable)(struct store_backend *be);
    /* True once the backend has failed for good: no commit after durable() will succeed. */
    bool (*failed)(struct store_backend *be);
    /* Make everything appended durable, stop the backend's threads and free it. */
    void (*free)(struct store_backend *be);
};

struct store_backend {
    const struct store_backend_ops *ops;
    store_durable_fn on_durable; /* set by the store before load */
    void *durable_ctx;
};

#endif
