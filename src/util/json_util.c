/*
 * json_util: shortcuts for reading jansson trees without repeating type checks everywhere.
 * Every accessor tolerates a NULL or wrongly typed input and answers "absent".
 */
#include "svc/util.h"

#include <jansson.h>

json_t *ju_get(const json_t *obj, const char *key)
{
    return json_is_object(obj) ? json_object_get(obj, key) : NULL;
}

const char *ju_str(const json_t *obj, const char *key)
{
    return json_string_value(ju_get(obj, key));
}

long long ju_int(const json_t *obj, const char *key, long long def)
{
    json_t *v = ju_get(obj, key);
    return json_is_integer(v) ? json_integer_value(v) : def;
}

bool ju_bool(const json_t *obj, const char *key, bool def)
{
    json_t *v = ju_get(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

json_t *ju_obj(const json_t *obj, const char *key)
{
    json_t *v = ju_get(obj, key);
    return json_is_object(v) ? v : NULL;
}

json_t *ju_arr(const json_t *obj, const char *key)
{
    json_t *v = ju_get(obj, key);
    return json_is_array(v) ? v : NULL;
}

json_t *ju_ensure_obj(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_object(v))
        return v;
    v = json_object();
    json_object_set_new(obj, key, v);
    return v;
}

const char *ju_go_type_word(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    default:
        return "null";
    }
}

bool ju_go_empty(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_NULL:
        return true;
    case JSON_STRING:
        return json_string_length(v) == 0;
    case JSON_INTEGER:
        return json_integer_value(v) == 0;
    case JSON_REAL:
        return json_real_value(v) == 0;
    case JSON_FALSE:
        return true;
    case JSON_ARRAY:
        return json_array_size(v) == 0;
    case JSON_OBJECT:
        return json_object_size(v) == 0;
    default:
        return false;
    }
}

bool ju_empty(const char *s)
{
    return !s || !*s;
}

const char *ju_meta_str(const json_t *obj, const char *key)
{
    return ju_str(ju_obj(obj, "metadata"), key);
}

char *ju_dumps(const json_t *v, size_t flags)
{
    char *text = json_dumps(v, flags);
    if (!text)
        return NULL;
    char *copy = xstrdup(text);
    json_malloc_t alloc;
    json_free_t release;
    json_get_alloc_funcs(&alloc, &release);
    release(text);
    return copy;
}

void ju_copy_member(json_t *dst, const json_t *src, const char *key)
{
    json_t *v = json_object_get(src, key);
    if (v)
        json_object_set(dst, key, v);
    else
        json_object_del(dst, key);
}
