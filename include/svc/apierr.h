/*
 * apierr: the errors the API answers with, built in one place (src/rest/status.c).
 *
 * Every failure a request can meet travels as a struct apierr, filled by one of the
 * constructors below, which reproduce apimachinery's errors.New* functions (message text,
 * reason, details). The same file holds the one table from reason to HTTP status code and turns
 * an apierr into the `Status` object clients decode. Layers below REST (registry, store) fill
 * apierr without knowing anything about HTTP.
 */
#ifndef SVC_APIERR_H
#define SVC_APIERR_H

#include <stdbool.h>

typedef struct json_t json_t;
struct field_errors;

enum apierr_reason {
    APIERR_NONE = 0,
    APIERR_BAD_REQUEST,            /* 400 BadRequest */
    APIERR_UNAUTHORIZED,           /* 401 Unauthorized */
    APIERR_FORBIDDEN,              /* 403 Forbidden */
    APIERR_NOT_FOUND,              /* 404 NotFound */
    APIERR_METHOD_NOT_ALLOWED,     /* 405 MethodNotAllowed */
    APIERR_NOT_ACCEPTABLE,         /* 406 NotAcceptable */
    APIERR_ALREADY_EXISTS,         /* 409 AlreadyExists */
    APIERR_CONFLICT,               /* 409 Conflict */
    APIERR_GONE,                   /* 410 Gone */
    APIERR_EXPIRED,                /* 410 Expired */
    APIERR_TOO_LARGE,              /* 413 RequestEntityTooLarge */
    APIERR_UNSUPPORTED_MEDIA_TYPE, /* 415 UnsupportedMediaType */
    APIERR_INVALID,                /* 422 Invalid */
    APIERR_TOO_MANY_REQUESTS,      /* 429 TooManyRequests */
    APIERR_INTERNAL,               /* 500 InternalError */
    APIERR_UNKNOWN_500,            /* 500 without a reason: a plain Go error upstream */
    APIERR_SERVICE_UNAVAILABLE,    /* 503 ServiceUnavailable */
    APIERR_TIMEOUT,                /* 504 Timeout */
};

struct apierr {
    enum apierr_reason reason; /* APIERR_NONE: no error */
    char *message;             /* owned */
    bool has_details;          /* emit "details" (possibly {}) */
    char *name;                /* owned, details.name, may be NULL */
    char *group;               /* owned, details.group, may be NULL */
    char *kind;                /* owned, details.kind, may be NULL */
    char *uid;                 /* owned, details.uid, may be NULL */
    json_t *causes;            /* owned array of {reason?, message?, field?}, may be NULL */
    int retry_after_seconds;   /* details.retryAfterSeconds when > 0 */
    char *list_continue;       /* owned, the Status's metadata.continue (a fresh token for an
                                  expired one), may be NULL */
};

void apierr_init(struct apierr *err);
/* Free what err owns and make it empty again (APIERR_NONE). */
void apierr_release(struct apierr *err);
/* True when err holds an error. */
bool apierr_failed(const struct apierr *err);
/* Move src into dst (dst released first); src becomes empty. */
void apierr_move(struct apierr *dst, struct apierr *src);

/* The HTTP status code for err (the one reason -> code table). */
int apierr_http_code(const struct apierr *err);
/* The reason string ("NotFound"), or NULL for APIERR_UNKNOWN_500/APIERR_NONE. Static. */
const char *apierr_reason_string(enum apierr_reason reason);

/*
 * The Status object for err, a new reference:
 * {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":...,
 *  "reason":...,"details":{...},"code":...}
 */
json_t *apierr_to_status(const struct apierr *err);
/* A success Status ({"status":"Success","details":{name,group,kind,uid}}), a new reference. */
json_t *apierr_success_status(const char *group, const char *resource, const char *name,
                              const char *uid);

/*
 * Constructors, after apimachinery's errors.New*. `group` is "" (or NULL) for the core group;
 * `resource` is the plural resource name, `kind` the Kind. Each one releases err first, and
 * returns -1 so that `return apierr_not_found(err, ...)` reads naturally in callers.
 */
int apierr_not_found(struct apierr *err, const char *group, const char *resource, const char *name);
int apierr_already_exists(struct apierr *err, const char *group, const char *resource,
                          const char *name);
int apierr_generate_name_conflict(struct apierr *err, const char *group, const char *resource,
                                  const char *name, int retry_after_seconds);
/* "Operation cannot be fulfilled on <res> "<name>": <detail>" */
int apierr_conflict(struct apierr *err, const char *group, const char *resource, const char *name,
                    const char *detail);
/* "<res> "<name>" is forbidden: <detail>" (or "<res> is forbidden: ..." when name is empty) */
int apierr_forbidden(struct apierr *err, const char *group, const char *resource, const char *name,
                     const char *detail);
/* "<Kind> "<name>" is invalid: <aggregate>"; the causes come from errs (copied). */
int apierr_invalid(struct apierr *err, const char *group, const char *kind, const char *name,
                   const struct field_errors *errs);
/* "<action> is not supported on resources of kind "<res>"" */
int apierr_method_not_supported(struct apierr *err, const char *group, const char *resource,
                                const char *action);
/* "Internal error occurred: <detail>" with one cause carrying detail. */
int apierr_internal(struct apierr *err, const char *detail_fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* An error with only a reason and a message (BadRequest, Expired, Gone, NotAcceptable, ...). */
int apierr_simple(struct apierr *err, enum apierr_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The 404 for a path the server does not serve: "the server could not find the requested
 * resource" with empty details. */
int apierr_path_not_found(struct apierr *err);
/*
 * apimachinery's NewGenericServerResponse (with isUnexpectedResponse false) for a code with no
 * more specific constructor: e.g. 422 gives "the server rejected our request due to an error in
 * our request" and empty details, which is how upstream answers a JSON patch that fails to
 * apply. server_message only shows for 403, 406, 415 and 5xx, as upstream.
 */
int apierr_generic_response(struct apierr *err, int code, const char *group, const char *kind,
                            const char *name, const char *server_message);

#endif
