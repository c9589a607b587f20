/*
 * openapi_gen: the OpenAPI documents derived from api/ at build time (part of tools/apigen).
 *
 * openapi_generate writes into the generated src/api_data.c the data include/svc/openapi.h
 * declares: the Swagger 2.0 document as JSON and as gnostic protobuf, the OpenAPI 3.0 document
 * of every group version and the /openapi/v3 index, each with its SHA-512 digest.
 */
#ifndef SVC_TOOLS_OPENAPI_GEN_H
#define SVC_TOOLS_OPENAPI_GEN_H

#include <stddef.h>
#include <stdio.h>

typedef struct json_t json_t;

/* Write the C definitions of the OpenAPI data to out; 0 on success, -1 with a message on stderr
   when api/ holds something the documents cannot express. resources and defs are borrowed. */
int openapi_generate(FILE *out, json_t *resources, json_t *defs);

/* The SHA-512 digest of data as 128 upper-case hex digits and a NUL, as kube-openapi formats
   its ETags and ?hash= values (fmt "%X" of sha512.Sum512). */
void openapi_sha512_hex(const void *data, size_t len, char hex[129]);

/* Helpers shared by the generator's parts (defined in apigen.c). */
void apigen_emit_string(FILE *out, const char *name, const char *data, size_t len);
void apigen_emit_bytes(FILE *out, const char *name, const unsigned char *data, size_t len);

#endif
