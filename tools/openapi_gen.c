/*
 * openapi_gen: OpenAPI v2 (protobuf) and v3 (JSON) documents from the API contract.
 * For now it emits no documents; the server answers 404 for the /openapi paths until it does.
 */
#include "openapi_gen.h"

#include <jansson.h>

int openapi_generate(FILE *out, json_t *resources, json_t *defs)
{
    (void)resources;
    (void)defs;
    fputs("/* OpenAPI documents: none yet */\n", out);
    return 0;
}
