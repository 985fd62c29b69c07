// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Frames in and out: input tags feed the dependency vector, output tags carry
 * it to the host's output logger.
 *
 * Inputs lost inside the guest. The host logs every input it hands to a
 * queue, and a replica is fed all of them; but a driver may drop some before
 * the thread sees them (a full or flushed ring, a frame it cannot take). A
 * replica processing those would pass through states the primary never
 * had. So a jump in the input numbers of the thread's own queue is logged
 * as a SKIP, before anything the thread does with the frame after the gap,
 * and in replay the inputs a SKIP names are dropped here: by the time the
 * first of them arrives, the replica has redone every event before the
 * SKIP, so the SKIP is the next record of its log.
 */
#include "ftmb/tag.h"
#include "shim.h"

/* Replay: whether the log says the primary never saw input seq of this
 * thread's queue (its next record is a SKIP whose range holds seq). */
static bool skipped_by_log(struct ftmb_thread *th, uint64_t seq)
{
	const struct ftmb_record *rec;

	if (shim_mode(th->f) != FTMB_MODE_REPLAY)
		return false;
	rec = shim_replay_peek(th);
	return rec && rec->type == FTMB_REC_SKIP && rec->var == th->idx && rec->seq <= seq &&
	       seq - rec->seq < rec->value;
}

/* Inputs in_seq + 1 .. seq - 1 never reached the thread: log the SKIP (in
 * replay, the logged SKIP must be this very one). */
static void log_gap(struct ftmb_thread *th, uint64_t seq)
{
	struct ftmb_record rec = { .type = FTMB_REC_SKIP, .var = th->idx, .seq = th->in_seq + 1,
				   .value = seq - th->in_seq - 1 };

	if (shim_mode(th->f) == FTMB_MODE_REPLAY) {
		const struct ftmb_record *logged = shim_replay_peek(th);

		if (logged && (logged->type != FTMB_REC_SKIP || logged->var != rec.var ||
			       logged->seq != rec.seq || logged->value != rec.value))
			shim_replay_diverged(th, logged, "a skip of inputs");
		else if (logged)
			shim_replay_pop(th);
	}
	shim_log_event(th, &rec);
	th->skipped += rec.value;
}

int ftmb_rx(struct ftmb_thread *th, const uint8_t *frame, size_t len)
{
	struct ftmb_in_tag tag;
	int err;

	if (shim_mode(th->f) == FTMB_MODE_OFF)
		return (int)len;
	err = ftmb_in_tag_parse(frame, len, &tag);
	if (err)
		return err;
	if (tag.queue >= th->f->geo.n_threads || tag.seq == 0 || tag.seq >= FTMB_SKIP_LIMIT)
		return FTMB_E_RANGE;
	if (tag.queue == th->idx) {
		if (skipped_by_log(th, tag.seq))
			return FTMB_E_SKIPPED;
		if (tag.seq > th->in_seq + 1)
			log_gap(th, tag.seq);
		if (tag.seq > th->in_seq)
			th->in_seq = tag.seq;
	}
	if (tag.seq > th->vc.in[tag.queue])
		th->vc.in[tag.queue] = tag.seq;
	return (int)(len - FTMB_IN_TAG_LEN);
}

int ftmb_tx(struct ftmb_thread *th, uint8_t *frame, size_t len, size_t room)
{
	int n;

	if (shim_mode(th->f) == FTMB_MODE_OFF)
		return (int)len;
	n = ftmb_out_tag_append(frame, len, room, (uint16_t)th->idx, th->out_seq + 1, &th->vc,
				th->f->geo.n_threads);
	if (n > 0)
		th->out_seq++;
	return n;
}
