/*
 * Table-driven admission tests for Services: every file of tests/data/service/ is one request
 * run through a fresh in-memory store and registry (defaulting, allocation, validation, store),
 * and the answer is compared with what kube-apiserver 1.33 returns for it.
 *
 * A case file:
 *   {"name": "...", "description": "...",
 *    "config": {"serviceClusterIPRange": "10.96.0.0/12", "serviceNodePortRange": "30000-32767"},
 *    "namespace": "default",                       (the URL namespace; default "default")
 *    "setup": [<Service>, {"request": <Service>, "code": 422}, ...]
 *                                                  (POSTed first, in order; a bare Service must
 *                                                   be created, the other form must answer code)
 *    "request": <Service>                          (a POST) or
 *    "update": {"old": <Service>, "new": <Service>, "subresource": "status"}
 *                                                  (old is POSTed, then new PUT; without "old"
 *                                                   the PUT meets no object)
 *    "expect": {"code": 201, "object": {...}} or {"code": 422, "status": {...}}}
 *
 * Expected objects are compared exactly, key order included (the Go struct order), except that
 * strings of the form "<kind>" or "<kind:label>" stand for volatile values:
 *   <uid>   a version-4 UUID            <time>  an RFC 3339 time in seconds, UTC
 *   <rv>    a resourceVersion           <ip>    an address inside the service CIDR(s)
 *   <nodeport>  a port inside the node-port range
 *   <generated:prefix>  prefix + 5 characters of generateName's alphabet
 * Placeholders with the same label must hold the same value, and different labels of one kind
 * different values ("<ip:a>" for clusterIP and clusterIPs[0]; "<nodeport:a>", "<nodeport:b>" for
 * two ports that must not share one). metadata.managedFields is ignored unless expected.
 * Set SERVICE_CASE=<file name without .json> to run one case.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc/api.h"
#include "svc/apierr.h"
#include "svc/registry.h"
#include "svc/store.h"
#include "svc/validate.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

#define CASE_DIR         TEST_DATA_DIR "/service"
#define MIN_CASES        80
#define MAX_BINDINGS     64
#define DEFAULT_IP_RANGE "10.96.0.0/12"
#define DEFAULT_NP_RANGE "30000-32767"

/* ---- finding the cases ------------------------------------------------------------------------
 */

struct case_param {
    char file[256]; /* file name inside CASE_DIR */
};

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted .json file names of CASE_DIR; *n set. Caller frees each and the vector. */
static char **list_cases(size_t *n)
{
    DIR *d = opendir(CASE_DIR);
    char **names = NULL;
    *n = 0;
    if (!d)
        return NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") || len >= 256)
            continue;
        names = realloc(names, (*n + 1) * sizeof(*names));
        names[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, *n, sizeof(*names), cmp_names);
    return names;
}

static void free_params(struct criterion_test_params *crp)
{
    cr_free(crp->params);
}

ParameterizedTestParameters(service, admission)
{
    size_t n = 0;
    char **names = list_cases(&n);
    const char *only = getenv("SERVICE_CASE");
    size_t kept = 0;
    struct case_param *params = cr_malloc(sizeof(*params) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]) - 5;
        if (!only || (strlen(only) == len && !strncmp(only, names[i], len)))
            snprintf(params[kept++].file, sizeof(params[0].file), "%s", names[i]);
        free(names[i]);
    }
    free(names);
    if (!kept) /* criterion needs one parameter; the test then reports the empty directory */
        snprintf(params[kept++].file, sizeof(params[0].file), "%s", "");
    return cr_make_param_array(struct case_param, params, kept, free_params);
}

/* ---- placeholders -----------------------------------------------------------------------------
 */

struct binding {
    char *key; /* "kind:label" */
    char *kind;
    json_t *value;
};

struct match_ctx {
    const char *ip_ranges; /* "cidr[,cidr]" */
    int np_lo, np_hi;
    struct binding b[MAX_BINDINGS];
    size_t nb;
};

static void match_ctx_release(struct match_ctx *m)
{
    for (size_t i = 0; i < m->nb; i++) {
        free(m->b[i].key);
        free(m->b[i].kind);
        json_decref(m->b[i].value);
    }
    m->nb = 0;
}

static bool ip_in_cidr(const struct validate_ip *ip, const struct validate_cidr *c)
{
    enum validate_ip_family f = validate_ip_family_of(ip);
    if ((c->len == 4) != (f == VALIDATE_IPV4))
        return false;
    size_t off = c->len == 4 ? 12 : 0;
    for (unsigned bit = 0; bit < c->bits; bit++) {
        size_t byte = off + bit / 8;
        unsigned mask = 0x80u >> (bit % 8);
        if ((ip->b[byte] & mask) != (c->net.b[byte] & mask))
            return false;
    }
    return true;
}

static bool ip_in_ranges(const char *s, const char *ranges)
{
    struct validate_ip ip;
    if (validate_ip_parse(s, false, &ip))
        return false;
    char *copy = strdup(ranges), *save = NULL;
    bool found = false;
    for (char *tok = strtok_r(copy, ",", &save); tok && !found; tok = strtok_r(NULL, ",", &save)) {
        struct validate_cidr c;
        if (!validate_cidr_parse(tok, false, &c))
            found = ip_in_cidr(&ip, &c);
    }
    free(copy);
    return found;
}

static bool all_of(const char *s, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++)
        if (!s[i] || !strchr(set, s[i]))
            return false;
    return true;
}

static bool is_uuid(const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (strlen(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
        return false;
    return all_of(s, 8, hex) && all_of(s + 9, 4, hex) && s[14] == '4' && all_of(s + 14, 4, hex) &&
           all_of(s + 19, 4, hex) && all_of(s + 24, 12, hex);
}

static bool is_time(const char *s)
{
    static const char d[] = "0123456789";
    return strlen(s) == 20 && all_of(s, 4, d) && s[4] == '-' && all_of(s + 5, 2, d) &&
           s[7] == '-' && all_of(s + 8, 2, d) && s[10] == 'T' && all_of(s + 11, 2, d) &&
           s[13] == ':' && all_of(s + 14, 2, d) && s[16] == ':' && all_of(s + 17, 2, d) &&
           s[19] == 'Z';
}

/*
 * If want is a placeholder, decide whether got fits it: 1 fits, 0 does not (why filled), -1 not
 * a placeholder.
 */
static int match_placeholder(struct match_ctx *m, const char *want, const json_t *got, char *why,
                             size_t why_len)
{
    size_t len = strlen(want);
    if (len < 3 || want[0] != '<' || want[len - 1] != '>')
        return -1;
    char kind[32] = "", arg[128] = "";
    const char *colon = memchr(want, ':', len);
    size_t klen = (colon ? (size_t)(colon - want) : len - 1) - 1;
    if (klen >= sizeof(kind))
        return -1;
    memcpy(kind, want + 1, klen);
    if (colon) {
        size_t alen = (size_t)(want + len - 1 - (colon + 1));
        if (alen >= sizeof(arg))
            return -1;
        memcpy(arg, colon + 1, alen);
    }
    const char *s = json_string_value(got);
    bool ok;
    if (!strcmp(kind, "uid")) {
        ok = s && is_uuid(s);
    } else if (!strcmp(kind, "time")) {
        ok = s && is_time(s);
    } else if (!strcmp(kind, "rv")) {
        ok = s && *s && all_of(s, strlen(s), "0123456789");
    } else if (!strcmp(kind, "ip")) {
        ok = s && ip_in_ranges(s, m->ip_ranges);
    } else if (!strcmp(kind, "nodeport")) {
        ok = json_is_integer(got) && json_integer_value(got) >= m->np_lo &&
             json_integer_value(got) <= m->np_hi;
    } else if (!strcmp(kind, "generated")) {
        size_t plen = strlen(arg);
        ok = s && strlen(s) == plen + 5 && !strncmp(s, arg, plen) &&
             all_of(s + plen, 5, "bcdfghjklmnpqrstvwxz2456789");
        colon = NULL; /* the argument is a prefix, not a label */
    } else {
        return -1;
    }
    if (!ok) {
        snprintf(why, why_len, "does not look like %s", want);
        return 0;
    }
    if (!colon)
        return 1;
    char *key = strndup(want + 1, len - 2);
    for (size_t i = 0; i < m->nb; i++) {
        if (!strcmp(m->b[i].key, key)) {
            free(key);
            if (json_equal(m->b[i].value, (json_t *)got))
                return 1;
            char *prev = json_dumps(m->b[i].value, JSON_ENCODE_ANY);
            snprintf(why, why_len, "%s was %s elsewhere", want, prev);
            free(prev);
            return 0;
        }
    }
    for (size_t i = 0; i < m->nb; i++) {
        if (!strcmp(m->b[i].kind, kind) && json_equal(m->b[i].value, (json_t *)got)) {
            snprintf(why, why_len, "%s has the value of <%s>, which must differ", want,
                     m->b[i].key);
            free(key);
            return 0;
        }
    }
    if (m->nb < MAX_BINDINGS) {
        m->b[m->nb].key = key;
        m->b[m->nb].kind = strdup(kind);
        m->b[m->nb].value = json_deep_copy(got);
        m->nb++;
    } else {
        free(key);
    }
    return 1;
}

/* ---- structural comparison --------------------------------------------------------------------
 */

static char *dump(const json_t *v)
{
    if (!v)
        return strdup("(absent)");
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s && strlen(s) > 600)
        strcpy(s + 590, "...");
    return s ? s : strdup("?");
}

static char *keys_of(const json_t *obj)
{
    size_t cap = 3, len = 1;
    char *out = malloc(cap);
    strcpy(out, "[");
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)obj, key, v) {
        (void)v;
        size_t k = strlen(key);
        out = realloc(out, cap += k + 2);
        if (len > 1)
            strcat(out, ", ");
        strcat(out, key);
        len = strlen(out);
    }
    strcat(out, "]");
    return out;
}

/* The first difference as "<path>: <explanation>" (caller frees), or NULL when got fits want. */
static char *diff(struct match_ctx *m, const json_t *got, const json_t *want, const char *path,
                  int depth)
{
    char why[512];
    char *out = NULL;
    if (depth > 64)
        return strdup("comparison nested too deeply");
    if (json_is_string(want) && got) {
        int r = match_placeholder(m, json_string_value(want), got, why, sizeof(why));
        if (r == 1)
            return NULL;
        if (r == 0) {
            char *g = dump(got);
            if (asprintf(&out, "%s: got %s, which %s", path, g, why) < 0)
                out = NULL;
            free(g);
            return out;
        }
    }
    if (!got || json_typeof(got) != json_typeof(want) ||
        (!json_is_object(want) && !json_is_array(want) &&
         !json_equal((json_t *)got, (json_t *)want))) {
        char *g = dump(got), *w = dump(want);
        if (asprintf(&out, "%s: got %s, want %s", path, g, w) < 0)
            out = NULL;
        free(g);
        free(w);
        return out;
    }
    if (json_is_array(want)) {
        size_t ng = json_array_size(got), nw = json_array_size(want);
        for (size_t i = 0; i < ng && i < nw; i++) {
            char p[1024];
            snprintf(p, sizeof(p), "%s[%zu]", path, i);
            if ((out = diff(m, json_array_get(got, i), json_array_get(want, i), p, depth + 1)))
                return out;
        }
        if (ng != nw) {
            char *g = dump(got), *w = dump(want);
            if (asprintf(&out, "%s: got %zu items, want %zu: got %s, want %s", path, ng, nw, g, w) <
                0)
                out = NULL;
            free(g);
            free(w);
        }
        return out;
    }
    if (!json_is_object(want))
        return NULL;
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)want, key, v) {
        char p[1024];
        snprintf(p, sizeof(p), "%s%s%s", path, *path ? "." : "", key);
        const json_t *g = json_object_get(got, key);
        if (!g) {
            char *w = dump(v);
            if (asprintf(&out, "%s: missing, want %s", p, w) < 0)
                out = NULL;
            free(w);
            return out;
        }
        if ((out = diff(m, g, v, p, depth + 1)))
            return out;
    }
    json_object_foreach ((json_t *)got, key, v) {
        if (!json_object_get(want, key)) {
            char *g = dump(v);
            if (asprintf(&out, "%s%s%s: unexpected, got %s", path, *path ? "." : "", key, g) < 0)
                out = NULL;
            free(g);
            return out;
        }
    }
    /* Same keys: now their order (the Go struct order). */
    void *ig = json_object_iter((json_t *)got), *iw = json_object_iter((json_t *)want);
    while (ig && iw) {
        if (strcmp(json_object_iter_key(ig), json_object_iter_key(iw))) {
            char *kg = keys_of(got), *kw = keys_of(want);
            if (asprintf(&out, "%s: key order differs: got %s, want %s", *path ? path : "(top)", kg,
                         kw) < 0)
                out = NULL;
            free(kg);
            free(kw);
            return out;
        }
        ig = json_object_iter_next((json_t *)got, ig);
        iw = json_object_iter_next((json_t *)want, iw);
    }
    return NULL;
}

/* ---- running one case -------------------------------------------------------------------------
 */

struct fixture {
    struct store *store;
    struct registry *reg;
    const struct api_resource *res;
    char ip_ranges[256];
    int np_lo, np_hi;
};

static void parse_np_range(const char *s, int *lo, int *hi)
{
    if (sscanf(s, "%d-%d", lo, hi) != 2)
        *lo = *hi = -1;
}

/* Build the store and registry for a case; false (with the failure reported) when the
   configuration is refused. */
static bool fixture_init(struct fixture *fx, const char *name, const json_t *config)
{
    const char *ips = json_string_value(json_object_get(config, "serviceClusterIPRange"));
    const char *nps = json_string_value(json_object_get(config, "serviceNodePortRange"));
    memset(fx, 0, sizeof(*fx));
    snprintf(fx->ip_ranges, sizeof(fx->ip_ranges), "%s", ips ? ips : DEFAULT_IP_RANGE);
    parse_np_range(nps ? nps : DEFAULT_NP_RANGE, &fx->np_lo, &fx->np_hi);
    struct registry_config cfg = {
        .service_cluster_ip_range = fx->ip_ranges,
        .service_node_port_range = nps ? nps : DEFAULT_NP_RANGE,
        .advertise_address = "192.168.10.2",
        .secure_port = 6443,
    };
    struct store_config scfg = {.event_log_size = 1024};
    struct apierr err;
    apierr_init(&err);
    const struct api *api = api_builtin();
    cr_assert_not_null(api, "%s: no built-in API table", name);
    fx->res = api_find_resource(api, "", "v1", "services");
    cr_assert_not_null(fx->res, "%s: no services resource", name);
    fx->store = store_new(&scfg);
    cr_assert_not_null(fx->store, "%s: store_new failed", name);
    fx->reg = registry_new(fx->store, api, &cfg, &err);
    bool ok = fx->reg && registry_bootstrap(fx->reg, &err) == 0;
    if (!ok)
        cr_expect_fail("%s: %s failed: %s", name, fx->reg ? "registry_bootstrap" : "registry_new",
                       err.message ? err.message : "?");
    apierr_release(&err);
    return ok;
}

static void fixture_release(struct fixture *fx)
{
    registry_free(fx->reg);
    if (fx->store)
        store_free(fx->store);
}

static char *status_text(const struct apierr *err)
{
    json_t *st = apierr_to_status(err);
    char *s = dump(st);
    json_decref(st);
    return s;
}

/* POST body (borrowed) into ns; 0 with *res, or -1 with *err. */
static int do_create(struct fixture *fx, const char *ns, const json_t *body, struct reg_result *res,
                     struct apierr *err)
{
    struct reg_req req = {.res = fx->res, .ns = ns, .user_agent = "test_service/1.0"};
    return registry_create(fx->reg, &req, json_deep_copy(body), res, err);
}

static int put_body(void *ctx, const json_t *cur, json_t **out, struct apierr *err)
{
    (void)cur;
    (void)err;
    *out = json_deep_copy((const json_t *)ctx);
    return 0;
}

/* PUT body (borrowed) to ns/name[/subresource]. */
static int do_update(struct fixture *fx, const char *ns, const json_t *body, const char *sub,
                     struct reg_result *res, struct apierr *err)
{
    const char *name =
        json_string_value(json_object_get(json_object_get(body, "metadata"), "name"));
    struct reg_req req = {.res = fx->res,
                          .ns = ns,
                          .name = name ? name : "",
                          .subresource = sub,
                          .user_agent = "test_service/1.0"};
    return registry_update(fx->reg, &req, put_body, (void *)body, res, err);
}

static json_t *load_case(const char *file)
{
    char path[512];
    json_error_t jerr;
    snprintf(path, sizeof(path), "%s/%s", CASE_DIR, file);
    json_t *c = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    cr_assert_not_null(c, "cannot load %s: %s (line %d)", path, jerr.text, jerr.line);
    return c;
}

ParameterizedTest(struct case_param *p, service, admission)
{
    cr_assert(p->file[0], "no case files in %s", CASE_DIR);
    json_t *c = load_case(p->file);
    const char *name = json_string_value(json_object_get(c, "name"));
    name = name ? name : p->file;
    const char *ns = json_string_value(json_object_get(c, "namespace"));
    ns = ns ? ns : "default";
    const json_t *expect = json_object_get(c, "expect");
    if (!json_is_object(expect)) {
        cr_expect_fail("%s: no expect", name);
        json_decref(c);
        return;
    }
    int want_code = (int)json_integer_value(json_object_get(expect, "code"));

    struct fixture fx;
    struct apierr err;
    struct reg_result res;
    apierr_init(&err);
    memset(&res, 0, sizeof(res));
    if (!fixture_init(&fx, name, json_object_get(c, "config")))
        goto out;

    size_t i;
    json_t *body;
    json_array_foreach (json_object_get(c, "setup"), i, body) {
        /* {"request": <Service>, "code": N} is a create expected to answer N; a bare Service
           must be created. */
        const json_t *req_body = json_object_get(body, "request");
        int want = req_body ? (int)json_integer_value(json_object_get(body, "code")) : 201;
        int got_code = do_create(&fx, ns, req_body ? req_body : body, &res, &err)
                           ? apierr_http_code(&err)
                           : res.code;
        if (got_code != want) {
            char *st = apierr_failed(&err) ? status_text(&err) : strdup("(an object)");
            cr_expect_fail("%s: setup[%zu] answered %d, want %d: %s", name, i, got_code, want, st);
            free(st);
            goto out;
        }
        reg_result_release(&res);
        apierr_release(&err);
    }

    int rc;
    const json_t *update = json_object_get(c, "update");
    if (update) {
        const json_t *old = json_object_get(update, "old");
        if (old) {
            if (do_create(&fx, ns, old, &res, &err)) {
                char *st = status_text(&err);
                cr_expect_fail("%s: creating update.old failed: %s", name, st);
                free(st);
                goto out;
            }
            reg_result_release(&res);
            apierr_release(&err);
        }
        const char *sub = json_string_value(json_object_get(update, "subresource"));
        rc = do_update(&fx, ns, json_object_get(update, "new"), sub, &res, &err);
    } else {
        const json_t *request = json_object_get(c, "request");
        if (!request) {
            cr_expect_fail("%s: neither request nor update", name);
            goto out;
        }
        rc = do_create(&fx, ns, request, &res, &err);
    }

    struct match_ctx m = {.ip_ranges = fx.ip_ranges, .np_lo = fx.np_lo, .np_hi = fx.np_hi};
    const json_t *want_obj = json_object_get(expect, "object");
    const json_t *want_status = json_object_get(expect, "status");
    if (rc == 0) {
        json_t *got = res.obj ? json_deep_copy(store_obj_json(res.obj)) : json_incref(res.answer);
        json_t *meta = json_object_get(got, "metadata");
        if (!json_object_get(json_object_get(want_obj, "metadata"), "managedFields"))
            json_object_del(meta, "managedFields");
        if (res.code != want_code || !want_obj) {
            char *g = dump(got);
            cr_expect_fail("%s: got code %d with object %s; want code %d%s", name, res.code, g,
                           want_code, want_obj ? "" : " (and an error Status)");
            free(g);
        } else {
            char *d = diff(&m, got, want_obj, "", 0);
            cr_expect_null(d, "%s: object differs at %s", name, d ? d : "");
            free(d);
        }
        json_decref(got);
    } else {
        json_t *got = apierr_to_status(&err);
        int code = apierr_http_code(&err);
        if (code != want_code || !want_status) {
            char *g = dump(got);
            cr_expect_fail("%s: got code %d with Status %s; want code %d%s", name, code, g,
                           want_code, want_status ? "" : " (and an object)");
            free(g);
        } else {
            char *d = diff(&m, got, want_status, "", 0);
            cr_expect_null(d, "%s: Status differs at %s", name, d ? d : "");
            free(d);
        }
        json_decref(got);
    }
    match_ctx_release(&m);
out:
    reg_result_release(&res);
    apierr_release(&err);
    fixture_release(&fx);
    json_decref(c);
}

/* The table itself: enough cases, each well-formed, names unique and equal to the file name. */
Test(service, case_files_are_well_formed)
{
    size_t n = 0;
    char **names = list_cases(&n);
    cr_expect_geq(n, MIN_CASES, "only %zu case files in %s", n, CASE_DIR);
    for (size_t i = 0; i < n; i++) {
        json_t *c = load_case(names[i]);
        const char *name = json_string_value(json_object_get(c, "name"));
        cr_expect_not_null(name, "%s: no name", names[i]);
        if (name)
            cr_expect(strlen(names[i]) == strlen(name) + 5 &&
                          !strncmp(names[i], name, strlen(name)),
                      "%s: name %s differs from the file name", names[i], name);
        cr_expect(json_object_get(c, "request") || json_object_get(c, "update"),
                  "%s: neither request nor update", names[i]);
        const json_t *expect = json_object_get(c, "expect");
        int code = (int)json_integer_value(json_object_get(expect, "code"));
        cr_expect(code >= 200 && code < 600, "%s: bad expect.code", names[i]);
        if (code < 300)
            cr_expect(json_is_object(json_object_get(expect, "object")),
                      "%s: a success needs expect.object", names[i]);
        else
            cr_expect(json_is_object(json_object_get(expect, "status")),
                      "%s: a failure needs expect.status", names[i]);
        json_decref(c);
        free(names[i]);
    }
    free(names);
}

/* The comparison itself must catch what it is meant to catch. */
Test(service, comparison_reports_the_first_difference)
{
    struct match_ctx m = {.ip_ranges = "10.96.0.0/12", .np_lo = 30000, .np_hi = 32767};
    json_t *want =
        json_loads("{\"a\":{\"ip\":\"<ip:x>\",\"ips\":[\"<ip:x>\"],\"np\":\"<nodeport:p>\","
                   "\"np2\":\"<nodeport:q>\"},\"b\":1}",
                   0, NULL);
    json_t *good = json_loads("{\"a\":{\"ip\":\"10.96.3.4\",\"ips\":[\"10.96.3.4\"],\"np\":30001,"
                              "\"np2\":30002},\"b\":1}",
                              0, NULL);
    char *d = diff(&m, good, want, "", 0);
    cr_expect_null(d, "%s", d);
    free(d);
    match_ctx_release(&m);

    const char *bad[] = {
        "{\"a\":{\"ip\":\"10.96.3.4\",\"ips\":[\"10.96.3.5\"],\"np\":30001,\"np2\":30002},\"b\":1}",
        "{\"a\":{\"ip\":\"10.95.3.4\",\"ips\":[\"10.95.3.4\"],\"np\":30001,\"np2\":30002},\"b\":1}",
        "{\"a\":{\"ip\":\"10.96.3.4\",\"ips\":[\"10.96.3.4\"],\"np\":30001,\"np2\":30001},\"b\":1}",
        "{\"a\":{\"ip\":\"10.96.3.4\",\"ips\":[\"10.96.3.4\"],\"np\":80,\"np2\":30002},\"b\":1}",
        "{\"b\":1,\"a\":{\"ip\":\"10.96.3.4\",\"ips\":[\"10.96.3.4\"],\"np\":30001,\"np2\":30002}}",
        "{\"a\":{\"ip\":\"10.96.3.4\",\"ips\":[\"10.96.3.4\"],\"np\":30001,\"np2\":30002},\"b\":2}",
        "{\"a\":{\"ip\":\"10.96.3.4\",\"ips\":[\"10.96.3.4\"],\"np\":30001,\"np2\":30002},\"b\":1,"
        "\"c\":0}",
    };
    const char *where[] = {"a.ips[0]", "a.ip", "a.np2", "a.np", "(top)", "b", "c"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *got = json_loads(bad[i], 0, NULL);
        d = diff(&m, got, want, "", 0);
        cr_expect_not_null(d, "case %zu not caught", i);
        if (d)
            cr_expect(!strncmp(d, where[i], strlen(where[i])), "case %zu: %s", i, d);
        free(d);
        match_ctx_release(&m);
        json_decref(got);
    }
    json_decref(good);
    json_decref(want);
}
