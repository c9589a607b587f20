/*
 * fileio: the few file operations the store's persistence needs, as a table of functions over
 * one directory (the --data-dir), so that tests can put a simulated disk in place of the real
 * one. The simulated disk forgets, when it "loses power", every byte and every directory change
 * not yet made durable; the write-ahead log is correct only if it survives that after any call.
 *
 * Durability follows POSIX as Linux implements it: sync makes a file's bytes and size durable,
 * but a new name (create, rename, unlink) is durable only after sync_dir. Names are plain file
 * names inside the directory, never paths. Every call returns 0 (or a count) on success and a
 * negative errno value on failure. Depends on libc only.
 */
#ifndef SVC_FILEIO_H
#define SVC_FILEIO_H

#include <stddef.h>
#include <stdint.h>

struct fileio;

enum {
    FILEIO_READ = 1,   /* open an existing file for reading */
    FILEIO_APPEND = 2, /* open for appending, creating the file when missing */
    FILEIO_CREATE = 3, /* create the file (emptying an existing one) and open it for appending */
};

struct fileio_ops {
    /* A handle (>= 0) for name, or -errno. */
    int (*open)(struct fileio *io, const char *name, int mode);
    int (*close)(struct fileio *io, int fd);
    /* Read up to len bytes at offset off: the count (0 at the end), or -errno. */
    long (*read)(struct fileio *io, int fd, void *buf, size_t len, uint64_t off);
    /* Append len bytes at the end of the file: len, or -errno (a short write is an error). */
    long (*write)(struct fileio *io, int fd, const void *buf, size_t len);
    int (*size)(struct fileio *io, int fd, uint64_t *size);
    /* Make the file's bytes and size durable (fdatasync). */
    int (*sync)(struct fileio *io, int fd);
    int (*truncate)(struct fileio *io, int fd, uint64_t len);
    /* Replace to with from, atomically; durable after sync_dir. */
    int (*rename)(struct fileio *io, const char *from, const char *to);
    int (*unlink)(struct fileio *io, const char *name);
    /* Make the directory's entries (creates, renames, unlinks) durable. */
    int (*sync_dir)(struct fileio *io);
    /* The names in the directory: a new array of new strings (free each and the array). */
    int (*list)(struct fileio *io, char ***names, size_t *n);
    void (*free)(struct fileio *io);
};

struct fileio {
    const struct fileio_ops *ops;
    char *dir; /* the directory, for messages; owned by the implementation */
};

/*
 * The real file system: dir is created when missing (its parent synced so that it stays), and
 * a lock file "LOCK" in it is held with flock for the life of the result, so that a second
 * server cannot use the same directory. NULL with a message in msg on failure.
 */
struct fileio *fileio_posix_new(const char *dir, char *msg, size_t msg_len);
/* Release io (NULL-safe): closes what it holds and drops the lock. */
void fileio_free(struct fileio *io);

#endif
