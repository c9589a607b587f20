/*
 * negotiate: picks the answer format from an Accept header, after apiserver's negotiation
 * package (media ranges in order of q, parameters as=/g=/v= for the meta.k8s.io and
 * apidiscovery.k8s.io conversions). Protobuf is never chosen: clients that offer it also offer
 * JSON, and we answer every object in JSON.
 */
#include "svc/codec.h"

#include "svc/apierr.h"
#include "svc/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_RANGES 16

struct media_range {
    char type[96];
    char as[64], g[64], v[32];
    double q;
    int order;
};

static void trim(char *s)
{
    char *p = s;
    while (*p == ' ' || *p == '\t')
        p++;
    memmove(s, p, strlen(p) + 1);
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
}

/* Copy src into dst of n bytes, cutting what does not fit (values that long match nothing). */
static void set_text(char *dst, size_t n, const char *src)
{
    size_t len = strlen(src);
    if (len >= n)
        len = n - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static void copy_field(char *dst, size_t n, const char *src)
{
    set_text(dst, n, src);
    trim(dst);
}

static size_t parse_ranges(const char *accept, struct media_range *out)
{
    size_t n = 0;
    char *copy = xstrdup(accept), *save = NULL;
    for (char *part = strtok_r(copy, ",", &save); part && n < MAX_RANGES;
         part = strtok_r(NULL, ",", &save)) {
        struct media_range *r = &out[n];
        memset(r, 0, sizeof(*r));
        r->q = 1.0;
        r->order = (int)n;
        char *psave = NULL;
        char *tok = strtok_r(part, ";", &psave);
        if (!tok)
            continue;
        copy_field(r->type, sizeof(r->type), tok);
        if (!r->type[0])
            continue;
        while ((tok = strtok_r(NULL, ";", &psave))) {
            char *eq = strchr(tok, '=');
            if (!eq)
                continue;
            *eq = '\0';
            char key[32], val[96];
            copy_field(key, sizeof(key), tok);
            copy_field(val, sizeof(val), eq + 1);
            if (!strcasecmp(key, "q"))
                r->q = atof(val);
            else if (!strcmp(key, "as"))
                set_text(r->as, sizeof(r->as), val);
            else if (!strcmp(key, "g"))
                set_text(r->g, sizeof(r->g), val);
            else if (!strcmp(key, "v"))
                set_text(r->v, sizeof(r->v), val);
        }
        n++;
    }
    free(copy);
    return n;
}

/* How specific a range is (goautoneg: at equal q, concrete types win over wildcards). */
static int specificity(const struct media_range *r)
{
    if (!strcmp(r->type, "*/*"))
        return 0;
    const char *slash = strchr(r->type, '/');
    if (slash && !strcmp(slash + 1, "*"))
        return 1;
    return 2;
}

static int by_q(const void *a, const void *b)
{
    const struct media_range *x = a, *y = b;
    if (x->q != y->q)
        return x->q > y->q ? -1 : 1;
    if (specificity(x) != specificity(y))
        return specificity(y) - specificity(x);
    return x->order - y->order;
}

static bool is_json_range(const char *type)
{
    return !strcasecmp(type, "application/json") || !strcmp(type, "*/*") ||
           !strcasecmp(type, "application/*");
}

/* Does range r pick an answer we can give? Fills out when it does. */
static bool choose(const struct media_range *r, unsigned allow, struct codec_choice *out)
{
    if (r->q <= 0)
        return false;
    if (r->as[0]) {
        if (strcasecmp(r->type, "application/json"))
            return false;
        if (!strcmp(r->as, "Table") && !strcmp(r->g, "meta.k8s.io") &&
            (!strcmp(r->v, "v1") || !strcmp(r->v, "v1beta1")) && (allow & CODEC_ALLOW_TABLE)) {
            out->answer = CODEC_ANSWER_TABLE;
        } else if ((!strcmp(r->as, "PartialObjectMetadata") ||
                    !strcmp(r->as, "PartialObjectMetadataList")) &&
                   !strcmp(r->g, "meta.k8s.io") &&
                   (!strcmp(r->v, "v1") || !strcmp(r->v, "v1beta1")) &&
                   (allow & CODEC_ALLOW_PARTIAL)) {
            out->answer = CODEC_ANSWER_PARTIAL;
        } else if (!strcmp(r->as, "APIGroupDiscoveryList") &&
                   !strcmp(r->g, "apidiscovery.k8s.io") &&
                   (!strcmp(r->v, "v2") || !strcmp(r->v, "v2beta1")) &&
                   (allow & CODEC_ALLOW_DISCOVERY)) {
            out->answer = CODEC_ANSWER_DISCOVERY;
            set_text(out->version, sizeof(out->version), r->v);
            snprintf(out->content_type, sizeof(out->content_type),
                     "application/json;g=apidiscovery.k8s.io;v=%s;as=APIGroupDiscoveryList", r->v);
            return true;
        } else {
            return false;
        }
        set_text(out->version, sizeof(out->version), r->v);
        snprintf(out->content_type, sizeof(out->content_type), "application/json");
        return true;
    }
    if (is_json_range(r->type)) {
        out->answer = CODEC_ANSWER_JSON;
        snprintf(out->content_type, sizeof(out->content_type), "application/json");
        return true;
    }
    if ((!strcasecmp(r->type, "application/yaml") || !strcasecmp(r->type, "application/x-yaml")) &&
        (allow & CODEC_ALLOW_YAML)) {
        out->answer = CODEC_ANSWER_YAML;
        snprintf(out->content_type, sizeof(out->content_type), "application/yaml");
        return true;
    }
    return false;
}

int codec_negotiate(const char *accept, unsigned allow, struct codec_choice *out,
                    struct apierr *err)
{
    memset(out, 0, sizeof(*out));
    out->answer = CODEC_ANSWER_JSON;
    snprintf(out->content_type, sizeof(out->content_type), "application/json");
    if (!accept || !*accept)
        return 0;
    struct media_range ranges[MAX_RANGES];
    size_t n = parse_ranges(accept, ranges);
    if (n == 0)
        return 0;
    qsort(ranges, n, sizeof(ranges[0]), by_q);
    for (size_t i = 0; i < n; i++)
        if (choose(&ranges[i], allow, out))
            return 0;
    /* Two layers refuse upstream: the router (go-restful) when no range names a type any route
       produces, with its bare message; the handler when a route matched but no conversion it
       offers fits (as=Foo, an unknown Table version). */
    bool routable = false;
    static const char *const produced[] = {"application/json", "application/yaml",
                                           "application/vnd.kubernetes.protobuf", "*/*",
                                           "application/*"};
    for (size_t i = 0; i < n && !routable; i++)
        for (size_t k = 0; k < sizeof(produced) / sizeof(produced[0]); k++)
            if (!strcasecmp(ranges[i].type, produced[k]) && ranges[i].q > 0)
                routable = true;
    if (!routable) {
        apierr_simple(err, APIERR_NOT_ACCEPTABLE, "406: Not Acceptable");
        err->has_details = true;
        return -1;
    }
    return apierr_simple(err, APIERR_NOT_ACCEPTABLE,
                         "only the following media types are accepted: application/json, "
                         "application/yaml, application/vnd.kubernetes.protobuf");
}
