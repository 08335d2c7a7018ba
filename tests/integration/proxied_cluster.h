/*
 * The failover tests' cluster: 3 members with short heartbeat and election timeouts, so that
 * elections are quick, and a fault proxy in front of each member's client port. The client under
 * test reaches the members through the proxies (pc_proxy_list); writers and checks talk to the
 * members directly, so a proxy fault cuts off the client under test alone.
 */
#ifndef ETCDC_PROXIED_CLUSTER_H
#define ETCDC_PROXIED_CLUSTER_H

#include <stdint.h>

#include "fault_proxy.h"
#include "itest.h"

#define PC_MEMBERS 3

extern fp_proxy *pc_proxy[PC_MEMBERS];
extern uint64_t pc_member_id[PC_MEMBERS];  /* learnt by the first pc_whole_cluster() */
extern char pc_proxy_list[256];             /* the proxies' endpoints, comma-separated */

/* cmocka group setup and teardown: start and stop the members and their proxies. */
int pc_setup(void **state);
int pc_teardown(void **state);
/* cmocka per-test setup: every proxy passing, every member running, the cluster ready. */
int pc_whole_cluster(void **state);
/* The index of the member with this ID; -1 when none has it. */
int pc_member_index(uint64_t id);
/* The same from the test's own thread, where an unknown ID fails the test. */
int pc_member_known(uint64_t id);

#endif
