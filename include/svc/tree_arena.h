/*
 * tree_arena: memory for the JSON trees of one request, dropped at once when it ends.
 *
 * A write request builds and drops a dozen jansson trees (the decoded body, its canonical copy,
 * managedFields, the committed object, the answer): a couple of hundred small allocations, and
 * glibc's malloc and free on them were a third of a create's CPU. Between tree_arena_begin and
 * tree_arena_end, jansson allocates from this thread's arena instead: free lists by size over a
 * bump region, no locks, nothing given back until the end, when all of it goes at once.
 * Elsewhere (other threads, reads, controllers, a paused arena) jansson uses malloc as before.
 *
 * The rule that makes this safe: nothing made inside a scope outlives it. Shared structures a
 * request may fill lazily (a stored object's parsed tree, schema caches) are built with the arena
 * paused; the store keeps only the bytes of an object committed from a scope. Freeing arena
 * memory outside the scope that made it aborts (it would be a use after free), and under
 * AddressSanitizer every byte of the arena outside a live allocation is poisoned.
 */
#ifndef SVC_TREE_ARENA_H
#define SVC_TREE_ARENA_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* Route jansson's allocations through the arenas. Call once, before any jansson value exists
   (first thing in main); false when the address space could not be reserved, and then every
   other call here is a no-op and jansson keeps malloc. */
bool tree_arena_install(void);

/* Open a scope on this thread (scopes nest; the outermost end drops the memory). Trees made from
   now on, until the matching end, are the scope's. */
void tree_arena_begin(void);
void tree_arena_end(void);

/* Pause and resume this thread's scope: allocations in between come from malloc and may outlive
   it (for caches filled during a request). Nest. No-ops outside a scope. */
void tree_arena_pause(void);
void tree_arena_resume(void);

/* pthread_once with this thread's scope paused: for what is built once for the process and may
   first be wanted during a request. */
void tree_arena_once(pthread_once_t *once, void (*init)(void));

/* Whether p is arena memory. */
bool tree_arena_owns(const void *p);

/* Whether this thread is inside a scope (paused or not). A tree handed over in a scope is not to
   be kept past it, whatever its root is: once a big request has used up its slice, new nodes
   come from malloc while their children may still be the arena's. */
bool tree_arena_in_scope(void);

/* Bytes of this thread's arena in use by the current scope (0 outside one): for tests. */
size_t tree_arena_used(void);

#endif
