/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One ftmb-traffic run: a single polling loop on one lcore that sends on
 * schedule, receives, records and echoes, and sleeps when it has nothing to
 * do. Everything the report needs is left in struct traffic_run.
 *
 * Clocks: the loop and the pacing run on the TSC; packet stamps (tx_ns in
 * the payload, rx_ns in records) are CLOCK_MONOTONIC, read once per burst:
 * every packet of a TX burst carries the time just before the burst was
 * handed to the port, every packet of an RX burst the time just after the
 * burst was taken from it. A packet's place in the measured window is
 * decided by its tx_ns on both the sending and the receiving side, so the
 * two always agree.
 */
#ifndef FTMB_TRAFFIC_RUN_H
#define FTMB_TRAFFIC_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "backoff.h"
#include "flowtrack.h"
#include "frame.h"
#include "lathist.h"
#include "options.h"
#include "pacer.h"
#include "port.h"
#include "sinkrec.h"

struct rte_mbuf;

struct traffic_counts {
	uint64_t packets;
	uint64_t bytes;
};

struct traffic_run {
	const struct traffic_opts *o;
	struct traffic_port *port;

	uint64_t tsc_hz;
	uint64_t start_tsc;
	uint64_t start_ns;     /* CLOCK_MONOTONIC when the run began */
	uint64_t win_start_ns; /* measured window, by tx_ns: [start, end) */
	uint64_t win_end_ns;
	uint64_t send_end_ns; /* when sending stopped (0 while sending) */
	uint64_t end_ns;
	double cpu_s; /* CPU time (all threads) from start to end */

	/* Sending. Per-flow arrays are indexed by flow id. */
	bool sending;
	uint8_t tmpl[TESTFRAME_MAX];
	uint64_t rr_next;
	uint64_t rng;
	uint64_t *next_seq;      /* last seq given out */
	uint64_t *sent_hi;       /* last seq the port accepted */
	uint64_t *first_win_seq; /* first seq sent in the window, 0 if none */
	struct rte_mbuf *pending[TRAFFIC_MAX_BURST]; /* built, not yet accepted */
	uint32_t pending_flow[TRAFFIC_MAX_BURST];
	uint64_t pending_seq[TRAFFIC_MAX_BURST];
	unsigned int npending;
	struct pacer pacer;
	uint64_t skipped_before_win;
	struct traffic_counts tx_all;
	struct traffic_counts tx_win;

	/* Receiving. */
	struct flowtrack *ft;
	struct sinkrec_writer *rec;
	struct lathist lat; /* first receptions in the window */
	uint64_t rx_frames;  /* everything the port delivered */
	uint64_t rx_nontest;
	uint64_t rx_unique;  /* test frames seen for the first time */
	uint64_t rx_dup;     /* the same flow and seq again */
	uint64_t rx_out_of_range;
	uint64_t rx_bad_csum;
	struct traffic_counts rx_win; /* first receptions in the window */
	uint64_t records; /* written to the record file */
	uint64_t first_rx_ns;
	uint64_t last_rx_ns;

	/* Echo. */
	uint64_t echoed;
	uint64_t echo_dropped;

	struct backoff backoff;
	bool link_up;
	uint32_t link_downs;
	uint64_t link_down_ns; /* when the link last went down */
	bool interrupted;

	struct {
		uint64_t ns, tx, rx;
	} progress_prev; /* the last progress line's counters */
};

/* Prepares r for the run o describes on port p (allocates per-flow state,
 * opens the record file). FALSE and *err on failure. */
bool traffic_run_init(struct traffic_run *r, const struct traffic_opts *o,
		      struct traffic_port *p, GError **err);

/* Runs until the mode's end or until *stop becomes set. */
void traffic_run_loop(struct traffic_run *r, const volatile sig_atomic_t *stop);

/* Writes out and closes the record file; FALSE and *err if records could
 * not all be written. */
bool traffic_run_close_record(struct traffic_run *r, GError **err);

/* Frees what init allocated. */
void traffic_run_free(struct traffic_run *r);

uint64_t traffic_mono_ns(void);

#endif
