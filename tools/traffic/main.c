// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ftmb-traffic: the test-traffic generator and sink used by every ftmb test
 * and benchmark. See options.c (or --help) for how to run it, run.h for the
 * packet loop and report.h for what it reports.
 */
#include <stdbool.h>
#include <time.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "options.h"
#include "port.h"
#include "report.h"
#include "run.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static int start_eal(char **eal_argv)
{
	/* rte_eal_init reorders its argv: hand it a copy of the pointers. */
	int argc = (int)g_strv_length(eal_argv);
	char **copy = g_memdup2(eal_argv, sizeof(char *) * (size_t)(argc + 1));
	int rc = rte_eal_init(argc, copy);

	g_free(copy);
	return rc;
}

static int run(const struct traffic_opts *o, struct traffic_port *port)
{
	struct traffic_run r;
	GError *err = NULL;
	int status = 0;

	if (!traffic_run_init(&r, o, port, &err)) {
		fprintf(stderr, "ftmb-traffic: %s\n", err->message);
		g_error_free(err);
		traffic_run_free(&r);
		return 1;
	}
	traffic_run_loop(&r, &stop_requested);
	if (!traffic_run_close_record(&r, &err)) {
		fprintf(stderr, "ftmb-traffic: records lost: %s\n", err->message);
		status = 1;
	}
	traffic_report_print(&r, err ? err->message : NULL);
	g_clear_error(&err);
	traffic_run_free(&r);
	return status;
}

/*
 * Ends the process without tearing the port down: the memif PMD handles
 * its sockets in EAL's interrupt thread, and closing a device while a peer
 * connects to it can crash it (DPDK 22.11). The kernel closes the sockets
 * and frees the memory; the only thing left to clean is EAL's runtime
 * directory under our per-PID prefix.
 */
static G_NORETURN void leave(const struct traffic_opts *o, int status)
{
	const char *dir = rte_eal_get_runtime_dir();
	GDir *d = o->own_runtime_dir && dir ? g_dir_open(dir, 0, NULL) : NULL;
	const char *name;

	if (d) {
		while ((name = g_dir_read_name(d))) {
			char *path = g_build_filename(dir, name, NULL);

			unlink(path);
			g_free(path);
		}
		g_dir_close(d);
		rmdir(dir);
	}
	fflush(stdout);
	fflush(stderr);
	_exit(status);
}

/* Polls for the go file every millisecond: the link stays up meanwhile. */
static bool wait_go_file(const char *path, volatile sig_atomic_t *stop)
{
	const struct timespec ms = { 0, 1000000 };

	while (access(path, F_OK) != 0) {
		if (*stop)
			return false;
		nanosleep(&ms, NULL);
	}
	return true;
}

int main(int argc, char **argv)
{
	struct traffic_opts o;
	struct traffic_port port;
	char **eal_argv = NULL;
	GError *err = NULL;
	int status;

	if (!traffic_opts_parse(argc, argv, &o, &eal_argv, &err)) {
		fprintf(stderr, "ftmb-traffic: %s (see --help)\n", err->message);
		g_error_free(err);
		return 2;
	}
	/* Idle sleeps of a few microseconds must not be stretched to 50. */
	prctl(PR_SET_TIMERSLACK, 1UL);
	catch_signals();
	if (start_eal(eal_argv) < 0) {
		fprintf(stderr, "ftmb-traffic: EAL initialisation failed: %s\n",
			rte_strerror(rte_errno));
		leave(&o, 1);
	}
	if (!traffic_port_open(&port, o.dev, &err)) {
		fprintf(stderr, "ftmb-traffic: %s\n", err->message);
		leave(&o, 1);
	}
	bool waited = !traffic_port_link_up(&port);

	if (!o.quiet && waited)
		fprintf(stderr, "ftmb-traffic: waiting for the link of %s\n", port.name);
	if ((o.mode == MODE_GEN || o.mode == MODE_SEND_ONLY) &&
	    !traffic_port_wait_link(&port, o.link_timeout, &stop_requested)) {
		if (stop_requested)
			fprintf(stderr, "ftmb-traffic: interrupted while waiting for the link\n");
		else
			fprintf(stderr,
				"ftmb-traffic: the link of %s did not come up within %.1f s: is "
				"the peer running? (--link-timeout)\n",
				port.name, o.link_timeout);
		status = 1;
	} else if (o.go_file && !wait_go_file(o.go_file, &stop_requested)) {
		fprintf(stderr, "ftmb-traffic: interrupted while waiting for %s\n", o.go_file);
		status = 1;
	} else {
		if (!o.quiet && waited && traffic_port_link_up(&port))
			fprintf(stderr, "ftmb-traffic: the link of %s is up\n", port.name);
		status = run(&o, &port);
	}
	leave(&o, status);
}
