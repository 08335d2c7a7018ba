/* output.c - choosing the printer for a response, and writing results out. */
#include "ctl.h"

void ctl_flush_out(ctl_buf *out)
{
    buf_write(out, stdout);
    buf_reset(out);
}

int ctl_display(const ctl_globals *g, const etcd_response *resp, bool value_only)
{
    ctl_buf out = {0};
    switch (g->format) {
    case CTL_FORMAT_SIMPLE:
        ctl_print_simple(&out, resp, g->hex, value_only);
        break;
    case CTL_FORMAT_JSON:
        ctl_print_json(&out, resp);
        break;
    case CTL_FORMAT_FIELDS:
        ctl_print_fields(&out, resp);
        break;
    case CTL_FORMAT_PROTOBUF:
        ctl_print_protobuf(&out, resp);
        break;
    case CTL_FORMAT_TABLE:
        /* As etcdctl: the request is done, but a table cannot show a key-value response. */
        return ctl_fail(CTL_EXIT_BAD_FEATURE, "table not supported as output format");
    }
    ctl_flush_out(&out);
    buf_free(&out);
    return 0;
}

int ctl_display_lease(const ctl_globals *g, const etcd_response *resp, int64_t id, bool keys)
{
    ctl_buf out = {0}, err = {0};
    int rc = 0;
    switch (g->format) {
    case CTL_FORMAT_SIMPLE:
        ctl_print_lease_simple(&out, resp, id, keys);
        break;
    case CTL_FORMAT_JSON:
        ctl_print_lease_json(&out, resp);
        break;
    case CTL_FORMAT_FIELDS:
        ctl_print_lease_fields(&out, resp);
        break;
    case CTL_FORMAT_PROTOBUF:
        if (!ctl_print_lease_protobuf(&out, resp, &err))
            rc = ctl_fail_buf(CTL_EXIT_BAD_FEATURE, &err);
        break;
    case CTL_FORMAT_TABLE:
        rc = ctl_fail(CTL_EXIT_BAD_FEATURE, "table not supported as output format");
        break;
    }
    ctl_flush_out(&out);
    fflush(stdout);
    buf_free(&out);
    buf_free(&err);
    return rc;
}

int ctl_display_watch(const ctl_globals *g, const ctl_watch_view *v, ctl_buf *out)
{
    switch (g->format) {
    case CTL_FORMAT_SIMPLE:
        ctl_print_watch_simple(out, v, g->hex);
        break;
    case CTL_FORMAT_JSON:
        ctl_print_watch_json(out, v);
        break;
    case CTL_FORMAT_FIELDS:
        ctl_print_watch_fields(out, v);
        break;
    case CTL_FORMAT_PROTOBUF:
        ctl_print_watch_protobuf(out, v);
        break;
    case CTL_FORMAT_TABLE:
        return ctl_fail(CTL_EXIT_BAD_FEATURE, "table not supported as output format");
    }
    return 0;
}
