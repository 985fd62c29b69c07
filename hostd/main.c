// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ftmb-hostd: the per-hypervisor daemon. This file only reads options and the
 * configuration, starts the roles (hostd.h lists them) and runs the main
 * loop until SIGTERM or SIGINT; a deliberate stop tells the backups it is
 * LEAVING, so that they do not fail over.
 */
#include <errno.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hostd.h"

#define DEFAULT_CONFIG "/etc/ftmb/hostd.conf"

static char *opt_config, *opt_name, *opt_listen, *opt_control, *opt_state_dir, *opt_ack_log;
static char **opt_peers;
static int opt_interval = -1, opt_timeout = -1, opt_max_log_mb = -1;
static gboolean opt_check, opt_verbose;

static const GOptionEntry entries[] = {
	{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config,
	  "Configuration file (default " DEFAULT_CONFIG " when it exists)", "PATH" },
	{ "name", 'n', 0, G_OPTION_ARG_STRING, &opt_name, "This host's name", "NAME" },
	{ "listen", 'l', 0, G_OPTION_ARG_STRING, &opt_listen,
	  "Replication and heartbeat address (default 0.0.0.0:7400)", "HOST:PORT" },
	{ "peer", 'p', 0, G_OPTION_ARG_STRING_ARRAY, &opt_peers,
	  "A trusted peer (repeatable)", "NAME=HOST:PORT" },
	{ "control", 0, 0, G_OPTION_ARG_FILENAME, &opt_control,
	  "Control socket (default /run/ftmb/hostd.sock)", "PATH" },
	{ "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_state_dir,
	  "Replay files and replica logs (default /run/ftmb)", "DIR" },
	{ "heartbeat-interval-ms", 0, 0, G_OPTION_ARG_INT, &opt_interval,
	  "Heartbeat interval (default 5)", "MS" },
	{ "failure-timeout-ms", 0, 0, G_OPTION_ARG_INT, &opt_timeout,
	  "Silence after which a primary is declared failed (default 30)", "MS" },
	{ "max-log-mb", 0, 0, G_OPTION_ARG_INT, &opt_max_log_mb,
	  "Memory bound of one instance's log (default 256)", "MB" },
	{ "check-config", 0, 0, G_OPTION_ARG_NONE, &opt_check,
	  "Validate the configuration and exit", NULL },
	{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, "Log debug messages too", NULL },
	{ "ack-log", 0, 0, G_OPTION_ARG_FILENAME, &opt_ack_log,
	  "For tests: a line per ACK sent (ack INSTANCE MONO_NS IN... PAL...), written a line "
	  "at a time so that it survives SIGKILL", "PATH" },
	{ NULL },
};

static const char *level_name(GLogLevelFlags level)
{
	if (level & G_LOG_LEVEL_ERROR)
		return "ERROR";
	if (level & G_LOG_LEVEL_CRITICAL)
		return "CRITICAL";
	if (level & G_LOG_LEVEL_WARNING)
		return "WARNING";
	if (level & G_LOG_LEVEL_MESSAGE)
		return "NOTICE";
	if (level & G_LOG_LEVEL_INFO)
		return "INFO";
	return "DEBUG";
}

/* journald when stderr is the journal; otherwise one timestamped line. */
static GLogWriterOutput write_log(GLogLevelFlags level, const GLogField *fields, gsize n,
				  gpointer data)
{
	const char *msg = "";
	GDateTime *now;
	char *stamp;

	(void)data;
	if (g_log_writer_is_journald(fileno(stderr)))
		return g_log_writer_journald(level, fields, n, NULL);
	if (g_log_writer_default_would_drop(level, G_LOG_DOMAIN))
		return G_LOG_WRITER_HANDLED;
	for (gsize i = 0; i < n; i++)
		if (g_str_equal(fields[i].key, "MESSAGE"))
			msg = fields[i].value;
	now = g_date_time_new_now_local();
	stamp = g_date_time_format(now, "%H:%M:%S.%f");
	fprintf(stderr, "%.12s ftmb-hostd[%d] %s: %s\n", stamp, (int)getpid(), level_name(level),
		msg);
	g_free(stamp);
	g_date_time_unref(now);
	return G_LOG_WRITER_HANDLED;
}

/* Options override the file through the same key parser, so a bad value
 * gets the same message either way. */
static gboolean apply_options(struct hostd_config *cfg, GError **error)
{
	GKeyFile *kf = g_key_file_new();
	gboolean ok = TRUE;

	if (opt_name)
		g_key_file_set_string(kf, "hostd", "name", opt_name);
	if (opt_listen)
		g_key_file_set_string(kf, "hostd", "listen", opt_listen);
	if (opt_control)
		g_key_file_set_string(kf, "hostd", "control_socket", opt_control);
	if (opt_state_dir)
		g_key_file_set_string(kf, "hostd", "state_dir", opt_state_dir);
	if (opt_interval != -1)
		g_key_file_set_integer(kf, "hostd", "heartbeat_interval_ms", opt_interval);
	if (opt_timeout != -1)
		g_key_file_set_integer(kf, "hostd", "failure_timeout_ms", opt_timeout);
	if (opt_max_log_mb != -1)
		g_key_file_set_integer(kf, "hostd", "max_log_mb", opt_max_log_mb);
	ok = hostd_config_load_keyfile(cfg, kf, error);
	for (char **p = opt_peers; ok && p && *p; p++)
		ok = hostd_config_add_peer(cfg, *p, error);
	g_key_file_free(kf);
	return ok;
}

static struct hostd_config *load_config(GError **error)
{
	struct hostd_config *cfg = hostd_config_new();
	const char *path = opt_config;

	if (!path && g_file_test(DEFAULT_CONFIG, G_FILE_TEST_EXISTS))
		path = DEFAULT_CONFIG;
	if ((path && !hostd_config_load_file(cfg, path, error)) || !apply_options(cfg, error) ||
	    !hostd_config_validate(cfg, error)) {
		hostd_config_free(cfg);
		return NULL;
	}
	return cfg;
}

static gboolean on_stop_signal(gpointer data)
{
	struct hostd *h = data;

	g_message("stopping on request; backups are told this is not a failure");
	heartbeat_stop(h);
	g_main_loop_quit(h->loop);
	return G_SOURCE_REMOVE;
}

static gboolean start(struct hostd *h, GError **error)
{
	monitor_init(h);
	instances_init(h);
	if (!backup_start(h, error) || !control_start(h, error))
		return FALSE;
	heartbeat_start(h);
	vm_start_all(h);
	failover_start_reminders(h);
	failover_start_standby(h);
	g_unix_signal_add(SIGTERM, on_stop_signal, h);
	g_unix_signal_add(SIGINT, on_stop_signal, h);
	g_message("ftmb-hostd %s up: generation %" G_GUINT64_FORMAT ", %u peers, %u instances, "
		  "heartbeat %u ms, failure timeout %u ms", h->cfg->name, h->generation,
		  h->cfg->peers->len, g_hash_table_size(h->instances), h->cfg->heartbeat_interval_ms,
		  h->cfg->failure_timeout_ms);
	return TRUE;
}

static void stop(struct hostd *h)
{
	if (h->reminder_tag)
		g_source_remove(h->reminder_tag);
	if (h->instances) {
		vm_stop_all(h);
		failover_stop_standby(h);
	}
	if (h->sessions)
		backup_stop(h);
	control_stop(h);
	/* Let the closed connections free themselves. */
	while (g_main_context_iteration(NULL, FALSE))
		;
	if (h->sessions)
		g_hash_table_destroy(h->sessions);
	if (h->instances)
		instances_free(h);
	if (h->peers)
		monitor_free(h);
	g_main_loop_unref(h->loop);
	g_free(h->accel);
	hostd_config_free(h->cfg);
}

int main(int argc, char **argv)
{
	GOptionContext *ctx = g_option_context_new("- ftmb host daemon: backup, failure detection, failover");
	struct hostd h = { .listen_fd = -1 };
	GError *error = NULL;
	int rc = EXIT_SUCCESS;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		fprintf(stderr, "ftmb-hostd: %s (see --help)\n", error->message);
		return 2;
	}
	g_option_context_free(ctx);
	g_log_set_writer_func(write_log, NULL, NULL);
	if (opt_verbose)
		g_log_set_debug_enabled(TRUE);
	signal(SIGPIPE, SIG_IGN);
	h.cfg = load_config(&error);
	if (!h.cfg) {
		fprintf(stderr, "ftmb-hostd: %s\n", error->message);
		return 2;
	}
	if (opt_check) {
		printf("configuration OK: host %s, %u peers, %u instances\n", h.cfg->name,
		       h.cfg->peers->len, h.cfg->instances->len);
		hostd_config_free(h.cfg);
		return 0;
	}
	if (opt_ack_log && !(h.ack_log = fopen(opt_ack_log, "we"))) {
		fprintf(stderr, "ftmb-hostd: --ack-log %s: %s\n", opt_ack_log, g_strerror(errno));
		return 2;
	}
	if (h.ack_log) /* a test kills the backup too (a second failover) */
		setvbuf(h.ack_log, NULL, _IOLBF, 0);
	h.loop = g_main_loop_new(NULL, FALSE);
	h.generation = (uint64_t)g_get_real_time();
	h.started_us = g_get_monotonic_time();
	if (start(&h, &error)) {
		g_main_loop_run(h.loop);
	} else {
		g_warning("cannot start: %s", error->message);
		g_error_free(error);
		rc = EXIT_FAILURE;
	}
	stop(&h);
	if (h.ack_log)
		fclose(h.ack_log);
	return rc;
}
