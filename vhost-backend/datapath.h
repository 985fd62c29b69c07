/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The packet path of one instance, run by the polling loop:
 *
 *   external port --RSS--> number, tag, enqueue on guest RX q, log INPUT
 *   guest TX vrings --> dequeue; THEN drain the PAL rings into PAL frames
 *       (every PAL an output depends on was published before the output, so
 *       it is visible now); parse, check and strip each output's tag;
 *       release it at once if the durable vector covers its dep, else hold it
 *   backup ACK --> grow the durable vector, release what it now covers
 *
 * In mode off only the forwarding remains; mode checkpoint forwards too but
 * holds every output until the backup commits the checkpoint after it
 * (cut.h). A replica first feeds its replay log (replay.c).
 */
#ifndef VHOST_DATAPATH_H
#define VHOST_DATAPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "instance.h"

/* The largest CUT frame (cut.c). */
#define DATAPATH_CUT_FRAME_MAX (FTMB_REPL_HDR_LEN + 16u + 16u * FTMB_MAX_THREADS)

/* Send-buffer room that draining every PAL ring completely needs (and a
 * RELEASED and a CUT frame after it). */
size_t datapath_pal_reserve(uint16_t n_threads, uint32_t slots);

/* Drains every PAL ring (at most one ring's worth each) into PAL frames, as
 * far as the send buffer has room for a full drain. Returns 0, or -1 when
 * the guest broke the ring contract and the instance was stopped. */
int datapath_drain_pals(struct instance *inst);

/* Send-buffer room one burst of logged inputs needs. */
size_t datapath_input_reserve(void);

/* The replication link's handler for the backup's frames (ACK, COMMITTED,
 * HEARTBEAT). */
int datapath_on_backup_frame(void *ctx, const struct ftmb_repl_frame *f, char *why,
			     size_t why_len);

/* Whether a burst of input may go to the guest now: room to log it (and
 * all the output side may log), held outputs well below their bound, and
 * the external port keeping up with the outputs. */
bool datapath_input_allowed(const struct instance *inst);

/* Hands n frames to guest RX queue q, tagged (mode ftmb) with the next
 * sequence numbers, and logs the ones accepted. Returns how many the guest
 * took, the first ones, which are consumed; the rest (a full RX ring, or in
 * mode ftmb a queue the guest has not declared ready) are still the
 * caller's, as they came. */
uint16_t datapath_deliver(struct instance *inst, int vid, uint16_t q, struct rte_mbuf **pkts,
			  uint16_t n);

/* Frees the inputs waiting for a guest RX queue (the instance ends). */
void datapath_drop_backlog(struct instance *inst);

/* Appends len bytes to m, chaining segments from mp when the last one is
 * full. Returns 0, or -ENOMEM. */
int mbuf_append_bytes(struct rte_mempool *mp, struct rte_mbuf *m, const void *data,
		      uint32_t len);

/* Replica (replay.c): prepares the region's replay area; each poll pushes
 * logged records and feeds logged inputs until the replica is live; drained
 * PALs are compared with the logged ones. */
void datapath_replay_begin(struct instance *inst);
uint64_t datapath_replay_step(struct instance *inst, int vid, uint64_t now_ns);
void datapath_replay_check_pals(struct instance *inst, uint16_t t,
				const struct ftmb_record *recs, uint32_t n);

#endif
