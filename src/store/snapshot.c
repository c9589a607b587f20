/*
 * snapshot: writing and reading the snapshot file of include/svc/wal.h. A snapshot becomes
 * visible only by a rename after its bytes are synced, so a snapshot file that exists is whole;
 * reading one that is not is therefore a damaged disk, reported with the offset, never skipped.
 * Depends on walrec, fileio, strbuf and util.
 */
#include "svc/wal.h"

#include "svc/fileio.h"
#include "svc/store.h"
#include "svc/strbuf.h"
#include "svc/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAP_MAGIC  "SVCSNAP1"
#define SNAP_HEADER 32
#define SNAP_CHUNK  (1u << 20) /* write in pieces of about this size */

static void snap_put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t snap_get_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static int write_all(struct fileio *io, int fd, struct strbuf *buf)
{
    long n = io->ops->write(io, fd, buf->buf, buf->len);
    strbuf_reset(buf);
    return n < 0 ? (int)n : 0;
}

int wal_snapshot_write(struct fileio *io, uint64_t rv, struct store_obj *const *objs, size_t n,
                       char *msg, size_t msg_len)
{
    char name[WAL_NAME_MAX], tmp[WAL_NAME_MAX + 8];
    wal_snapshot_name(rv, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", name);
    const char *step = "create";
    struct strbuf buf;
    strbuf_init(&buf, STRBUF_NO_LIMIT);
    int fd = io->ops->open(io, tmp, FILEIO_CREATE);
    int rc = fd < 0 ? fd : 0;
    if (rc)
        goto out;
    unsigned char h[SNAP_HEADER];
    memcpy(h, SNAP_MAGIC, 8);
    snap_put_le(h + 8, rv, 8);
    snap_put_le(h + 16, n, 8);
    snap_put_le(h + 24, 0, 4);
    snap_put_le(h + 28, wal_crc32c(0, h, 28), 4);
    strbuf_add(&buf, h, sizeof(h));
    step = "write";
    for (size_t i = 0; i < n; i++) {
        struct wal_rec rec = {.type = WAL_REC_PUT,
                              .rv = objs[i]->rv,
                              .key = objs[i]->key,
                              .key_len = strlen(objs[i]->key),
                              .value = objs[i]->bytes,
                              .value_len = objs[i]->len};
        wal_rec_encode(&buf, &rec);
        if (buf.len >= SNAP_CHUNK && (rc = write_all(io, fd, &buf)))
            goto out;
    }
    unsigned char count[8];
    snap_put_le(count, n, 8);
    struct wal_rec end = {
        .type = WAL_REC_END, .rv = rv, .key = "", .value = (char *)count, .value_len = 8};
    wal_rec_encode(&buf, &end);
    if ((rc = write_all(io, fd, &buf)))
        goto out;
    step = "sync";
    if ((rc = io->ops->sync(io, fd)))
        goto out;
    step = "close";
    rc = io->ops->close(io, fd);
    fd = -1;
    if (rc)
        goto out;
    /* Only a whole, durable file gets the name start-up looks for. */
    step = "rename";
    if ((rc = io->ops->rename(io, tmp, name)))
        goto out;
    step = "sync the directory for";
    rc = io->ops->sync_dir(io);
out:
    strbuf_release(&buf);
    if (fd >= 0)
        io->ops->close(io, fd);
    if (rc) {
        snprintf(msg, msg_len, "cannot %s snapshot %s/%s: %s", step, io->dir, tmp, strerror(-rc));
        io->ops->unlink(io, tmp); /* best effort (gone after a rename): start-up removes it too */
    }
    return rc;
}

int wal_snapshot_read(struct fileio *io, const char *name, uint64_t *rv, wal_rec_fn fn, void *ctx,
                      char *msg, size_t msg_len)
{
    char *buf;
    size_t len;
    int rc = wal_read_file(io, name, &buf, &len);
    if (rc) {
        snprintf(msg, msg_len, "cannot read snapshot %s/%s: %s", io->dir, name, strerror(-rc));
        return -1;
    }
    const unsigned char *h = (const unsigned char *)buf;
    rc = -1;
    if (len < SNAP_HEADER || memcmp(h, SNAP_MAGIC, 8) ||
        snap_get_le(h + 28, 4) != wal_crc32c(0, h, 28)) {
        snprintf(msg, msg_len, "snapshot %s/%s is damaged: bad header at offset 0", io->dir, name);
        goto out;
    }
    *rv = snap_get_le(h + 8, 8);
    uint64_t count = snap_get_le(h + 16, 8), seen = 0;
    size_t off = SNAP_HEADER;
    for (;;) {
        struct wal_rec rec;
        size_t rec_len;
        int d = wal_rec_decode(buf + off, len - off, &rec, &rec_len);
        if (d != WAL_DECODE_OK) {
            snprintf(msg, msg_len, "snapshot %s/%s is damaged: %s record at offset %zu", io->dir,
                     name, d == WAL_DECODE_SHORT ? "truncated" : "corrupt", off);
            goto out;
        }
        if (rec.type == WAL_REC_END) {
            if (rec.rv != *rv || snap_get_le((const unsigned char *)rec.value, 8) != count ||
                seen != count || off + rec_len != len) {
                snprintf(msg, msg_len,
                         "snapshot %s/%s is damaged: its end record at offset %zu does not match "
                         "its header (%llu objects read, %llu announced)",
                         io->dir, name, off, (unsigned long long)seen, (unsigned long long)count);
                goto out;
            }
            break;
        }
        if (rec.type != WAL_REC_PUT || rec.rv > *rv) {
            snprintf(msg, msg_len, "snapshot %s/%s is damaged: unexpected record at offset %zu",
                     io->dir, name, off);
            goto out;
        }
        seen++;
        if (fn && fn(ctx, &rec)) {
            snprintf(msg, msg_len, "snapshot %s/%s: cannot load the record at offset %zu", io->dir,
                     name, off);
            goto out;
        }
        off += rec_len;
    }
    rc = 0;
out:
    free(buf);
    return rc;
}
