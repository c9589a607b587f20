/*
 * jsonfast: parse the JSON the store itself serialised back into a jansson tree, several times
 * faster than json_loadb, for replaying a large data directory at start-up (private to
 * src/store/). Its result equals json_loadb's; anything it is not certain to read exactly as
 * jansson does (non-ASCII bytes, \u escapes, very deep nesting, odd numbers) it hands to
 * json_loadb instead. Depends on jansson only.
 */
#ifndef SVC_STORE_JSONFAST_H
#define SVC_STORE_JSONFAST_H

#include <stddef.h>

typedef struct json_t json_t;

/* The value in buf (len bytes), a new reference, or NULL when it is not valid JSON. */
json_t *jsonfast_parse(const char *buf, size_t len);

/* The same without json_loadb: NULL also where it gives up. (What jsonfast_parse tries first;
   tests use it to check that what the store writes never needs the slow reader.) */
json_t *jsonfast_read(const char *buf, size_t len);

#endif
