/*
 * wal: the write-ahead log and snapshots that keep the store across crashes with --data-dir.
 *
 * Files in the data directory (all through include/svc/fileio.h):
 *   wal-<first rv, 20 digits>.log   log segments: records of consecutive revisions, the first
 *                                   one named by the file; the newest is the one appended to
 *   snap-<rv, 20 digits>.snap       a snapshot: the whole store as of revision rv
 *   snap-<rv>.snap.tmp              a snapshot being written (ignored and removed at start)
 *   LOCK                            held with flock by the running server
 *
 * A record, in a segment or a snapshot, is a 20-byte header and a payload, little-endian:
 *   u32 crc      CRC-32C (Castagnoli) of every byte after this field, payload included
 *   u32 len      payload length: key_len + value length
 *   u64 rv       the revision of the commit (PUT in a snapshot: the object's own revision)
 *   u16 key_len  then u8 type (1 PUT, 2 DELETE, 3 END), then a zero byte
 *   payload      the key, then for PUT the object's JSON exactly as the store serialised it,
 *                for END the number of PUT records before it (u64)
 * A snapshot is a 32-byte header ("SVCSNAP1", u64 rv, u64 count, u32 zero, u32 CRC-32C of the
 * 28 bytes before it), count PUT records in key order, and one END record.
 *
 * The backend this module provides (see src/store/backend.h) appends each commit to an
 * in-memory batch; one flusher thread writes the batch, calls fdatasync once, and wakes every
 * writer it covered (group commit). When the last sync released several writers, the flusher
 * waits up to one sync's time (at most 2 ms) for as many commits before it syncs again. When the
 * log passes the snapshot threshold the store's state is copied (references, not bytes), the log is
 * rotated to a new segment, and a snapshot thread writes the copy to a temporary file, syncs it,
 * renames it into place, syncs the directory and only then removes the segments and snapshot it
 * replaces.
 *
 * Depends on fileio, strbuf, util and the store's object type; it never parses the objects it
 * stores, it only copies their bytes.
 */
#ifndef SVC_WAL_H
#define SVC_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fileio;
struct store_backend;
struct store_obj;
struct strbuf;

#define WAL_REC_HEADER        20
#define WAL_MAX_KEY           65535      /* the u16 of the header; keys are far shorter */
#define WAL_MAX_PAYLOAD       (1u << 30) /* objects are a few MiB at most (3 MiB bodies) */
#define WAL_NAME_MAX          48         /* room for any of the file names above */
#define WAL_DEFAULT_THRESHOLD (64ull << 20)

enum wal_rec_type { WAL_REC_PUT = 1, WAL_REC_DELETE = 2, WAL_REC_END = 3 };

/* A record; key and value point into the caller's or the decoded buffer (borrowed). */
struct wal_rec {
    enum wal_rec_type type;
    uint64_t rv;
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
};

/* CRC-32C of buf continuing from crc (start with 0). */
uint32_t wal_crc32c(uint32_t crc, const void *buf, size_t len);

/* Append rec, encoded, to out (whose limit must allow it). */
void wal_rec_encode(struct strbuf *out, const struct wal_rec *rec);

enum {
    WAL_DECODE_OK = 0,
    WAL_DECODE_SHORT = -1, /* the bytes end inside the record: a torn write, or more to read */
    WAL_DECODE_BAD = -2,   /* not a record: impossible header or a checksum mismatch */
};

/*
 * Decode the record at the start of buf (len bytes). On WAL_DECODE_OK, rec points into buf and
 * *rec_len is the record's size; otherwise nothing is set.
 */
int wal_rec_decode(const void *buf, size_t len, struct wal_rec *rec, size_t *rec_len);

/* The file names; out holds WAL_NAME_MAX bytes. */
void wal_segment_name(uint64_t first_rv, char *out);
void wal_snapshot_name(uint64_t rv, char *out);
/* Parse a segment or snapshot name (not a temporary one): 0 and *rv, or -1. */
int wal_parse_segment_name(const char *name, uint64_t *first_rv);
int wal_parse_snapshot_name(const char *name, uint64_t *rv);

/*
 * Write the snapshot of revision rv holding objs (n committed objects in key order, borrowed):
 * the temporary file, sync, rename into place, sync the directory. 0, or a negative errno with
 * the failing step in msg. Nothing is removed here.
 */
int wal_snapshot_write(struct fileio *io, uint64_t rv, struct store_obj *const *objs, size_t n,
                       char *msg, size_t msg_len);

/* Called for each PUT record of a snapshot, in file order; a non-zero result stops the read. */
typedef int (*wal_rec_fn)(void *ctx, const struct wal_rec *rec);

/*
 * Read and verify the snapshot file name: *rv gets its revision and fn sees every object. 0, or
 * -1 with a message naming the file and the offset of the fault (or fn's non-zero result).
 */
int wal_snapshot_read(struct fileio *io, const char *name, uint64_t *rv, wal_rec_fn fn, void *ctx,
                      char *msg, size_t msg_len);

/* Read a whole file into a new buffer (*buf, caller frees). 0 or a negative errno. */
int wal_read_file(struct fileio *io, const char *name, char **buf, size_t *len);

typedef void (*wal_log_fn)(void *ctx, const char *line);

struct wal_config {
    uint64_t snapshot_threshold; /* bytes of log before a snapshot; 0: WAL_DEFAULT_THRESHOLD */
    wal_log_fn log;              /* notes (a torn tail cut, a snapshot that failed) */
    void *log_ctx;
    /* A write or sync of the log failed, so nothing after it can be acknowledged: the line says
       which file and why. NULL: print it and end the process at once (fail-stop). */
    wal_log_fn on_failure;
    void *failure_ctx;
};

/* The log in io (borrowed: it must outlive the backend) as a store backend; free with its op. */
struct store_backend *wal_backend_new(struct fileio *io, const struct wal_config *cfg);

#endif
