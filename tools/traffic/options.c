// SPDX-License-Identifier: GPL-2.0-or-later
/* ftmb-traffic's command line and EAL defaults. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "options.h"

#define MAX_FLOWS (1u << 22)
#define DURATION_UNSET -1.0

static const char *const mode_names[] = {
	[MODE_GEN] = "generator",
	[MODE_SINK_ONLY] = "sink-only",
	[MODE_SEND_ONLY] = "send-only",
	[MODE_ECHO] = "echo",
};

const char *traffic_mode_name(enum traffic_mode mode)
{
	return mode_names[mode];
}

/* An EAL default, left out when the user gives any of its conflicts. */
struct eal_default {
	const char *args; /* space-separated */
	const char *conflicts[6];
};

static const struct eal_default eal_defaults[] = {
	{ "--no-huge", { "--no-huge", "--huge-dir", "--socket-mem", "--legacy-mem" } },
	{ "-m 256", { "-m", "--socket-mem" } },
	{ "--no-pci", { "--no-pci", "-a", "--allow", "-b", "--block" } },
	{ "--no-telemetry", { "--no-telemetry", "--telemetry" } },
	{ "--log-level=lib.eal:warning", { "--log-level" } },
	{ "--file-prefix=ftmb-traffic-%PID%", { "--file-prefix", "--no-shconf" } },
	/* One lcore, free to run on any allowed CPU: the cores are shared. */
	{ "--lcores=0@(%CPUS%)", { "-l", "--lcores", "-c", "--main-lcore" } },
};

static gboolean user_gave(char **user, const char *key)
{
	size_t n = strlen(key);

	for (; *user; user++) {
		if (strncmp(*user, key, n) != 0)
			continue;
		/* "-m" matches "-m" and "-m256"; "--lcores" matches itself and
		 * "--lcores=..." but not "--lcoresx". */
		if (key[1] != '-' || (*user)[n] == '\0' || (*user)[n] == '=')
			return TRUE;
	}
	return FALSE;
}

static char *allowed_cpus(void)
{
	GString *s = g_string_new(NULL);
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &set))
				g_string_append_printf(s, "%s%d", s->len ? "," : "", c);
	}
	if (s->len == 0)
		g_string_append(s, "0");
	return g_string_free(s, FALSE);
}

static char *expand_default(const char *arg)
{
	char *pid = g_strdup_printf("%d", (int)getpid()), *cpus = allowed_cpus();
	GString *s = g_string_new(arg);

	g_string_replace(s, "%PID%", pid, 0);
	g_string_replace(s, "%CPUS%", cpus, 0);
	g_free(pid);
	g_free(cpus);
	return g_string_free(s, FALSE);
}

static char **build_eal_argv(const char *prog, char **user, struct traffic_opts *o)
{
	GPtrArray *v = g_ptr_array_new();

	g_ptr_array_add(v, g_strdup(prog));
	for (size_t i = 0; i < G_N_ELEMENTS(eal_defaults); i++) {
		const struct eal_default *d = &eal_defaults[i];
		gboolean given = FALSE;
		char **words;

		for (const char *const *c = d->conflicts; *c; c++)
			given |= user_gave(user, *c);
		if (given)
			continue;
		if (strstr(d->args, "%PID%"))
			o->own_runtime_dir = TRUE;
		words = g_strsplit(d->args, " ", -1);
		for (char **w = words; *w; w++)
			g_ptr_array_add(v, expand_default(*w));
		g_strfreev(words);
	}
	for (; *user; user++)
		g_ptr_array_add(v, g_strdup(*user));
	if (o->dev)
		g_ptr_array_add(v, g_strdup_printf("--vdev=%s", o->dev));
	g_ptr_array_add(v, NULL);
	return (char **)g_ptr_array_free(v, FALSE);
}

static gboolean parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) !=
	    6)
		return FALSE;
	for (int i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return FALSE;
		mac[i] = (uint8_t)b[i];
	}
	return TRUE;
}

static gboolean fail(GError **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static gboolean fail(GError **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*err = g_error_new_valist(G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, fmt, ap);
	va_end(ap);
	return FALSE;
}

/* The raw values GOptionContext fills in, checked and converted below. */
struct raw_opts {
	gboolean sink_only, send_only, echo, busy_poll;
	gint flows, size, burst, stop_after_idle, spin_us, max_sleep_us;
	gint64 count, seed;
	char *src_mac, *dst_mac;
};

static gboolean check_opts(struct raw_opts *raw, struct traffic_opts *o, GError **err)
{
	int modes = !!raw->sink_only + !!raw->send_only + !!raw->echo;

	if (modes > 1)
		return fail(err, "--sink-only, --send-only and --echo exclude each other");
	o->mode = raw->sink_only ? MODE_SINK_ONLY :
		  raw->send_only ? MODE_SEND_ONLY :
		  raw->echo	 ? MODE_ECHO :
				   MODE_GEN;
	if (raw->flows < 1 || (guint)raw->flows > MAX_FLOWS)
		return fail(err, "--flows must be 1 to %u", MAX_FLOWS);
	if (raw->size < FTMB_TESTPKT_MIN_FRAME || raw->size > TESTFRAME_MAX)
		return fail(err, "--size must be %d to %d bytes (Ethernet frame without FCS)",
			    FTMB_TESTPKT_MIN_FRAME, TESTFRAME_MAX);
	if (raw->burst < 1 || raw->burst > TRAFFIC_MAX_BURST)
		return fail(err, "--burst must be 1 to %d", TRAFFIC_MAX_BURST);
	if (o->duration == DURATION_UNSET)
		o->duration = o->mode == MODE_GEN || o->mode == MODE_SEND_ONLY ? 5 : 0;
	if (o->rate < 0 || o->duration < 0 || o->warmup < 0 || raw->count < 0)
		return fail(err, "--rate, --duration, --warmup and --count cannot be negative");
	if ((o->mode == MODE_GEN || o->mode == MODE_SEND_ONLY) && o->duration == 0 &&
	    raw->count == 0)
		return fail(err, "a sender needs --duration or --count");
	if (o->record && (o->mode == MODE_SEND_ONLY || o->mode == MODE_ECHO))
		return fail(err, "--record needs a receiving mode (the default or --sink-only)");
	if (raw->stop_after_idle < -1 || raw->spin_us < 0 || raw->max_sleep_us < 0)
		return fail(err, "--stop-after-idle, --spin-us and --max-sleep-us cannot be negative");
	if (raw->src_mac && !parse_mac(raw->src_mac, o->src_mac))
		return fail(err, "--src-mac %s: expected six hex bytes like 02:00:00:00:00:01",
			    raw->src_mac);
	o->src_mac_set = raw->src_mac != NULL;
	if (raw->dst_mac && !parse_mac(raw->dst_mac, o->dst_mac))
		return fail(err, "--dst-mac %s: expected six hex bytes like 02:00:00:00:00:02",
			    raw->dst_mac);
	o->flows = (uint32_t)raw->flows;
	o->size = (uint16_t)raw->size;
	o->burst = (uint16_t)raw->burst;
	o->count = (uint64_t)raw->count;
	o->seed = (uint64_t)raw->seed;
	o->stop_after_idle_ms = raw->stop_after_idle;
	o->spin_ns = (uint64_t)raw->spin_us * 1000;
	o->max_sleep_ns = raw->busy_poll ? 0 : (uint64_t)raw->max_sleep_us * 1000;
	return TRUE;
}

static const char summary[] =
	"A test-traffic generator and sink on one DPDK port (format: ftmb/testpkt.h).\n"
	"\n"
	"EAL arguments go before \"--\". Without them ftmb-traffic runs with\n"
	"  --no-huge -m 256 --no-pci --no-telemetry --log-level=lib.eal:warning\n"
	"  --file-prefix=ftmb-traffic-PID --lcores=0@(allowed CPUs)\n"
	"and any EAL option given replaces the matching default.\n"
	"\n"
	"Examples:\n"
	"  ftmb-traffic -- --dev net_memif0,role=server,socket=/run/gen.sock \\\n"
	"      --flows 64 --rate 100000 --duration 5 --record out.rec --json\n"
	"  ftmb-traffic -- --dev net_memif0,role=client,socket=/run/gen.sock --echo";

gboolean traffic_opts_parse(int argc, char **argv, struct traffic_opts *o, char ***eal_argv,
			    GError **err)
{
	struct raw_opts raw = {
		.flows = 16, .size = FTMB_TESTPKT_MIN_FRAME, .burst = 32, .seed = 1,
		.stop_after_idle = -1, .spin_us = 20, .max_sleep_us = 50,
	};
	GOptionEntry entries[] = {
		{ "dev", 0, 0, G_OPTION_ARG_STRING, &o->dev,
		  "The port: devargs of a virtual device (net_memif0,role=...,socket=..., "
		  "net_af_packet0,iface=..., net_tap0, ...); default: the only port EAL has",
		  "DEVARGS" },
		{ "sink-only", 0, 0, G_OPTION_ARG_NONE, &raw.sink_only,
		  "Record what arrives, send nothing", NULL },
		{ "send-only", 0, 0, G_OPTION_ARG_NONE, &raw.send_only,
		  "Send, and only count what arrives", NULL },
		{ "echo", 0, 0, G_OPTION_ARG_NONE, &raw.echo,
		  "Send every received frame back with its MACs swapped", NULL },
		{ "flows", 'f', 0, G_OPTION_ARG_INT, &raw.flows, "Number of flows (16)", "F" },
		{ "random", 0, 0, G_OPTION_ARG_NONE, &o->random_flows,
		  "Pick each packet's flow at random instead of round-robin", NULL },
		{ "seed", 0, 0, G_OPTION_ARG_INT64, &raw.seed, "Seed for --random (1)", "N" },
		{ "rate", 'r', 0, G_OPTION_ARG_DOUBLE, &o->rate,
		  "Packets per second, 0 = as fast as possible (0)", "PPS" },
		{ "duration", 'd', 0, G_OPTION_ARG_DOUBLE, &o->duration,
		  "Seconds to send after the warm-up (5); with --sink-only or --echo, "
		  "seconds to run (0: until interrupted)",
		  "S" },
		{ "warmup", 'w', 0, G_OPTION_ARG_DOUBLE, &o->warmup,
		  "Seconds sent before measuring; warm-up packets are recorded but not counted "
		  "in rates, loss and latency (0)",
		  "S" },
		{ "count", 'n', 0, G_OPTION_ARG_INT64, &raw.count,
		  "Stop sending after N packets (0 = no limit)", "N" },
		{ "size", 's', 0, G_OPTION_ARG_INT, &raw.size,
		  "Frame size in bytes, without FCS (90, the smallest test frame)", "BYTES" },
		{ "burst", 0, 0, G_OPTION_ARG_INT, &raw.burst, "Packets per TX/RX burst (32)",
		  "N" },
		{ "src-mac", 0, 0, G_OPTION_ARG_STRING, &raw.src_mac,
		  "Source MAC (the port's own)", "MAC" },
		{ "dst-mac", 0, 0, G_OPTION_ARG_STRING, &raw.dst_mac,
		  "Destination MAC (ff:ff:ff:ff:ff:ff)", "MAC" },
		{ "record", 'o', 0, G_OPTION_ARG_FILENAME, &o->record,
		  "Write every received test frame to FILE (sink record format)", "FILE" },
		{ "stop-after-idle", 0, 0, G_OPTION_ARG_INT, &raw.stop_after_idle,
		  "After sending stops, end when nothing arrived for MS (200); with "
		  "--sink-only, end when nothing arrived for MS after the first frame",
		  "MS" },
		{ "link-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &o->link_timeout,
		  "Seconds a sender waits for the link before giving up (10)", "S" },
		{ "go-file", 0, 0, G_OPTION_ARG_FILENAME, &o->go_file,
		  "Once the link is up, wait until FILE exists before sending (so that a test can "
		  "bring up what sits behind the peer first)", "FILE" },
		{ "stop-file", 0, 0, G_OPTION_ARG_FILENAME, &o->stop_file,
		  "Stop sending once FILE exists, or when --duration ends (so that a test can end "
		  "the traffic a while after an event instead of guessing when that comes)",
		  "FILE" },
		{ "spin-us", 0, 0, G_OPTION_ARG_INT, &raw.spin_us,
		  "Keep polling this long after the last packet before sleeping (20)", "US" },
		{ "max-sleep-us", 0, 0, G_OPTION_ARG_INT, &raw.max_sleep_us,
		  "Longest idle sleep between polls (50)", "US" },
		{ "busy-poll", 0, 0, G_OPTION_ARG_NONE, &raw.busy_poll,
		  "Never sleep (for comparison; do not use on shared cores)", NULL },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &o->json, "Print the report as JSON", NULL },
		{ "quiet", 'q', 0, G_OPTION_ARG_NONE, &o->quiet, "No progress lines on stderr",
		  NULL },
		{ NULL },
	};
	GOptionContext *ctx = g_option_context_new("[EAL ARGUMENTS] -- [OPTION...]");
	char **user_eal, **app;
	int sep = 0, app_argc;
	gboolean ok;

	memset(o, 0, sizeof(*o));
	o->duration = DURATION_UNSET;
	o->link_timeout = 10;
	memset(o->dst_mac, 0xff, 6);
	for (int i = 1; i < argc && !sep; i++)
		if (strcmp(argv[i], "--") == 0)
			sep = i;
	user_eal = g_new0(char *, argc + 1);
	app = g_new0(char *, argc + 1);
	for (int i = 1; i < sep; i++)
		user_eal[i - 1] = argv[i];
	app[0] = argv[0];
	app_argc = 1;
	for (int i = sep + 1; i < argc; i++)
		app[app_argc++] = argv[i];

	g_option_context_set_summary(ctx, summary);
	g_option_context_add_main_entries(ctx, entries, NULL);
	ok = g_option_context_parse(ctx, &app_argc, &app, err);
	if (ok && app_argc > 1)
		ok = fail(err, "unexpected argument \"%s\" (EAL arguments go before \"--\")",
			  app[1]);
	ok = ok && check_opts(&raw, o, err);
	if (ok)
		*eal_argv = build_eal_argv(argv[0], user_eal, o);
	g_free(raw.src_mac);
	g_free(raw.dst_mac);
	g_free(user_eal);
	g_free(app);
	g_option_context_free(ctx);
	return ok;
}
