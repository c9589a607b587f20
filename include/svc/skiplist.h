/*
 * skiplist: an ordered map from byte strings to pointers, kept sorted by strcmp order so the
 * store can list a key range (all services, or those of one namespace) in the order etcd would,
 * and resume a paged list from any key. Not thread-safe: the store guards it with its lock.
 * Depends on libc and util only.
 */
#ifndef SVC_SKIPLIST_H
#define SVC_SKIPLIST_H

#include <stddef.h>

struct skiplist;
struct skiplist_node;

struct skiplist *skiplist_new(void);
/* Free the map; values are not freed (the caller owns them). */
void skiplist_free(struct skiplist *sl);
size_t skiplist_size(const struct skiplist *sl);

/* The value stored under key, or NULL. */
void *skiplist_get(const struct skiplist *sl, const char *key);
/* Store value under key (the key is copied); returns the value it replaced, or NULL. */
void *skiplist_put(struct skiplist *sl, const char *key, void *value);
/* Remove key; returns its value, or NULL when absent. */
void *skiplist_remove(struct skiplist *sl, const char *key);

/* The first node whose key is >= key (or > key when after is non-zero), or NULL. */
struct skiplist_node *skiplist_seek(const struct skiplist *sl, const char *key, int after);
/* The node after node, or NULL. */
struct skiplist_node *skiplist_next(const struct skiplist_node *node);
/* A node's key and value, borrowed; valid until the node is removed. */
const char *skiplist_node_key(const struct skiplist_node *node);
void *skiplist_node_value(const struct skiplist_node *node);

#endif
