/*
 * test_schema: canonicalisation by the api/types schemas, src/registry/schema.c
 * (include/svc/schema.h, api/README.md). The expected output is what encoding/json prints for
 * the Go struct kube-apiserver decodes into: fields in struct order, map keys sorted, the
 * `omit` rules, unknown fields pruned and reported with their paths, and Go's
 * UnmarshalTypeError text (sigs.k8s.io/json's fork of encoding/json: "Go struct field
 * <Struct>.<json path> of type <type>", Struct being reflect.Type.Name(), without package).
 * Small inline schemas pin each rule; the compiled schemas (api_builtin) pin real objects.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc/api.h"
#include "svc/schema.h"

/* A test schema in the shape of the api/types files. */
static const char test_defs[] =
    "{\"io.example.v1.Thing\":{\"properties\":{"
    "\"kind\":{\"type\":\"string\"},"
    "\"apiVersion\":{\"type\":\"string\"},"
    "\"s\":{\"type\":\"string\"},"
    "\"p\":{\"type\":\"string\",\"omit\":\"nil\"},"
    "\"n\":{\"type\":\"integer\",\"format\":\"int32\",\"omit\":\"never\"},"
    "\"i64\":{\"type\":\"integer\",\"format\":\"int64\"},"
    "\"b\":{\"type\":\"boolean\",\"omit\":\"never\"},"
    "\"f\":{\"type\":\"number\"},"
    "\"m\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}},"
    "\"mn\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"},\"omit\":\"never\"}"
    ","
    "\"l\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
    "\"ln\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"omit\":\"never\"},"
    "\"sub\":{\"$ref\":\"io.example.v1.Sub\"},"
    "\"subp\":{\"$ref\":\"io.example.v1.Sub\",\"omit\":\"nil\"},"
    "\"subs\":{\"type\":\"array\",\"items\":{\"$ref\":\"io.example.v1.Sub\"}},"
    "\"msub\":{\"type\":\"object\",\"additionalProperties\":{\"$ref\":\"io.example.v1.Sub\"}},"
    "\"ios\":{\"$ref\":\"io.k8s.apimachinery.pkg.util.intstr.IntOrString\"},"
    "\"iosn\":{\"$ref\":\"io.k8s.apimachinery.pkg.util.intstr.IntOrString\",\"omit\":\"never\"},"
    "\"t\":{\"$ref\":\"io.k8s.apimachinery.pkg.apis.meta.v1.Time\",\"omit\":\"never\"},"
    "\"q\":{\"$ref\":\"io.k8s.apimachinery.pkg.api.resource.Quantity\"},"
    "\"free\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true}"
    "}},"
    "\"io.example.v1.Sub\":{\"properties\":{"
    "\"x\":{\"type\":\"string\"},"
    "\"y\":{\"type\":\"integer\",\"format\":\"int32\",\"omit\":\"never\"}}},"
    "\"io.example.v1.Open\":{\"x-kubernetes-preserve-unknown-fields\":true,\"properties\":{"
    "\"a\":{\"type\":\"string\"}}},"
    "\"io.k8s.apimachinery.pkg.util.intstr.IntOrString\":{\"type\":\"string\","
    "\"format\":\"int-or-string\"},"
    "\"io.k8s.apimachinery.pkg.apis.meta.v1.Time\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"io.k8s.apimachinery.pkg.api.resource.Quantity\":{\"type\":\"string\"}"
    "}";

#define THING "io.example.v1.Thing"

static struct schema *test_schema(void)
{
    json_error_t jerr;
    json_t *defs = json_loads(test_defs, 0, &jerr);
    cr_assert_not_null(defs, "test schema: %s", jerr.text);
    struct schema *s = schema_new(defs);
    json_decref(defs); /* schema_new took its own reference */
    return s;
}

static char *dump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Canonicalise the JSON text in as def and compare the compact output with want. */
static void expect_canon(const struct schema *s, const char *def, const char *in, const char *want)
{
    json_error_t jerr;
    json_t *obj = json_loads(in, 0, &jerr);
    cr_assert_not_null(obj, "%s: %s", in, jerr.text);
    struct schema_report rep;
    schema_report_init(&rep);
    json_t *out = schema_canonicalize(s, def, obj, &rep);
    cr_assert_not_null(out, "%s: %s", in, rep.type_error ? rep.type_error : "");
    char *got = dump(out);
    cr_expect_str_eq(got, want, "input %s\n  got  %s\n  want %s", in, got, want);
    free(got);
    json_decref(out);
    json_decref(obj);
    schema_report_release(&rep);
}

/* Canonicalise in and expect a type error with exactly want. */
static void expect_type_error(const struct schema *s, const char *def, const char *in,
                              const char *want)
{
    json_t *obj = json_loads(in, 0, NULL);
    cr_assert_not_null(obj, "%s", in);
    struct schema_report rep;
    schema_report_init(&rep);
    json_t *out = schema_canonicalize(s, def, obj, &rep);
    cr_expect_null(out, "%s should not canonicalise", in);
    json_decref(out);
    const char *got = rep.type_error ? rep.type_error : "(none)";
    cr_expect_str_eq(got, want, "input %s\n  got  %s\n  want %s", in, got, want);
    schema_report_release(&rep);
    json_decref(obj);
}

/* The zero-valued fields every Thing carries: never-omitted scalars, nil slices and maps, the
   struct, and the zero Time and IntOrString. */
#define THING_ZEROS                                                                                \
    "\"n\":0,\"b\":false,\"mn\":null,\"ln\":null,\"sub\":{\"y\":0},\"iosn\":0,\"t\":null"

/* ---- inline schemas ----------------------------------------------------------------------- */

Test(schema, empty_object_gets_go_zero_values)
{
    struct schema *s = test_schema();
    expect_canon(s, THING, "{}", "{" THING_ZEROS "}");
    schema_free(s);
}

Test(schema, keys_follow_the_schema_order_whatever_the_input_order)
{
    struct schema *s = test_schema();
    expect_canon(s, THING, "{\"s\":\"v\",\"apiVersion\":\"example/v1\",\"kind\":\"Thing\"}",
                 "{\"kind\":\"Thing\",\"apiVersion\":\"example/v1\",\"s\":\"v\"," THING_ZEROS "}");
    expect_canon(s, THING, "{\"sub\":{\"y\":2,\"x\":\"a\"}}",
                 "{\"n\":0,\"b\":false,\"mn\":null,\"ln\":null,\"sub\":{\"x\":\"a\",\"y\":2},"
                 "\"iosn\":0,\"t\":null}");
    schema_free(s);
}

Test(schema, omit_empty_drops_zero_values)
{
    struct schema *s = test_schema();
    expect_canon(s, THING,
                 "{\"s\":\"\",\"i64\":0,\"f\":0.0,\"m\":{},\"l\":[],\"q\":\"\",\"ios\":null}",
                 "{" THING_ZEROS "}");
    expect_canon(s, THING, "{\"s\":null,\"m\":null,\"l\":null}", "{" THING_ZEROS "}");
    schema_free(s);
}

Test(schema, omit_nil_keeps_zero_values_but_drops_null)
{
    struct schema *s = test_schema();
    expect_canon(s, THING, "{\"p\":\"\"}", "{\"p\":\"\"," THING_ZEROS "}");
    expect_canon(s, THING, "{\"p\":null}", "{" THING_ZEROS "}");
    /* A pointer to a struct: present (even empty) is kept, with its own zeros. */
    expect_canon(s, THING, "{\"subp\":{}}",
                 "{\"n\":0,\"b\":false,\"mn\":null,\"ln\":null,\"sub\":{\"y\":0},"
                 "\"subp\":{\"y\":0},\"iosn\":0,\"t\":null}");
    schema_free(s);
}

Test(schema, omit_never_keeps_given_zero_values)
{
    struct schema *s = test_schema();
    expect_canon(s, THING, "{\"n\":0,\"b\":false,\"mn\":{},\"ln\":[],\"iosn\":\"\",\"t\":null}",
                 "{\"n\":0,\"b\":false,\"mn\":{},\"ln\":[],\"sub\":{\"y\":0},\"iosn\":\"\","
                 "\"t\":null}");
    schema_free(s);
}

Test(schema, map_keys_are_sorted)
{
    struct schema *s = test_schema();
    expect_canon(s, THING, "{\"m\":{\"zeta\":\"1\",\"Alpha\":\"2\",\"alpha\":\"3\",\"a/b\":\"4\"}}",
                 "{\"n\":0,\"b\":false,\"m\":{\"Alpha\":\"2\",\"a/b\":\"4\",\"alpha\":\"3\","
                 "\"zeta\":\"1\"},\"mn\":null,\"ln\":null,\"sub\":{\"y\":0},\"iosn\":0,"
                 "\"t\":null}");
    /* Values of a map of structs are canonicalised too. */
    expect_canon(s, THING, "{\"msub\":{\"k\":{\"y\":1,\"x\":\"v\"}}}",
                 "{\"n\":0,\"b\":false,\"mn\":null,\"ln\":null,\"sub\":{\"y\":0},"
                 "\"msub\":{\"k\":{\"x\":\"v\",\"y\":1}},\"iosn\":0,\"t\":null}");
    schema_free(s);
}

Test(schema, arrays_keep_order_and_canonicalise_items)
{
    struct schema *s = test_schema();
    expect_canon(s, THING, "{\"l\":[\"b\",\"a\"],\"subs\":[{\"y\":1},{\"x\":\"q\",\"y\":2}]}",
                 "{\"n\":0,\"b\":false,\"mn\":null,\"l\":[\"b\",\"a\"],\"ln\":null,"
                 "\"sub\":{\"y\":0},\"subs\":[{\"y\":1},{\"x\":\"q\",\"y\":2}],\"iosn\":0,"
                 "\"t\":null}");
    schema_free(s);
}

/*
 * BUG (reported): encoding/json decodes a null list element or map value into the element
 * type's zero value ("" for a string, a zero struct), which is then printed; ours keeps null.
 * Upstream: "l":["a",null] -> ["a",""], "subs":[null] -> [{"y":0}], "m":{"k":null} -> {"k":""}.
 */
Test(schema, null_elements_become_the_element_zero_value)
{
    struct schema *s = test_schema();
    expect_canon(s, THING, "{\"l\":[\"a\",null],\"subs\":[null],\"m\":{\"k\":null}}",
                 "{\"n\":0,\"b\":false,\"m\":{\"k\":\"\"},\"mn\":null,\"l\":[\"a\",\"\"],"
                 "\"ln\":null,\"sub\":{\"y\":0},\"subs\":[{\"y\":0}],\"iosn\":0,\"t\":null}");
    schema_free(s);
}

Test(schema, unknown_fields_are_pruned_and_reported_with_paths)
{
    struct schema *s = test_schema();
    json_t *obj = json_loads("{\"bogus\":1,\"sub\":{\"extra\":true},\"subs\":[{},{\"zz\":1}],"
                             "\"msub\":{\"k\":{\"w\":1}},\"s\":\"x\"}",
                             0, NULL);
    struct schema_report rep;
    schema_report_init(&rep);
    json_t *out = schema_canonicalize(s, THING, obj, &rep);
    cr_assert_not_null(out);
    cr_expect_null(json_object_get(out, "bogus"));
    cr_expect_null(json_object_get(json_object_get(out, "sub"), "extra"));
    cr_expect_null(rep.type_error);
    char *paths = dump(rep.unknown);
    /* Each path once; the order is not part of the contract, so compare as a set. */
    cr_expect_eq(json_array_size(rep.unknown), 4, "%s", paths);
    const char *want[] = {"bogus", "sub.extra", "subs[1].zz", "msub[k].w"};
    for (size_t i = 0; i < 4; i++) {
        bool found = false;
        size_t k;
        json_t *p;
        json_array_foreach (rep.unknown, k, p)
            found |= !strcmp(json_string_value(p), want[i]);
        cr_expect(found, "%s not reported in %s", want[i], paths);
    }
    free(paths);
    json_decref(out);
    /* rep may be NULL when the caller does not care. */
    out = schema_canonicalize(s, THING, obj, NULL);
    cr_expect_not_null(out);
    json_decref(out);
    json_decref(obj);
    schema_report_release(&rep);
    schema_free(s);
}

Test(schema, preserve_unknown_fields_keeps_everything_below)
{
    struct schema *s = test_schema();
    expect_canon(s, THING, "{\"free\":{\"z\":[1,{\"b\":2,\"a\":1}],\"a\":null}}",
                 "{\"n\":0,\"b\":false,\"mn\":null,\"ln\":null,\"sub\":{\"y\":0},\"iosn\":0,"
                 "\"t\":null,\"free\":{\"z\":[1,{\"b\":2,\"a\":1}],\"a\":null}}");
    /* A struct that preserves unknown fields keeps them after its known ones. */
    expect_canon(s, "io.example.v1.Open", "{\"other\":1,\"a\":\"x\"}", "{\"a\":\"x\",\"other\":1}");
    schema_free(s);
}

Test(schema, int_or_string_and_quantity)
{
    struct schema *s = test_schema();
    expect_canon(s, THING, "{\"ios\":8080}",
                 "{\"n\":0,\"b\":false,\"mn\":null,\"ln\":null,\"sub\":{\"y\":0},\"ios\":8080,"
                 "\"iosn\":0,\"t\":null}");
    expect_canon(s, THING, "{\"ios\":\"http\"}",
                 "{\"n\":0,\"b\":false,\"mn\":null,\"ln\":null,\"sub\":{\"y\":0},"
                 "\"ios\":\"http\",\"iosn\":0,\"t\":null}");
    /* A bare number is a Quantity too; it is written back as a string. */
    expect_canon(s, THING, "{\"q\":2}",
                 "{\"n\":0,\"b\":false,\"mn\":null,\"ln\":null,\"sub\":{\"y\":0},\"iosn\":0,"
                 "\"t\":null,\"q\":\"2\"}");
    expect_canon(s, THING, "{\"q\":\"500m\"}",
                 "{\"n\":0,\"b\":false,\"mn\":null,\"ln\":null,\"sub\":{\"y\":0},\"iosn\":0,"
                 "\"t\":null,\"q\":\"500m\"}");
    schema_free(s);
}

Test(schema, int32_range)
{
    struct schema *s = test_schema();
    expect_canon(s, THING, "{\"n\":2147483647}",
                 "{\"n\":2147483647,\"b\":false,\"mn\":null,\"ln\":null,\"sub\":{\"y\":0},"
                 "\"iosn\":0,\"t\":null}");
    expect_canon(s, THING, "{\"n\":-2147483648}",
                 "{\"n\":-2147483648,\"b\":false,\"mn\":null,\"ln\":null,\"sub\":{\"y\":0},"
                 "\"iosn\":0,\"t\":null}");
    expect_canon(s, THING, "{\"i64\":9007199254740993}",
                 "{\"n\":0,\"i64\":9007199254740993,\"b\":false,\"mn\":null,\"ln\":null,"
                 "\"sub\":{\"y\":0},\"iosn\":0,\"t\":null}");
    schema_free(s);
}

/*
 * BUG (reported): reflect.Type.Name() of the struct that holds the field has no package
 * ("Thing", "Sub", "ServicePort"), as the example in schema.h itself shows; ours prints the
 * package-qualified "v1.Thing". (The field's own type does carry its package: "v1.Sub".)
 */
Test(schema, type_errors_in_go_decoder_words)
{
    struct schema *s = test_schema();
    expect_type_error(s, THING, "{\"n\":2147483648}",
                      "json: cannot unmarshal number 2147483648 into Go struct field Thing.n of "
                      "type int32");
    expect_type_error(s, THING, "{\"n\":-2147483649}",
                      "json: cannot unmarshal number -2147483649 into Go struct field Thing.n of "
                      "type int32");
    expect_type_error(s, THING, "{\"n\":1.5}",
                      "json: cannot unmarshal number 1.5 into Go struct field Thing.n of type "
                      "int32");
    expect_type_error(s, THING, "{\"s\":5}",
                      "json: cannot unmarshal number into Go struct field Thing.s of type string");
    expect_type_error(s, THING, "{\"b\":\"yes\"}",
                      "json: cannot unmarshal string into Go struct field Thing.b of type bool");
    expect_type_error(s, THING, "{\"i64\":true}",
                      "json: cannot unmarshal bool into Go struct field Thing.i64 of type int64");
    expect_type_error(s, THING, "{\"f\":\"x\"}",
                      "json: cannot unmarshal string into Go struct field Thing.f of type float64");
    expect_type_error(s, THING, "{\"sub\":\"x\"}",
                      "json: cannot unmarshal string into Go struct field Thing.sub of type "
                      "v1.Sub");
    expect_type_error(s, THING, "{\"sub\":{\"y\":\"x\"}}",
                      "json: cannot unmarshal string into Go struct field Sub.sub.y of type int32");
    /* Array indexes and map keys are not part of Go's field path. */
    expect_type_error(s, THING, "{\"subs\":[{},{\"y\":[]}]}",
                      "json: cannot unmarshal array into Go struct field Sub.subs.y of type int32");
    expect_type_error(s, THING, "{\"m\":{\"k\":1}}",
                      "json: cannot unmarshal number into Go struct field Thing.m of type string");
    expect_type_error(s, THING, "{\"l\":\"x\"}",
                      "json: cannot unmarshal string into Go struct field Thing.l of type "
                      "[]string");
    expect_type_error(s, THING, "{\"m\":[]}",
                      "json: cannot unmarshal array into Go struct field Thing.m of type "
                      "map[string]string");
    expect_type_error(s, THING, "{\"subs\":{}}",
                      "json: cannot unmarshal object into Go struct field Thing.subs of type "
                      "[]v1.Sub");
    schema_free(s);
}

Test(schema, type_error_of_the_whole_value)
{
    struct schema *s = test_schema();
    expect_type_error(s, THING, "[]",
                      "json: cannot unmarshal array into Go value of type v1.Thing");
    schema_free(s);
}

Test(schema, only_the_first_type_error_is_reported)
{
    struct schema *s = test_schema();
    json_t *obj = json_loads("{\"s\":1,\"b\":2}", 0, NULL);
    struct schema_report rep;
    schema_report_init(&rep);
    cr_expect_null(schema_canonicalize(s, THING, obj, &rep));
    cr_assert_not_null(rep.type_error);
    cr_expect(strstr(rep.type_error, ".s of type string") != NULL, "%s", rep.type_error);
    schema_report_release(&rep);
    /* A NULL report still fails. */
    cr_expect_null(schema_canonicalize(s, THING, obj, NULL));
    json_decref(obj);
    schema_free(s);
}

Test(schema, set_ordered_inserts_at_the_schema_position)
{
    struct schema *s = test_schema();
    json_t *obj = json_pack("{s:s,s:i}", "kind", "Thing", "n", 1);
    schema_set_ordered(s, THING, obj, "s", json_string("v"));
    char *t = dump(obj);
    cr_expect_str_eq(t, "{\"kind\":\"Thing\",\"s\":\"v\",\"n\":1}");
    free(t);
    /* apiVersion goes between kind and s. */
    schema_set_ordered(s, THING, obj, "apiVersion", json_string("example/v1"));
    t = dump(obj);
    cr_expect_str_eq(t, "{\"kind\":\"Thing\",\"apiVersion\":\"example/v1\",\"s\":\"v\",\"n\":1}");
    free(t);
    /* An existing key is replaced in place. */
    schema_set_ordered(s, THING, obj, "kind", json_string("Other"));
    t = dump(obj);
    cr_expect_str_eq(t, "{\"kind\":\"Other\",\"apiVersion\":\"example/v1\",\"s\":\"v\",\"n\":1}");
    free(t);
    /* A key the schema does not know goes last. */
    schema_set_ordered(s, THING, obj, "zzz", json_true());
    schema_set_ordered(s, THING, obj, "b", json_false());
    t = dump(obj);
    cr_expect_str_eq(t, "{\"kind\":\"Other\",\"apiVersion\":\"example/v1\",\"s\":\"v\",\"n\":1,"
                        "\"b\":false,\"zzz\":true}");
    free(t);
    json_decref(obj);
    schema_free(s);
}

Test(schema, definitions_are_reachable)
{
    struct schema *s = test_schema();
    cr_expect_not_null(schema_definition(s, THING));
    cr_expect_null(schema_definition(s, "io.example.v1.Nope"));
    cr_expect_null(schema_definition(s, NULL));
    cr_expect(json_is_object(schema_definitions(s)));
    cr_expect_not_null(json_object_get(schema_definitions(s), "io.example.v1.Sub"));
    schema_free(s);
    schema_free(NULL);
}

/* A schema read from JSON text (the caller frees it). */
static struct schema *schema_of(const char *text)
{
    json_error_t jerr;
    json_t *defs = json_loads(text, 0, &jerr);
    cr_assert_not_null(defs, "schema: %s", jerr.text);
    struct schema *s = schema_new(defs);
    json_decref(defs);
    return s;
}

/* A struct of 60 fields, more than the canonicaliser keeps on its stack, and a map of 20 keys,
   more than it sorts in place: both come out in the same order as small ones. */
Test(schema, wide_structs_and_big_maps_keep_the_order)
{
    json_t *props = json_object();
    for (int f = 0; f < 60; f++) {
        char k[16];
        snprintf(k, sizeof(k), "f%02d", f);
        json_object_set_new(props, k,
                            f == 30 ? json_pack("{s:s,s:{s:s}}", "type", "object",
                                                "additionalProperties", "type", "string")
                                    : json_pack("{s:s,s:s}", "type", "integer", "omit",
                                                f % 10 ? "empty" : "never"));
    }
    json_t *defs = json_pack("{s:{s:o}}", "io.example.v1.Wide", "properties", props);
    struct schema *s = schema_new(defs);
    json_decref(defs);
    json_t *in = json_object();
    json_t *map = json_object();
    for (int k = 19; k >= 0; k--) {
        char key[16];
        snprintf(key, sizeof(key), "k%02d", k);
        json_object_set_new(map, key, json_string(key));
    }
    for (int f = 59; f >= 0; f--) {
        char k[16];
        snprintf(k, sizeof(k), "f%02d", f);
        json_object_set_new(in, k, f == 30 ? json_incref(map) : json_integer(f));
    }
    json_object_set_new(in, "zzz", json_true());
    char want[2048] = "{";
    for (int f = 0; f < 60; f++) {
        char part[256];
        if (f == 30) {
            strcat(want, "\"f30\":{");
            for (int k = 0; k < 20; k++) {
                snprintf(part, sizeof(part), "%s\"k%02d\":\"k%02d\"", k ? "," : "", k, k);
                strcat(want, part);
            }
            strcat(want, "},");
            continue;
        }
        snprintf(part, sizeof(part), "\"f%02d\":%d,", f, f);
        strcat(want, part);
    }
    want[strlen(want) - 1] = '}';
    char *text = json_dumps(in, JSON_COMPACT);
    struct schema_report rep;
    schema_report_init(&rep);
    json_t *out = schema_canonicalize(s, "io.example.v1.Wide", in, &rep);
    cr_assert_not_null(out);
    char *got = dump(out);
    cr_expect_str_eq(got, want, "input %s", text);
    cr_expect_eq(json_array_size(rep.unknown), 1);
    cr_expect_str_eq(json_string_value(json_array_get(rep.unknown, 0)), "zzz");
    free(got);
    json_decref(out);
    /* Absent, the never-omitted ones come out as zeros, in order. */
    json_t *empty = json_object();
    out = schema_canonicalize(s, "io.example.v1.Wide", empty, NULL);
    got = dump(out);
    cr_expect_str_eq(got, "{\"f00\":0,\"f10\":0,\"f20\":0,\"f40\":0,\"f50\":0}");
    free(got);
    json_decref(out);
    json_decref(empty);
    schema_report_release(&rep);
    free(text);
    json_decref(map);
    json_decref(in);
    schema_free(s);
}

/* set_ordered on an object with more keys (and longer ones) than it reorders on the stack. */
Test(schema, set_ordered_on_a_wide_object)
{
    json_t *props = json_object();
    for (int f = 0; f < 60; f++) {
        char k[64];
        snprintf(k, sizeof(k), "a_field_with_a_rather_long_name_%02d", f);
        json_object_set_new(props, k, json_pack("{s:s}", "type", "integer"));
    }
    json_t *defs = json_pack("{s:{s:o}}", "io.example.v1.Wide", "properties", props);
    struct schema *s = schema_new(defs);
    json_decref(defs);
    json_t *obj = json_object();
    json_object_set_new(obj, "zz_unknown_first", json_true());
    for (int f = 59; f >= 0; f--) {
        char k[64];
        snprintf(k, sizeof(k), "a_field_with_a_rather_long_name_%02d", f);
        if (f != 30)
            json_object_set_new(obj, k, json_integer(f));
    }
    json_object_set_new(obj, "zz_unknown_last", json_false());
    schema_set_ordered(s, "io.example.v1.Wide", obj, "a_field_with_a_rather_long_name_30",
                       json_integer(30));
    /* Fields before the new one in schema order, then it, then the rest as they were. */
    json_t *want = json_object();
    for (int f = 0; f <= 30; f++) {
        char k[64];
        snprintf(k, sizeof(k), "a_field_with_a_rather_long_name_%02d", f);
        json_object_set_new(want, k, json_integer(f));
    }
    json_object_set_new(want, "zz_unknown_first", json_true());
    for (int f = 59; f > 30; f--) {
        char k[64];
        snprintf(k, sizeof(k), "a_field_with_a_rather_long_name_%02d", f);
        json_object_set_new(want, k, json_integer(f));
    }
    json_object_set_new(want, "zz_unknown_last", json_false());
    char *got = dump(obj), *w = dump(want);
    cr_expect_str_eq(got, w);
    free(got);
    free(w);
    json_decref(want);
    json_decref(obj);
    schema_free(s);
}

/* A recursive type is walked as deep as the input goes, up to the decoder's depth limit. */
Test(schema, recursive_types_stop_at_the_depth_limit)
{
    struct schema *s = schema_of("{\"io.example.v1.Node\":{\"properties\":{"
                                 "\"child\":{\"$ref\":\"io.example.v1.Node\",\"omit\":\"nil\"},"
                                 "\"n\":{\"type\":\"integer\",\"omit\":\"never\"}}}}");
    for (int levels = 128; levels <= 129; levels++) {
        json_t *root = json_object(), *cur = root;
        for (int i = 0; i < levels; i++) {
            json_t *c = json_object();
            json_object_set_new(cur, "child", c);
            cur = c;
        }
        struct schema_report rep;
        schema_report_init(&rep);
        json_t *out = schema_canonicalize(s, "io.example.v1.Node", root, &rep);
        if (levels == 128) {
            cr_expect_not_null(out, "%s", rep.type_error ? rep.type_error : "");
        } else {
            cr_expect_null(out);
            char want[2048] = "json: cannot unmarshal value nested too deeply into Go struct "
                              "field Node";
            for (int i = 0; i < levels; i++)
                strcat(want, ".child");
            strcat(want, " of type v1.Node");
            cr_expect_str_eq(rep.type_error ? rep.type_error : "(none)", want);
        }
        json_decref(out);
        schema_report_release(&rep);
        json_decref(root);
    }
    /* A struct that holds itself by value can never be complete: Go's encoder would not end. */
    struct schema *loop = schema_of("{\"io.example.v1.Loop\":{\"properties\":{"
                                    "\"self\":{\"$ref\":\"io.example.v1.Loop\"}}}}");
    json_t *empty = json_object();
    cr_expect_null(schema_canonicalize(loop, "io.example.v1.Loop", empty, NULL));
    json_decref(empty);
    schema_free(loop);
    schema_free(s);
}

/* Results are new trees: changing one never changes the input (scalars may be shared, being
   immutable). */
Test(schema, results_share_no_containers_with_the_input)
{
    struct schema *s = test_schema();
    json_t *in = json_loads("{\"m\":{\"a\":\"1\"},\"l\":[\"x\"],\"sub\":{\"x\":\"y\"},"
                            "\"subs\":[{\"x\":\"z\"}],\"free\":{\"deep\":{\"k\":[1]}}}",
                            0, NULL);
    char *before = dump(in);
    json_t *out = schema_canonicalize(s, THING, in, NULL);
    cr_assert_not_null(out);
    const char *keys[] = {"m", "l", "sub", "subs", "free"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        cr_expect_neq(json_object_get(out, keys[i]), json_object_get(in, keys[i]), "%s", keys[i]);
    cr_expect_neq(json_object_get(json_object_get(out, "free"), "deep"),
                  json_object_get(json_object_get(in, "free"), "deep"));
    json_object_clear(json_object_get(out, "free"));
    json_object_clear(json_object_get(out, "m"));
    json_array_clear(json_object_get(out, "subs"));
    char *after = dump(in);
    cr_expect_str_eq(after, before);
    free(before);
    free(after);
    json_decref(out);
    json_decref(in);
    schema_free(s);
}

/* ---- the compiled schemas ------------------------------------------------------------------ */

static const struct schema *builtin(void)
{
    const struct api *api = api_builtin();
    cr_assert_not_null(api);
    cr_assert_not_null(api->schema);
    return api->schema;
}

#define SERVICE "io.k8s.api.core.v1.Service"

Test(schema, real_service_reads_like_kube_apiserver)
{
    const struct schema *s = builtin();
    expect_canon(s, SERVICE,
                 "{\"status\":{},\"spec\":{\"type\":\"ClusterIP\",\"selector\":{\"tier\":\"web\","
                 "\"app\":\"x\"},\"ports\":[{\"targetPort\":8080,\"port\":80,\"protocol\":\"TCP\","
                 "\"name\":\"http\"}],\"sessionAffinity\":\"None\",\"clusterIP\":\"10.96.0.10\"},"
                 "\"metadata\":{\"namespace\":\"default\",\"name\":\"web\",\"labels\":{\"b\":"
                 "\"2\",\"a\":\"1\"}},\"apiVersion\":\"v1\",\"kind\":\"Service\"}",
                 "{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"web\","
                 "\"namespace\":\"default\",\"creationTimestamp\":null,\"labels\":{\"a\":\"1\","
                 "\"b\":\"2\"}},\"spec\":{\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\","
                 "\"port\":80,\"targetPort\":8080}],\"selector\":{\"app\":\"x\",\"tier\":\"web\"},"
                 "\"clusterIP\":\"10.96.0.10\",\"type\":\"ClusterIP\",\"sessionAffinity\":"
                 "\"None\"},\"status\":{\"loadBalancer\":{}}}");
}

Test(schema, real_service_minimal_gets_struct_zeros)
{
    const struct schema *s = builtin();
    /* ServicePort.port and targetPort are never omitted; ObjectMeta.creationTimestamp prints
       null; spec and status are structs. */
    expect_canon(s, SERVICE, "{\"spec\":{\"ports\":[{}]}}",
                 "{\"metadata\":{\"creationTimestamp\":null},\"spec\":{\"ports\":[{\"port\":0,"
                 "\"targetPort\":0}]},\"status\":{\"loadBalancer\":{}}}");
}

Test(schema, real_namespace_and_endpoints)
{
    const struct schema *s = builtin();
    expect_canon(s, "io.k8s.api.core.v1.Namespace",
                 "{\"kind\":\"Namespace\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"ns\"}}",
                 "{\"kind\":\"Namespace\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"ns\","
                 "\"creationTimestamp\":null},\"spec\":{},\"status\":{}}");
    /* Endpoints without subsets: omitted (omitempty slice). */
    expect_canon(s, "io.k8s.api.core.v1.Endpoints",
                 "{\"subsets\":[],\"metadata\":{\"name\":\"e\"},\"kind\":\"Endpoints\","
                 "\"apiVersion\":\"v1\"}",
                 "{\"kind\":\"Endpoints\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"e\","
                 "\"creationTimestamp\":null}}");
}

Test(schema, real_object_meta_key_order)
{
    const struct schema *s = builtin();
    /* service-semantics.md §8.1: name, generateName, namespace, selfLink, uid, resourceVersion,
       generation, creationTimestamp, deletionTimestamp, deletionGracePeriodSeconds, labels,
       annotations, ownerReferences, finalizers, managedFields. */
    expect_canon(s, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
                 "{\"finalizers\":[\"f\"],\"annotations\":{\"x\":\"y\"},\"labels\":{\"l\":\"v\"},"
                 "\"deletionGracePeriodSeconds\":0,\"deletionTimestamp\":\"2025-05-01T10:00:01Z\","
                 "\"creationTimestamp\":\"2025-05-01T10:00:00Z\",\"generation\":2,"
                 "\"resourceVersion\":\"5\",\"uid\":\"u\",\"namespace\":\"ns\","
                 "\"generateName\":\"g-\",\"name\":\"n\"}",
                 "{\"name\":\"n\",\"generateName\":\"g-\",\"namespace\":\"ns\",\"uid\":\"u\","
                 "\"resourceVersion\":\"5\",\"generation\":2,\"creationTimestamp\":"
                 "\"2025-05-01T10:00:00Z\",\"deletionTimestamp\":\"2025-05-01T10:00:01Z\","
                 "\"deletionGracePeriodSeconds\":0,\"labels\":{\"l\":\"v\"},\"annotations\":{"
                 "\"x\":\"y\"},\"finalizers\":[\"f\"]}");
}

Test(schema, real_unknown_fields_report_strict_decoding_paths)
{
    const struct schema *s = builtin();
    json_t *obj =
        json_loads("{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":"
                   "\"w\",\"bogus\":1},\"spec\":{\"bogusField\":true,\"ports\":[{\"port\":"
                   "80,\"extra\":1}]}}",
                   0, NULL);
    struct schema_report rep;
    schema_report_init(&rep);
    json_t *out = schema_canonicalize(s, SERVICE, obj, &rep);
    cr_assert_not_null(out);
    char *paths = dump(rep.unknown);
    cr_expect_eq(json_array_size(rep.unknown), 3, "%s", paths);
    const char *want[] = {"metadata.bogus", "spec.bogusField", "spec.ports[0].extra"};
    for (size_t i = 0; i < 3; i++) {
        bool found = false;
        size_t k;
        json_t *p;
        json_array_foreach (rep.unknown, k, p)
            found |= !strcmp(json_string_value(p), want[i]);
        cr_expect(found, "%s not reported in %s", want[i], paths);
    }
    cr_expect_null(json_object_get(json_object_get(out, "spec"), "bogusField"));
    free(paths);
    json_decref(out);
    json_decref(obj);
    schema_report_release(&rep);
}

Test(schema, real_managed_fields_content_is_never_pruned)
{
    const struct schema *s = builtin();
    json_t *obj = json_loads("{\"metadata\":{\"managedFields\":[{\"manager\":\"kubectl\","
                             "\"operation\":\"Apply\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":"
                             "{\"f:spec\":{\"f:ports\":{\"k:{\\\"port\\\":80}\":{}}}}}]}}",
                             0, NULL);
    struct schema_report rep;
    schema_report_init(&rep);
    json_t *out = schema_canonicalize(s, SERVICE, obj, &rep);
    cr_assert_not_null(out);
    cr_expect_eq(json_array_size(rep.unknown), 0);
    json_t *mf =
        json_array_get(json_object_get(json_object_get(out, "metadata"), "managedFields"), 0);
    cr_expect(json_equal(
        json_object_get(mf, "fieldsV1"),
        json_object_get(
            json_array_get(json_object_get(json_object_get(obj, "metadata"), "managedFields"), 0),
            "fieldsV1")));
    json_decref(out);
    json_decref(obj);
    schema_report_release(&rep);
}

/* BUG (reported): see type_errors_in_go_decoder_words: the struct name has no package. */
Test(schema, real_type_errors_match_kube_apiserver)
{
    const struct schema *s = builtin();
    expect_type_error(s, SERVICE, "{\"spec\":{\"ports\":[{\"port\":\"80\"}]}}",
                      "json: cannot unmarshal string into Go struct field "
                      "ServicePort.spec.ports.port of type int32");
    expect_type_error(s, SERVICE, "{\"spec\":{\"ports\":[{\"port\":4294967296}]}}",
                      "json: cannot unmarshal number 4294967296 into Go struct field "
                      "ServicePort.spec.ports.port of type int32");
    expect_type_error(s, SERVICE, "{\"metadata\":{\"labels\":{\"a\":1}}}",
                      "json: cannot unmarshal number into Go struct field "
                      "ObjectMeta.metadata.labels of type string");
    expect_type_error(s, SERVICE, "{\"spec\":\"x\"}",
                      "json: cannot unmarshal string into Go struct field Service.spec of type "
                      "v1.ServiceSpec");
    expect_type_error(s, SERVICE, "{\"spec\":{\"ports\":{}}}",
                      "json: cannot unmarshal object into Go struct field ServiceSpec.spec.ports "
                      "of type []v1.ServicePort");
}

/*
 * BUG (reported): IntOrString and metav1.Time decode through their UnmarshalJSON methods, which
 * call json.Unmarshal into an int32 (IntOrString.IntVal) or a string; the outer decoder then
 * adds the field context, so upstream's text names int32 / string, not the wrapper type.
 */
Test(schema, real_type_errors_of_custom_unmarshalers)
{
    const struct schema *s = builtin();
    expect_type_error(s, SERVICE, "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":true}]}}",
                      "json: cannot unmarshal bool into Go struct field "
                      "ServicePort.spec.ports.targetPort of type int32");
    expect_type_error(s, SERVICE, "{\"metadata\":{\"creationTimestamp\":5}}",
                      "json: cannot unmarshal number into Go struct field "
                      "ObjectMeta.metadata.creationTimestamp of type string");
}

Test(schema, lookup_field_gives_patch_metadata)
{
    const struct schema *s = builtin();
    struct schema_field f;
    cr_assert_eq(schema_lookup_field(s, "io.k8s.api.core.v1.ServiceSpec", "ports", &f), 0);
    cr_expect(f.is_list);
    cr_expect_not(f.is_map);
    cr_expect_not_null(f.prop);
    cr_expect_str_eq(f.ref, "io.k8s.api.core.v1.ServicePort");
    cr_expect_str_eq(f.patch_strategy, "merge");
    cr_expect_str_eq(f.patch_merge_key, "port");
    cr_expect_str_eq(f.list_type, "map");

    cr_assert_eq(schema_lookup_field(s, "io.k8s.api.core.v1.ServiceSpec", "selector", &f), 0);
    cr_expect(f.is_map);
    cr_expect_not(f.is_list);
    cr_expect_null(f.ref);
    cr_expect_null(f.patch_strategy);

    cr_assert_eq(schema_lookup_field(s, "io.k8s.api.core.v1.Service", "spec", &f), 0);
    cr_expect_not(f.is_list);
    cr_expect_not(f.is_map);
    cr_expect_str_eq(f.ref, "io.k8s.api.core.v1.ServiceSpec");

    cr_assert_eq(schema_lookup_field(s, "io.k8s.api.core.v1.Endpoints", "subsets", &f), 0);
    cr_expect(f.is_list);
    cr_expect_str_eq(f.ref, "io.k8s.api.core.v1.EndpointSubset");
    cr_expect_null(f.patch_strategy, "Endpoints subsets are replaced atomically");
    cr_expect_str_eq(f.list_type, "atomic");

    cr_assert_eq(
        schema_lookup_field(s, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers", &f),
        0);
    cr_expect(f.is_list);
    cr_expect_null(f.ref, "a list of strings has no struct");
    cr_expect_str_eq(f.list_type, "set");

    cr_expect_eq(schema_lookup_field(s, "io.k8s.api.core.v1.ServiceSpec", "bogus", &f), -1);
    cr_expect_eq(schema_lookup_field(s, "io.k8s.api.core.v1.Nope", "ports", &f), -1);
}

Test(schema, set_ordered_on_real_object_meta)
{
    const struct schema *s = builtin();
    json_t *meta = json_pack("{s:s,s:s,s:s}", "name", "w", "uid", "u", "creationTimestamp",
                             "2025-05-01T10:00:00Z");
    schema_set_ordered(s, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", meta,
                       "resourceVersion", json_string("7"));
    char *t = dump(meta);
    cr_expect_str_eq(t, "{\"name\":\"w\",\"uid\":\"u\",\"resourceVersion\":\"7\","
                        "\"creationTimestamp\":\"2025-05-01T10:00:00Z\"}");
    free(t);
    schema_set_ordered(s, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", meta, "namespace",
                       json_string("d"));
    t = dump(meta);
    cr_expect_str_eq(t, "{\"name\":\"w\",\"namespace\":\"d\",\"uid\":\"u\",\"resourceVersion\":"
                        "\"7\",\"creationTimestamp\":\"2025-05-01T10:00:00Z\"}");
    free(t);
    json_decref(meta);
}

/* The built-in table is read from apigen's pre-parsed trees: it must be what parsing the JSON
   texts gives, key order included. */
Test(schema, builtin_trees_are_the_json_contract)
{
    const struct api *a = api_builtin();
    char *defs = json_dumps(schema_definitions(a->schema), JSON_COMPACT);
    cr_expect(!strcmp(defs, svc_api_definitions_json), "definitions differ from the JSON text");
    free(defs);
    char msg[256];
    struct api *parsed =
        api_new(svc_api_resources_json, svc_api_definitions_json, msg, sizeof(msg));
    cr_assert_not_null(parsed, "%s", msg);
    char *want = json_dumps(parsed->raw, JSON_COMPACT);
    char *got = json_dumps(a->raw, JSON_COMPACT);
    cr_expect_str_eq(got, want);
    free(want);
    free(got);
    cr_assert_eq(a->n_gvs, parsed->n_gvs);
    for (size_t g = 0; g < a->n_gvs; g++) {
        cr_assert_eq(a->gvs[g].n_resources, parsed->gvs[g].n_resources);
        for (size_t i = 0; i < a->gvs[g].n_resources; i++) {
            const struct api_resource *x = &a->gvs[g].resources[i],
                                      *y = &parsed->gvs[g].resources[i];
            cr_expect_str_eq(x->definition ? x->definition : "-",
                             y->definition ? y->definition : "-");
            cr_expect_str_eq(x->list_definition ? x->list_definition : "-",
                             y->list_definition ? y->list_definition : "-");
        }
    }
    api_free(parsed);
}

/* The compiled schema is read by every worker thread at once. */
struct canon_job {
    const struct schema *s;
    const char *in;
    const char *want;
    int bad;
};

static void *canon_many(void *arg)
{
    struct canon_job *job = arg;
    json_t *in = json_loads(job->in, 0, NULL);
    for (int i = 0; i < 300; i++) {
        struct schema_report rep;
        schema_report_init(&rep);
        json_t *out = schema_canonicalize(job->s, SERVICE, in, &rep);
        char *got = out ? dump(out) : NULL;
        if (!got || strcmp(got, job->want) || json_array_size(rep.unknown) != 1)
            job->bad++;
        free(got);
        json_decref(out);
        schema_report_release(&rep);
    }
    json_decref(in);
    return NULL;
}

Test(schema, canonicalises_alike_from_many_threads)
{
    const struct schema *s = builtin();
    const char *in = "{\"spec\":{\"ports\":[{\"port\":80,\"bogus\":1}],\"selector\":{\"b\":"
                     "\"2\",\"a\":\"1\"}},\"metadata\":{\"name\":\"x\"},\"kind\":\"Service\"}";
    json_t *obj = json_loads(in, 0, NULL);
    json_t *ref = schema_canonicalize(s, SERVICE, obj, NULL);
    char *want = dump(ref);
    struct canon_job jobs[4];
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) {
        jobs[t] = (struct canon_job){.s = s, .in = in, .want = want};
        cr_assert_eq(pthread_create(&threads[t], NULL, canon_many, &jobs[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        cr_expect_eq(jobs[t].bad, 0, "thread %d", t);
    }
    free(want);
    json_decref(ref);
    json_decref(obj);
}
