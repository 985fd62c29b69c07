// SPDX-License-Identifier: GPL-2.0-or-later
#include <time.h>

#include <rte_mbuf.h>

#include "trace.h"

#define HEAD_OFF 42u
#define HEAD_LEN 16u

FILE *trace_open(const char *path)
{
	FILE *f = fopen(path, "we");

	/* A line at a time: the trace of a process killed with SIGKILL (the
	 * failure tests) must hold every release it made. */
	if (f)
		setvbuf(f, NULL, _IOLBF, 1 << 16);
	return f;
}

void trace_output(FILE *f, enum trace_kind kind, uint16_t thread, uint64_t out_seq,
		  const struct ftmb_vclock *dep, uint16_t n, const struct rte_mbuf *m)
{
	uint8_t buf[HEAD_LEN];
	const uint8_t *head = NULL;
	struct timespec ts;

	/* CLOCK_MONOTONIC, not the loop's TSC clock: other processes' logs
	 * are compared against it. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (rte_pktmbuf_pkt_len(m) >= HEAD_OFF + HEAD_LEN)
		head = rte_pktmbuf_read(m, HEAD_OFF, HEAD_LEN, buf);
	fprintf(f, "%s %" PRIu64 " %u %" PRIu64, kind == TRACE_RELEASED ? "rel" : "sup",
		(uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec, thread, out_seq);
	for (uint16_t i = 0; i < n; i++)
		fprintf(f, " %" PRIu64, dep->in[i]);
	for (uint16_t i = 0; i < n; i++)
		fprintf(f, " %" PRIu64, dep->pal[i]);
	fputc(' ', f);
	for (uint32_t i = 0; i < HEAD_LEN; i++)
		fprintf(f, "%02x", head ? head[i] : 0);
	fputc('\n', f);
}

void trace_close(FILE *f)
{
	if (f)
		fclose(f);
}
