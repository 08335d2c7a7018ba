/* The endpoints a member list offers: the client URLs of the members that serve clients. Pure. */
#ifndef ETCDC_MEMBER_ENDPOINTS_H
#define ETCDC_MEMBER_ENDPOINTS_H

#include <etcdc/error.h>

#include "rpc.pb-c.h"

/* The client URLs of every started voting member, comma-separated, into *out (malloc'd; NULL
 * when no member qualifies, so that the caller keeps its endpoints). Learners are left out,
 * since they refuse everything but serializable reads (as clientv3's Sync does), and so are
 * members without a name: added but not started yet. ETCD_E_NOMEM when out of memory. */
etcd_code etcd_member_endpoints(const Etcdserverpb__MemberListResponse *r, char **out);

#endif
