/*
 * cmd_compaction.c - "compaction REV": discards the key-value history before REV.
 * Output (whatever the output format): "compacted revision REV".
 */
#include <string.h>

#include "ctl.h"
#include "gotext.h"

#define COMPACTED "etcdserver: mvcc: required revision has been compacted"

static bool physical, help;

static flag_spec *compaction_flags(void)
{
    static flag_spec f[] = {
        {"help", 'h', FLAG_BOOL, "false", "help for compaction", &help, false},
        {"physical", 0, FLAG_BOOL, "false", "'true' to wait for compaction to physically remove all old revisions",
         &physical, false},
        {NULL, 0, FLAG_BOOL, NULL, NULL, NULL, false},
    };
    return f;
}

/*
 * The library only sends revisions > 0. etcd refuses any revision at or below the last
 * compaction (-1 before the first one): a negative one always, and 0 once history was compacted,
 * which shows as revision 1 being unreadable. Revision 0 on a store never compacted is accepted
 * by etcd and changes nothing, so it is answered without sending anything.
 */
static int compact_nonpositive(ctl_session *s, int64_t rev)
{
    if (rev < 0)
        return ctl_fail(CTL_EXIT_ERROR, COMPACTED);
    etcd_op *probe = etcd_op_get("\0", 1);
    etcd_op_with_rev(probe, 1);
    etcd_op_with_count_only(probe);
    etcd_response *resp = NULL;
    int rc = ctl_send(s, probe, &resp);
    etcd_response_free(resp);
    etcd_op_free(probe);
    return rc;
}

static int run_compaction(ctl_globals *g, const ctl_strlist *args)
{
    if (args->n != 1)
        return ctl_fail(CTL_EXIT_BAD_ARGS, "compaction command needs 1 argument");
    int64_t rev;
    ctl_buf why = {0};
    if (!go_parse_int(args->items[0], args->lens[0], 10, &rev, &why)) {
        int rc = ctl_fail(CTL_EXIT_ERROR, "%s", buf_str(&why));
        buf_free(&why);
        return rc;
    }
    buf_free(&why);
    ctl_session s = {0};
    int rc = ctl_setup(g);
    if (rc == 0)
        rc = ctl_connect(g, true, &s);
    if (rc == 0 && rev <= 0) {
        rc = compact_nonpositive(&s, rev);
    } else if (rc == 0) {
        etcd_op *op = etcd_op_compact(rev);
        if (physical)
            etcd_op_with_physical(op);
        etcd_response *resp = NULL;
        rc = ctl_send(&s, op, &resp);
        etcd_response_free(resp);
        etcd_op_free(op);
    }
    if (rc == 0)
        printf("compacted revision %lld\n", (long long)rev);
    ctl_close(&s);
    return rc;
}

ctl_command ctl_cmd_compaction = {
    .name = "compaction",
    .use = "compaction [options] <revision>",
    .short_desc = "Compacts the event history in etcd",
    .flags = compaction_flags,
    .run = run_compaction,
    .parent = &ctl_cmd_root,
};
