/* Messages that arrive in several slices are put together in the stream's own buffer
 * (lib/transport/decode.c), reused from message to message and dropped when it grew large. */
#include <stdlib.h>

#include "unit.h"

#include "transport/decode.h"

/* Linked with --wrap=realloc: fails the next call when set. */
static bool fail_realloc;
void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n)
{
    if (fail_realloc) {
        fail_realloc = false;
        return NULL;
    }
    return __real_realloc(p, n);
}

/* Parts longer than gRPC's inline slices, which a slice buffer would merge into one. */
static grpc_byte_buffer *buffer_of(const char *const *parts, size_t n)
{
    grpc_slice s[8];
    for (size_t i = 0; i < n; i++)
        s[i] = grpc_slice_from_copied_string(parts[i]);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(s, n);
    for (size_t i = 0; i < n; i++)
        grpc_slice_unref(s[i]);
    return bb;
}

static void test_slices_are_put_together_in_the_kept_buffer(void **state)
{
    (void)state;
    etcd_flat flat = {0};
    const char *parts[] = {"a watch response of many events, ", "which the server sent in frames, ",
                           "arrives in three slices"};
    grpc_byte_buffer *bb = buffer_of(parts, 3);
    grpc_slice hold;
    const uint8_t *data;
    size_t len;
    assert_true(etcd_byte_buffer_flatten(bb, &flat, &hold, &data, &len));
    const char *whole = "a watch response of many events, which the server sent in frames, arrives in three slices";
    assert_int_equal(len, strlen(whole));
    assert_memory_equal(data, whole, len);
    assert_ptr_equal(data, flat.buf);
    grpc_slice_unref(hold);
    grpc_byte_buffer_destroy(bb);
    /* The next message reuses the buffer. */
    uint8_t *kept = flat.buf;
    const char *two[] = {"0123456789abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"};
    bb = buffer_of(two, 2);
    assert_true(etcd_byte_buffer_flatten(bb, &flat, &hold, &data, &len));
    assert_ptr_equal(flat.buf, kept);
    assert_int_equal(len, 72);
    assert_memory_equal(data, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 72);
    grpc_slice_unref(hold);
    grpc_byte_buffer_destroy(bb);
    etcd_flat_trim(&flat);
    assert_ptr_equal(flat.buf, kept); /* small: kept */
    etcd_flat_free(&flat);
    assert_null(flat.buf);
}

static void test_one_slice_is_read_in_place(void **state)
{
    (void)state;
    etcd_flat flat = {0};
    const char *one[] = {"a single slice, long enough not to be inlined"};
    grpc_byte_buffer *bb = buffer_of(one, 1);
    grpc_slice hold;
    const uint8_t *data;
    size_t len;
    assert_true(etcd_byte_buffer_flatten(bb, &flat, &hold, &data, &len));
    assert_null(flat.buf);
    assert_ptr_equal(data, GRPC_SLICE_START_PTR(hold));
    assert_memory_equal(data, "a single slice", 14);
    grpc_slice_unref(hold);
    grpc_byte_buffer_destroy(bb);
}

static void test_a_large_buffer_is_dropped_after_its_message(void **state)
{
    (void)state;
    etcd_flat flat = {0};
    size_t half = 3u << 20;
    char *big = malloc(half + 1);
    memset(big, 'x', half);
    big[half] = '\0';
    const char *parts[] = {big, big};
    grpc_byte_buffer *bb = buffer_of(parts, 2);
    grpc_slice hold;
    const uint8_t *data;
    size_t len;
    assert_true(etcd_byte_buffer_flatten(bb, &flat, &hold, &data, &len));
    assert_int_equal(len, 2 * half);
    assert_int_equal(data[2 * half - 1], 'x');
    grpc_slice_unref(hold);
    grpc_byte_buffer_destroy(bb);
    etcd_flat_trim(&flat);
    assert_null(flat.buf);
    assert_int_equal(flat.cap, 0);
    free(big);
}

static void test_the_put_together_buffer_can_be_taken(void **state)
{
    (void)state;
    etcd_flat flat = {0};
    const char *parts[] = {"a long batch of events, put together ", "from the slices it came in"};
    grpc_byte_buffer *bb = buffer_of(parts, 2);
    grpc_slice hold;
    const uint8_t *data;
    size_t len;
    assert_true(etcd_byte_buffer_flatten(bb, &flat, &hold, &data, &len));
    uint8_t *taken = etcd_flat_take(&flat, data, len);
    /* The caller owns the bytes as they were; the stream starts a new buffer next time. */
    assert_ptr_equal(taken, data);
    assert_null(flat.buf);
    assert_int_equal(flat.cap, 0);
    assert_memory_equal(taken, "a long batch of events, put together from", 41);
    grpc_slice_unref(hold);
    grpc_byte_buffer_destroy(bb);
    free(taken);
    /* A slice's bytes are borrowed: nothing to take. */
    const char *one[] = {"a single slice, long enough not to be inlined"};
    bb = buffer_of(one, 1);
    assert_true(etcd_byte_buffer_flatten(bb, &flat, &hold, &data, &len));
    assert_null(etcd_flat_take(&flat, data, len));
    grpc_slice_unref(hold);
    grpc_byte_buffer_destroy(bb);
}

static void test_out_of_memory_is_reported_not_skipped(void **state)
{
    (void)state;
    etcd_flat flat = {0};
    const char *parts[] = {"a message in two slices, long enough ", "that neither is inlined by gRPC"};
    grpc_byte_buffer *bb = buffer_of(parts, 2);
    grpc_slice hold;
    const uint8_t *data = NULL;
    size_t len = 0;
    fail_realloc = true;
    /* The stream ends on false (its owner resumes): a message is never silently dropped. */
    assert_false(etcd_byte_buffer_flatten(bb, &flat, &hold, &data, &len));
    assert_null(flat.buf);
    assert_true(etcd_byte_buffer_flatten(bb, &flat, &hold, &data, &len));
    assert_int_equal(len, strlen(parts[0]) + strlen(parts[1]));
    grpc_slice_unref(hold);
    grpc_byte_buffer_destroy(bb);
    etcd_flat_free(&flat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slices_are_put_together_in_the_kept_buffer),
        cmocka_unit_test(test_one_slice_is_read_in_place),
        cmocka_unit_test(test_a_large_buffer_is_dropped_after_its_message),
        cmocka_unit_test(test_the_put_together_buffer_can_be_taken),
        cmocka_unit_test(test_out_of_memory_is_reported_not_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
