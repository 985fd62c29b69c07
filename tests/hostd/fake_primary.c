// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A fake primary for the integration tests of ftmb-hostd, built on the
 * replication codec:
 *
 *   fake-primary stream ADDR INSTANCE [options]
 *       streams INPUT and PAL frames of one instance (HELLO role VHOST) and
 *       exits 0 once the backup's ACKs cover all of them; with
 *       --heartbeat-as PEER it also heartbeats as that primary hostd for
 *       --beat-ms, then falls silent and keeps its sockets open --linger-ms;
 *       with --lockstep it sends one input at a time and reports the
 *       input-to-ACK round trip.
 *   fake-primary bad ADDR INSTANCE --kind KIND
 *       sends a valid start, then one bad thing (crc, garbage, version, gap,
 *       queue, overmem) and exits 0 when the backup closes the connection
 *       (none sends nothing bad: the checker's negative control).
 *   fake-primary verify-dump FILE INSTANCE --queues N --inputs K --pals K
 *       checks that a replay file holds exactly the frames that stream sent
 *       (after --cut-at, if it cut).
 *
 * Packet bytes and records are a function of (queue, seq) and (thread,
 * counter), so that verify-dump can check every byte.
 */
#include <errno.h>
#include <glib.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ftmb/le.h"
#include "ftmb/repl.h"
#include "hostd.h"
#include "net.h"

#define BUF_LEN (FTMB_REPL_HDR_LEN + FTMB_REPL_MAX_PAYLOAD)
#define N_VARS 8u
#define PAL_BATCH 64u

static int opt_queues = 2, opt_inputs = 1000, opt_pals = 1000, opt_cut_at, opt_beat_ms,
	   opt_linger_ms, opt_lockstep, opt_pace_us;
static char *opt_heartbeat_as, *opt_kind;
static gint64 opt_generation = 1;

static const GOptionEntry entries[] = {
	{ "queues", 'q', 0, G_OPTION_ARG_INT, &opt_queues, "RX queues = threads (default 2)", "N" },
	{ "inputs", 0, 0, G_OPTION_ARG_INT, &opt_inputs, "Inputs per queue (default 1000)", "K" },
	{ "pals", 0, 0, G_OPTION_ARG_INT, &opt_pals, "PAL records per thread (default 1000)", "K" },
	{ "cut-at", 0, 0, G_OPTION_ARG_INT, &opt_cut_at,
	  "After sending everything, CUT at this input seq and PAL counter", "S" },
	{ "generation", 0, 0, G_OPTION_ARG_INT64, &opt_generation, "Instance generation", "G" },
	{ "pace-us", 0, 0, G_OPTION_ARG_INT, &opt_pace_us, "Sleep between inputs", "US" },
	{ "lockstep", 0, 0, G_OPTION_ARG_INT, &opt_lockstep,
	  "Then N inputs one at a time, each waiting for its ACK", "N" },
	{ "heartbeat-as", 0, 0, G_OPTION_ARG_STRING, &opt_heartbeat_as,
	  "Also heartbeat as this primary hostd", "PEER" },
	{ "beat-ms", 0, 0, G_OPTION_ARG_INT, &opt_beat_ms, "Heartbeat for this long", "MS" },
	{ "linger-ms", 0, 0, G_OPTION_ARG_INT, &opt_linger_ms,
	  "Keep the connections open this long after the end", "MS" },
	{ "kind", 0, 0, G_OPTION_ARG_STRING, &opt_kind,
	  "bad: crc, garbage, version, gap, queue or overmem", "KIND" },
	{ NULL },
};

struct link {
	int fd;
	struct ftmb_repl_decoder dec;
	uint8_t *in;
	uint8_t *out;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

G_GNUC_PRINTF(1, 2) G_GNUC_NORETURN static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("fake-primary: FAIL: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(1);
}

/* Receives time out after timeout_s seconds. */
static void link_open(struct link *l, const char *addr_text, int timeout_s)
{
	struct net_address addr;
	GError *error = NULL;
	struct timeval timeout = { .tv_sec = timeout_s };

	if (!net_parse_address(addr_text, HOSTD_DEFAULT_PORT, &addr, &error))
		die("%s", error->message);
	l->fd = net_connect(&addr, FALSE, &error);
	if (l->fd < 0)
		die("%s", error->message);
	setsockopt(l->fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	l->in = g_malloc(BUF_LEN);
	l->out = g_malloc(BUF_LEN);
	ftmb_repl_decoder_init(&l->dec, l->in, BUF_LEN);
}

static void send_raw(struct link *l, const void *buf, size_t len)
{
	if (send(l->fd, buf, len, MSG_NOSIGNAL) != (ssize_t)len)
		die("send: %s", g_strerror(errno));
}

static void send_frame(struct link *l, int len)
{
	if (len < 0)
		die("encoding a frame: %s", ftmb_strerror(len));
	send_raw(l, l->out, (size_t)len);
}

/* 1: a frame; 0: the backup closed the connection; -1: timeout. */
static int recv_frame(struct link *l, struct ftmb_repl_frame *f)
{
	int rc;

	while ((rc = ftmb_repl_decoder_next(&l->dec, f)) == 0) {
		uint8_t *where;
		size_t space = ftmb_repl_decoder_space(&l->dec, &where);
		ssize_t n = recv(l->fd, where, space, 0);

		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		ftmb_repl_decoder_commit(&l->dec, (size_t)n);
	}
	if (rc < 0)
		die("bad frame from the backup: %s", ftmb_strerror(rc));
	return 1;
}

static void hello(struct link *l, uint8_t role, const char *name, uint16_t n, uint64_t gen)
{
	struct ftmb_repl_hello h = { .role = role, .n_threads = n, .n_vars = N_VARS,
				     .generation = gen };
	struct ftmb_repl_frame f;

	g_strlcpy(h.instance, name, sizeof(h.instance));
	send_frame(l, ftmb_repl_put_hello(l->out, BUF_LEN, &h));
	if (recv_frame(l, &f) != 1 || ftmb_repl_get_hello(&f, &h) || h.role != FTMB_ROLE_BACKUP)
		die("%s: no HELLO answer with role BACKUP", name);
}

static uint16_t pkt_len(uint16_t q, uint64_t seq)
{
	return (uint16_t)(60 + (seq * 7 + q) % 200);
}

static void pkt_fill(uint8_t *p, uint16_t q, uint64_t seq)
{
	for (uint16_t i = 0; i < pkt_len(q, seq); i++)
		p[i] = (uint8_t)(q * 31 + seq * 13 + i);
}

static struct ftmb_record make_rec(uint16_t t, uint64_t counter)
{
	struct ftmb_record r = { .counter = counter };

	if (counter % 10 == 0) {
		r.type = FTMB_REC_TIME;
		r.value = counter * 1000 + t;
	} else {
		r.type = FTMB_REC_PAL;
		r.var = (uint32_t)((counter + t) % N_VARS);
		r.seq = counter;
	}
	return r;
}

static void send_input(struct link *l, uint16_t q, uint64_t seq)
{
	uint8_t pkt[FTMB_REPL_MAX_PKT];

	pkt_fill(pkt, q, seq);
	send_frame(l, ftmb_repl_put_input(l->out, BUF_LEN, q, seq, pkt, pkt_len(q, seq)));
}

static void send_pals(struct link *l, uint16_t t, uint64_t first, uint16_t count)
{
	struct ftmb_record recs[PAL_BATCH];

	for (uint16_t i = 0; i < count; i++)
		recs[i] = make_rec(t, first + i);
	send_frame(l, ftmb_repl_put_pal(l->out, BUF_LEN, t, recs, count));
}

/* --- heartbeats, from their own thread ------------------------------------ */

static void *heartbeat_thread(void *arg)
{
	const char *addr = arg;
	struct link l;
	uint64_t end, seq = 0;

	link_open(&l, addr, 5);
	hello(&l, FTMB_ROLE_HOSTD, opt_heartbeat_as, 1, now_ns());
	end = now_ns() + (uint64_t)opt_beat_ms * 1000000u;
	while (now_ns() < end) {
		struct ftmb_repl_heartbeat hb = { .seq = ++seq, .time_ns = now_ns(),
						  .state = FTMB_HB_PRIMARY };
		struct ftmb_repl_frame f;

		send_frame(&l, ftmb_repl_put_heartbeat(l.out, BUF_LEN, &hb));
		if (recv_frame(&l, &f) != 1 || f.type != FTMB_REPL_HEARTBEAT)
			die("no heartbeat echo");
		g_usleep(5000);
	}
	printf("fake-primary: heartbeats as %s stopped after %" G_GUINT64_FORMAT
	       " beats; sockets stay open\n", opt_heartbeat_as, seq);
	fflush(stdout);
	g_usleep((gulong)opt_linger_ms * 1000);
	return NULL;
}

/* --- stream --------------------------------------------------------------- */

static gboolean covers(const struct ftmb_repl_vector *ack, uint64_t in, uint64_t pal)
{
	for (int i = 0; i < opt_queues; i++)
		if (ack->vc.in[i] < in || ack->vc.pal[i] < pal)
			return FALSE;
	return TRUE;
}

/* Reads ACKs until one covers (in, pal) everywhere; returns how many. */
static int wait_ack(struct link *l, uint64_t in, uint64_t pal, struct ftmb_repl_vector *ack)
{
	struct ftmb_repl_frame f;
	int n = 0;

	do {
		int rc = recv_frame(l, &f);

		if (rc != 1)
			die("no ACK covering in=%" G_GUINT64_FORMAT " pal=%" G_GUINT64_FORMAT " (%s)",
			    in, pal, rc ? "timeout" : "connection closed");
		if (f.type != FTMB_REPL_ACK)
			continue;
		if (ftmb_repl_get_ack(&f, ack))
			die("bad ACK");
		if (ack->n != opt_queues)
			die("ACK for %u queues, expected %d", ack->n, opt_queues);
		n++;
	} while (!covers(ack, in, pal));
	return n;
}

static void print_vector(const char *what, const struct ftmb_repl_vector *v)
{
	printf("%s in=[", what);
	for (uint16_t i = 0; i < v->n; i++)
		printf("%s%" G_GUINT64_FORMAT, i ? "," : "", v->vc.in[i]);
	printf("] pal=[");
	for (uint16_t i = 0; i < v->n; i++)
		printf("%s%" G_GUINT64_FORMAT, i ? "," : "", v->vc.pal[i]);
	printf("]\n");
}

static void stream_all(struct link *l)
{
	uint64_t pal_next[FTMB_MAX_THREADS];
	struct ftmb_repl_released rel = { .n = (uint16_t)opt_queues };

	for (int t = 0; t < opt_queues; t++)
		pal_next[t] = 1;
	for (int s = 1; s <= opt_inputs || pal_next[0] <= (uint64_t)opt_pals; s++) {
		for (uint16_t q = 0; q < opt_queues; q++) {
			if (s <= opt_inputs)
				send_input(l, q, (uint64_t)s);
			if (pal_next[q] <= (uint64_t)opt_pals) {
				uint16_t count = (uint16_t)MIN(PAL_BATCH / 8,
							       (uint64_t)opt_pals - pal_next[q] + 1);

				send_pals(l, q, pal_next[q], count);
				pal_next[q] += count;
			}
			rel.out_seq[q] = (uint64_t)s / 2;
		}
		if (opt_pace_us)
			g_usleep((gulong)opt_pace_us);
	}
	send_frame(l, ftmb_repl_put_released(l->out, BUF_LEN, &rel));
}

static void lockstep(struct link *l, uint64_t first)
{
	uint64_t *rtt = g_new(uint64_t, (gsize)opt_lockstep);
	struct ftmb_repl_vector ack;

	for (int i = 0; i < opt_lockstep; i++) {
		uint64_t t0 = now_ns();

		send_input(l, 0, first + (uint64_t)i);
		do
			wait_ack(l, 0, 0, &ack);
		while (ack.vc.in[0] < first + (uint64_t)i);
		rtt[i] = now_ns() - t0;
	}
	for (int i = 1; i < opt_lockstep; i++) /* insertion sort: small n */
		for (int j = i; j > 0 && rtt[j - 1] > rtt[j]; j--) {
			uint64_t x = rtt[j];

			rtt[j] = rtt[j - 1];
			rtt[j - 1] = x;
		}
	printf("fake-primary: input->ACK round trip over %d inputs: p50 %.1f us, p99 %.1f us, "
	       "min %.1f us, max %.1f us\n", opt_lockstep,
	       (double)rtt[(size_t)ceil(0.50 * opt_lockstep) - 1] / 1000.0,
	       (double)rtt[(size_t)ceil(0.99 * opt_lockstep) - 1] / 1000.0,
	       (double)rtt[0] / 1000.0, (double)rtt[opt_lockstep - 1] / 1000.0);
	g_free(rtt);
}

static int cmd_stream(const char *addr, const char *instance)
{
	struct link l;
	struct ftmb_repl_vector ack;
	pthread_t beat;
	uint64_t t0;
	int acks;

	if (opt_heartbeat_as && pthread_create(&beat, NULL, heartbeat_thread, (void *)addr))
		die("pthread_create");
	link_open(&l, addr, 5);
	hello(&l, FTMB_ROLE_VHOST, instance, (uint16_t)opt_queues, (uint64_t)opt_generation);
	t0 = now_ns();
	stream_all(&l);
	acks = wait_ack(&l, (uint64_t)opt_inputs, (uint64_t)opt_pals, &ack);
	printf("fake-primary: %s: %d inputs and %d PAL records per queue (%d queues) acknowledged "
	       "in %.1f ms with %d cumulative ACKs; ", instance, opt_inputs, opt_pals, opt_queues,
	       (double)(now_ns() - t0) / 1e6, acks);
	print_vector("last ACK", &ack);
	if (opt_cut_at) {
		struct ftmb_repl_vector cut = { .n = (uint16_t)opt_queues, .ckpt_seq = 1 };

		for (int i = 0; i < opt_queues; i++)
			cut.vc.in[i] = cut.vc.pal[i] = (uint64_t)opt_cut_at;
		send_frame(&l, ftmb_repl_put_cut(l.out, BUF_LEN, &cut));
		printf("fake-primary: sent CUT at %d\n", opt_cut_at);
	}
	if (opt_lockstep)
		lockstep(&l, (uint64_t)opt_inputs + 1);
	fflush(stdout);
	if (opt_heartbeat_as)
		pthread_join(beat, NULL);
	else
		g_usleep((gulong)opt_linger_ms * 1000);
	close(l.fd);
	return 0;
}

/* --- bad ------------------------------------------------------------------ */

/* A correct checksum over a frame whose payload was edited. */
static void reseal(uint8_t *frame, size_t len)
{
	uint8_t *tmp = g_malloc(len - 4);

	memcpy(tmp, frame, 8);
	memcpy(tmp + 8, frame + FTMB_REPL_HDR_LEN, len - FTMB_REPL_HDR_LEN);
	ftmb_put_le32(frame + 8, ftmb_crc32c(tmp, len - 4));
	g_free(tmp);
}

static void send_bad(struct link *l, const char *kind, const char *instance)
{
	static const uint8_t garbage[] = "GET / HTTP/1.1\r\nHost: backup\r\n\r\n";
	int len;

	if (strcmp(kind, "version") == 0) {
		struct ftmb_repl_hello h = { .role = FTMB_ROLE_VHOST, .n_threads = 1, .n_vars = 1 };

		g_strlcpy(h.instance, instance, sizeof(h.instance));
		len = ftmb_repl_put_hello(l->out, BUF_LEN, &h);
		ftmb_put_le16(l->out + FTMB_REPL_HDR_LEN + 4, FTMB_REPL_VERSION + 1);
		reseal(l->out, (size_t)len);
		send_frame(l, len);
		return;
	}
	hello(l, FTMB_ROLE_VHOST, instance, 1, 1);
	send_input(l, 0, 1);
	if (strcmp(kind, "crc") == 0) {
		len = ftmb_repl_put_input(l->out, BUF_LEN, 0, 2, "x", 1);
		l->out[len - 1] ^= 0x40;
		send_frame(l, len);
	} else if (strcmp(kind, "garbage") == 0) {
		send_raw(l, garbage, sizeof(garbage));
	} else if (strcmp(kind, "gap") == 0) {
		send_input(l, 0, 5);
	} else if (strcmp(kind, "queue") == 0) {
		send_input(l, 3, 1);
	} else if (strcmp(kind, "overmem") == 0) {
		/* Until the backup gives up on us and the sends fail. */
		uint8_t pkt[1000] = { 0 };

		for (uint64_t s = 2; s < 1000000; s++) {
			len = ftmb_repl_put_input(l->out, BUF_LEN, 0, s, pkt, sizeof(pkt));
			if (send(l->fd, l->out, (size_t)len, MSG_NOSIGNAL) != len)
				break;
		}
	} else if (strcmp(kind, "none") != 0) { /* none: the negative control */
		die("--kind %s: expected crc, garbage, version, gap, queue, overmem or none", kind);
	}
}

static int cmd_bad(const char *addr, const char *instance)
{
	struct link l;
	struct ftmb_repl_frame f;
	int rc;

	if (!opt_kind)
		die("bad needs --kind");
	link_open(&l, addr, 1);
	send_bad(&l, opt_kind, instance);
	while ((rc = recv_frame(&l, &f)) == 1)
		;
	if (rc != 0)
		die("%s: the backup kept the connection open after a bad frame (%s)", opt_kind,
		    instance);
	printf("fake-primary: %s: backup closed the connection after a %s frame\n", instance,
	       opt_kind);
	close(l.fd);
	return 0;
}

/* --- verify-dump ---------------------------------------------------------- */

struct dump_check {
	uint64_t next_in[FTMB_MAX_THREADS], next_pal[FTMB_MAX_THREADS];
	int last_queue, last_thread, stage; /* 0 HELLO, 1 INPUT, 2 PAL, 3 RELEASED */
};

static void check_input(struct dump_check *c, const struct ftmb_repl_frame *f)
{
	struct ftmb_repl_input in;
	uint8_t pkt[FTMB_REPL_MAX_PKT];

	if (ftmb_repl_get_input(f, &in) || c->stage > 1 || in.queue < c->last_queue)
		die("INPUT out of place");
	c->stage = 1;
	c->last_queue = in.queue;
	if (in.seq != c->next_in[in.queue]++)
		die("queue %u: INPUT seq %" G_GUINT64_FORMAT " out of order", in.queue, in.seq);
	pkt_fill(pkt, in.queue, in.seq);
	if (in.len != pkt_len(in.queue, in.seq) || memcmp(pkt, in.data, in.len) != 0)
		die("queue %u seq %" G_GUINT64_FORMAT ": packet bytes differ", in.queue, in.seq);
}

static void check_pal(struct dump_check *c, const struct ftmb_repl_frame *f)
{
	struct ftmb_repl_pal pal;

	if (ftmb_repl_get_pal(f, N_VARS, &pal) || c->stage > 2 || pal.thread < c->last_thread)
		die("PAL out of place");
	c->stage = 2;
	c->last_thread = pal.thread;
	for (uint16_t i = 0; i < pal.count; i++) {
		struct ftmb_record r, want;

		ftmb_repl_pal_get(&pal, i, &r);
		want = make_rec(pal.thread, c->next_pal[pal.thread]++);
		if (memcmp(&r, &want, sizeof(r)) != 0)
			die("thread %u: record %" G_GUINT64_FORMAT " differs", pal.thread, r.counter);
	}
}

static int cmd_verify_dump(const char *path, const char *instance)
{
	struct dump_check c = { 0 };
	struct ftmb_repl_decoder dec;
	struct ftmb_repl_frame f;
	struct ftmb_repl_hello h;
	uint8_t *buf = g_malloc(BUF_LEN);
	gchar *data;
	gsize len, off = 0;
	int frames = 0, rc;
	uint64_t first = (uint64_t)opt_cut_at + 1;

	if (!g_file_get_contents(path, &data, &len, NULL))
		die("cannot read %s", path);
	for (unsigned i = 0; i < FTMB_MAX_THREADS; i++)
		c.next_in[i] = c.next_pal[i] = first;
	ftmb_repl_decoder_init(&dec, buf, BUF_LEN);
	for (;;) {
		gsize n = MIN(len - off, (gsize)FTMB_REPL_MAX_PAYLOAD);

		if (n && ftmb_repl_decoder_feed(&dec, data + off, n) == FTMB_OK)
			off += n;
		rc = ftmb_repl_decoder_next(&dec, &f);
		if (rc < 0)
			die("%s: bad frame %d: %s", path, frames, ftmb_strerror(rc));
		if (rc == 0 && off == len)
			break;
		if (rc == 0)
			continue;
		if (c.stage == 3)
			die("a frame after RELEASED");
		if (frames++ == 0) {
			if (ftmb_repl_get_hello(&f, &h) || strcmp(h.instance, instance) != 0 ||
			    h.n_threads != opt_queues)
				die("the first frame is not %s's HELLO", instance);
		} else if (f.type == FTMB_REPL_CUT) {
			struct ftmb_repl_vector cut;

			if (frames != 2 || ftmb_repl_get_cut(&f, &cut) ||
			    cut.vc.in[0] != (uint64_t)opt_cut_at)
				die("the CUT is not second or does not say %d", opt_cut_at);
		} else if (f.type == FTMB_REPL_INPUT) {
			check_input(&c, &f);
		} else if (f.type == FTMB_REPL_PAL) {
			check_pal(&c, &f);
		} else if (f.type == FTMB_REPL_RELEASED) {
			c.stage = 3;
		} else {
			die("unexpected %s frame", ftmb_repl_type_name(f.type));
		}
	}
	if (c.stage != 3)
		die("no RELEASED frame at the end");
	for (int q = 0; q < opt_queues; q++)
		if (c.next_in[q] != (uint64_t)opt_inputs + 1 || c.next_pal[q] != (uint64_t)opt_pals + 1)
			die("queue %d: the dump ends at input %" G_GUINT64_FORMAT " / PAL %"
			    G_GUINT64_FORMAT, q, c.next_in[q] - 1, c.next_pal[q] - 1);
	printf("fake-primary: %s: replay file OK: %d frames, inputs %" G_GUINT64_FORMAT "..%d and "
	       "PAL %" G_GUINT64_FORMAT "..%d on each of %d queues, every byte as sent\n",
	       path, frames, first, opt_inputs, first, opt_pals, opt_queues);
	g_free(data);
	g_free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	GOptionContext *ctx = g_option_context_new("stream|bad|verify-dump ADDR|FILE INSTANCE");
	GError *error = NULL;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error))
		die("%s", error->message);
	g_option_context_free(ctx);
	if (argc != 4 || opt_queues < 1 || opt_queues > (int)FTMB_MAX_THREADS)
		die("usage: fake-primary stream|bad|verify-dump ADDR|FILE INSTANCE [options]");
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[1], "stream") == 0)
		return cmd_stream(argv[2], argv[3]);
	if (strcmp(argv[1], "bad") == 0)
		return cmd_bad(argv[2], argv[3]);
	if (strcmp(argv[1], "verify-dump") == 0)
		return cmd_verify_dump(argv[2], argv[3]);
	die("unknown command %s", argv[1]);
}
