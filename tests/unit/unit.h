/* Shared includes and small assertions for the unit tests. */
#ifndef ETCDC_TESTS_UNIT_H
#define ETCDC_TESTS_UNIT_H

/* cmocka.h needs these before it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

/* `hay` (a C string) contains `needle`. Prints both on failure. */
#define assert_contains(hay, needle)                                                                          \
    do {                                                                                                      \
        const char *hay_ = (hay);                                                                             \
        assert_non_null(hay_);                                                                                \
        if (!strstr(hay_, (needle)))                                                                          \
            fail_msg("\"%s\" does not contain \"%s\"", hay_, (needle));                                       \
    } while (0)

/* A protobuf bytes field holds exactly `len` bytes equal to `data`. */
#define assert_bytes(field, want, want_len)                                                                    \
    do {                                                                                                      \
        const ProtobufCBinaryData bytes_ = (field);                                                           \
        const size_t want_len_ = (want_len);                                                                  \
        assert_int_equal(bytes_.len, want_len_);                                                              \
        if (want_len_ > 0)                                                                                    \
            assert_memory_equal(bytes_.data, (want), want_len_);                                              \
    } while (0)

#endif
