/*
 * names: apimachinery's string checks (pkg/util/validation, pkg/api/validation's name functions,
 * pkg/api/validation/path) with their messages, and the core helpers that turn the messages into
 * field errors.
 *
 * Upstream checks with Go regular expressions; here each expression is a small hand-written
 * matcher over bytes. That is exact: the expressions only use ASCII classes, Go's '$' matches at
 * the very end of the text only (so "abc\n" fails), and lengths are Go byte lengths. Every message
 * is a static string, so nothing here allocates except the trailing-dash masking of a name.
 * Depends on field_error and util.
 */
#include "svc/validate.h"

#include "svc/field_error.h"
#include "svc/util.h"

#include <stdlib.h>
#include <string.h>

/* ---- upstream messages, verbatim (RegexError and MaxLenError already applied) --------------- */

#define DNS1123_LABEL_MSG                                                                          \
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "   \
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "     \
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define DNS1123_SUBDOMAIN_MSG                                                                      \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "   \
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "  \
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define DNS1035_LABEL_MSG                                                                          \
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "   \
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "           \
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
#define QUALIFIED_NAME_MSG                                                                         \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "    \
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "         \
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define LABEL_VALUE_MSG                                                                            \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "    \
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "             \
    "'my_value',  or '12345', regex used for validation is "                                       \
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

static const char max_len_15[] = "must be no more than 15 characters";
static const char max_len_63[] = "must be no more than 63 characters";
static const char max_len_253[] = "must be no more than 253 characters";

#define LABEL_MAX     63
#define SUBDOMAIN_MAX 253
#define PORT_NAME_MAX 15

static void msgs_reset(struct validate_msgs *out)
{
    out->len = 0;
}

static void msgs_push(struct validate_msgs *out, const char *msg)
{
    if (out->len < VALIDATE_MAX_MSGS)
        out->msg[out->len++] = msg;
}

/* ---- matchers for upstream's expressions ------------------------------------------------------
 */

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? over s[0..n); a 1035 label also needs a letter first. */
static bool match_label(const char *s, size_t n, bool dns1035)
{
    if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
        return false;
    if (dns1035 && !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!is_lower_alnum(s[i]) && s[i] != '-')
            return false;
    return true;
}

/* A label, then any number of ".label". */
static bool match_subdomain(const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (!match_label(s + start, i - start, false))
                return false;
            start = i + 1;
        }
    }
    return true;
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] */
static bool match_qualified_part(const char *s, size_t n)
{
    if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
        return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

/* ---- apimachinery pkg/util/validation ----------------------------------------------------------
 */

size_t validate_is_dns1123_label(const char *value, struct validate_msgs *out)
{
    const char *v = value ? value : "";
    size_t n = strlen(v);
    msgs_reset(out);
    if (n > LABEL_MAX)
        msgs_push(out, max_len_63);
    if (!match_label(v, n, false)) {
        /* A valid subdomain that is not a label can only be failing on its dots: the length was
         * reported above, so upstream says so instead of printing the expression. */
        if (match_subdomain(v, n))
            msgs_push(out, "must not contain dots");
        else
            msgs_push(out, DNS1123_LABEL_MSG);
    }
    return out->len;
}

size_t validate_is_dns1123_subdomain(const char *value, struct validate_msgs *out)
{
    const char *v = value ? value : "";
    size_t n = strlen(v);
    msgs_reset(out);
    if (n > SUBDOMAIN_MAX)
        msgs_push(out, max_len_253);
    if (!match_subdomain(v, n))
        msgs_push(out, DNS1123_SUBDOMAIN_MSG);
    return out->len;
}

size_t validate_is_dns1035_label(const char *value, struct validate_msgs *out)
{
    const char *v = value ? value : "";
    size_t n = strlen(v);
    msgs_reset(out);
    if (n > LABEL_MAX)
        msgs_push(out, max_len_63);
    if (!match_label(v, n, true))
        msgs_push(out, DNS1035_LABEL_MSG);
    return out->len;
}

size_t validate_is_qualified_name(const char *value, struct validate_msgs *out)
{
    const char *v = value ? value : "";
    msgs_reset(out);
    const char *slash = strchr(v, '/');
    const char *name = v;
    if (slash && strchr(slash + 1, '/')) {
        msgs_push(out,
                  "a qualified name " QUALIFIED_NAME_MSG
                  " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
        return out->len;
    }
    if (slash) {
        size_t plen = (size_t)(slash - v);
        name = slash + 1;
        if (plen == 0) {
            msgs_push(out, "prefix part must be non-empty");
        } else {
            if (plen > SUBDOMAIN_MAX)
                msgs_push(out, "prefix part must be no more than 253 characters");
            if (!match_subdomain(v, plen))
                msgs_push(out, "prefix part " DNS1123_SUBDOMAIN_MSG);
        }
    }
    size_t nlen = strlen(name);
    if (nlen == 0)
        msgs_push(out, "name part must be non-empty");
    else if (nlen > LABEL_MAX)
        msgs_push(out, "name part must be no more than 63 characters");
    if (!match_qualified_part(name, nlen))
        msgs_push(out, "name part " QUALIFIED_NAME_MSG);
    return out->len;
}

size_t validate_is_label_value(const char *value, struct validate_msgs *out)
{
    const char *v = value ? value : "";
    size_t n = strlen(v);
    msgs_reset(out);
    if (n > LABEL_MAX)
        msgs_push(out, max_len_63);
    if (n > 0 && !match_qualified_part(v, n))
        msgs_push(out, LABEL_VALUE_MSG);
    return out->len;
}

size_t validate_is_port_name(const char *value, struct validate_msgs *out)
{
    const char *v = value ? value : "";
    size_t n = strlen(v);
    bool charset = n > 0, letter = false;
    msgs_reset(out);
    for (size_t i = 0; i < n; i++) {
        if (!is_lower_alnum(v[i]) && v[i] != '-')
            charset = false;
        if (v[i] >= 'a' && v[i] <= 'z')
            letter = true;
    }
    if (n > PORT_NAME_MAX)
        msgs_push(out, max_len_15);
    if (!charset)
        msgs_push(out, "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
    if (!letter)
        msgs_push(out, "must contain at least one letter (a-z)");
    if (strstr(v, "--"))
        msgs_push(out, "must not contain consecutive hyphens");
    if (n > 0 && (v[0] == '-' || v[n - 1] == '-'))
        msgs_push(out, "must not begin or end with a hyphen");
    return out->len;
}

size_t validate_is_port_num(long long port, struct validate_msgs *out)
{
    msgs_reset(out);
    if (port < 1 || port > 65535)
        msgs_push(out, "must be between 1 and 65535, inclusive");
    return out->len;
}

size_t validate_is_path_segment_name(const char *value, struct validate_msgs *out)
{
    const char *v = value ? value : "";
    msgs_reset(out);
    if (strcmp(v, ".") == 0) {
        msgs_push(out, "may not be '.'");
        return out->len;
    }
    if (strcmp(v, "..") == 0) {
        msgs_push(out, "may not be '..'");
        return out->len;
    }
    if (strchr(v, '/'))
        msgs_push(out, "may not contain '/'");
    if (strchr(v, '%'))
        msgs_push(out, "may not contain '%'");
    return out->len;
}

/* ---- name rules (pkg/api/validation generic.go) ------------------------------------------------
 */

/*
 * maskTrailingDash, kept byte for byte: when the name is longer than one character and ends in
 * '-', upstream keeps all but the last TWO characters and appends "a". The character before the
 * dash is therefore never checked ("ab_-" passes as a prefix). Caller frees the result.
 */
static char *mask_trailing_dash(const char *name)
{
    size_t n = strlen(name);
    if (n > 1 && name[n - 1] == '-') {
        char *s = xmalloc(n);
        memcpy(s, name, n - 2);
        s[n - 2] = 'a';
        s[n - 1] = '\0';
        return s;
    }
    return xstrdup(name);
}

typedef size_t (*is_fn)(const char *value, struct validate_msgs *out);

static size_t name_check(is_fn check, const char *name, bool prefix, struct validate_msgs *out)
{
    const char *v = name ? name : "";
    if (!prefix)
        return check(v, out);
    char *masked = mask_trailing_dash(v);
    size_t n = check(masked, out);
    free(masked);
    return n;
}

size_t validate_name_is_dns_subdomain(const char *name, bool prefix, struct validate_msgs *out)
{
    return name_check(validate_is_dns1123_subdomain, name, prefix, out);
}

size_t validate_name_is_dns_label(const char *name, bool prefix, struct validate_msgs *out)
{
    return name_check(validate_is_dns1123_label, name, prefix, out);
}

size_t validate_name_is_dns1035_label(const char *name, bool prefix, struct validate_msgs *out)
{
    return name_check(validate_is_dns1035_label, name, prefix, out);
}

size_t validate_name_path_segment(const char *name, bool prefix, struct validate_msgs *out)
{
    const char *v = name ? name : "";
    if (!prefix)
        return validate_is_path_segment_name(v, out);
    /* IsValidPathSegmentPrefix: a suffix will follow, so only the characters matter. */
    msgs_reset(out);
    if (strchr(v, '/'))
        msgs_push(out, "may not contain '/'");
    if (strchr(v, '%'))
        msgs_push(out, "may not contain '%'");
    return out->len;
}

/* ---- field checks ------------------------------------------------------------------------------
 */

void validate_add_msgs(struct field_errors *errs, const char *path, const char *value,
                       const struct validate_msgs *msgs)
{
    if (msgs->len == 0)
        return;
    char *quoted = fe_quote(value ? value : "");
    for (size_t i = 0; i < msgs->len; i++)
        fe_invalid(errs, path, quoted, msgs->msg[i]);
    free(quoted);
}

static void check_field(struct field_errors *errs, const char *path, const char *value, is_fn check)
{
    struct validate_msgs msgs;
    if (check(value ? value : "", &msgs))
        validate_add_msgs(errs, path, value, &msgs);
}

void validate_dns1123_label_field(struct field_errors *errs, const char *path, const char *value)
{
    check_field(errs, path, value, validate_is_dns1123_label);
}

void validate_dns1123_subdomain_field(struct field_errors *errs, const char *path,
                                      const char *value)
{
    check_field(errs, path, value, validate_is_dns1123_subdomain);
}

void validate_dns1035_label_field(struct field_errors *errs, const char *path, const char *value)
{
    check_field(errs, path, value, validate_is_dns1035_label);
}

void validate_qualified_name_field(struct field_errors *errs, const char *path, const char *value)
{
    check_field(errs, path, value, validate_is_qualified_name);
}

void validate_label_value_field(struct field_errors *errs, const char *path, const char *value)
{
    check_field(errs, path, value, validate_is_label_value);
}

void validate_port_name_field(struct field_errors *errs, const char *path, const char *value)
{
    check_field(errs, path, value, validate_is_port_name);
}

void validate_port_num_field(struct field_errors *errs, const char *path, long long port)
{
    struct validate_msgs msgs;
    if (validate_is_port_num(port, &msgs))
        fe_invalid_int(errs, path, port, msgs.msg[0]);
}

void validate_nonnegative_field(struct field_errors *errs, const char *path, long long value)
{
    if (value < 0)
        fe_invalid_int(errs, path, value, "must be greater than or equal to 0");
}

void validate_immutable_string(struct field_errors *errs, const char *path, const char *new_value,
                               const char *old_value)
{
    const char *n = new_value ? new_value : "", *o = old_value ? old_value : "";
    if (strcmp(n, o) != 0)
        fe_invalid_str(errs, path, n, "field is immutable");
}

void validate_protocol_field(struct field_errors *errs, const char *path, const char *protocol)
{
    /* sets.List(supportedPortProtocols): sorted. */
    static const char *const supported[] = {"SCTP", "TCP", "UDP"};
    if (ju_empty(protocol)) {
        fe_required(errs, path, "");
        return;
    }
    for (size_t i = 0; i < 3; i++)
        if (strcmp(protocol, supported[i]) == 0)
            return;
    char *quoted = fe_quote(protocol);
    fe_not_supported(errs, path, quoted, supported, 3);
    free(quoted);
}
