// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ftmb-records: prints sink record files (ftmb-traffic --record) as text, one
 * line per released frame, for plots and ad-hoc checks:
 *
 *   # t_ms latency_us flow seq src mb_global mb_flow
 *
 * t_ms is the frame's arrival relative to --t0-ns (CLOCK_MONOTONIC, e.g. the
 * moment a host was killed), or to the first frame when --t0-ns is absent.
 */
#include <arpa/inet.h>
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "sinkrec.h"

static gint64 opt_t0 = -1;

static const GOptionEntry entries[] = {
	{ "t0-ns", 0, 0, G_OPTION_ARG_INT64, &opt_t0,
	  "Time origin (CLOCK_MONOTONIC ns); default: the first frame's arrival", "NS" },
	G_OPTION_ENTRY_NULL
};

static void print_file(const struct sinkrec_file *f, uint64_t *t0)
{
	for (size_t i = 0; i < f->count; i++) {
		const struct ftmb_sinkrec *r = &f->recs[i];
		struct in_addr src = { htonl(r->src_ip) };
		char ip[INET_ADDRSTRLEN];

		if (*t0 == UINT64_MAX)
			*t0 = r->rx_ns;
		inet_ntop(AF_INET, &src, ip, sizeof(ip));
		printf("%.3f %.1f %" PRIu32 " %" PRIu64 " %s:%u %" PRIu64 " %" PRIu64 "\n",
		       ((double)r->rx_ns - (double)*t0) / 1e6, (double)(r->rx_ns - r->tx_ns) / 1e3,
		       r->flow, r->seq, ip, r->src_port, r->mb_global, r->mb_flow);
	}
}

int main(int argc, char **argv)
{
	GOptionContext *ctx = g_option_context_new("RECORD_FILE...");
	uint64_t t0;
	GError *err = NULL;

	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_summary(ctx, "Prints ftmb-traffic record files as text.");
	if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc < 2) {
		fprintf(stderr, "ftmb-records: %s (see --help)\n",
			err ? err->message : "name at least one record file");
		return 2;
	}
	g_option_context_free(ctx);
	t0 = opt_t0 >= 0 ? (uint64_t)opt_t0 : UINT64_MAX;
	for (int i = 1; i < argc; i++) {
		struct sinkrec_file f;

		if (!sinkrec_file_open(argv[i], &f, &err)) {
			fprintf(stderr, "ftmb-records: %s\n", err->message);
			return 2;
		}
		if (i == 1)
			printf("# t_ms latency_us flow seq src mb_global mb_flow\n");
		print_file(&f, &t0);
		sinkrec_file_close(&f);
	}
	return 0;
}
