/*
 * store: the revisioned object map every request and controller reads and writes.
 *
 * Objects are immutable once committed: a write hands in a new jansson tree, the store stamps
 * it with the next value of the one global resourceVersion counter (as an etcd revision),
 * serialises it once, and keeps the bytes beside the tree so GET and LIST copy bytes and never
 * re-serialise. Every commit is appended to an event log of bounded size (the watch cache) that
 * watchers and controllers read from any revision still in it. Readers hold references to
 * committed objects, so the store lock is held only for the in-memory commit, never for I/O.
 * With --data-dir a backend (src/store/backend.h: the write-ahead log of wal.h) makes each commit
 * durable before anyone sees it; the REST layer cannot tell the difference but for the latency.
 * Keys are "<resource>[.<group>]/<namespace>/<name>" (or "<resource>/<name>" for cluster-scoped
 * kinds), compared bytewise, so a namespace or a whole resource is a key range.
 * The store knows nothing about Services, HTTP or JSON beyond metadata.resourceVersion.
 */
#ifndef SVC_STORE_H
#define SVC_STORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct json_t json_t;

/*
 * A committed object. Shared and immutable: take a reference to keep it.
 *
 * The bytes are the object; its tree is derived from them on demand (store_obj_json) and kept
 * only while it is likely to be used again: the store frees the trees of objects nobody but the
 * store itself references once more than STORE_TREE_BUDGET of them are kept, so that memory
 * grows with the serialised size of the data and not with jansson's several-times larger trees.
 */
struct store_obj {
    atomic_int refs;
    atomic_int log_refs;    /* how many of refs the event log holds (store-private) */
    bool in_map;            /* one of refs is the map's (store-private, under the store lock) */
    uint64_t rv;            /* the object's resourceVersion */
    _Atomic(json_t *) tree; /* private: use store_obj_json() */
    char *bytes;            /* the object serialised compactly (kind and apiVersion first) */
    size_t len;
    size_t body_off; /* "{" + bytes[body_off..] is the object without kind and apiVersion,
                        as list items are written */
    char *key;
};

/* How many objects in the map or the event log may keep their tree at once (more are freed
   as soon as no reader holds them). */
#define STORE_TREE_BUDGET 4096

/*
 * The object as a jansson tree, metadata.resourceVersion included: parsed from the bytes on
 * first use and shared. Borrowed: valid while the caller holds a reference to obj. Never
 * modify it (copy it first). Thread-safe.
 */
json_t *store_obj_json(const struct store_obj *obj);

struct store_obj *store_obj_ref(struct store_obj *obj);
void store_obj_unref(struct store_obj *obj);
/* Build a detached object (not in any store) from json (stolen), e.g. for dry-run answers. */
struct store_obj *store_obj_new(const char *key, json_t *json, uint64_t rv);

enum store_event_type { STORE_ADDED, STORE_MODIFIED, STORE_DELETED };

struct store_event {
    uint64_t rv;
    enum store_event_type type;
    struct store_obj *obj;  /* the new state; for DELETED the last state stamped with the
                               deletion's resourceVersion; a reference */
    struct store_obj *prev; /* the state before (NULL for ADDED); a reference */
};
/* Drop the references an event holds. */
void store_event_release(struct store_event *ev);

enum {
    STORE_OK = 0,
    STORE_ERR_EXISTS = -1,    /* create of a key that exists */
    STORE_ERR_NOT_FOUND = -2, /* update or delete of a key that does not exist */
    STORE_ERR_CONFLICT = -3,  /* expect_rv did not match */
    STORE_ERR_EXPIRED = -4,   /* the revision asked for is older than the event log */
    STORE_ERR_IO = -5,        /* the persistence backend failed */
    STORE_ERR_TOO_NEW = -6,   /* the revision asked for is newer than the store */
};

struct fileio;

/* A line of text for the operator (no trailing newline). */
typedef void (*store_log_fn)(void *ctx, const char *line);

struct store_config {
    size_t event_log_size; /* events kept for watches (--watch-cache-size) */
    /* Persistence (see include/svc/wal.h); all unset: memory only. */
    const char *data_dir;        /* --data-dir: the write-ahead log and snapshots live here */
    uint64_t snapshot_threshold; /* --snapshot-threshold: log bytes before a snapshot; 0: 64 MiB */
    struct fileio *io;           /* the directory's file operations instead of the real file
                                    system at data_dir (tests: a simulated disk); borrowed */
    store_log_fn log;            /* notes at start-up (a torn log tail was cut); NULL: stderr */
    void *log_ctx;
    /* The log could not be written or synced. NULL (the server): print it and end the process,
       since nothing after it can be acknowledged. Tests set it and see STORE_ERR_IO instead. */
    store_log_fn on_io_error;
    void *io_error_ctx;
};

struct store;

/* Free trees over the budget now (writes do it as they go; a reader that touched many objects
   without writing, such as a controller's resync, calls this when it is done). */
void store_trim(struct store *st);

/*
 * The parse log of a thread that reads many objects once, such as the controllers: between
 * begin and end, the trees this thread's store_obj_json calls parse are noted, and flush (and
 * end) free those of objects nobody else holds by then. They go while still in the cache, from
 * the thread that made them, instead of reaching the budget's sweep cold. Does not nest.
 */
void store_parse_log_begin(void);
void store_parse_log_flush(struct store *st);
void store_parse_log_end(struct store *st);

/*
 * Open a store: in memory, or with data_dir (or io) set, loaded from the snapshot and log there
 * and made durable from then on. Start-up takes the directory's lock, loads the newest snapshot,
 * replays the log after it (cutting a torn last record, with a note), and continues the
 * resourceVersions from the last one stored; the event log starts empty, so watches from before
 * the start get STORE_ERR_EXPIRED. NULL with a message (naming the file and offset at fault) when
 * the directory is locked by another server or damaged: never a start on silently lost data.
 *
 * With persistence every write returns only once durable, and no reader or watcher sees a
 * commit before it is durable: a read that would show one waits for it (at most one flush).
 */
struct store *store_open(const struct store_config *cfg, char *msg, size_t msg_len);
/* store_open for a store in memory (cfg->data_dir and cfg->io unset), which cannot fail. */
struct store *store_new(const struct store_config *cfg);
/* Make every write durable, stop the store's threads and free it (NULL-safe). */
void store_free(struct store *st);

/* The current revision: the resourceVersion of the newest commit (with persistence: the newest
   durable one, the newest any reader may see). */
uint64_t store_revision(struct store *st);
/* The oldest revision a watch or list can start from (events after it are all kept). After a
   restart: the revision the store was loaded at. */
uint64_t store_oldest_revision(struct store *st);
/* Number of objects under a key prefix. */
size_t store_count(struct store *st, const char *prefix);

/* The object under key, a new reference, or NULL (also when the commit it would show can never
   be made durable). */
struct store_obj *store_get(struct store *st, const char *key);

typedef bool (*store_filter_fn)(void *ctx, const struct store_obj *obj);

struct store_list_opts {
    const char *prefix;      /* key range to list */
    const char *start_after; /* resume after this key (a continue token's key), or NULL */
    size_t limit;            /* at most this many items; 0 for all */
    store_filter_fn filter;  /* keep only objects it accepts; NULL for all */
    void *filter_ctx;
    uint64_t at_rv; /* list as of this revision (must still be in the event log);
                       0 for the current state */
};

struct store_list_result {
    struct store_obj **items; /* references, in key order */
    size_t n;
    uint64_t rv;         /* the revision the list reflects */
    bool more;           /* more matching items follow the last one */
    long long remaining; /* objects after the last item, ignoring the filter; -1 unknown */
};

/* List a key range; 0, or STORE_ERR_EXPIRED / STORE_ERR_TOO_NEW for a bad at_rv (or
   STORE_ERR_IO when the commits listed can never be made durable). */
int store_list(struct store *st, const struct store_list_opts *opts, struct store_list_result *out);
void store_list_result_release(struct store_list_result *res);

enum store_op { STORE_OP_CREATE, STORE_OP_UPDATE, STORE_OP_DELETE };

struct store_write {
    enum store_op op;
    const char *key;
    json_t *obj;        /* CREATE and UPDATE: the new object, stolen (even on failure) */
    uint64_t expect_rv; /* UPDATE and DELETE: the revision the change was based on; 0: any */
};

/*
 * Commit one write. On success *result (may be NULL) gets a reference to the committed object
 * (for DELETE: the object as it was, with its old resourceVersion) and *prev (may be NULL) one to
 * the previous state. Returns STORE_OK or a STORE_ERR_* code; nothing changes on failure. With
 * persistence it returns once the commit is durable (concurrent writers share one sync), or
 * STORE_ERR_IO when it cannot be made durable.
 */
int store_write(struct store *st, struct store_write *w, struct store_obj **result,
                struct store_obj **prev);

/*
 * Copy up to max events with rv > after_rv into out (references; release each). Returns the
 * number copied, or STORE_ERR_EXPIRED when events after after_rv were already dropped.
 */
long store_events_since(struct store *st, uint64_t after_rv, struct store_event *out, size_t max);

/* Called after every commit (with persistence: once it is durable, on the log's thread), outside
   the store lock, with the new revision. It must not block nor call back into the store. */
typedef void (*store_listener_fn)(void *ctx, uint64_t rv);
/* Register a listener (at start-up, before concurrent use). */
void store_add_listener(struct store *st, store_listener_fn fn, void *ctx);

#endif
