// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_vhost.h>

#include "cut.h"
#include "datapath.h"
#include "trace.h"
#include "ftmb/le.h"
#include "ftmb/tag.h"
#include "rss.h"
#include "vhost_log.h"

#define IN_FRAME_MAX (FTMB_REPL_HDR_LEN + 16u + FTMB_REPL_MAX_PKT)
#define PAL_FRAME_OVERHEAD (FTMB_REPL_HDR_LEN + 8u)
#define RELEASED_FRAME_MAX (FTMB_REPL_HDR_LEN + 8u + 8u * FTMB_MAX_THREADS)

/* One output taken from a guest TX vring in this pass. */
struct out_item {
	struct rte_mbuf *m;
	uint32_t order; /* dequeue order, to keep sorting stable */
	uint16_t txq;
	struct ftmb_out_tag tag;
};

/* The loop is single-threaded: one scratch area serves every instance. */
static struct out_item items[FTMB_MAX_THREADS * INST_BURST];

size_t datapath_pal_reserve(uint16_t n_threads, uint32_t slots)
{
	size_t frames = slots / FTMB_REPL_MAX_RECORDS + 1;

	return (size_t)n_threads * ((size_t)slots * sizeof(struct ftmb_record) +
				    frames * PAL_FRAME_OVERHEAD) +
	       RELEASED_FRAME_MAX + DATAPATH_CUT_FRAME_MAX;
}

size_t datapath_input_reserve(void)
{
	return (size_t)INST_BURST * IN_FRAME_MAX;
}

int mbuf_append_bytes(struct rte_mempool *mp, struct rte_mbuf *m, const void *data, uint32_t len)
{
	const uint8_t *src = data;

	while (len) {
		struct rte_mbuf *last = rte_pktmbuf_lastseg(m);
		uint32_t chunk = RTE_MIN((uint32_t)rte_pktmbuf_tailroom(last), len);

		if (chunk == 0) {
			struct rte_mbuf *seg = rte_pktmbuf_alloc(mp);

			if (!seg)
				return -ENOMEM;
			if (rte_pktmbuf_chain(m, seg)) {
				rte_pktmbuf_free(seg);
				return -ENOMEM;
			}
			continue;
		}
		memcpy(rte_pktmbuf_append(m, (uint16_t)chunk), src, chunk);
		src += chunk;
		len -= chunk;
	}
	return 0;
}

/* Shortens m by len bytes, freeing whole trailing segments the cut empties
 * (an output tag may span the last segment boundary). */
static void trim_tail(struct rte_mbuf *m, uint32_t len)
{
	uint32_t keep = m->pkt_len - len, off = 0;
	struct rte_mbuf *seg = m;
	uint16_t segs = 1;

	while (off + seg->data_len < keep) {
		off += seg->data_len;
		seg = seg->next;
		segs++;
	}
	seg->data_len = (uint16_t)(keep - off);
	if (seg->next) {
		rte_pktmbuf_free(seg->next);
		seg->next = NULL;
	}
	m->nb_segs = segs;
	m->pkt_len = keep;
}

/* A place in the send buffer for a frame of up to max bytes. The room was
 * checked before the work that logs started, so running short is a bug. */
static uint8_t *log_reserve(struct instance *inst, size_t max)
{
	uint8_t *p = sendbuf_reserve(&inst->link.sb, max);

	RTE_VERIFY(p != NULL);
	return p;
}

static void log_input(struct instance *inst, uint16_t q, uint64_t seq, const struct rte_mbuf *m)
{
	static uint8_t scratch[FTMB_REPL_MAX_PKT];
	uint32_t len = m->pkt_len - FTMB_IN_TAG_LEN;
	const void *data = rte_pktmbuf_read(m, 0, len, scratch);
	int n = ftmb_repl_put_input(log_reserve(inst, IN_FRAME_MAX), IN_FRAME_MAX, q, seq, data,
				    (uint16_t)len);

	RTE_VERIFY(n > 0);
	sendbuf_commit(&inst->link.sb, (size_t)n);
}

static void log_pals(struct instance *inst, uint16_t t, const struct ftmb_record *recs,
		     uint32_t n)
{
	size_t max = PAL_FRAME_OVERHEAD + (size_t)n * sizeof(*recs);
	int len = ftmb_repl_put_pal(log_reserve(inst, max), max, t, recs, (uint16_t)n);

	RTE_VERIFY(len > 0);
	sendbuf_commit(&inst->link.sb, (size_t)len);
}

static void send_released(struct instance *inst, uint64_t now)
{
	struct ftmb_repl_released r = { .n = inst->n };
	uint8_t *p;
	int len;

	if (!inst->protected || !inst->released_dirty ||
	    now - inst->released_sent_ns < RELEASED_PERIOD_NS)
		return;
	p = sendbuf_reserve(&inst->link.sb, RELEASED_FRAME_MAX);
	if (!p)
		return;
	for (uint16_t t = 0; t < inst->n; t++)
		r.out_seq[t] = inst->out[t].released_seq;
	len = ftmb_repl_put_released(p, RELEASED_FRAME_MAX, &r);
	RTE_VERIFY(len > 0);
	sendbuf_commit(&inst->link.sb, (size_t)len);
	inst->released_dirty = false;
	inst->released_sent_ns = now;
	inst->st.released_frames++;
}

static void flush_tx(struct instance *inst)
{
	uint16_t sent;

	if (!inst->n_tx || !inst->port_started)
		return;
	sent = rte_eth_tx_burst(inst->port_id, 0, inst->tx, inst->n_tx);
	inst->st.ext_tx += sent;
	memmove(inst->tx, inst->tx + sent, (size_t)(inst->n_tx - sent) * sizeof(inst->tx[0]));
	inst->n_tx -= sent;
}

static uint32_t tx_room(const struct instance *inst)
{
	return INST_TX_MAX - inst->n_tx;
}

/* Queues a frame for the external port. Callers take frames from the guest
 * or the hold queues only while there is room, so a drop here (counted)
 * means the port stayed full. */
static void queue_tx(struct instance *inst, struct rte_mbuf *m)
{
	if (inst->n_tx == INST_TX_MAX)
		flush_tx(inst);
	if (inst->n_tx == INST_TX_MAX) {
		rte_pktmbuf_free(m);
		inst->st.ext_tx_drops++;
		return;
	}
	inst->tx[inst->n_tx++] = m;
}

static void release_one(struct instance *inst, uint16_t t, const struct held_output *h,
			uint64_t now)
{
	struct queue_stats *qs = &inst->st.q[t];

	stats_delay(qs, (now - h->t_dequeue) / 1000);
	qs->released++;
	if (inst->ftmb) {
		if (inst->trace)
			trace_output(inst->trace, TRACE_RELEASED, t, h->out_seq, &h->dep, inst->n,
				     h->pkt);
		release_done(&inst->out[t], h->out_seq);
		inst->released_dirty = true;
	}
	queue_tx(inst, h->pkt);
}

/* The held outputs of thread (or, in mode checkpoint, queue) t that may
 * leave now. */
static uint32_t ready(struct instance *inst, uint16_t t, struct held_output *h, uint32_t max)
{
	if (inst->checkpoint)
		return release_ready_epoch(&inst->out[t], inst->cuts.committed, h, max);
	return release_ready(&inst->out[t], &inst->durable, inst->n, h, max);
}

/* Releases held outputs that the durable vector (mode checkpoint: the
 * committed epoch) covers, as far as the external port has room; the rest
 * go on the next passes. */
static uint64_t release_covered(struct instance *inst, uint64_t now)
{
	struct held_output h[INST_BURST];
	uint64_t done = 0;
	uint32_t k;

	for (uint16_t t = 0; t < inst->n; t++)
		while ((k = ready(inst, t, h, RTE_MIN(tx_room(inst), INST_BURST)))) {
			for (uint32_t i = 0; i < k; i++)
				release_one(inst, t, &h[i], now);
			done += k;
		}
	return done;
}

/* Whether the durable vector covers a log frame we queued (our own
 * encoding: INPUT u16 queue, u64 seq at 8; PAL u16 thread, u16 count, the
 * first record's counter at 16; the one BASE, its cut). Other frames only
 * need to have been sent. */
static bool frame_durable(void *ctx, const uint8_t *frame)
{
	const struct instance *inst = ctx;
	const uint8_t *p = frame + FTMB_REPL_HDR_LEN;

	switch (frame[4]) {
	case FTMB_REPL_INPUT:
		return ftmb_get_le64(p + 8) <= inst->durable.in[ftmb_get_le16(p)];
	case FTMB_REPL_PAL:
		return ftmb_get_le64(p + 16) + ftmb_get_le16(p + 2) - 1 <=
		       inst->durable.pal[ftmb_get_le16(p)];
	case FTMB_REPL_BASE: /* sent again after a reconnection until applied */
		return ftmb_vc_covers(&inst->durable, &inst->cuts.base, inst->n);
	default:
		return true;
	}
}

int datapath_on_backup_frame(void *ctx, const struct ftmb_repl_frame *f, char *why,
			     size_t why_len)
{
	struct instance *inst = ctx;
	struct ftmb_repl_vector ack;
	uint64_t epoch;
	int rc;

	if (f->type == FTMB_REPL_HEARTBEAT)
		return FTMB_OK;
	if (f->type == FTMB_REPL_COMMITTED) {
		rc = ftmb_repl_get_committed(f, &epoch);
		if (!rc)
			rc = cut_committed(inst, epoch, why, why_len);
		if (!rc) /* the CUT frames it covers are held at the backup */
			sendbuf_ack(&inst->link.sb, frame_durable, inst);
		return rc;
	}
	if (f->type != FTMB_REPL_ACK) {
		snprintf(why, why_len, "a backup sends only ACK, COMMITTED and HEARTBEAT");
		return FTMB_E_TYPE;
	}
	rc = ftmb_repl_get_ack(f, &ack);
	if (rc)
		return rc;
	if (ack.n != inst->n) {
		snprintf(why, why_len, "ACK for %u threads, the instance has %u", ack.n, inst->n);
		return FTMB_E_COUNT;
	}
	for (uint16_t i = 0; i < inst->n; i++)
		if (ack.vc.in[i] > inst->logged.in[i] || ack.vc.pal[i] > inst->logged.pal[i]) {
			snprintf(why, why_len,
				 "ACK covers input %" PRIu64 "/PAL %" PRIu64 " of %u, only %" PRIu64
				 "/%" PRIu64 " logged",
				 ack.vc.in[i], ack.vc.pal[i], i, inst->logged.in[i],
				 inst->logged.pal[i]);
			return FTMB_E_RANGE;
		}
	ftmb_vc_merge(&inst->durable, &ack.vc, inst->n);
	sendbuf_ack(&inst->link.sb, frame_durable, inst);
	return FTMB_OK;
}

/* ---- input: external port -> guest RX queues ---- */

bool datapath_input_allowed(const struct instance *inst)
{
	/* Outputs backed up towards the external port: the guest would soon
	 * find its TX ring full and drop. */
	if (tx_room(inst) < INST_TX_MAX / 2)
		return false;
	if (!inst->protected)
		return true;
	if (sendbuf_room(&inst->link.sb) < inst->pal_reserve + datapath_input_reserve())
		return false;
	/* Held outputs near the bound: let the backup catch up first. */
	for (uint16_t t = 0; t < inst->n; t++)
		if (holdq_count(&inst->out[t].held) > inst->cfg.hold / 2)
			return false;
	return true;
}

/* Appends input tags seq base+1, base+2... Returns how many frames could be
 * tagged (numbers are only given in order); the rest are left as they
 * were. */
static uint16_t tag_inputs(struct instance *inst, uint16_t q, uint64_t base,
			   struct rte_mbuf **pkts, uint16_t n)
{
	uint8_t tag[FTMB_IN_TAG_LEN];

	for (uint16_t i = 0; i < n; i++) {
		ftmb_in_tag_write(tag, q, base + 1 + i);
		if (mbuf_append_bytes(inst->pool, pkts[i], tag, sizeof(tag)))
			return i;
	}
	return n;
}

uint16_t datapath_deliver(struct instance *inst, int vid, uint16_t q, struct rte_mbuf **pkts,
			  uint16_t n)
{
	uint64_t base = inst->logged.in[q];
	uint16_t tagged, sent;

	/* Mode ftmb: a queue the guest has not declared ready may drop what it
	 * is given (a starting DPDK port flushes its RX rings), and an input
	 * logged but never seen would be processed by a replica only: no
	 * number, no log, no input yet. */
	if (inst->ftmb && !host_region_queue_ready(&inst->region, q)) {
		inst->st.q[q].not_ready++;
		return 0;
	}
	tagged = inst->ftmb ? tag_inputs(inst, q, base, pkts, n) : n;
	sent = rte_vhost_enqueue_burst(vid, 2 * q, pkts, tagged);
	if (inst->ftmb) {
		if (inst->protected)
			for (uint16_t i = 0; i < sent; i++)
				log_input(inst, q, base + 1 + i, pkts[i]);
		/* The refused frames' numbers were never seen: roll back. */
		inst->logged.in[q] = base + sent;
		for (uint16_t i = sent; i < tagged; i++)
			trim_tail(pkts[i], FTMB_IN_TAG_LEN);
	}
	if (sent < n)
		inst->st.q[q].input_waits++;
	inst->st.q[q].inputs += sent;
	rte_pktmbuf_free_bulk(pkts, sent); /* the guest has its copies */
	return sent;
}

/* Offers queue q's waiting inputs to the guest again; returns how many it
 * took. */
static uint16_t offer_backlog(struct instance *inst, int vid, uint16_t q)
{
	struct rte_mbuf **b = inst->backlog[q];
	uint16_t sent = datapath_deliver(inst, vid, q, b, inst->n_backlog[q]);

	inst->n_backlog[q] -= sent;
	memmove(b, b + sent, inst->n_backlog[q] * sizeof(b[0]));
	return sent;
}

/* Inputs a guest RX queue refused (full, or not ready yet) wait in the
 * queue's backlog, in order, and the external port is not polled until
 * every backlog is empty: a starved guest slows the sender down (its port
 * fills) instead of losing what it was sent. So the backlogs together hold
 * at most one burst, and a pass hands over at most one burst (the log
 * room datapath_input_allowed() checked). */
static uint64_t poll_input(struct instance *inst, int vid)
{
	struct rte_mbuf *pkts[INST_BURST];
	uint64_t work = 0;
	bool waiting = false;
	uint16_t n, q;

	if (!inst->port_started)
		return 0;
	if (!datapath_input_allowed(inst)) {
		inst->st.backpressure++;
		return 0;
	}
	for (q = 0; q < inst->n; q++)
		if (inst->n_backlog[q]) {
			work += offer_backlog(inst, vid, q);
			waiting = true;
		}
	if (waiting) {
		inst->st.backpressure++;
		return work;
	}
	n = rte_eth_rx_burst(inst->port_id, 0, pkts, INST_BURST);
	inst->st.ext_rx += n;
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (inst->ftmb && m->pkt_len > FTMB_REPL_MAX_PKT) {
			rte_pktmbuf_free(m);
			inst->st.oversize_drops++;
			continue;
		}
		q = rss_queue(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len, inst->n);
		inst->backlog[q][inst->n_backlog[q]++] = m;
	}
	for (q = 0; q < inst->n; q++)
		if (inst->n_backlog[q])
			offer_backlog(inst, vid, q);
	return work + n;
}

void datapath_drop_backlog(struct instance *inst)
{
	for (uint16_t q = 0; q < inst->n; q++) {
		rte_pktmbuf_free_bulk(inst->backlog[q], inst->n_backlog[q]);
		inst->n_backlog[q] = 0;
	}
}

/* ---- output: guest TX vrings -> hold or release ---- */

/* Room to log a full drain of the PAL rings, and to queue a full round of
 * outputs for the external port. */
static bool outputs_allowed(const struct instance *inst)
{
	if (tx_room(inst) < (uint32_t)inst->n * INST_BURST)
		return false;
	return !inst->protected || sendbuf_room(&inst->link.sb) >= inst->pal_reserve;
}

/* The records of thread t that need the instance's state to check: a SKIP
 * must name the thread's own queue and only inputs handed to the guest
 * before the one that revealed the gap. Returns 0, or -1 when the instance
 * was stopped. */
static int check_skips(struct instance *inst, uint16_t t, const struct ftmb_record *recs,
		       uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct ftmb_record *r = &recs[i];

		if (r->type != FTMB_REC_SKIP)
			continue;
		if (r->var != t || r->seq + r->value > inst->logged.in[t]) {
			instance_stop(inst, FTMB_E_RANGE,
				      "thread %u: SKIP of inputs %" PRIu64 "..%" PRIu64
				      " of queue %u, but %" PRIu64 " handed to queue %u",
				      t, r->seq, r->seq + r->value - 1, r->var, inst->logged.in[t], t);
			return -1;
		}
		inst->st.q[t].skipped += r->value;
	}
	return 0;
}

/* At most one ring's worth each: all that was published before the
 * outputs just dequeued (or before the vCPUs stopped, at a cut). */
int datapath_drain_pals(struct instance *inst)
{
	struct ftmb_record recs[FTMB_REPL_MAX_RECORDS];

	if (inst->protected && sendbuf_room(&inst->link.sb) < inst->pal_reserve)
		return 0;
	for (uint16_t t = 0; t < inst->n; t++) {
		uint32_t drained = 0;

		while (drained < inst->cfg.slots) {
			uint32_t max = RTE_MIN(inst->cfg.slots - drained, FTMB_REPL_MAX_RECORDS);
			int k = host_region_read_pal(&inst->region, t, recs, max);

			if (k < 0) {
				instance_stop(inst, k,
					      "thread %u: bad PAL record or ring index after PAL %" PRIu64,
					      t, inst->logged.pal[t]);
				return -1;
			}
			if (k == 0)
				break;
			if (check_skips(inst, t, recs, (uint32_t)k))
				return -1;
			if (inst->protected)
				log_pals(inst, t, recs, (uint32_t)k);
			if (inst->replay)
				datapath_replay_check_pals(inst, t, recs, (uint32_t)k);
			inst->logged.pal[t] += (uint64_t)k;
			inst->st.q[t].pals += (uint64_t)k;
			drained += (uint32_t)k;
		}
	}
	return 0;
}

static int parse_output(struct instance *inst, struct out_item *it)
{
	uint8_t tail[FTMB_MIN_FRAME + FTMB_OUT_TAG_MAX];
	uint32_t len = RTE_MIN(it->m->pkt_len, (uint32_t)sizeof(tail));
	const uint8_t *p = rte_pktmbuf_read(it->m, it->m->pkt_len - len, len, tail);
	int rc = ftmb_out_tag_parse(p, len, inst->n, &it->tag);

	if (rc)
		instance_stop(inst, rc, "bad output tag on TX queue %u (frame of %u bytes)",
			      it->txq, it->m->pkt_len);
	return rc;
}

static int by_thread_then_seq(const void *a, const void *b)
{
	const struct out_item *x = a, *y = b;

	if (x->tag.thread != y->tag.thread)
		return x->tag.thread < y->tag.thread ? -1 : 1;
	if (x->tag.out_seq != y->tag.out_seq)
		return x->tag.out_seq < y->tag.out_seq ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Checks, strips and releases or holds one output. Returns 0, or -1 when
 * the instance was stopped (the frame is still the caller's). */
static int admit_output(struct instance *inst, struct out_item *it, uint64_t now)
{
	uint16_t t = it->tag.thread;
	struct out_thread *th = &inst->out[t];
	struct held_output h;
	char why[256];
	int rc = release_check(th, &it->tag, &inst->logged, inst->n, why, sizeof(why));

	if (rc) {
		instance_stop(inst, rc, "%s", why);
		return -1;
	}
	trim_tail(it->m, it->tag.tag_len);
	inst->st.q[t].outputs++;
	if (inst->replay && it->tag.out_seq <= inst->replay->log.released[t]) {
		if (inst->trace)
			trace_output(inst->trace, TRACE_SUPPRESSED, t, it->tag.out_seq,
				     &it->tag.dep, inst->n, it->m);
		release_skip(th, it->tag.out_seq);
		inst->released_dirty = true;
		inst->st.q[t].suppressed++;
		rte_pktmbuf_free(it->m);
		return 0;
	}
	h = (struct held_output){ .pkt = it->m, .out_seq = it->tag.out_seq, .t_dequeue = now };
	h.dep = it->tag.dep;
	rc = release_admit(th, &h, &inst->durable, inst->n);
	if (rc == RELEASE_NOW)
		release_one(inst, t, &h, now);
	if (rc < 0) {
		instance_stop(inst, rc, "thread %u holds %u outputs, its bound (hold=%u)", t,
			      holdq_count(&th->held), inst->cfg.hold);
		return -1;
	}
	return 0;
}

static void process_outputs(struct instance *inst, uint32_t total, uint64_t now)
{
	uint32_t i, foreign = 0;

	for (i = 0; i < total; i++) {
		if (parse_output(inst, &items[i]))
			goto drop_rest;
		foreign += items[i].tag.thread != items[i].txq;
	}
	inst->st.foreign_txq += foreign;
	/* A thread's outputs on several TX queues: restore its order. */
	if (foreign)
		qsort(items, total, sizeof(items[0]), by_thread_then_seq);
	for (i = 0; i < total; i++)
		if (admit_output(inst, &items[i], now))
			goto drop_rest;
	return;
drop_rest:
	for (; i < total; i++)
		rte_pktmbuf_free(items[i].m);
}

/* Mode checkpoint: an output taken after cut E-1 waits for the commit of
 * epoch E, the first checkpoint holding the state it came from. */
static void hold_until_commit(struct instance *inst, uint16_t q, struct rte_mbuf *m,
			      uint64_t now)
{
	struct held_output h = { .pkt = m, .t_dequeue = now, .epoch = inst->cuts.epoch + 1 };
	int rc = release_admit_epoch(&inst->out[q], &h, inst->cuts.committed);

	inst->st.q[q].outputs++;
	RTE_VERIFY(rc != FTMB_E_COUNT); /* output_room() keeps the bound */
	if (rc == RELEASE_NOW)
		release_one(inst, q, &h, now);
}

/* How many outputs TX queue q may take now: in mode checkpoint no more than
 * its hold queue has room for (the rest wait in the guest's ring). */
static uint16_t output_room(const struct instance *inst, uint16_t q)
{
	const struct holdq *held = &inst->out[q].held;

	if (!inst->checkpoint)
		return INST_BURST;
	return (uint16_t)RTE_MIN(INST_BURST, held->bound - holdq_count(held));
}

static uint64_t poll_output(struct instance *inst, int vid, uint64_t now)
{
	struct rte_mbuf *pkts[INST_BURST];
	uint32_t total = 0;
	uint64_t work = 0;

	if (!outputs_allowed(inst))
		return 0;
	for (uint16_t q = 0; vid >= 0 && q < inst->n; q++) {
		uint16_t room = output_room(inst, q);
		uint16_t k = room ? rte_vhost_dequeue_burst(vid, 2 * q + 1, inst->pool, pkts, room)
				  : 0;

		work += k;
		for (uint16_t i = 0; i < k; i++) {
			if (inst->checkpoint) {
				hold_until_commit(inst, q, pkts[i], now);
			} else if (!inst->ftmb) {
				inst->st.q[q].outputs++;
				inst->st.q[q].released++;
				queue_tx(inst, pkts[i]);
			} else {
				items[total] = (struct out_item){ .m = pkts[i], .order = total,
								  .txq = q };
				total++;
			}
		}
	}
	if (!inst->ftmb)
		return work;
	if (datapath_drain_pals(inst)) {
		while (total)
			rte_pktmbuf_free(items[--total].m);
		return work;
	}
	process_outputs(inst, total, now);
	return work;
}

uint64_t instance_poll(struct instance *inst, uint64_t now)
{
	uint64_t work = cut_poll(inst, now);
	int vid, in_vid;

	if (inst->state != INST_RUNNING)
		return work;
	if (inst->standby)
		return work + instance_standby_poll(inst, now);
	instance_port_watch(inst, now);
	vid = instance_vid(inst);
	if (inst->link_ready)
		work += link_poll(&inst->link, now);
	work += release_covered(inst, now);
	/* A guest that just connected may take outputs, not yet inputs. */
	in_vid = vid >= 0 && instance_guest_settled(inst, now) ? vid : -1;
	if (inst->replay && !inst->replay->live)
		work += datapath_replay_step(inst, in_vid, now);
	if (inst->state != INST_RUNNING)
		return work;
	work += poll_output(inst, vid, now);
	if (inst->state != INST_RUNNING)
		return work;
	if (in_vid >= 0 && (!inst->replay || inst->replay->live))
		work += poll_input(inst, in_vid);
	send_released(inst, now);
	flush_tx(inst);
	work += announce_poll(inst, now);
	if (inst->link_ready)
		work += link_flush(&inst->link, now);
	return work;
}
