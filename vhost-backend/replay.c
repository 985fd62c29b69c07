// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A replica's first phase: the guest (restored from an empty checkpoint)
 * gets every logged input again, on the same RX queue, in the same order,
 * with the same sequence numbers, and each thread's replay ring carries its
 * logged records so that libftmb repeats every shared access in the logged
 * order. External input waits until the whole log is fed; then the replica
 * is live; once the guest has also reproduced every logged record (complete),
 * the region goes to mode record: the replica is a primary.
 *
 * A replica of a VM attaches to the region its checkpoint restored. If
 * that checkpoint was taken of a replica (re-protection), its replay rings
 * are where that replay left them and its guest threads ran free: the
 * rings are taken over and reopened (host_region_resume_replay), and
 * libftmb follows them again.
 *
 * replay_order=off (debug only, the negative control) formats the region in
 * FTMB_MODE_REPLAY_UNORDERED: libftmb then ignores the replay rings, so no
 * record is pushed and every thread runs free from the start; the inputs
 * are fed exactly as in an ordered replay.
 */
#include <inttypes.h>
#include <stdlib.h>

#include <rte_mbuf.h>

#include "datapath.h"
#include "vhost_log.h"

#define PROGRESS_PERIOD_NS 250000000ull
#define DIVERGENCES_LOGGED 10u

void datapath_replay_begin(struct instance *inst)
{
	struct replay_feed *rf = inst->replay;
	uint64_t *horizon = calloc(inst->cfg.vars, sizeof(*horizon));
	uint64_t inputs = 0, pals = 0;

	RTE_VERIFY(horizon != NULL);
	/* Numbering resumes after the checkpoint: the guest has seen its
	 * inputs and published its PALs already. */
	for (uint16_t i = 0; i < inst->n; i++) {
		inst->logged.in[i] = rf->log.cut.in[i];
		inst->logged.pal[i] = rf->log.cut.pal[i];
		rf->checked_pal[i] = rf->log.cut.pal[i];
		host_region_resume_pal(&inst->region, i, rf->log.cut.pal[i]);
	}
	replay_log_horizons(&rf->log, horizon, inst->cfg.vars);
	host_region_set_horizons(&inst->region, horizon, inst->cfg.vars);
	free(horizon);
	for (uint16_t i = 0; i < inst->n; i++) {
		inputs += rf->log.n_in[i];
		pals += rf->log.n_pal[i];
	}
	rf->start_ns = rf->progress_ns = now_ns();
	rf->at.begin = mono_ns();
	if (inst->cfg.replay_unordered) {
		for (uint16_t t = 0; t < inst->n; t++) {
			host_region_close_replay(&inst->region, t);
			rf->closed[t] = true;
		}
		VLOG(WARNING, "instance %s: replay_order=off: DEBUG NEGATIVE CONTROL: replaying "
			      "WITHOUT the logged access order; this replica may diverge from what "
			      "the primary released", inst->cfg.name);
	}
	VLOG(INFO, "instance %s: replica: replaying %s: %" PRIu64 " inputs, %" PRIu64
		   " logged records, %" PRIu64 " frames, after a checkpoint covering inputs %" PRIu64
		   " and records %" PRIu64 " of queue/thread 0",
	     inst->cfg.name, inst->cfg.replay, inputs, pals, rf->log.frames, rf->log.cut.in[0],
	     rf->log.cut.pal[0]);
	if (!inst->protected)
		VLOG(WARNING, "instance %s: NO BACKUP: the replica releases outputs unprotected",
		     inst->cfg.name);
}

/* Publishes more of thread t's logged records as its replay ring frees up,
 * and closes the ring once all are in. Returns records pushed, or -1 when
 * the guest corrupted the ring and the instance was stopped. */
static int64_t push_records(struct instance *inst, uint16_t t)
{
	struct replay_feed *rf = inst->replay;
	uint64_t left = rf->log.n_pal[t] - rf->fed_pal[t];
	int k = 0;

	if (rf->closed[t])
		return 0;
	if (left) {
		k = host_region_push_replay(&inst->region, t, &rf->log.pal[t][rf->fed_pal[t]],
					    (uint32_t)RTE_MIN(left, (uint64_t)FTMB_REPL_MAX_RECORDS));
		if (k < 0) {
			instance_stop(inst, k, "thread %u: replay ring indexes corrupted", t);
			return -1;
		}
		rf->fed_pal[t] += (uint64_t)k;
	}
	if (rf->fed_pal[t] == rf->log.n_pal[t] && !rf->closed[t]) {
		host_region_close_replay(&inst->region, t);
		rf->closed[t] = true;
	}
	return k;
}

/* Hands the next logged inputs of queue q to the guest; the ones it does
 * not take are rebuilt and offered again on the next pass. */
static uint64_t feed_inputs(struct instance *inst, int vid, uint16_t q)
{
	struct replay_feed *rf = inst->replay;
	uint64_t left = rf->log.n_in[q] - rf->fed_in[q];
	struct rte_mbuf *pkts[INST_BURST];
	uint16_t n = (uint16_t)RTE_MIN(left, (uint64_t)INST_BURST), built = 0, sent;

	for (; built < n; built++) {
		const struct replay_input *in = &rf->log.in[q][rf->fed_in[q] + built];

		pkts[built] = rte_pktmbuf_alloc(inst->pool);
		if (!pkts[built])
			break;
		if (mbuf_append_bytes(inst->pool, pkts[built], in->data, in->len)) {
			rte_pktmbuf_free(pkts[built]);
			break;
		}
	}
	if (!built)
		return 0;
	sent = datapath_deliver(inst, vid, q, pkts, built);
	rte_pktmbuf_free_bulk(pkts + sent, built - sent);
	rf->fed_in[q] += sent;
	if (sent && !rf->at.first_fed)
		rf->at.first_fed = mono_ns();
	return sent;
}

/* Whether every guest thread consumed every record pushed to it. */
static bool rings_drained(const struct instance *inst)
{
	for (uint16_t t = 0; t < inst->n; t++)
		if (!host_region_replay_drained(&inst->region, t))
			return false;
	return true;
}

/*
 * Once live and complete, the replica is a primary: its region goes to
 * mode record, so libftmb stops looking at the replay rings, and hostd,
 * which reads the mode word (region.h), may checkpoint the VM for a new
 * backup: from now on a checkpoint holds no replay state. Not at live
 * alone: guest threads may still be following their rings. A replica that
 * diverged stays in replay mode: a checkpoint of it could not be replayed
 * (its rings hold records its threads never read), so it must not be
 * re-protected.
 */
static void become_primary(struct instance *inst)
{
	struct replay_feed *rf = inst->replay;
	bool drained;

	if (!rf->live || !rf->complete || rf->judged)
		return;
	rf->judged = true;
	drained = rings_drained(inst);
	if (inst->st.divergences || !drained) {
		VLOG(ERR, "instance %s: the replica diverged from its log (%" PRIu64 " records "
			  "differed%s): its region stays in mode replay and it cannot be re-protected",
		     inst->cfg.name, inst->st.divergences,
		     drained ? "" : ", logged records left unread");
		return;
	}
	host_region_set_mode(&inst->region, FTMB_MODE_RECORD);
	VLOG(NOTICE, "instance %s: replica is a primary now: region in mode record",
	     inst->cfg.name);
}

/* Complete once every logged input was fed and the guest has published
 * every logged record again: the replica has redone the primary's work. */
static void note_complete(struct instance *inst)
{
	struct replay_feed *rf = inst->replay;
	uint64_t inputs = 0, records = 0;
	double ms;

	if (rf->complete)
		return;
	for (uint16_t i = 0; i < inst->n; i++) {
		if (rf->fed_in[i] < rf->log.n_in[i] ||
		    rf->checked_pal[i] < rf->log.cut.pal[i] + rf->log.n_pal[i])
			return;
		inputs += rf->log.n_in[i];
		records += rf->log.n_pal[i];
	}
	rf->complete = true;
	rf->at.complete = mono_ns();
	ms = rf->at.first_fed ? (double)(rf->at.complete - rf->at.first_fed) / 1e6 : 0.0;
	VLOG(NOTICE, "instance %s: replay complete: %" PRIu64 " inputs and %" PRIu64 " records "
		     "reproduced %.1f ms after the first input was fed (%.0f inputs/s)",
	     inst->cfg.name, inputs, records, ms, ms > 0 ? (double)inputs / ms * 1e3 : 0.0);
	become_primary(inst);
}

static void go_live(struct instance *inst, uint64_t now)
{
	struct replay_feed *rf = inst->replay;
	uint64_t inputs = 0, suppressed = 0;

	for (uint16_t i = 0; i < inst->n; i++) {
		inputs += rf->fed_in[i];
		suppressed += inst->st.q[i].suppressed;
	}
	rf->live = true;
	rf->at.live = mono_ns();
	announce_start(inst, now, "replica live");
	VLOG(NOTICE, "instance %s: replica live after %.1f ms (%.1f ms after the guest connected), "
		     "replayed %" PRIu64 " inputs, suppressed %" PRIu64 " outputs",
	     inst->cfg.name, (double)(now - rf->start_ns) / 1e6,
	     (double)(now - __atomic_load_n(&inst->connected_ns, __ATOMIC_ACQUIRE)) / 1e6, inputs,
	     suppressed);
	note_complete(inst);
	become_primary(inst);
}

static void log_progress(struct instance *inst, uint64_t now)
{
	struct replay_feed *rf = inst->replay;
	uint64_t fed = 0, total = 0, pushed = 0, records = 0;

	if (now - rf->progress_ns < PROGRESS_PERIOD_NS)
		return;
	rf->progress_ns = now;
	for (uint16_t i = 0; i < inst->n; i++) {
		fed += rf->fed_in[i];
		total += rf->log.n_in[i];
		pushed += rf->fed_pal[i];
		records += rf->log.n_pal[i];
	}
	VLOG(INFO, "instance %s: replaying: inputs %" PRIu64 "/%" PRIu64 ", records %" PRIu64
		   "/%" PRIu64,
	     inst->cfg.name, fed, total, pushed, records);
}

uint64_t datapath_replay_step(struct instance *inst, int vid, uint64_t now)
{
	struct replay_feed *rf = inst->replay;
	uint64_t work = 0;
	bool done = true;

	if (vid >= 0 && !rf->at.connected)
		rf->at.connected = mono_ns();
	for (uint16_t t = 0; t < inst->n; t++) {
		int64_t k = push_records(inst, t);

		if (k < 0)
			return work;
		work += (uint64_t)k;
		done &= rf->closed[t];
	}
	for (uint16_t q = 0; q < inst->n; q++) {
		if (vid >= 0 && rf->fed_in[q] < rf->log.n_in[q] && datapath_input_allowed(inst))
			work += feed_inputs(inst, vid, q);
		done &= rf->fed_in[q] == rf->log.n_in[q];
	}
	if (done)
		go_live(inst, now);
	else
		log_progress(inst, now);
	return work;
}

static void log_record(const char *what, const struct ftmb_record *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s {type %u, counter %" PRIu64 ", var %u, seq %" PRIu64 ", value %" PRIu64 "}",
		 what, r->type, r->counter, r->var, r->seq, r->value);
}

void datapath_replay_check_pals(struct instance *inst, uint16_t t,
				const struct ftmb_record *recs, uint32_t n)
{
	struct replay_feed *rf = inst->replay;
	char got[160], want[160];

	for (uint32_t i = 0; i < n; i++) {
		const struct ftmb_record *r = &recs[i], *l;

		if (r->counter > rf->log.cut.pal[t] + rf->log.n_pal[t])
			break;
		l = &rf->log.pal[t][r->counter - rf->log.cut.pal[t] - 1];
		rf->checked_pal[t] = r->counter;
		if (r->type == l->type && r->var == l->var && r->seq == l->seq &&
		    r->value == l->value)
			continue;
		if (inst->st.divergences++ < DIVERGENCES_LOGGED) {
			log_record("replica", r, got, sizeof(got));
			log_record("logged", l, want, sizeof(want));
			VLOG(ERR, "instance %s: DIVERGENCE on thread %u: %s, %s", inst->cfg.name, t,
			     got, want);
		}
	}
	note_complete(inst);
}
