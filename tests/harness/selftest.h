/* The harness self-tests' one assertion: report the failed condition and keep going, so a run
 * lists every broken check; main() exits non-zero when `failures` is not 0. */
#ifndef ETCDC_SELFTEST_H
#define ETCDC_SELFTEST_H

#include <stdio.h>

static int failures;

#define CHECK(cond)                                                                                            \
    do {                                                                                                       \
        if (!(cond)) {                                                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                           \
            failures++;                                                                                        \
        }                                                                                                      \
    } while (0)

#endif
