/*
 * status: the one place where API errors are built and turned into Status objects.
 *
 * The constructors mirror apimachinery pkg/api/errors (NewNotFound, NewInvalid, ...) so that
 * messages, reasons and details are byte-for-byte what kube-apiserver sends; the table below is
 * the only mapping from reason to HTTP code. Nothing here knows about HTTP transport.
 */
#include "svc/apierr.h"

#include "svc/field_error.h"
#include "svc/util.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    int code;
    const char *reason; /* NULL: no "reason" key, as for a plain Go error */
} reason_table[] = {
    [APIERR_NONE] = {200, NULL},
    [APIERR_BAD_REQUEST] = {400, "BadRequest"},
    [APIERR_UNAUTHORIZED] = {401, "Unauthorized"},
    [APIERR_FORBIDDEN] = {403, "Forbidden"},
    [APIERR_NOT_FOUND] = {404, "NotFound"},
    [APIERR_METHOD_NOT_ALLOWED] = {405, "MethodNotAllowed"},
    [APIERR_NOT_ACCEPTABLE] = {406, "NotAcceptable"},
    [APIERR_ALREADY_EXISTS] = {409, "AlreadyExists"},
    [APIERR_CONFLICT] = {409, "Conflict"},
    [APIERR_GONE] = {410, "Gone"},
    [APIERR_EXPIRED] = {410, "Expired"},
    [APIERR_TOO_LARGE] = {413, "RequestEntityTooLarge"},
    [APIERR_UNSUPPORTED_MEDIA_TYPE] = {415, "UnsupportedMediaType"},
    [APIERR_INVALID] = {422, "Invalid"},
    [APIERR_TOO_MANY_REQUESTS] = {429, "TooManyRequests"},
    [APIERR_INTERNAL] = {500, "InternalError"},
    [APIERR_UNKNOWN_500] = {500, NULL},
    [APIERR_SERVICE_UNAVAILABLE] = {503, "ServiceUnavailable"},
    [APIERR_TIMEOUT] = {504, "Timeout"},
};

void apierr_init(struct apierr *err)
{
    memset(err, 0, sizeof(*err));
}

void apierr_release(struct apierr *err)
{
    free(err->message);
    free(err->name);
    free(err->group);
    free(err->kind);
    free(err->uid);
    free(err->list_continue);
    json_decref(err->causes);
    apierr_init(err);
}

bool apierr_failed(const struct apierr *err)
{
    return err->reason != APIERR_NONE;
}

void apierr_move(struct apierr *dst, struct apierr *src)
{
    apierr_release(dst);
    *dst = *src;
    apierr_init(src);
}

int apierr_http_code(const struct apierr *err)
{
    return reason_table[err->reason].code;
}

const char *apierr_reason_string(enum apierr_reason reason)
{
    return reason_table[reason].reason;
}

static char *dup_or_null(const char *s)
{
    return ju_empty(s) ? NULL : xstrdup(s);
}

/* "services" or "replicasets.apps": schema.GroupResource.String(). */
static char *qualified(const char *group, const char *resource)
{
    if (ju_empty(group))
        return xstrdup(resource ? resource : "");
    return xasprintf("%s.%s", resource ? resource : "", group);
}

/* Go's %q of a name, through the shared renderer so that escapes match everywhere. */
static char *quoted(const char *s)
{
    return fe_quote(s ? s : "");
}

static void set_details(struct apierr *err, const char *group, const char *kind, const char *name)
{
    err->has_details = true;
    err->group = dup_or_null(group);
    err->kind = dup_or_null(kind);
    err->name = dup_or_null(name);
}

static int resource_error(struct apierr *err, enum apierr_reason reason, const char *group,
                          const char *resource, const char *name, const char *fmt_tail)
{
    apierr_release(err);
    char *qr = qualified(group, resource), *qn = quoted(name);
    err->reason = reason;
    err->message = xasprintf("%s %s %s", qr, qn, fmt_tail);
    set_details(err, group, resource, name);
    free(qr);
    free(qn);
    return -1;
}

int apierr_not_found(struct apierr *err, const char *group, const char *resource, const char *name)
{
    return resource_error(err, APIERR_NOT_FOUND, group, resource, name, "not found");
}

int apierr_already_exists(struct apierr *err, const char *group, const char *resource,
                          const char *name)
{
    return resource_error(err, APIERR_ALREADY_EXISTS, group, resource, name, "already exists");
}

int apierr_generate_name_conflict(struct apierr *err, const char *group, const char *resource,
                                  const char *name, int retry_after_seconds)
{
    resource_error(err, APIERR_ALREADY_EXISTS, group, resource, name,
                   "already exists, the server was not able to generate a unique name for the "
                   "object");
    err->retry_after_seconds = retry_after_seconds;
    return -1;
}

int apierr_conflict(struct apierr *err, const char *group, const char *resource, const char *name,
                    const char *detail)
{
    apierr_release(err);
    char *qr = qualified(group, resource), *qn = quoted(name);
    err->reason = APIERR_CONFLICT;
    err->message = xasprintf("Operation cannot be fulfilled on %s %s: %s", qr, qn, detail);
    set_details(err, group, resource, name);
    free(qr);
    free(qn);
    return -1;
}

int apierr_forbidden(struct apierr *err, const char *group, const char *resource, const char *name,
                     const char *detail)
{
    apierr_release(err);
    char *qr = qualified(group, resource);
    err->reason = APIERR_FORBIDDEN;
    if (ju_empty(resource)) {
        err->message = xasprintf("forbidden: %s", detail);
    } else if (ju_empty(name)) {
        err->message = xasprintf("%s is forbidden: %s", qr, detail);
    } else {
        char *qn = quoted(name);
        err->message = xasprintf("%s %s is forbidden: %s", qr, qn, detail);
        free(qn);
    }
    set_details(err, group, resource, name);
    free(qr);
    return -1;
}

int apierr_invalid(struct apierr *err, const char *group, const char *kind, const char *name,
                   const struct field_errors *errs)
{
    apierr_release(err);
    char *qk = qualified(group, kind), *qn = quoted(name);
    char *agg = fe_aggregate(errs);
    err->reason = APIERR_INVALID;
    if (*agg)
        err->message = xasprintf("%s %s is invalid: %s", qk, qn, agg);
    else
        err->message = xasprintf("%s %s is invalid", qk, qn);
    set_details(err, group, kind, name);
    err->causes = json_array();
    for (size_t i = 0; i < errs->len; i++) {
        const struct field_error *fe = &errs->items[i];
        char *body = fe_body(fe);
        json_t *cause = json_object();
        /* StatusCause's fields are all omitempty upstream. */
        json_object_set_new(cause, "reason", json_string(fe_reason(fe->type)));
        if (*body)
            json_object_set_new(cause, "message", json_string(body));
        if (!ju_empty(fe->field))
            json_object_set_new(cause, "field", json_string(fe->field));
        json_array_append_new(err->causes, cause);
        free(body);
    }
    free(qk);
    free(qn);
    free(agg);
    return -1;
}

int apierr_method_not_supported(struct apierr *err, const char *group, const char *resource,
                                const char *action)
{
    apierr_release(err);
    char *qr = qualified(group, resource), *qq = quoted(qr);
    err->reason = APIERR_METHOD_NOT_ALLOWED;
    err->message = xasprintf("%s is not supported on resources of kind %s", action, qq);
    set_details(err, group, resource, NULL);
    free(qr);
    free(qq);
    return -1;
}

int apierr_internal(struct apierr *err, const char *detail_fmt, ...)
{
    apierr_release(err);
    va_list ap;
    char *detail = NULL;
    va_start(ap, detail_fmt);
    if (vasprintf(&detail, detail_fmt, ap) < 0)
        abort();
    va_end(ap);
    err->reason = APIERR_INTERNAL;
    err->message = xasprintf("Internal error occurred: %s", detail);
    err->has_details = true;
    err->causes = json_pack("[{s:s}]", "message", detail);
    free(detail);
    return -1;
}

int apierr_simple(struct apierr *err, enum apierr_reason reason, const char *fmt, ...)
{
    apierr_release(err);
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&err->message, fmt, ap) < 0)
        abort();
    va_end(ap);
    err->reason = reason;
    return -1;
}

int apierr_path_not_found(struct apierr *err)
{
    apierr_simple(err, APIERR_NOT_FOUND, "the server could not find the requested resource");
    err->has_details = true;
    return -1;
}

int apierr_generic_response(struct apierr *err, int code, const char *group, const char *kind,
                            const char *name, const char *server_message)
{
    static const struct {
        int code;
        enum apierr_reason reason;
        const char *message; /* NULL: the server's message is kept */
    } generic[] = {
        {400, APIERR_BAD_REQUEST, "the server rejected our request for an unknown reason"},
        {401, APIERR_UNAUTHORIZED, "the server has asked for the client to provide credentials"},
        {403, APIERR_FORBIDDEN, NULL},
        {404, APIERR_NOT_FOUND, "the server could not find the requested resource"},
        {405, APIERR_METHOD_NOT_ALLOWED,
         "the server does not allow this method on the requested resource"},
        {406, APIERR_NOT_ACCEPTABLE, NULL},
        {409, APIERR_CONFLICT, "the server reported a conflict"},
        {415, APIERR_UNSUPPORTED_MEDIA_TYPE, NULL},
        {422, APIERR_INVALID, "the server rejected our request due to an error in our request"},
        {429, APIERR_TOO_MANY_REQUESTS,
         "the server has received too many requests and has asked us to try again later"},
        {503, APIERR_SERVICE_UNAVAILABLE, "the server is currently unable to handle the request"},
        {504, APIERR_TIMEOUT,
         "the server was unable to return a response in the time allotted, "
         "but may still be processing the request"},
    };
    apierr_release(err);
    const char *msg = server_message ? server_message : "";
    err->reason = code >= 500 ? APIERR_INTERNAL : APIERR_BAD_REQUEST;
    err->message = NULL;
    for (size_t i = 0; i < sizeof(generic) / sizeof(generic[0]); i++) {
        if (generic[i].code != code)
            continue;
        err->reason = generic[i].reason;
        if (generic[i].message)
            err->message = xstrdup(generic[i].message);
        else if (code == 406 && (!*msg || !strcmp(msg, "unknown")))
            err->message =
                xstrdup("the server was unable to respond with a content type that the client "
                        "supports");
        else
            err->message = xstrdup(msg);
        break;
    }
    if (!err->message) {
        char *q = quoted(msg);
        err->message = xasprintf("an error on the server (%s) has prevented the request from "
                                 "succeeding",
                                 q);
        free(q);
    }
    set_details(err, group, kind, name);
    return -1;
}

json_t *apierr_to_status(const struct apierr *err)
{
    json_t *st = json_object();
    const char *reason = reason_table[err->reason].reason;
    json_object_set_new(st, "kind", json_string("Status"));
    json_object_set_new(st, "apiVersion", json_string("v1"));
    json_t *meta = json_object();
    if (err->list_continue)
        json_object_set_new(meta, "continue", json_string(err->list_continue));
    json_object_set_new(st, "metadata", meta);
    json_object_set_new(st, "status", json_string("Failure"));
    if (!ju_empty(err->message))
        json_object_set_new(st, "message", json_string(err->message));
    if (reason)
        json_object_set_new(st, "reason", json_string(reason));
    if (err->has_details || err->causes || err->retry_after_seconds > 0) {
        json_t *d = json_object();
        if (err->name)
            json_object_set_new(d, "name", json_string(err->name));
        if (err->group)
            json_object_set_new(d, "group", json_string(err->group));
        if (err->kind)
            json_object_set_new(d, "kind", json_string(err->kind));
        if (err->uid)
            json_object_set_new(d, "uid", json_string(err->uid));
        if (err->causes && json_array_size(err->causes))
            json_object_set(d, "causes", err->causes);
        if (err->retry_after_seconds > 0)
            json_object_set_new(d, "retryAfterSeconds", json_integer(err->retry_after_seconds));
        json_object_set_new(st, "details", d);
    }
    json_object_set_new(st, "code", json_integer(apierr_http_code(err)));
    return st;
}

json_t *apierr_success_status(const char *group, const char *resource, const char *name,
                              const char *uid)
{
    json_t *d = json_object();
    if (!ju_empty(name))
        json_object_set_new(d, "name", json_string(name));
    if (!ju_empty(group))
        json_object_set_new(d, "group", json_string(group));
    if (!ju_empty(resource))
        json_object_set_new(d, "kind", json_string(resource));
    if (!ju_empty(uid))
        json_object_set_new(d, "uid", json_string(uid));
    return json_pack("{s:s,s:s,s:{},s:s,s:o}", "kind", "Status", "apiVersion", "v1", "metadata",
                     "status", "Success", "details", d);
}
