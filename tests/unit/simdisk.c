/*
 * simdisk: the simulated disk of simdisk.h. Files are inodes with their bytes now and their
 * bytes as of the last sync; the directory is two name tables, now and as of the last
 * directory sync. Inodes are kept until the disk is freed, which is simple and small in tests.
 */
#include "simdisk.h"

#include "svc/fileio.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_MAX_FILES 256
#define SIM_MAX_FDS   64

struct inode {
    char *data;
    size_t len, cap;
    char *synced;
    size_t synced_len;
    struct inode *next_all;
};

struct entry {
    char *name;
    struct inode *ino;
};

struct simdisk {
    struct fileio io;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct entry now[SIM_MAX_FILES];
    size_t n_now;
    struct entry durable[SIM_MAX_FILES];
    size_t n_durable;
    struct {
        struct inode *ino; /* NULL: free slot */
        bool writable;
    } fds[SIM_MAX_FDS];
    struct inode *all;
    long calls, cut_at, syncs;
    bool off;
    bool hold;
    int waiting;
};

static void *xalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p)
        abort();
    return p;
}

static char *dup_bytes(const char *p, size_t n)
{
    char *c = xalloc(n + 1);
    if (n)
        memcpy(c, p, n);
    return c;
}

static struct simdisk *disk_of(struct fileio *io)
{
    return (struct simdisk *)io;
}

static struct inode *inode_new(struct simdisk *d)
{
    struct inode *ino = xalloc(sizeof(*ino));
    ino->next_all = d->all;
    d->all = ino;
    return ino;
}

static void inode_set(struct inode *ino, const char *bytes, size_t len)
{
    free(ino->data);
    ino->data = dup_bytes(bytes, len);
    ino->len = ino->cap = len;
}

static struct entry *find(struct entry *tab, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(tab[i].name, name))
            return &tab[i];
    return NULL;
}

static void remove_entry(struct entry *tab, size_t *n, struct entry *e)
{
    free(e->name);
    *e = tab[--*n];
}

static void copy_table(struct entry *dst, size_t *n_dst, const struct entry *src, size_t n_src)
{
    for (size_t i = 0; i < *n_dst; i++)
        free(dst[i].name);
    for (size_t i = 0; i < n_src; i++) {
        dst[i].name = dup_bytes(src[i].name, strlen(src[i].name));
        dst[i].ino = src[i].ino;
    }
    *n_dst = n_src;
}

/* Count the call; false (and the power off from now on) when it is the one the cut falls on. */
static bool powered(struct simdisk *d)
{
    d->calls++;
    if (!d->off && d->cut_at && d->calls >= d->cut_at)
        d->off = true;
    return !d->off;
}

static int sim_open(struct fileio *io, const char *name, int mode)
{
    struct simdisk *d = disk_of(io);
    pthread_mutex_lock(&d->mu);
    int rc = -EIO;
    if (!powered(d))
        goto out;
    struct entry *e = find(d->now, d->n_now, name);
    if (!e && mode == FILEIO_READ) {
        rc = -ENOENT;
        goto out;
    }
    int fd = 0;
    while (fd < SIM_MAX_FDS && d->fds[fd].ino)
        fd++;
    if (fd == SIM_MAX_FDS) {
        rc = -EMFILE;
        goto out;
    }
    if (!e) {
        if (d->n_now == SIM_MAX_FILES) {
            rc = -ENOSPC;
            goto out;
        }
        e = &d->now[d->n_now++];
        e->name = dup_bytes(name, strlen(name));
        e->ino = inode_new(d);
    } else if (mode == FILEIO_CREATE) {
        e->ino->len = 0; /* emptied now; the synced bytes stay until the next sync */
    }
    d->fds[fd].ino = e->ino;
    d->fds[fd].writable = mode != FILEIO_READ;
    rc = fd;
out:
    pthread_mutex_unlock(&d->mu);
    return rc;
}

static struct inode *fd_inode(struct simdisk *d, int fd)
{
    return fd >= 0 && fd < SIM_MAX_FDS ? d->fds[fd].ino : NULL;
}

static int sim_close(struct fileio *io, int fd)
{
    struct simdisk *d = disk_of(io);
    pthread_mutex_lock(&d->mu);
    bool on = powered(d);
    int rc = fd_inode(d, fd) ? 0 : -EBADF;
    if (!rc)
        d->fds[fd].ino = NULL; /* the descriptor goes even without power */
    pthread_mutex_unlock(&d->mu);
    return on ? rc : -EIO;
}

static long sim_read(struct fileio *io, int fd, void *buf, size_t len, uint64_t off)
{
    struct simdisk *d = disk_of(io);
    pthread_mutex_lock(&d->mu);
    long rc = -EIO;
    struct inode *ino = fd_inode(d, fd);
    if (powered(d)) {
        rc = -EBADF;
        if (ino) {
            size_t n = off >= ino->len ? 0 : ino->len - (size_t)off;
            if (n > len)
                n = len;
            if (n)
                memcpy(buf, ino->data + off, n);
            rc = (long)n;
        }
    }
    pthread_mutex_unlock(&d->mu);
    return rc;
}

static long sim_write(struct fileio *io, int fd, const void *buf, size_t len)
{
    struct simdisk *d = disk_of(io);
    pthread_mutex_lock(&d->mu);
    long rc = -EIO;
    struct inode *ino = fd_inode(d, fd);
    if (powered(d)) {
        rc = -EBADF;
        if (ino && d->fds[fd].writable) {
            if (ino->len + len > ino->cap) {
                ino->cap = (ino->len + len) * 2;
                ino->data = realloc(ino->data, ino->cap);
                if (!ino->data)
                    abort();
            }
            memcpy(ino->data + ino->len, buf, len);
            ino->len += len;
            rc = (long)len;
        }
    }
    pthread_mutex_unlock(&d->mu);
    return rc;
}

static int sim_size(struct fileio *io, int fd, uint64_t *size)
{
    struct simdisk *d = disk_of(io);
    pthread_mutex_lock(&d->mu);
    int rc = -EIO;
    struct inode *ino = fd_inode(d, fd);
    if (powered(d)) {
        rc = ino ? 0 : -EBADF;
        if (ino)
            *size = ino->len;
    }
    pthread_mutex_unlock(&d->mu);
    return rc;
}

static int sim_sync(struct fileio *io, int fd)
{
    struct simdisk *d = disk_of(io);
    pthread_mutex_lock(&d->mu);
    d->waiting++;
    while (d->hold)
        pthread_cond_wait(&d->cond, &d->mu);
    d->waiting--;
    d->syncs++;
    int rc = -EIO;
    struct inode *ino = fd_inode(d, fd);
    if (powered(d)) {
        rc = ino ? 0 : -EBADF;
        if (ino) {
            free(ino->synced);
            ino->synced = dup_bytes(ino->data, ino->len);
            ino->synced_len = ino->len;
        }
    }
    pthread_mutex_unlock(&d->mu);
    return rc;
}

static int sim_truncate(struct fileio *io, int fd, uint64_t len)
{
    struct simdisk *d = disk_of(io);
    pthread_mutex_lock(&d->mu);
    int rc = -EIO;
    struct inode *ino = fd_inode(d, fd);
    if (powered(d)) {
        rc = ino && d->fds[fd].writable ? 0 : -EBADF;
        if (!rc && len < ino->len)
            ino->len = (size_t)len;
        else if (!rc && len > ino->len)
            rc = -EINVAL; /* never needed: the log only cuts */
    }
    pthread_mutex_unlock(&d->mu);
    return rc;
}

static int sim_rename(struct fileio *io, const char *from, const char *to)
{
    struct simdisk *d = disk_of(io);
    pthread_mutex_lock(&d->mu);
    int rc = -EIO;
    if (powered(d)) {
        struct entry *src = find(d->now, d->n_now, from);
        rc = src ? 0 : -ENOENT;
        if (src && strcmp(from, to)) {
            struct inode *ino = src->ino;
            struct entry *dst = find(d->now, d->n_now, to);
            if (dst) {
                dst->ino = ino;
                remove_entry(d->now, &d->n_now, find(d->now, d->n_now, from));
            } else {
                free(src->name);
                src->name = dup_bytes(to, strlen(to));
            }
        }
    }
    pthread_mutex_unlock(&d->mu);
    return rc;
}

static int sim_unlink(struct fileio *io, const char *name)
{
    struct simdisk *d = disk_of(io);
    pthread_mutex_lock(&d->mu);
    int rc = -EIO;
    if (powered(d)) {
        struct entry *e = find(d->now, d->n_now, name);
        rc = e ? 0 : -ENOENT;
        if (e)
            remove_entry(d->now, &d->n_now, e);
    }
    pthread_mutex_unlock(&d->mu);
    return rc;
}

static int sim_sync_dir(struct fileio *io)
{
    struct simdisk *d = disk_of(io);
    pthread_mutex_lock(&d->mu);
    int rc = -EIO;
    if (powered(d)) {
        copy_table(d->durable, &d->n_durable, d->now, d->n_now);
        rc = 0;
    }
    pthread_mutex_unlock(&d->mu);
    return rc;
}

static int sim_list(struct fileio *io, char ***names, size_t *n)
{
    struct simdisk *d = disk_of(io);
    pthread_mutex_lock(&d->mu);
    int rc = -EIO;
    *names = NULL;
    *n = 0;
    if (powered(d)) {
        *names = xalloc((d->n_now + 1) * sizeof(**names));
        for (size_t i = 0; i < d->n_now; i++)
            (*names)[i] = dup_bytes(d->now[i].name, strlen(d->now[i].name));
        *n = d->n_now;
        rc = 0;
    }
    pthread_mutex_unlock(&d->mu);
    return rc;
}

static void sim_free(struct fileio *io)
{
    (void)io; /* the disk owns it */
}

static const struct fileio_ops sim_ops = {
    .open = sim_open,
    .close = sim_close,
    .read = sim_read,
    .write = sim_write,
    .size = sim_size,
    .sync = sim_sync,
    .truncate = sim_truncate,
    .rename = sim_rename,
    .unlink = sim_unlink,
    .sync_dir = sim_sync_dir,
    .list = sim_list,
    .free = sim_free,
};

struct simdisk *simdisk_new(void)
{
    struct simdisk *d = xalloc(sizeof(*d));
    d->io.ops = &sim_ops;
    d->io.dir = dup_bytes("sim", 3);
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cond, NULL);
    return d;
}

void simdisk_free(struct simdisk *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_now; i++)
        free(d->now[i].name);
    for (size_t i = 0; i < d->n_durable; i++)
        free(d->durable[i].name);
    for (struct inode *ino = d->all, *next; ino; ino = next) {
        next = ino->next_all;
        free(ino->data);
        free(ino->synced);
        free(ino);
    }
    free(d->io.dir);
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

struct fileio *simdisk_io(struct simdisk *d)
{
    return &d->io;
}

void simdisk_cut_after(struct simdisk *d, long n)
{
    pthread_mutex_lock(&d->mu);
    d->cut_at = d->calls + n;
    pthread_mutex_unlock(&d->mu);
}

long simdisk_calls(struct simdisk *d)
{
    pthread_mutex_lock(&d->mu);
    long n = d->calls;
    pthread_mutex_unlock(&d->mu);
    return n;
}

bool simdisk_power_off(struct simdisk *d)
{
    pthread_mutex_lock(&d->mu);
    bool off = d->off;
    pthread_mutex_unlock(&d->mu);
    return off;
}

long simdisk_syncs(struct simdisk *d)
{
    pthread_mutex_lock(&d->mu);
    long n = d->syncs;
    pthread_mutex_unlock(&d->mu);
    return n;
}

void simdisk_hold_syncs(struct simdisk *d, bool hold)
{
    pthread_mutex_lock(&d->mu);
    d->hold = hold;
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->mu);
}

int simdisk_syncs_waiting(struct simdisk *d)
{
    pthread_mutex_lock(&d->mu);
    int n = d->waiting;
    pthread_mutex_unlock(&d->mu);
    return n;
}

struct simdisk *simdisk_reboot(struct simdisk *d, bool torn, unsigned seed)
{
    struct simdisk *r = simdisk_new();
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < d->n_durable; i++) {
        const struct inode *old = d->durable[i].ino;
        struct inode *ino = inode_new(r);
        size_t keep = old->synced_len;
        const char *src = old->synced;
        /* A torn write: part of what was appended since the sync reached the platter. */
        if (torn && old->len > old->synced_len &&
            (!old->synced_len || !memcmp(old->data, old->synced, old->synced_len))) {
            seed = seed * 1103515245u + 12345u;
            keep += (seed >> 8) % (old->len - old->synced_len + 1);
            src = old->data;
        }
        inode_set(ino, src ? src : "", keep);
        ino->synced = dup_bytes(ino->data, ino->len);
        ino->synced_len = ino->len;
        r->now[i].name = dup_bytes(d->durable[i].name, strlen(d->durable[i].name));
        r->now[i].ino = ino;
    }
    r->n_now = d->n_durable;
    copy_table(r->durable, &r->n_durable, r->now, r->n_now);
    pthread_mutex_unlock(&d->mu);
    return r;
}

char *simdisk_read(struct simdisk *d, const char *name, size_t *len)
{
    pthread_mutex_lock(&d->mu);
    struct entry *e = find(d->now, d->n_now, name);
    char *copy = e ? dup_bytes(e->ino->data, e->ino->len) : NULL;
    if (e)
        *len = e->ino->len;
    pthread_mutex_unlock(&d->mu);
    return copy;
}

void simdisk_put(struct simdisk *d, const char *name, const void *bytes, size_t len)
{
    pthread_mutex_lock(&d->mu);
    struct entry *e = find(d->now, d->n_now, name);
    if (!e) {
        if (d->n_now == SIM_MAX_FILES)
            abort();
        e = &d->now[d->n_now++];
        e->name = dup_bytes(name, strlen(name));
        e->ino = inode_new(d);
    }
    inode_set(e->ino, bytes, len);
    free(e->ino->synced);
    e->ino->synced = dup_bytes(bytes, len);
    e->ino->synced_len = len;
    copy_table(d->durable, &d->n_durable, d->now, d->n_now);
    pthread_mutex_unlock(&d->mu);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *simdisk_names(struct simdisk *d)
{
    pthread_mutex_lock(&d->mu);
    const char *names[SIM_MAX_FILES];
    size_t total = 1;
    for (size_t i = 0; i < d->n_now; i++) {
        names[i] = d->now[i].name;
        total += strlen(names[i]) + 1;
    }
    qsort(names, d->n_now, sizeof(*names), cmp_str);
    char *out = xalloc(total);
    for (size_t i = 0; i < d->n_now; i++) {
        if (i)
            strcat(out, ",");
        strcat(out, names[i]);
    }
    pthread_mutex_unlock(&d->mu);
    return out;
}
