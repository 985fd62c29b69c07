// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ftmb-verify: checks sink record files against a middlebox's invariants.
 * Exit status: 0 when everything holds, 1 on a violation (the first one is
 * described with the packets involved), 2 on bad usage or input.
 */
#include <inttypes.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "jsonout.h"
#include "sinkrec.h"
#include "verify.h"

enum { EXIT_HOLDS = 0, EXIT_VIOLATION = 1, EXIT_BAD_INPUT = 2 };

struct cli {
	enum verify_mb mb;
	gint64 nat_idle_ms;
	gboolean json;
	char **files;
};

static gboolean parse_cli(int argc, char **argv, struct cli *c, GError **err)
{
	char *mb = NULL;
	GOptionEntry entries[] = {
		{ "mb", 'm', 0, G_OPTION_ARG_STRING, &mb,
		  "The middlebox whose invariants to check: monitor or nat", "MB" },
		{ "nat-idle-ms", 0, 0, G_OPTION_ARG_INT64, &c->nat_idle_ms,
		  "The NAT's idle expiry: a flow may change its mapping only after a gap this "
		  "long between its packets, by tx time (1000)",
		  "MS" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &c->json, "Print the result as JSON", NULL },
		{ G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &c->files, NULL, NULL },
		{ NULL },
	};
	GOptionContext *ctx = g_option_context_new("RECORD_FILE...");
	gboolean ok;

	c->nat_idle_ms = VERIFY_NAT_IDLE_MS_DEFAULT;
	g_option_context_set_summary(
		ctx, "Checks sink record files (written by ftmb-traffic --record) against the\n"
		     "invariants of a middlebox under failover. Exits 0 when they hold, 1 on\n"
		     "the first violation, 2 on bad input.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	ok = g_option_context_parse(ctx, &argc, &argv, err);
	g_option_context_free(ctx);
	if (ok && (!mb || (strcmp(mb, "monitor") != 0 && strcmp(mb, "nat") != 0))) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--mb must be monitor or nat");
		ok = FALSE;
	}
	if (ok && c->nat_idle_ms < 0) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--nat-idle-ms cannot be negative");
		ok = FALSE;
	}
	if (ok && (!c->files || !c->files[0])) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "name at least one record file");
		ok = FALSE;
	}
	if (ok)
		c->mb = strcmp(mb, "monitor") == 0 ? VERIFY_MONITOR : VERIFY_NAT;
	g_free(mb);
	return ok;
}

static char *ip_str(uint32_t ip)
{
	return g_strdup_printf("%u.%u.%u.%u", ip >> 24, ip >> 16 & 0xff, ip >> 8 & 0xff,
			       ip & 0xff);
}

static void print_packet_human(const struct verify_packet *p)
{
	const struct ftmb_sinkrec *r = p->rec;
	char *ip = ip_str(r->src_ip);

	printf("  %-15s flow %u seq %" PRIu64 " mb_global %" PRIu64 " mb_flow %" PRIu64
	       " src %s:%u tx %.6f s rx %.6f s (%s record %" PRIu64 ")\n",
	       p->role, r->flow, r->seq, r->mb_global, r->mb_flow, ip, r->src_port,
	       (double)r->tx_ns / 1e9, (double)r->rx_ns / 1e9, p->file, p->index);
	g_free(ip);
}

static void print_human(const struct cli *c, const struct verify_result *res)
{
	if (res->kind) {
		printf("ftmb-verify: %s: VIOLATION (%s): %s\n", verify_mb_name(c->mb), res->kind,
		       res->message);
		for (unsigned int i = 0; i < res->npkts; i++)
			print_packet_human(&res->pkts[i]);
		printf("  after %" PRIu64 " records\n", res->records);
		return;
	}
	printf("ftmb-verify: %s: OK: %" PRIu64 " records, %" PRIu64 " packets in %" PRIu64
	       " flows, %" PRIu64 " exact duplicates",
	       verify_mb_name(c->mb), res->records, res->packets, res->flows, res->duplicates);
	if (c->mb == VERIFY_NAT)
		printf(", %" PRIu64 " mapping lifetimes, %" PRIu64 " remapped after expiry",
		       res->lifetimes, res->remaps);
	printf("\n");
}

static void json_packet(JsonBuilder *b, const struct verify_packet *p)
{
	const struct ftmb_sinkrec *r = p->rec;
	char *ip = ip_str(r->src_ip);

	json_builder_begin_object(b);
	jsonout_str(b, "role", p->role);
	jsonout_str(b, "file", p->file);
	jsonout_int(b, "index", p->index);
	jsonout_int(b, "flow", r->flow);
	jsonout_int(b, "seq", r->seq);
	jsonout_int(b, "mb_global", r->mb_global);
	jsonout_int(b, "mb_flow", r->mb_flow);
	jsonout_str(b, "src_ip", ip);
	jsonout_int(b, "src_port", r->src_port);
	jsonout_int(b, "tx_ns", r->tx_ns);
	jsonout_int(b, "rx_ns", r->rx_ns);
	json_builder_end_object(b);
	g_free(ip);
}

static void print_json(const struct cli *c, const struct verify_result *res)
{
	JsonBuilder *b = json_builder_new();

	json_builder_begin_object(b);
	jsonout_str(b, "mb", verify_mb_name(c->mb));
	json_builder_set_member_name(b, "ok");
	json_builder_add_boolean_value(b, res->kind == NULL);
	jsonout_int(b, "records", res->records);
	jsonout_int(b, "packets", res->packets);
	jsonout_int(b, "flows", res->flows);
	jsonout_int(b, "duplicates", res->duplicates);
	if (c->mb == VERIFY_NAT) {
		jsonout_int(b, "lifetimes", res->lifetimes);
		jsonout_int(b, "remaps", res->remaps);
	}
	json_builder_set_member_name(b, "violation");
	if (res->kind) {
		json_builder_begin_object(b);
		jsonout_str(b, "kind", res->kind);
		jsonout_str(b, "message", res->message);
		json_builder_set_member_name(b, "packets");
		json_builder_begin_array(b);
		for (unsigned int i = 0; i < res->npkts; i++)
			json_packet(b, &res->pkts[i]);
		json_builder_end_array(b);
		json_builder_end_object(b);
	} else {
		json_builder_add_null_value(b);
	}
	json_builder_end_object(b);
	jsonout_print(b);
}

int main(int argc, char **argv)
{
	struct cli c = { 0 };
	GError *err = NULL;
	struct verifier *v;
	guint nfiles;
	struct sinkrec_file *files;
	int status = EXIT_HOLDS;

	if (!parse_cli(argc, argv, &c, &err)) {
		fprintf(stderr, "ftmb-verify: %s (see --help)\n", err->message);
		g_error_free(err);
		return EXIT_BAD_INPUT;
	}
	nfiles = g_strv_length(c.files);
	files = g_new0(struct sinkrec_file, nfiles);
	/* Every file is validated before any is checked: bad input is never
	 * reported as a violation. */
	for (guint i = 0; i < nfiles; i++) {
		if (!sinkrec_file_open(c.files[i], &files[i], &err)) {
			fprintf(stderr, "ftmb-verify: %s\n", err->message);
			g_error_free(err);
			status = EXIT_BAD_INPUT;
			nfiles = i;
			goto out;
		}
	}
	v = verifier_new(c.mb, (uint64_t)c.nat_idle_ms * 1000000);
	for (guint i = 0; i < nfiles && verifier_add(v, c.files[i], files[i].recs, files[i].count);
	     i++)
		;
	verifier_finish(v);
	if (verifier_result(v)->records == 0)
		fprintf(stderr, "ftmb-verify: warning: no records: nothing was verified\n");
	if (c.json)
		print_json(&c, verifier_result(v));
	else
		print_human(&c, verifier_result(v));
	status = verifier_result(v)->kind ? EXIT_VIOLATION : EXIT_HOLDS;
	verifier_free(v);
out:
	for (guint i = 0; i < nfiles; i++)
		sinkrec_file_close(&files[i]);
	g_free(files);
	g_strfreev(c.files);
	return status;
}
