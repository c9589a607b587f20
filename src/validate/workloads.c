/*
 * workloads: the rules the workload kinds share (Pods, pod templates, ReplicaSets, Nodes, core/v1
 * Events), after kube-apiserver 1.33: resource.Quantity parsing and canonical text, the v1
 * defaulting of a PodSpec, the QoS class, and the validation of pkg/apis/core/validation and
 * pkg/apis/apps/validation for these kinds.
 *
 * The file has one section per concern, in this order: small helpers and Go value renderings,
 * quantities, PodSpec defaulting, QoS, the PodSpec checks (volumes, containers, the spec), Pods,
 * pod templates and ReplicaSets, Nodes, Events. Upstream behaviour kept on purpose, so nobody
 * "fixes" it: pod condition types are reported under metadata.conditions and node taints under
 * metadata.taints (upstream builds those paths from the metadata path); a pod template's labels
 * are reported under spec.template.labels, not spec.template.metadata.labels; node resource
 * paths use dots (status.capacity.cpu) where container ones use brackets
 * (resources.limits[cpu]); a ReplicaSet's empty selector is "invalid for deployment"; a
 * quantity written in canonical form keeps its exact text ("+1", "01", "1E3"), as Quantity
 * caches the string it parsed. Depends on validate, selector, field_error, util and jansson.
 */
#include "svc/validate_workloads.h"

#include "svc/field_error.h"
#include "svc/selector.h"
#include "svc/util.h"
#include "svc/validate.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---------------------------------------------------------------------------------- */

__extension__ typedef __int128 i128;

static char *pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *pathf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    va_end(ap);
    return s;
}

/* obj[key] as a string, "" when absent or not a string (Go's zero value). */
static const char *sv(const json_t *obj, const char *key)
{
    const char *s = ju_str(obj, key);
    return s ? s : "";
}

static const char *item_str(const json_t *v)
{
    const char *s = json_string_value(v);
    return s ? s : "";
}

static size_t alen(const json_t *a)
{
    return json_is_array(a) ? json_array_size(a) : 0;
}

static size_t olen(const json_t *o)
{
    return json_is_object(o) ? json_object_size(o) : 0;
}

static bool str_eq(const char *a, const char *b)
{
    return !strcmp(a ? a : "", b ? b : "");
}

static bool in_list(const char *v, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v, list[i]))
            return true;
    return false;
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* JSON equality where absent, null, [] and {} are alike (Semantic.DeepEqual on nil and empty). */
static bool is_emptyish(const json_t *v)
{
    return !v || json_is_null(v) || (json_is_array(v) && !json_array_size(v)) ||
           (json_is_object(v) && !json_object_size(v));
}

static bool sem_equal(const json_t *a, const json_t *b)
{
    if (is_emptyish(a) && is_emptyish(b))
        return true;
    return a && b && json_equal((json_t *)a, (json_t *)b);
}

/* Invalid with an integer value. */
static void invalid_int(struct field_errors *errs, const char *path, long long v, const char *d)
{
    fe_invalid_int(errs, path, v, d);
}

/* Required / NotSupported for an enum-like string field, as most core checks write it. */
static void enum_field(struct field_errors *errs, const char *path, const char *value,
                       const char *const *supported, size_t n)
{
    if (!value || !*value) {
        fe_required(errs, path, "");
        return;
    }
    if (in_list(value, supported, n))
        return;
    char *q = fe_quote(value);
    fe_not_supported(errs, path, q, supported, n);
    free(q);
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of an object, sorted (Go's %#v and sets.List print maps and sets sorted). */
static const char **sorted_keys(const json_t *obj, size_t *n)
{
    *n = olen(obj);
    const char **keys = xcalloc(*n + 1, sizeof(*keys));
    size_t i = 0;
    const char *k;
    json_t *v;
    if (json_is_object(obj))
        json_object_foreach((json_t *)obj, k, v) keys[i++] = k;
    qsort(keys, *n, sizeof(*keys), cmp_cstr);
    return keys;
}

/* Go's %#v of a map[string]string: map[string]string{"a":"b", "c":"d"}, or (nil). */
static char *go_string_map(const json_t *map)
{
    if (!json_is_object(map))
        return xstrdup("map[string]string(nil)");
    size_t n;
    const char **keys = sorted_keys(map, &n);
    size_t cap = 64, len = 0;
    char *out = xmalloc(cap);
    len = (size_t)snprintf(out, cap, "map[string]string{");
    for (size_t i = 0; i < n; i++) {
        char *k = fe_quote(keys[i]);
        char *v = fe_quote(item_str(json_object_get(map, keys[i])));
        size_t need = len + strlen(k) + strlen(v) + 4;
        if (need >= cap) {
            cap = need * 2;
            out = xrealloc(out, cap);
        }
        len += (size_t)snprintf(out + len, cap - len, "%s%s:%s", i ? ", " : "", k, v);
        free(k);
        free(v);
    }
    free(keys);
    if (len + 2 > cap)
        out = xrealloc(out, len + 2);
    out[len++] = '}';
    out[len] = 0;
    return out;
}

/* Go's %#v of a metav1.LabelSelector (the struct, as field.Invalid dereferences pointers). */
static char *go_label_selector(const json_t *sel)
{
    char *labels = go_string_map(ju_get(sel, "matchLabels"));
    const json_t *exprs = ju_get(sel, "matchExpressions");
    char *list;
    if (!json_is_array(exprs)) {
        list = xstrdup("[]v1.LabelSelectorRequirement(nil)");
    } else {
        list = xstrdup("[]v1.LabelSelectorRequirement{");
        size_t i;
        json_t *e;
        json_array_foreach(exprs, i, e) {
            char *k = fe_quote(sv(e, "key"));
            char *op = fe_quote(sv(e, "operator"));
            char *vals = fe_json_strings(ju_get(e, "values"));
            char *next = pathf("%s%sv1.LabelSelectorRequirement{Key:%s, Operator:%s, Values:%s}",
                               list, i ? ", " : "", k, op, vals);
            free(k);
            free(op);
            free(vals);
            free(list);
            list = next;
        }
        char *next = pathf("%s}", list);
        free(list);
        list = next;
    }
    char *out = pathf("v1.LabelSelector{MatchLabels:%s, MatchExpressions:%s}", labels, list);
    free(labels);
    free(list);
    return out;
}

/* ---- quantities --------------------------------------------------------------------------------
 * A parsed quantity is a value in nano units and the format its suffix chose. The text it had is
 * kept when upstream would keep it (a canonical int64 value with scale >= milli). */

const char validate_quantity_err_format[] =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
static const char err_suffix[] = "unable to parse quantity's suffix";

enum qfmt { Q_DECIMAL_SI, Q_BINARY_SI, Q_DECIMAL_EXPONENT };

struct qty {
    i128 nano;
    enum qfmt fmt;
    bool keep_text; /* the parsed text is the canonical text (Quantity.s survives) */
};

#define NANO_PER_UNIT ((i128)1000000000)
/* 2^63-1 units: maxAllowed. */
#define QTY_CAP (((i128)INT64_MAX) * NANO_PER_UNIT)

static i128 sat_mul(i128 v, i128 m, bool *capped)
{
    if (v > QTY_CAP / m) {
        *capped = true;
        return QTY_CAP;
    }
    return v * m;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* parseQuantityString, as apimachinery splits "<sign><num>.<denom><suffix>". */
struct qparts {
    bool positive;
    const char *num, *denom, *suffix;
    size_t num_len, denom_len, suffix_len;
};

static const char *split_quantity(const char *s, size_t end, struct qparts *p)
{
    size_t pos = 0;
    memset(p, 0, sizeof(*p));
    p->positive = true;
    p->num = "0";
    p->num_len = 1;
    p->denom = p->suffix = "";
    if (pos < end && (s[0] == '-' || s[0] == '+')) {
        p->positive = s[0] == '+';
        pos++;
    }
    while (pos < end && s[pos] == '0')
        pos++;
    if (pos >= end)
        return NULL;
    size_t start = pos;
    while (pos < end && is_digit(s[pos]))
        pos++;
    if (pos > start) {
        p->num = s + start;
        p->num_len = pos - start;
    }
    if (pos >= end)
        return NULL;
    if (s[pos] == '.') {
        pos++;
        start = pos;
        while (pos < end && is_digit(s[pos]))
            pos++;
        p->denom = s + start;
        p->denom_len = pos - start;
        if (pos >= end)
            return NULL;
    }
    size_t suffix_start = pos;
    while (pos < end && strchr("eEinumkKMGTP", s[pos]))
        pos++;
    if (pos < end && (s[pos] == '-' || s[pos] == '+'))
        pos++;
    while (pos < end && is_digit(s[pos]))
        pos++;
    if (pos < end)
        return validate_quantity_err_format;
    p->suffix = s + suffix_start;
    p->suffix_len = end - suffix_start;
    return NULL;
}

/* quantitySuffixer.interpret: base 10 or 2, the exponent, and the format. */
static bool interpret_suffix(const char *s, size_t n, int *base, long long *exp, enum qfmt *fmt)
{
    static const struct {
        const char *s;
        int base, exp;
    } table[] = {{"", 10, 0},   {"n", 10, -9}, {"u", 10, -6},  {"m", 10, -3},  {"k", 10, 3},
                 {"M", 10, 6},  {"G", 10, 9},  {"T", 10, 12},  {"P", 10, 15},  {"E", 10, 18},
                 {"Ki", 2, 10}, {"Mi", 2, 20}, {"Gi", 2, 30},  {"Ti", 2, 40},  {"Pi", 2, 50},
                 {"Ei", 2, 60}};
    for (size_t i = 0; i < N_OF(table); i++) {
        if (strlen(table[i].s) == n && !strncmp(s, table[i].s, n)) {
            *base = table[i].base;
            *exp = table[i].exp;
            *fmt = table[i].base == 2 ? Q_BINARY_SI : Q_DECIMAL_SI;
            return true;
        }
    }
    if (n > 1 && (s[0] == 'e' || s[0] == 'E')) {
        /* strconv.ParseInt of the rest: an optional sign and decimal digits. */
        size_t i = 1;
        bool neg = false;
        if (s[i] == '+' || s[i] == '-')
            neg = s[i++] == '-';
        if (i >= n)
            return false;
        long long v = 0;
        for (; i < n; i++) {
            if (!is_digit(s[i]))
                return false;
            if (v > 1000000) /* far past anything representable; the value saturates */
                v = 1000001;
            else
                v = v * 10 + (s[i] - '0');
        }
        *base = 10;
        *exp = neg ? -v : v;
        *fmt = Q_DECIMAL_EXPONENT;
        return true;
    }
    return false;
}

/*
 * The value of the parts in nano units, rounded up (away from zero) as ParseQuantity rounds to
 * nano. The value is D * 10^-len(denom) * base^exp where D is the digits of num and denom;
 * significant digits of D past 30 (18 with a binary suffix) only decide that rounding.
 */
static i128 quantity_nano(const struct qparts *p, int base, long long exp)
{
    size_t max_digits = base == 2 ? 18 : 30, nd = 0;
    long long dropped = 0;
    bool sticky = false, seen = false;
    i128 m = 0;
    for (int part = 0; part < 2; part++) {
        const char *s = part ? p->denom : p->num;
        size_t n = part ? p->denom_len : p->num_len;
        for (size_t i = 0; i < n; i++) {
            if (!seen && s[i] == '0')
                continue;
            seen = true;
            if (nd < max_digits) {
                m = m * 10 + (s[i] - '0');
                nd++;
            } else {
                dropped++;
                sticky |= s[i] != '0';
            }
        }
    }
    if (!m)
        return 0;
    long long k = dropped - (long long)p->denom_len + (base == 10 ? exp : 0) + 9;
    while (m % 10 == 0) {
        m /= 10;
        k++;
    }
    /* At most 18 digits times 2^60 fits in 128 bits: no saturation before the division. */
    if (base == 2)
        m <<= exp;
    bool capped = false;
    if (k >= 0) {
        for (long long i = 0; i < k && !capped; i++)
            m = sat_mul(m, 10, &capped);
        if (capped)
            return QTY_CAP;
        m += sticky ? 1 : 0;
        return m > QTY_CAP ? QTY_CAP : m;
    }
    bool inexact = sticky;
    for (long long i = 0; i < -k && m; i++) {
        inexact |= m % 10 != 0;
        m /= 10;
    }
    m += inexact ? 1 : 0;
    return m > QTY_CAP ? QTY_CAP : m;
}

/* ParseQuantity on s (already trimmed); NULL on success, else the upstream message. */
static const char *qty_parse_n(const char *s, size_t n, struct qty *q)
{
    memset(q, 0, sizeof(*q));
    if (!n)
        return validate_quantity_err_format;
    if (n == 1 && s[0] == '0') {
        q->keep_text = true;
        return NULL;
    }
    struct qparts p;
    const char *err = split_quantity(s, n, &p);
    if (err)
        return err;
    int base;
    long long exp;
    if (!interpret_suffix(p.suffix, p.suffix_len, &base, &exp, &q->fmt))
        return err_suffix;
    /* The int64 fast path decides whether the text is kept as the canonical one. */
    size_t shifted_len = p.num_len + p.denom_len;
    char first = p.num_len ? p.num[0] : (p.denom_len ? p.denom[0] : '0');
    if (q->fmt == Q_BINARY_SI) {
        int precision = 15 - (int)p.num_len - (int)((float)exp * 3 / 10) - 1;
        if (!p.denom_len && precision >= 0) {
            long long v = strtoll(p.num, NULL, 10);
            q->keep_text = exp % 10 == 0 && (v & 7) != 0;
        }
    } else {
        int precision = 18 - (int)shifted_len;
        long long scale = exp - (long long)p.denom_len;
        if (precision >= 0 && scale >= -9) {
            bool trailing000 = false;
            if (shifted_len >= 3) {
                char tail[3];
                for (int i = 0; i < 3; i++) {
                    size_t at = shifted_len - 3 + (size_t)i;
                    tail[i] = at < p.num_len ? p.num[at] : p.denom[at - p.num_len];
                }
                trailing000 = tail[0] == '0' && tail[1] == '0' && tail[2] == '0';
            }
            /* RoundUp(-3) in SetDefaults_ResourceList drops the text below the milli scale. */
            q->keep_text = scale % 3 == 0 && !trailing000 && first != '0' && scale >= -3;
        }
    }
    q->nano = quantity_nano(&p, base, exp);
    if (!p.positive)
        q->nano = -q->nano;
    return NULL;
}

static bool go_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The text of a quantity member: a string, or the decimal text of a JSON number. */
static const char *qty_text(const json_t *v, char buf[64])
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, 64, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    }
    if (json_is_real(v)) {
        snprintf(buf, 64, "%.17g", json_real_value(v));
        return buf;
    }
    return NULL;
}

static const char *qty_parse(const char *s, struct qty *q, const char **start, size_t *len)
{
    size_t n = strlen(s);
    while (n && go_is_space(*s)) {
        s++;
        n--;
    }
    while (n && go_is_space(s[n - 1]))
        n--;
    if (start) {
        *start = s;
        *len = n;
    }
    return qty_parse_n(s, n, q);
}

static void i128_text(i128 v, char *out, size_t cap)
{
    char tmp[48];
    size_t n = 0;
    bool neg = v < 0;
    unsigned __int128 u = neg ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
    do {
        tmp[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u && n < sizeof(tmp));
    size_t o = 0;
    if (neg && o + 1 < cap)
        out[o++] = '-';
    while (n && o + 1 < cap)
        out[o++] = tmp[--n];
    out[o] = 0;
}

/* Quantity.String() of a value in milli units with its format (CanonicalizeBytes). */
static void qty_canonical(i128 milli, enum qfmt fmt, char out[VALIDATE_QUANTITY_STRLEN])
{
    if (!milli) {
        strcpy(out, "0");
        return;
    }
    if (fmt == Q_BINARY_SI) {
        if ((milli > -1024000 && milli < 1024000) || milli % 1000)
            fmt = Q_DECIMAL_SI;
        else {
            static const char *const bin[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
            i128 units = milli / 1000;
            size_t e = 0;
            while (units % 1024 == 0) {
                units /= 1024;
                e++;
            }
            i128_text(units, out, VALIDATE_QUANTITY_STRLEN);
            if (e < N_OF(bin))
                strncat(out, bin[e], VALIDATE_QUANTITY_STRLEN - strlen(out) - 1);
            return;
        }
    }
    i128 mant = milli;
    int exp = -3;
    while (mant % 10 == 0) {
        mant /= 10;
        exp++;
    }
    switch (exp % 3) {
    case 1:
    case -2:
        mant *= 10;
        exp -= 1;
        break;
    case 2:
    case -1:
        mant *= 100;
        exp -= 2;
        break;
    default:
        break;
    }
    i128_text(mant, out, VALIDATE_QUANTITY_STRLEN);
    size_t len = strlen(out);
    if (fmt == Q_DECIMAL_EXPONENT) {
        if (exp)
            snprintf(out + len, VALIDATE_QUANTITY_STRLEN - len, "e%d", exp);
        return;
    }
    static const char *const dec[] = {"m", "", "k", "M", "G", "T", "P", "E"};
    int idx = exp / 3 + 1;
    /* An exponent without a suffix prints none: constructBytes fails and upstream ignores it. */
    if (idx >= 0 && idx < (int)N_OF(dec))
        snprintf(out + len, VALIDATE_QUANTITY_STRLEN - len, "%s", dec[idx]);
}

/* RoundUp(-3): away from zero to the milli unit. */
static i128 to_milli(i128 nano)
{
    i128 m = nano / 1000000, r = nano % 1000000;
    if (r > 0)
        m++;
    else if (r < 0)
        m--;
    return m;
}

int validate_quantity_normalize(const char *s, char out[VALIDATE_QUANTITY_STRLEN],
                                const char **err)
{
    struct qty q;
    const char *start;
    size_t len;
    const char *e = s ? qty_parse(s, &q, &start, &len) : validate_quantity_err_format;
    if (e) {
        if (err)
            *err = e;
        return -1;
    }
    if (q.keep_text && len < VALIDATE_QUANTITY_STRLEN) {
        memcpy(out, start, len);
        out[len] = 0;
        return 0;
    }
    qty_canonical(to_milli(q.nano), q.fmt, out);
    return 0;
}

static i128 qty_value(const char *s)
{
    struct qty q;
    if (!s || qty_parse(s, &q, NULL, NULL))
        return 0;
    return q.nano;
}

int validate_quantity_cmp(const char *a, const char *b)
{
    i128 x = qty_value(a), y = qty_value(b);
    return x < y ? -1 : x > y;
}

int validate_quantity_sign(const char *s)
{
    i128 v = qty_value(s);
    return v < 0 ? -1 : v > 0;
}

/* The canonical text of a quantity member, for messages (Quantity.String()). */
static void qty_string(const json_t *v, char out[VALIDATE_QUANTITY_STRLEN])
{
    char buf[64];
    const char *s = qty_text(v, buf);
    if (!s || validate_quantity_normalize(s, out, NULL))
        snprintf(out, VALIDATE_QUANTITY_STRLEN, "%s", s ? s : "0");
}

static const char *bad_in_list(const json_t *list, const char **err)
{
    const char *key;
    json_t *v;
    if (!json_is_object(list))
        return NULL;
    json_object_foreach((json_t *)list, key, v) {
        char buf[64];
        struct qty q;
        const char *s = qty_text(v, buf);
        if (!s)
            continue;
        const char *e = qty_parse(s, &q, NULL, NULL);
        if (e) {
            *err = e;
            return json_is_string(v) ? json_string_value(v) : key;
        }
    }
    return NULL;
}

static const char *bad_in_resources(const json_t *res, const char **err)
{
    const char *bad = bad_in_list(ju_get(res, "limits"), err);
    return bad ? bad : bad_in_list(ju_get(res, "requests"), err);
}

const char *validate_pod_spec_bad_quantity(const json_t *spec, const char **err)
{
    static const char *const lists[] = {"initContainers", "containers", "ephemeralContainers"};
    for (size_t l = 0; l < N_OF(lists); l++) {
        size_t i;
        json_t *c;
        json_array_foreach(ju_arr(spec, lists[l]), i, c) {
            const char *bad = bad_in_resources(ju_get(c, "resources"), err);
            if (bad)
                return bad;
        }
    }
    const char *bad = bad_in_list(ju_get(spec, "overhead"), err);
    return bad ? bad : bad_in_resources(ju_get(spec, "resources"), err);
}

const char *validate_node_bad_quantity(const json_t *node, const char **err)
{
    const json_t *st = ju_get(node, "status");
    const char *bad = bad_in_list(ju_get(st, "capacity"), err);
    return bad ? bad : bad_in_list(ju_get(st, "allocatable"), err);
}

/* ---- PodSpec v1 defaulting ---------------------------------------------------------------------
 * pkg/apis/core/v1/defaults.go and the generated SetObjectDefaults_Pod: what a missing field
 * becomes when a Pod or a pod template is decoded. */

static void set_default_str(json_t *obj, const char *key, const char *value)
{
    if (json_is_object(obj) && ju_empty(ju_str(obj, key)))
        json_object_set_new(obj, key, json_string(value));
}

static void set_default_int(json_t *obj, const char *key, long long value)
{
    json_t *v = ju_get(obj, key);
    if (json_is_object(obj) && (!json_is_integer(v) || !json_integer_value(v)))
        json_object_set_new(obj, key, json_integer(value));
}

/* For *int32 / *int64 fields: only an absent (nil) value is defaulted. */
static void set_default_ptr_int(json_t *obj, const char *key, long long value)
{
    json_t *v = ju_get(obj, key);
    if (json_is_object(obj) && (!v || json_is_null(v)))
        json_object_set_new(obj, key, json_integer(value));
}

/* SetDefaults_ResourceList: every quantity rounded up to milli and written canonically. */
static void default_resource_list(json_t *list)
{
    const char *key;
    json_t *v;
    if (!json_is_object(list))
        return;
    json_object_foreach(list, key, v) {
        char buf[64], out[VALIDATE_QUANTITY_STRLEN];
        const char *s = qty_text(v, buf);
        if (s && !validate_quantity_normalize(s, out, NULL))
            json_object_set_new(list, key, json_string(out));
    }
}

static void default_resources(json_t *res)
{
    default_resource_list(ju_get(res, "limits"));
    default_resource_list(ju_get(res, "requests"));
}

static void default_field_ref(json_t *holder)
{
    json_t *ref = ju_obj(holder, "fieldRef");
    if (ref)
        set_default_str(ref, "apiVersion", "v1");
}

static void default_http_get(json_t *handler)
{
    json_t *http = ju_obj(handler, "httpGet");
    if (!http)
        return;
    set_default_str(http, "path", "/");
    set_default_str(http, "scheme", "HTTP");
}

static void default_probe(json_t *probe)
{
    if (!json_is_object(probe))
        return;
    set_default_int(probe, "timeoutSeconds", 1);
    set_default_int(probe, "periodSeconds", 10);
    set_default_int(probe, "successThreshold", 1);
    set_default_int(probe, "failureThreshold", 3);
    default_http_get(probe);
    json_t *grpc = ju_obj(probe, "grpc");
    if (grpc && !json_is_string(ju_get(grpc, "service")))
        json_object_set_new(grpc, "service", json_string(""));
}

/*
 * The tag parsers.ParseImageName finds: the part after the last ':' that follows the last '/',
 * "latest" when there is neither a tag nor a digest, "" when there is only a digest or the
 * reference does not parse (upper case in the repository, an empty name).
 */
static bool image_tag_is_latest(const char *image)
{
    if (ju_empty(image))
        return false;
    const char *at = strchr(image, '@');
    size_t n = at ? (size_t)(at - image) : strlen(image);
    const char *slash = NULL;
    for (size_t i = 0; i < n; i++)
        if (image[i] == '/')
            slash = image + i;
    const char *colon = NULL;
    for (const char *p = slash ? slash : image; p < image + n; p++)
        if (*p == ':')
            colon = p;
    const char *repo_end = colon ? colon : image + n;
    /* The domain (before the first '/', when it looks like one) may have upper case. */
    const char *first_slash = memchr(image, '/', n);
    const char *path = image;
    if (first_slash) {
        bool domain = false;
        for (const char *p = image; p < first_slash; p++)
            domain |= *p == '.' || *p == ':' || (*p >= 'A' && *p <= 'Z');
        domain |= (size_t)(first_slash - image) == 9 && !strncmp(image, "localhost", 9);
        if (domain)
            path = first_slash + 1;
    }
    for (const char *p = path; p < repo_end; p++)
        if (*p >= 'A' && *p <= 'Z')
            return false;
    if (repo_end == path)
        return false;
    if (colon)
        return !strncmp(colon + 1, "latest", 6) && (size_t)(image + n - colon - 1) == 6;
    return !at;
}

static void default_container(json_t *c, bool host_network)
{
    if (!json_is_object(c))
        return;
    if (ju_empty(ju_str(c, "imagePullPolicy")))
        json_object_set_new(c, "imagePullPolicy",
                            json_string(image_tag_is_latest(ju_str(c, "image")) ? "Always"
                                                                                : "IfNotPresent"));
    set_default_str(c, "terminationMessagePath", "/dev/termination-log");
    set_default_str(c, "terminationMessagePolicy", "File");
    size_t i;
    json_t *v;
    json_array_foreach(ju_arr(c, "ports"), i, v) {
        set_default_str(v, "protocol", "TCP");
        /* SetDefaults_Pod: with host networking every container port is a host port. */
        if (host_network && json_is_object(v) && !ju_int(v, "hostPort", 0) &&
            json_is_integer(ju_get(v, "containerPort")))
            json_object_set(v, "hostPort", ju_get(v, "containerPort"));
    }
    json_array_foreach(ju_arr(c, "env"), i, v) default_field_ref(ju_obj(v, "valueFrom"));
    default_resources(ju_obj(c, "resources"));
    default_probe(ju_obj(c, "livenessProbe"));
    default_probe(ju_obj(c, "readinessProbe"));
    default_probe(ju_obj(c, "startupProbe"));
    json_t *lc = ju_obj(c, "lifecycle");
    default_http_get(ju_obj(lc, "postStart"));
    default_http_get(ju_obj(lc, "preStop"));
}

/* SetDefaults_Pod: limits without requests become the requests. */
static void default_requests_from_limits(json_t *c)
{
    json_t *res = ju_obj(c, "resources");
    json_t *limits = ju_obj(res, "limits");
    if (!limits)
        return;
    json_t *req = ju_ensure_obj(res, "requests");
    const char *key;
    json_t *v;
    json_object_foreach(limits, key, v) {
        if (!json_object_get(req, key))
            json_object_set(req, key, v);
    }
}

/* Every VolumeSource member (v1 names): a volume with none of them is an emptyDir. */
static const char *const volume_sources[] = {
    "hostPath",     "emptyDir",      "gcePersistentDisk", "awsElasticBlockStore", "gitRepo",
    "secret",       "nfs",           "iscsi",             "glusterfs",            "persistentVolumeClaim",
    "rbd",          "flexVolume",    "cinder",            "cephfs",               "flocker",
    "downwardAPI",  "fc",            "azureFile",         "configMap",            "vsphereVolume",
    "quobyte",      "azureDisk",     "photonPersistentDisk", "projected",         "portworxVolume",
    "scaleIO",      "storageos",     "csi",               "ephemeral",            "image",
};

static bool has_member(const json_t *obj, const char *key)
{
    json_t *v = ju_get(obj, key);
    return v && !json_is_null(v);
}

static void default_items_field_refs(json_t *holder)
{
    size_t i;
    json_t *it;
    json_array_foreach(ju_arr(holder, "items"), i, it) default_field_ref(it);
}

static void default_volume(json_t *vol)
{
    if (!json_is_object(vol))
        return;
    bool any = false;
    for (size_t i = 0; i < N_OF(volume_sources) && !any; i++)
        any = has_member(vol, volume_sources[i]);
    if (!any)
        json_object_set_new(vol, "emptyDir", json_object());
    json_t *hp = ju_obj(vol, "hostPath");
    if (hp && !json_is_string(ju_get(hp, "type")))
        json_object_set_new(hp, "type", json_string(""));
    set_default_ptr_int(ju_obj(vol, "secret"), "defaultMode", 420);
    set_default_ptr_int(ju_obj(vol, "configMap"), "defaultMode", 420);
    json_t *dapi = ju_obj(vol, "downwardAPI");
    if (dapi) {
        set_default_ptr_int(dapi, "defaultMode", 420);
        default_items_field_refs(dapi);
    }
    json_t *proj = ju_obj(vol, "projected");
    if (proj) {
        set_default_ptr_int(proj, "defaultMode", 420);
        size_t i;
        json_t *src;
        json_array_foreach(ju_arr(proj, "sources"), i, src) {
            default_items_field_refs(ju_obj(src, "downwardAPI"));
            set_default_ptr_int(ju_obj(src, "serviceAccountToken"), "expirationSeconds", 3600);
        }
    }
    json_t *iscsi = ju_obj(vol, "iscsi");
    if (iscsi)
        set_default_str(iscsi, "iscsiInterface", "default");
    json_t *rbd = ju_obj(vol, "rbd");
    if (rbd) {
        set_default_str(rbd, "pool", "rbd");
        set_default_str(rbd, "user", "admin");
        set_default_str(rbd, "keyring", "/etc/ceph/keyring");
    }
    json_t *claim = ju_obj(ju_obj(ju_obj(vol, "ephemeral"), "volumeClaimTemplate"), "spec");
    if (claim)
        set_default_str(claim, "volumeMode", "Filesystem");
}

void validate_default_pod_spec(json_t *spec, bool pod)
{
    if (!json_is_object(spec))
        return;
    static const char *const lists[] = {"initContainers", "containers", "ephemeralContainers"};
    size_t i;
    json_t *v;
    if (pod) {
        json_array_foreach(ju_arr(spec, "containers"), i, v) default_requests_from_limits(v);
        json_array_foreach(ju_arr(spec, "initContainers"), i, v) default_requests_from_limits(v);
        json_t *esl = ju_get(spec, "enableServiceLinks");
        if (!json_is_boolean(esl))
            json_object_set_new(spec, "enableServiceLinks", json_true());
    }
    set_default_str(spec, "dnsPolicy", "ClusterFirst");
    set_default_str(spec, "restartPolicy", "Always");
    if (!json_is_object(ju_get(spec, "securityContext")))
        json_object_set_new(spec, "securityContext", json_object());
    set_default_ptr_int(spec, "terminationGracePeriodSeconds", 30);
    set_default_str(spec, "schedulerName", "default-scheduler");
    json_array_foreach(ju_arr(spec, "volumes"), i, v) default_volume(v);
    bool host_network = pod && ju_bool(spec, "hostNetwork", false);
    for (size_t l = 0; l < N_OF(lists); l++)
        json_array_foreach(ju_arr(spec, lists[l]), i, v) default_container(v, host_network && l < 2);
    default_resource_list(ju_obj(spec, "overhead"));
    default_resources(ju_obj(spec, "resources"));
    /* The v1 conversion keeps serviceAccount (deprecated) and serviceAccountName one value. */
    const char *san = ju_str(spec, "serviceAccountName");
    const char *sa = ju_str(spec, "serviceAccount");
    if (ju_empty(san) && !ju_empty(sa))
        json_object_set_new(spec, "serviceAccountName", json_string(sa));
    san = ju_str(spec, "serviceAccountName");
    if (!ju_empty(san))
        json_object_set_new(spec, "serviceAccount", json_string(san));
    else
        json_object_del(spec, "serviceAccount");
}

/* ---- QoS ---------------------------------------------------------------------------------------
 * qos.ComputePodQOS: sums of positive cpu and memory requests and limits over containers and
 * init containers; Guaranteed when every container limits both and requests equal limits. */

struct qos_sum {
    i128 req[2], lim[2];
    bool has_req[2], has_lim[2];
};

static int qos_resource(const char *name)
{
    return !strcmp(name, "cpu") ? 0 : !strcmp(name, "memory") ? 1 : -1;
}

static void qos_add(const json_t *list, i128 *sum, bool *has, bool *found)
{
    const char *key;
    json_t *v;
    if (!json_is_object(list))
        return;
    json_object_foreach((json_t *)list, key, v) {
        int r = qos_resource(key);
        char buf[64];
        const char *s = qty_text(v, buf);
        if (r < 0 || !s)
            continue;
        i128 q = qty_value(s);
        if (q > 0) {
            sum[r] += q;
            has[r] = true;
            if (found)
                found[r] = true;
        }
    }
}

const char *validate_pod_qos_class(const json_t *spec)
{
    struct qos_sum s;
    memset(&s, 0, sizeof(s));
    bool guaranteed = true;
    static const char *const lists[] = {"containers", "initContainers"};
    for (size_t l = 0; l < N_OF(lists); l++) {
        size_t i;
        json_t *c;
        json_array_foreach(ju_arr(spec, lists[l]), i, c) {
            const json_t *res = ju_get(c, "resources");
            bool found[2] = {false, false};
            qos_add(ju_get(res, "requests"), s.req, s.has_req, NULL);
            qos_add(ju_get(res, "limits"), s.lim, s.has_lim, found);
            if (!found[0] || !found[1])
                guaranteed = false;
        }
    }
    bool any_req = s.has_req[0] || s.has_req[1], any_lim = s.has_lim[0] || s.has_lim[1];
    if (!any_req && !any_lim)
        return "BestEffort";
    if (guaranteed) {
        for (int r = 0; r < 2; r++)
            if (s.has_req[r] && (!s.has_lim[r] || s.lim[r] != s.req[r]))
                guaranteed = false;
        int nreq = s.has_req[0] + s.has_req[1], nlim = s.has_lim[0] + s.has_lim[1];
        if (guaranteed && nreq == nlim)
            return "Guaranteed";
    }
    return "Burstable";
}

/* ---- PodSpec checks ------------------------------------------------------------------------------
 * ValidatePodSpec and the helpers it calls, for a Pod (pod = true) or a pod template. */

struct podctx {
    struct field_errors *errs;
    const char *base;  /* "spec", or "spec.template.spec" */
    bool pod;          /* opts.ResourceIsPod */
    json_t *volumes;   /* names of the volumes that passed validation -> true (owned) */
};

static void add_name_msgs(struct field_errors *errs, const char *path, const char *value,
                          validate_name_fn fn)
{
    struct validate_msgs msgs;
    if (fn(value, false, &msgs))
        validate_add_msgs(errs, path, value, &msgs);
}

/* Volume sources checked in validateVolumeSource's order (the order decides which of two
   sources is reported as the extra one). */
static const char *const volume_check_order[] = {
    "hostPath",  "emptyDir",   "gitRepo",       "gcePersistentDisk", "awsElasticBlockStore",
    "secret",    "nfs",        "iscsi",         "glusterfs",         "flocker",
    "persistentVolumeClaim", "rbd", "quobyte",  "flexVolume",        "cinder",
    "cephfs",    "downwardAPI", "fc",           "azureFile",         "configMap",
    "azureDisk", "vsphereVolume", "photonPersistentDisk", "portworxVolume", "scaleIO",
    "storageos", "projected",  "csi",           "ephemeral",         "image",
};

/* A few checks inside the common sources (the rest of validateVolumeSource is not modelled). */
static void volume_source_details(struct field_errors *errs, const char *path, const char *type,
                                  const json_t *src)
{
    char *p = NULL;
    if (!strcmp(type, "hostPath") && ju_empty(ju_str(src, "path")))
        fe_required(errs, p = pathf("%s.hostPath.path", path), "");
    else if (!strcmp(type, "secret") && ju_empty(ju_str(src, "secretName")))
        fe_required(errs, p = pathf("%s.secret.secretName", path), "");
    else if (!strcmp(type, "persistentVolumeClaim") && ju_empty(ju_str(src, "claimName")))
        fe_required(errs, p = pathf("%s.persistentVolumeClaim.claimName", path), "");
    else if (!strcmp(type, "configMap") && !ju_empty(ju_str(src, "name")))
        add_name_msgs(errs, p = pathf("%s.configMap.name", path), ju_str(src, "name"),
                      validate_name_is_dns_subdomain);
    free(p);
}

static void validate_volumes(struct podctx *pc, const json_t *volumes)
{
    size_t i;
    json_t *vol;
    json_array_foreach(volumes, i, vol) {
        struct field_errors el;
        fe_init(&el);
        char *idx = pathf("%s.volumes[%zu]", pc->base, i), *name_path = pathf("%s.name", idx);
        size_t n = 0;
        for (size_t s = 0; s < N_OF(volume_check_order); s++) {
            const json_t *src = ju_get(vol, volume_check_order[s]);
            if (!src || json_is_null(src))
                continue;
            if (n++) {
                char *p = pathf("%s.%s", idx, volume_check_order[s]);
                fe_forbidden(&el, p, "may not specify more than 1 volume type");
                free(p);
            } else {
                volume_source_details(&el, idx, volume_check_order[s], src);
            }
        }
        if (!n)
            fe_required(&el, idx, "must specify a volume type");
        const char *name = sv(vol, "name");
        if (!*name)
            fe_required(&el, name_path, "");
        else
            validate_dns1123_label_field(&el, name_path, name);
        if (json_object_get(pc->volumes, name))
            fe_duplicate_str(&el, name_path, name);
        if (!el.len)
            json_object_set_new(pc->volumes, name, json_true());
        fe_append(pc->errs, &el);
        fe_release(&el);
        free(idx);
        free(name_path);
    }
}

/* validateContainerPorts */
static void validate_container_ports(struct field_errors *errs, const char *path,
                                     const json_t *ports)
{
    json_t *names = json_object();
    size_t i;
    json_t *p;
    json_array_foreach(ports, i, p) {
        char *idx = pathf("%s.ports[%zu]", path, i);
        char *sub = NULL;
        const char *name = sv(p, "name");
        if (*name) {
            struct validate_msgs msgs;
            sub = pathf("%s.name", idx);
            if (validate_is_port_name(name, &msgs))
                validate_add_msgs(errs, sub, name, &msgs);
            else if (json_object_get(names, name))
                fe_duplicate_str(errs, sub, name);
            else
                json_object_set_new(names, name, json_true());
            free(sub);
        }
        long long cp = ju_int(p, "containerPort", 0);
        sub = pathf("%s.containerPort", idx);
        if (!cp)
            fe_required(errs, sub, "");
        else
            validate_port_num_field(errs, sub, cp);
        free(sub);
        long long hp = ju_int(p, "hostPort", 0);
        if (hp) {
            sub = pathf("%s.hostPort", idx);
            validate_port_num_field(errs, sub, hp);
            free(sub);
        }
        sub = pathf("%s.protocol", idx);
        validate_protocol_field(errs, sub, ju_str(p, "protocol"));
        free(sub);
        free(idx);
    }
    json_decref(names);
}

/* IsRelaxedEnvVarName (RelaxedEnvironmentVariableValidation is on in 1.33). */
static void env_var_name(struct field_errors *errs, const char *path, const char *name)
{
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p > 0x7e || *p == '=') {
            fe_invalid_str(errs, path, name, "a valid environment variable name must consist only "
                                             "of printable ASCII characters other than '='");
            return;
        }
}

static void key_selector(struct field_errors *errs, const char *path, const json_t *sel)
{
    char *p = pathf("%s.name", path);
    const char *name = sv(sel, "name");
    add_name_msgs(errs, p, name, validate_name_is_dns_subdomain);
    free(p);
    p = pathf("%s.key", path);
    if (ju_empty(ju_str(sel, "key")))
        fe_required(errs, p, "");
    free(p);
}

static void validate_env(struct field_errors *errs, const char *path, const json_t *env)
{
    size_t i;
    json_t *ev;
    json_array_foreach(env, i, ev) {
        char *idx = pathf("%s.env[%zu]", path, i), *np = pathf("%s.name", idx);
        const char *name = sv(ev, "name");
        if (!*name)
            fe_required(errs, np, "");
        else
            env_var_name(errs, np, name);
        free(np);
        const json_t *from = ju_get(ev, "valueFrom");
        if (json_is_object(from)) {
            char *fp = pathf("%s.valueFrom", idx);
            int n = 0;
            const json_t *fr = ju_get(from, "fieldRef");
            if (json_is_object(fr)) {
                n++;
                char *p = NULL;
                if (ju_empty(ju_str(fr, "apiVersion")))
                    fe_required(errs, p = pathf("%s.fieldRef.apiVersion", fp), "");
                else if (ju_empty(ju_str(fr, "fieldPath")))
                    fe_required(errs, p = pathf("%s.fieldRef.fieldPath", fp), "");
                free(p);
            }
            const json_t *rfr = ju_get(from, "resourceFieldRef");
            if (json_is_object(rfr)) {
                n++;
                if (ju_empty(ju_str(rfr, "resource"))) {
                    char *p = pathf("%s.resourceFieldRef.resource", fp);
                    fe_required(errs, p, "");
                    free(p);
                }
            }
            static const char *const keyed[] = {"configMapKeyRef", "secretKeyRef"};
            for (size_t k = 0; k < N_OF(keyed); k++) {
                const json_t *sel = ju_get(from, keyed[k]);
                if (json_is_object(sel)) {
                    n++;
                    char *p = pathf("%s.%s", fp, keyed[k]);
                    key_selector(errs, p, sel);
                    free(p);
                }
            }
            if (!n)
                fe_invalid_str(errs, fp, "", "must specify one of: `fieldRef`, `resourceFieldRef`, "
                                             "`configMapKeyRef` or `secretKeyRef`");
            else if (!ju_empty(ju_str(ev, "value")))
                fe_invalid_str(errs, fp, "", "may not be specified when `value` is not empty");
            else if (n > 1)
                fe_invalid_str(errs, fp, "", "may not have more than one field specified at a time");
            free(fp);
        }
        free(idx);
    }
}

static void validate_env_from(struct field_errors *errs, const char *path, const json_t *list)
{
    size_t i;
    json_t *ev;
    char *lp = pathf("%s.envFrom", path);
    json_array_foreach(list, i, ev) {
        const char *prefix = sv(ev, "prefix");
        if (*prefix) {
            char *p = pathf("%s[%zu].prefix", lp, i);
            env_var_name(errs, p, prefix);
            free(p);
        }
        int n = 0;
        static const char *const refs[] = {"configMapRef", "secretRef"};
        for (size_t k = 0; k < N_OF(refs); k++) {
            const json_t *ref = ju_get(ev, refs[k]);
            if (!json_is_object(ref))
                continue;
            n++;
            char *p = pathf("%s[%zu].%s.name", lp, i, refs[k]);
            if (ju_empty(ju_str(ref, "name")))
                fe_required(errs, p, "");
            else
                add_name_msgs(errs, p, ju_str(ref, "name"), validate_name_is_dns_subdomain);
            free(p);
        }
        if (!n)
            fe_invalid_str(errs, lp, "", "must specify one of: `configMapRef` or `secretRef`");
        else if (n > 1)
            fe_invalid_str(errs, lp, "", "may not have more than one field specified at a time");
    }
    free(lp);
}

static void validate_volume_mounts(struct podctx *pc, const char *path, const json_t *mounts)
{
    json_t *paths = json_object();
    size_t i;
    json_t *m;
    json_array_foreach(mounts, i, m) {
        char *idx = pathf("%s.volumeMounts[%zu]", path, i);
        char *np = pathf("%s.name", idx), *mp = pathf("%s.mountPath", idx);
        const char *name = sv(m, "name"), *mount = sv(m, "mountPath");
        if (!*name)
            fe_required(pc->errs, np, "");
        if (!json_object_get(pc->volumes, name)) {
            char *q = fe_quote(name);
            fe_not_found(pc->errs, np, q);
            free(q);
        }
        if (!*mount)
            fe_required(pc->errs, mp, "");
        if (json_object_get(paths, mount))
            fe_invalid_str(pc->errs, mp, mount, "must be unique");
        json_object_set_new(paths, mount, json_true());
        free(idx);
        free(np);
        free(mp);
    }
    json_decref(paths);
}

static bool is_hugepages(const char *name)
{
    return !strncmp(name, "hugepages-", 10);
}

/* helper.IsNativeResource: no domain, or a kubernetes.io one. */
static bool is_native_resource(const char *name)
{
    return !strchr(name, '/') || strstr(name, "kubernetes.io/");
}

static bool overcommit_allowed(const char *name)
{
    return is_native_resource(name) && !is_hugepages(name);
}

/* validateContainerResourceName */
static void container_resource_name(struct field_errors *errs, const char *path, const char *name)
{
    struct validate_msgs msgs;
    if (validate_is_qualified_name(name, &msgs)) {
        validate_add_msgs(errs, path, name, &msgs);
    } else if (!strchr(name, '/')) {
        static const char *const standard[] = {
            "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory",
            "requests.ephemeral-storage", "limits.cpu", "limits.memory",
            "limits.ephemeral-storage", "pods", "services", "replicationcontrollers",
            "resourcequotas", "secrets", "persistentvolumeclaims", "configmaps", "storage",
            "requests.storage", "services.nodeports", "services.loadbalancers"};
        bool huge = is_hugepages(name) || !strncmp(name, "requests.hugepages-", 19);
        if (!in_list(name, standard, N_OF(standard)) && !huge)
            fe_invalid_str(errs, path, name, "must be a standard resource type or fully qualified");
    }
    if (!strchr(name, '/')) {
        static const char *const container[] = {"cpu", "memory", "ephemeral-storage"};
        if (!in_list(name, container, N_OF(container)) && !is_hugepages(name))
            fe_invalid_str(errs, path, name, "must be a standard resource for containers");
    } else if (!is_native_resource(name)) {
        char *req = pathf("requests.%s", name);
        bool extended = strncmp(name, "requests.", 9) && !validate_is_qualified_name(req, &msgs);
        free(req);
        if (!extended)
            fe_invalid_str(errs, path, name, "doesn't follow extended resource name standard");
    }
}

static void quantity_nonnegative(struct field_errors *errs, const char *path, const json_t *v)
{
    char buf[64], canon[VALIDATE_QUANTITY_STRLEN];
    const char *s = qty_text(v, buf);
    if (s && validate_quantity_sign(s) < 0) {
        qty_string(v, canon);
        fe_invalid_str(errs, path, canon, "must be greater than or equal to 0");
    }
}

/* ValidateContainerResourceRequirements (lists walked in key order; upstream's map order is
   random, so with several bad entries the order of the causes may differ there). */
static void validate_resources(struct field_errors *errs, const char *path, const json_t *res)
{
    const json_t *limits = ju_get(res, "limits"), *requests = ju_get(res, "requests");
    char *lim_path = pathf("%s.resources.limits", path);
    char *req_path = pathf("%s.resources.requests", path);
    size_t n;
    const char **keys = sorted_keys(limits, &n);
    for (size_t i = 0; i < n; i++) {
        char *p = fe_path_key(lim_path, keys[i]);
        container_resource_name(errs, p, keys[i]);
        quantity_nonnegative(errs, p, json_object_get(limits, keys[i]));
        free(p);
    }
    free(keys);
    keys = sorted_keys(requests, &n);
    for (size_t i = 0; i < n; i++) {
        char *p = fe_path_key(req_path, keys[i]);
        const json_t *q = json_object_get(requests, keys[i]);
        container_resource_name(errs, p, keys[i]);
        quantity_nonnegative(errs, p, q);
        free(p);
        const json_t *lim = ju_get(limits, keys[i]);
        char qbuf[64], lbuf[64], qs[VALIDATE_QUANTITY_STRLEN], ls[VALIDATE_QUANTITY_STRLEN];
        if (lim) {
            int c = validate_quantity_cmp(qty_text(q, qbuf), qty_text(lim, lbuf));
            qty_string(q, qs);
            qty_string(lim, ls);
            char *d = NULL;
            if (c && !overcommit_allowed(keys[i]))
                d = pathf("must be equal to %s limit of %s", keys[i], ls);
            else if (c > 0)
                d = pathf("must be less than or equal to %s limit of %s", keys[i], ls);
            if (d)
                fe_invalid_str(errs, req_path, qs, d);
            free(d);
        } else if (!overcommit_allowed(keys[i])) {
            fe_required(errs, lim_path, "Limit must be set for non overcommitable resources");
        }
    }
    free(keys);
    free(lim_path);
    free(req_path);
}

/* ValidatePortNumOrName for an IntOrString member. */
static void port_num_or_name(struct field_errors *errs, const char *path, const json_t *port)
{
    if (json_is_string(port))
        validate_port_name_field(errs, path, json_string_value(port));
    else
        validate_port_num_field(errs, path, json_is_integer(port) ? json_integer_value(port) : 0);
}

/* validateHandler: exactly one action; probe handlers know grpc, lifecycle ones sleep. */
static void validate_handler(struct field_errors *errs, const char *path, const json_t *h,
                             bool lifecycle, long long grace)
{
    static const char *const probe_kinds[] = {"exec", "httpGet", "tcpSocket", "grpc"};
    static const char *const lc_kinds[] = {"exec", "httpGet", "tcpSocket", "sleep"};
    const char *const *kinds = lifecycle ? lc_kinds : probe_kinds;
    int n = 0;
    for (size_t k = 0; k < 4; k++) {
        const json_t *a = ju_get(h, kinds[k]);
        if (!json_is_object(a))
            continue;
        char *p = pathf("%s.%s", path, kinds[k]);
        if (n++) {
            fe_forbidden(errs, p, "may not specify more than 1 handler type");
            free(p);
            continue;
        }
        char *sub = NULL;
        if (!strcmp(kinds[k], "exec")) {
            if (!alen(ju_get(a, "command")))
                fe_required(errs, sub = pathf("%s.command", p), "");
        } else if (!strcmp(kinds[k], "httpGet")) {
            if (ju_empty(ju_str(a, "path"))) {
                fe_required(errs, sub = pathf("%s.path", p), "");
                free(sub);
            }
            sub = pathf("%s.port", p);
            port_num_or_name(errs, sub, ju_get(a, "port"));
            free(sub);
            static const char *const schemes[] = {"HTTP", "HTTPS"};
            sub = pathf("%s.scheme", p);
            if (!in_list(sv(a, "scheme"), schemes, 2)) {
                char *q = fe_quote(sv(a, "scheme"));
                fe_not_supported(errs, sub, q, schemes, 2);
                free(q);
            }
        } else if (!strcmp(kinds[k], "tcpSocket")) {
            port_num_or_name(errs, sub = pathf("%s.port", p), ju_get(a, "port"));
        } else if (!strcmp(kinds[k], "grpc")) {
            validate_port_num_field(errs, sub = pathf("%s.port", p), ju_int(a, "port", 0));
        } else {
            /* PodLifecycleSleepActionAllowZero is on in 1.33. */
            long long secs = ju_int(a, "seconds", 0);
            if (grace >= 0 && (secs < 0 || secs > grace)) {
                char *d = pathf("must be non-negative and less than terminationGracePeriodSeconds "
                                "(%lld)", grace);
                fe_invalid_int(errs, p, secs, d);
                free(d);
            }
        }
        free(sub);
        free(p);
    }
    if (!n)
        fe_required(errs, path, "must specify a handler type");
}

enum probe_kind { PROBE_LIVENESS, PROBE_READINESS, PROBE_STARTUP };

static void validate_probe(struct field_errors *errs, const char *cpath, const char *name,
                           const json_t *probe, enum probe_kind kind, long long grace)
{
    if (!json_is_object(probe))
        return;
    char *path = pathf("%s.%s", cpath, name);
    validate_handler(errs, path, probe, false, grace);
    static const char *const nonneg[] = {"initialDelaySeconds", "timeoutSeconds", "periodSeconds",
                                         "successThreshold", "failureThreshold"};
    for (size_t i = 0; i < N_OF(nonneg); i++) {
        char *p = pathf("%s.%s", path, nonneg[i]);
        validate_nonnegative_field(errs, p, ju_int(probe, nonneg[i], 0));
        free(p);
    }
    const json_t *tgp = ju_get(probe, "terminationGracePeriodSeconds");
    char *tp = pathf("%s.terminationGracePeriodSeconds", path);
    if (json_is_integer(tgp) && json_integer_value(tgp) <= 0)
        invalid_int(errs, tp, json_integer_value(tgp), "must be greater than 0");
    if (kind != PROBE_READINESS && ju_int(probe, "successThreshold", 0) != 1) {
        char *p = pathf("%s.successThreshold", path);
        invalid_int(errs, p, ju_int(probe, "successThreshold", 0), "must be 1");
        free(p);
    }
    if (kind == PROBE_READINESS && json_is_integer(tgp))
        invalid_int(errs, tp, json_integer_value(tgp), "must not be set for readinessProbes");
    free(tp);
    free(path);
}

static void validate_lifecycle(struct field_errors *errs, const char *cpath, const json_t *lc,
                               long long grace)
{
    static const char *const hooks[] = {"postStart", "preStop"};
    for (size_t i = 0; i < N_OF(hooks); i++) {
        const json_t *h = ju_get(lc, hooks[i]);
        if (!json_is_object(h))
            continue;
        char *p = pathf("%s.lifecycle.%s", cpath, hooks[i]);
        validate_handler(errs, p, h, true, grace);
        free(p);
    }
}

/* validateContainerCommon */
static void validate_container_common(struct podctx *pc, const char *path, const json_t *c)
{
    struct field_errors *errs = pc->errs;
    char *p = pathf("%s.name", path);
    const char *name = sv(c, "name");
    if (!*name)
        fe_required(errs, p, "");
    else
        validate_dns1123_label_field(errs, p, name);
    free(p);
    if (ju_empty(ju_str(c, "image"))) {
        p = pathf("%s.image", path);
        fe_required(errs, p, "");
        free(p);
    }
    static const char *const tmp[] = {"File", "FallbackToLogsOnError"};
    p = pathf("%s.terminationMessagePolicy", path);
    enum_field(errs, p, sv(c, "terminationMessagePolicy"), tmp, N_OF(tmp));
    free(p);
    validate_container_ports(errs, path, ju_get(c, "ports"));
    validate_env(errs, path, ju_get(c, "env"));
    validate_env_from(errs, path, ju_get(c, "envFrom"));
    validate_volume_mounts(pc, path, ju_get(c, "volumeMounts"));
    static const char *const pull[] = {"Always", "IfNotPresent", "Never"};
    p = pathf("%s.imagePullPolicy", path);
    enum_field(errs, p, sv(c, "imagePullPolicy"), pull, N_OF(pull));
    free(p);
    validate_resources(errs, path, ju_get(c, "resources"));
}

/* AccumulateUniqueHostPorts over some containers of one list. */
static void host_port_conflicts(struct field_errors *errs, const char *list_path,
                                const json_t *containers, size_t from, size_t to)
{
    json_t *seen = json_object();
    for (size_t ci = from; ci < to; ci++) {
        const json_t *c = json_array_get(containers, ci);
        size_t pi;
        json_t *port;
        json_array_foreach(ju_arr(c, "ports"), pi, port) {
            long long hp = ju_int(port, "hostPort", 0);
            if (!hp)
                continue;
            char *key = pathf("%s/%s/%lld", sv(port, "protocol"), sv(port, "hostIP"), hp);
            if (json_object_get(seen, key)) {
                char *p = pathf("%s[%zu].ports[%zu].hostPort", list_path, ci, pi);
                fe_duplicate_str(errs, p, key);
                free(p);
            } else {
                json_object_set_new(seen, key, json_true());
            }
            free(key);
        }
    }
    json_decref(seen);
}

static void validate_containers(struct podctx *pc, const json_t *spec, long long grace)
{
    const json_t *list = ju_get(spec, "containers");
    char *list_path = pathf("%s.containers", pc->base);
    if (!alen(list)) {
        fe_required(pc->errs, list_path, "");
        free(list_path);
        return;
    }
    json_t *names = json_object();
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c) {
        char *path = pathf("%s[%zu]", list_path, i);
        validate_container_common(pc, path, c);
        const char *name = sv(c, "name");
        if (json_object_get(names, name)) {
            char *p = pathf("%s.name", path);
            fe_duplicate_str(pc->errs, p, name);
            free(p);
        } else {
            json_object_set_new(names, name, json_true());
        }
        if (json_is_object(ju_get(c, "lifecycle")))
            validate_lifecycle(pc->errs, path, ju_get(c, "lifecycle"), grace);
        validate_probe(pc->errs, path, "livenessProbe", ju_get(c, "livenessProbe"),
                       PROBE_LIVENESS, grace);
        validate_probe(pc->errs, path, "readinessProbe", ju_get(c, "readinessProbe"),
                       PROBE_READINESS, grace);
        validate_probe(pc->errs, path, "startupProbe", ju_get(c, "startupProbe"), PROBE_STARTUP,
                       grace);
        if (ju_str(c, "restartPolicy")) {
            char *p = pathf("%s.restartPolicy", path);
            fe_forbidden(pc->errs, p, "may not be set for non-init containers");
            free(p);
        }
        free(path);
    }
    json_decref(names);
    host_port_conflicts(pc->errs, list_path, list, 0, alen(list));
    free(list_path);
}

static void validate_init_containers(struct podctx *pc, const json_t *spec, long long grace)
{
    json_t *names = json_object();
    size_t i;
    json_t *c;
    json_array_foreach(ju_arr(spec, "containers"), i, c)
        json_object_set_new(names, sv(c, "name"), json_true());
    const json_t *list = ju_get(spec, "initContainers");
    char *list_path = pathf("%s.initContainers", pc->base);
    json_array_foreach(list, i, c) {
        char *path = pathf("%s[%zu]", list_path, i);
        validate_container_common(pc, path, c);
        const char *rp = ju_str(c, "restartPolicy");
        bool always = rp && !strcmp(rp, "Always");
        if (rp && !always) {
            static const char *const ok[] = {"Always"};
            char *p = pathf("%s.restartPolicy", path), *q = fe_quote(rp);
            fe_not_supported(pc->errs, p, q, ok, 1);
            free(p);
            free(q);
        }
        const char *name = sv(c, "name");
        if (json_object_get(names, name)) {
            char *p = pathf("%s.name", path);
            fe_duplicate_str(pc->errs, p, name);
            free(p);
        } else if (*name) {
            json_object_set_new(names, name, json_true());
        }
        host_port_conflicts(pc->errs, list_path, list, i, i + 1);
        if (always) {
            if (json_is_object(ju_get(c, "lifecycle")))
                validate_lifecycle(pc->errs, path, ju_get(c, "lifecycle"), grace);
            validate_probe(pc->errs, path, "livenessProbe", ju_get(c, "livenessProbe"),
                           PROBE_LIVENESS, grace);
            validate_probe(pc->errs, path, "readinessProbe", ju_get(c, "readinessProbe"),
                           PROBE_READINESS, grace);
            validate_probe(pc->errs, path, "startupProbe", ju_get(c, "startupProbe"),
                           PROBE_STARTUP, grace);
        } else {
            static const char *const forbidden[] = {"lifecycle", "livenessProbe",
                                                    "readinessProbe", "startupProbe"};
            for (size_t k = 0; k < N_OF(forbidden); k++) {
                if (!json_is_object(ju_get(c, forbidden[k])))
                    continue;
                char *p = pathf("%s.%s", path, forbidden[k]);
                fe_forbidden(pc->errs, p,
                             "may not be set for init containers without restartPolicy=Always");
                free(p);
            }
        }
        free(path);
    }
    json_decref(names);
    free(list_path);
}

/* ValidateTolerations */
static void validate_tolerations(struct field_errors *errs, const char *path, const json_t *tols)
{
    size_t i;
    json_t *t;
    json_array_foreach(tols, i, t) {
        char *idx = pathf("%s[%zu]", path, i);
        char *kp = pathf("%s.key", idx), *op = pathf("%s.operator", idx);
        char *ep = pathf("%s.effect", idx);
        const char *key = sv(t, "key"), *oper = sv(t, "operator"), *value = sv(t, "value");
        const char *effect = sv(t, "effect");
        if (*key)
            validate_qualified_name_field(errs, kp, key);
        if (!*key && strcmp(oper, "Exists"))
            fe_invalid_str(errs, op, oper, "operator must be Exists when `key` is empty, which "
                                           "means \"match all values and all keys\"");
        if (json_is_integer(ju_get(t, "tolerationSeconds")) && strcmp(effect, "NoExecute"))
            fe_invalid_str(errs, ep, effect,
                           "effect must be 'NoExecute' when `tolerationSeconds` is set");
        if (!*oper || !strcmp(oper, "Equal")) {
            struct validate_msgs msgs;
            if (validate_is_label_value(value, &msgs)) {
                size_t len = 0;
                for (size_t m = 0; m < msgs.len; m++)
                    len += strlen(msgs.msg[m]) + 1;
                char *joined = xcalloc(1, len + 1);
                for (size_t m = 0; m < msgs.len; m++) {
                    if (m)
                        strcat(joined, ";");
                    strcat(joined, msgs.msg[m]);
                }
                fe_invalid_str(errs, op, value, joined);
                free(joined);
            }
        } else if (!strcmp(oper, "Exists")) {
            if (*value)
                fe_invalid_str(errs, op, value, "value must be empty when `operator` is 'Exists'");
        } else {
            static const char *const ops[] = {"Equal", "Exists"};
            char *q = fe_quote(oper);
            fe_not_supported(errs, op, q, ops, 2);
            free(q);
        }
        if (*effect) {
            static const char *const effects[] = {"NoSchedule", "PreferNoSchedule", "NoExecute"};
            if (!in_list(effect, effects, 3)) {
                char *q = fe_quote(effect);
                fe_not_supported(errs, ep, q, effects, 3);
                free(q);
            }
        }
        free(idx);
        free(kp);
        free(op);
        free(ep);
    }
}

static void id_range(struct field_errors *errs, const char *path, const json_t *v)
{
    if (json_is_integer(v) && (json_integer_value(v) < 0 || json_integer_value(v) > 2147483647))
        invalid_int(errs, path, json_integer_value(v), "must be between 0 and 2147483647, inclusive");
}

/* at(pc, "x.y") is "<base>.x.y"; the caller frees. */
static char *at(const struct podctx *pc, const char *rel)
{
    return pathf("%s.%s", pc->base, rel);
}

/* Invalid, Required, ... at a path relative to the spec. */
static void sc_range(const struct podctx *pc, const char *rel, const json_t *v)
{
    char *p = at(pc, rel);
    id_range(pc->errs, p, v);
    free(p);
}

/* validatePodSpecSecurityContext, the ID ranges and the process-namespace rule (upstream keeps
   hostPID and shareProcessNamespace in the security context, hence the path). */
static void validate_security_context(const struct podctx *pc, const json_t *spec)
{
    const json_t *sc = ju_get(spec, "securityContext");
    if (!json_is_object(sc))
        return;
    sc_range(pc, "securityContext.fsGroup", ju_get(sc, "fsGroup"));
    sc_range(pc, "securityContext.runAsUser", ju_get(sc, "runAsUser"));
    sc_range(pc, "securityContext.runAsGroup", ju_get(sc, "runAsGroup"));
    size_t i;
    json_t *g;
    json_array_foreach(ju_arr(sc, "supplementalGroups"), i, g) {
        char *p = pathf("%s.securityContext.supplementalGroups[%zu]", pc->base, i);
        id_range(pc->errs, p, g);
        free(p);
    }
    if (ju_bool(spec, "shareProcessNamespace", false) && ju_bool(spec, "hostPID", false)) {
        char *p = at(pc, "securityContext.shareProcessNamespace");
        fe_invalid(pc->errs, p, "true", "ShareProcessNamespace and HostPID cannot both be enabled");
        free(p);
    }
}

static void validate_dns_config(const struct podctx *pc, const json_t *spec)
{
    struct field_errors *errs = pc->errs;
    const json_t *cfg = ju_get(spec, "dnsConfig");
    bool has = json_is_object(cfg);
    char *base = at(pc, "dnsConfig");
    if (!strcmp(sv(spec, "dnsPolicy"), "None")) {
        if (!has) {
            fe_required(errs, base, "must provide `dnsConfig` when `dnsPolicy` is None");
            free(base);
            return;
        }
        if (!alen(ju_get(cfg, "nameservers"))) {
            char *p = pathf("%s.nameservers", base);
            fe_required(errs, p, "must provide at least one DNS nameserver when `dnsPolicy` is None");
            free(p);
            free(base);
            return;
        }
    }
    if (!has) {
        free(base);
        return;
    }
    const json_t *ns = ju_get(cfg, "nameservers");
    char *p = pathf("%s.nameservers", base);
    if (alen(ns) > 3) {
        char *v = fe_json_strings(ns);
        fe_invalid(errs, p, v, "must not have more than 3 nameservers");
        free(v);
    }
    free(p);
    size_t i;
    json_t *s;
    json_array_foreach(ns, i, s) {
        p = pathf("%s.nameservers[%zu]", base, i);
        validate_ip_strict_field(errs, p, item_str(s));
        free(p);
    }
    const json_t *searches = ju_get(cfg, "searches");
    size_t total = 0;
    json_array_foreach(searches, i, s) total += strlen(item_str(s)) + (i ? 1 : 0);
    p = pathf("%s.searches", base);
    if (alen(searches) > 32 || total > 2048) {
        char *v = fe_json_strings(searches);
        if (alen(searches) > 32)
            fe_invalid(errs, p, v, "must not have more than 32 search paths");
        if (total > 2048)
            fe_invalid(errs, p, v,
                       "must not have more than 2048 characters (including spaces) in the search "
                       "list");
        free(v);
    }
    free(p);
    json_array_foreach(searches, i, s) {
        /* RelaxedDNSSearchValidation (beta, on in 1.33): "." alone and underscores pass. */
        const char *v = item_str(s);
        if (!strcmp(v, "."))
            continue;
        size_t n = strlen(v);
        char *trimmed = xstrndup(v, n && v[n - 1] == '.' ? n - 1 : n);
        char *under = xstrdup(trimmed);
        for (char *c = under; *c; c++)
            if (*c == '_')
                *c = 'a';
        struct validate_msgs msgs;
        if (validate_is_dns1123_subdomain(under, &msgs)) {
            p = pathf("%s.searches[%zu]", base, i);
            fe_invalid_str(errs, p, trimmed,
                           "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                           "characters, '-', '_' or '.', and must start and end with an "
                           "alphanumeric character (e.g. 'example.com', regex used for validation "
                           "is '[a-z0-9_]([-a-z0-9_]*[a-z0-9_])?(\\.[a-z0-9_]([-a-z0-9_]*[a-z0-9_])?)*')");
            free(p);
        }
        free(trimmed);
        free(under);
    }
    json_t *o;
    json_array_foreach(ju_arr(cfg, "options"), i, o) {
        if (ju_empty(ju_str(o, "name"))) {
            p = pathf("%s.options[%zu]", base, i);
            fe_required(errs, p, "must not be empty");
            free(p);
        }
    }
    free(base);
}

static void name_field(const struct podctx *pc, const json_t *spec, const char *key)
{
    const char *v = ju_str(spec, key);
    if (ju_empty(v))
        return;
    char *p = at(pc, key);
    add_name_msgs(pc->errs, p, v, validate_name_is_dns_subdomain);
    free(p);
}

/* ValidatePodSpec (affinity, topology spread, resource claims, overhead, os, imagePullSecrets
   and the Windows rules are not modelled). */
static void validate_pod_spec(struct podctx *pc, const json_t *spec)
{
    struct field_errors *errs = pc->errs;
    const json_t *tgp = ju_get(spec, "terminationGracePeriodSeconds");
    char *p;
    if (!json_is_integer(tgp)) {
        fe_required(errs, p = at(pc, "terminationGracePeriodSeconds"), "");
        free(p);
    }
    long long grace = json_is_integer(tgp) ? json_integer_value(tgp) : -1;
    validate_volumes(pc, ju_get(spec, "volumes"));
    validate_containers(pc, spec, grace);
    validate_init_containers(pc, spec, grace);
    size_t i, j;
    json_t *v, *port;
    if (ju_bool(spec, "hostNetwork", false)) {
        json_array_foreach(ju_arr(spec, "containers"), i, v) {
            json_array_foreach(ju_arr(v, "ports"), j, port) {
                long long hp = ju_int(port, "hostPort", 0), cp = ju_int(port, "containerPort", 0);
                if ((pc->pod || hp) && hp != cp) {
                    p = pathf("%s.containers[%zu].ports[%zu].hostPort", pc->base, i, j);
                    invalid_int(errs, p, hp, "must match `containerPort` when `hostNetwork` is true");
                    free(p);
                }
            }
        }
    }
    static const char *const restart[] = {"Always", "OnFailure", "Never"};
    enum_field(errs, p = at(pc, "restartPolicy"), sv(spec, "restartPolicy"), restart,
               N_OF(restart));
    free(p);
    static const char *const dns[] = {"ClusterFirstWithHostNet", "ClusterFirst", "Default",
                                      "None"};
    enum_field(errs, p = at(pc, "dnsPolicy"), sv(spec, "dnsPolicy"), dns, N_OF(dns));
    free(p);
    validate_labels(errs, p = at(pc, "nodeSelector"), ju_get(spec, "nodeSelector"));
    free(p);
    validate_security_context(pc, spec);
    validate_dns_config(pc, spec);
    json_array_foreach(ju_arr(spec, "readinessGates"), i, v) {
        p = pathf("%s.readinessGates[%zu].conditionType", pc->base, i);
        validate_qualified_name_field(errs, p, sv(v, "conditionType"));
        free(p);
    }
    json_t *gates = json_object();
    json_array_foreach(ju_arr(spec, "schedulingGates"), i, v) {
        p = pathf("%s.schedulingGates[%zu]", pc->base, i);
        validate_qualified_name_field(errs, p, sv(v, "name"));
        if (json_object_get(gates, sv(v, "name")))
            fe_duplicate_str(errs, p, sv(v, "name"));
        json_object_set_new(gates, sv(v, "name"), json_true());
        free(p);
    }
    json_decref(gates);
    if (json_is_false(ju_get(spec, "hostUsers"))) {
        /* validateHostUsers, with upstream's capitalised HostPID / HostIPC paths. */
        static const char *const ns[][2] = {{"hostNetwork", "hostNetwork"},
                                            {"hostPID", "HostPID"},
                                            {"hostIPC", "HostIPC"}};
        for (size_t k = 0; k < N_OF(ns); k++) {
            if (!ju_bool(spec, ns[k][0], false))
                continue;
            fe_forbidden(errs, p = at(pc, ns[k][1]), "when `pod.Spec.HostUsers` is false");
            free(p);
        }
    }
    name_field(pc, spec, "serviceAccountName");
    name_field(pc, spec, "nodeName");
    const json_t *ads = ju_get(spec, "activeDeadlineSeconds");
    if (json_is_integer(ads) &&
        (json_integer_value(ads) < 1 || json_integer_value(ads) > 2147483647)) {
        invalid_int(errs, p = at(pc, "activeDeadlineSeconds"), json_integer_value(ads),
                    "must be between 1 and 2147483647, inclusive");
        free(p);
    }
    static const char *const labels[] = {"hostname", "subdomain"};
    for (size_t k = 0; k < N_OF(labels); k++) {
        if (ju_empty(ju_str(spec, labels[k])))
            continue;
        validate_dns1123_label_field(errs, p = at(pc, labels[k]), ju_str(spec, labels[k]));
        free(p);
    }
    validate_tolerations(errs, p = at(pc, "tolerations"), ju_get(spec, "tolerations"));
    free(p);
    json_array_foreach(ju_arr(spec, "hostAliases"), i, v) {
        p = pathf("%s.hostAliases[%zu].ip", pc->base, i);
        validate_ip_strict_field(errs, p, sv(v, "ip"));
        free(p);
        json_t *h;
        json_array_foreach(ju_arr(v, "hostnames"), j, h) {
            p = pathf("%s.hostAliases[%zu].hostnames[%zu]", pc->base, i, j);
            validate_dns1123_subdomain_field(errs, p, item_str(h));
            free(p);
        }
    }
    name_field(pc, spec, "priorityClassName");
    if (json_is_string(ju_get(spec, "runtimeClassName"))) {
        p = at(pc, "runtimeClassName");
        add_name_msgs(errs, p, ju_str(spec, "runtimeClassName"), validate_name_is_dns_subdomain);
        free(p);
    }
    if (json_is_string(ju_get(spec, "preemptionPolicy"))) {
        static const char *const pp[] = {"PreemptLowerPriority", "Never"};
        enum_field(errs, p = at(pc, "preemptionPolicy"), ju_str(spec, "preemptionPolicy"), pp, 2);
        free(p);
    }
}

/* The PodSpec checks with a fresh context. */
static void pod_spec_checks(struct field_errors *errs, const char *base, const json_t *spec,
                            bool pod)
{
    struct podctx pc = {.errs = errs, .base = base, .pod = pod, .volumes = json_object()};
    validate_pod_spec(&pc, spec);
    json_decref(pc.volumes);
}

/* ---- Pods ------------------------------------------------------------------------------------- */

static const char mirror_key[] = "kubernetes.io/config.mirror";
static const char apparmor_prefix[] = "container.apparmor.security.beta.kubernetes.io/";
static const char deletion_cost_key[] = "controller.kubernetes.io/pod-deletion-cost";

/* helper.GetDeletionCostFromPodAnnotations accepts a plain int32: no '+', no leading zeros. */
static bool deletion_cost_ok(const char *v)
{
    if (!*v || !(v[0] == '-' || !strcmp(v, "0") || (v[0] >= '1' && v[0] <= '9')))
        return false;
    char *end;
    long long n = strtoll(v, &end, 10);
    return !*end && end != v && n >= INT32_MIN && n <= INT32_MAX && strcmp(v, "-");
}

/* ValidatePodSpecificAnnotations (the seccomp and AppArmor annotation formats are not
   modelled; the tolerations annotation is long gone from clients). */
static void pod_annotations(struct field_errors *errs, const char *path, const json_t *ann,
                            const json_t *spec, bool allow_bad_cost)
{
    const char *mirror = ju_str(ann, mirror_key);
    if (mirror && ju_empty(ju_str(spec, "nodeName"))) {
        char *p = fe_path_key(path, mirror_key);
        fe_invalid_str(errs, p, mirror, "must set spec.nodeName if mirror pod annotation is set");
        free(p);
    }
    const char *cost = ju_str(ann, deletion_cost_key);
    if (!allow_bad_cost && cost && !deletion_cost_ok(cost)) {
        char *p = fe_path_key(path, deletion_cost_key);
        fe_invalid_str(errs, p, cost, "must be a 32bit integer");
        free(p);
    }
}

/* ValidatePodSpecificAnnotationUpdates: the mirror and AppArmor annotations are fixed. */
static void pod_annotation_updates(struct field_errors *errs, const json_t *pod, const json_t *old)
{
    const json_t *ann = ju_get(ju_get(pod, "metadata"), "annotations");
    const json_t *old_ann = ju_get(ju_get(old, "metadata"), "annotations");
    size_t n;
    const char **keys = sorted_keys(old_ann, &n);
    for (size_t i = 0; i < n; i++) {
        const char *nv = ju_str(ann, keys[i]);
        if (nv && str_eq(nv, ju_str(old_ann, keys[i])))
            continue;
        char *p = fe_path_key("metadata.annotations", keys[i]);
        if (!strncmp(keys[i], apparmor_prefix, sizeof(apparmor_prefix) - 1))
            fe_forbidden(errs, p, "may not remove or update AppArmor annotations");
        if (!strcmp(keys[i], mirror_key))
            fe_forbidden(errs, p, "may not remove or update mirror pod annotation");
        free(p);
    }
    free(keys);
    keys = sorted_keys(ann, &n);
    for (size_t i = 0; i < n; i++) {
        if (json_object_get(old_ann, keys[i]))
            continue;
        char *p = fe_path_key("metadata.annotations", keys[i]);
        if (!strncmp(keys[i], apparmor_prefix, sizeof(apparmor_prefix) - 1))
            fe_forbidden(errs, p, "may not add AppArmor annotations");
        if (!strcmp(keys[i], mirror_key))
            fe_forbidden(errs, p, "may not add mirror pod annotation");
        free(p);
    }
    free(keys);
    const char *old_cost = ju_str(old_ann, deletion_cost_key);
    pod_annotations(errs, "metadata.annotations", ann, ju_get(pod, "spec"),
                    old_cost && !deletion_cost_ok(old_cost));
}

static bool has_edge_space(const char *s)
{
    size_t n = strlen(s);
    return n && (go_is_space(s[0]) || go_is_space(s[n - 1]));
}

/* validatePodMetadataAndSpec */
static void pod_metadata_and_spec(struct field_errors *errs, const json_t *pod, bool allow_bad_cost)
{
    const json_t *meta = ju_get(pod, "metadata"), *spec = ju_get(pod, "spec");
    validate_object_meta(errs, "metadata", meta, true, validate_name_is_dns_subdomain);
    pod_annotations(errs, "metadata.annotations", ju_get(meta, "annotations"), spec,
                    allow_bad_cost);
    pod_spec_checks(errs, "spec", spec, true);
    size_t i, j;
    json_t *v, *src;
    if (ju_empty(ju_str(spec, "serviceAccountName"))) {
        json_array_foreach(ju_arr(spec, "volumes"), i, v) {
            json_array_foreach(ju_arr(ju_get(v, "projected"), "sources"), j, src) {
                if (!json_is_object(ju_get(src, "serviceAccountToken")))
                    continue;
                char *p = pathf("spec.volumes[%zu].projected.sources[%zu].serviceAccountToken", i,
                                j);
                fe_forbidden(errs, p, "must not be specified when serviceAccountName is not set");
                free(p);
            }
        }
    }
    static const char *const lists[] = {"containers", "initContainers"};
    for (size_t l = 0; l < N_OF(lists); l++) {
        json_array_foreach(ju_arr(spec, lists[l]), i, v) {
            const char *image = sv(v, "image");
            if (!has_edge_space(image))
                continue;
            char *p = pathf("spec.%s[%zu].image", lists[l], i);
            fe_invalid_str(errs, p, image, "must not have leading or trailing whitespace");
            free(p);
        }
    }
}

void validate_pod(struct field_errors *errs, const json_t *pod)
{
    const json_t *spec = ju_get(pod, "spec");
    pod_metadata_and_spec(errs, pod, false);
    if (alen(ju_get(spec, "ephemeralContainers")))
        fe_forbidden(errs, "spec.ephemeralContainers", "cannot be set on create");
    if (!ju_empty(ju_str(spec, "nodeName")) && alen(ju_get(spec, "schedulingGates")))
        fe_forbidden(errs, "spec.nodeName",
                     "cannot be set until all schedulingGates have been cleared");
}

/* ValidateContainerUpdates: true when the lists differ in length (validation stops there). */
static bool container_updates(struct field_errors *errs, const char *list, const json_t *spec,
                              const json_t *old_spec)
{
    const json_t *now = ju_get(spec, list), *before = ju_get(old_spec, list);
    char *path = pathf("spec.%s", list);
    if (alen(now) != alen(before)) {
        fe_forbidden(errs, path, "pod updates may not add or remove containers");
        free(path);
        return true;
    }
    size_t i;
    json_t *c;
    json_array_foreach(now, i, c) {
        const char *image = sv(c, "image");
        char *p = pathf("%s[%zu].image", path, i);
        if (!*image)
            fe_required(errs, p, "");
        if (has_edge_space(image))
            fe_invalid_str(errs, p, image, "must not have leading or trailing whitespace");
        free(p);
    }
    free(path);
    return false;
}

static json_t *without_toleration_seconds(const json_t *t)
{
    json_t *c = json_deep_copy(t);
    if (json_is_object(c))
        json_object_del(c, "tolerationSeconds");
    return c;
}

/* validateOnlyAddedTolerations */
static void only_added_tolerations(struct field_errors *errs, const json_t *now,
                                   const json_t *before)
{
    size_t i, j;
    json_t *o, *n;
    json_array_foreach(before, i, o) {
        bool found = false;
        json_t *oc = without_toleration_seconds(o);
        json_array_foreach(now, j, n) {
            json_t *nc = without_toleration_seconds(n);
            found = json_equal(oc, nc);
            json_decref(nc);
            if (found)
                break;
        }
        json_decref(oc);
        if (!found) {
            fe_forbidden(errs, "spec.tolerations",
                         "existing toleration can not be modified except its tolerationSeconds");
            return;
        }
    }
    validate_tolerations(errs, "spec.tolerations", now);
}

/* Go field names of PodSpec members whose JSON name does not just capitalise. */
static char *go_field_name(const char *json_name)
{
    static const char *const special[][2] = {
        {"serviceAccount", "DeprecatedServiceAccount"}, {"dnsPolicy", "DNSPolicy"},
        {"dnsConfig", "DNSConfig"}, {"hostPID", "HostPID"}, {"hostIPC", "HostIPC"},
        {"os", "OS"}, {"setHostnameAsFQDN", "SetHostnameAsFQDN"}};
    for (size_t i = 0; i < N_OF(special); i++)
        if (!strcmp(json_name, special[i][0]))
            return xstrdup(special[i][1]);
    char *s = xstrdup(json_name);
    if (*s >= 'a' && *s <= 'z')
        *s = (char)(*s - 'a' + 'A');
    return s;
}

/*
 * The part of the Forbidden message after the list of updatable fields. Upstream prints
 * cmp.Diff of its internal Go structs; we print the changed members in the same frame, with
 * their JSON values: "  core.PodSpec{\n- \tNodeName: \"a\",\n+ \tNodeName: \"b\",\n  }\n".
 */
static char *spec_diff(const json_t *before, const json_t *after)
{
    char *out = xstrdup("  core.PodSpec{\n");
    size_t identical = 0;
    const char *key;
    json_t *v;
    json_t *keys = json_object();
    if (json_is_object(before))
        json_object_foreach((json_t *)before, key, v) json_object_set_new(keys, key, json_true());
    if (json_is_object(after))
        json_object_foreach((json_t *)after, key, v) json_object_set_new(keys, key, json_true());
    json_object_foreach(keys, key, v) {
        const json_t *a = ju_get(before, key), *b = ju_get(after, key);
        if (sem_equal(a, b)) {
            identical++;
            continue;
        }
        char *name = go_field_name(key);
        char *line = xstrdup("");
        if (identical) {
            char *t = pathf("  \t... // %zu identical fields\n", identical);
            free(line);
            line = t;
            identical = 0;
        }
        if (a && !json_is_null(a)) {
            char *dump = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
            char *t = pathf("%s- \t%s: %s,\n", line, name, dump ? dump : "");
            free(dump);
            free(line);
            line = t;
        }
        if (b && !json_is_null(b)) {
            char *dump = json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY);
            char *t = pathf("%s+ \t%s: %s,\n", line, name, dump ? dump : "");
            free(dump);
            free(line);
            line = t;
        }
        char *t = pathf("%s%s", out, line);
        free(out);
        free(line);
        free(name);
        out = t;
    }
    json_decref(keys);
    char *t = identical ? pathf("%s  \t... // %zu identical fields\n  }\n", out, identical)
                        : pathf("%s  }\n", out);
    free(out);
    return t;
}

static const char updatable_fields[] =
    "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
    "`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

static void copy_member(json_t *to, const json_t *from, const char *key)
{
    json_t *v = ju_get(from, key);
    if (v)
        json_object_set_new(to, key, json_deep_copy(v));
    else
        json_object_del(to, key);
}

void validate_pod_update(struct field_errors *errs, const json_t *pod, const json_t *old)
{
    const json_t *meta = ju_get(pod, "metadata"), *old_meta = ju_get(old, "metadata");
    const json_t *spec = ju_get(pod, "spec"), *old_spec = ju_get(old, "spec");
    const char *old_cost = ju_str(ju_get(old_meta, "annotations"), deletion_cost_key);
    validate_object_meta_update(errs, "metadata", meta, old_meta);
    pod_metadata_and_spec(errs, pod, old_cost && !deletion_cost_ok(old_cost));
    pod_annotation_updates(errs, pod, old);
    if (container_updates(errs, "containers", spec, old_spec) ||
        container_updates(errs, "initContainers", spec, old_spec))
        return;
    const json_t *ads = ju_get(spec, "activeDeadlineSeconds");
    const json_t *old_ads = ju_get(old_spec, "activeDeadlineSeconds");
    if (json_is_integer(ads)) {
        long long n = json_integer_value(ads);
        if (n < 0 || n > 2147483647) {
            invalid_int(errs, "spec.activeDeadlineSeconds", n,
                        "must be between 0 and 2147483647, inclusive");
            return;
        }
        if (json_is_integer(old_ads) && json_integer_value(old_ads) < n) {
            invalid_int(errs, "spec.activeDeadlineSeconds", n,
                        "must be less than or equal to previous value");
            return;
        }
    } else if (json_is_integer(old_ads)) {
        fe_invalid(errs, "spec.activeDeadlineSeconds", "null",
                   "must not update from a positive integer to nil value");
    }
    only_added_tolerations(errs, ju_get(spec, "tolerations"), ju_get(old_spec, "tolerations"));
    /* validateOnlyDeletedSchedulingGates */
    size_t i, j;
    json_t *g, *og;
    json_array_foreach(ju_arr(spec, "schedulingGates"), i, g) {
        bool known = false;
        json_array_foreach(ju_arr(old_spec, "schedulingGates"), j, og)
            known |= str_eq(sv(g, "name"), sv(og, "name"));
        if (known)
            continue;
        char *p = pathf("spec.schedulingGates[%zu].name", i);
        char *d = pathf("only deletion is allowed, but found new scheduling gate '%s'",
                        sv(g, "name"));
        fe_forbidden(errs, p, d);
        free(p);
        free(d);
    }
    if (sem_equal(spec, old_spec))
        return;
    json_t *munged = json_is_object(spec) ? json_deep_copy(spec) : json_object();
    static const char *const lists[] = {"containers", "initContainers"};
    for (size_t l = 0; l < N_OF(lists); l++) {
        json_t *c;
        json_array_foreach(ju_arr(munged, lists[l]), i, c) {
            const json_t *oc = json_array_get(ju_get(old_spec, lists[l]), i);
            if (json_is_object(c))
                copy_member(c, oc, "image");
        }
    }
    copy_member(munged, old_spec, "activeDeadlineSeconds");
    copy_member(munged, old_spec, "schedulingGates");
    copy_member(munged, old_spec, "tolerations");
    const json_t *old_tgp = ju_get(old_spec, "terminationGracePeriodSeconds");
    if (json_is_integer(old_tgp) && json_integer_value(old_tgp) < 0 &&
        ju_int(munged, "terminationGracePeriodSeconds", 0) == 1)
        copy_member(munged, old_spec, "terminationGracePeriodSeconds");
    /* A gated pod may gain nodeSelector entries (validateNodeSelectorMutation). */
    if (alen(ju_get(old_spec, "schedulingGates"))) {
        const json_t *ns = ju_get(munged, "nodeSelector"), *old_ns = ju_get(old_spec,
                                                                             "nodeSelector");
        bool additions = true;
        const char *k;
        json_t *v;
        if (json_is_object(old_ns))
            json_object_foreach((json_t *)old_ns, k, v) additions &= str_eq(ju_str(ns, k),
                                                                           json_string_value(v));
        if (additions)
            copy_member(munged, old_spec, "nodeSelector");
    }
    if (!sem_equal(munged, old_spec)) {
        char *diff = spec_diff(old_spec, munged);
        char *d = pathf("pod updates may not change fields other than %s\n%s", updatable_fields,
                        diff);
        fe_forbidden(errs, "spec", d);
        free(d);
        free(diff);
    }
    json_decref(munged);
}

/* ValidateContainerStateTransition / ValidateInitContainerStateTransition */
static void state_transitions(struct field_errors *errs, const char *path, const json_t *now,
                              const json_t *before, const char *restart_policy,
                              const json_t *init_containers)
{
    if (!strcmp(restart_policy, "Always"))
        return;
    size_t i, j;
    json_t *o, *n;
    json_array_foreach(before, i, o) {
        const json_t *term = ju_get(ju_get(o, "state"), "terminated");
        if (!json_is_object(term))
            continue;
        if (ju_int(term, "exitCode", 0) != 0 && !strcmp(restart_policy, "OnFailure"))
            continue;
        bool restartable = false;
        json_t *c;
        json_array_foreach(init_containers, j, c) {
            if (str_eq(sv(c, "name"), sv(o, "name"))) {
                restartable = str_eq(ju_str(c, "restartPolicy"), "Always");
                break;
            }
        }
        if (restartable)
            continue;
        json_array_foreach(now, j, n) {
            if (str_eq(sv(o, "name"), sv(n, "name")) &&
                !json_is_object(ju_get(ju_get(n, "state"), "terminated"))) {
                char *p = pathf("%s[%zu].state", path, i);
                fe_forbidden(errs, p, "may not be transitioned to non-terminated state");
                free(p);
            }
        }
    }
}

/* []core.PodIP{core.PodIP{IP:"a"}, ...} and friends. */
static char *go_ip_list(const json_t *list, const char *type)
{
    char *out = pathf("[]core.%s{", type);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        char *q = fe_quote(sv(v, "ip"));
        char *t = pathf("%s%score.%s{IP:%s}", out, i ? ", " : "", type, q);
        free(q);
        free(out);
        out = t;
    }
    char *t = pathf("%s}", out);
    free(out);
    return t;
}

/* validatePodIPs / validateHostIPs */
static void status_ips(struct field_errors *errs, const json_t *status, const char *key,
                       const char *type, bool host)
{
    const json_t *list = ju_get(status, key);
    size_t n = alen(list);
    if (!n)
        return;
    char *path = pathf("status.%s", key);
    if (host && !str_eq(sv(status, "hostIP"), sv(json_array_get(list, 0), "ip")))
        fe_invalid_str(errs, "status.hostIPs[0].ip", sv(json_array_get(list, 0), "ip"),
                       "must be equal to `hostIP`");
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        char *p = pathf("%s[%zu]", path, i);
        validate_ip_strict_field(errs, p, sv(v, "ip"));
        free(p);
    }
    if (n > 1) {
        bool v4 = false, v6 = false;
        json_array_foreach(list, i, v) {
            enum validate_ip_family f = validate_ip_family(sv(v, "ip"));
            v4 |= f == VALIDATE_IPV4;
            v6 |= f == VALIDATE_IPV6;
        }
        bool dual = v4 && v6;
        char *render = go_ip_list(list, type);
        if (!host && (!dual || n > 2))
            fe_invalid(errs, path, render, "may specify no more than one IP for each IP family");
        json_array_foreach(list, i, v) {
            bool dup = false;
            for (size_t k = 0; k < i && !dup; k++)
                dup = str_eq(sv(json_array_get(list, k), "ip"), sv(v, "ip"));
            if (dup) {
                char *p = pathf("%s[%zu]", path, i), *q = fe_quote(sv(v, "ip"));
                char *val = pathf("core.%s{IP:%s}", type, q);
                fe_duplicate(errs, p, val);
                free(p);
                free(q);
                free(val);
            }
        }
        if (host && (!dual || n > 2))
            fe_invalid(errs, path, render, "may specify no more than one IP for each IP family");
        free(render);
    }
    free(path);
}

void validate_pod_status_update(struct field_errors *errs, const json_t *pod, const json_t *old)
{
    const json_t *status = ju_get(pod, "status"), *old_status = ju_get(old, "status");
    const json_t *spec = ju_get(pod, "spec"), *old_spec = ju_get(old, "spec");
    validate_object_meta_update(errs, "metadata", ju_get(pod, "metadata"), ju_get(old, "metadata"));
    pod_annotation_updates(errs, pod, old);
    size_t i;
    json_t *c;
    json_array_foreach(ju_arr(status, "conditions"), i, c) {
        static const char *const system[] = {"PodScheduled", "Ready", "Initialized"};
        if (in_list(sv(c, "type"), system, N_OF(system)))
            continue;
        /* Upstream builds this path from the metadata path. */
        char *p = pathf("metadata.conditions[%zu].Type", i);
        validate_qualified_name_field(errs, p, sv(c, "type"));
        free(p);
    }
    if (!str_eq(sv(spec, "nodeName"), sv(old_spec, "nodeName")))
        fe_forbidden(errs, "status.nodeName", "may not be changed directly");
    const char *nominated = sv(status, "nominatedNodeName");
    if (*nominated && !str_eq(nominated, sv(old_status, "nominatedNodeName")))
        add_name_msgs(errs, "status.nominatedNodeName", nominated, validate_name_is_dns_subdomain);
    validate_immutable_string(errs, "status.qosClass", sv(status, "qosClass"),
                              sv(old_status, "qosClass"));
    const char *policy = sv(old_spec, "restartPolicy");
    state_transitions(errs, "status.containerStatuses", ju_get(status, "containerStatuses"),
                      ju_get(old_status, "containerStatuses"), policy, NULL);
    state_transitions(errs, "status.initContainerStatuses",
                      ju_get(status, "initContainerStatuses"),
                      ju_get(old_status, "initContainerStatuses"), policy,
                      ju_get(old_spec, "initContainers"));
    state_transitions(errs, "status.ephemeralContainerStatuses",
                      ju_get(status, "ephemeralContainerStatuses"),
                      ju_get(old_status, "ephemeralContainerStatuses"), "Never", NULL);
    status_ips(errs, status, "podIPs", "PodIP", false);
    status_ips(errs, status, "hostIPs", "HostIP", true);
}

/* ---- pod templates and ReplicaSets ------------------------------------------------------------ */

/* ValidatePodTemplateSpec at spec.template (labels are reported under spec.template.labels). */
static void validate_pod_template(struct field_errors *errs, const json_t *tmpl)
{
    const json_t *meta = ju_get(tmpl, "metadata"), *spec = ju_get(tmpl, "spec");
    validate_labels(errs, "spec.template.labels", ju_get(meta, "labels"));
    validate_annotations(errs, "spec.template.annotations", ju_get(meta, "annotations"));
    pod_annotations(errs, "spec.template.annotations", ju_get(meta, "annotations"), spec, false);
    pod_spec_checks(errs, "spec.template.spec", spec, false);
    if (alen(ju_get(spec, "ephemeralContainers")))
        fe_forbidden(errs, "spec.template.spec.ephemeralContainers",
                     "ephemeral containers not allowed in pod template");
}

/* ValidateLabelSelector */
static void validate_label_selector(struct field_errors *errs, const char *path, const json_t *sel)
{
    char *p = pathf("%s.matchLabels", path);
    validate_labels(errs, p, ju_get(sel, "matchLabels"));
    free(p);
    size_t i;
    json_t *e;
    json_array_foreach(ju_arr(sel, "matchExpressions"), i, e) {
        char *idx = pathf("%s.matchExpressions[%zu]", path, i);
        const char *op = sv(e, "operator");
        size_t nvals = alen(ju_get(e, "values"));
        char *vp = pathf("%s.values", idx);
        if (!strcmp(op, "In") || !strcmp(op, "NotIn")) {
            if (!nvals)
                fe_required(errs, vp, "must be specified when `operator` is 'In' or 'NotIn'");
        } else if (!strcmp(op, "Exists") || !strcmp(op, "DoesNotExist")) {
            if (nvals)
                fe_forbidden(errs, vp,
                             "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
        } else {
            p = pathf("%s.operator", idx);
            fe_invalid_str(errs, p, op, "not a valid selector operator");
            free(p);
        }
        p = pathf("%s.key", idx);
        validate_qualified_name_field(errs, p, sv(e, "key"));
        free(p);
        size_t j;
        json_t *v;
        json_array_foreach(ju_arr(e, "values"), j, v) {
            p = pathf("%s[%zu]", vp, j);
            validate_label_value_field(errs, p, item_str(v));
            free(p);
        }
        free(vp);
        free(idx);
    }
}

/* ValidateReplicaSetSpec */
static void replicaset_spec(struct field_errors *errs, const json_t *spec)
{
    validate_nonnegative_field(errs, "spec.replicas", ju_int(spec, "replicas", 0));
    validate_nonnegative_field(errs, "spec.minReadySeconds", ju_int(spec, "minReadySeconds", 0));
    const json_t *sel = ju_get(spec, "selector");
    if (!json_is_object(sel)) {
        fe_required(errs, "spec.selector", "");
        sel = NULL;
    } else {
        validate_label_selector(errs, "spec.selector", sel);
        if (!olen(ju_get(sel, "matchLabels")) && !alen(ju_get(sel, "matchExpressions"))) {
            char *v = go_label_selector(sel);
            fe_invalid(errs, "spec.selector", v, "empty selector is invalid for deployment");
            free(v);
        }
    }
    char *msg = NULL;
    struct label_selector *ls = label_selector_from_json(sel, &msg);
    if (!ls) {
        char *v = go_label_selector(sel);
        fe_invalid(errs, "spec.selector", v, "invalid label selector");
        free(v);
        free(msg);
        return;
    }
    const json_t *tmpl = ju_get(spec, "template");
    const json_t *labels = ju_get(ju_get(tmpl, "metadata"), "labels");
    if (!label_selector_empty(ls) && !label_selector_matches(ls, json_is_object(labels) ? labels
                                                                                         : NULL)) {
        char *v = go_string_map(labels);
        fe_invalid(errs, "spec.template.metadata.labels", v,
                   "`selector` does not match template `labels`");
        free(v);
    }
    label_selector_free(ls);
    validate_pod_template(errs, tmpl);
    const json_t *tspec = ju_get(tmpl, "spec");
    const char *restart = sv(tspec, "restartPolicy");
    if (strcmp(restart, "Always")) {
        static const char *const ok[] = {"Always"};
        char *q = fe_quote(restart);
        fe_not_supported(errs, "spec.template.spec.restartPolicy", q, ok, 1);
        free(q);
    }
    if (json_is_integer(ju_get(tspec, "activeDeadlineSeconds")))
        fe_forbidden(errs, "spec.template.spec.activeDeadlineSeconds",
                     "activeDeadlineSeconds in ReplicaSet is not Supported");
}

void validate_replicaset(struct field_errors *errs, const json_t *rs)
{
    validate_object_meta(errs, "metadata", ju_get(rs, "metadata"), true,
                         validate_name_is_dns_subdomain);
    replicaset_spec(errs, ju_get(rs, "spec"));
}

static bool selectors_equal(const json_t *a, const json_t *b)
{
    if (!json_is_object(a) || !json_is_object(b))
        return json_is_object(a) == json_is_object(b);
    if (!sem_equal(ju_get(a, "matchLabels"), ju_get(b, "matchLabels")))
        return false;
    const json_t *ea = ju_get(a, "matchExpressions"), *eb = ju_get(b, "matchExpressions");
    if (alen(ea) != alen(eb))
        return false;
    for (size_t i = 0; i < alen(ea); i++) {
        const json_t *x = json_array_get(ea, i), *y = json_array_get(eb, i);
        if (!str_eq(sv(x, "key"), sv(y, "key")) || !str_eq(sv(x, "operator"), sv(y, "operator")) ||
            !sem_equal(ju_get(x, "values"), ju_get(y, "values")))
            return false;
    }
    return true;
}

void validate_replicaset_update(struct field_errors *errs, const json_t *rs, const json_t *old)
{
    validate_object_meta_update(errs, "metadata", ju_get(rs, "metadata"), ju_get(old, "metadata"));
    replicaset_spec(errs, ju_get(rs, "spec"));
    /* The strategy makes the selector immutable for every group version but
       extensions/v1beta1. */
    const json_t *sel = ju_get(ju_get(rs, "spec"), "selector");
    if (!selectors_equal(sel, ju_get(ju_get(old, "spec"), "selector"))) {
        char *v = json_is_object(sel) ? go_label_selector(sel) : xstrdup("null");
        fe_invalid(errs, "spec.selector", v, "field is immutable");
        free(v);
    }
}

void validate_replicaset_status_update(struct field_errors *errs, const json_t *rs,
                                       const json_t *old)
{
    validate_object_meta_update(errs, "metadata", ju_get(rs, "metadata"), ju_get(old, "metadata"));
    const json_t *st = ju_get(rs, "status");
    long long replicas = ju_int(st, "replicas", 0), labeled = ju_int(st, "fullyLabeledReplicas", 0);
    long long ready = ju_int(st, "readyReplicas", 0), available = ju_int(st, "availableReplicas", 0);
    validate_nonnegative_field(errs, "status.replicas", replicas);
    validate_nonnegative_field(errs, "status.fullyLabeledReplicas", labeled);
    validate_nonnegative_field(errs, "status.readyReplicas", ready);
    validate_nonnegative_field(errs, "status.availableReplicas", available);
    validate_nonnegative_field(errs, "status.observedGeneration",
                               ju_int(st, "observedGeneration", 0));
    static const char msg[] = "cannot be greater than status.replicas";
    if (labeled > replicas)
        invalid_int(errs, "status.fullyLabeledReplicas", labeled, msg);
    if (ready > replicas)
        invalid_int(errs, "status.readyReplicas", ready, msg);
    if (available > replicas)
        invalid_int(errs, "status.availableReplicas", available, msg);
    if (available > ready)
        invalid_int(errs, "status.availableReplicas", available,
                    "cannot be greater than readyReplicas");
}

/* ---- Nodes ------------------------------------------------------------------------------------ */

/* validateNodeTaints, at metadata.taints as upstream reports them. */
static void node_taints(struct field_errors *errs, const json_t *taints)
{
    json_t *seen = json_object(); /* "<effect>\n<key>" */
    size_t i;
    json_t *t;
    json_array_foreach(taints, i, t) {
        char *idx = pathf("metadata.taints[%zu]", i);
        char *p = pathf("%s.key", idx);
        const char *key = sv(t, "key"), *value = sv(t, "value"), *effect = sv(t, "effect");
        validate_qualified_name_field(errs, p, key);
        free(p);
        struct validate_msgs msgs;
        if (validate_is_label_value(value, &msgs)) {
            size_t len = 1;
            for (size_t m = 0; m < msgs.len; m++)
                len += strlen(msgs.msg[m]) + 1;
            char *joined = xcalloc(1, len);
            for (size_t m = 0; m < msgs.len; m++) {
                if (m)
                    strcat(joined, ";");
                strcat(joined, msgs.msg[m]);
            }
            p = pathf("%s.value", idx);
            fe_invalid_str(errs, p, value, joined);
            free(p);
            free(joined);
        }
        p = pathf("%s.effect", idx);
        static const char *const effects[] = {"NoSchedule", "PreferNoSchedule", "NoExecute"};
        enum_field(errs, p, effect, effects, 3);
        free(p);
        char *k = pathf("%s\n%s", effect, key);
        if (json_object_get(seen, k)) {
            char *qk = fe_quote(key), *qv = fe_quote(value), *qe = fe_quote(effect);
            const char *added = ju_str(t, "timeAdded");
            char *val = pathf("core.Taint{Key:%s, Value:%s, Effect:%s, TimeAdded:%s}", qk, qv, qe,
                              added ? "(*v1.Time)(0x0)" : "(*v1.Time)(nil)");
            fe_add(errs, FE_DUPLICATE, idx, val, "taints must be unique by key and effect pair");
            free(qk);
            free(qv);
            free(qe);
            free(val);
        } else {
            json_object_set_new(seen, k, json_true());
        }
        free(k);
        free(idx);
    }
    json_decref(seen);
}

/* ValidateNodeResources: status.capacity.<name> and status.allocatable.<name>. */
static void node_resources(struct field_errors *errs, const json_t *node)
{
    static const char *const lists[] = {"capacity", "allocatable"};
    for (size_t l = 0; l < N_OF(lists); l++) {
        const json_t *list = ju_get(ju_get(node, "status"), lists[l]);
        size_t n;
        const char **keys = sorted_keys(list, &n);
        for (size_t i = 0; i < n; i++) {
            char *p = pathf("status.%s.%s", lists[l], keys[i]);
            quantity_nonnegative(errs, p, json_object_get(list, keys[i]));
            free(p);
        }
        free(keys);
    }
}

void validate_node(struct field_errors *errs, const json_t *node)
{
    const json_t *spec = ju_get(node, "spec");
    validate_object_meta(errs, "metadata", ju_get(node, "metadata"), false,
                         validate_name_is_dns_subdomain);
    node_taints(errs, ju_get(spec, "taints"));
    node_resources(errs, node);
    const json_t *cidrs = ju_get(spec, "podCIDRs");
    size_t n = alen(cidrs), i;
    json_t *c;
    json_array_foreach(cidrs, i, c) {
        char *p = pathf("spec.podCIDRs[%zu]", i);
        validate_cidr_strict_field(errs, p, item_str(c));
        free(p);
    }
    if (n > 1) {
        bool v4 = false, v6 = false;
        json_array_foreach(cidrs, i, c) {
            struct validate_cidr parsed;
            if (validate_cidr_parse(item_str(c), false, &parsed))
                continue;
            enum validate_ip_family f = validate_ip_family_of(&parsed.ip);
            v4 |= f == VALIDATE_IPV4;
            v6 |= f == VALIDATE_IPV6;
        }
        if (!(v4 && v6) || n > 2) {
            char *v = fe_json_strings(cidrs);
            fe_invalid(errs, "spec.podCIDRs", v, "may specify no more than one CIDR for each IP "
                                                 "family");
            free(v);
        }
        json_array_foreach(cidrs, i, c) {
            for (size_t k = 0; k < i; k++) {
                if (!strcmp(item_str(json_array_get(cidrs, k)), item_str(c))) {
                    char *p = pathf("spec.podCIDRs[%zu]", i);
                    fe_duplicate_str(errs, p, item_str(c));
                    free(p);
                    break;
                }
            }
        }
    }
}

void validate_node_update(struct field_errors *errs, const json_t *node, const json_t *old)
{
    const json_t *spec = ju_get(node, "spec"), *old_spec = ju_get(old, "spec");
    validate_object_meta_update(errs, "metadata", ju_get(node, "metadata"),
                                ju_get(old, "metadata"));
    node_resources(errs, node);
    const json_t *addrs = ju_get(ju_get(node, "status"), "addresses");
    size_t i;
    json_t *a;
    json_array_foreach(addrs, i, a) {
        for (size_t k = 0; k < i; k++) {
            const json_t *b = json_array_get(addrs, k);
            if (str_eq(sv(a, "type"), sv(b, "type")) && str_eq(sv(a, "address"), sv(b, "address"))) {
                char *p = pathf("status.addresses[%zu]", i);
                char *qt = fe_quote(sv(a, "type")), *qa = fe_quote(sv(a, "address"));
                char *v = pathf("core.NodeAddress{Type:%s, Address:%s}", qt, qa);
                fe_duplicate(errs, p, v);
                free(p);
                free(qt);
                free(qa);
                free(v);
                break;
            }
        }
    }
    const json_t *cidrs = ju_get(spec, "podCIDRs"), *old_cidrs = ju_get(old_spec, "podCIDRs");
    static const char cidr_msg[] = "node updates may not change podCIDR except from \"\" to valid";
    if (alen(old_cidrs)) {
        if (alen(old_cidrs) != alen(cidrs)) {
            fe_forbidden(errs, "spec.podCIDRs", cidr_msg);
        } else {
            for (i = 0; i < alen(old_cidrs); i++)
                if (!str_eq(item_str(json_array_get(old_cidrs, i)),
                            item_str(json_array_get(cidrs, i))))
                    fe_forbidden(errs, "spec.podCIDRs", cidr_msg);
        }
    }
    const char *old_provider = sv(old_spec, "providerID");
    if (*old_provider && !str_eq(old_provider, sv(spec, "providerID")))
        fe_forbidden(errs, "spec.providerID",
                     "node updates may not change providerID except from \"\" to valid");
    node_taints(errs, ju_get(spec, "taints"));
    if (!str_eq(sv(spec, "externalID"), sv(old_spec, "externalID")))
        fe_forbidden(errs, "spec.externalID", "may not be updated");
}

/* ---- Events (core/v1) --------------------------------------------------------------------------
 * legacyValidateEvent for a core/v1 request: "new" events (eventTime set) need the reporting
 * fields; old ones only a namespace that agrees with involvedObject's. */

static void length_limit(struct field_errors *errs, const char *path, const char *v, size_t max)
{
    if (strlen(v) > max) {
        char *d = pathf("can have at most %zu characters", max);
        fe_invalid_str(errs, path, "", d);
        free(d);
    }
}

void validate_event(struct field_errors *errs, const json_t *ev)
{
    const char *ns = sv(ju_get(ev, "metadata"), "namespace");
    const char *involved_ns = sv(ju_get(ev, "involvedObject"), "namespace");
    if (ju_empty(ju_str(ev, "eventTime"))) {
        bool bad = *involved_ns ? strcmp(ns, involved_ns) != 0
                                : (*ns && strcmp(ns, "default"));
        if (bad)
            fe_invalid_str(errs, "involvedObject.namespace", involved_ns,
                           "does not match event.namespace");
    } else {
        if (!*involved_ns && strcmp(ns, "default") && strcmp(ns, "kube-system"))
            fe_invalid_str(errs, "involvedObject.namespace", involved_ns,
                           "does not match event.namespace");
        const char *rc = sv(ev, "reportingComponent");
        if (!*rc)
            fe_required(errs, "reportingComponent", "");
        validate_qualified_name_field(errs, "reportingComponent", rc);
        const char *ri = sv(ev, "reportingInstance");
        if (!*ri)
            fe_required(errs, "reportingInstance", "");
        length_limit(errs, "reportingInstance", ri, 128);
        const char *action = sv(ev, "action");
        if (!*action)
            fe_required(errs, "action", "");
        length_limit(errs, "action", action, 128);
        const char *reason = sv(ev, "reason");
        if (!*reason)
            fe_required(errs, "reason", "");
        length_limit(errs, "reason", reason, 128);
        length_limit(errs, "message", sv(ev, "message"), 1024);
    }
    validate_dns1123_subdomain_field(errs, "namespace", ns);
}

void validate_event_update(struct field_errors *errs, const json_t *ev, const json_t *old)
{
    (void)old; /* core/v1 updates get the legacy rules only */
    validate_event(errs, ev);
}
