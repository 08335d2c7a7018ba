/*
 * etcdc/etcdc.h - the whole etcdc API: a C client for etcd's v3 API.
 *
 * Start with client.h (connecting), kv.h (requests), op.h and txn.h (building requests),
 * response.h (reading answers), error.h (failures) and async.h (calls with callbacks).
 */
#ifndef ETCDC_ETCDC_H
#define ETCDC_ETCDC_H

#include <etcdc/common.h>
#include <etcdc/version.h>
#include <etcdc/error.h>
#include <etcdc/client.h>
#include <etcdc/op.h>
#include <etcdc/txn.h>
#include <etcdc/response.h>
#include <etcdc/kv.h>
#include <etcdc/async.h>
#include <etcdc/watch.h>
#include <etcdc/lease.h>

#endif /* ETCDC_ETCDC_H */
