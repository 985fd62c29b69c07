/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Statistics output: JSON for scripts, one line per instance for the log. */
#ifndef VHOST_REPORT_H
#define VHOST_REPORT_H

/* Writes every instance's counters as JSON to path (atomically: a
 * temporary file renamed over it). Returns 0 or -1 (logged). */
int report_write_json(const char *path);

/* Logs one human line per instance. */
void report_log_summary(void);

#endif
