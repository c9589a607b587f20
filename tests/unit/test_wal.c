/*
 * test_wal: durability with --data-dir (issue 8): the record format and its CRC-32C
 * (src/store/walrec.c), snapshots (snapshot.c), the write-ahead log backend with group commit
 * and replay (wal.c), the store's waiting for durability (store.c), the real directory's lock
 * (fileio.c), and the two flags (config.c). Most tests run the store on the simulated disk of
 * simdisk.c, which forgets whatever was not synced when the power is cut; the power-loss test
 * cuts it after every single call of a scripted workload and checks that recovery yields exactly
 * the acknowledged writes each time.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../src/store/jsonfast.h" /* private to the store: tested here, white-box */
#include "simdisk.h"
#include "svc/config.h"
#include "svc/fileio.h"
#include "svc/store.h"
#include "svc/strbuf.h"
#include "svc/wal.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

/* ---- helpers --------------------------------------------------------------------------------- */

struct notes {
    pthread_mutex_t mu;
    char text[4096];
    int failures;
};

static void note_line(void *ctx, const char *line)
{
    struct notes *n = ctx;
    pthread_mutex_lock(&n->mu);
    size_t len = strlen(n->text);
    snprintf(n->text + len, sizeof(n->text) - len, "%s\n", line);
    pthread_mutex_unlock(&n->mu);
}

static void note_failure(void *ctx, const char *line)
{
    struct notes *n = ctx;
    note_line(ctx, line);
    pthread_mutex_lock(&n->mu);
    n->failures++;
    pthread_mutex_unlock(&n->mu);
}

static struct notes *notes_new(void)
{
    struct notes *n = calloc(1, sizeof(*n));
    cr_assert_not_null(n);
    pthread_mutex_init(&n->mu, NULL);
    return n;
}

static void notes_free(struct notes *n)
{
    pthread_mutex_destroy(&n->mu);
    free(n);
}

/* A store on the simulated disk; NULL with msg when it refuses to start. */
static struct store *open_sim(struct simdisk *d, uint64_t threshold, struct notes *notes, char *msg,
                              size_t msg_len)
{
    struct store_config cfg = {.event_log_size = 1000,
                               .io = simdisk_io(d),
                               .snapshot_threshold = threshold,
                               .log = note_line,
                               .log_ctx = notes,
                               .on_io_error = note_failure,
                               .io_error_ctx = notes};
    msg[0] = '\0';
    return store_open(&cfg, msg, msg_len);
}

static struct store *must_open(struct simdisk *d, uint64_t threshold, struct notes *notes)
{
    char msg[512];
    struct store *st = open_sim(d, threshold, notes, msg, sizeof(msg));
    cr_assert_not_null(st, "the store refuses to start: %s", msg);
    return st;
}

/* A Service-shaped object, kind and apiVersion first as the registry writes them. */
static json_t *svc(const char *name, const char *payload)
{
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:{s:s}}", "kind", "Service", "apiVersion", "v1",
                     "metadata", "name", name, "namespace", "default", "resourceVersion", "",
                     "spec", "payload", payload);
}

static int put(struct store *st, enum store_op op, const char *name, const char *payload,
               uint64_t expect_rv, struct store_obj **result)
{
    char key[128];
    snprintf(key, sizeof(key), "services/default/%s", name);
    struct store_write w = {.op = op,
                            .key = key,
                            .obj = op == STORE_OP_DELETE ? NULL : svc(name, payload),
                            .expect_rv = expect_rv};
    return store_write(st, &w, result, NULL);
}

static struct store_obj *get(struct store *st, const char *name)
{
    char key[128];
    snprintf(key, sizeof(key), "services/default/%s", name);
    return store_get(st, key);
}

/* A bit-at-a-time CRC-32C, independent of the table and instruction versions under test. */
static uint32_t crc32c_reference(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < len; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    }
    return ~c;
}

static uint64_t le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static char *seg(uint64_t first)
{
    static char name[WAL_NAME_MAX];
    wal_segment_name(first, name);
    return name;
}

/* ---- CRC and records ------------------------------------------------------------------------- */

Test(wal, crc32c_matches_the_published_check_values)
{
    /* RFC 3720 (iSCSI) B.4 and the common "123456789" check value of CRC-32C. */
    cr_expect_eq(wal_crc32c(0, "123456789", 9), 0xe3069283u);
    unsigned char zeros[32] = {0}, ones[32];
    memset(ones, 0xff, sizeof(ones));
    cr_expect_eq(wal_crc32c(0, zeros, 32), 0x8a9136aau);
    cr_expect_eq(wal_crc32c(0, ones, 32), 0x62a8ab43u);
    cr_expect_eq(wal_crc32c(0, "", 0), 0);
}

Test(wal, crc32c_agrees_with_a_bitwise_reference_and_continues_across_pieces)
{
    unsigned char buf[1031];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(i * 131 + 7);
    for (size_t len = 0; len < sizeof(buf); len += 97) {
        cr_expect_eq(wal_crc32c(0, buf, len), crc32c_reference(buf, len), "len %zu", len);
        size_t half = len / 3;
        cr_expect_eq(wal_crc32c(wal_crc32c(0, buf, half), buf + half, len - half),
                     crc32c_reference(buf, len), "split at %zu of %zu", half, len);
    }
}

Test(wal, record_layout_is_the_documented_header_and_payload)
{
    struct strbuf b;
    strbuf_init(&b, STRBUF_NO_LIMIT);
    struct wal_rec rec = {.type = WAL_REC_PUT,
                          .rv = 0x0102030405060708ull,
                          .key = "svc/a",
                          .key_len = 5,
                          .value = "{\"x\":1}",
                          .value_len = 7};
    wal_rec_encode(&b, &rec);
    const unsigned char *p = (const unsigned char *)b.buf;
    cr_assert_eq(b.len, 20 + 5 + 7);
    cr_expect_eq(le(p + 4, 4), 12, "payload length");
    cr_expect_eq(le(p + 8, 8), 0x0102030405060708ull, "revision, little-endian");
    cr_expect_eq(le(p + 16, 2), 5, "key length");
    cr_expect_eq(p[18], 1, "type PUT");
    cr_expect_eq(p[19], 0);
    cr_expect_eq(memcmp(p + 20, "svc/a{\"x\":1}", 12), 0);
    cr_expect_eq(le(p, 4), crc32c_reference(p + 4, b.len - 4), "CRC of all after it");
    strbuf_release(&b);
}

Test(wal, records_decode_to_what_was_encoded)
{
    struct strbuf b;
    strbuf_init(&b, STRBUF_NO_LIMIT);
    struct wal_rec put_rec = {.type = WAL_REC_PUT,
                              .rv = 42,
                              .key = "services/default/web",
                              .key_len = 20,
                              .value = "{\"kind\":\"Service\"}",
                              .value_len = 18};
    struct wal_rec del_rec = {.type = WAL_REC_DELETE,
                              .rv = 43,
                              .key = "services/default/web",
                              .key_len = 20,
                              .value = "",
                              .value_len = 0};
    wal_rec_encode(&b, &put_rec);
    size_t first = b.len;
    wal_rec_encode(&b, &del_rec);
    struct wal_rec got;
    size_t used;
    cr_assert_eq(wal_rec_decode(b.buf, b.len, &got, &used), WAL_DECODE_OK);
    cr_expect_eq(used, first);
    cr_expect_eq(got.type, WAL_REC_PUT);
    cr_expect_eq(got.rv, 42);
    cr_expect_eq(got.key_len, 20);
    cr_expect_eq(memcmp(got.key, "services/default/web", 20), 0);
    cr_expect_eq(got.value_len, 18);
    cr_expect_eq(memcmp(got.value, "{\"kind\":\"Service\"}", 18), 0);
    cr_assert_eq(wal_rec_decode(b.buf + first, b.len - first, &got, &used), WAL_DECODE_OK);
    cr_expect_eq(got.type, WAL_REC_DELETE);
    cr_expect_eq(got.rv, 43);
    cr_expect_eq(got.value_len, 0);
    cr_expect_eq(used, b.len - first);
    strbuf_release(&b);
}

Test(wal, every_single_bit_flip_is_detected)
{
    struct strbuf b;
    strbuf_init(&b, STRBUF_NO_LIMIT);
    struct wal_rec rec = {.type = WAL_REC_PUT,
                          .rv = 7,
                          .key = "k/1",
                          .key_len = 3,
                          .value = "{\"spec\":{\"type\":\"ClusterIP\"}}",
                          .value_len = 29};
    wal_rec_encode(&b, &rec);
    for (size_t i = 0; i < b.len; i++)
        for (int bit = 0; bit < 8; bit++) {
            b.buf[i] ^= (char)(1 << bit);
            struct wal_rec got;
            size_t used;
            cr_expect_neq(wal_rec_decode(b.buf, b.len, &got, &used), WAL_DECODE_OK,
                          "byte %zu bit %d", i, bit);
            b.buf[i] ^= (char)(1 << bit);
        }
    strbuf_release(&b);
}

Test(wal, every_truncated_record_is_short_not_valid)
{
    struct strbuf b;
    strbuf_init(&b, STRBUF_NO_LIMIT);
    struct wal_rec rec = {.type = WAL_REC_PUT,
                          .rv = 9,
                          .key = "k/2",
                          .key_len = 3,
                          .value = "{\"a\":\"b\"}",
                          .value_len = 9};
    wal_rec_encode(&b, &rec);
    for (size_t len = 0; len < b.len; len++) {
        struct wal_rec got;
        size_t used;
        cr_expect_eq(wal_rec_decode(b.buf, len, &got, &used), WAL_DECODE_SHORT, "len %zu", len);
    }
    strbuf_release(&b);
}

Test(wal, impossible_headers_are_bad_before_any_length_is_trusted)
{
    unsigned char zeros[64] = {0};
    struct wal_rec got;
    size_t used;
    cr_expect_eq(wal_rec_decode(zeros, sizeof(zeros), &got, &used), WAL_DECODE_BAD,
                 "zero-filled space (a preallocated or torn tail) is no record");
    unsigned char huge[20] = {0};
    huge[7] = 0x7f; /* a payload length of almost 2 GiB */
    huge[18] = WAL_REC_PUT;
    huge[16] = 1;
    cr_expect_eq(wal_rec_decode(huge, sizeof(huge), &got, &used), WAL_DECODE_BAD);
}

Test(wal, file_names_carry_twenty_digit_revisions)
{
    char name[WAL_NAME_MAX];
    wal_segment_name(1, name);
    cr_expect_str_eq(name, "wal-00000000000000000001.log");
    wal_snapshot_name(18446744073709551615ull, name);
    cr_expect_str_eq(name, "snap-18446744073709551615.snap");
    uint64_t v = 0;
    cr_expect_eq(wal_parse_segment_name("wal-00000000000000000123.log", &v), 0);
    cr_expect_eq(v, 123);
    cr_expect_eq(wal_parse_snapshot_name("snap-00000000000000000077.snap", &v), 0);
    cr_expect_eq(v, 77);
    cr_expect_eq(wal_parse_segment_name("wal-0000000000000000123.log", &v), -1, "19 digits");
    cr_expect_eq(wal_parse_segment_name("wal-00000000000000000123.log.tmp", &v), -1);
    cr_expect_eq(wal_parse_snapshot_name("snap-00000000000000000077.snap.tmp", &v), -1);
    cr_expect_eq(wal_parse_snapshot_name("snap-9999999999999999999a.snap", &v), -1);
    cr_expect_eq(wal_parse_snapshot_name("snap-99999999999999999999.snap", &v), -1, "> 2^64");
}

/* ---- snapshots --------------------------------------------------------------------------------
 */

struct collected {
    int n;
    char keys[8][64];
    char values[8][128];
    uint64_t rvs[8];
};

static int collect_rec(void *ctx, const struct wal_rec *rec)
{
    struct collected *c = ctx;
    if (c->n == 8)
        return -1;
    snprintf(c->keys[c->n], sizeof(c->keys[0]), "%.*s", (int)rec->key_len, rec->key);
    snprintf(c->values[c->n], sizeof(c->values[0]), "%.*s", (int)rec->value_len, rec->value);
    c->rvs[c->n++] = rec->rv;
    return 0;
}

Test(wal, snapshot_round_trip_keeps_keys_bytes_and_revisions_in_order)
{
    struct simdisk *d = simdisk_new();
    struct store_obj *objs[3] = {
        store_obj_new("services/default/a", svc("a", "1"), 5),
        store_obj_new("services/default/b", svc("b", "2"), 9),
        store_obj_new("services/kube-system/c", svc("c", "3"), 2),
    };
    char msg[512];
    cr_assert_eq(wal_snapshot_write(simdisk_io(d), 12, objs, 3, msg, sizeof(msg)), 0, "%s", msg);
    char *names = simdisk_names(d);
    cr_expect_str_eq(names, "snap-00000000000000000012.snap", "only the renamed file is left");
    free(names);
    struct collected c = {0};
    uint64_t rv = 0;
    cr_assert_eq(wal_snapshot_read(simdisk_io(d), "snap-00000000000000000012.snap", &rv,
                                   collect_rec, &c, msg, sizeof(msg)),
                 0, "%s", msg);
    cr_expect_eq(rv, 12);
    cr_assert_eq(c.n, 3);
    for (int i = 0; i < 3; i++) {
        cr_expect_str_eq(c.keys[i], objs[i]->key);
        cr_expect_str_eq(c.values[i], objs[i]->bytes);
        cr_expect_eq(c.rvs[i], objs[i]->rv);
        store_obj_unref(objs[i]);
    }
    simdisk_free(d);
}

Test(wal, a_damaged_snapshot_is_an_error_naming_the_file_and_offset)
{
    struct simdisk *d = simdisk_new();
    struct store_obj *objs[2] = {store_obj_new("services/default/a", svc("a", "1"), 1),
                                 store_obj_new("services/default/b", svc("b", "2"), 2)};
    char msg[512];
    cr_assert_eq(wal_snapshot_write(simdisk_io(d), 2, objs, 2, msg, sizeof(msg)), 0, "%s", msg);
    const char *name = "snap-00000000000000000002.snap";
    size_t len;
    char *bytes = simdisk_read(d, name, &len);
    size_t second = 32 + 20 + strlen(objs[0]->key) + objs[0]->len;
    bytes[second + 25] ^= 0x20; /* inside the second record */
    simdisk_put(d, name, bytes, len);
    uint64_t rv;
    cr_expect_eq(wal_snapshot_read(simdisk_io(d), name, &rv, NULL, NULL, msg, sizeof(msg)), -1);
    char want[64];
    snprintf(want, sizeof(want), "offset %zu", second);
    cr_expect(strstr(msg, name) && strstr(msg, want), "names file and offset: %s", msg);
    /* A snapshot cut short (its end record missing) is damaged too, never a partial state. */
    simdisk_put(d, name, bytes, second);
    cr_expect_eq(wal_snapshot_read(simdisk_io(d), name, &rv, NULL, NULL, msg, sizeof(msg)), -1);
    /* And the store refuses to start on it. */
    struct notes *n = notes_new();
    cr_expect_null(open_sim(d, 0, n, msg, sizeof(msg)));
    cr_expect(strstr(msg, name) != NULL, "%s", msg);
    free(bytes);
    store_obj_unref(objs[0]);
    store_obj_unref(objs[1]);
    notes_free(n);
    simdisk_free(d);
}

/* ---- the replay's JSON reader -----------------------------------------------------------------
 */

/* jsonfast must read every text exactly as json_loadb does: same tree, same key order, same
   refusals. The expected results are jansson's own. */
static void expect_like_jansson(const char *why, const char *text, size_t len)
{
    json_error_t err;
    json_t *want = json_loadb(text, len, JSON_ALLOW_NUL, &err);
    json_t *got = jsonfast_parse(text, len);
    cr_expect_eq(got == NULL, want == NULL, "%s: jansson %s it", why, want ? "accepts" : "refuses");
    if (got && want) {
        cr_expect(json_equal(got, want), "%s: a different tree", why);
        char *a = json_dumps(got, JSON_COMPACT), *b = json_dumps(want, JSON_COMPACT);
        cr_expect_str_eq(a, b, "%s: same keys in the same order", why);
        free(a);
        free(b);
    }
    json_decref(got);
    json_decref(want);
}

Test(wal, replay_json_reader_reads_as_jansson_does)
{
    json_error_t err;
    json_t *cases = json_load_file(TEST_DATA_DIR "/wal/jsonfast_cases.json", 0, &err);
    cr_assert_not_null(cases, "%s", err.text);
    size_t i;
    json_t *c;
    json_array_foreach (cases, i, c) {
        const char *why = json_string_value(json_object_get(c, "why"));
        json_t *text = json_object_get(c, "text");
        if (text) {
            expect_like_jansson(why, json_string_value(text), json_string_length(text));
            if (json_is_true(json_object_get(c, "fast"))) {
                /* read without handing it to jansson: what the store writes must be */
                json_t *fast = jsonfast_read(json_string_value(text), json_string_length(text));
                cr_expect_not_null(fast, "%s: jsonfast reads it itself", why);
                json_decref(fast);
            }
            continue;
        }
        json_t *bytes = json_object_get(c, "text_bytes");
        char buf[64];
        size_t n = 0, k;
        json_t *b;
        json_array_foreach (bytes, k, b) {
            if (n < sizeof(buf))
                buf[n++] = (char)json_integer_value(b);
        }
        expect_like_jansson(why, buf, n);
    }
    json_decref(cases);
}

Test(wal, replay_json_reader_stops_where_jansson_stops_nesting)
{
    for (int depth = 2040; depth <= 2056; depth += 8) {
        size_t len = (size_t)depth * 2;
        char *text = malloc(len);
        memset(text, '[', (size_t)depth);
        memset(text + depth, ']', (size_t)depth);
        char why[32];
        snprintf(why, sizeof(why), "depth %d", depth);
        expect_like_jansson(why, text, len);
        free(text);
    }
}

/* ---- the store on the log -------------------------------------------------------------------- */

Test(wal, a_fresh_directory_starts_empty_with_one_segment)
{
    struct simdisk *d = simdisk_new();
    struct notes *n = notes_new();
    struct store *st = must_open(d, 0, n);
    cr_expect_eq(store_revision(st), 0);
    cr_expect_eq(store_count(st, ""), 0);
    store_free(st);
    char *names = simdisk_names(d);
    cr_expect_str_eq(names, "wal-00000000000000000001.log");
    free(names);
    notes_free(n);
    simdisk_free(d);
}

Test(wal, replay_applies_records_in_revision_order)
{
    struct simdisk *d = simdisk_new();
    struct notes *n = notes_new();
    struct store *st = must_open(d, 0, n);
    struct store_obj *a = NULL;
    cr_assert_eq(put(st, STORE_OP_CREATE, "a", "first", 0, NULL), STORE_OK);  /* 1 */
    cr_assert_eq(put(st, STORE_OP_CREATE, "b", "b", 0, NULL), STORE_OK);      /* 2 */
    cr_assert_eq(put(st, STORE_OP_UPDATE, "a", "second", 1, NULL), STORE_OK); /* 3 */
    cr_assert_eq(put(st, STORE_OP_DELETE, "a", NULL, 3, NULL), STORE_OK);     /* 4 */
    cr_assert_eq(put(st, STORE_OP_CREATE, "a", "third", 0, &a), STORE_OK);    /* 5 */
    cr_assert_eq(put(st, STORE_OP_DELETE, "b", NULL, 0, NULL), STORE_OK);     /* 6 */
    cr_assert_eq(put(st, STORE_OP_CREATE, "c", "c", 0, NULL), STORE_OK);      /* 7 */
    char *a_bytes = strdup(a->bytes);
    store_obj_unref(a);
    store_free(st);

    st = must_open(d, 0, n);
    cr_expect_eq(store_revision(st), 7, "resourceVersions continue from the last stored one");
    cr_expect_eq(store_count(st, ""), 2);
    struct store_obj *got = get(st, "a");
    cr_assert_not_null(got);
    cr_expect_str_eq(got->bytes, a_bytes, "the object reads back byte for byte");
    cr_expect_eq(got->rv, 5);
    cr_expect_str_eq(json_string_value(json_object_get(
                         json_object_get(store_obj_json(got), "metadata"), "resourceVersion")),
                     "5");
    store_obj_unref(got);
    cr_expect_null(get(st, "b"));
    /* The next write continues the numbering. */
    struct store_obj *d2 = NULL;
    cr_assert_eq(put(st, STORE_OP_CREATE, "d", "d", 0, &d2), STORE_OK);
    cr_expect_eq(d2->rv, 8);
    store_obj_unref(d2);
    store_free(st);
    free(a_bytes);
    notes_free(n);
    simdisk_free(d);
}

Test(wal, watches_from_before_a_restart_are_expired)
{
    struct simdisk *d = simdisk_new();
    struct notes *n = notes_new();
    struct store *st = must_open(d, 0, n);
    for (int i = 0; i < 3; i++) {
        char name[8];
        snprintf(name, sizeof(name), "s%d", i);
        cr_assert_eq(put(st, STORE_OP_CREATE, name, "x", 0, NULL), STORE_OK);
    }
    store_free(st);
    st = must_open(d, 0, n);
    cr_expect_eq(store_oldest_revision(st), 3);
    struct store_event ev[4];
    cr_expect_eq(store_events_since(st, 2, ev, 4), STORE_ERR_EXPIRED);
    cr_expect_eq(store_events_since(st, 3, ev, 4), 0);
    cr_assert_eq(put(st, STORE_OP_CREATE, "s9", "x", 0, NULL), STORE_OK);
    long got = store_events_since(st, 3, ev, 4);
    cr_assert_eq(got, 1);
    cr_expect_eq(ev[0].rv, 4);
    store_event_release(&ev[0]);
    store_free(st);
    notes_free(n);
    simdisk_free(d);
}

Test(wal, a_torn_last_record_is_cut_and_reported)
{
    struct simdisk *d = simdisk_new();
    struct notes *n = notes_new();
    struct store *st = must_open(d, 0, n);
    cr_assert_eq(put(st, STORE_OP_CREATE, "a", "a", 0, NULL), STORE_OK);
    cr_assert_eq(put(st, STORE_OP_CREATE, "b", "b", 0, NULL), STORE_OK);
    store_free(st);
    size_t len;
    char *bytes = simdisk_read(d, seg(1), &len);
    /* A third record, cut in the middle as a power loss leaves it. */
    struct strbuf b;
    strbuf_init(&b, STRBUF_NO_LIMIT);
    strbuf_add(&b, bytes, len);
    struct wal_rec rec = {.type = WAL_REC_PUT,
                          .rv = 3,
                          .key = "services/default/c",
                          .key_len = 18,
                          .value = "{\"kind\":\"Service\"}",
                          .value_len = 18};
    wal_rec_encode(&b, &rec);
    simdisk_put(d, seg(1), b.buf, len + 30);

    st = must_open(d, 0, n);
    cr_expect_eq(store_revision(st), 2);
    cr_expect_eq(store_count(st, ""), 2);
    char want[64];
    snprintf(want, sizeof(want), "offset %zu", len);
    cr_expect(strstr(n->text, seg(1)) && strstr(n->text, want) && strstr(n->text, "torn"),
              "says so: %s", n->text);
    cr_assert_eq(put(st, STORE_OP_CREATE, "c", "c", 0, NULL), STORE_OK);
    store_free(st);
    /* The log was cut before the new record was appended: it replays cleanly. */
    n->text[0] = '\0';
    st = must_open(d, 0, n);
    cr_expect_eq(store_revision(st), 3);
    cr_expect_eq(store_count(st, ""), 3);
    cr_expect_str_eq(n->text, "");
    store_free(st);
    strbuf_release(&b);
    free(bytes);
    notes_free(n);
    simdisk_free(d);
}

Test(wal, a_zero_filled_tail_is_torn_not_damage)
{
    struct simdisk *d = simdisk_new();
    struct notes *n = notes_new();
    struct store *st = must_open(d, 0, n);
    cr_assert_eq(put(st, STORE_OP_CREATE, "a", "a", 0, NULL), STORE_OK);
    store_free(st);
    size_t len;
    char *bytes = simdisk_read(d, seg(1), &len);
    char *longer = calloc(1, len + 4096);
    memcpy(longer, bytes, len);
    simdisk_put(d, seg(1), longer, len + 4096);
    st = must_open(d, 0, n);
    cr_expect_eq(store_revision(st), 1);
    store_free(st);
    size_t after;
    free(simdisk_read(d, seg(1), &after));
    cr_expect_eq(after, len, "the zeros were cut");
    free(longer);
    free(bytes);
    notes_free(n);
    simdisk_free(d);
}

Test(wal, corruption_in_the_middle_stops_the_start_naming_file_and_offset)
{
    struct simdisk *d = simdisk_new();
    struct notes *n = notes_new();
    struct store *st = must_open(d, 0, n);
    struct store_obj *first = NULL;
    cr_assert_eq(put(st, STORE_OP_CREATE, "a", "a", 0, &first), STORE_OK);
    cr_assert_eq(put(st, STORE_OP_CREATE, "b", "b", 0, NULL), STORE_OK);
    cr_assert_eq(put(st, STORE_OP_CREATE, "c", "c", 0, NULL), STORE_OK);
    store_free(st);
    size_t len;
    char *bytes = simdisk_read(d, seg(1), &len);
    size_t second = 20 + strlen(first->key) + first->len;
    store_obj_unref(first);
    bytes[second + 40] ^= 0x01;
    simdisk_put(d, seg(1), bytes, len);
    char msg[512];
    cr_expect_null(open_sim(d, 0, n, msg, sizeof(msg)));
    char want[64];
    snprintf(want, sizeof(want), "offset %zu", second);
    cr_expect(strstr(msg, seg(1)) && strstr(msg, want), "names file and offset: %s", msg);
    size_t untouched;
    free(simdisk_read(d, seg(1), &untouched));
    cr_expect_eq(untouched, len, "nothing was cut");
    free(bytes);
    notes_free(n);
    simdisk_free(d);
}

Test(wal, a_bad_record_in_an_older_segment_stops_the_start)
{
    struct simdisk *d = simdisk_new();
    struct notes *n = notes_new();
    struct store *st = must_open(d, 0, n);
    cr_assert_eq(put(st, STORE_OP_CREATE, "a", "a", 0, NULL), STORE_OK);
    cr_assert_eq(put(st, STORE_OP_CREATE, "b", "b", 0, NULL), STORE_OK);
    store_free(st);
    /* A later segment exists, so the cut-short end of the first one is not a torn write. */
    size_t len;
    char *bytes = simdisk_read(d, seg(1), &len);
    simdisk_put(d, seg(1), bytes, len - 3);
    simdisk_put(d, seg(3), "", 0);
    char msg[512];
    cr_expect_null(open_sim(d, 0, n, msg, sizeof(msg)));
    cr_expect(strstr(msg, seg(1)) != NULL, "%s", msg);
    free(bytes);
    notes_free(n);
    simdisk_free(d);
}

Test(wal, a_missing_segment_stops_the_start)
{
    struct simdisk *d = simdisk_new();
    struct notes *n = notes_new();
    struct store *st = must_open(d, 0, n);
    cr_assert_eq(put(st, STORE_OP_CREATE, "a", "a", 0, NULL), STORE_OK);
    store_free(st);
    simdisk_put(d, seg(5), "", 0); /* revisions 2 to 4 are nowhere */
    char msg[512];
    cr_expect_null(open_sim(d, 0, n, msg, sizeof(msg)));
    cr_expect(strstr(msg, seg(5)) != NULL, "%s", msg);
    notes_free(n);
    simdisk_free(d);
}

Test(wal, a_snapshot_replaces_the_log_and_the_state_survives_it)
{
    struct simdisk *d = simdisk_new();
    struct notes *n = notes_new();
    struct store *st = must_open(d, 1500, n);
    char payload[200];
    memset(payload, 'p', sizeof(payload) - 1);
    payload[sizeof(payload) - 1] = '\0';
    for (int i = 0; i < 40; i++) {
        char name[16];
        snprintf(name, sizeof(name), "s%d", i % 7);
        struct store_obj *cur = get(st, name);
        int rc = cur ? put(st, i % 5 == 0 ? STORE_OP_DELETE : STORE_OP_UPDATE, name, payload,
                           cur->rv, NULL)
                     : put(st, STORE_OP_CREATE, name, payload, 0, NULL);
        store_obj_unref(cur);
        cr_assert_eq(rc, STORE_OK, "write %d", i);
    }
    struct store_list_opts lo = {.prefix = ""};
    struct store_list_result before;
    cr_assert_eq(store_list(st, &lo, &before), STORE_OK);
    store_free(st); /* waits for a snapshot being written */
    char *names = simdisk_names(d);
    cr_expect(strstr(names, "snap-") != NULL, "a snapshot was written: %s", names);
    cr_expect(strstr(names, seg(1)) == NULL, "the first segment was removed: %s", names);
    cr_expect(strstr(names, ".tmp") == NULL, "%s", names);
    free(names);

    st = must_open(d, 1500, n);
    cr_expect_eq(store_revision(st), 40);
    struct store_list_result after;
    cr_assert_eq(store_list(st, &lo, &after), STORE_OK);
    cr_assert_eq(after.n, before.n);
    for (size_t i = 0; i < after.n; i++) {
        cr_expect_str_eq(after.items[i]->key, before.items[i]->key);
        cr_expect_str_eq(after.items[i]->bytes, before.items[i]->bytes);
        cr_expect_eq(after.items[i]->rv, before.items[i]->rv);
    }
    store_list_result_release(&before);
    store_list_result_release(&after);
    store_free(st);
    notes_free(n);
    simdisk_free(d);
}

/* ---- durability before visibility ------------------------------------------------------------ */

struct bg_write {
    struct store *st;
    char name[16];
    int rc;
    pthread_t thread;
};

static void *bg_write_main(void *arg)
{
    struct bg_write *w = arg;
    w->rc = put(w->st, STORE_OP_CREATE, w->name, "x", 0, NULL);
    return NULL;
}

struct bg_get {
    struct store *st;
    const char *name;
    struct store_obj *obj;
    atomic_int done;
    pthread_t thread;
};

static void *bg_get_main(void *arg)
{
    struct bg_get *g = arg;
    g->obj = get(g->st, g->name);
    atomic_store(&g->done, 1);
    return NULL;
}

static void wait_for_syncs_waiting(struct simdisk *d, int n)
{
    for (int i = 0; i < 2000 && simdisk_syncs_waiting(d) < n; i++)
        usleep(1000);
    cr_assert_geq(simdisk_syncs_waiting(d), n);
}

Test(wal, nothing_is_visible_before_it_is_durable)
{
    struct simdisk *d = simdisk_new();
    struct notes *n = notes_new();
    struct store *st = must_open(d, 0, n);
    simdisk_hold_syncs(d, true);
    struct bg_write w = {.st = st, .name = "a"};
    pthread_create(&w.thread, NULL, bg_write_main, &w);
    wait_for_syncs_waiting(d, 1); /* the commit is in memory, its sync held */

    cr_expect_eq(store_revision(st), 0, "the revision readers see has not moved");
    struct store_event ev[2];
    cr_expect_eq(store_events_since(st, 0, ev, 2), 0, "no event is published yet");
    struct bg_get g = {.st = st, .name = "a"};
    pthread_create(&g.thread, NULL, bg_get_main, &g);
    usleep(50000);
    cr_expect_eq(atomic_load(&g.done), 0, "a GET of the object waits for its sync");

    simdisk_hold_syncs(d, false);
    pthread_join(w.thread, NULL);
    pthread_join(g.thread, NULL);
    cr_expect_eq(w.rc, STORE_OK);
    cr_assert_not_null(g.obj, "and then sees it");
    cr_expect_eq(g.obj->rv, 1);
    store_obj_unref(g.obj);
    cr_expect_eq(store_revision(st), 1);
    cr_assert_eq(store_events_since(st, 0, ev, 2), 1);
    store_event_release(&ev[0]);
    store_free(st);
    notes_free(n);
    simdisk_free(d);
}

static void *bg_delete_main(void *arg)
{
    struct bg_write *w = arg;
    w->rc = put(w->st, STORE_OP_DELETE, w->name, NULL, 0, NULL);
    return NULL;
}

Test(wal, a_get_of_a_deleted_key_waits_for_the_deletion)
{
    struct simdisk *d = simdisk_new();
    struct notes *n = notes_new();
    struct store *st = must_open(d, 0, n);
    cr_assert_eq(put(st, STORE_OP_CREATE, "a", "x", 0, NULL), STORE_OK);
    simdisk_hold_syncs(d, true);
    struct bg_write w = {.st = st, .name = "a"};
    pthread_create(&w.thread, NULL, bg_delete_main, &w);
    wait_for_syncs_waiting(d, 1);
    struct bg_get g = {.st = st, .name = "a"};
    pthread_create(&g.thread, NULL, bg_get_main, &g);
    usleep(50000);
    cr_expect_eq(atomic_load(&g.done), 0, "the miss would show the deletion: it waits");
    struct store_event ev[2];
    cr_expect_eq(store_events_since(st, 1, ev, 2), 0, "no DELETED event yet");
    simdisk_hold_syncs(d, false);
    pthread_join(w.thread, NULL);
    pthread_join(g.thread, NULL);
    cr_expect_eq(w.rc, STORE_OK);
    cr_expect_null(g.obj);
    store_free(st);
    notes_free(n);
    simdisk_free(d);
}

Test(wal, concurrent_writers_share_one_sync)
{
    struct simdisk *d = simdisk_new();
    struct notes *n = notes_new();
    struct store *st = must_open(d, 0, n);
    enum { WRITERS = 16 };
    struct bg_write w[WRITERS];
    simdisk_hold_syncs(d, true);
    /* The first writer's sync is held; the others gather behind it in the next batch. */
    w[0] = (struct bg_write){.st = st, .name = "w0"};
    pthread_create(&w[0].thread, NULL, bg_write_main, &w[0]);
    wait_for_syncs_waiting(d, 1);
    for (int i = 1; i < WRITERS; i++) {
        w[i] = (struct bg_write){.st = st};
        snprintf(w[i].name, sizeof(w[i].name), "w%d", i);
        pthread_create(&w[i].thread, NULL, bg_write_main, &w[i]);
    }
    /* Give them time to commit in memory and queue behind the held sync. */
    usleep(300000);
    long syncs_before = simdisk_syncs(d);
    simdisk_hold_syncs(d, false);
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(w[i].thread, NULL);
        cr_expect_eq(w[i].rc, STORE_OK);
    }
    long syncs = simdisk_syncs(d) - syncs_before;
    /* One for the held batch, one for everything that gathered meanwhile; a slow thread may
       need one more. Without group commit it would be one per writer. */
    cr_expect_leq(syncs, 4, "%d writers needed %ld syncs", WRITERS, syncs);
    cr_expect_eq(store_revision(st), WRITERS);
    store_free(st);
    notes_free(n);
    simdisk_free(d);
}

/* ---- power loss after every call ------------------------------------------------------------- */

#define PL_KEYS   5
#define PL_WRITES 36

/* The acknowledged state: for each key its bytes and revision, or nothing. */
struct model {
    char *bytes[PL_KEYS];
    uint64_t rv[PL_KEYS];
    uint64_t last_rv;
};

static void model_release(struct model *m)
{
    for (int i = 0; i < PL_KEYS; i++)
        free(m->bytes[i]);
    memset(m, 0, sizeof(*m));
}

static void model_copy(struct model *dst, const struct model *src)
{
    *dst = *src;
    for (int i = 0; i < PL_KEYS; i++)
        dst->bytes[i] = src->bytes[i] ? strdup(src->bytes[i]) : NULL;
}

/* Whether the store holds exactly the model. */
static bool store_matches(struct store *st, const struct model *m, char *why, size_t why_len)
{
    int present = 0;
    for (int i = 0; i < PL_KEYS; i++) {
        char name[8];
        snprintf(name, sizeof(name), "k%d", i);
        struct store_obj *o = get(st, name);
        bool ok = m->bytes[i] ? o && !strcmp(o->bytes, m->bytes[i]) && o->rv == m->rv[i] : !o;
        if (!ok) {
            snprintf(why, why_len, "key %s: stored %s, acknowledged %s", name,
                     o ? o->bytes : "(none)", m->bytes[i] ? m->bytes[i] : "(none)");
            store_obj_unref(o);
            return false;
        }
        present += o != NULL;
        store_obj_unref(o);
    }
    if (store_count(st, "") != (size_t)present) {
        snprintf(why, why_len, "%zu objects stored, %d expected", store_count(st, ""), present);
        return false;
    }
    if (store_revision(st) != m->last_rv) {
        snprintf(why, why_len, "revision %llu, last acknowledged %llu",
                 (unsigned long long)store_revision(st), (unsigned long long)m->last_rv);
        return false;
    }
    return true;
}

/* Segment files on the disk now. */
static int count_segments(struct simdisk *d)
{
    char *names = simdisk_names(d);
    int n = 0;
    for (const char *p = names; (p = strstr(p, "wal-")); p++)
        n++;
    free(names);
    return n;
}

/*
 * The snapshot thread may lag behind a fast writer; let it finish (the old segment gone) so
 * that every step of every snapshot falls under some cut. Gives up when the power is off.
 */
static void let_snapshot_finish(struct simdisk *d)
{
    for (int i = 0; i < 20000 && count_segments(d) > 1 && !simdisk_power_off(d); i++)
        usleep(50);
}

/*
 * The scripted workload: creates, updates and deletes over a few keys, large enough objects
 * and a small threshold so that several snapshots and rotations happen. Stops at the first
 * failure. m gets the acknowledged state; in_flight (when not NULL) the state had the failed
 * write succeeded.
 */
static void run_workload(struct store *st, struct simdisk *d, struct model *m,
                         struct model *in_flight)
{
    char payload[160];
    for (int i = 0; i < PL_WRITES; i++) {
        int k = (i * 3) % PL_KEYS;
        char name[8];
        snprintf(name, sizeof(name), "k%d", k);
        snprintf(payload, sizeof(payload), "write %d of the power-loss workload %0100d", i, i);
        enum store_op op = !m->bytes[k] ? STORE_OP_CREATE
                           : i % 4 == 3 ? STORE_OP_DELETE
                                        : STORE_OP_UPDATE;
        struct store_obj *res = NULL;
        if (in_flight) {
            /* What the state would be: the write's revision is the next one, and its bytes are
               those of a successful write (rebuilt here, the store returns none on failure). */
            model_release(in_flight);
            model_copy(in_flight, m);
            in_flight->last_rv = m->last_rv + 1;
            free(in_flight->bytes[k]);
            in_flight->bytes[k] = NULL;
            if (op != STORE_OP_DELETE) {
                json_t *o = svc(name, payload);
                char rvs[24];
                snprintf(rvs, sizeof(rvs), "%llu", (unsigned long long)(m->last_rv + 1));
                json_object_set_new(json_object_get(o, "metadata"), "resourceVersion",
                                    json_string(rvs));
                in_flight->bytes[k] = json_dumps(o, JSON_COMPACT);
                in_flight->rv[k] = m->last_rv + 1;
                json_decref(o);
            }
        }
        int rc = put(st, op, name, payload, op == STORE_OP_CREATE ? 0 : m->rv[k], &res);
        if (rc != STORE_OK) {
            cr_assert_eq(rc, STORE_ERR_IO, "write %d: %d", i, rc);
            return;
        }
        m->last_rv = op == STORE_OP_DELETE ? m->last_rv + 1 : res->rv;
        free(m->bytes[k]);
        m->bytes[k] = op == STORE_OP_DELETE ? NULL : strdup(res->bytes);
        m->rv[k] = op == STORE_OP_DELETE ? 0 : res->rv;
        store_obj_unref(res);
        let_snapshot_finish(d);
    }
    if (in_flight)
        model_release(in_flight);
}

/* Recover from the rebooted disk, compare, then prove the log takes and keeps new writes. */
static void check_recovery(struct simdisk *rebooted, const struct model *acked,
                           const struct model *in_flight, long cut, bool torn)
{
    struct notes *n = notes_new();
    char msg[512];
    struct store *st = open_sim(rebooted, 900, n, msg, sizeof(msg));
    cr_assert_not_null(st, "cut at call %ld%s: the store refuses to start: %s", cut,
                       torn ? " (torn)" : "", msg);
    char why[512], why2[512] = "";
    bool ok = store_matches(st, acked, why, sizeof(why));
    if (!ok && in_flight && in_flight->last_rv)
        ok = store_matches(st, in_flight, why2, sizeof(why2));
    cr_assert(ok, "cut at call %ld%s: %s %s", cut, torn ? " (torn)" : "", why, why2);
    uint64_t rv = store_revision(st);
    cr_assert_eq(put(st, STORE_OP_CREATE, "after", "x", 0, NULL), STORE_OK);
    store_free(st);
    st = open_sim(rebooted, 900, n, msg, sizeof(msg));
    cr_assert_not_null(st, "cut at call %ld: second start: %s", cut, msg);
    struct store_obj *o = get(st, "after");
    cr_assert_not_null(o, "cut at call %ld: the write after recovery survives", cut);
    cr_expect_eq(o->rv, rv + 1);
    store_obj_unref(o);
    store_free(st);
    notes_free(n);
}

Test(wal, power_loss_after_any_call_keeps_exactly_the_acknowledged_writes, .timeout = 600)
{
    long total = 0;
    for (long cut = 1;; cut++) {
        for (int torn = 0; torn < 2; torn++) {
            struct simdisk *d = simdisk_new();
            struct notes *n = notes_new();
            struct model acked = {0}, in_flight = {0};
            simdisk_cut_after(d, cut);
            char msg[512];
            struct store *st = open_sim(d, 900, n, msg, sizeof(msg));
            if (st) {
                run_workload(st, d, &acked, torn ? &in_flight : NULL);
                store_free(st);
            }
            bool cut_happened = simdisk_power_off(d);
            if (!cut_happened) {
                cr_assert_not_null(st, "%s", msg);
                total = cut;
            }
            struct simdisk *r = simdisk_reboot(d, torn, (unsigned)cut);
            check_recovery(r, &acked, torn ? &in_flight : NULL, cut, torn);
            simdisk_free(r);
            model_release(&acked);
            model_release(&in_flight);
            notes_free(n);
            simdisk_free(d);
        }
        if (total)
            break;
        cr_assert_lt(cut, 20000, "the workload never finishes");
    }
    cr_expect_gt(total, 100, "the workload made %ld calls", total);
    cr_log_info("the power was cut at each of %ld calls", total);
}

/* ---- the real directory ---------------------------------------------------------------------- */

Test(wal, a_second_server_on_the_same_directory_is_refused)
{
    char dir[] = "/tmp/svc-test-wal-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char msg[512];
    struct store_config cfg = {.data_dir = dir};
    struct store *st = store_open(&cfg, msg, sizeof(msg));
    cr_assert_not_null(st, "%s", msg);
    cr_assert_eq(put(st, STORE_OP_CREATE, "a", "x", 0, NULL), STORE_OK);
    struct store *second = store_open(&cfg, msg, sizeof(msg));
    cr_expect_null(second);
    cr_expect(strstr(msg, dir) && strstr(msg, "in use"), "a clear message: %s", msg);
    store_free(second);
    store_free(st);
    /* Released on close: a new start succeeds and finds the write. */
    st = store_open(&cfg, msg, sizeof(msg));
    cr_assert_not_null(st, "%s", msg);
    struct store_obj *o = get(st, "a");
    cr_expect_not_null(o);
    store_obj_unref(o);
    store_free(st);
    char path[256];
    const char *files[] = {"LOCK", "wal-00000000000000000001.log"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        cr_expect_eq(unlink(path), 0, "%s exists", path);
    }
    cr_expect_eq(rmdir(dir), 0);
}

Test(wal, the_data_directory_is_created_when_missing)
{
    char base[] = "/tmp/svc-test-wal-XXXXXX";
    cr_assert_not_null(mkdtemp(base));
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/data/", base);
    char msg[512];
    struct fileio *io = fileio_posix_new(dir, msg, sizeof(msg));
    cr_expect_not_null(io, "%s", msg); /* the parent exists, the directory not yet */
    snprintf(dir, sizeof(dir), "%s/data", base);
    struct stat sb;
    cr_expect_eq(stat(dir, &sb), 0);
    fileio_free(io);
    char path[160];
    snprintf(path, sizeof(path), "%s/LOCK", dir);
    unlink(path);
    rmdir(dir);
    rmdir(base);
}

/* ---- flags ----------------------------------------------------------------------------------- */

static int parse_threshold(const char *value, long long *out, char *msg)
{
    struct svc_config c;
    config_init(&c);
    char arg[64];
    snprintf(arg, sizeof(arg), "--snapshot-threshold=%s", value);
    const char *argv[] = {"svc-apiserver", arg, NULL};
    /* config_parse takes main's argv; it does not write to the strings. */
    int rc = config_parse(&c, 2, (char **)argv, msg, 256);
    *out = c.snapshot_threshold;
    config_release(&c);
    return rc;
}

Test(wal, snapshot_threshold_takes_quantities)
{
    struct svc_config c;
    config_init(&c);
    cr_expect_eq(c.snapshot_threshold, 64LL << 20, "default 64Mi");
    cr_expect_null(c.data_dir);
    config_release(&c);
    static const struct {
        const char *in;
        long long want;
    } ok[] = {{"64Mi", 64LL << 20}, {"1Mi", 1 << 20}, {"4096", 4096},  {"512Ki", 512 << 10},
              {"1Gi", 1LL << 30},   {"10k", 10000},   {"2M", 2000000}, {"1", 1}};
    char msg[256];
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        long long v = 0;
        cr_expect_eq(parse_threshold(ok[i].in, &v, msg), 0, "%s: %s", ok[i].in, msg);
        cr_expect_eq(v, ok[i].want, "%s", ok[i].in);
    }
    const char *bad[] = {"", "abc", "-1", "0", "1.5Mi", "64MiB", "2Ti", "Mi", "99999999999999Gi"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long long v;
        msg[0] = '\0';
        cr_expect_eq(parse_threshold(bad[i], &v, msg), -1, "%s", bad[i]);
        cr_expect(strstr(msg, "snapshot-threshold") != NULL, "names the flag: %s", msg);
    }
}

Test(wal, data_dir_flag_and_file_key)
{
    struct svc_config c;
    config_init(&c);
    char msg[256];
    const char *argv[] = {"svc-apiserver", "--data-dir", "/var/lib/svc", NULL};
    cr_assert_eq(config_parse(&c, 3, (char **)argv, msg, sizeof(msg)), 0, "%s", msg);
    cr_expect_str_eq(c.data_dir, "/var/lib/svc");
    const char *yaml = "data-dir: /srv/x\nsnapshot-threshold: 1Mi\n";
    cr_assert_eq(config_load_yaml(&c, "c.yaml", yaml, strlen(yaml), msg, sizeof(msg)), 0, "%s",
                 msg);
    cr_expect_str_eq(c.data_dir, "/srv/x");
    cr_expect_eq(c.snapshot_threshold, 1 << 20);
    cr_expect(strstr(config_usage(), "--data-dir string") != NULL);
    cr_expect(strstr(config_usage(), "--snapshot-threshold size") != NULL);
    config_release(&c);
}
