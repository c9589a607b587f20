/*
 * test_skiplist: the ordered map of src/store/skiplist.c (include/svc/skiplist.h): strcmp
 * order (bytes compared unsigned, as etcd orders keys), seek to the first key >= or > a key,
 * replace and remove, and 100k random operations checked against a plain array model.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc/skiplist.h"

/* A deterministic generator for the model test (independent of the code under test). */
static uint64_t lcg_state;
static uint32_t lcg(void)
{
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(lcg_state >> 33);
}

static void *val(uintptr_t v)
{
    return (void *)v;
}

Test(skiplist, empty_map)
{
    struct skiplist *sl = skiplist_new();
    cr_expect_eq(skiplist_size(sl), 0);
    cr_expect_null(skiplist_get(sl, "a"));
    cr_expect_null(skiplist_get(sl, ""));
    cr_expect_null(skiplist_remove(sl, "a"));
    cr_expect_null(skiplist_seek(sl, "", 0));
    cr_expect_null(skiplist_seek(sl, "a", 1));
    skiplist_free(sl);
    skiplist_free(NULL);
}

Test(skiplist, put_get_replace_and_key_is_copied)
{
    struct skiplist *sl = skiplist_new();
    char key[16] = "services/a";
    cr_expect_null(skiplist_put(sl, key, val(1)));
    strcpy(key, "services/b"); /* the map must hold its own copy */
    cr_expect_eq(skiplist_get(sl, "services/a"), val(1));
    cr_expect_null(skiplist_get(sl, "services/b"));
    cr_expect_eq(skiplist_put(sl, "services/a", val(2)), val(1), "put returns the replaced value");
    cr_expect_eq(skiplist_size(sl), 1, "a replace does not add a node");
    cr_expect_eq(skiplist_get(sl, "services/a"), val(2));
    cr_expect_null(skiplist_get(sl, "services/"), "a prefix is not the key");
    cr_expect_null(skiplist_get(sl, "services/aa"));
    skiplist_free(sl);
}

Test(skiplist, iterates_in_strcmp_order)
{
    static const char *const keys[] = {
        "services/default/web",
        "services/default/api",
        "endpoints/default/web",
        "services/a/x",
        "",
        "services/default/web-2",
        "services/default/web/",
        "z",
        "\xc3\xa9",
        "A",
        "services",
    };
    size_t n = sizeof(keys) / sizeof(keys[0]);
    struct skiplist *sl = skiplist_new();
    for (size_t i = 0; i < n; i++)
        skiplist_put(sl, keys[i], val(i + 1));
    cr_expect_eq(skiplist_size(sl), n);
    const char *sorted[] = {
        "",
        "A",
        "endpoints/default/web",
        "services",
        "services/a/x",
        "services/default/api",
        "services/default/web",
        "services/default/web-2",
        "services/default/web/",
        "z",
        "\xc3\xa9", /* bytes >= 0x80 sort after ASCII: unsigned comparison */
    };
    size_t i = 0;
    for (struct skiplist_node *it = skiplist_seek(sl, "", 0); it; it = skiplist_next(it), i++) {
        cr_assert_lt(i, n);
        cr_expect_str_eq(skiplist_node_key(it), sorted[i], "position %zu", i);
        cr_expect_str_eq(keys[(uintptr_t)skiplist_node_value(it) - 1], sorted[i]);
    }
    cr_expect_eq(i, n);
    skiplist_free(sl);
}

Test(skiplist, seek_finds_first_at_or_after)
{
    struct skiplist *sl = skiplist_new();
    skiplist_put(sl, "b", val(2));
    skiplist_put(sl, "d", val(4));
    skiplist_put(sl, "f", val(6));
    struct skiplist_node *n = skiplist_seek(sl, "b", 0);
    cr_assert_not_null(n);
    cr_expect_str_eq(skiplist_node_key(n), "b", "an exact match with after=0");
    n = skiplist_seek(sl, "b", 1);
    cr_assert_not_null(n);
    cr_expect_str_eq(skiplist_node_key(n), "d", "strictly after with after=1");
    n = skiplist_seek(sl, "c", 1);
    cr_assert_not_null(n);
    cr_expect_str_eq(skiplist_node_key(n), "d", "an absent key: the next one either way");
    n = skiplist_seek(sl, "a", 0);
    cr_assert_not_null(n);
    cr_expect_str_eq(skiplist_node_key(n), "b");
    cr_expect_null(skiplist_seek(sl, "f", 1));
    cr_expect_null(skiplist_seek(sl, "g", 0));
    n = skiplist_seek(sl, "f", 0);
    cr_assert_not_null(n);
    cr_expect_eq(skiplist_node_value(n), val(6));
    cr_expect_null(skiplist_next(n));
    skiplist_free(sl);
}

Test(skiplist, prefix_ranges_for_namespaces)
{
    struct skiplist *sl = skiplist_new();
    skiplist_put(sl, "services/default/a", val(1));
    skiplist_put(sl, "services/default/b", val(2));
    skiplist_put(sl, "services/default-2/a", val(3));
    skiplist_put(sl, "services/kube-system/a", val(4));
    skiplist_put(sl, "servicesx/default/a", val(5));
    const char *prefix = "services/default/";
    size_t count = 0;
    for (struct skiplist_node *it = skiplist_seek(sl, prefix, 0);
         it && !strncmp(skiplist_node_key(it), prefix, strlen(prefix)); it = skiplist_next(it))
        count++;
    cr_expect_eq(count, 2, "default/ does not include default-2/");
    skiplist_free(sl);
}

Test(skiplist, remove_unlinks_and_returns_value)
{
    struct skiplist *sl = skiplist_new();
    for (int i = 0; i < 50; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%02d", i);
        skiplist_put(sl, k, val((uintptr_t)i + 100));
    }
    cr_expect_eq(skiplist_remove(sl, "k10"), val(110));
    cr_expect_null(skiplist_remove(sl, "k10"), "a second remove finds nothing");
    cr_expect_null(skiplist_get(sl, "k10"));
    cr_expect_eq(skiplist_size(sl), 49);
    struct skiplist_node *n = skiplist_seek(sl, "k09", 1);
    cr_assert_not_null(n);
    cr_expect_str_eq(skiplist_node_key(n), "k11");
    /* Remove everything, first and last included, then reuse. */
    for (int i = 0; i < 50; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%02d", i);
        skiplist_remove(sl, k);
    }
    cr_expect_eq(skiplist_size(sl), 0);
    cr_expect_null(skiplist_seek(sl, "", 0));
    skiplist_put(sl, "again", val(1));
    cr_expect_eq(skiplist_get(sl, "again"), val(1));
    skiplist_free(sl);
}

/* The model: values of keys "k00000".."k01999" (zero-padded so that strcmp order is numeric). */
#define MODEL_KEYS 2000

static void check_against_model(struct skiplist *sl, uintptr_t *model)
{
    size_t expected = 0;
    for (int i = 0; i < MODEL_KEYS; i++)
        expected += model[i] != 0;
    cr_assert_eq(skiplist_size(sl), expected);
    int i = 0;
    for (struct skiplist_node *it = skiplist_seek(sl, "", 0); it; it = skiplist_next(it)) {
        while (i < MODEL_KEYS && !model[i])
            i++;
        cr_assert_lt(i, MODEL_KEYS, "extra key %s", skiplist_node_key(it));
        char k[16];
        snprintf(k, sizeof(k), "k%05d", i);
        cr_assert_str_eq(skiplist_node_key(it), k);
        cr_assert_eq((uintptr_t)skiplist_node_value(it), model[i]);
        i++;
    }
    while (i < MODEL_KEYS && !model[i])
        i++;
    cr_assert_eq(i, MODEL_KEYS, "missing key k%05d", i);
}

Test(skiplist, random_operations_match_a_model)
{
    struct skiplist *sl = skiplist_new();
    uintptr_t *model = calloc(MODEL_KEYS, sizeof(*model));
    cr_assert_not_null(model);
    lcg_state = 42;
    for (int op = 0; op < 100000; op++) {
        int k = (int)(lcg() % MODEL_KEYS);
        char key[16];
        snprintf(key, sizeof(key), "k%05d", k);
        switch (lcg() % 4) {
        case 0:
        case 1: { /* put */
            uintptr_t v = (uintptr_t)op + 1;
            void *old = skiplist_put(sl, key, val(v));
            cr_assert_eq((uintptr_t)old, model[k], "put %s", key);
            model[k] = v;
            break;
        }
        case 2: /* remove */
            cr_assert_eq((uintptr_t)skiplist_remove(sl, key), model[k], "remove %s", key);
            model[k] = 0;
            break;
        default: { /* get and seek, at the key or between keys */
            cr_assert_eq((uintptr_t)skiplist_get(sl, key), model[k], "get %s", key);
            int after = (int)(lcg() % 2);
            bool between = lcg() % 2;
            char probe[24];
            snprintf(probe, sizeof(probe), "%s%s", key, between ? "!" : "");
            /* First model key > probe (or >= when !after and the probe is a key). */
            int j = k + ((between || after) ? 1 : 0);
            while (j < MODEL_KEYS && !model[j])
                j++;
            struct skiplist_node *n = skiplist_seek(sl, probe, after);
            if (j == MODEL_KEYS) {
                cr_assert_null(n, "seek %s after=%d", probe, after);
            } else {
                char want[16];
                snprintf(want, sizeof(want), "k%05d", j);
                cr_assert_not_null(n, "seek %s after=%d", probe, after);
                cr_assert_str_eq(skiplist_node_key(n), want, "seek %s after=%d", probe, after);
            }
        }
        }
        if (op % 20000 == 19999)
            check_against_model(sl, model);
    }
    check_against_model(sl, model);
    free(model);
    skiplist_free(sl);
}

Test(skiplist, many_keys_in_reverse_order)
{
    struct skiplist *sl = skiplist_new();
    for (int i = 20000; i > 0; i--) {
        char k[16];
        snprintf(k, sizeof(k), "%06d", i);
        skiplist_put(sl, k, val((uintptr_t)i));
    }
    cr_expect_eq(skiplist_size(sl), 20000);
    int prev = 0;
    for (struct skiplist_node *it = skiplist_seek(sl, "", 0); it; it = skiplist_next(it)) {
        int v = (int)(uintptr_t)skiplist_node_value(it);
        cr_assert_eq(v, prev + 1);
        prev = v;
    }
    cr_expect_eq(prev, 20000);
    skiplist_free(sl);
}
