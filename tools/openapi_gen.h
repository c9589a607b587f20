/*
 * openapi_gen: the OpenAPI documents derived from api/ at build time (part of tools/apigen).
 */
#ifndef SVC_TOOLS_OPENAPI_GEN_H
#define SVC_TOOLS_OPENAPI_GEN_H

#include <stddef.h>
#include <stdio.h>

typedef struct json_t json_t;

/* Write the C definitions of the OpenAPI data to out; 0 on success. */
int openapi_generate(FILE *out, json_t *resources, json_t *defs);

/* Helpers shared by the generator's parts (defined in apigen.c). */
void apigen_emit_string(FILE *out, const char *name, const char *data, size_t len);
void apigen_emit_bytes(FILE *out, const char *name, const unsigned char *data, size_t len);

#endif
