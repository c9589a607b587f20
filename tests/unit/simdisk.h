/*
 * simdisk: a simulated disk behind include/svc/fileio.h for the durability tests.
 *
 * It keeps, for every file, the bytes written and the bytes synced, and for the directory the
 * names as they are and as they were at the last directory sync. Power can be cut after any
 * number of calls: from that call on every call fails with EIO and changes nothing. A "reboot"
 * then builds the disk a machine would find: only synced names, each with only its synced bytes
 * (or, in torn mode, with a random prefix of its unsynced appends as well, as a torn write
 * leaves). Syncs can also be held back, to observe what happens while a commit is in flight.
 * Thread-safe. Test code only; depends on fileio and libc.
 */
#ifndef SVC_TEST_SIMDISK_H
#define SVC_TEST_SIMDISK_H

#include <stdbool.h>
#include <stddef.h>

struct fileio;
struct simdisk;

struct simdisk *simdisk_new(void);
void simdisk_free(struct simdisk *d);
/* The disk's file operations; owned by the disk (fileio_free on it does nothing). */
struct fileio *simdisk_io(struct simdisk *d);

/* Cut the power at the n-th call from now (n >= 1): that call and all later ones fail. */
void simdisk_cut_after(struct simdisk *d, long n);
/* Calls made so far, and whether the power is off. */
long simdisk_calls(struct simdisk *d);
bool simdisk_power_off(struct simdisk *d);
/* Calls of the file sync operation made so far. */
long simdisk_syncs(struct simdisk *d);

/* Hold every file sync until released (the syncing thread blocks). */
void simdisk_hold_syncs(struct simdisk *d, bool hold);
/* Syncs blocked right now. */
int simdisk_syncs_waiting(struct simdisk *d);

/*
 * The disk after a power loss and a reboot: a new disk holding what was durable. With torn
 * (and seed for the choice), each file keeps a random prefix of what was appended after its
 * last sync.
 */
struct simdisk *simdisk_reboot(struct simdisk *d, bool torn, unsigned seed);

/* A copy of the current bytes of name (caller frees), or NULL when there is no such file. */
char *simdisk_read(struct simdisk *d, const char *name, size_t *len);
/* Replace name's bytes, durably (name and content). */
void simdisk_put(struct simdisk *d, const char *name, const void *bytes, size_t len);
/* Names present now, sorted, as one string "a,b,c" (caller frees). */
char *simdisk_names(struct simdisk *d);

#endif
