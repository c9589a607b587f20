/*
 * fileio: the real file system behind include/svc/fileio.h. Every name is opened relative to a
 * descriptor of the data directory, so a name can never escape it, and the directory itself is
 * what sync_dir makes durable. Depends on libc and util only.
 */
#include "svc/fileio.h"

#include "svc/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct posix_io {
    struct fileio base;
    int dir_fd;
    int lock_fd;
};

static int dir_fd_of(struct fileio *io)
{
    return ((struct posix_io *)io)->dir_fd;
}

static int posix_open(struct fileio *io, const char *name, int mode)
{
    int flags = O_CLOEXEC;
    if (mode == FILEIO_READ)
        flags |= O_RDONLY;
    else if (mode == FILEIO_APPEND)
        flags |= O_WRONLY | O_APPEND | O_CREAT;
    else
        flags |= O_WRONLY | O_APPEND | O_CREAT | O_TRUNC;
    int fd;
    do
        fd = openat(dir_fd_of(io), name, flags, 0600);
    while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
}

static int posix_close(struct fileio *io, int fd)
{
    (void)io;
    /* close is not retried on EINTR: on Linux the descriptor is gone either way. */
    return close(fd) ? -errno : 0;
}

static long posix_read(struct fileio *io, int fd, void *buf, size_t len, uint64_t off)
{
    (void)io;
    ssize_t n;
    do
        n = pread(fd, buf, len, (off_t)off);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : (long)n;
}

static long posix_write(struct fileio *io, int fd, const void *buf, size_t len)
{
    (void)io;
    const char *p = buf;
    size_t left = len;
    while (left) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO;
        p += n;
        left -= (size_t)n;
    }
    return (long)len;
}

static int posix_size(struct fileio *io, int fd, uint64_t *size)
{
    (void)io;
    struct stat sb;
    if (fstat(fd, &sb))
        return -errno;
    *size = (uint64_t)sb.st_size;
    return 0;
}

static int posix_sync(struct fileio *io, int fd)
{
    (void)io;
    int rc;
    do
        rc = fdatasync(fd);
    while (rc && errno == EINTR);
    return rc ? -errno : 0;
}

static int posix_truncate(struct fileio *io, int fd, uint64_t len)
{
    (void)io;
    int rc;
    do
        rc = ftruncate(fd, (off_t)len);
    while (rc && errno == EINTR);
    return rc ? -errno : 0;
}

static int posix_rename(struct fileio *io, const char *from, const char *to)
{
    return renameat(dir_fd_of(io), from, dir_fd_of(io), to) ? -errno : 0;
}

static int posix_unlink(struct fileio *io, const char *name)
{
    return unlinkat(dir_fd_of(io), name, 0) ? -errno : 0;
}

static int posix_sync_dir(struct fileio *io)
{
    int rc;
    do
        rc = fsync(dir_fd_of(io));
    while (rc && errno == EINTR);
    return rc ? -errno : 0;
}

static int posix_list(struct fileio *io, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    /* fdopendir takes over the descriptor it is given, so give it a copy of ours. */
    int fd = openat(dir_fd_of(io), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return -e;
    }
    size_t alloc = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (*n == alloc) {
            alloc = alloc ? alloc * 2 : 16;
            *names = xrealloc(*names, alloc * sizeof(**names));
        }
        (*names)[(*n)++] = xstrdup(de->d_name);
    }
    closedir(d);
    return 0;
}

static void posix_free(struct fileio *io)
{
    struct posix_io *p = (struct posix_io *)io;
    if (p->lock_fd >= 0)
        close(p->lock_fd); /* drops the flock */
    if (p->dir_fd >= 0)
        close(p->dir_fd);
    free(p->base.dir);
    free(p);
}

static const struct fileio_ops posix_ops = {
    .open = posix_open,
    .close = posix_close,
    .read = posix_read,
    .write = posix_write,
    .size = posix_size,
    .sync = posix_sync,
    .truncate = posix_truncate,
    .rename = posix_rename,
    .unlink = posix_unlink,
    .sync_dir = posix_sync_dir,
    .list = posix_list,
    .free = posix_free,
};

/* Create dir when missing and make its entry in the parent durable. 0, or -1 with msg. */
static int make_dir(const char *dir, char *msg, size_t msg_len)
{
    if (mkdir(dir, 0700) == 0) {
        /* The parent: dir without its last component (trailing slashes ignored). */
        char *parent = xstrdup(dir);
        size_t len = strlen(parent);
        while (len > 1 && parent[len - 1] == '/')
            parent[--len] = '\0';
        char *slash = strrchr(parent, '/');
        if (!slash)
            strcpy(parent, ".");
        else
            slash[slash == parent ? 1 : 0] = '\0';
        int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int rc = fd >= 0 ? fsync(fd) : -1;
        int e = errno;
        if (fd >= 0)
            close(fd);
        free(parent);
        if (rc) {
            snprintf(msg, msg_len, "cannot sync the parent of data directory %s: %s", dir,
                     strerror(e));
            return -1;
        }
        return 0;
    }
    if (errno == EEXIST)
        return 0;
    snprintf(msg, msg_len, "cannot create data directory %s: %s", dir, strerror(errno));
    return -1;
}

struct fileio *fileio_posix_new(const char *dir, char *msg, size_t msg_len)
{
    if (!dir || !*dir) {
        snprintf(msg, msg_len, "the data directory name is empty");
        return NULL;
    }
    if (make_dir(dir, msg, msg_len))
        return NULL;
    struct posix_io *p = xcalloc(1, sizeof(*p));
    p->base.ops = &posix_ops;
    p->base.dir = xstrdup(dir);
    p->lock_fd = -1;
    p->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (p->dir_fd < 0) {
        snprintf(msg, msg_len, "cannot open data directory %s: %s", dir, strerror(errno));
        goto fail;
    }
    p->lock_fd = openat(p->dir_fd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (p->lock_fd < 0) {
        snprintf(msg, msg_len, "cannot open lock file %s/LOCK: %s", dir, strerror(errno));
        goto fail;
    }
    /* flock locks belong to the open file, so a second open in this very process conflicts
       too; the kernel drops the lock when the holder dies, so a crash leaves nothing stale. */
    if (flock(p->lock_fd, LOCK_EX | LOCK_NB)) {
        if (errno == EWOULDBLOCK)
            snprintf(msg, msg_len,
                     "data directory %s is in use by another svc-apiserver (the lock on %s/LOCK "
                     "is held); stop that server first",
                     dir, dir);
        else
            snprintf(msg, msg_len, "cannot lock %s/LOCK: %s", dir, strerror(errno));
        goto fail;
    }
    return &p->base;
fail:
    posix_free(&p->base);
    return NULL;
}

void fileio_free(struct fileio *io)
{
    if (io)
        io->ops->free(io);
}
