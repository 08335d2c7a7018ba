/* etcd_prefix_range_end: the smallest key greater than every key with the given prefix. */
#include <stdlib.h>

#include "unit.h"

#include <etcdc/op.h>

/* Runs the function on an exactly-sized heap copy of the prefix and an output buffer of
 * prefix_len bytes (at least 1), so ASan catches any read or write past the documented bounds. */
static void check(const char *prefix, size_t len, const char *want, size_t want_len)
{
    uint8_t *in = malloc(len ? len : 1);
    uint8_t *out = malloc(len ? len : 1);
    assert_non_null(in);
    assert_non_null(out);
    if (len)
        memcpy(in, prefix, len);
    memset(out, 0xAA, len ? len : 1);
    size_t n = etcd_prefix_range_end(in, len, out);
    assert_int_equal(n, want_len);
    assert_memory_equal(out, want, want_len);
    /* The input is left alone. */
    if (len)
        assert_memory_equal(in, prefix, len);
    free(in);
    free(out);
}

static void test_simple_increment(void **state)
{
    (void)state;
    check("a", 1, "b", 1);
    check("abc", 3, "abd", 3);
    check("/registry/", 10, "/registry0", 10);
    check("\xfe", 1, "\xff", 1);
}

static void test_trailing_ff_dropped(void **state)
{
    (void)state;
    check("a\xff", 2, "b", 1);
    check("ab\xff\xff", 4, "ac", 2);
    check("\x01\xff\xff\xff", 4, "\x02", 1);
}

static void test_only_ff_reads_to_end(void **state)
{
    (void)state;
    check("\xff", 1, "\0", 1);
    check("\xff\xff", 2, "\0", 1);
    check("\xff\xff\xff\xff\xff", 5, "\0", 1);
}

static void test_empty_prefix(void **state)
{
    (void)state;
    uint8_t out[4] = {0xAA, 0xAA, 0xAA, 0xAA};
    assert_int_equal(etcd_prefix_range_end("", 0, out), 1);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 0xAA); /* one byte written, no more */
    assert_int_equal(etcd_prefix_range_end(NULL, 0, out), 1);
    assert_int_equal(out[0], 0);
}

/* 0xff bytes before the last non-0xff byte are kept as they are. */
static void test_middle_ff_kept(void **state)
{
    (void)state;
    check("a\xff" "b", 3, "a\xff" "c", 3);
    check("\xff" "a", 2, "\xff" "b", 2);
    check("\xff\xfe\xff", 3, "\xff\xff", 2);
    check("a\xff" "b\xff", 4, "a\xff" "c", 3);
}

/* NUL is an ordinary byte: copied in the middle, incremented at the end. */
static void test_nul_bytes(void **state)
{
    (void)state;
    check("\0", 1, "\x01", 1);
    check("a\0", 2, "a\x01", 2);
    check("\0\0b", 3, "\0\0c", 3);
    check("a\0\xff", 3, "a\x01", 2);
    check("\0\xff", 2, "\x01", 1);
}

/* Every single-byte prefix below 0xff maps to the next byte. */
static void test_all_single_bytes(void **state)
{
    (void)state;
    for (int b = 0; b < 0xff; b++) {
        uint8_t in = (uint8_t)b, out = 0;
        assert_int_equal(etcd_prefix_range_end(&in, 1, &out), 1);
        assert_int_equal(out, b + 1);
    }
}

/* The end is strictly greater than the prefix and than any key that extends it. */
static void test_end_bounds_extensions(void **state)
{
    (void)state;
    const uint8_t prefix[] = {'k', 0x00, 0xff, 0x7f, 0xff};
    uint8_t end[sizeof prefix];
    size_t n = etcd_prefix_range_end(prefix, sizeof prefix, end);
    uint8_t longest[sizeof prefix + 3];
    memcpy(longest, prefix, sizeof prefix);
    memset(longest + sizeof prefix, 0xff, 3);
    size_t m = n < sizeof longest ? n : sizeof longest;
    int c = memcmp(longest, end, m);
    assert_true(c < 0 || (c == 0 && sizeof longest < n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_increment),
        cmocka_unit_test(test_trailing_ff_dropped),
        cmocka_unit_test(test_only_ff_reads_to_end),
        cmocka_unit_test(test_empty_prefix),
        cmocka_unit_test(test_middle_ff_kept),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_all_single_bytes),
        cmocka_unit_test(test_end_bounds_extensions),
    };
    return cmocka_run_group_tests_name("prefix_range_end", tests, NULL, NULL);
}
