/*
 * quantity: apimachinery's resource.Quantity as v0.33 parses and prints it: the accepted
 * grammar with its three error messages, the nano precision (values rounded up to it), the
 * canonical text (base-1024 suffixes for binary quantities that divide evenly, else the largest
 * decimal suffix that keeps an integer), and the rule that text already in canonical int64 form
 * is kept as written ("+1", "01" and "1E3" stay), because Quantity caches the parsed string.
 * Values are held in 128 bits; magnitudes past 2^63-1 units are capped (upstream caps binary
 * quantities only, and keeps decimal ones of any size: an input nobody sends). Significant
 * digits past 30 (18 with a binary suffix) only decide the rounding. Depends on util and
 * jansson.
 */
#include "workloads_private.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    } table[] = {{"", 10, 0},   {"n", 10, -9}, {"u", 10, -6}, {"m", 10, -3},
                 {"k", 10, 3},  {"M", 10, 6},  {"G", 10, 9},  {"T", 10, 12},
                 {"P", 10, 15}, {"E", 10, 18}, {"Ki", 2, 10}, {"Mi", 2, 20},
                 {"Gi", 2, 30}, {"Ti", 2, 40}, {"Pi", 2, 50}, {"Ei", 2, 60}};
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

/* The text of a quantity member: a string, or the decimal text of a JSON number. */
const char *wl_quantity_text(const json_t *v, char buf[64])
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

int validate_quantity_normalize(const char *s, char out[VALIDATE_QUANTITY_STRLEN], const char **err)
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

i128 wl_quantity_nano(const char *s)
{
    struct qty q;
    if (!s || qty_parse(s, &q, NULL, NULL))
        return 0;
    return q.nano;
}

int validate_quantity_cmp(const char *a, const char *b)
{
    i128 x = wl_quantity_nano(a), y = wl_quantity_nano(b);
    return x < y ? -1 : x > y;
}

int validate_quantity_sign(const char *s)
{
    i128 v = wl_quantity_nano(s);
    return v < 0 ? -1 : v > 0;
}

/* The canonical text of a quantity member, for messages (Quantity.String()). */
void wl_quantity_string(const json_t *v, char out[VALIDATE_QUANTITY_STRLEN])
{
    char buf[64];
    const char *s = wl_quantity_text(v, buf);
    if (!s || validate_quantity_normalize(s, out, NULL))
        snprintf(out, VALIDATE_QUANTITY_STRLEN, "%s", s ? s : "0");
}

static const char *bad_in_list(const json_t *list, const char **err)
{
    const char *key;
    json_t *v;
    if (!json_is_object(list))
        return NULL;
    json_object_foreach ((json_t *)list, key, v) {
        char buf[64];
        struct qty q;
        const char *s = wl_quantity_text(v, buf);
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
        json_array_foreach (ju_arr(spec, lists[l]), i, c) {
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
