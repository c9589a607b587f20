/*
 * rand: fast per-thread pseudo-random numbers (xoshiro256**) seeded from the kernel, plus the
 * identifiers built from them (UUIDv4, generateName suffixes). Nothing here is for secrets.
 */
#include "svc/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static _Thread_local uint64_t rng_state[4];
static _Thread_local bool rng_seeded;

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static void rng_seed(void)
{
    while (getrandom(rng_state, sizeof(rng_state), 0) != (ssize_t)sizeof(rng_state))
        ;
    if (!(rng_state[0] | rng_state[1] | rng_state[2] | rng_state[3]))
        rng_state[0] = 1; /* the all-zero state is a fixed point */
    rng_seeded = true;
}

uint64_t util_rand_u64(void)
{
    if (!rng_seeded)
        rng_seed();
    uint64_t *s = rng_state;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t util_rand_below(uint64_t n)
{
    /* Rejection sampling keeps the result uniform for any n. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do
        r = util_rand_u64();
    while (r >= limit);
    return r % n;
}

void util_uuid_v4(char out[37])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    uint64_t a = util_rand_u64(), c = util_rand_u64();
    memcpy(b, &a, 8);
    memcpy(b + 8, &c, 8);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 15];
    }
    *p = '\0';
}

void util_random_name_suffix(char out[6])
{
    /* apimachinery pkg/util/rand: no vowels (no accidental words), no confusable 0/1/3. */
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    for (int i = 0; i < 5; i++)
        out[i] = alphabet[util_rand_below(sizeof(alphabet) - 1)];
    out[5] = '\0';
}
