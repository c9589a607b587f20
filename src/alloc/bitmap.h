/*
 * alloc/bitmap.h (private to src/alloc/): the bitmap both allocators share, with upstream's
 * "random scan with offset" strategy (k8s pkg/registry/core/service/allocator,
 * randomScanStrategyWithOffset), and the seedable random source behind it.
 *
 * Items are numbered 0..max-1. Items below `offset` form the lower (static) band: a dynamic
 * allocation picks a uniformly random start in the upper band [offset, max) and scans forward,
 * wrapping inside that band; only when the upper band is full does it do the same in the lower
 * band (again from a random start). Callers hold their own lock; nothing here is thread-safe.
 * Header-only (static inline) so the build needs no extra object; depends on libc only.
 */
#ifndef SVC_ALLOC_BITMAP_H
#define SVC_ALLOC_BITMAP_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* ---- random source: xoshiro256** ------------------------------------------------------------ */

struct alloc_rng {
    uint64_t s[4];
};

static inline uint64_t alloc_rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* Expand one 64-bit seed into a full state with splitmix64, so nearby seeds diverge at once. */
static inline void alloc_rng_seed(struct alloc_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        seed += 0x9e3779b97f4a7c15ULL;
        uint64_t z = seed;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        r->s[i] = z ^ (z >> 31);
    }
}

/* Seed from getrandom(2). Should the kernel refuse (it does not block once booted), fall back to
 * the clock and the state's address rather than loop: predictability is harmless here. */
static inline void alloc_rng_seed_os(struct alloc_rng *r)
{
    uint64_t seed = 0;
    ssize_t got;
    do
        got = getrandom(&seed, sizeof(seed), 0);
    while (got < 0 && errno == EINTR);
    if (got != (ssize_t)sizeof(seed)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^ (uintptr_t)r;
    }
    alloc_rng_seed(r, seed);
}

static inline uint64_t alloc_rng_next(struct alloc_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = alloc_rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = alloc_rng_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n), n > 0 (rejection keeps it unbiased). */
static inline uint64_t alloc_rng_below(struct alloc_rng *r, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do
        v = alloc_rng_next(r);
    while (v >= limit);
    return v % n;
}

/* ---- bitmap --------------------------------------------------------------------------------- */

#define ALLOC_BITMAP_NONE UINT32_MAX

struct alloc_bitmap {
    uint64_t *words; /* owned; max bits */
    uint32_t max;    /* number of items */
    uint32_t offset; /* size of the lower (static) band; < max unless max == 0 */
    uint32_t count;  /* items set */
    struct alloc_rng rng;
};

static inline void alloc_bitmap_init(struct alloc_bitmap *bm, uint32_t max, uint32_t offset)
{
    size_t nwords = ((size_t)max + 63) / 64;
    bm->words = calloc(nwords ? nwords : 1, sizeof(uint64_t));
    if (!bm->words)
        abort();
    bm->max = max;
    bm->offset = offset < max ? offset : 0;
    bm->count = 0;
    alloc_rng_seed_os(&bm->rng);
}

static inline void alloc_bitmap_release(struct alloc_bitmap *bm)
{
    free(bm->words);
    bm->words = NULL;
}

static inline bool alloc_bitmap_has(const struct alloc_bitmap *bm, uint32_t i)
{
    return i < bm->max && (bm->words[i / 64] >> (i % 64) & 1);
}

/* Set item i. False when it was already set (or i is out of range). */
static inline bool alloc_bitmap_set(struct alloc_bitmap *bm, uint32_t i)
{
    if (i >= bm->max || alloc_bitmap_has(bm, i))
        return false;
    bm->words[i / 64] |= (uint64_t)1 << (i % 64);
    bm->count++;
    return true;
}

/* Clear item i. False when it was not set. */
static inline bool alloc_bitmap_clear(struct alloc_bitmap *bm, uint32_t i)
{
    if (!alloc_bitmap_has(bm, i))
        return false;
    bm->words[i / 64] &= ~((uint64_t)1 << (i % 64));
    bm->count--;
    return true;
}

/* The first clear item in [from, to), or ALLOC_BITMAP_NONE; a word at a time. */
static inline uint32_t alloc_bitmap_find_clear(const struct alloc_bitmap *bm, uint32_t from,
                                               uint32_t to)
{
    while (from < to) {
        uint64_t free_bits = ~bm->words[from / 64] >> (from % 64);
        if (free_bits) {
            uint32_t at = from + (uint32_t)__builtin_ctzll(free_bits);
            return at < to ? at : ALLOC_BITMAP_NONE;
        }
        from = (from / 64 + 1) * 64;
    }
    return ALLOC_BITMAP_NONE;
}

/* A clear item of the band [lo, hi), scanning forward from a random start and wrapping. */
static inline uint32_t alloc_bitmap_scan_band(struct alloc_bitmap *bm, uint32_t lo, uint32_t hi)
{
    if (lo >= hi)
        return ALLOC_BITMAP_NONE;
    uint32_t start = lo + (uint32_t)alloc_rng_below(&bm->rng, hi - lo);
    uint32_t at = alloc_bitmap_find_clear(bm, start, hi);
    if (at == ALLOC_BITMAP_NONE)
        at = alloc_bitmap_find_clear(bm, lo, start);
    return at;
}

/* Set and return a clear item: upper band first, then the lower one; ALLOC_BITMAP_NONE when
 * every item is set. */
static inline uint32_t alloc_bitmap_set_next(struct alloc_bitmap *bm)
{
    if (bm->count >= bm->max)
        return ALLOC_BITMAP_NONE;
    uint32_t at = alloc_bitmap_scan_band(bm, bm->offset, bm->max);
    if (at == ALLOC_BITMAP_NONE)
        at = alloc_bitmap_scan_band(bm, 0, bm->offset);
    if (at != ALLOC_BITMAP_NONE)
        alloc_bitmap_set(bm, at);
    return at;
}

#endif
