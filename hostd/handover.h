/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Planned failover (ftmbctl failover): a VM instance's primary hands it to
 * its backup without waiting for a failure timeout.
 *
 * On the primary:
 *   1. the checkpoint timer stops, and the checkpoint in flight, if any,
 *      completes (a checkpoint resumes the vCPUs it stopped);
 *   2. QMP stop: the guest produces nothing more, so nothing more leaves;
 *   3. HANDOVER(REQUEST) to the backup on the heartbeat connection;
 *   4. ACCEPTED: QEMU is killed, and the instance is the backup's; REFUSED,
 *      no answer within HANDOVER_TIMEOUT_MS, or a failed step: the VM runs
 *      again (QMP cont) with its checkpoints, as before the request.
 * On the backup, a REQUEST from the instance's configured primary for an
 * instance whose log it receives (and, for a VM, with a stored checkpoint)
 * is ACCEPTED and the instance fails over exactly as on a failure
 * (failover.c): the fence, the restore of the last committed checkpoint,
 * the replay of the log after its cut. Anything else is REFUSED.
 */
#ifndef HOSTD_HANDOVER_H
#define HOSTD_HANDOVER_H

#include <glib.h>

#include "ftmb/repl.h"

struct handover;
struct instance;
struct peer;
struct session;

#define HANDOVER_TIMEOUT_MS 5000

/* error NULL: the backup took the instance over; paused_ms is how long the
 * VM had been stopped when it said so. */
typedef void (*handover_done_fn)(struct instance *inst, const char *error, double paused_ms,
				 gpointer data);

/* Primary: starts handing inst over to its backup. NULL, and done is called
 * later; or why it cannot start (done is then never called). */
const char *handover_start(struct instance *inst, handover_done_fn done, gpointer data);

/* Primary: ends a handover under way without touching the VM (the daemon
 * stops); done is called with why. */
void handover_abort(struct handover *ho, const char *why);

/* Primary: a HANDOVER frame on the heartbeat connection to backup p. */
gboolean handover_on_answer(struct peer *p, const struct ftmb_repl_frame *f, GError **error);

/* Backup: a HANDOVER frame on a primary hostd's session s. */
gboolean handover_on_request(struct session *s, const struct ftmb_repl_frame *f, GError **error);

#endif
