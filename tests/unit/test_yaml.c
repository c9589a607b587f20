/*
 * test_yaml: the YAML codec against upstream's behaviour.
 *
 * The table cases live in tests/data/yaml/: decode/ (YAML in, JSON out), encode/ (JSON in,
 * YAML out), roundtrip/ (YAML in, YAML out) and errors.json (bad YAML in, upstream's message
 * out). Their expected outputs were produced by kubectl, which converts with the same
 * sigs.k8s.io/yaml (go-yaml v2) as kube-apiserver; regen.py there redoes it. The tests below
 * the tables check what the tables cannot: key order, strict duplicates, limits, and that
 * what the writer prints reads back as the same value.
 */
#include <criterion/criterion.h>

#include "svc/strbuf.h"
#include "svc/yaml.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

#define YAML_DATA TEST_DATA_DIR "/yaml"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    cr_assert(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    cr_assert(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static json_t *load_json(const char *path)
{
    json_error_t e;
    json_t *j = json_load_file(path, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    cr_assert(j, "%s: %s", path, e.text);
    return j;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names in dir ending in suffix, suffix cut off; NULL-terminated, caller frees. */
static char **list_cases(const char *dir, const char *suffix, size_t *count)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, slen = strlen(suffix);

    cr_assert(d, "cannot open %s", dir);
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len <= slen || strcmp(de->d_name + len - slen, suffix) != 0)
            continue;
        names = realloc(names, (n + 2) * sizeof(*names));
        cr_assert(names);
        names[n++] = strndup(de->d_name, len - slen);
    }
    closedir(d);
    if (names) {
        names[n] = NULL;
        qsort(names, n, sizeof(*names), name_cmp);
    }
    *count = n;
    return names;
}

static void free_names(char **names)
{
    for (size_t i = 0; names && names[i]; i++)
        free(names[i]);
    free(names);
}

static char *dump(const json_t *j)
{
    return json_dumps(j, JSON_ENCODE_ANY | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
}

static json_t *parse_str(const char *yaml, int max_depth, struct yaml_error *err)
{
    return yaml_parse(yaml, strlen(yaml), max_depth, err);
}

/* YAML text of v, as a new string. */
static char *emit_str(const json_t *v)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    cr_assert_eq(yaml_emit(v, &sb), 0);
    return strbuf_detach(&sb, NULL);
}

/* ---- the tables ------------------------------------------------------------------------- */

Test(yaml, decodes_like_upstream)
{
    size_t n;
    char **names = list_cases(YAML_DATA "/decode", ".yaml", &n);

    cr_assert_geq(n, 25, "decode cases missing");
    for (size_t i = 0; i < n; i++) {
        char path[512];
        size_t len;
        struct yaml_error err;

        snprintf(path, sizeof(path), YAML_DATA "/decode/%s.yaml", names[i]);
        char *text = read_file(path, &len);
        json_t *got = yaml_parse(text, len, 0, &err);
        cr_assert(got, "%s: %s", names[i], err.text);
        snprintf(path, sizeof(path), YAML_DATA "/decode/%s.json", names[i]);
        json_t *want = load_json(path);
        char *g = dump(got), *w = dump(want);
        cr_expect(json_equal(got, want), "%s:\n got  %s\n want %s", names[i], g, w);
        free(g);
        free(w);
        json_decref(got);
        json_decref(want);
        free(text);
    }
    free_names(names);
}

Test(yaml, encodes_like_upstream)
{
    size_t n;
    char **names = list_cases(YAML_DATA "/encode", ".json", &n);

    cr_assert_geq(n, 9, "encode cases missing");
    for (size_t i = 0; i < n; i++) {
        char path[512];
        size_t len;

        snprintf(path, sizeof(path), YAML_DATA "/encode/%s.json", names[i]);
        json_t *in = load_json(path);
        snprintf(path, sizeof(path), YAML_DATA "/encode/%s.yaml", names[i]);
        char *want = read_file(path, &len);
        char *got = emit_str(in);
        cr_expect_str_eq(got, want, "%s", names[i]);
        free(got);
        free(want);
        json_decref(in);
    }
    free_names(names);
}

Test(yaml, round_trips_like_kubectl)
{
    size_t n;
    char **names = list_cases(YAML_DATA "/roundtrip", ".in.yaml", &n);

    cr_assert_geq(n, 5, "round-trip cases missing");
    for (size_t i = 0; i < n; i++) {
        char path[512];
        size_t len, wlen;
        struct yaml_error err;

        snprintf(path, sizeof(path), YAML_DATA "/roundtrip/%s.in.yaml", names[i]);
        char *in = read_file(path, &len);
        json_t *tree = yaml_parse(in, len, 0, &err);
        cr_assert(tree, "%s: %s", names[i], err.text);
        snprintf(path, sizeof(path), YAML_DATA "/roundtrip/%s.out.yaml", names[i]);
        char *want = read_file(path, &wlen);
        char *got = emit_str(tree);
        cr_expect_str_eq(got, want, "%s", names[i]);
        free(got);
        free(want);
        free(in);
        json_decref(tree);
    }
    free_names(names);
}

Test(yaml, reports_errors_like_go_yaml)
{
    json_t *cases = load_json(YAML_DATA "/errors.json");
    size_t i;
    json_t *c;

    cr_assert_geq(json_array_size(cases), 25, "error cases missing");
    json_array_foreach (cases, i, c) {
        const char *file = json_string_value(json_object_get(c, "file"));
        const char *text = json_string_value(json_object_get(c, "text"));
        json_t *line = json_object_get(c, "line"), *column = json_object_get(c, "column");
        int max_depth = (int)json_integer_value(json_object_get(c, "max_depth"));
        char path[512];
        size_t len;
        struct yaml_error err;

        snprintf(path, sizeof(path), YAML_DATA "/errors/%s", file);
        char *in = read_file(path, &len);
        json_t *got = yaml_parse(in, len, max_depth, &err);
        cr_expect_null(got, "%s: parsed, expected \"%s\"", file, text);
        json_decref(got);
        free(in);
        if (got)
            continue;
        cr_expect_str_eq(err.text, text, "%s", file);
        if (json_is_integer(line))
            cr_expect_eq(err.line, (int)json_integer_value(line), "%s: line %d", file, err.line);
        if (json_is_integer(column))
            cr_expect_eq(err.column, (int)json_integer_value(column), "%s: column %d", file,
                         err.column);
        /* message is the text without go-yaml's prefix and line */
        cr_expect(strstr(err.text, err.message) != NULL, "%s: message \"%s\"", file, err.message);
    }
    json_decref(cases);
}

/* ---- what the tables cannot show -------------------------------------------------------- */

Test(yaml, keeps_document_key_order)
{
    static const char *const order[] = {"zeta", "alpha", "mid", "beta", "1", "true"};
    json_t *j = parse_str("zeta: 1\nalpha: 2\nmid: {c: 1, b: 2}\nbeta: 3\n1: x\nyes: y\n"
                          "alpha: 9\n",
                          0, NULL);
    const char *key;
    json_t *v;
    size_t i = 0;

    cr_assert(j);
    json_object_foreach (j, key, v) {
        cr_assert_lt(i, 6);
        cr_expect_str_eq(key, order[i], "key %zu", i);
        i++;
    }
    cr_expect_eq(i, 6);
    /* a duplicate replaces the value in place, as the last one wins upstream */
    cr_expect_eq(json_integer_value(json_object_get(j, "alpha")), 9);
    json_decref(j);
}

Test(yaml, empty_documents_are_null)
{
    static const char *const docs[] = {"",    "\n",  "# only a comment\n", "---\n", "--- \n...\n",
                                       "~\n", "null"};
    for (size_t i = 0; i < sizeof(docs) / sizeof(*docs); i++) {
        json_t *j = parse_str(docs[i], 0, NULL);
        cr_assert(j, "doc %zu", i);
        cr_expect(json_is_null(j), "doc %zu", i);
        json_decref(j);
    }
}

Test(yaml, top_level_scalars_and_lists)
{
    json_t *j = parse_str("- a\n- 1\n", 0, NULL);
    char *s = dump(j);
    cr_expect_str_eq(s, "[\"a\", 1]");
    free(s);
    json_decref(j);
    j = parse_str("hello\n", 0, NULL);
    cr_expect_str_eq(json_string_value(j), "hello");
    json_decref(j);
}

Test(yaml, strict_lists_duplicate_keys_as_go_yaml)
{
    size_t len;
    char *in = read_file(YAML_DATA "/decode/duplicate_keys.yaml", &len);
    char *dups = NULL;
    json_t *j = yaml_parse_strict(in, len, 0, &dups, NULL);

    cr_assert(j);
    cr_assert(dups);
    /* go-yaml names the line of the duplicate's value and prints the key with %#v */
    cr_expect_str_eq(dups, "yaml: unmarshal errors:\n"
                           "  line 6: key \"v\" already set in map\n"
                           "  line 7: key \"a\" already set in map");
    /* the tree is still the non-strict one */
    cr_expect_eq(json_integer_value(json_object_get(j, "v")), 2);
    free(dups);
    json_decref(j);
    free(in);

    /* a merge that sets a key the mapping already has counts too, as in go-yaml v2 */
    static const char merged[] = "b: &b {a: 1}\nm:\n  a: 2\n  <<: *b\n";
    j = yaml_parse_strict(merged, strlen(merged), 0, &dups, NULL);
    cr_assert(j);
    cr_expect_str_eq(dups, "yaml: unmarshal errors:\n  line 1: key \"a\" already set in map");
    /* v2 merges in place: the merged value overwrites the earlier key */
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(j, "m"), "a")), 1);
    free(dups);
    json_decref(j);

    j = yaml_parse_strict("a: 1\nb: 2\n", strlen("a: 1\nb: 2\n"), 0, &dups, NULL);
    cr_assert(j);
    cr_expect_null(dups);
    json_decref(j);
}

Test(yaml, depth_limit_counts_mappings_sequences_and_aliases)
{
    struct yaml_error err;
    json_t *j = parse_str("a: {b: [1]}\n", 3, &err);
    cr_expect(j, "%s", err.text);
    json_decref(j);

    j = parse_str("a: {b: [[1]]}\n", 3, &err);
    cr_expect_null(j);
    cr_expect_str_eq(err.message, "exceeded max depth of 3");
    cr_expect_eq(err.line, 1);

    /* the anchored value fits where it is written, not where the alias repeats it */
    j = parse_str("x: &x [[1]]\ny: {z: *x}\n", 3, &err);
    cr_expect_null(j);
    cr_expect_str_eq(err.message, "exceeded max depth of 3");
}

Test(yaml, alias_expansion_is_bounded)
{
    /* 200 copies of a 100 kB string: go-yaml shares Go strings, we refuse to copy 20 MB */
    size_t big = 100000, n = 0;
    char *doc = malloc(big + 4000);
    cr_assert(doc);
    n += (size_t)sprintf(doc, "a: &a \"");
    memset(doc + n, 'x', big);
    n += big;
    n += (size_t)sprintf(doc + n, "\"\nb: [");
    for (int i = 0; i < 200; i++)
        n += (size_t)sprintf(doc + n, "%s*a", i ? "," : "");
    n += (size_t)sprintf(doc + n, "]\n");

    struct yaml_error err;
    json_t *j = yaml_parse(doc, n, 0, &err);
    cr_expect_null(j);
    cr_expect_str_eq(err.text, "yaml: document contains excessive aliasing");
    free(doc);

    /* a few aliases of a small anchor are fine */
    j = parse_str("a: &a {x: 1}\nb: [*a, *a, *a]\n", 0, &err);
    cr_assert(j, "%s", err.text);
    cr_expect_eq(json_array_size(json_object_get(j, "b")), 3);
    json_decref(j);
}

Test(yaml, strings_keep_nul_bytes)
{
    json_t *j = parse_str("a: \"x\\0y\"\n", 0, NULL);
    json_t *a = json_object_get(j, "a");
    cr_assert(json_is_string(a));
    cr_expect_eq(json_string_length(a), 3);
    cr_expect_eq(memcmp(json_string_value(a), "x\0y", 3), 0);
    char *y = emit_str(j);
    cr_expect_str_eq(y, "a: \"x\\0y\"\n");
    free(y);
    json_decref(j);
}

/* Whatever the writer chooses (plain, quotes, block), the reader must get the string back. */
Test(yaml, written_strings_read_back)
{
    json_t *cases = load_json(YAML_DATA "/encode/string_styles.json");
    json_t *data = json_object_get(cases, "data");
    const char *key;
    json_t *s;

    cr_assert_gt(json_object_size(data), 100);
    json_object_foreach (data, key, s) {
        json_t *doc = json_object();
        json_object_set(doc, "v", s);
        /* a "<<" key is written plain and reads back as a merge key, upstream too; jansson's
         * json_equal cannot compare keys holding NUL */
        if (strcmp(json_string_value(s), "<<") != 0 &&
            strlen(json_string_value(s)) == json_string_length(s))
            json_object_setn(doc, json_string_value(s), json_string_length(s), json_true());
        char *y = emit_str(doc);
        struct yaml_error err;
        json_t *back = yaml_parse(y, strlen(y), 0, &err);
        cr_expect(back && json_equal(back, doc), "%s: %s", key, back ? y : err.text);
        json_decref(back);
        json_decref(doc);
        free(y);
    }
    json_decref(cases);
}

Test(yaml, emit_stops_at_the_buffer_limit_and_leaves_it_unchanged)
{
    struct strbuf sb;
    json_t *big = json_object();
    for (int i = 0; i < 1000; i++) {
        char k[16];
        snprintf(k, sizeof(k), "key%d", i);
        json_object_set_new(big, k, json_string("some value that takes room"));
    }
    strbuf_init(&sb, 4096);
    cr_assert_eq(strbuf_addstr(&sb, "---\n"), 0);
    cr_expect_eq(yaml_emit(big, &sb), STRBUF_TOO_BIG);
    cr_expect_str_eq(strbuf_str(&sb), "---\n");
    cr_expect_eq(sb.len, 4);

    json_t *small = json_pack("{s:i}", "a", 1);
    cr_expect_eq(yaml_emit(small, &sb), 0);
    cr_expect_str_eq(strbuf_str(&sb), "---\na: 1\n");
    strbuf_release(&sb);
    json_decref(big);
    json_decref(small);
}

/* go-yaml's reader refuses these in the JSON text upstream hands it, so upstream fails too */
Test(yaml, emit_refuses_what_go_yaml_cannot_read)
{
    static const char *const bad[] = {"a\x7f", "\xc2\x80", "x\xc2\x9fy", "\xef\xbf\xbe",
                                      "\xef\xbf\xbf"};
    struct strbuf sb;

    strbuf_init(&sb, STRBUF_NO_LIMIT);
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        json_t *v = json_pack("{s:s}", "k", bad[i]);
        cr_assert(v);
        cr_expect_eq(yaml_emit(v, &sb), YAML_EMIT_INVALID, "string %zu", i);
        cr_expect_eq(sb.len, 0);
        json_decref(v);
        v = json_pack("{s:i}", bad[i], 1);
        cr_expect_eq(yaml_emit(v, &sb), YAML_EMIT_INVALID, "key %zu", i);
        json_decref(v);
    }
    /* NEL and U+FFFD are fine */
    json_t *v = json_pack("{s:s}", "k", "\xc2\x85\xef\xbf\xbd");
    cr_expect_eq(yaml_emit(v, &sb), 0);
    json_decref(v);
    strbuf_release(&sb);
}

Test(yaml, emit_refuses_more_nesting_than_go_yaml_reads)
{
    struct strbuf sb;
    json_t *root = json_array(), *cur = root;

    /* 10000 nested arrays are fine, the 10001st is not */
    for (int i = 1; i < YAML_DEPTH_CAP; i++) {
        json_t *next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    cr_expect_eq(yaml_emit(root, &sb), 0);
    strbuf_reset(&sb);
    json_array_append_new(cur, json_array());
    cr_expect_eq(yaml_emit(root, &sb), YAML_EMIT_INVALID);
    cr_expect_eq(sb.len, 0);
    strbuf_release(&sb);
    json_decref(root);
}

Test(yaml, emits_top_level_values_as_go_yaml)
{
    json_t *v = json_pack("[{}, [], n, s, s, f, b]", "s", "80", 1.5, 1);
    char *y = emit_str(v);
    cr_expect_str_eq(y, "- {}\n- []\n- null\n- s\n- \"80\"\n- 1.5\n- true\n");
    free(y);
    json_decref(v);
    v = json_object();
    y = emit_str(v);
    cr_expect_str_eq(y, "{}\n");
    free(y);
    json_decref(v);
    v = json_null();
    y = emit_str(v);
    cr_expect_str_eq(y, "null\n");
    free(y);
    y = emit_str(NULL);
    cr_expect_str_eq(y, "null\n");
    free(y);
}

Test(yaml, resolves_plain_scalars_as_go_yaml_v2)
{
    struct yaml_plain_value v;

    cr_expect_eq(yaml_resolve_plain("yes", 3, &v), YAML_PLAIN_BOOL);
    cr_expect_eq(v.b, 1);
    cr_expect_eq(yaml_resolve_plain("Off", 3, &v), YAML_PLAIN_BOOL);
    cr_expect_eq(v.b, 0);
    cr_expect_eq(yaml_resolve_plain("oFF", 3, NULL), YAML_PLAIN_STR);
    cr_expect_eq(yaml_resolve_plain("0o17", 4, &v), YAML_PLAIN_INT);
    cr_expect_eq(v.i, 15);
    cr_expect_eq(yaml_resolve_plain("017", 3, &v), YAML_PLAIN_INT);
    cr_expect_eq(v.i, 15);
    cr_expect_eq(yaml_resolve_plain("-0x1_F", 6, &v), YAML_PLAIN_INT);
    cr_expect_eq(v.i, -31);
    cr_expect_eq(yaml_resolve_plain("18446744073709551615", 20, &v), YAML_PLAIN_UINT);
    cr_expect_eq(yaml_resolve_plain("09", 2, &v), YAML_PLAIN_FLOAT);
    cr_expect_eq(v.f, 9.0);
    cr_expect_eq(yaml_resolve_plain("1e400", 5, NULL), YAML_PLAIN_STR);
    cr_expect_eq(yaml_resolve_plain("2001-02-29", 10, NULL), YAML_PLAIN_STR);
    cr_expect_eq(yaml_resolve_plain("2000-02-29", 10, NULL), YAML_PLAIN_TIMESTAMP);
    cr_expect_eq(yaml_resolve_plain("", 0, NULL), YAML_PLAIN_NULL);
    /* '<' is not in go-yaml's resolve table: "<<" is a plain string (a key still merges) */
    cr_expect_eq(yaml_resolve_plain("<<", 2, NULL), YAML_PLAIN_STR);
}

Test(yaml, formats_floats_as_go_strconv)
{
    char buf[32];

    cr_expect_str_eq(yaml_format_go_float(1e6, 'g', 64, buf), "1e+06");
    cr_expect_str_eq(yaml_format_go_float(123456789, 'g', 64, buf), "1.23456789e+08");
    cr_expect_str_eq(yaml_format_go_float(100000, 'g', 64, buf), "100000");
    cr_expect_str_eq(yaml_format_go_float(0.0001, 'g', 64, buf), "0.0001");
    cr_expect_str_eq(yaml_format_go_float(0.00001, 'g', 64, buf), "1e-05");
    cr_expect_str_eq(yaml_format_go_float(0.1, 'g', 32, buf), "0.1");
    cr_expect_str_eq(yaml_format_go_float(3.14159265358979, 'g', 32, buf), "3.1415927");
    cr_expect_str_eq(yaml_format_go_float(1e20, 'f', 64, buf), "100000000000000000000");
    cr_expect_str_eq(yaml_format_go_float(1.5e-7, 'e', 64, buf), "1.5e-07");
    cr_expect_str_eq(yaml_format_go_float(0, 'g', 64, buf), "0");
    cr_expect_str_eq(yaml_format_go_float(-0.0, 'f', 64, buf), "-0");
    cr_expect_str_eq(yaml_format_go_float(0.1 + 0.2, 'g', 64, buf), "0.30000000000000004");
}
