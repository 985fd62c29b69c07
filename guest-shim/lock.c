// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Shared variables: the lock wrapper that logs the order of accesses (a PAL
 * per access) and carries dependency vectors between threads; in replay, the
 * wait for each logged access's turn.
 */
#include <stdlib.h>

#include "shim.h"

struct ftmb_var *ftmb_var(struct ftmb *f, uint32_t id)
{
	struct ftmb_var *v;

	if (id >= f->geo.n_vars)
		return NULL;
	pthread_mutex_lock(&f->vars_lock);
	v = f->vars[id];
	if (!v) {
		v = aligned_alloc(64, sizeof(*v));
		if (v) {
			*v = (struct ftmb_var){ .id = id };
			pthread_mutex_init(&v->mutex, NULL);
			f->vars[id] = v;
		}
	}
	pthread_mutex_unlock(&f->vars_lock);
	return v;
}

static uint64_t var_seq(const struct ftmb_var *v)
{
	return __atomic_load_n(&v->seq, __ATOMIC_ACQUIRE);
}

/* Replay: wait until this access is next in v's logged order; a thread past
 * its log waits until every logged access to v has happened (its horizon),
 * so that it cannot take a slot a logged access still needs. */
static void wait_for_turn(struct ftmb_thread *th, struct ftmb_var *v)
{
	const struct ftmb_record *rec = shim_replay_peek(th);
	unsigned spins = 0;

	if (rec && (rec->type != FTMB_REC_PAL || rec->var != v->id)) {
		shim_replay_diverged(th, rec, "a lock");
		rec = NULL;
	}
	if (rec) {
		while (var_seq(v) + 1 < rec->seq)
			shim_backoff(&spins);
		return;
	}
	while (var_seq(v) < th->f->horizons[v->id])
		shim_backoff(&spins);
}

/* Under v's mutex: count the access, log it, and exchange vectors. */
static void log_access(struct ftmb_thread *th, struct ftmb_var *v)
{
	struct ftmb_record rec = { .type = FTMB_REC_PAL, .var = v->id, .seq = v->seq + 1 };
	uint32_t n = th->f->geo.n_threads;

	__atomic_store_n(&v->seq, rec.seq, __ATOMIC_RELEASE);
	shim_log_event(th, &rec);
	ftmb_vc_merge(&th->vc, &v->vc, n);
	ftmb_vc_merge(&v->vc, &th->vc, n);
}

void ftmb_lock(struct ftmb_thread *th, struct ftmb_var *v)
{
	enum ftmb_mode mode = shim_mode(th->f);

	if (mode == FTMB_MODE_REPLAY)
		wait_for_turn(th, v);
	pthread_mutex_lock(&v->mutex);
	if (mode == FTMB_MODE_OFF)
		return;
	/* free as wait_for_turn left it: it may have found a reopened ring */
	if (mode == FTMB_MODE_REPLAY && !th->free) {
		if (shim_replay_peek(th)->seq != v->seq + 1)
			shim_replay_diverged(th, shim_replay_peek(th), "a lock out of turn");
		else
			shim_replay_pop(th);
	}
	log_access(th, v);
}

void ftmb_unlock(struct ftmb_thread *th, struct ftmb_var *v)
{
	(void)th;
	pthread_mutex_unlock(&v->mutex);
}
