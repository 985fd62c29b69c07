// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ftmb-ckpt: receives a VM's checkpoint stream into a store and, when told,
 * restores the stored checkpoint into a fresh QEMU. The backup side of
 * checkpointing as one process, for tests and for operators trying it out.
 *
 *   ftmb-ckpt receive [--fd N] [--json] [--restore] [--fresh-zero BLOCK]...
 *                     [--prefill BLOCK=PATH]... [-- QEMU-ARGV...]
 */
#include <errno.h>
#include <glib.h>
#include <inttypes.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt_parser.h"
#include "ckpt_restore.h"
#include "ckpt_store.h"

#define READ_CHUNK (1u << 20)

struct receiver {
	struct ftmb_ckpt_parser parser;
	struct ftmb_ckpt_store store;
	uint64_t bytes;
	bool json;
};

static int opt_fd;
static gboolean opt_json;
static gboolean opt_restore;
static gchar **opt_fresh_zero;
static gchar **opt_prefill;

static const GOptionEntry options[] = {
	{ "fd", 0, 0, G_OPTION_ARG_INT, &opt_fd, "read the stream from file descriptor N (default 0)",
	  "N" },
	{ "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "print one JSON object per event", NULL },
	{ "restore", 0, 0, G_OPTION_ARG_NONE, &opt_restore,
	  "when the stream has ended, restore the stored checkpoint into QEMU-ARGV (the VM's "
	  "command line) for each line on stdin; a line \"prefill\" also uses --prefill", NULL },
	{ "fresh-zero", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_fresh_zero,
	  "RAM block that is all zero in a fresh QEMU (its zero pages are not sent)", "BLOCK" },
	{ "prefill", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_prefill,
	  "on \"prefill\" restores, write RAM block BLOCK into the new file PATH (its "
	  "memory-backend-file) before QEMU starts instead of streaming it", "BLOCK=PATH" },
	{ NULL },
};

/* Prints an event as "ckpt: EVENT name=value..." or as one JSON object. The
 * varargs are triples (name, type, value), type being 's' (string), 'u'
 * (uint64_t) or 'd' (double), ended by NULL. */
static void report(const struct receiver *r, const char *event, ...)
{
	JsonBuilder *b = json_builder_new();
	GString *human = g_string_new(event);
	const char *name;
	va_list ap;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "event");
	json_builder_add_string_value(b, event);
	va_start(ap, event);
	while ((name = va_arg(ap, const char *))) {
		int type = va_arg(ap, int);

		json_builder_set_member_name(b, name);
		if (type == 's') {
			const char *v = va_arg(ap, const char *);

			json_builder_add_string_value(b, v);
			g_string_append_printf(human, " %s=%s", name, v);
		} else if (type == 'u') {
			uint64_t v = va_arg(ap, uint64_t);

			json_builder_add_int_value(b, (gint64)v);
			g_string_append_printf(human, " %s=%" PRIu64, name, v);
		} else {
			double v = va_arg(ap, double);

			json_builder_add_double_value(b, v);
			g_string_append_printf(human, " %s=%.1f", name, v);
		}
	}
	va_end(ap);
	json_builder_end_object(b);
	if (r->json) {
		JsonGenerator *g = json_generator_new();
		JsonNode *root = json_builder_get_root(b);
		gchar *text;

		json_generator_set_root(g, root);
		text = json_generator_to_data(g, NULL);
		printf("%s\n", text);
		g_free(text);
		json_node_unref(root);
		g_object_unref(g);
	} else {
		printf("ckpt: %s\n", human->str);
	}
	fflush(stdout);
	g_string_free(human, TRUE);
	g_object_unref(b);
}

static int handle_frame(struct receiver *r, const struct ftmb_ckpt_frame *f)
{
	int err;

	if (f->type == FTMB_CKPT_HELLO) {
		const struct ftmb_ckpt_layout *l = &r->parser.layout;
		GString *names = g_string_new(NULL);

		for (unsigned int i = 0; i < l->n_blocks; i++)
			g_string_append_printf(names, "%s%s:%" PRIu64 "K", i ? "," : "", l->block[i].id,
					       l->block[i].used_length >> 10);
		report(r, "hello", "machine", 's', l->machine, "blocks", 's', names->str, NULL);
		g_string_free(names, TRUE);
		return FTMB_OK;
	}
	err = ftmb_ckpt_store_apply(&r->store, &r->parser.layout, f, NULL, 0);
	if (err) {
		report(r, "error", "what", 's', r->store.why, NULL);
		return err;
	}
	report(r, "applied", "seq", 'u', f->seq, "pages", 'u', f->n_pages, "ram_bytes", 'u',
	       f->ram_len, "dev_bytes", 'u', f->dev_len, NULL);
	return FTMB_OK;
}

/* Reads the stream until it ends or fails; the store keeps the last
 * complete checkpoint either way. */
static void receive(struct receiver *r, int fd)
{
	uint8_t *buf = g_malloc(READ_CHUNK);
	struct ftmb_ckpt_frame f;
	int err = FTMB_OK;

	while (!err) {
		ssize_t n = read(fd, buf, READ_CHUNK);
		size_t off = 0, used;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = ftmb_ckpt_parser_finish(&r->parser);
			break;
		}
		r->bytes += (uint64_t)n;
		while (!err && off < (size_t)n) {
			int res = ftmb_ckpt_parser_feed(&r->parser, buf + off, (size_t)n - off, &used, &f);

			off += used;
			if (res < 0)
				err = res;
			else if (res == 1)
				err = handle_frame(r, &f);
		}
	}
	g_free(buf);
	if (err && r->parser.error)
		report(r, "stream-failed", "what", 's', r->parser.why, NULL);
	else if (!err)
		report(r, "stream-ended", "bytes", 'u', r->bytes, NULL);
	report(r, "store", "seq", 'u', r->store.valid ? r->store.seq : 0, NULL);
}

/* Each line on stdin restores the stored checkpoint once (the previous
 * replica must be gone by then); "prefill" also uses the --prefill files. */
static int restore(struct receiver *r, char **argv)
{
	struct ftmb_ckpt_restore_opts opts = { .fresh_zero = (const char *const *)opt_fresh_zero };
	struct ftmb_ckpt_restore_stats st;
	char line[64], why[200];
	pid_t pid;

	while (fgets(line, sizeof(line), stdin)) {
		opts.prefill = strcmp(line, "prefill\n") ? NULL : (const char *const *)opt_prefill;
		if (ftmb_ckpt_restore_spawn(&r->store, argv, &opts, &pid, &st, why, sizeof(why))) {
			report(r, "restore-failed", "what", 's', why, NULL);
			return 1;
		}
		report(r, "restored", "seq", 'u', r->store.seq, "pid", 'u', (uint64_t)pid,
		       "stream_bytes", 'u', st.stream_bytes, "pages", 'u', st.pages, "zero_pages", 'u',
		       st.zero_pages, "prefill_bytes", 'u', st.prefill_bytes, "prefill_ms", 'd',
		       st.prefill_ms, "write_ms", 'd', st.write_ms, "load_ms", 'd', st.load_ms, NULL);
	}
	return 0;
}

int main(int argc, char **argv)
{
	GOptionContext *ctx = g_option_context_new("receive [-- QEMU-ARGV...]");
	GError *error = NULL;
	struct receiver r = { 0 };
	char **qemu_argv = NULL;
	int rc = 0;

	g_option_context_set_summary(ctx, "Receive a VM's checkpoint stream (QMP x-ftmb-start) into a "
				     "store, and restore it into a fresh QEMU.");
	g_option_context_add_main_entries(ctx, options, NULL);
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			qemu_argv = argv + i + 1;
			argc = i;
			break;
		}
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		fprintf(stderr, "ftmb-ckpt: %s (see --help)\n", error->message);
		return 2;
	}
	g_option_context_free(ctx);
	if (argc != 2 || strcmp(argv[1], "receive") || (opt_restore && (!qemu_argv || !*qemu_argv))) {
		fprintf(stderr, "ftmb-ckpt: usage: ftmb-ckpt receive [OPTION...] [--restore -- QEMU-ARGV...]\n");
		return 2;
	}

	r.json = opt_json;
	ftmb_ckpt_parser_init(&r.parser);
	ftmb_ckpt_store_init(&r.store);
	receive(&r, opt_fd);
	if (opt_restore)
		rc = restore(&r, qemu_argv);
	ftmb_ckpt_parser_free(&r.parser);
	ftmb_ckpt_store_free(&r.store);
	g_strfreev(opt_fresh_zero);
	g_strfreev(opt_prefill);
	return rc;
}
