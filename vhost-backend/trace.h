/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The release trace (instance key trace=FILE): one line per output the
 * output logger releases, so that a test can check from evidence that no
 * output left before the backup acknowledged what it depends on, and, on a
 * replica, one per output it suppresses because the primary had released it:
 *
 *   rel MONO_NS THREAD OUT_SEQ IN[0..n-1] PAL[0..n-1] HEAD
 *   sup MONO_NS THREAD OUT_SEQ IN[0..n-1] PAL[0..n-1] HEAD
 *
 * MONO_NS is CLOCK_MONOTONIC when the output was handed to the external
 * port (or dropped); HEAD is the hex of frame bytes 42..57 (the first 16
 * payload bytes of an IPv4/UDP frame without options), which lets a checker
 * tie the line to the frame a receiver recorded. Written a line at a time,
 * so that it survives SIGKILL.
 */
#ifndef VHOST_TRACE_H
#define VHOST_TRACE_H

#include <stdint.h>
#include <stdio.h>

#include "ftmb/vclock.h"

struct rte_mbuf;

FILE *trace_open(const char *path);
enum trace_kind {
	TRACE_RELEASED,
	TRACE_SUPPRESSED,
};

void trace_output(FILE *f, enum trace_kind kind, uint16_t thread, uint64_t out_seq,
		  const struct ftmb_vclock *dep, uint16_t n, const struct rte_mbuf *m);
void trace_close(FILE *f);

#endif
