/* watch_exec.h - running a command per watch event (see watch_exec.c). */
#ifndef ETCDCCTL_WATCH_EXEC_H
#define ETCDCCTL_WATCH_EXEC_H

#include "ctl.h"

/* Runs cmd (program and arguments) once per event of the batch, in order. When one fails, says
 * so on stderr as etcdctl does and ends the process with status 1, as etcdctl does. */
void watch_exec_events(const ctl_strlist *cmd, const etcd_response *resp);

#endif /* ETCDCCTL_WATCH_EXEC_H */
