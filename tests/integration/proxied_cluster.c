/* The failover tests' cluster and its proxies (proxied_cluster.h). */
#include <string.h>

#include "proxied_cluster.h"

fp_proxy *pc_proxy[PC_MEMBERS];
uint64_t pc_member_id[PC_MEMBERS];
char pc_proxy_list[256];

/* gRPC keepalive pings every 500 ms from the clients under test are allowed, not refused. */
static const char *const etcd_extra[] = {"--grpc-keepalive-min-time=500ms", NULL};

int pc_setup(void **state)
{
    (void)state;
    eh_opts opts = {.members = PC_MEMBERS, .heartbeat_ms = 50, .election_ms = 500, .extra_args = etcd_extra};
    itest_cluster = itest_start(&opts);
    if (!itest_cluster)
        return -1;
    pc_proxy_list[0] = 0;
    for (int i = 0; i < PC_MEMBERS; i++) {
        if (fp_start(eh_member_client_port(itest_cluster, i), &pc_proxy[i]) != 0)
            return -1;
        if (i)
            strcat(pc_proxy_list, ",");
        strcat(pc_proxy_list, fp_endpoint(pc_proxy[i]));
    }
    return 0;
}

int pc_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < PC_MEMBERS; i++)
        fp_stop(pc_proxy[i]);
    eh_cluster_stop(itest_cluster);
    return 0;
}

/* Each member's ID, read from a response it served itself. */
static int learn_member_ids(void)
{
    for (int i = 0; i < PC_MEMBERS; i++) {
        etcd_client *c = itest_client(eh_member_endpoint(itest_cluster, i));
        etcd_op *op = etcd_op_get("id", 2);
        etcd_op_with_serializable(op);
        etcd_response *r = NULL;
        etcd_error *err = NULL;
        etcd_code rc = etcd_kv_do(etcd_client_kv(c), op, &r, &err);
        if (rc == ETCD_OK)
            pc_member_id[i] = etcd_response_member_id(r);
        else
            fprintf(stderr, "member %d: %s\n", i, etcd_error_message(err));
        etcd_response_free(r);
        etcd_error_free(err);
        etcd_op_free(op);
        etcd_client_free(c);
        if (rc != ETCD_OK)
            return -1;
    }
    return 0;
}

int pc_whole_cluster(void **state)
{
    (void)state;
    for (int i = 0; i < PC_MEMBERS; i++) {
        fp_set_mode(pc_proxy[i], FP_PASS);
        if (eh_member_pid(itest_cluster, i) < 0 && eh_member_restart(itest_cluster, i) != 0)
            return -1;
    }
    if (eh_cluster_wait_ready(itest_cluster, 30000) != 0)
        return -1;
    return pc_member_id[0] == 0 ? learn_member_ids() : 0;
}

int pc_member_index(uint64_t id)
{
    for (int i = 0; i < PC_MEMBERS; i++)
        if (pc_member_id[i] == id)
            return i;
    return -1;
}

int pc_member_known(uint64_t id)
{
    int m = pc_member_index(id);
    if (m < 0)
        fail_msg("no member has ID %llx", (unsigned long long)id);
    return m;
}
