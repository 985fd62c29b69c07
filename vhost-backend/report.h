/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Statistics output: JSON for scripts, one line per instance for the log. */
#ifndef VHOST_REPORT_H
#define VHOST_REPORT_H

#include <stdint.h>

/* The polling loop's own accounting: time spent in iterations that found
 * work, the per-frame cost of ftmb-vhost whatever else shares the cores. */
struct loop_stats {
	uint64_t iterations;
	uint64_t busy_ns;
};

/* Writes the loop's and every instance's counters as JSON to path
 * (atomically: a temporary file renamed over it). Returns 0 or -1 (logged). */
int report_write_json(const char *path, const struct loop_stats *loop);

/* Logs one human line per instance. */
void report_log_summary(void);

#endif
