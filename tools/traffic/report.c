// SPDX-License-Identifier: GPL-2.0-or-later
/* ftmb-traffic's progress lines and final report. */
#include <json-glib/json-glib.h>
#include <inttypes.h>
#include <stdio.h>

#include "jsonout.h"
#include "report.h"

#define GAPS_LISTED 10 /* flows with gaps named in the report */

struct gap_summary {
	uint64_t flows;   /* flows with at least one hole */
	uint64_t missing; /* packets in those holes */
	uint64_t runs;
	uint64_t largest;
	uint32_t listed;
	struct {
		uint32_t flow;
		struct flowtrack_holes h;
	} list[GAPS_LISTED];
};

struct summary {
	double win_s; /* length of the measured window */
	double tx_pps, tx_gbps;
	double rx_pps, rx_gbps;
	int64_t lost;
	double loss_ratio;
	struct gap_summary gaps;
};

static bool is_sender(const struct traffic_run *r)
{
	return r->o->mode == MODE_GEN || r->o->mode == MODE_SEND_ONLY;
}

static double span_s(uint64_t from_ns, uint64_t to_ns)
{
	return to_ns > from_ns ? (double)(to_ns - from_ns) / 1e9 : 0.0;
}

static double window_s(const struct traffic_run *r)
{
	switch (r->o->mode) {
	case MODE_GEN:
	case MODE_SEND_ONLY:
		return span_s(r->win_start_ns, MIN(r->send_end_ns, r->win_end_ns));
	case MODE_SINK_ONLY:
		/* A sink does not know when sending began: it measures from the
		 * first to the last packet of the window. */
		return span_s(MAX(r->win_start_ns, r->first_rx_ns), r->last_rx_ns);
	case MODE_ECHO:
		break;
	}
	return span_s(r->start_ns, r->end_ns);
}

static void add_holes(struct gap_summary *g, uint32_t flow, const struct flowtrack_holes *h)
{
	if (h->missing == 0)
		return;
	g->flows++;
	g->missing += h->missing;
	g->runs += h->runs;
	g->largest = MAX(g->largest, h->largest_run);
	if (g->listed < GAPS_LISTED) {
		g->list[g->listed].flow = flow;
		g->list[g->listed].h = *h;
		g->listed++;
	}
}

/* A generator knows what each flow sent; a sink only what it saw, so
 * packets lost after a flow's last arrival are invisible to it. */
static void find_gaps(const struct traffic_run *r, struct gap_summary *g)
{
	struct flowtrack_holes h;

	memset(g, 0, sizeof(*g));
	if (!r->ft)
		return;
	if (r->sent_hi) {
		for (uint32_t f = 0; f < r->o->flows; f++) {
			flowtrack_holes(r->ft, f, 1, r->sent_hi[f], &h);
			add_holes(g, f, &h);
		}
		return;
	}
	for (uint32_t f = 0; f < flowtrack_flows(r->ft); f++) {
		flowtrack_holes(r->ft, f, 1, flowtrack_max_seq(r->ft, f), &h);
		add_holes(g, f, &h);
	}
}

static double per_s(uint64_t n, double s)
{
	return s > 0 ? (double)n / s : 0.0;
}

static void summarize(const struct traffic_run *r, struct summary *s)
{
	memset(s, 0, sizeof(*s));
	s->win_s = window_s(r);
	s->tx_pps = per_s(r->tx_win.packets, s->win_s);
	s->tx_gbps = per_s(r->tx_win.bytes * 8, s->win_s) / 1e9;
	if (r->o->mode == MODE_ECHO) {
		s->rx_pps = per_s(r->rx_frames, s->win_s);
		return;
	}
	s->rx_pps = per_s(r->rx_win.packets, s->win_s);
	s->rx_gbps = per_s(r->rx_win.bytes * 8, s->win_s) / 1e9;
	find_gaps(r, &s->gaps);
	if (r->o->mode == MODE_GEN) {
		s->lost = (int64_t)r->tx_win.packets - (int64_t)r->rx_win.packets;
		s->loss_ratio = r->tx_win.packets ? (double)s->lost / (double)r->tx_win.packets : 0;
	} else {
		s->lost = (int64_t)s->gaps.missing;
	}
}

void traffic_report_progress(struct traffic_run *r, uint64_t now_ns)
{
	const bool echo = r->o->mode == MODE_ECHO;
	uint64_t rx = echo ? r->echoed : r->rx_unique + r->rx_dup;
	double dt = span_s(r->progress_prev.ns ? r->progress_prev.ns : r->start_ns, now_ns);
	double el = span_s(r->start_ns, now_ns);

	if (is_sender(r))
		fprintf(stderr, "[%6.1f s] tx %.3f Mpps  sent %" PRIu64 "", el,
			per_s(r->tx_all.packets - r->progress_prev.tx, dt) / 1e6,
			r->tx_all.packets);
	else
		fprintf(stderr, "[%6.1f s]", el);
	if (echo)
		fprintf(stderr, " echo %.3f Mpps  echoed %" PRIu64 "  dropped %" PRIu64 "\n",
			per_s(rx - r->progress_prev.rx, dt) / 1e6, r->echoed, r->echo_dropped);
	else if (r->o->mode == MODE_SEND_ONLY)
		fprintf(stderr, "\n");
	else
		fprintf(stderr,
			"  rx %.3f Mpps  received %" PRIu64 "  dup %" PRIu64 "  non-test %" PRIu64
			"%s\n",
			per_s(rx - r->progress_prev.rx, dt) / 1e6, r->rx_unique, r->rx_dup,
			r->rx_nontest, r->link_up ? "" : "  LINK DOWN");
	r->progress_prev.ns = now_ns;
	r->progress_prev.tx = r->tx_all.packets;
	r->progress_prev.rx = rx;
}

static double us(uint64_t ns)
{
	return (double)ns / 1e3;
}

static double cpu_share(const struct traffic_run *r)
{
	double el = span_s(r->start_ns, r->end_ns);

	return el > 0 ? r->cpu_s / el : 0;
}

static void print_cpu(const struct traffic_run *r)
{
	printf("cpu      %.2f s in %.2f s: %.0f%% of one core\n", r->cpu_s,
	       span_s(r->start_ns, r->end_ns), cpu_share(r) * 100);
}

static void print_human(const struct traffic_run *r, const struct summary *s,
			const char *record_error)
{
	const struct traffic_opts *o = r->o;
	const struct lathist *l = &r->lat;

	printf("ftmb-traffic %s on %s: ", traffic_mode_name(o->mode), r->port->name);
	if (is_sender(r))
		printf("%u flows, %u-byte frames, ", o->flows, o->size);
	printf("%.3f s measured after %.3f s warm-up%s\n", s->win_s, o->warmup,
	       r->interrupted ? " (interrupted)" : "");
	if (is_sender(r)) {
		printf("tx       ");
		if (o->rate > 0)
			printf("offered %.4f Mpps  ", o->rate / 1e6);
		else
			printf("offered max  ");
		printf("achieved %.4f Mpps  %.3f Gbit/s  (%" PRIu64 " packets, %" PRIu64
		       " behind schedule, %" PRIu64 " in the whole run)\n",
		       s->tx_pps / 1e6, s->tx_gbps, r->tx_win.packets,
		       r->pacer.skipped - r->skipped_before_win, r->tx_all.packets);
	}
	if (o->mode == MODE_SEND_ONLY) {
		printf("rx       %" PRIu64 " frames received and not examined\n", r->rx_frames);
		print_cpu(r);
		return;
	}
	if (o->mode == MODE_ECHO) {
		printf("echo     %.4f Mpps  (%" PRIu64 " frames, %" PRIu64 " echoed, %" PRIu64
		       " dropped)\n",
		       s->rx_pps / 1e6, r->rx_frames, r->echoed, r->echo_dropped);
		print_cpu(r);
		return;
	}
	printf("rx       %.4f Mpps  %.3f Gbit/s  (%" PRIu64 " packets in the window, %" PRIu64
	       " in the whole run)\n",
	       s->rx_pps / 1e6, s->rx_gbps, r->rx_win.packets, r->rx_unique);
	printf("         %" PRIu64 " duplicates, %" PRIu64 " non-test frames, %" PRIu64
	       " not sent by us, %" PRIu64 " bad IP checksums\n",
	       r->rx_dup, r->rx_nontest, r->rx_out_of_range, r->rx_bad_csum);
	if (o->mode == MODE_GEN)
		printf("loss     %" PRId64 " packets (%.4f%%)", s->lost, s->loss_ratio * 100);
	else
		printf("loss     %" PRId64 " packets inside the sequences seen", s->lost);
	printf("; %" PRIu64 " flows with gaps, %" PRIu64 " missing in %" PRIu64
	       " gaps, largest %" PRIu64 "\n",
	       s->gaps.flows, s->gaps.missing, s->gaps.runs, s->gaps.largest);
	for (uint32_t i = 0; i < s->gaps.listed; i++)
		printf("         flow %u: %" PRIu64 " missing from seq %" PRIu64 "\n",
		       s->gaps.list[i].flow, s->gaps.list[i].h.missing,
		       s->gaps.list[i].h.first_missing);
	printf("latency  us: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  (min %.1f, mean "
	       "%.1f, %" PRIu64 " samples)\n",
	       us(lathist_quantile(l, 0.5)), us(lathist_quantile(l, 0.9)),
	       us(lathist_quantile(l, 0.99)), us(lathist_quantile(l, 0.999)), us(l->max),
	       us(l->n ? l->min : 0), lathist_mean(l) / 1e3, l->n);
	if (o->record)
		printf("records  %" PRIu64 " written to %s%s%s\n", r->records, o->record,
		       record_error ? ": INCOMPLETE, " : "", record_error ? record_error : "");
	if (r->link_downs)
		printf("link     went down %u times\n", r->link_downs);
	print_cpu(r);
}

static void json_counts(JsonBuilder *b, const char *name, const struct traffic_counts *c)
{
	json_builder_set_member_name(b, name);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "packets");
	json_builder_add_int_value(b, (gint64)c->packets);
	json_builder_set_member_name(b, "bytes");
	json_builder_add_int_value(b, (gint64)c->bytes);
	json_builder_end_object(b);
}

static void json_latency(JsonBuilder *b, const struct lathist *l)
{
	json_builder_set_member_name(b, "latency_us");
	json_builder_begin_object(b);
	jsonout_int(b, "samples", l->n);
	jsonout_double(b, "min", us(l->n ? l->min : 0));
	jsonout_double(b, "mean", lathist_mean(l) / 1e3);
	jsonout_double(b, "p50", us(lathist_quantile(l, 0.5)));
	jsonout_double(b, "p90", us(lathist_quantile(l, 0.9)));
	jsonout_double(b, "p99", us(lathist_quantile(l, 0.99)));
	jsonout_double(b, "p99_9", us(lathist_quantile(l, 0.999)));
	jsonout_double(b, "max", us(l->max));
	json_builder_end_object(b);
}

static void json_loss(JsonBuilder *b, const struct summary *s)
{
	json_builder_set_member_name(b, "loss");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "packets");
	json_builder_add_int_value(b, s->lost);
	jsonout_double(b, "ratio", s->loss_ratio);
	jsonout_int(b, "flows_with_gaps", s->gaps.flows);
	jsonout_int(b, "missing", s->gaps.missing);
	jsonout_int(b, "gaps", s->gaps.runs);
	jsonout_int(b, "largest_gap", s->gaps.largest);
	json_builder_set_member_name(b, "flows");
	json_builder_begin_array(b);
	for (uint32_t i = 0; i < s->gaps.listed; i++) {
		json_builder_begin_object(b);
		jsonout_int(b, "flow", s->gaps.list[i].flow);
		jsonout_int(b, "missing", s->gaps.list[i].h.missing);
		jsonout_int(b, "gaps", s->gaps.list[i].h.runs);
		jsonout_int(b, "first_missing", s->gaps.list[i].h.first_missing);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
}

static void json_tx(JsonBuilder *b, const struct traffic_run *r, const struct summary *s)
{
	json_builder_set_member_name(b, "tx");
	json_builder_begin_object(b);
	jsonout_double(b, "offered_pps", r->o->rate);
	jsonout_double(b, "mpps", s->tx_pps / 1e6);
	jsonout_double(b, "gbps", s->tx_gbps);
	jsonout_int(b, "packets", r->tx_win.packets);
	jsonout_int(b, "bytes", r->tx_win.bytes);
	jsonout_int(b, "behind_schedule", r->pacer.skipped - r->skipped_before_win);
	json_counts(b, "whole_run", &r->tx_all);
	json_builder_end_object(b);
}

static void json_rx(JsonBuilder *b, const struct traffic_run *r, const struct summary *s)
{
	json_builder_set_member_name(b, "rx");
	json_builder_begin_object(b);
	jsonout_double(b, "mpps", s->rx_pps / 1e6);
	jsonout_double(b, "gbps", s->rx_gbps);
	jsonout_int(b, "packets", r->rx_win.packets);
	jsonout_int(b, "bytes", r->rx_win.bytes);
	jsonout_int(b, "unique_whole_run", r->rx_unique);
	jsonout_int(b, "frames", r->rx_frames);
	jsonout_int(b, "duplicates", r->rx_dup);
	jsonout_int(b, "non_test", r->rx_nontest);
	jsonout_int(b, "not_sent_by_us", r->rx_out_of_range);
	jsonout_int(b, "bad_ip_checksum", r->rx_bad_csum);
	jsonout_int(b, "echoed", r->echoed);
	jsonout_int(b, "echo_dropped", r->echo_dropped);
	json_builder_end_object(b);
}

static void print_json(const struct traffic_run *r, const struct summary *s,
		       const char *record_error)
{
	const struct traffic_opts *o = r->o;
	JsonBuilder *b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "mode");
	json_builder_add_string_value(b, traffic_mode_name(o->mode));
	json_builder_set_member_name(b, "port");
	json_builder_add_string_value(b, r->port->name);
	jsonout_int(b, "flows", o->flows);
	jsonout_int(b, "frame_size", o->size);
	jsonout_double(b, "warmup_s", o->warmup);
	jsonout_double(b, "window_s", s->win_s);
	json_builder_set_member_name(b, "interrupted");
	json_builder_add_boolean_value(b, r->interrupted);
	jsonout_int(b, "link_downs", r->link_downs);
	jsonout_double(b, "cpu_s", r->cpu_s);
	jsonout_double(b, "cpu_share", cpu_share(r));
	json_tx(b, r, s);
	json_rx(b, r, s);
	json_loss(b, s);
	json_latency(b, &r->lat);
	json_builder_set_member_name(b, "record");
	json_builder_begin_object(b);
	jsonout_str(b, "file", o->record);
	jsonout_int(b, "records", r->records);
	jsonout_str(b, "error", record_error);
	json_builder_end_object(b);
	json_builder_end_object(b);

	jsonout_print(b);
}

void traffic_report_print(const struct traffic_run *r, const char *record_error)
{
	struct summary s;

	summarize(r, &s);
	if (r->o->json)
		print_json(r, &s, record_error);
	else
		print_human(r, &s, record_error);
	fflush(stdout);
}
