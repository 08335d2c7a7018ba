/* The loaded library's version. */
#include <etcdc/version.h>

const char *etcd_version(void)
{
    return ETCDC_VERSION_STRING;
}

unsigned etcd_version_number(void)
{
    return ETCDC_VERSION_NUMBER;
}
