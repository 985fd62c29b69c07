/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The runner shared by the example middleboxes: options, attaching to the
 * shared region, one worker thread per queue pair, and the packet loop
 *   receive burst -> ftmb_rx -> process -> ftmb_tx -> send burst.
 *
 * A middlebox must be deterministic given its inputs per queue, the order of
 * its shared accesses and its logged values: process() may use ftmb_lock,
 * ftmb_time_ns and ftmb_random, but the sequence of those calls must depend
 * only on the packets it sees, never on burst sizes or idle time.
 */
#ifndef MB_MBOX_H
#define MB_MBOX_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "ftmb/ftmb.h"
#include "pkt.h"

struct mbox;

struct mbox_thread {
	struct mbox *mb;
	uint32_t idx; /* also the queue pair it serves */
	struct ftmb_thread *ft;
	void *priv;
	uint64_t rx, tx, dropped, untagged, tx_failed;
	uint64_t tx_waits; /* times the TX ring was full */
	uint64_t skipped;  /* inputs dropped in replay: the primary never saw them */
};

struct mbox_ops {
	const char *name;
	const char *summary;
	GOptionEntry *options;
	/* after attaching and opening the NIC: declare shared variables */
	int (*setup)(struct mbox *mb);
	/* in each worker, after registering with libftmb */
	int (*thread_setup)(struct mbox_thread *t);
	/* returns false to drop the frame; may change *len up to room */
	bool (*process)(struct mbox_thread *t, uint8_t *frame, uint32_t *len, uint32_t room);
};

struct mbox {
	const struct mbox_ops *ops;
	struct ftmb *ftmb;
	struct pktio *io;
	uint32_t n_threads;
	struct mbox_thread threads[FTMB_MAX_THREADS];
};

int mbox_main(int argc, char **argv, const struct mbox_ops *ops);

#endif
