/* Endpoint lists from member lists. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "member_endpoints.h"

static bool serves_clients(const Etcdserverpb__Member *m)
{
    return m && !m->islearner && m->name && m->name[0];
}

etcd_code etcd_member_endpoints(const Etcdserverpb__MemberListResponse *r, char **out)
{
    *out = NULL;
    size_t len = 0;
    for (size_t i = 0; r && i < r->n_members; i++)
        if (serves_clients(r->members[i]))
            for (size_t j = 0; j < r->members[i]->n_clienturls; j++)
                if (r->members[i]->clienturls[j][0])
                    len += strlen(r->members[i]->clienturls[j]) + 1;
    if (len == 0)
        return ETCD_OK;
    char *list = malloc(len);
    if (!list)
        return ETCD_E_NOMEM;
    size_t at = 0;
    for (size_t i = 0; i < r->n_members; i++) {
        if (!serves_clients(r->members[i]))
            continue;
        for (size_t j = 0; j < r->members[i]->n_clienturls; j++) {
            const char *url = r->members[i]->clienturls[j];
            size_t n = strlen(url);
            if (!n)
                continue;
            if (at)
                list[at++] = ',';
            memcpy(list + at, url, n);
            at += n;
        }
    }
    list[at] = 0;
    *out = list;
    return ETCD_OK;
}
