/*
 * apigen: the build-time compiler of the API contract.
 *
 * Reads api/resources.yaml and the files of api/types, checks them (every $ref defined, every served
 * kind has a schema) and writes src/api_data.c: the resource table and the merged definitions as
 * JSON strings, and the OpenAPI documents derived from them, so the server parses nothing but
 * compact JSON at start-up and has no run-time dependency on the api/ folder.
 *
 *   apigen API_DIR > src/api_data.c
 *
 * Links only the YAML reader and strbuf from src/, never the server library (which contains the
 * file this program generates).
 */
#include "openapi_gen.h"

#include "svc/strbuf.h"
#include "svc/yaml.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_files[] = {"meta.yaml", "core.yaml", "apps.yaml", "autoscaling.yaml",
                                         "discovery.yaml"};

static json_t *read_yaml(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "apigen: cannot open %s\n", path);
        exit(1);
    }
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        strbuf_add(&sb, buf, n);
    fclose(f);
    struct yaml_error err;
    json_t *doc = yaml_parse(sb.buf ? sb.buf : "", sb.len, 200, &err);
    if (!doc) {
        fprintf(stderr, "apigen: %s:%d:%d: %s\n", path, err.line, err.column, err.message);
        exit(1);
    }
    strbuf_release(&sb);
    return doc;
}

/* Every "$ref" anywhere below v must name a definition. */
static int check_refs(json_t *defs, json_t *v, const char *where)
{
    int bad = 0;
    if (json_is_object(v)) {
        const char *key;
        json_t *child;
        json_object_foreach(v, key, child) {
            if (!strcmp(key, "$ref")) {
                const char *ref = json_string_value(child);
                if (!ref || !json_object_get(defs, ref)) {
                    fprintf(stderr, "apigen: %s: undefined $ref %s\n", where, ref ? ref : "?");
                    bad = 1;
                }
            } else {
                bad |= check_refs(defs, child, where);
            }
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child) bad |= check_refs(defs, child, where);
    }
    return bad;
}

/* Every served kind (and its list) must have a schema with a gvk marker. */
static int check_kinds(json_t *resources, json_t *defs)
{
    int bad = 0;
    size_t g, r;
    json_t *group, *res;
    json_array_foreach(json_object_get(resources, "groups"), g, group) {
        const char *gname = json_string_value(json_object_get(group, "group"));
        const char *ver = json_string_value(json_object_get(group, "version"));
        json_array_foreach(json_object_get(group, "resources"), r, res) {
            const char *kind = json_string_value(json_object_get(res, "kind"));
            for (int list = 0; list < 2 && kind; list++) {
                char want[256];
                snprintf(want, sizeof(want), "%s%s", kind, list ? "List" : "");
                int found = 0;
                const char *name;
                json_t *def;
                json_object_foreach(defs, name, def) {
                    json_t *gvk = json_object_get(def, "gvk");
                    const char *dg = json_string_value(json_object_get(gvk, "group"));
                    const char *dv = json_string_value(json_object_get(gvk, "version"));
                    const char *dk = json_string_value(json_object_get(gvk, "kind"));
                    if (dg && dv && dk && !strcmp(dg, gname ? gname : "") && ver &&
                        !strcmp(dv, ver) && !strcmp(dk, want))
                        found = 1;
                }
                if (!found) {
                    fprintf(stderr, "apigen: no schema with gvk %s/%s %s\n", gname ? gname : "",
                            ver ? ver : "?", want);
                    bad = 1;
                }
            }
        }
    }
    return bad;
}

/* Write data as a C string literal split over lines of at most 100 source characters. */
void apigen_emit_string(FILE *out, const char *name, const char *data, size_t len)
{
    fprintf(out, "const char %s[] =\n    \"", name);
    size_t col = 5;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data[i];
        char tmp[8];
        if (c == '"' || c == '\\')
            snprintf(tmp, sizeof(tmp), "\\%c", c);
        else if (c == '\n')
            snprintf(tmp, sizeof(tmp), "\\n");
        else if (c < 0x20 || c >= 0x7f)
            snprintf(tmp, sizeof(tmp), "\\%03o", c);
        else
            snprintf(tmp, sizeof(tmp), "%c", c);
        if (col + strlen(tmp) > 98) {
            fputs("\"\n    \"", out);
            col = 5;
        }
        fputs(tmp, out);
        col += strlen(tmp);
    }
    fputs("\";\n", out);
}

/* Write bytes as an unsigned char array and its length. */
void apigen_emit_bytes(FILE *out, const char *name, const unsigned char *data, size_t len)
{
    fprintf(out, "const unsigned char %s[] = {", name);
    for (size_t i = 0; i < len; i++)
        fprintf(out, "%s0x%02x,", i % 16 ? " " : "\n    ", data[i]);
    fprintf(out, "\n};\nconst size_t %s_len = %zu;\n", name, len);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: apigen API_DIR > api_data.c\n");
        return 2;
    }
    const char *dir = argv[1];
    json_t *resources = read_yaml(dir, "resources.yaml");
    json_t *defs = json_object();
    char typedir[4096];
    snprintf(typedir, sizeof(typedir), "%s/types", dir);
    for (size_t i = 0; i < sizeof(type_files) / sizeof(type_files[0]); i++) {
        json_t *doc = read_yaml(typedir, type_files[i]);
        json_t *d = json_object_get(doc, "definitions");
        if (!json_is_object(d)) {
            fprintf(stderr, "apigen: types/%s has no definitions map\n", type_files[i]);
            return 1;
        }
        const char *name;
        json_t *def;
        json_object_foreach(d, name, def) {
            if (json_object_get(defs, name)) {
                fprintf(stderr, "apigen: types/%s: %s defined twice\n", type_files[i], name);
                return 1;
            }
            json_object_set(defs, name, def);
        }
        json_decref(doc);
    }
    if (check_refs(defs, defs, "types") || check_kinds(resources, defs))
        return 1;

    char *res_json = json_dumps(resources, JSON_COMPACT);
    char *defs_json = json_dumps(defs, JSON_COMPACT);
    printf("/* Generated by tools/apigen from api/. Do not edit. */\n#include <stddef.h>\n\n");
    apigen_emit_string(stdout, "svc_api_resources_json", res_json, strlen(res_json));
    apigen_emit_string(stdout, "svc_api_definitions_json", defs_json, strlen(defs_json));
    if (openapi_generate(stdout, resources, defs))
        return 1;
    free(res_json);
    free(defs_json);
    json_decref(resources);
    json_decref(defs);
    return 0;
}
