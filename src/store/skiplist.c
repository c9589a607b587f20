/*
 * skiplist: a classic skip list (Pugh 1990) with p = 1/4, at most 24 levels: enough for
 * hundreds of millions of keys, with an average of 1.33 forward pointers per node.
 */
#include "svc/skiplist.h"

#include "svc/util.h"

#include <stdlib.h>
#include <string.h>

#define SKIPLIST_MAX_LEVEL 24

struct skiplist_node {
    char *key;
    void *value;
    int level;
    struct skiplist_node *next[]; /* level entries */
};

struct skiplist {
    struct skiplist_node *head; /* sentinel with SKIPLIST_MAX_LEVEL pointers */
    int level;                  /* levels in use */
    size_t size;
};

static struct skiplist_node *node_new(const char *key, void *value, int level)
{
    struct skiplist_node *n = xcalloc(1, sizeof(*n) + (size_t)level * sizeof(n->next[0]));
    n->key = key ? xstrdup(key) : NULL;
    n->value = value;
    n->level = level;
    return n;
}

static int random_level(void)
{
    int level = 1;
    uint64_t r = util_rand_u64();
    while (level < SKIPLIST_MAX_LEVEL && (r & 3) == 0) {
        level++;
        r >>= 2;
    }
    return level;
}

struct skiplist *skiplist_new(void)
{
    struct skiplist *sl = xcalloc(1, sizeof(*sl));
    sl->head = node_new(NULL, NULL, SKIPLIST_MAX_LEVEL);
    sl->level = 1;
    return sl;
}

void skiplist_free(struct skiplist *sl)
{
    if (!sl)
        return;
    struct skiplist_node *n = sl->head;
    while (n) {
        struct skiplist_node *next = n->next[0];
        free(n->key);
        free(n);
        n = next;
    }
    free(sl);
}

size_t skiplist_size(const struct skiplist *sl)
{
    return sl->size;
}

/* Fill update[] with the last node before key on each level; return the candidate node. */
static struct skiplist_node *find(const struct skiplist *sl, const char *key,
                                  struct skiplist_node **update)
{
    struct skiplist_node *x = sl->head;
    for (int i = sl->level - 1; i >= 0; i--) {
        while (x->next[i] && strcmp(x->next[i]->key, key) < 0)
            x = x->next[i];
        if (update)
            update[i] = x;
    }
    return x->next[0];
}

void *skiplist_get(const struct skiplist *sl, const char *key)
{
    struct skiplist_node *n = find(sl, key, NULL);
    return n && !strcmp(n->key, key) ? n->value : NULL;
}

void *skiplist_put(struct skiplist *sl, const char *key, void *value)
{
    struct skiplist_node *update[SKIPLIST_MAX_LEVEL];
    struct skiplist_node *n = find(sl, key, update);
    if (n && !strcmp(n->key, key)) {
        void *old = n->value;
        n->value = value;
        return old;
    }
    int level = random_level();
    for (int i = sl->level; i < level; i++)
        update[i] = sl->head;
    if (level > sl->level)
        sl->level = level;
    n = node_new(key, value, level);
    for (int i = 0; i < level; i++) {
        n->next[i] = update[i]->next[i];
        update[i]->next[i] = n;
    }
    sl->size++;
    return NULL;
}

void *skiplist_remove(struct skiplist *sl, const char *key)
{
    struct skiplist_node *update[SKIPLIST_MAX_LEVEL];
    struct skiplist_node *n = find(sl, key, update);
    if (!n || strcmp(n->key, key))
        return NULL;
    for (int i = 0; i < n->level; i++)
        if (update[i]->next[i] == n)
            update[i]->next[i] = n->next[i];
    while (sl->level > 1 && !sl->head->next[sl->level - 1])
        sl->level--;
    void *value = n->value;
    free(n->key);
    free(n);
    sl->size--;
    return value;
}

struct skiplist_node *skiplist_seek(const struct skiplist *sl, const char *key, int after)
{
    struct skiplist_node *n = find(sl, key, NULL);
    if (after && n && !strcmp(n->key, key))
        n = n->next[0];
    return n;
}

struct skiplist_node *skiplist_next(const struct skiplist_node *node)
{
    return node->next[0];
}

const char *skiplist_node_key(const struct skiplist_node *node)
{
    return node->key;
}

void *skiplist_node_value(const struct skiplist_node *node)
{
    return node->value;
}
