/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What ftmb-traffic prints: a progress line a second on stderr, and the
 * final report on stdout, for people or (--json) for scripts.
 *
 * Rates, loss and latency cover the measured window: packets whose tx_ns
 * falls after the warm-up and before sending stopped. Loss is sent minus
 * received (first receptions) over that window; duplicates are counted
 * apart. Gaps are per-flow holes in the sequence numbers over the whole run.
 * Latency is rx_ns - tx_ns of each first reception.
 */
#ifndef FTMB_TRAFFIC_REPORT_H
#define FTMB_TRAFFIC_REPORT_H

#include "run.h"

void traffic_report_progress(struct traffic_run *r, uint64_t now_ns);

/* record_error: why records are missing from the file, or NULL. */
void traffic_report_print(const struct traffic_run *r, const char *record_error);

#endif
