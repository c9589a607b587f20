/*
 * wal: the write-ahead log backend of the store (see include/svc/wal.h and backend.h).
 *
 * Group commit: append only encodes the record into the pending batch under the store lock. One
 * flusher thread takes the whole batch, writes it with one call, syncs once and then publishes
 * the batch's last revision as durable, waking every writer and reader waiting for a revision up
 * to it. While it syncs, new commits gather in the next batch, so the number of syncs per second
 * stays bounded by the disk and throughput grows with the number of concurrent writers.
 *
 * Crash safety rests on four orderings: a record is acknowledged only after the sync that covers
 * it; a new segment is created and the directory synced only after the old segment is synced,
 * so only the newest segment can end in a torn record; a snapshot is renamed into place only
 * after its bytes are synced and every revision it holds is durable in the log; and old segments
 * and snapshots are removed only after the directory sync that made the new snapshot durable.
 *
 * Depends on fileio, walrec, snapshot, strbuf, util and the store's backend.h.
 */
#include "svc/wal.h"

#include "backend.h"
#include "svc/fileio.h"
#include "svc/strbuf.h"
#include "svc/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct wal {
    struct store_backend base;
    struct fileio *io; /* borrowed */
    struct wal_config cfg;

    pthread_mutex_t mu;    /* guards everything below but durable and the flusher's own fields */
    pthread_cond_t work;   /* the flusher: a batch or a rotation is waiting */
    pthread_cond_t done;   /* durable advanced, a rotation finished, or the log failed */
    struct strbuf pending; /* encoded records the flusher has not taken yet */
    uint64_t pending_rv;   /* revision of the newest record appended */
    uint64_t taken_rv;     /* revision of the newest record the flusher took */
    bool rotate;           /* a rotation is queued: the records in pending[0, rotate_off) */
    size_t rotate_off;     /* belong to the old segment, the rest to the new one */
    uint64_t rotate_first_rv;
    uint64_t seg_first_rv; /* first revision of the segment on disk being appended to */
    uint64_t log_bytes;    /* bytes appended since the last snapshot was asked for */
    bool stopping;
    bool failed; /* sticky: a write or sync failed */
    _Atomic uint64_t durable;

    /* The flusher's own: the open segment. */
    int seg_fd;
    char seg_name[WAL_NAME_MAX];
    pthread_t flusher;
    bool flusher_started;

    /* The snapshot in progress (snap_busy), handed to its thread. */
    bool snap_busy;
    bool snap_joinable;
    pthread_t snap_thread;
    uint64_t snap_rv;
    struct store_obj **snap_objs;
    size_t snap_n;
};

static struct wal *wal_of(struct store_backend *be)
{
    return (struct wal *)be;
}

static void note(struct wal *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct wal *w, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (w->cfg.log)
        w->cfg.log(w->cfg.log_ctx, line);
    else
        fprintf(stderr, "svc-apiserver: %s\n", line);
}

/* ---- the flusher ----------------------------------------------------------------------------- */

/* Write bytes to the open segment and sync it; 0, or -errno with the step in *step. */
static int write_sync(struct wal *w, const char *bytes, size_t len, const char **step)
{
    struct fileio *io = w->io;
    if (!len)
        return 0;
    *step = "write";
    long n = io->ops->write(io, w->seg_fd, bytes, len);
    if (n < 0)
        return (int)n;
    *step = "fdatasync";
    return io->ops->sync(io, w->seg_fd);
}

/* Everything up to rv is durable: tell the waiters, then the store's listeners. */
static void publish(struct wal *w, uint64_t rv)
{
    pthread_mutex_lock(&w->mu);
    bool advanced = rv > atomic_load(&w->durable);
    if (advanced)
        atomic_store(&w->durable, rv);
    pthread_cond_broadcast(&w->done);
    pthread_mutex_unlock(&w->mu);
    if (advanced && w->base.on_durable)
        w->base.on_durable(w->base.durable_ctx, rv);
}

/* Make one batch durable, rotating to a new segment at rot_off when rot is set. */
static int flush_batch(struct wal *w, const struct strbuf *b, bool rot, size_t rot_off,
                       uint64_t rot_first, const char **step)
{
    struct fileio *io = w->io;
    int rc = write_sync(w, b->buf, rot ? rot_off : b->len, step);
    if (rc || !rot)
        return rc;
    /* Those records are durable now, whatever happens to the rotation: acknowledge them, or a
       failure below would answer an error for a write that a restart shows. */
    publish(w, rot_first - 1);
    /* The old segment is complete and durable: only now may a newer one exist. */
    io->ops->close(io, w->seg_fd);
    w->seg_fd = -1;
    wal_segment_name(rot_first, w->seg_name);
    *step = "create";
    rc = io->ops->open(io, w->seg_name, FILEIO_CREATE);
    if (rc < 0)
        return rc;
    w->seg_fd = rc;
    *step = "sync the directory after creating";
    if ((rc = io->ops->sync_dir(io)))
        return rc;
    return write_sync(w, b->buf + rot_off, b->len - rot_off, step);
}

static void fail(struct wal *w, const char *step, int err)
{
    char line[512];
    snprintf(line, sizeof(line),
             "write-ahead log %s/%s: %s failed: %s; no write after resourceVersion %llu can be "
             "acknowledged",
             w->io->dir, w->seg_name, step, strerror(-err),
             (unsigned long long)atomic_load(&w->durable));
    if (w->cfg.on_failure) {
        w->cfg.on_failure(w->cfg.failure_ctx, line);
        return;
    }
    /* Fail-stop, as etcd and PostgreSQL do on a failed sync: the commits waiting here are in
       memory only, and retrying a failed fsync cannot tell what reached the disk. */
    fprintf(stderr, "svc-apiserver: %s; stopping\n", line);
    _exit(1);
}

static void *flusher_main(void *arg)
{
    struct wal *w = arg;
    struct strbuf batch;
    strbuf_init(&batch, STRBUF_NO_LIMIT);
    uint64_t gather = 0, gather_us = 0; /* see below */
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->pending.len && !w->rotate && !w->stopping)
            pthread_cond_wait(&w->work, &w->mu);
        if (!w->pending.len && !w->rotate)
            break; /* stopping, and everything appended is durable */
        /* Gathering: the writers the last sync released, and those that queued during it, are
           likely to commit again within a sync's time. Waiting up to that long for them (never
           more than 2 ms) fills the batch instead of syncing a few now and the rest at once
           after; a lone writer (gather 1) never waits. */
        if (w->pending_rv - w->taken_rv < gather && !w->stopping && !w->rotate) {
            uint64_t deadline = util_monotonic_us() + gather_us;
            while (w->pending_rv - w->taken_rv < gather && !w->stopping && !w->rotate) {
                uint64_t now = util_monotonic_us();
                if (now >= deadline)
                    break;
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                uint64_t ns = (uint64_t)ts.tv_nsec + (deadline - now) * 1000;
                ts.tv_sec += (time_t)(ns / 1000000000);
                ts.tv_nsec = (long)(ns % 1000000000);
                pthread_cond_timedwait(&w->work, &w->mu, &ts);
            }
        }
        struct strbuf tmp = batch;
        batch = w->pending;
        w->pending = tmp;
        uint64_t target = w->pending_rv;
        uint64_t batch_n = target - w->taken_rv;
        w->taken_rv = target;
        uint64_t started = util_monotonic_us();
        bool rot = w->rotate;
        size_t rot_off = w->rotate_off;
        uint64_t rot_first = w->rotate_first_rv;
        w->rotate = false;
        bool failed = w->failed;
        pthread_mutex_unlock(&w->mu);

        const char *step = "write";
        int rc = failed ? 0 : flush_batch(w, &batch, rot, rot_off, rot_first, &step);
        strbuf_reset(&batch);
        uint64_t took = util_monotonic_us() - started;

        pthread_mutex_lock(&w->mu);
        gather = batch_n + (w->pending_rv - w->taken_rv);
        gather_us = took < 2000 ? took : 2000;
        if (failed) {
            continue; /* nothing reaches the disk after a failure */
        } else if (rc) {
            w->failed = true;
            pthread_cond_broadcast(&w->done);
            pthread_mutex_unlock(&w->mu);
            fail(w, step, rc);
            pthread_mutex_lock(&w->mu);
        } else {
            if (rot)
                w->seg_first_rv = rot_first;
            pthread_mutex_unlock(&w->mu);
            publish(w, target);
            pthread_mutex_lock(&w->mu);
        }
    }
    pthread_mutex_unlock(&w->mu);
    strbuf_release(&batch);
    return NULL;
}

/* ---- the backend operations ------------------------------------------------------------------ */

static void wal_append(struct store_backend *be, const struct store_commit *c)
{
    struct wal *w = wal_of(be);
    struct wal_rec rec = {.type = c->deleted ? WAL_REC_DELETE : WAL_REC_PUT,
                          .rv = c->rv,
                          .key = c->key,
                          .key_len = strlen(c->key),
                          .value = c->deleted ? "" : c->bytes,
                          .value_len = c->deleted ? 0 : c->len};
    pthread_mutex_lock(&w->mu);
    if (!w->failed) {
        size_t before = w->pending.len;
        wal_rec_encode(&w->pending, &rec);
        w->log_bytes += w->pending.len - before;
        w->pending_rv = c->rv;
        pthread_cond_signal(&w->work);
    }
    pthread_mutex_unlock(&w->mu);
}

static bool wal_wants_snapshot(struct store_backend *be)
{
    struct wal *w = wal_of(be);
    pthread_mutex_lock(&w->mu);
    bool want =
        !w->failed && !w->snap_busy && !w->stopping && w->log_bytes >= w->cfg.snapshot_threshold;
    pthread_mutex_unlock(&w->mu);
    return want;
}

static int wal_wait(struct store_backend *be, uint64_t rv)
{
    struct wal *w = wal_of(be);
    if (atomic_load(&w->durable) >= rv)
        return 0;
    pthread_mutex_lock(&w->mu);
    while (atomic_load(&w->durable) < rv && !w->failed)
        pthread_cond_wait(&w->done, &w->mu);
    int rc = atomic_load(&w->durable) >= rv ? 0 : STORE_ERR_IO;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

static uint64_t wal_durable(struct store_backend *be)
{
    return atomic_load(&wal_of(be)->durable);
}

static bool wal_failed(struct store_backend *be)
{
    struct wal *w = wal_of(be);
    pthread_mutex_lock(&w->mu);
    bool failed = w->failed;
    pthread_mutex_unlock(&w->mu);
    return failed;
}

/* ---- snapshots ------------------------------------------------------------------------------- */

static void release_objs(struct store_obj **objs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_obj_unref(objs[i]);
    free(objs);
}

/* Remove the segments and snapshots that the durable snapshot of revision rv replaces. */
static void remove_replaced(struct wal *w, uint64_t rv)
{
    struct fileio *io = w->io;
    char **names;
    size_t n;
    if (io->ops->list(io, &names, &n))
        return;
    bool removed = false;
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        /* A segment that starts at or before rv + 1 is older than the one begun at rv + 1 (which
           exists: the snapshot waited for it), so all its records are in the snapshot. */
        if ((!wal_parse_segment_name(names[i], &v) && v < rv + 1) ||
            (!wal_parse_snapshot_name(names[i], &v) && v < rv)) {
            if (io->ops->unlink(io, names[i]) == 0)
                removed = true;
        }
        free(names[i]);
    }
    free(names);
    /* Not needed for safety (a file that comes back is skipped and removed at start), but it
       keeps the directory from growing across crashes. */
    if (removed)
        io->ops->sync_dir(io);
}

static void *snapshot_main(void *arg)
{
    struct wal *w = arg;
    pthread_mutex_lock(&w->mu);
    uint64_t rv = w->snap_rv;
    struct store_obj **objs = w->snap_objs;
    size_t n = w->snap_n;
    /* The snapshot may only replace log that is durable, and the next segment must exist. */
    while (!w->failed && (atomic_load(&w->durable) < rv || w->seg_first_rv < rv + 1))
        pthread_cond_wait(&w->done, &w->mu);
    bool ok = !w->failed;
    pthread_mutex_unlock(&w->mu);
    if (ok) {
        char msg[512];
        if (wal_snapshot_write(w->io, rv, objs, n, msg, sizeof(msg)))
            note(w, "%s; the log is kept and a snapshot is tried again later", msg);
        else
            remove_replaced(w, rv);
    }
    release_objs(objs, n);
    pthread_mutex_lock(&w->mu);
    w->snap_objs = NULL;
    w->snap_busy = false;
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void wal_snapshot(struct store_backend *be, uint64_t rv, struct store_obj **objs, size_t n)
{
    struct wal *w = wal_of(be);
    pthread_mutex_lock(&w->mu);
    if (w->snap_busy || w->failed || w->stopping) {
        pthread_mutex_unlock(&w->mu);
        release_objs(objs, n);
        return;
    }
    /* Everything appended so far stays in the current segment; later commits start the next. */
    w->rotate = true;
    w->rotate_off = w->pending.len;
    w->rotate_first_rv = rv + 1;
    w->log_bytes = 0;
    w->snap_busy = true;
    pthread_cond_signal(&w->work);
    bool joinable = w->snap_joinable;
    w->snap_joinable = false;
    pthread_mutex_unlock(&w->mu);
    if (joinable)
        pthread_join(w->snap_thread, NULL); /* finished: snap_busy was false */
    pthread_mutex_lock(&w->mu);
    w->snap_rv = rv;
    w->snap_objs = objs;
    w->snap_n = n;
    if (pthread_create(&w->snap_thread, NULL, snapshot_main, w) == 0) {
        w->snap_joinable = true;
    } else {
        w->snap_objs = NULL;
        w->snap_busy = false;
        pthread_mutex_unlock(&w->mu);
        note(w, "cannot start a thread to write a snapshot; the log is kept");
        release_objs(objs, n);
        return;
    }
    pthread_mutex_unlock(&w->mu);
}

/* ---- start-up: replay ------------------------------------------------------------------------ */

struct replay {
    struct wal *w;
    struct store_loader *ld;
    uint64_t snap_rv;  /* revisions up to this are in the snapshot */
    uint64_t expected; /* the revision the next record must have */
    char *msg;
    size_t msg_len;
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int put_from_snapshot(void *ctx, const struct wal_rec *rec)
{
    store_loader_put(ctx, rec->key, rec->key_len, rec->rv, rec->value, rec->value_len);
    return 0;
}

/* The offset of a valid record after off, or 0 when there is none. */
static size_t valid_record_after(const char *buf, size_t len, size_t off)
{
    for (size_t p = off + 1; p + WAL_REC_HEADER <= len; p++) {
        /* Cheap tests first: the zero byte and the type of a log record's header. */
        if (buf[p + 19] != 0 || (buf[p + 18] != WAL_REC_PUT && buf[p + 18] != WAL_REC_DELETE))
            continue;
        struct wal_rec rec;
        size_t rec_len;
        if (wal_rec_decode(buf + p, len - p, &rec, &rec_len) == WAL_DECODE_OK)
            return p;
    }
    return 0;
}

/*
 * Replay one segment. *valid_end gets the length of its valid prefix. A bad record ends the
 * replay quietly only in the last segment and only when nothing valid follows it (a torn
 * write); anywhere else it is damage that would lose acknowledged writes: -1 with a message.
 */
static int replay_segment(struct replay *r, const char *name, bool last, size_t *valid_end,
                          size_t *file_len)
{
    struct fileio *io = r->w->io;
    char *buf;
    size_t len;
    int rc = wal_read_file(io, name, &buf, &len);
    if (rc) {
        snprintf(r->msg, r->msg_len, "cannot read %s/%s: %s", io->dir, name, strerror(-rc));
        return -1;
    }
    *file_len = len;
    size_t off = 0;
    rc = 0;
    while (off < len) {
        struct wal_rec rec;
        size_t rec_len;
        int d = wal_rec_decode(buf + off, len - off, &rec, &rec_len);
        if (d == WAL_DECODE_OK && rec.type != WAL_REC_END) {
            if (rec.rv != r->expected) {
                snprintf(r->msg, r->msg_len,
                         "%s/%s: the record at offset %zu has resourceVersion %llu where %llu "
                         "was expected: the log is damaged; refusing to start",
                         io->dir, name, off, (unsigned long long)rec.rv,
                         (unsigned long long)r->expected);
                rc = -1;
                break;
            }
            if (rec.rv > r->snap_rv) {
                if (rec.type == WAL_REC_PUT)
                    store_loader_put(r->ld, rec.key, rec.key_len, rec.rv, rec.value, rec.value_len);
                else
                    store_loader_delete(r->ld, rec.key, rec.key_len);
            }
            r->expected++;
            off += rec_len;
            continue;
        }
        const char *what = d == WAL_DECODE_SHORT ? "truncated" : "corrupt";
        size_t next = last ? valid_record_after(buf, len, off) : 0;
        if (!last || next) {
            char where[96];
            if (next)
                snprintf(where, sizeof(where), ", followed by a valid record at offset %zu", next);
            else
                snprintf(where, sizeof(where), " in a segment that is not the newest");
            snprintf(r->msg, r->msg_len,
                     "%s/%s: %s record at offset %zu%s: acknowledged writes after it would be "
                     "lost; refusing to start (restore the file, or move it away to accept the "
                     "loss)",
                     io->dir, name, what, off, where);
            rc = -1;
            break;
        }
        break; /* a torn tail: the caller cuts it */
    }
    *valid_end = off;
    free(buf);
    return rc;
}

/* Open (or create) the segment appends go to, cut a torn tail and make it all durable. */
static int open_tail(struct wal *w, const char *name, bool create, uint64_t cut_at, bool cut,
                     char *msg, size_t msg_len)
{
    struct fileio *io = w->io;
    const char *step = create ? "create" : "open";
    int fd = io->ops->open(io, name, create ? FILEIO_CREATE : FILEIO_APPEND);
    int rc = fd < 0 ? fd : 0;
    if (!rc && cut) {
        step = "truncate";
        rc = io->ops->truncate(io, fd, cut_at);
    }
    /* After a kill the tail may sit in the page cache only: make it durable before any of it is
       served, and the names in the directory (a snapshot's rename, this segment) with it. */
    if (!rc) {
        step = "fdatasync";
        rc = io->ops->sync(io, fd);
    }
    if (!rc) {
        step = "sync the directory of";
        rc = io->ops->sync_dir(io);
    }
    if (rc) {
        snprintf(msg, msg_len, "cannot %s %s/%s: %s", step, io->dir, name, strerror(-rc));
        if (fd >= 0)
            io->ops->close(io, fd);
        return -1;
    }
    w->seg_fd = fd;
    snprintf(w->seg_name, sizeof(w->seg_name), "%s", name);
    return 0;
}

static int wal_load(struct store_backend *be, struct store_loader *ld, uint64_t *rv, char *msg,
                    size_t msg_len)
{
    struct wal *w = wal_of(be);
    struct fileio *io = w->io;
    char **names = NULL;
    size_t n_names = 0, n_segs = 0, n_snaps = 0;
    uint64_t *segs = NULL, *snaps = NULL;
    int rc = io->ops->list(io, &names, &n_names);
    if (rc) {
        snprintf(msg, msg_len, "cannot list data directory %s: %s", io->dir, strerror(-rc));
        return -1;
    }
    rc = -1;
    segs = xcalloc(n_names + 1, sizeof(*segs));
    snaps = xcalloc(n_names + 1, sizeof(*snaps));
    for (size_t i = 0; i < n_names; i++) {
        uint64_t v;
        size_t l = strlen(names[i]);
        if (!wal_parse_segment_name(names[i], &v))
            segs[n_segs++] = v;
        else if (!wal_parse_snapshot_name(names[i], &v))
            snaps[n_snaps++] = v;
        else if (l > 9 && !strncmp(names[i], "snap-", 5) && !strcmp(names[i] + l - 4, ".tmp"))
            io->ops->unlink(io, names[i]); /* a snapshot that never got its name */
    }
    qsort(segs, n_segs, sizeof(*segs), cmp_u64);
    qsort(snaps, n_snaps, sizeof(*snaps), cmp_u64);

    struct replay r = {.w = w, .ld = ld, .msg = msg, .msg_len = msg_len};
    char name[WAL_NAME_MAX];
    if (n_snaps) {
        r.snap_rv = snaps[n_snaps - 1];
        wal_snapshot_name(r.snap_rv, name);
        uint64_t in_file;
        if (wal_snapshot_read(io, name, &in_file, put_from_snapshot, ld, msg, msg_len))
            goto out;
        if (in_file != r.snap_rv) {
            snprintf(msg, msg_len,
                     "snapshot %s/%s holds resourceVersion %llu, not the one its name says",
                     io->dir, name, (unsigned long long)in_file);
            goto out;
        }
    }
    /* The segments to replay: from the last one that starts at or before the snapshot's next
       revision (older ones are wholly in the snapshot) to the newest. */
    size_t first = 0;
    while (first + 1 < n_segs && segs[first + 1] <= r.snap_rv + 1)
        first++;
    if (n_segs && segs[first] > r.snap_rv + 1) {
        wal_segment_name(segs[first], name);
        snprintf(msg, msg_len,
                 "%s/%s starts at resourceVersion %llu but the %s ends at %llu: the segments "
                 "between are missing; refusing to start",
                 io->dir, name, (unsigned long long)segs[first],
                 n_snaps ? "snapshot" : "empty store", (unsigned long long)r.snap_rv);
        goto out;
    }
    r.expected = n_segs ? segs[first] : r.snap_rv + 1;
    size_t valid_end = 0, file_len = 0;
    uint64_t log_bytes = 0;
    for (size_t i = first; i < n_segs; i++) {
        wal_segment_name(segs[i], name);
        if (segs[i] != r.expected) {
            snprintf(msg, msg_len,
                     "%s/%s starts at resourceVersion %llu but the segment before it ends at "
                     "%llu: the log is damaged; refusing to start",
                     io->dir, name, (unsigned long long)segs[i],
                     (unsigned long long)(r.expected - 1));
            goto out;
        }
        if (replay_segment(&r, name, i + 1 == n_segs, &valid_end, &file_len))
            goto out;
        log_bytes += valid_end;
    }
    uint64_t last = r.expected - 1;
    if (last < r.snap_rv) {
        /* The log ends before the snapshot (its records were all in it): appends continue in a
           new segment so that revisions stay consecutive within every segment. */
        last = r.snap_rv;
        wal_segment_name(last + 1, name);
        if (open_tail(w, name, true, 0, false, msg, msg_len))
            goto out;
        w->seg_first_rv = last + 1;
    } else if (n_segs) {
        wal_segment_name(segs[n_segs - 1], name);
        bool torn = valid_end < file_len;
        if (torn)
            note(w,
                 "%s/%s: cut a torn record at offset %zu (%zu bytes to the end of the file, "
                 "never acknowledged); the log ends at resourceVersion %llu",
                 io->dir, name, valid_end, file_len - valid_end, (unsigned long long)last);
        if (open_tail(w, name, false, valid_end, torn, msg, msg_len))
            goto out;
        w->seg_first_rv = segs[n_segs - 1];
    } else {
        wal_segment_name(last + 1, name);
        if (open_tail(w, name, true, 0, false, msg, msg_len))
            goto out;
        w->seg_first_rv = last + 1;
    }
    /* What the snapshot replaced and a crash kept (removal is not synced): remove it again. */
    for (size_t i = 0; i < first; i++) {
        wal_segment_name(segs[i], name);
        io->ops->unlink(io, name);
    }
    for (size_t i = 0; i + 1 < n_snaps; i++) {
        wal_snapshot_name(snaps[i], name);
        io->ops->unlink(io, name);
    }
    atomic_store(&w->durable, last);
    w->pending_rv = last;
    w->taken_rv = last;
    w->log_bytes = log_bytes;
    if (pthread_create(&w->flusher, NULL, flusher_main, w)) {
        snprintf(msg, msg_len, "cannot start the write-ahead log's thread");
        goto out;
    }
    w->flusher_started = true;
    *rv = last;
    rc = 0;
out:
    for (size_t i = 0; i < n_names; i++)
        free(names[i]);
    free(names);
    free(segs);
    free(snaps);
    return rc;
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

static void wal_free(struct store_backend *be)
{
    struct wal *w = wal_of(be);
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    if (w->flusher_started)
        pthread_join(w->flusher, NULL);
    /* The flusher drained the rotation too, so a waiting snapshot thread can finish. */
    pthread_mutex_lock(&w->mu);
    pthread_cond_broadcast(&w->done);
    bool joinable = w->snap_joinable;
    pthread_mutex_unlock(&w->mu);
    if (joinable)
        pthread_join(w->snap_thread, NULL);
    if (w->seg_fd >= 0)
        w->io->ops->close(w->io, w->seg_fd);
    strbuf_release(&w->pending);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->done);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

static const struct store_backend_ops wal_ops = {
    .load = wal_load,
    .append = wal_append,
    .wants_snapshot = wal_wants_snapshot,
    .snapshot = wal_snapshot,
    .wait = wal_wait,
    .durable = wal_durable,
    .failed = wal_failed,
    .free = wal_free,
};

struct store_backend *wal_backend_new(struct fileio *io, const struct wal_config *cfg)
{
    struct wal *w = xcalloc(1, sizeof(*w));
    w->base.ops = &wal_ops;
    w->io = io;
    if (cfg)
        w->cfg = *cfg;
    if (!w->cfg.snapshot_threshold)
        w->cfg.snapshot_threshold = WAL_DEFAULT_THRESHOLD;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* the gathering deadline */
    pthread_cond_init(&w->work, &attr);
    pthread_condattr_destroy(&attr);
    pthread_cond_init(&w->done, NULL);
    strbuf_init(&w->pending, STRBUF_NO_LIMIT);
    atomic_init(&w->durable, 0);
    w->seg_fd = -1;
    return &w->base;
}
