/*
 * The compile-time version (etcdc/version.h), the loaded library's version (etcd_version(),
 * etcd_version_number()) and the project version meson was configured with
 * (EXPECTED_VERSION) must all agree.
 */
#include <etcdc/etcdc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef EXPECTED_VERSION
#error "build with -DEXPECTED_VERSION=\"MAJOR.MINOR.PATCH\""
#endif

static int failures;

static void check(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok" : "FAIL", what);
    if (!ok)
        failures++;
}

int main(void)
{
    printf("headers %s (0x%06x), library %s (0x%06x), project %s\n", ETCDC_VERSION_STRING,
           (unsigned)ETCDC_VERSION_NUMBER, etcd_version(), etcd_version_number(), EXPECTED_VERSION);

    check(etcd_version() != NULL && strcmp(etcd_version(), ETCDC_VERSION_STRING) == 0,
          "etcd_version() == ETCDC_VERSION_STRING");
    check(etcd_version_number() == (unsigned)ETCDC_VERSION_NUMBER,
          "etcd_version_number() == ETCDC_VERSION_NUMBER");
    check(strcmp(ETCDC_VERSION_STRING, EXPECTED_VERSION) == 0, "ETCDC_VERSION_STRING == project version");

    unsigned major, minor, patch;
    char rest;
    int n = sscanf(EXPECTED_VERSION, "%u.%u.%u%c", &major, &minor, &patch, &rest);
    check(n == 3, "project version is MAJOR.MINOR.PATCH");
    if (n == 3) {
        check(ETCDC_VERSION_MAJOR == major && ETCDC_VERSION_MINOR == minor && ETCDC_VERSION_PATCH == patch,
              "ETCDC_VERSION_MAJOR/MINOR/PATCH == project version");
        check(major < 256 && minor < 256 && patch < 256, "each version part fits in a byte");
        check(etcd_version_number() == ((major << 16) | (minor << 8) | patch),
              "etcd_version_number() == project version as 0xMMmmpp");
    }

    char built[32];
    snprintf(built, sizeof built, "%d.%d.%d", ETCDC_VERSION_MAJOR, ETCDC_VERSION_MINOR, ETCDC_VERSION_PATCH);
    check(strcmp(built, ETCDC_VERSION_STRING) == 0, "MAJOR.MINOR.PATCH spell ETCDC_VERSION_STRING");

    return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
