/*
 * apigen: the build-time compiler of the API contract.
 *
 * Reads api/resources.yaml and the files of api/types, checks them (every $ref defined, every
 * served kind has a schema) and writes src/api_data.c: the resource table and the merged
 * definitions, as JSON strings and as pre-parsed trees (below), and the OpenAPI documents derived
 * from them, so the server parses no JSON at start-up and has no run-time dependency on the api/
 * folder.
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_files[] = {"meta.yaml",        "core.yaml",         "apps.yaml",
                                         "autoscaling.yaml", "coordination.yaml", "discovery.yaml"};

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

/* ---- SHA-256 (FIPS 180-4), for storageVersionHash ------------------------------------------- */

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR32(w[i - 15], 7) ^ ROR32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR32(w[i - 2], 17) ^ ROR32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ROR32(e, 6) ^ ROR32(e, 11) ^ ROR32(e, 25)) + ((e & f) ^ (~e & g)) +
                      sha256_k[i] + w[i];
        uint32_t t2 = (ROR32(a, 2) ^ ROR32(a, 13) ^ ROR32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

static void sha256(const void *data, size_t len, unsigned char out[32])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const unsigned char *p = data;
    size_t n = len;
    for (; n >= 64; n -= 64, p += 64)
        sha256_block(h, p);
    unsigned char tail[128] = {0};
    memcpy(tail, p, n);
    tail[n] = 0x80;
    size_t tl = n + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        tail[tl - 1 - i] = (unsigned char)(bits >> (8 * i));
    sha256_block(h, tail);
    if (tl == 128)
        sha256_block(h, tail + 64);
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 4; k++)
            out[4 * i + k] = (unsigned char)(h[i] >> (24 - 8 * k));
}

/* Discovery's storageVersionHash: base64(sha256("<group>/<version>/<Kind>")[:8]). */
static void add_storage_version_hashes(json_t *resources)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t g, r;
    json_t *group, *res;
    json_array_foreach (json_object_get(resources, "groups"), g, group) {
        const char *gname = json_string_value(json_object_get(group, "group"));
        const char *ver = json_string_value(json_object_get(group, "version"));
        json_array_foreach (json_object_get(group, "resources"), r, res) {
            const char *kind = json_string_value(json_object_get(res, "kind"));
            char gvk[512], text[16];
            unsigned char digest[32];
            snprintf(gvk, sizeof(gvk), "%s/%s/%s", gname ? gname : "", ver ? ver : "",
                     kind ? kind : "");
            sha256(gvk, strlen(gvk), digest);
            /* 8 bytes: two full groups of three, then two bytes and one '='. */
            char *o = text;
            for (int i = 0; i < 8; i += 3) {
                uint32_t v = (uint32_t)digest[i] << 16 | (uint32_t)digest[i + 1] << 8 |
                             (i + 2 < 8 ? digest[i + 2] : 0);
                *o++ = b64[(v >> 18) & 63];
                *o++ = b64[(v >> 12) & 63];
                *o++ = b64[(v >> 6) & 63];
                *o++ = i + 2 < 8 ? b64[v & 63] : '=';
            }
            *o = '\0';
            json_object_set_new(res, "storageVersionHash", json_string(text));
        }
    }
}

/* Every "$ref" anywhere below v must name a definition. */
static int check_refs(json_t *defs, json_t *v, const char *where)
{
    int bad = 0;
    if (json_is_object(v)) {
        const char *key;
        json_t *child;
        json_object_foreach (v, key, child) {
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
        json_array_foreach (v, i, child)
            bad |= check_refs(defs, child, where);
    }
    return bad;
}

/* Every served kind (and its list) must have a schema with a gvk marker. */
static int check_kinds(json_t *resources, json_t *defs)
{
    int bad = 0;
    size_t g, r;
    json_t *group, *res;
    json_array_foreach (json_object_get(resources, "groups"), g, group) {
        const char *gname = json_string_value(json_object_get(group, "group"));
        const char *ver = json_string_value(json_object_get(group, "version"));
        json_array_foreach (json_object_get(group, "resources"), r, res) {
            const char *kind = json_string_value(json_object_get(res, "kind"));
            for (int list = 0; list < 2 && kind; list++) {
                char want[256];
                snprintf(want, sizeof(want), "%s%s", kind, list ? "List" : "");
                int found = 0;
                const char *name;
                json_t *def;
                json_object_foreach (defs, name, def) {
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
        /* '?' too: two of them could start a trigraph, which -std=c11 translates. */
        if (c == '"' || c == '\\' || c == '?')
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

/*
 * The pre-parsed form of a JSON value that src/registry/api.c turns back into the jansson tree
 * json_loads would build from its JSON text, with the same key order, in a fraction of the
 * instructions (no lexing, no escapes, no UTF-8 checks: the text was checked here). One tag byte,
 * then:
 *   'O' n, then n times: key length, key bytes, value      (an object, keys in order)
 *   'A' n, then n values                                    (an array)
 *   'S' length, bytes                                       (a string, UTF-8, may hold NUL)
 *   'I' zigzag(integer)                                     (an integer)
 *   'R' length, bytes of the JSON text of the real          (a real, parsed as jansson does)
 *   'T', 'F', 'N'                                           (true, false, null)
 * where n, lengths and integers are unsigned LEB128 varints.
 */
static void tree_varint(struct strbuf *sb, uint64_t v)
{
    do {
        unsigned char b = v & 0x7f;
        v >>= 7;
        if (v)
            b |= 0x80;
        strbuf_addch(sb, (char)b);
    } while (v);
}

static void tree_encode(struct strbuf *sb, json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *child;
        strbuf_addch(sb, 'O');
        tree_varint(sb, json_object_size(v));
        json_object_foreach (v, key, child) {
            size_t len = strlen(key);
            tree_varint(sb, len);
            strbuf_add(sb, key, len);
            tree_encode(sb, child);
        }
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *child;
        strbuf_addch(sb, 'A');
        tree_varint(sb, json_array_size(v));
        json_array_foreach (v, i, child)
            tree_encode(sb, child);
        break;
    }
    case JSON_STRING:
        strbuf_addch(sb, 'S');
        tree_varint(sb, json_string_length(v));
        strbuf_add(sb, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER: {
        json_int_t n = json_integer_value(v);
        strbuf_addch(sb, 'I');
        tree_varint(sb, n < 0 ? ~((uint64_t)n << 1) : (uint64_t)n << 1);
        break;
    }
    case JSON_REAL: {
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        strbuf_addch(sb, 'R');
        tree_varint(sb, strlen(text));
        strbuf_addstr(sb, text);
        free(text);
        break;
    }
    case JSON_TRUE:
        strbuf_addch(sb, 'T');
        break;
    case JSON_FALSE:
        strbuf_addch(sb, 'F');
        break;
    default:
        strbuf_addch(sb, 'N');
        break;
    }
}

/* Write v's JSON text, as it is read back at start-up, as name (its pre-parsed form) and
   name_len. The text goes through json_loads first so that the tree is exactly what parsing the
   text would give. */
static void emit_tree(FILE *out, const char *name, const char *json_text)
{
    json_error_t jerr;
    json_t *v = json_loads(json_text, 0, &jerr);
    if (!v) {
        fprintf(stderr, "apigen: %s does not parse back: %s\n", name, jerr.text);
        exit(1);
    }
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    tree_encode(&sb, v);
    apigen_emit_string(out, name, sb.buf ? sb.buf : "", sb.len);
    fprintf(out, "const size_t %s_len = %zu;\n", name, sb.len);
    strbuf_release(&sb);
    json_decref(v);
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
        json_object_foreach (d, name, def) {
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
    add_storage_version_hashes(resources);

    char *res_json = json_dumps(resources, JSON_COMPACT);
    char *defs_json = json_dumps(defs, JSON_COMPACT);
    printf("/* Generated by tools/apigen from api/. Do not edit. */\n#include <stddef.h>\n\n");
    apigen_emit_string(stdout, "svc_api_resources_json", res_json, strlen(res_json));
    apigen_emit_string(stdout, "svc_api_definitions_json", defs_json, strlen(defs_json));
    emit_tree(stdout, "svc_api_resources_tree", res_json);
    emit_tree(stdout, "svc_api_definitions_tree", defs_json);
    if (openapi_generate(stdout, resources, defs))
        return 1;
    free(res_json);
    free(defs_json);
    json_decref(resources);
    json_decref(defs);
    return 0;
}
