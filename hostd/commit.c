// SPDX-License-Identifier: GPL-2.0-or-later
/* When the backup commits a checkpoint (see commit.h). */
#include <string.h>

#include "commit.h"

uint64_t commit_last(const struct logstore *log)
{
	return log->last_cut.n ? log->last_cut.ckpt_seq : 0;
}

void commit_reset(struct cutq *q)
{
	memset(q, 0, sizeof(*q));
}

/* Whether the log holds (or a cut covered) everything up to v. */
static gboolean covers(const struct logstore *log, const struct ftmb_vclock *v)
{
	struct ftmb_repl_vector durable;

	logstore_durable(log, &durable);
	for (uint16_t i = 0; i < durable.n; i++)
		if (v->in[i] > durable.vc.in[i] || v->pal[i] > durable.vc.pal[i])
			return FALSE;
	return TRUE;
}

static gboolean same_vectors(const uint64_t *in, const uint64_t *pal, const struct ftmb_vclock *v,
			     uint16_t n)
{
	return memcmp(in, v->in, n * sizeof(*in)) == 0 && memcmp(pal, v->pal, n * sizeof(*pal)) == 0;
}

static uint64_t newest(const struct cutq *q, const struct logstore *log)
{
	return q->n ? q->cut[q->n - 1].ckpt_seq : commit_last(log);
}

/* The cut a new one must not go behind: the newest pending, or the
 * committed one. */
static const struct ftmb_vclock *previous(const struct cutq *q, const struct logstore *log)
{
	static const struct ftmb_vclock zero;

	if (q->n)
		return &q->cut[q->n - 1].vc;
	return log->last_cut.n ? &log->last_cut.vc : &zero;
}

static int find(const struct cutq *q, uint64_t epoch);

/* A CUT the backup has seen: a reconnecting ftmb-vhost resends what it was
 * not sure had arrived. Committed or pushed out, it is covered; pending, it
 * must be the same. */
static gboolean seen(const struct cutq *q, const struct ftmb_repl_vector *cut, GError **error)
{
	int i = find(q, cut->ckpt_seq);

	if (i >= 0 && (q->cut[i].n != cut->n ||
		       memcmp(&q->cut[i].vc, &cut->vc, sizeof(cut->vc)) != 0))
		return hostd_error(error, FTMB_E_SEQ, "CUT of epoch %" G_GUINT64_FORMAT
				   " resent with other vectors", cut->ckpt_seq);
	return TRUE;
}

gboolean commit_add_cut(struct cutq *q, const struct logstore *log,
			const struct ftmb_repl_vector *cut, GError **error)
{
	if (cut->n != log->hello.n_threads)
		return hostd_error(error, FTMB_E_COUNT, "CUT for %u queues, instance %s has %u", cut->n,
				   log->hello.instance, log->hello.n_threads);
	if (cut->ckpt_seq == 0)
		return hostd_error(error, FTMB_E_SEQ, "CUT of epoch 0");
	if (cut->ckpt_seq <= newest(q, log))
		return seen(q, cut, error);
	for (uint16_t i = 0; i < cut->n; i++) {
		if (cut->vc.in[i] >= LOGSTORE_MAX_NUMBER || cut->vc.pal[i] >= LOGSTORE_MAX_NUMBER)
			return hostd_error(error, FTMB_E_RANGE, "CUT entry %u is absurdly large", i);
		if (cut->vc.in[i] < previous(q, log)->in[i] || cut->vc.pal[i] < previous(q, log)->pal[i])
			return hostd_error(error, FTMB_E_SEQ, "CUT of epoch %" G_GUINT64_FORMAT
					   ": entry %u goes back behind the previous cut",
					   cut->ckpt_seq, i);
	}
	if (q->n == COMMIT_MAX_PENDING) {
		memmove(q->cut, q->cut + 1, (q->n - 1) * sizeof(q->cut[0]));
		q->n--;
		q->dropped++;
	}
	q->cut[q->n++] = *cut;
	return TRUE;
}

static int find(const struct cutq *q, uint64_t epoch)
{
	for (unsigned int i = 0; i < q->n; i++)
		if (q->cut[i].ckpt_seq == epoch)
			return (int)i;
	return -1;
}

/* A checkpoint without a cut (its slot is zero) was taken before the
 * device ever stopped: only an empty log can go with it. */
static int check_no_cut(const struct logstore *log, GError **error)
{
	struct ftmb_repl_vector durable;
	struct ftmb_vclock zero = { 0 };

	logstore_durable(log, &durable);
	if (commit_last(log) == 0 && same_vectors(durable.vc.in, durable.vc.pal, &zero, durable.n))
		return COMMIT_SAME;
	hostd_error(error, FTMB_E_SEQ, "the checkpoint carries no cut, but the log of %s holds "
		    "inputs or PALs: is its ftmb-vhost running with cut=pause?", log->hello.instance);
	return -1;
}

int commit_check_checkpoint(const struct cutq *q, const struct logstore *log,
			    const struct ftmb_cut *cut, uint64_t *epoch, GError **error)
{
	uint16_t n = log->hello.n_threads;
	int i;

	if (cut->epoch == 0)
		return check_no_cut(log, error);
	if (cut->n != n || cut->generation != log->hello.generation) {
		hostd_error(error, FTMB_E_FIELD, "the checkpoint's cut is for %u queues of generation %"
			    G_GUINT64_FORMAT ", the log for %u of generation %" G_GUINT64_FORMAT,
			    cut->n, cut->generation, n, log->hello.generation);
		return -1;
	}
	if (cut->epoch == commit_last(log)) {
		if (same_vectors(cut->in, cut->pal, &log->last_cut.vc, n))
			return COMMIT_SAME;
		hostd_error(error, FTMB_E_FIELD, "the checkpoint's cut of epoch %" G_GUINT64_FORMAT
			    " differs from the one committed", cut->epoch);
		return -1;
	}
	if (cut->epoch < commit_last(log)) {
		hostd_error(error, FTMB_E_SEQ, "the checkpoint's cut of epoch %" G_GUINT64_FORMAT
			    " is older than the committed epoch %" G_GUINT64_FORMAT, cut->epoch,
			    commit_last(log));
		return -1;
	}
	i = find(q, cut->epoch);
	if (i < 0 && newest(q, log) > cut->epoch) {
		hostd_error(error, FTMB_E_SEQ, "the checkpoint's cut of epoch %" G_GUINT64_FORMAT
			    " was never sent by ftmb-vhost (its CUT frames are at epoch %"
			    G_GUINT64_FORMAT ")", cut->epoch, newest(q, log));
		return -1;
	}
	if (i < 0)
		return COMMIT_WAIT;
	if (!same_vectors(cut->in, cut->pal, &q->cut[i].vc, n)) {
		hostd_error(error, FTMB_E_FIELD, "the checkpoint's cut of epoch %" G_GUINT64_FORMAT
			    " differs from the CUT ftmb-vhost sent for it (input %" G_GUINT64_FORMAT
			    " vs %" G_GUINT64_FORMAT ", PAL %" G_GUINT64_FORMAT " vs %" G_GUINT64_FORMAT
			    " of queue/thread 0)", cut->epoch, cut->in[0], q->cut[i].vc.in[0],
			    cut->pal[0], q->cut[i].vc.pal[0]);
		return -1;
	}
	if (!covers(log, &q->cut[i].vc))
		return COMMIT_WAIT;
	*epoch = cut->epoch;
	return COMMIT_READY;
}

uint64_t commit_ready_without_checkpoint(const struct cutq *q, const struct logstore *log)
{
	for (unsigned int i = q->n; i-- > 0;)
		if (covers(log, &q->cut[i].vc))
			return q->cut[i].ckpt_seq;
	return 0;
}

gboolean commit_apply(struct cutq *q, struct logstore *log, uint64_t epoch, GError **error)
{
	int i = find(q, epoch);

	if (i < 0)
		return hostd_error(error, FTMB_E_SEQ, "no pending CUT of epoch %" G_GUINT64_FORMAT, epoch);
	if (!logstore_apply_cut(log, &q->cut[i], error))
		return FALSE;
	q->n -= (unsigned int)i + 1;
	memmove(q->cut, q->cut + i + 1, q->n * sizeof(q->cut[0]));
	return TRUE;
}
