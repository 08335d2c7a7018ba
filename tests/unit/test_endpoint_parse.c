/* Endpoint list parsing: accepted forms and their gRPC targets, and precise rejections. */
#include <stdio.h>

#include "unit.h"

#include "balancer/endpoint_parse.h"

/* Parses `list` and expects exactly `n` endpoints with these names and targets, in order. */
static void parse_ok(const char *list, size_t n, const char *const *names, const char *const *targets)
{
    etcd_endpoint_spec *specs = NULL;
    size_t count = 99;
    etcd_error *err = NULL;
    etcd_code rc = etcd_endpoints_parse(list, &specs, &count, &err);
    if (rc != ETCD_OK)
        fail_msg("\"%s\": %s", list, etcd_error_message(err));
    assert_null(err);
    assert_int_equal(count, n);
    assert_non_null(specs);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(specs[i].name, names[i]);
        assert_string_equal(specs[i].target, targets[i]);
    }
    etcd_endpoint_specs_free(specs, count);
}

/* One endpoint, given as it should be named. */
static void parse_one(const char *list, const char *name, const char *target)
{
    parse_ok(list, 1, &name, &target);
}

/* Parsing fails with `code`, returns nothing, and the message contains `needle`. */
static void parse_bad(const char *list, etcd_code code, const char *needle)
{
    etcd_endpoint_spec *specs = (etcd_endpoint_spec *)1;
    size_t count = 99;
    etcd_error *err = NULL;
    etcd_code rc = etcd_endpoints_parse(list, &specs, &count, &err);
    if (rc != code)
        fail_msg("\"%s\": got %s, want %s", list ? list : "(null)", etcd_code_name(rc), etcd_code_name(code));
    assert_null(specs);
    assert_int_equal(count, 0);
    assert_non_null(err);
    assert_int_equal(etcd_error_code(err), code);
    assert_contains(etcd_error_message(err), needle);
    etcd_error_free(err);
    /* The error out-parameter is optional. */
    assert_int_equal(etcd_endpoints_parse(list, &specs, &count, NULL), code);
    assert_null(specs);
}

/* The message quotes the endpoint at fault. */
static void parse_bad_names(const char *list, const char *endpoint)
{
    char quoted[128];
    snprintf(quoted, sizeof quoted, "\"%s\"", endpoint);
    parse_bad(list, ETCD_E_BAD_ENDPOINT, quoted);
}

static void test_ipv4(void **state)
{
    (void)state;
    parse_one("127.0.0.1:2379", "127.0.0.1:2379", "ipv4:127.0.0.1:2379");
    parse_one("http://127.0.0.1:2379", "http://127.0.0.1:2379", "ipv4:127.0.0.1:2379");
    parse_one("http://127.0.0.1:2379/", "http://127.0.0.1:2379/", "ipv4:127.0.0.1:2379");
    parse_one("10.1.2.3:1", "10.1.2.3:1", "ipv4:10.1.2.3:1");
    parse_one("255.255.255.255:65535", "255.255.255.255:65535", "ipv4:255.255.255.255:65535");
}

static void test_ipv6(void **state)
{
    (void)state;
    parse_one("[::1]:2379", "[::1]:2379", "ipv6:[::1]:2379");
    parse_one("http://[::1]:2379", "http://[::1]:2379", "ipv6:[::1]:2379");
    parse_one("http://[fe80::1:2]:12379/", "http://[fe80::1:2]:12379/", "ipv6:[fe80::1:2]:12379");
    parse_one("[2001:db8::8a2e:370:7334]:2379", "[2001:db8::8a2e:370:7334]:2379",
              "ipv6:[2001:db8::8a2e:370:7334]:2379");
}

static void test_dns(void **state)
{
    (void)state;
    parse_one("localhost:2379", "localhost:2379", "dns:///localhost:2379");
    parse_one("http://etcd-0.etcd.svc:2379", "http://etcd-0.etcd.svc:2379", "dns:///etcd-0.etcd.svc:2379");
    parse_one("my_host:2", "my_host:2", "dns:///my_host:2");
}

static void test_unix(void **state)
{
    (void)state;
    parse_one("unix:///tmp/e.sock", "unix:///tmp/e.sock", "unix:/tmp/e.sock");
    parse_one("unix://localhost:1234", "unix://localhost:1234", "unix:localhost:1234");
}

static void test_lists(void **state)
{
    (void)state;
    static const char *const names[] = {"127.0.0.1:2379", "http://[::1]:22379", "localhost:32379",
                                        "unix:///run/etcd.sock"};
    static const char *const targets[] = {"ipv4:127.0.0.1:2379", "ipv6:[::1]:22379", "dns:///localhost:32379",
                                          "unix:/run/etcd.sock"};
    parse_ok("127.0.0.1:2379,http://[::1]:22379,localhost:32379,unix:///run/etcd.sock", 4, names, targets);
    /* Spaces and tabs around entries are trimmed from names. */
    parse_ok("  127.0.0.1:2379 ,\thttp://[::1]:22379\t, localhost:32379,unix:///run/etcd.sock  ", 4, names,
             targets);
}

/* The same target twice is kept once, under the name first given. */
static void test_duplicates_dropped(void **state)
{
    (void)state;
    static const char *const names[] = {"127.0.0.1:2379", "127.0.0.2:2379"};
    static const char *const targets[] = {"ipv4:127.0.0.1:2379", "ipv4:127.0.0.2:2379"};
    parse_ok("127.0.0.1:2379,http://127.0.0.1:2379,127.0.0.2:2379,127.0.0.1:2379,http://127.0.0.1:2379/", 2, names,
             targets);
    parse_one("localhost:1, localhost:1", "localhost:1", "dns:///localhost:1");
}

static void test_empty_list_and_entries(void **state)
{
    (void)state;
    parse_bad("", ETCD_E_BAD_ENDPOINT, "empty");
    parse_bad("   ", ETCD_E_BAD_ENDPOINT, "empty");
    parse_bad("a:1,,b:2", ETCD_E_BAD_ENDPOINT, "empty entry");
    parse_bad("a:1,,b:2", ETCD_E_BAD_ENDPOINT, "a:1,,b:2");
    parse_bad("a:1,", ETCD_E_BAD_ENDPOINT, "empty entry");
    parse_bad(",a:1", ETCD_E_BAD_ENDPOINT, "empty entry");
    parse_bad("a:1, ,b:2", ETCD_E_BAD_ENDPOINT, "empty entry");
}

static void test_bad_ports(void **state)
{
    (void)state;
    parse_bad_names("localhost", "localhost");
    parse_bad("localhost", ETCD_E_BAD_ENDPOINT, "missing port");
    parse_bad_names("127.0.0.1", "127.0.0.1");
    parse_bad_names("localhost:", "localhost:");
    parse_bad_names("h:0", "h:0");
    parse_bad("h:0", ETCD_E_BAD_ENDPOINT, "invalid port \"0\"");
    parse_bad_names("h:65536", "h:65536");
    parse_bad_names("h:99999", "h:99999");
    parse_bad_names("h:123456", "h:123456");
    parse_bad_names("h:abc", "h:abc");
    parse_bad("h:abc", ETCD_E_BAD_ENDPOINT, "invalid port \"abc\"");
    parse_bad_names("h:-1", "h:-1");
    parse_bad_names("h:+80", "h:+80");
    parse_bad_names("[::1]", "[::1]");
    parse_bad_names("[::1]:", "[::1]:");
    parse_bad_names("[::1]:0", "[::1]:0");
    parse_bad_names("[::1]x", "[::1]x");
    parse_bad_names("http://h", "http://h");
}

/* In a list, the bad entry is the one named, not the whole list. */
static void test_bad_entry_in_list_is_named(void **state)
{
    (void)state;
    parse_bad_names("127.0.0.1:2379, h:0 ,localhost:2379", "h:0");
    parse_bad_names("127.0.0.1:2379,ftp://x:1", "ftp://x:1");
}

static void test_bad_hosts(void **state)
{
    (void)state;
    parse_bad_names("::1:2379", "::1:2379");
    parse_bad("::1:2379", ETCD_E_BAD_ENDPOINT, "brackets");
    parse_bad_names("[::1", "[::1");
    parse_bad_names("[::1:2379", "[::1:2379");
    parse_bad_names("[zz]:1", "[zz]:1");
    parse_bad_names("[]:1", "[]:1");
    parse_bad_names("[127.0.0.1]:1", "[127.0.0.1]:1");
    parse_bad_names("256.1.1.1:1", "256.1.1.1:1");
    parse_bad_names("1.2.3:1", "1.2.3:1");
    parse_bad_names(":2379", ":2379");
    parse_bad_names("-h:1", "-h:1");
    parse_bad_names("h/x:1", "h/x:1");
    parse_bad_names("h@x:1", "h@x:1");
}

/* Anything between the closing bracket and the port, or brackets out of place, is refused: a
 * lax parser would take "[::1]x2379" for port 2379 or hand gRPC a target it reads otherwise. */
static void test_malformed_brackets(void **state)
{
    (void)state;
    parse_bad_names("[::1]x2379", "[::1]x2379");
    parse_bad("[::1]x2379", ETCD_E_BAD_ENDPOINT, "missing port");
    parse_bad_names("http://[::1]x2379", "http://[::1]x2379");
    parse_bad_names("[::1]2379", "[::1]2379");
    parse_bad_names("[::1] :2379", "[::1] :2379");
    parse_bad_names("[::1]::2379", "[::1]::2379");
    parse_bad_names("[::1]:2379]", "[::1]:2379]");
    parse_bad_names("[::1]]:2379", "[::1]]:2379");
    parse_bad_names("[[::1]]:2379", "[[::1]]:2379");
    parse_bad_names("[::1]:[2379]", "[::1]:[2379]");
    parse_bad_names("[::1]:23x9", "[::1]:23x9");
    parse_bad("[::1]:23x9", ETCD_E_BAD_ENDPOINT, "invalid port \"23x9\"");
    parse_bad_names("]::1[:2379", "]::1[:2379");
    parse_bad_names("::1]:2379", "::1]:2379");
    parse_bad_names("h[::1]:2379", "h[::1]:2379");
    parse_bad_names("[::1]:2379,[::2]x1", "[::2]x1");
}

static void test_bad_schemes_and_paths(void **state)
{
    (void)state;
    parse_bad_names("ftp://x:1", "ftp://x:1");
    parse_bad("ftp://x:1", ETCD_E_BAD_ENDPOINT, "unsupported scheme \"ftp\"");
    parse_bad_names("HTTPX://x:1", "HTTPX://x:1");
    parse_bad_names("://x:1", "://x:1");
    parse_bad_names("http://h:1/path", "http://h:1/path");
    parse_bad("http://h:1/path", ETCD_E_BAD_ENDPOINT, "path");
    parse_bad_names("http://h:1//", "http://h:1//");
    parse_bad_names("http://", "http://");
    parse_bad_names("unix://", "unix://");
}

static void test_embedded_space_or_control(void **state)
{
    (void)state;
    parse_bad_names("local host:2379", "local host:2379");
    parse_bad("local host:2379", ETCD_E_BAD_ENDPOINT, "space");
    parse_bad_names("127.0.0.1: 2379", "127.0.0.1: 2379");
    parse_bad_names("a\tb:1", "a\tb:1");
    parse_bad_names("a\x01" "b:1", "a\x01" "b:1");
}

/* Secure endpoints parse (the syntax is fine) and are marked; whether they fit the settings is
 * checked separately, so the order of config setters never matters. */
static void check_tls(const char *list, size_t n, const char *needle)
{
    etcd_endpoint_spec *specs;
    size_t count;
    etcd_error *err = NULL;
    assert_int_equal(etcd_endpoints_parse(list, &specs, &count, &err), ETCD_OK);
    assert_int_equal(count, n);
    assert_true(specs[n - 1].tls);
    assert_int_equal(etcd_endpoints_check_tls(specs, count, &err), ETCD_E_TLS_NOT_CONFIGURED);
    assert_non_null(strstr(etcd_error_message(err), needle));
    etcd_error_free(err);
    etcd_endpoint_specs_free(specs, count);
}

static void test_tls_not_configured(void **state)
{
    (void)state;
    check_tls("https://h:1", 1, "\"https://h:1\"");
    check_tls("unixs://x", 1, "\"unixs://x\"");
    check_tls("127.0.0.1:2379,https://127.0.0.1:2380", 2, "TLS not configured");
    /* Plain endpoints pass the check. */
    etcd_endpoint_spec *specs;
    size_t count;
    assert_int_equal(etcd_endpoints_parse("127.0.0.1:2379,http://h:1,unix:///s", &specs, &count, NULL), ETCD_OK);
    assert_int_equal(etcd_endpoints_check_tls(specs, count, NULL), ETCD_OK);
    etcd_endpoint_specs_free(specs, count);
}

static void test_null_list(void **state)
{
    (void)state;
    parse_bad(NULL, ETCD_E_INVALID_ARGUMENT, "NULL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_dns),
        cmocka_unit_test(test_unix),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_duplicates_dropped),
        cmocka_unit_test(test_empty_list_and_entries),
        cmocka_unit_test(test_bad_ports),
        cmocka_unit_test(test_bad_entry_in_list_is_named),
        cmocka_unit_test(test_bad_hosts),
        cmocka_unit_test(test_malformed_brackets),
        cmocka_unit_test(test_bad_schemes_and_paths),
        cmocka_unit_test(test_embedded_space_or_control),
        cmocka_unit_test(test_tls_not_configured),
        cmocka_unit_test(test_null_list),
    };
    return cmocka_run_group_tests_name("endpoint_parse", tests, NULL, NULL);
}
