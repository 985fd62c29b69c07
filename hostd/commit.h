/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * When the backup commits a checkpoint (ftmb/repl.h, "Checkpoints").
 *
 * ftmb-vhost sends each cut as a CUT frame (ckpt_seq = its epoch) on the
 * instance's log stream. The backup keeps them pending here, and commits
 * epoch E only when
 *   - its log covers E's cut (every input and PAL up to it is held), and
 *   - for a VM instance, a whole, verified checkpoint has arrived whose
 *     region carries exactly that cut (epoch, generation and vectors).
 * Committing stores the checkpoint (ckpt_store), truncates the log at the
 * cut (logstore_apply_cut: the log's last cut is then the committed one),
 * and answers COMMITTED(E). So the store and the log always agree: the
 * stored checkpoint is the state at the log's last cut.
 *
 * The cut a checkpoint carries is read from guest memory, which the guest
 * may have scribbled on while it ran; comparing it with ftmb-vhost's CUT
 * frame is what makes it trustworthy. A checkpoint whose cut does not
 * check out is refused: its stream is closed, the store keeps the last
 * committed checkpoint, and the primary starts over with a full one.
 */
#ifndef HOSTD_COMMIT_H
#define HOSTD_COMMIT_H

#include <glib.h>
#include <stdint.h>

#include "ftmb/region.h"
#include "logstore.h"

/* CUT frames kept beyond the last commit: a bare stop and cont of the VM
 * makes a cut that no checkpoint carries; those are dropped oldest first. */
#define COMMIT_MAX_PENDING 64u

struct cutq {
	struct ftmb_repl_vector cut[COMMIT_MAX_PENDING]; /* ascending epochs */
	unsigned int n;
	uint64_t dropped; /* pending cuts pushed out by newer ones */
};

enum commit_verdict {
	COMMIT_READY = 1, /* commit the checkpoint with commit_apply(epoch) */
	COMMIT_WAIT = 2,  /* its CUT frame has not arrived, or the log does not cover it yet */
	COMMIT_SAME = 3,  /* it carries the committed cut again (no cut since): store it,
			   * nothing new to commit */
};

/* The epoch committed last (the log's last cut), 0 before the first. */
uint64_t commit_last(const struct logstore *log);

/* A CUT frame from the instance's log stream: checked against the log
 * (queues, range, epochs and vectors increasing) and kept; one already seen
 * (resent after a reconnection) is ignored if it is the same. FALSE with
 * error set when it is invalid (the log stream is then closed). */
gboolean commit_add_cut(struct cutq *q, const struct logstore *log,
			const struct ftmb_repl_vector *cut, GError **error);

/* Judges the cut read from a verified checkpoint's region (its form
 * already validated by host_region_read_cut): returns COMMIT_READY with
 * *epoch set, COMMIT_WAIT or COMMIT_SAME, or -1 with error set when the
 * checkpoint must be refused. */
int commit_check_checkpoint(const struct cutq *q, const struct logstore *log,
			    const struct ftmb_cut *cut, uint64_t *epoch, GError **error);

/* The newest pending epoch whose cut the log covers, for an instance
 * without a VM (its CUT frames are the checkpoints), or 0. */
uint64_t commit_ready_without_checkpoint(const struct cutq *q, const struct logstore *log);

/* Commits epoch (a pending CUT): truncates the log at its cut and drops it
 * and every older pending cut. FALSE with error set if the log refuses. */
gboolean commit_apply(struct cutq *q, struct logstore *log, uint64_t epoch, GError **error);

void commit_reset(struct cutq *q);

#endif
