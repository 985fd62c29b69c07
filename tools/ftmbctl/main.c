// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ftmbctl: the operator's view of ftmb-hostd, over its control socket
 * (hostd/CONTROL.md). One command per run: build the request, send it, print
 * the answer as tables (show.h) or, with --json, as the daemon's JSON.
 *
 * Exit codes: 0 done; 1 the daemon refused the request or reported an error
 * (also: no such instance); 2 usage, connection or protocol errors.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "fields.h"
#include "show.h"

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2 };

struct command {
	const char *name;
	const char *args;	   /* for usage */
	const char *what;	   /* for --help */
	const char *members[2];	   /* request members the arguments fill, in order */
	guint min_args, max_args;
	guint timeout_s;	   /* default answer deadline */
	gboolean operation;	   /* changes something: show progress while waiting */
	void (*show)(JsonObject *answer, FILE *out);
};

static const struct command commands[] = {
	{ "status", "", "this host, its peers, its instances and their failovers",
	  { NULL }, 0, 0, 10, FALSE, show_status },
	{ "list", "", "the instances, their roles and states", { NULL }, 0, 0, 10, FALSE,
	  show_list },
	{ "stats", "[INSTANCE]", "replication counters, of all instances or one",
	  { "instance" }, 0, 1, 10, FALSE, show_stats },
	{ "checkpoint", "INSTANCE", "take a checkpoint of INSTANCE now", { "instance" }, 1, 1, 60,
	  TRUE, show_checkpoint },
	{ "failover", "INSTANCE", "planned failover of INSTANCE to its backup", { "instance" },
	  1, 1, 300, TRUE, show_failover },
	{ "migrate", "INSTANCE HOST", "move INSTANCE's primary to HOST",
	  { "instance", "host" }, 2, 2, 900, TRUE, show_migrate },
};

static const struct command *find_command(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static char *commands_help(void)
{
	GString *s = g_string_new("Commands:\n");

	for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
		char *use = g_strdup_printf("%s %s", commands[i].name, commands[i].args);

		g_string_append_printf(s, "  %-26s %s\n", use, commands[i].what);
		g_free(use);
	}
	g_string_append(s, "\nExit status: 0 done, 1 ftmb-hostd refused or reported an error, "
			   "2 usage or connection error.");
	return g_string_free(s, FALSE);
}

/* {"cmd":NAME, MEMBER:ARG...} */
static char *build_request(const struct command *c, char **args, guint n_args)
{
	JsonBuilder *b = json_builder_new();
	JsonGenerator *gen = json_generator_new();
	JsonNode *root;
	char *text;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "cmd");
	json_builder_add_string_value(b, c->name);
	for (guint i = 0; i < n_args; i++) {
		json_builder_set_member_name(b, c->members[i]);
		json_builder_add_string_value(b, args[i]);
	}
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	text = json_generator_to_data(gen, NULL);
	json_node_unref(root);
	g_object_unref(gen);
	g_object_unref(b);
	return text;
}

struct progress {
	const char *what;
	gboolean shown;
};

/* On a terminal, a line that counts the seconds of a long operation. */
static void show_progress(guint seconds, gpointer data)
{
	struct progress *p = data;

	fprintf(stderr, "\r%s: waiting for ftmb-hostd, %u s", p->what, seconds);
	fflush(stderr);
	p->shown = TRUE;
}

static gboolean names_instance(const struct command *c, guint n_args)
{
	return n_args > 0 && strcmp(c->members[0], "instance") == 0;
}

/* Narrows an "instances" answer to the one named, as the daemon would if
 * it filtered by the request's "instance" (hostd/CONTROL.md, proposed).
 * FALSE when the answer has no such instance. */
static gboolean keep_instance(struct ctl_answer *a, const char *name)
{
	JsonObject *inst = field_instance(a->root, name);
	JsonArray *one;

	if (!inst)
		return FALSE;
	one = json_array_new();
	json_array_add_object_element(one, json_object_ref(inst));
	json_object_set_array_member(a->root, "instances", one);
	g_clear_pointer(&a->line, g_free); /* no longer what the daemon said */
	return TRUE;
}

static void print_node(JsonNode *root)
{
	JsonGenerator *gen = json_generator_new();
	char *text;

	json_generator_set_root(gen, root);
	text = json_generator_to_data(gen, NULL);
	puts(text);
	g_free(text);
	g_object_unref(gen);
}

/* The daemon's answer as it came, unless ftmbctl narrowed it. */
static void print_json(struct ctl_answer *a)
{
	if (a->line)
		puts(a->line);
	else
		print_node(json_parser_get_root(a->parser));
}

/* Prints a refusal: with --json the daemon's answer goes to stdout as well,
 * so that a script reads one document whatever happened. */
static int refused(const struct command *c, struct ctl_answer *a, gboolean json)
{
	const char *error = a->error;

	if (json)
		print_json(a);
	fprintf(stderr, "ftmbctl: ftmb-hostd refused %s: %s\n", c->name, error);
	if (g_str_has_prefix(error, "unknown cmd"))
		fprintf(stderr, "ftmbctl: this ftmb-hostd does not implement \"%s\" yet "
				"(hostd/CONTROL.md lists what it serves)\n", c->name);
	return EXIT_REFUSED;
}

/* Refused here rather than by the daemon: it has no such instance. With
 * --json, the error is a document like the daemon's own refusals. */
static int no_instance(const char *name, gboolean json)
{
	char *error = g_strdup_printf("no instance %s on this host (ftmbctl list shows them)",
				      name);

	if (json) {
		JsonObject *o = json_object_new();
		JsonNode *root = json_node_init_object(json_node_alloc(), o);

		json_object_set_boolean_member(o, "ok", FALSE);
		json_object_set_string_member(o, "error", error);
		print_node(root);
		json_node_unref(root);
		json_object_unref(o);
	}
	fprintf(stderr, "ftmbctl: %s\n", error);
	g_free(error);
	return EXIT_REFUSED;
}

static int run(const struct command *c, char **args, guint n_args, const char *socket_path,
	       guint timeout_s, gboolean json)
{
	char *request = build_request(c, args, n_args);
	struct progress p = { .what = c->name };
	gboolean tty = c->operation && isatty(STDERR_FILENO);
	struct ctl_answer a;
	GError *error = NULL;
	gboolean answered;
	int rc = EXIT_OK;

	answered = ctl_request(socket_path, request, timeout_s ?: c->timeout_s,
			       tty ? show_progress : NULL, &p, &a, &error);
	if (p.shown)
		fputs("\r\033[K", stderr); /* erase the progress line */
	g_free(request);
	if (!answered) {
		fprintf(stderr, "ftmbctl: %s\n", error->message);
		g_error_free(error);
		return EXIT_USAGE;
	}
	if (!a.ok)
		rc = refused(c, &a, json);
	else if (names_instance(c, n_args) && field_array(a.root, "instances") &&
		 !keep_instance(&a, args[0]))
		rc = no_instance(args[0], json);
	else if (json)
		print_json(&a);
	else
		c->show(a.root, stdout);
	ctl_answer_clear(&a);
	return rc;
}

int main(int argc, char **argv)
{
	char *socket_path = NULL;
	gboolean json = FALSE;
	gint timeout_s = 0;
	GOptionEntry options[] = {
		{ "socket", 's', 0, G_OPTION_ARG_FILENAME, &socket_path,
		  "ftmb-hostd's control socket (default " CTL_DEFAULT_SOCKET ")", "PATH" },
		{ "json", 'j', 0, G_OPTION_ARG_NONE, &json,
		  "print the daemon's answer as one JSON document", NULL },
		{ "timeout", 't', 0, G_OPTION_ARG_INT, &timeout_s,
		  "seconds to wait for the answer (default: 10, longer for operations)",
		  "SECONDS" },
		{ NULL }
	};
	GOptionContext *ctx = g_option_context_new("COMMAND [ARGUMENTS] - watch and drive ftmb-hostd");
	char *help = commands_help();
	const struct command *c = NULL;
	GError *error = NULL;
	guint n_args;
	int rc = EXIT_USAGE;

	g_option_context_add_main_entries(ctx, options, NULL);
	g_option_context_set_description(ctx, help);
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		fprintf(stderr, "ftmbctl: %s (ftmbctl --help)\n", error->message);
		g_error_free(error);
		goto out;
	}
	n_args = argc > 2 ? (guint)argc - 2 : 0;
	if (argc < 2)
		fprintf(stderr, "ftmbctl: which command? (ftmbctl --help lists them)\n");
	else if (!(c = find_command(argv[1])))
		fprintf(stderr, "ftmbctl: unknown command \"%s\" (ftmbctl --help lists them)\n",
			argv[1]);
	else if (n_args < c->min_args || n_args > c->max_args)
		fprintf(stderr, "ftmbctl: usage: ftmbctl %s %s\n", c->name, c->args);
	else if (timeout_s < 0)
		fprintf(stderr, "ftmbctl: --timeout must be positive\n");
	else
		rc = run(c, argv + 2, n_args, socket_path ?: CTL_DEFAULT_SOCKET, (guint)timeout_s,
			 json);
out:
	g_free(help);
	g_free(socket_path);
	g_option_context_free(ctx);
	return rc;
}
