// SPDX-License-Identifier: GPL-2.0-or-later
/* Cuts at pauses and on a timer, and the backup's commits (see cut.h). */
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "cut.h"
#include "datapath.h"
#include "vhost_log.h"

/* How long a pause waits for the loop: the loop sleeps at most
 * IDLE_MAX_SLEEP_NS between passes, so a second means it is stuck. */
#define PAUSE_WAIT_NS 1000000000ull

void cut_at_pause(struct instance *inst)
{
	uint64_t req = __atomic_add_fetch(&inst->cuts.requested, 1, __ATOMIC_ACQ_REL);
	uint64_t t0 = now_ns(), waited = 0;

	while (__atomic_load_n(&inst->cuts.served, __ATOMIC_ACQUIRE) < req) {
		waited = now_ns() - t0;
		if (waited > PAUSE_WAIT_NS) {
			VLOG(ERR, "instance %s: the polling loop did not take the cut of this pause "
				  "within %.0f ms: this checkpoint carries no cut of its own and will "
				  "not be committed",
			     inst->cfg.name, (double)waited / 1e6);
			__atomic_add_fetch(&inst->cuts.failed, 1, __ATOMIC_RELAXED);
			return;
		}
		sched_yield();
	}
	waited = now_ns() - t0;
	if (waited > __atomic_load_n(&inst->cuts.wait_max_ns, __ATOMIC_RELAXED))
		__atomic_store_n(&inst->cuts.wait_max_ns, waited, __ATOMIC_RELAXED);
}

/* CUT and BASE frames go into the room datapath_pal_reserve() keeps. */
static void send_cut_frame(struct instance *inst, const struct ftmb_cut *cut,
			   int (*put)(uint8_t *, size_t, const struct ftmb_repl_vector *))
{
	struct ftmb_repl_vector v = { .n = inst->n, .ckpt_seq = cut->epoch };
	uint8_t *p = sendbuf_reserve(&inst->link.sb, DATAPATH_CUT_FRAME_MAX);
	int len;

	RTE_VERIFY(p != NULL);
	memcpy(v.vc.in, cut->in, sizeof(v.vc.in));
	memcpy(v.vc.pal, cut->pal, sizeof(v.vc.pal));
	len = put(p, DATAPATH_CUT_FRAME_MAX, &v);
	RTE_VERIFY(len > 0);
	sendbuf_commit(&inst->link.sb, (size_t)len);
}

void cut_send_base(struct instance *inst)
{
	const struct ftmb_cut *cut = &inst->cuts.last;

	memcpy(inst->cuts.base.in, cut->in, sizeof(cut->in));
	memcpy(inst->cuts.base.pal, cut->pal, sizeof(cut->pal));
	send_cut_frame(inst, cut, ftmb_repl_put_base);
	VLOG(INFO, "instance %s: protected again: its log to %s starts at the restored cut "
		   "(BASE epoch %" PRIu64 ": input %" PRIu64 ", PAL %" PRIu64 " of queue/thread 0)",
	     inst->cfg.name, inst->link.peer, cut->epoch, cut->in[0], cut->pal[0]);
}

/* Counts what the guest has: the inputs handed to it and, after draining
 * them, the PALs it published. Mode checkpoint logs neither: its cuts are
 * empty. Returns 0, or -1 when the guest broke the ring contract and the
 * instance was stopped. */
static int count_cut(struct instance *inst, struct ftmb_cut *cut)
{
	if (!inst->ftmb)
		return 0;
	if (datapath_drain_pals(inst))
		return -1;
	for (uint16_t i = 0; i < inst->n; i++) {
		int rc = host_region_pal_published(&inst->region, i, &cut->pal[i]);

		if (rc) {
			instance_stop(inst, rc, "thread %u: PAL ring head corrupt at a pause", i);
			return -1;
		}
		cut->in[i] = inst->logged.in[i];
	}
	return 0;
}

static void take_cut(struct instance *inst)
{
	struct ftmb_cut cut = {
		.magic = FTMB_CUT_MAGIC,
		.n = inst->n,
		.generation = inst->generation,
		.epoch = inst->cuts.epoch + 1,
	};

	if (count_cut(inst, &cut))
		return;
	inst->cuts.epoch = cut.epoch;
	inst->cuts.last = cut;
	if (inst->cfg.cut == INST_CUT_PAUSE)
		host_region_write_cut(&inst->region, &cut);
	if (inst->protected)
		send_cut_frame(inst, &cut, ftmb_repl_put_cut);
	VLOG(DEBUG, "instance %s: cut %" PRIu64 ": input %" PRIu64 ", PAL %" PRIu64
		    " of queue/thread 0",
	     inst->cfg.name, cut.epoch, cut.in[0], cut.pal[0]);
}

uint64_t cut_poll(struct instance *inst, uint64_t now)
{
	uint64_t req = __atomic_load_n(&inst->cuts.requested, __ATOMIC_ACQUIRE);

	if (inst->cfg.cut == INST_CUT_TIMER && inst->state == INST_RUNNING &&
	    now >= inst->cuts.next_ns) {
		take_cut(inst);
		inst->cuts.next_ns = now + (uint64_t)inst->cfg.ckpt_interval_ms * 1000000ull;
	}
	if (req == __atomic_load_n(&inst->cuts.served, __ATOMIC_RELAXED))
		return 0;
	/* The device is withdrawn (vid -1 since the device thread's RCU wait):
	 * no input reaches the guest any more. A stopped instance answers
	 * without a cut. */
	if (inst->state == INST_RUNNING)
		take_cut(inst);
	__atomic_store_n(&inst->cuts.served, req, __ATOMIC_RELEASE);
	return 1;
}

int cut_committed(struct instance *inst, uint64_t epoch, char *why, size_t why_len)
{
	if (epoch > inst->cuts.epoch || epoch < inst->cuts.committed) {
		snprintf(why, why_len, "COMMITTED %" PRIu64 ", but %" PRIu64 " cuts were taken and %" PRIu64
			 " committed already", epoch, inst->cuts.epoch, inst->cuts.committed);
		return FTMB_E_SEQ;
	}
	inst->cuts.committed = epoch;
	inst->cuts.commits++;
	return FTMB_OK;
}

static int differs(const struct ftmb_cut *cut, const struct replay_log *log, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++)
		if (cut->in[i] != log->cut.in[i] || cut->pal[i] != log->cut.pal[i])
			return 1;
	return cut->epoch != log->cut_epoch;
}

int cut_resume_from_region(struct instance *inst, char *err, size_t errlen)
{
	const struct replay_log *log = &inst->replay->log;
	struct ftmb_cut cut;
	int rc = host_region_read_cut(inst->region.base, inst->region.geo.region_size, &cut);

	if (rc) {
		snprintf(err, errlen, "region=%s: the restored cut slot is invalid: %s",
			 inst->cfg.region, ftmb_strerror(rc));
		return -1;
	}
	if (cut.epoch && (cut.n != inst->n || cut.generation != log->hello.generation)) {
		snprintf(err, errlen, "region=%s: the restored cut is for %u queues of generation %" PRIu64
			 "; the replay log is for %u of generation %" PRIu64,
			 inst->cfg.region, cut.n, cut.generation, inst->n, log->hello.generation);
		return -1;
	}
	if (differs(&cut, log, inst->n)) {
		snprintf(err, errlen, "region=%s: the checkpoint's cut (epoch %" PRIu64 ", input %" PRIu64
			 ", PAL %" PRIu64 " of queue/thread 0) is not where the replay log %s starts "
			 "(epoch %" PRIu64 ", input %" PRIu64 ", PAL %" PRIu64 "): the checkpoint and "
			 "the log do not belong together",
			 inst->cfg.region, cut.epoch, cut.in[0], cut.pal[0], inst->cfg.replay,
			 log->cut_epoch, log->cut.in[0], log->cut.pal[0]);
		return -1;
	}
	inst->generation = log->hello.generation;
	inst->cuts.epoch = inst->cuts.committed = cut.epoch;
	inst->cuts.last = cut;
	return 0;
}
