/*
 * walrec: the record format shared by log segments and snapshots (see include/svc/wal.h): the
 * CRC-32C, encoding and decoding of one record, the file names, and reading a whole file through
 * fileio. Pure functions over bytes; depends on fileio, strbuf and util only.
 */
#include "svc/wal.h"

#include "svc/fileio.h"
#include "svc/strbuf.h"
#include "svc/util.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- CRC-32C ----------------------------------------------------------------------------------
 * Castagnoli's polynomial, as ext4, iSCSI and etcd's WAL use: better at catching the burst
 * errors of torn sectors than the zlib CRC, and an instruction of its own on x86 (SSE 4.2), so
 * replaying a large log is bounded by reading it, not by checking it. */

#define CRC32C_POLY 0x82f63b78u /* reflected */

static uint32_t crc_table[8][256];
static bool crc_hw;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

/* Slicing-by-8: eight table lookups per eight bytes. */
static uint32_t crc_soft(uint32_t c, const unsigned char *p, size_t len)
{
    while (len >= 8) {
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                           (uint32_t)p[3] << 24);
        c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
            crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^ crc_table[3][p[4]] ^
            crc_table[2][p[5]] ^ crc_table[1][p[6]] ^ crc_table[0][p[7]];
        p += 8;
        len -= 8;
    }
    while (len--)
        c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
    return c;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t c, const unsigned char *p,
                                                            size_t len)
{
    uint64_t c64 = c;
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c64 = __builtin_ia32_crc32di(c64, v);
        p += 8;
        len -= 8;
    }
    c = (uint32_t)c64;
    while (len--)
        c = __builtin_ia32_crc32qi(c, *p++);
    return c;
}
#endif

uint32_t wal_crc32c(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&crc_once, crc_init);
    uint32_t c = ~crc;
#if defined(__x86_64__) && defined(__GNUC__)
    if (crc_hw)
        return ~crc_sse42(c, buf, len);
#endif
    return ~crc_soft(c, buf, len);
}

/* ---- records ------------------------------------------------------------------------------- */

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

void wal_rec_encode(struct strbuf *out, const struct wal_rec *rec)
{
    unsigned char h[WAL_REC_HEADER];
    put_le(h + 4, rec->key_len + rec->value_len, 4);
    put_le(h + 8, rec->rv, 8);
    put_le(h + 16, rec->key_len, 2);
    h[18] = (unsigned char)rec->type;
    h[19] = 0;
    uint32_t crc = wal_crc32c(0, h + 4, WAL_REC_HEADER - 4);
    crc = wal_crc32c(crc, rec->key, rec->key_len);
    crc = wal_crc32c(crc, rec->value, rec->value_len);
    put_le(h, crc, 4);
    if (strbuf_add(out, h, sizeof(h)) || strbuf_add(out, rec->key, rec->key_len) ||
        strbuf_add(out, rec->value, rec->value_len))
        abort(); /* the buffers that hold records have no limit */
}

int wal_rec_decode(const void *buf, size_t len, struct wal_rec *rec, size_t *rec_len)
{
    const unsigned char *p = buf;
    if (len < WAL_REC_HEADER)
        return WAL_DECODE_SHORT;
    uint64_t plen = get_le(p + 4, 4);
    size_t key_len = (size_t)get_le(p + 16, 2);
    unsigned type = p[18];
    /* Reject what no writer produces before trusting the length. */
    if (p[19] != 0 || type < WAL_REC_PUT || type > WAL_REC_END || plen > WAL_MAX_PAYLOAD ||
        key_len > WAL_MAX_KEY || key_len > plen)
        return WAL_DECODE_BAD;
    if ((type == WAL_REC_PUT && key_len == 0) || (type == WAL_REC_DELETE && plen != key_len) ||
        (type == WAL_REC_END && (key_len != 0 || plen != 8)))
        return WAL_DECODE_BAD;
    if (len - WAL_REC_HEADER < plen)
        return WAL_DECODE_SHORT;
    if (wal_crc32c(0, p + 4, WAL_REC_HEADER - 4 + plen) != (uint32_t)get_le(p, 4))
        return WAL_DECODE_BAD;
    const char *key = (const char *)p + WAL_REC_HEADER;
    if (memchr(key, '\0', key_len))
        return WAL_DECODE_BAD;
    rec->type = (enum wal_rec_type)type;
    rec->rv = get_le(p + 8, 8);
    rec->key = key;
    rec->key_len = key_len;
    rec->value = key + key_len;
    rec->value_len = (size_t)plen - key_len;
    *rec_len = WAL_REC_HEADER + (size_t)plen;
    return WAL_DECODE_OK;
}

/* ---- names ----------------------------------------------------------------------------------- */

void wal_segment_name(uint64_t first_rv, char *out)
{
    snprintf(out, WAL_NAME_MAX, "wal-%020" PRIu64 ".log", first_rv);
}

void wal_snapshot_name(uint64_t rv, char *out)
{
    snprintf(out, WAL_NAME_MAX, "snap-%020" PRIu64 ".snap", rv);
}

/* prefix, exactly 20 digits, suffix, nothing more. */
static int parse_name(const char *name, const char *prefix, const char *suffix, uint64_t *rv)
{
    size_t pl = strlen(prefix), sl = strlen(suffix);
    if (strlen(name) != pl + 20 + sl || strncmp(name, prefix, pl) || strcmp(name + pl + 20, suffix))
        return -1;
    uint64_t v = 0;
    for (size_t i = pl; i < pl + 20; i++) {
        if (name[i] < '0' || name[i] > '9')
            return -1;
        unsigned d = (unsigned)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *rv = v;
    return 0;
}

int wal_parse_segment_name(const char *name, uint64_t *first_rv)
{
    return parse_name(name, "wal-", ".log", first_rv);
}

int wal_parse_snapshot_name(const char *name, uint64_t *rv)
{
    return parse_name(name, "snap-", ".snap", rv);
}

/* ---- files ----------------------------------------------------------------------------------- */

int wal_read_file(struct fileio *io, const char *name, char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    int fd = io->ops->open(io, name, FILEIO_READ);
    if (fd < 0)
        return fd;
    uint64_t size;
    int rc = io->ops->size(io, fd, &size);
    if (rc) {
        io->ops->close(io, fd);
        return rc;
    }
    if (size > SIZE_MAX / 2) {
        io->ops->close(io, fd);
        return -EFBIG;
    }
    char *b = xmalloc((size_t)size + 1);
    size_t got = 0;
    while (got < size) {
        long n = io->ops->read(io, fd, b + got, (size_t)size - got, got);
        if (n < 0) {
            free(b);
            io->ops->close(io, fd);
            return (int)n;
        }
        if (n == 0)
            break; /* shorter than it was a moment ago: take what is there */
        got += (size_t)n;
    }
    io->ops->close(io, fd);
    b[got] = '\0';
    *buf = b;
    *len = got;
    return 0;
}
