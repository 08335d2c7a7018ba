/* Auto-sync: re-reading the member list at an interval and using its client URLs as endpoints. */
#ifndef ETCDC_AUTOSYNC_H
#define ETCDC_AUTOSYNC_H

#include "client_internal.h"

/* Starts the sync thread when the config asks for auto-sync. */
etcd_code etcd_autosync_start(etcd_client *c, etcd_error **err);
/* Stops and joins it (no-op when not started). Call with c->closing already set. */
void etcd_autosync_stop(etcd_client *c);
/* One sync now: MemberList, then set_endpoints when the list changed. */
etcd_code etcd_autosync_once(etcd_client *c, etcd_error **err);

#endif
