// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ftmb-vhost: serves protected middleboxes' virtio-net queues over
 * vhost-user, logs their inputs and shared-state accesses to a backup, and
 * releases each output once what it depends on is durable there.
 *
 *   ftmb-vhost EAL-OPTIONS -- --instance KEY=VALUE,... [--instance ...]
 *              [--stats FILE]
 *
 * One lcore polls every instance. SIGINT/SIGTERM stop it; SIGUSR1 writes
 * the statistics (--stats) and logs a summary.
 */
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_vhost.h>

#include "inst_config.h"
#include "idle.h"
#include "instance.h"
#include "report.h"
#include "vhost_log.h"

RTE_LOG_REGISTER(ftmb_vhost_logtype, ftmb.vhost, INFO);

static volatile sig_atomic_t quit_requested;
static volatile sig_atomic_t stats_requested;

static void on_quit(int sig)
{
	(void)sig;
	quit_requested = 1;
}

static void on_stats(int sig)
{
	(void)sig;
	stats_requested = 1;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_quit };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_stats;
	sigaction(SIGUSR1, &sa, NULL);
}

struct app_options {
	char **instances;
	char *stats;
};

/* Parses the options after "--" (argv[0] is the program name). Exits on
 * --help and on errors, before EAL starts anything. */
static void parse_app_options(int argc, char **argv, struct app_options *opt)
{
	GOptionEntry entries[] = {
		{ "instance", 'i', 0, G_OPTION_ARG_STRING_ARRAY, &opt->instances,
		  "a protected instance (repeatable; keys below)", "KEY=VALUE,..." },
		{ "stats", 's', 0, G_OPTION_ARG_FILENAME, &opt->stats,
		  "write statistics as JSON to FILE on exit and on SIGUSR1", "FILE" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	GOptionContext *ctx = g_option_context_new("- ftmb vhost-user backend");
	GError *error = NULL;

	g_option_context_set_summary(ctx,
				     "Usage: ftmb-vhost EAL-OPTIONS -- --instance KEY=VALUE,... "
				     "[--stats FILE]\n"
				     "EAL options come first (e.g. -l 0 --no-huge -m 512 "
				     "--file-prefix=ftmb-vhost --no-pci --log-level=ftmb.vhost:debug).");
	g_option_context_set_description(ctx, inst_config_help);
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		fprintf(stderr, "ftmb-vhost: %s (try -- --help)\n", error->message);
		exit(2);
	}
	if (argc > 1) {
		fprintf(stderr, "ftmb-vhost: unexpected argument '%s' (try -- --help)\n", argv[1]);
		exit(2);
	}
	if (!opt->instances || !opt->instances[0]) {
		fprintf(stderr, "ftmb-vhost: no --instance given (try -- --help)\n");
		exit(2);
	}
	g_option_context_free(ctx);
}

/* Checks every instance spec, and that no two share a name, socket, region
 * or port, before EAL starts. */
static uint32_t parse_instances(char **specs, struct inst_config *cfgs)
{
	char err[512];
	uint32_t n = 0;

	for (; specs[n]; n++) {
		if (n == INST_MAX) {
			fprintf(stderr, "ftmb-vhost: at most %u instances\n", INST_MAX);
			exit(2);
		}
		if (inst_config_parse(specs[n], &cfgs[n], err, sizeof(err))) {
			fprintf(stderr, "ftmb-vhost: --instance %s: %s\n", specs[n], err);
			exit(2);
		}
		for (uint32_t j = 0; j < n; j++)
			if (!strcmp(cfgs[j].name, cfgs[n].name) ||
			    !strcmp(cfgs[j].socket, cfgs[n].socket) ||
			    !strcmp(cfgs[j].region, cfgs[n].region) ||
			    !strcmp(cfgs[j].port, cfgs[n].port)) {
				fprintf(stderr,
					"ftmb-vhost: instances %s and %s share a name, socket, region "
					"or port\n",
					cfgs[j].name, cfgs[n].name);
				exit(2);
			}
	}
	return n;
}

/* Splits argv at "--": EAL options before, ours after. */
static int split_args(int argc, char **argv, int *app_argc, char ***app_argv)
{
	static char *help_argv[3];

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			*app_argc = argc - i;
			*app_argv = argv + i;
			(*app_argv)[0] = argv[0];
			return i;
		}
	*app_argc = 1;
	*app_argv = argv;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			help_argv[0] = argv[0];
			help_argv[1] = argv[i];
			*app_argc = 2;
			*app_argv = help_argv;
			return 1;
		}
	return argc;
}

static struct loop_stats loop_stats;

static void run(const char *stats_path)
{
	struct idle idle = { 0 };

	idle_setup();
	VLOG(NOTICE, "serving %u instance(s)", g_n_instances);
	while (!quit_requested) {
		uint64_t now = now_ns(), work = 0;

		for (uint32_t i = 0; i < g_n_instances; i++)
			work += instance_poll(g_instances[i], now);
		instances_quiescent();
		loop_stats.iterations++;
		if (work)
			loop_stats.busy_ns += now_ns() - now;
		if (stats_requested) {
			stats_requested = 0;
			if (stats_path)
				report_write_json(stats_path, &loop_stats);
			report_log_summary();
		}
		idle_step(&idle, work);
	}
}

int main(int argc, char **argv)
{
	static struct inst_config cfgs[INST_MAX];
	struct app_options opt = { 0 };
	char **app_argv, err[1024];
	int app_argc, eal_argc, rc;
	uint32_t n;

	eal_argc = split_args(argc, argv, &app_argc, &app_argv);
	parse_app_options(app_argc, app_argv, &opt);
	n = parse_instances(opt.instances, cfgs);
	install_signals();
	rc = rte_eal_init(eal_argc, argv);
	if (rc < 0) {
		fprintf(stderr, "ftmb-vhost: EAL initialisation failed: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	if (instances_init(err, sizeof(err)))
		goto fail;
	for (uint32_t i = 0; i < n; i++) {
		g_instances[i] = calloc(1, sizeof(struct instance));
		if (!g_instances[i]) {
			snprintf(err, sizeof(err), "out of memory");
			goto fail;
		}
		g_n_instances = i + 1;
		if (instance_create(g_instances[i], &cfgs[i], i, err, sizeof(err)))
			goto fail;
	}
	if (instances_start_vhost(err, sizeof(err)))
		goto fail;
	run(opt.stats);
	instances_loop_done();
	rc = 0;
	goto out;
fail:
	VLOG(ERR, "%s", err);
	rc = 1;
out:
	if (opt.stats)
		report_write_json(opt.stats, &loop_stats);
	report_log_summary();
	for (uint32_t i = 0; i < g_n_instances; i++) {
		instance_destroy(g_instances[i]);
		free(g_instances[i]);
	}
	rte_eal_cleanup();
	g_strfreev(opt.instances);
	g_free(opt.stats);
	return rc;
}
