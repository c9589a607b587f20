/*
 * tree_arena: per-request memory for jansson trees (see include/svc/tree_arena.h for the rule).
 *
 * One address range is reserved at start and cut into slices, one per thread that opens a scope.
 * Inside a scope a small allocation is a chunk of the thread's slice: an 8-byte head (the scope's
 * generation and the size class) before the payload. A freed chunk goes on its class's free
 * list, to be handed out again in the same scope (a request that retries an update reuses the
 * memory of its earlier attempts); a bump pointer serves the rest. The outermost end forgets
 * every list, rewinds the bump pointer and bumps the generation, so a chunk of an earlier scope
 * is told apart from a live one when somebody frees it too late (unless its memory was handed out
 * again in the meantime: nothing cheap can tell that case). Large allocations, and any that
 * would not fit in what is left of the slice, come from malloc: whether a pointer is the arena's
 * is one range check, which is how free tells the two apart.
 */
#include "svc/tree_arena.h"

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif
#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* 64 slices of 8 MiB: address space only; a thread touches what its requests use. A request
   that needs more than its slice goes on with malloc. */
#define SLICES      64
#define SLICE_BYTES ((size_t)8 << 20)
/* Payloads are multiples of 8 bytes up to this; larger ones (big hash tables and arrays) are
   few, and malloc serves them. */
#define GRAIN     8
#define MAX_SMALL 1024
#define CLASSES   (MAX_SMALL / GRAIN)
/* What a scope's end leaves resident: more than a usual request needs; a big one's excess goes
   back to the kernel. */
#define KEEP_BYTES ((size_t)256 << 10)

struct chunk_head {
    uint32_t gen; /* the scope that allocated it */
    uint32_t cls; /* payload size / GRAIN; 0 once freed */
};

struct free_chunk {
    struct free_chunk *next;
};

struct arena {
    size_t slice;     /* index in the region */
    char *base, *end; /* the slice */
    char *bump;       /* next never-used byte */
    uint32_t gen;     /* of the current or next scope; never 0 (zeroed pages hold 0) */
    int depth;        /* scopes open on this thread */
    int paused;       /* pauses in force */
    struct free_chunk *free[CLASSES + 1];
};

static char *region; /* SLICES * SLICE_BYTES, reserved by tree_arena_install; owned forever */

/* The slices no thread holds: a stack of indexes. */
static pthread_mutex_t slices_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t free_slices[SLICES];
static size_t n_free_slices;
static pthread_key_t thread_key; /* its destructor gives a finished thread's slice back */

/* This thread's arena (heap, owned through thread_key), NULL before its first scope or when
   every slice was taken. */
static _Thread_local struct arena *mine;
static _Thread_local bool no_slice_left;

static bool in_region(const void *p)
{
    return region && (uintptr_t)p - (uintptr_t)region < (uintptr_t)SLICES * SLICE_BYTES;
}

static void thread_done(void *p)
{
    struct arena *a = p;
    POISON(a->base, SLICE_BYTES);
    madvise(a->base, SLICE_BYTES, MADV_DONTNEED);
    pthread_mutex_lock(&slices_lock);
    free_slices[n_free_slices++] = a->slice;
    pthread_mutex_unlock(&slices_lock);
    free(a);
}

static struct arena *arena_acquire(void)
{
    if (mine || no_slice_left || !region)
        return mine;
    pthread_mutex_lock(&slices_lock);
    bool have = n_free_slices > 0;
    size_t slice = have ? free_slices[--n_free_slices] : 0;
    pthread_mutex_unlock(&slices_lock);
    if (!have) {
        no_slice_left = true; /* more threads than slices: this one keeps malloc */
        return NULL;
    }
    struct arena *a = calloc(1, sizeof(*a));
    if (!a)
        abort();
    a->slice = slice;
    a->base = a->bump = region + slice * SLICE_BYTES;
    a->end = a->base + SLICE_BYTES;
    a->gen = 1;
    POISON(a->base, SLICE_BYTES);
    pthread_setspecific(thread_key, a);
    return mine = a;
}

static void *arena_malloc(size_t size)
{
    struct arena *a = mine;
    if (!a || !a->depth || a->paused || size > MAX_SMALL)
        return malloc(size);
    uint32_t cls = (uint32_t)((size + GRAIN - 1) / GRAIN);
    if (!cls)
        cls = 1; /* (jansson never asks for 0 bytes; a free chunk needs room for its link) */
    size_t payload = (size_t)cls * GRAIN;
    struct chunk_head *h;
    struct free_chunk *f = a->free[cls];
    if (f) {
        UNPOISON(f, sizeof(*f));
        a->free[cls] = f->next;
        h = (struct chunk_head *)f - 1;
    } else {
        if ((size_t)(a->end - a->bump) < sizeof(*h) + payload)
            return malloc(size);
        h = (struct chunk_head *)a->bump;
        a->bump += sizeof(*h) + payload;
    }
    UNPOISON(h, sizeof(*h) + payload);
    h->gen = a->gen;
    h->cls = cls;
    return h + 1;
}

static void escaped(const char *what)
{
    /* A tree made in a request outlived it: continuing would corrupt the next request's. */
    fprintf(stderr, "svc-apiserver: tree_arena: %s\n", what);
    abort();
}

static void arena_free(void *p)
{
    if (!in_region(p)) {
        free(p);
        return;
    }
    struct arena *a = mine;
    struct chunk_head *h = (struct chunk_head *)p - 1;
    if (!a || !a->depth || (size_t)((char *)p - region) / SLICE_BYTES != a->slice)
        escaped("memory of a request freed outside it");
    if (h->gen != a->gen)
        escaped("memory of an earlier request freed");
    if (!h->cls || h->cls > CLASSES)
        escaped("memory freed twice");
    uint32_t cls = h->cls;
    h->cls = 0;
    struct free_chunk *f = p;
    f->next = a->free[cls];
    a->free[cls] = f;
    POISON(f, (size_t)cls * GRAIN); /* head stays readable: a second free is caught above */
}

bool tree_arena_install(void)
{
    if (region)
        return true;
    void *r = mmap(NULL, SLICES * SLICE_BYTES, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED)
        return false;
    if (pthread_key_create(&thread_key, thread_done)) {
        munmap(r, SLICES * SLICE_BYTES);
        return false;
    }
    for (size_t i = 0; i < SLICES; i++)
        free_slices[i] = SLICES - 1 - i;
    n_free_slices = SLICES;
    region = r;
    json_set_alloc_funcs(arena_malloc, arena_free);
    return true;
}

void tree_arena_begin(void)
{
    struct arena *a = arena_acquire();
    if (a)
        a->depth++;
}

void tree_arena_end(void)
{
    struct arena *a = mine;
    if (!a || !a->depth || --a->depth)
        return;
    size_t used = (size_t)(a->bump - a->base);
    memset(a->free, 0, sizeof(a->free));
    POISON(a->base, used);
    if (used > KEEP_BYTES)
        madvise(a->base + KEEP_BYTES, used - KEEP_BYTES, MADV_DONTNEED);
    a->bump = a->base;
    a->paused = 0;
    if (!++a->gen)
        a->gen = 1;
}

void tree_arena_pause(void)
{
    if (mine && mine->depth)
        mine->paused++;
}

void tree_arena_resume(void)
{
    if (mine && mine->depth && mine->paused)
        mine->paused--;
}

void tree_arena_once(pthread_once_t *once, void (*init)(void))
{
    tree_arena_pause();
    pthread_once(once, init);
    tree_arena_resume();
}

bool tree_arena_owns(const void *p)
{
    return in_region(p);
}

bool tree_arena_in_scope(void)
{
    return mine && mine->depth;
}

size_t tree_arena_used(void)
{
    return mine && mine->depth ? (size_t)(mine->bump - mine->base) : 0;
}
