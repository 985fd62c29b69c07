// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ftmb-ping: the bare request/response round trip to a backup over the
 * replication transport, the floor that ftmb's added latency is compared
 * against. It connects like a primary hostd (HELLO role HOSTD), sends
 * HEARTBEATs one at a time, waits for each echo, and reports the round-trip
 * distribution in microseconds.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hostd.h"
#include "net.h"

static int opt_count = 1000, opt_warmup = 100, opt_interval_us;
static char *opt_name;
static gboolean opt_json;

static const GOptionEntry entries[] = {
	{ "count", 'c', 0, G_OPTION_ARG_INT, &opt_count, "Round trips measured (default 1000)", "N" },
	{ "warmup", 'w', 0, G_OPTION_ARG_INT, &opt_warmup,
	  "Round trips first, not measured (default 100)", "N" },
	{ "interval-us", 'i', 0, G_OPTION_ARG_INT, &opt_interval_us,
	  "Pause between round trips (default 0)", "US" },
	{ "name", 'n', 0, G_OPTION_ARG_STRING, &opt_name, "Name sent in HELLO (default ftmb-ping)",
	  "NAME" },
	{ "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "One JSON object instead of text", NULL },
	{ NULL },
};

struct link {
	int fd;
	struct ftmb_repl_decoder dec;
	uint8_t *buf;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...) G_GNUC_PRINTF(1, 2) G_GNUC_NORETURN;
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("ftmb-ping: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void send_all(struct link *l, const uint8_t *buf, int len)
{
	if (len < 0 || send(l->fd, buf, (size_t)len, MSG_NOSIGNAL) != len)
		die("send: %s", len < 0 ? ftmb_strerror(len) : g_strerror(errno));
}

/* Blocks until one whole frame has arrived. */
static void next_frame(struct link *l, struct ftmb_repl_frame *f)
{
	int rc;

	while ((rc = ftmb_repl_decoder_next(&l->dec, f)) == 0) {
		uint8_t *where;
		size_t space = ftmb_repl_decoder_space(&l->dec, &where);
		ssize_t n = recv(l->fd, where, space, 0);

		if (n == 0)
			die("the backup closed the connection (is this host in its [peers]?)");
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("recv: %s", errno == EAGAIN ? "no answer within 2 s" : g_strerror(errno));
		ftmb_repl_decoder_commit(&l->dec, (size_t)n);
	}
	if (rc < 0)
		die("bad frame from the backup: %s", ftmb_strerror(rc));
}

static void handshake(struct link *l, const char *name)
{
	struct ftmb_repl_hello hello = { .role = FTMB_ROLE_HOSTD, .n_threads = 1, .n_vars = 1 };
	struct ftmb_repl_frame f;
	uint8_t buf[256];
	int rc;

	if (!hostd_valid_name(name))
		die("--name %s: 1 to %u of A-Z a-z 0-9 . _ -", name, FTMB_INSTANCE_MAX);
	g_strlcpy(hello.instance, name, sizeof(hello.instance));
	hello.generation = now_ns();
	send_all(l, buf, ftmb_repl_put_hello(buf, sizeof(buf), &hello));
	next_frame(l, &f);
	rc = ftmb_repl_get_hello(&f, &hello);
	if (rc || hello.role != FTMB_ROLE_BACKUP)
		die("the peer did not answer as a backup: %s",
		    rc ? ftmb_strerror(rc) : "role is not BACKUP");
}

/* One heartbeat and its echo; returns the round trip in ns. */
static uint64_t round_trip(struct link *l, uint64_t seq)
{
	struct ftmb_repl_heartbeat hb = { .seq = seq, .state = FTMB_HB_PROBE }, echo;
	struct ftmb_repl_frame f;
	uint8_t buf[64];
	int rc;

	hb.time_ns = now_ns();
	send_all(l, buf, ftmb_repl_put_heartbeat(buf, sizeof(buf), &hb));
	next_frame(l, &f);
	rc = ftmb_repl_get_heartbeat(&f, &echo);
	if (rc)
		die("expected a HEARTBEAT echo, got %s: %s", ftmb_repl_type_name(f.type),
		    ftmb_strerror(rc));
	if (echo.seq != hb.seq || echo.time_ns != hb.time_ns)
		die("echo %" G_GUINT64_FORMAT " does not match heartbeat %" G_GUINT64_FORMAT, echo.seq,
		    hb.seq);
	return now_ns() - hb.time_ns;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted values, in µs. */
static double pct_us(const uint64_t *v, size_t n, double p)
{
	size_t rank = (size_t)ceil(p * (double)n);

	return (double)v[rank ? rank - 1 : 0] / 1000.0;
}

static void report(const char *target, uint64_t *rtt, size_t n)
{
	double p50, p90, p99, min, max;

	qsort(rtt, n, sizeof(*rtt), cmp_u64);
	p50 = pct_us(rtt, n, 0.50);
	p90 = pct_us(rtt, n, 0.90);
	p99 = pct_us(rtt, n, 0.99);
	min = (double)rtt[0] / 1000.0;
	max = (double)rtt[n - 1] / 1000.0;
	if (opt_json)
		printf("{\"target\":\"%s\",\"count\":%zu,\"p50_us\":%.1f,\"p90_us\":%.1f,"
		       "\"p99_us\":%.1f,\"min_us\":%.1f,\"max_us\":%.1f}\n",
		       target, n, p50, p90, p99, min, max);
	else
		printf("ftmb-ping %s: %zu heartbeat round trips: p50 %.1f us, p90 %.1f us, "
		       "p99 %.1f us, min %.1f us, max %.1f us\n",
		       target, n, p50, p90, p99, min, max);
}

int main(int argc, char **argv)
{
	GOptionContext *ctx = g_option_context_new("HOST:PORT - round trips to an ftmb-hostd");
	struct timeval timeout = { .tv_sec = 2 };
	struct net_address addr;
	struct link l;
	GError *error = NULL;
	uint64_t *rtt;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error))
		die("%s (see --help)", error->message);
	if (argc != 2)
		die("give one HOST:PORT (see --help)");
	if (opt_count < 1 || opt_warmup < 0 || opt_interval_us < 0)
		die("--count must be at least 1, --warmup and --interval-us not negative");
	if (!net_parse_address(argv[1], HOSTD_DEFAULT_PORT, &addr, &error))
		die("%s", error->message);
	l.fd = net_connect(&addr, FALSE, &error);
	if (l.fd < 0)
		die("%s", error->message);
	setsockopt(l.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	l.buf = g_malloc(FTMB_REPL_HDR_LEN + FTMB_REPL_MAX_PAYLOAD);
	ftmb_repl_decoder_init(&l.dec, l.buf, FTMB_REPL_HDR_LEN + FTMB_REPL_MAX_PAYLOAD);
	handshake(&l, opt_name ? opt_name : "ftmb-ping");
	rtt = g_new(uint64_t, (gsize)opt_count);
	for (int i = 0; i < opt_warmup + opt_count; i++) {
		uint64_t t = round_trip(&l, (uint64_t)i + 1);

		if (i >= opt_warmup)
			rtt[i - opt_warmup] = t;
		if (opt_interval_us)
			g_usleep((gulong)opt_interval_us);
	}
	report(argv[1], rtt, (size_t)opt_count);
	close(l.fd);
	g_free(rtt);
	g_free(l.buf);
	g_option_context_free(ctx);
	return 0;
}
