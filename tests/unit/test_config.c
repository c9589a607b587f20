/*
 * test_config: flags and the YAML config file of src/config/config.c (include/svc/config.h and
 * issue 2): defaults, --flag=value and --flag value, -v, the file read first and overridden by
 * flags wherever --config appears, errors that name the key (and in the file its line), and a
 * --help text that lists every flag.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "svc/config.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

struct cfg_fixture {
    struct svc_config cfg;
    char msg[512];
};

static int parse(struct cfg_fixture *f, int argc, const char **argv)
{
    f->msg[0] = '\0';
    /* config_parse takes main's argv; it does not write to the strings. */
    return config_parse(&f->cfg, argc, (char **)argv, f->msg, sizeof(f->msg));
}

static int load(struct cfg_fixture *f, const char *text)
{
    f->msg[0] = '\0';
    return config_load_yaml(&f->cfg, "config.yaml", text, strlen(text), f->msg, sizeof(f->msg));
}

/* A temporary config file with text; the caller unlinks path. */
static void write_file(char *path, const char *text)
{
    strcpy(path, "/tmp/svc-test-config-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *fp = fdopen(fd, "w");
    cr_assert_not_null(fp);
    fputs(text, fp);
    fclose(fp);
}

Test(config, defaults_match_issue_2)
{
    struct svc_config c;
    config_init(&c);
    cr_expect_str_eq(c.bind_address, "127.0.0.1");
    cr_expect_eq(c.port, 8080);
    cr_expect_str_eq(c.service_cluster_ip_range, "10.96.0.0/12");
    cr_expect_str_eq(c.service_node_port_range, "30000-32767");
    cr_expect_eq(c.watch_cache_size, 10000);
    cr_expect_eq(c.verbosity, 0);
    cr_expect_null(c.config_file);
    cr_expect_null(c.port_file);
    cr_expect_null(c.write_kubeconfig);
    cr_expect_not(c.help);
    cr_expect_not(c.version);
    cr_expect_gt(c.threads, 0);
    config_release(&c);
}

Test(config, no_arguments_keeps_defaults)
{
    struct cfg_fixture f;
    config_init(&f.cfg);
    const char *argv[] = {"svc-apiserver"};
    cr_expect_eq(parse(&f, ARGC(argv), argv), 0, "%s", f.msg);
    cr_expect_eq(f.cfg.port, 8080);
    config_release(&f.cfg);
}

Test(config, flags_with_equals_and_with_separate_value)
{
    struct cfg_fixture f;
    config_init(&f.cfg);
    const char *argv[] = {"svc-apiserver",
                          "--bind-address=0.0.0.0",
                          "--port",
                          "0",
                          "--port-file=/tmp/p",
                          "--advertise-address",
                          "192.168.1.5",
                          "--service-cluster-ip-range=10.0.0.0/24,fd00::/108",
                          "--service-node-port-range",
                          "31000-31010",
                          "--write-kubeconfig=/tmp/kc",
                          "--watch-cache-size",
                          "50",
                          "--threads=2"};
    cr_assert_eq(parse(&f, ARGC(argv), argv), 0, "%s", f.msg);
    cr_expect_str_eq(f.cfg.bind_address, "0.0.0.0");
    cr_expect_eq(f.cfg.port, 0);
    cr_expect_str_eq(f.cfg.port_file, "/tmp/p");
    cr_expect_str_eq(f.cfg.advertise_address, "192.168.1.5");
    cr_expect_str_eq(f.cfg.service_cluster_ip_range, "10.0.0.0/24,fd00::/108");
    cr_expect_str_eq(f.cfg.service_node_port_range, "31000-31010");
    cr_expect_str_eq(f.cfg.write_kubeconfig, "/tmp/kc");
    cr_expect_eq(f.cfg.watch_cache_size, 50);
    cr_expect_eq(f.cfg.threads, 2);
    config_release(&f.cfg);
}

Test(config, verbosity_flag_forms)
{
    struct cfg_fixture f;
    config_init(&f.cfg);
    const char *a1[] = {"svc-apiserver", "-v", "2"};
    cr_expect_eq(parse(&f, ARGC(a1), a1), 0, "%s", f.msg);
    cr_expect_eq(f.cfg.verbosity, 2);
    const char *a2[] = {"svc-apiserver", "-v=3"};
    cr_expect_eq(parse(&f, ARGC(a2), a2), 0, "%s", f.msg);
    cr_expect_eq(f.cfg.verbosity, 3);
    const char *a3[] = {"svc-apiserver", "--v=4"};
    cr_expect_eq(parse(&f, ARGC(a3), a3), 0, "%s", f.msg);
    cr_expect_eq(f.cfg.verbosity, 4);
    config_release(&f.cfg);
}

Test(config, boolean_flags)
{
    struct cfg_fixture f;
    config_init(&f.cfg);
    const char *a1[] = {"svc-apiserver", "--help", "--version"};
    cr_expect_eq(parse(&f, ARGC(a1), a1), 0, "%s", f.msg);
    cr_expect(f.cfg.help);
    cr_expect(f.cfg.version);
    const char *a2[] = {"svc-apiserver", "--help=false"};
    cr_expect_eq(parse(&f, ARGC(a2), a2), 0, "%s", f.msg);
    cr_expect_not(f.cfg.help);
    const char *a3[] = {"svc-apiserver", "--help=maybe"};
    cr_expect_eq(parse(&f, ARGC(a3), a3), -1);
    cr_expect(strstr(f.msg, "help") != NULL, "names the flag: %s", f.msg);
    /* A boolean flag does not take the next argument as its value. */
    const char *a4[] = {"svc-apiserver", "--version", "--port", "9000"};
    cr_expect_eq(parse(&f, ARGC(a4), a4), 0, "%s", f.msg);
    cr_expect_eq(f.cfg.port, 9000);
    config_release(&f.cfg);
}

Test(config, later_flag_wins)
{
    struct cfg_fixture f;
    config_init(&f.cfg);
    const char *argv[] = {"svc-apiserver", "--port=1", "--port", "2"};
    cr_expect_eq(parse(&f, ARGC(argv), argv), 0, "%s", f.msg);
    cr_expect_eq(f.cfg.port, 2);
    config_release(&f.cfg);
}

Test(config, unknown_flag_is_named)
{
    struct cfg_fixture f;
    config_init(&f.cfg);
    const char *a1[] = {"svc-apiserver", "--foo=1"};
    cr_expect_eq(parse(&f, ARGC(a1), a1), -1);
    cr_expect(strstr(f.msg, "--foo") != NULL, "%s", f.msg);
    const char *a2[] = {"svc-apiserver", "stray"};
    cr_expect_eq(parse(&f, ARGC(a2), a2), -1);
    cr_expect(strstr(f.msg, "stray") != NULL, "%s", f.msg);
    /* Single-dash long flags are not flags (only -v is). */
    const char *a3[] = {"svc-apiserver", "-port=1"};
    cr_expect_eq(parse(&f, ARGC(a3), a3), -1);
    cr_expect_eq(f.cfg.port, 8080);
    config_release(&f.cfg);
}

Test(config, missing_and_bad_values_name_the_flag)
{
    struct cfg_fixture f;
    config_init(&f.cfg);
    const char *a1[] = {"svc-apiserver", "--port"};
    cr_expect_eq(parse(&f, ARGC(a1), a1), -1);
    cr_expect(strstr(f.msg, "--port") != NULL, "%s", f.msg);
    const char *a2[] = {"svc-apiserver", "--port=http"};
    cr_expect_eq(parse(&f, ARGC(a2), a2), -1);
    cr_expect(strstr(f.msg, "port") && strstr(f.msg, "http"), "%s", f.msg);
    const char *a3[] = {"svc-apiserver", "--port=70000"};
    cr_expect_eq(parse(&f, ARGC(a3), a3), -1, "a port above 65535");
    cr_expect(strstr(f.msg, "port") != NULL, "%s", f.msg);
    const char *a4[] = {"svc-apiserver", "--port=-1"};
    cr_expect_eq(parse(&f, ARGC(a4), a4), -1);
    const char *a5[] = {"svc-apiserver", "--port="};
    cr_expect_eq(parse(&f, ARGC(a5), a5), -1, "an empty number");
    const char *a6[] = {"svc-apiserver", "--port=80x"};
    cr_expect_eq(parse(&f, ARGC(a6), a6), -1, "trailing garbage");
    const char *a7[] = {"svc-apiserver", "--threads=0"};
    cr_expect_eq(parse(&f, ARGC(a7), a7), -1);
    cr_expect(strstr(f.msg, "threads") != NULL, "%s", f.msg);
    const char *a8[] = {"svc-apiserver", "--port=99999999999999999999"};
    cr_expect_eq(parse(&f, ARGC(a8), a8), -1, "overflow");
    cr_expect_eq(f.cfg.port, 8080, "failed parses change no setting");
    config_release(&f.cfg);
}

Test(config, yaml_file_sets_every_kind_of_value)
{
    struct cfg_fixture f;
    config_init(&f.cfg);
    cr_assert_eq(load(&f, "# settings\n"
                          "bind-address: 0.0.0.0\n"
                          "port: 9443\n"
                          "advertise-address: \"10.1.2.3\"\n"
                          "service-cluster-ip-range: 10.100.0.0/16\n"
                          "service-node-port-range: '30000-30100'\n"
                          "v: 1\n"
                          "watch-cache-size: 5\n"),
                 0, "%s", f.msg);
    cr_expect_str_eq(f.cfg.bind_address, "0.0.0.0");
    cr_expect_eq(f.cfg.port, 9443);
    cr_expect_str_eq(f.cfg.advertise_address, "10.1.2.3");
    cr_expect_str_eq(f.cfg.service_cluster_ip_range, "10.100.0.0/16");
    cr_expect_str_eq(f.cfg.service_node_port_range, "30000-30100");
    cr_expect_eq(f.cfg.verbosity, 1);
    cr_expect_eq(f.cfg.watch_cache_size, 5);
    config_release(&f.cfg);
}

Test(config, empty_yaml_file_is_fine)
{
    struct cfg_fixture f;
    config_init(&f.cfg);
    cr_expect_eq(load(&f, ""), 0, "%s", f.msg);
    cr_expect_eq(load(&f, "# only a comment\n"), 0, "%s", f.msg);
    cr_expect_eq(load(&f, "---\n{}\n"), 0, "%s", f.msg);
    cr_expect_eq(f.cfg.port, 8080);
    config_release(&f.cfg);
}

Test(config, yaml_unknown_key_names_key_and_line)
{
    struct cfg_fixture f;
    config_init(&f.cfg);
    cr_expect_eq(load(&f, "port: 1\n\nbogus-key: 2\n"), -1);
    cr_expect(strstr(f.msg, "config.yaml:3") != NULL, "line 3: %s", f.msg);
    cr_expect(strstr(f.msg, "bogus-key") != NULL, "%s", f.msg);
    /* Flags that make no sense in a file are not keys of it. */
    cr_expect_eq(load(&f, "config: other.yaml\n"), -1);
    cr_expect(strstr(f.msg, "config.yaml:1") && strstr(f.msg, "config"), "%s", f.msg);
    cr_expect_eq(load(&f, "help: true\n"), -1);
    config_release(&f.cfg);
}

Test(config, yaml_bad_value_names_key_and_its_line)
{
    struct cfg_fixture f;
    config_init(&f.cfg);
    cr_expect_eq(load(&f, "bind-address: 0.0.0.0\nport: eighty\n"), -1);
    cr_expect(strstr(f.msg, "config.yaml:2") != NULL, "line 2: %s", f.msg);
    cr_expect(strstr(f.msg, "port") != NULL, "%s", f.msg);
    cr_expect_eq(load(&f, "threads: 100000\n"), -1);
    cr_expect(strstr(f.msg, "config.yaml:1") && strstr(f.msg, "threads"), "%s", f.msg);
    /* A value on the line after its key: the line named is the value's. */
    cr_expect_eq(load(&f, "port:\n  abc\n"), -1);
    cr_expect(strstr(f.msg, "config.yaml:2") && strstr(f.msg, "port"), "%s", f.msg);
    config_release(&f.cfg);
}

Test(config, yaml_non_scalar_values_and_non_mapping_files_are_errors)
{
    struct cfg_fixture f;
    config_init(&f.cfg);
    cr_expect_eq(load(&f, "port: [1, 2]\n"), -1);
    cr_expect(strstr(f.msg, "port") && strstr(f.msg, "config.yaml:1"), "%s", f.msg);
    cr_expect_eq(load(&f, "bind-address:\n  nested: x\n"), -1);
    cr_expect(strstr(f.msg, "bind-address") != NULL, "%s", f.msg);
    cr_expect_eq(load(&f, "just a string\n"), -1);
    cr_expect(strstr(f.msg, "config.yaml:1") != NULL, "%s", f.msg);
    cr_expect_eq(load(&f, "- port\n- 1\n"), -1);
    cr_expect(strstr(f.msg, "config.yaml:1") != NULL, "%s", f.msg);
    config_release(&f.cfg);
}

Test(config, yaml_syntax_error_names_the_line)
{
    struct cfg_fixture f;
    config_init(&f.cfg);
    cr_expect_eq(load(&f, "port: 1\nbind-address: \"unterminated\n"), -1);
    cr_expect(strstr(f.msg, "config.yaml:") != NULL, "%s", f.msg);
    cr_expect_eq(load(&f, "port: 1\nbind-address: a: b\n"), -1);
    cr_expect(strstr(f.msg, "config.yaml:2") != NULL, "%s", f.msg);
    config_release(&f.cfg);
}

/*
 * BUG (reported): a YAML alias value (`threads: *p`) is skipped by the event loop, so the key
 * stays pending and the NEXT scalar (here the key "bind-address") is taken as its value: the
 * file is misread instead of the alias being resolved or refused with the key named.
 */
Test(config, yaml_alias_value_is_resolved_or_refused_naming_its_key)
{
    struct cfg_fixture f;
    config_init(&f.cfg);
    int rc = load(&f, "v: &p 3\nthreads: *p\nbind-address: 1.2.3.4\n");
    if (rc == 0) {
        cr_expect_eq(f.cfg.threads, 3);
        cr_expect_str_eq(f.cfg.bind_address, "1.2.3.4");
    } else {
        cr_expect(strstr(f.msg, "config.yaml:2") && strstr(f.msg, "threads"),
                  "the error names the alias's key and line: %s", f.msg);
        cr_expect(strstr(f.msg, "bind-address") == NULL,
                  "the next key must not be read as a value: %s", f.msg);
    }
    config_release(&f.cfg);
}

Test(config, config_file_is_read_and_flags_override_it_wherever_config_appears)
{
    char path[64];
    write_file(path, "port: 7000\nbind-address: 10.0.0.1\nv: 2\n");
    struct cfg_fixture f;
    config_init(&f.cfg);
    /* --port comes before --config on the command line and still wins. */
    const char *a1[] = {"svc-apiserver", "--port=7001", "--config", path};
    cr_expect_eq(parse(&f, ARGC(a1), a1), 0, "%s", f.msg);
    cr_expect_eq(f.cfg.port, 7001);
    cr_expect_str_eq(f.cfg.bind_address, "10.0.0.1", "from the file");
    cr_expect_eq(f.cfg.verbosity, 2);
    cr_expect_str_eq(f.cfg.config_file, path);
    config_release(&f.cfg);

    config_init(&f.cfg);
    char eq[128];
    snprintf(eq, sizeof(eq), "--config=%s", path);
    const char *a2[] = {"svc-apiserver", eq, "-v", "0"};
    cr_expect_eq(parse(&f, ARGC(a2), a2), 0, "%s", f.msg);
    cr_expect_eq(f.cfg.port, 7000);
    cr_expect_eq(f.cfg.verbosity, 0, "the flag after --config overrides the file too");
    config_release(&f.cfg);
    unlink(path);
}

Test(config, config_file_errors_name_the_file_key_and_line)
{
    char path[64];
    write_file(path, "port: 1\nwatch-cache-size: lots\n");
    struct cfg_fixture f;
    config_init(&f.cfg);
    const char *argv[] = {"svc-apiserver", "--config", path};
    cr_expect_eq(parse(&f, ARGC(argv), argv), -1);
    char want[128];
    snprintf(want, sizeof(want), "%s:2", path);
    cr_expect(strstr(f.msg, want) != NULL, "%s", f.msg);
    cr_expect(strstr(f.msg, "watch-cache-size") != NULL, "%s", f.msg);
    config_release(&f.cfg);
    unlink(path);

    config_init(&f.cfg);
    const char *missing[] = {"svc-apiserver", "--config", "/nonexistent/svc.yaml"};
    cr_expect_eq(parse(&f, ARGC(missing), missing), -1);
    cr_expect(strstr(f.msg, "/nonexistent/svc.yaml") != NULL, "%s", f.msg);
    const char *novalue[] = {"svc-apiserver", "--config"};
    cr_expect_eq(parse(&f, ARGC(novalue), novalue), -1);
    config_release(&f.cfg);
}

/* Does the --help text list flag as a word (followed by a space, "=" or a newline)? */
static bool usage_lists(const char *u, const char *flag)
{
    size_t n = strlen(flag);
    for (const char *p = u; (p = strstr(p, flag)); p += n)
        if ((p == u || p[-1] == ' ' || p[-1] == '\n') &&
            (p[n] == ' ' || p[n] == '=' || p[n] == '\n'))
            return true;
    return false;
}

Test(config, help_lists_every_flag)
{
    const char *u = config_usage();
    cr_assert_not_null(u);
    /* The flags of issue 2, at least. */
    static const char *const flags[] = {
        "--config",
        "--bind-address",
        "--port",
        "--port-file",
        "--advertise-address",
        "--service-cluster-ip-range",
        "--service-node-port-range",
        "--write-kubeconfig",
        "-v",
        "--watch-cache-size",
        "--threads",
        "--help",
        "--version",
    };
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        cr_expect(usage_lists(u, flags[i]), "--help does not list %s:\n%s", flags[i], u);
    cr_expect(strstr(u, "10.96.0.0/12") != NULL, "defaults are shown");
    cr_expect(strstr(u, "30000-32767") != NULL, "defaults are shown");
}

Test(config, help_lists_every_flag_the_header_names)
{
    /* The contract (include/svc/config.h) names each flag in a comment "/\* --flag": every one
       of them must be in --help, so the two cannot drift apart. */
    char path[512];
    snprintf(path, sizeof(path), "%s/../../include/svc/config.h", TEST_DATA_DIR);
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp, "cannot read %s", path);
    const char *u = config_usage();
    char line[512];
    int found = 0;
    while (fgets(line, sizeof(line), fp)) {
        const char *c = strstr(line, "/* -");
        if (!c)
            continue;
        char flag[64];
        size_t n = 0;
        for (c += 3; n < sizeof(flag) - 1 && (*c == '-' || (*c >= 'a' && *c <= 'z')); c++)
            flag[n++] = *c;
        flag[n] = '\0';
        found++;
        cr_expect(usage_lists(u, flag), "--help does not list %s (config.h)", flag);
    }
    fclose(fp);
    cr_expect_geq(found, 13, "the header names the flags of issue 2");
}

Test(config, simulation_flags_and_their_file_keys)
{
    struct cfg_fixture f;
    config_init(&f.cfg);
    cr_expect_eq(f.cfg.nodes, 1);
    cr_expect_str_eq(f.cfg.pod_cidr, "10.244.0.0/16");
    cr_expect(f.cfg.pod_ready_delay == 0);
    const char *argv[] = {"svc-apiserver",
                          "--nodes=3",
                          "--pod-cidr",
                          "10.0.0.0/16",
                          "--pod-ready-delay=1500ms",
                          "--load-balancer-ip-range=192.0.2.0/28"};
    cr_assert_eq(parse(&f, ARGC(argv), argv), 0, "%s", f.msg);
    cr_expect_eq(f.cfg.nodes, 3);
    cr_expect_str_eq(f.cfg.pod_cidr, "10.0.0.0/16");
    cr_expect(f.cfg.pod_ready_delay > 1.499 && f.cfg.pod_ready_delay < 1.501, "%f",
              f.cfg.pod_ready_delay);
    cr_expect_str_eq(f.cfg.load_balancer_ip_range, "192.0.2.0/28");
    cr_assert_eq(load(&f, "nodes: 2\npod-ready-delay: 2s\nload-balancer-ip-range: "
                          "192.0.2.1-192.0.2.9\n"),
                 0, "%s", f.msg);
    cr_expect_eq(f.cfg.nodes, 2);
    cr_expect(f.cfg.pod_ready_delay > 1.999 && f.cfg.pod_ready_delay < 2.001);
    cr_expect_str_eq(f.cfg.load_balancer_ip_range, "192.0.2.1-192.0.2.9");
    cr_expect_eq(load(&f, "pod-ready-delay: soon\n"), -1);
    cr_expect(strstr(f.msg, "config.yaml:1") && strstr(f.msg, "pod-ready-delay"), "%s", f.msg);
    config_release(&f.cfg);
}

Test(config, release_is_safe_after_parse_and_twice)
{
    struct cfg_fixture f;
    config_init(&f.cfg);
    const char *argv[] = {"svc-apiserver", "--port-file=/x", "--write-kubeconfig=/y"};
    cr_expect_eq(parse(&f, ARGC(argv), argv), 0);
    config_release(&f.cfg);
    cr_expect_null(f.cfg.port_file);
    cr_expect_null(f.cfg.bind_address);
    config_release(&f.cfg);
}
