// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fake-backup: a stand-in for the backup hostd in ftmb-vhost's tests. It
 * accepts replication connections, answers each HELLO, checks that inputs
 * and PAL records arrive in order, and acknowledges cumulatively what it
 * received --ack-delay-ms ago (0: at once), so that tests can watch
 * ftmb-vhost hold outputs. Evidence it leaves:
 *   --ack-log FILE     ack NAME MONO_NS IN[0..n-1] PAL[0..n-1] per ACK sent
 *   --record-dir DIR   DIR/NAME.frames: every frame received, as received
 *                      (a replay file for a replica)
 * --bad-after-acks N makes it a broken backup: after N ACKs on its first
 * connection it sends a frame with a wrong checksum; on later connections
 * it answers HELLO and then acknowledges nothing (it lost its state).
 * --mute-after-acks N: after N ACKs it goes on receiving and recording but
 * acknowledges nothing more (a primary about to fail holds its outputs).
 * --drop-after-acks N: after N ACKs it closes the connection once, without
 * reading what is in flight; what it holds per instance survives, and
 * frames sent again after the reconnection that it already holds are
 * skipped (like the real backup, which keeps its log across connections).
 * CUT frames (cut=pause) are recorded; a BASE frame (a re-protected
 * replica) is accepted only as the start of a log, or as an identical
 * resend, and the log goes on from its cut.
 *
 *   fake-backup --listen 127.0.0.1:PORT [--ack-delay-ms D] [--ack-log FILE]
 *               [--record-dir DIR]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ftmb/repl.h"

#define MAX_CONNS 16
#define HISTORY 4096
#define STORE (FTMB_REPL_HDR_LEN + FTMB_REPL_MAX_PAYLOAD)
#define ACK_PERIOD_NS 50000ull

struct snapshot {
	uint64_t t_ns;
	struct ftmb_vclock vc;
};

/* What the backup holds of one instance, across its connections. */
struct inst_log {
	char name[FTMB_INSTANCE_MAX + 1];
	struct ftmb_vclock got; /* received so far */
	bool based;             /* its log started at a BASE frame */
	struct ftmb_vclock base;
	FILE *record;
};

struct conn {
	int fd;
	bool hello;
	struct ftmb_repl_hello peer;
	struct ftmb_repl_decoder dec;
	uint8_t *store;
	struct inst_log *log;
	struct ftmb_vclock acked; /* last acknowledged */
	struct snapshot hist[HISTORY];
	uint32_t hist_first, hist_n;
	uint64_t last_ack_ns, acks, released_frames;
	bool ignored; /* --bad-after-acks: a later connection, neither checked nor acked */
	bool muted;   /* acknowledges nothing more */
};

static volatile sig_atomic_t quit;
static uint64_t ack_delay_ns;
static FILE *ack_log;
static const char *record_dir;
static struct conn conns[MAX_CONNS];
static uint64_t bad_after_acks, mute_after_acks, drop_after_acks;
static bool dropped;
static struct inst_log logs[MAX_CONNS];
static uint64_t connections;

static void on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void close_conn(struct conn *c, const char *why)
{
	if (why)
		fprintf(stderr, "fake-backup: %s: closing: %s\n", c->hello ? c->peer.instance : "?",
			why);
	close(c->fd);
	free(c->store);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static int send_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void record(struct conn *c, const struct ftmb_repl_frame *f)
{
	if (c->log->record)
		fwrite(f->payload - FTMB_REPL_HDR_LEN, 1, FTMB_REPL_HDR_LEN + f->len, c->log->record);
}

static const char *on_hello(struct conn *c, const struct ftmb_repl_frame *f)
{
	struct ftmb_repl_hello me;
	uint8_t buf[256];
	char path[4096];
	int n;

	if (ftmb_repl_get_hello(f, &c->peer) || c->peer.role != FTMB_ROLE_VHOST)
		return "first frame is not a HELLO from ftmb-vhost";
	c->hello = true;
	me = c->peer;
	me.role = FTMB_ROLE_BACKUP;
	n = ftmb_repl_put_hello(buf, sizeof(buf), &me);
	if (n < 0 || send_all(c->fd, buf, (size_t)n))
		return "cannot answer HELLO";
	for (int i = 0; i < MAX_CONNS && !c->log; i++)
		if (!strcmp(logs[i].name, c->peer.instance) || !logs[i].name[0])
			c->log = &logs[i];
	if (!c->log)
		return "too many instances";
	if (!c->log->name[0]) {
		snprintf(c->log->name, sizeof(c->log->name), "%s", c->peer.instance);
		if (record_dir) {
			snprintf(path, sizeof(path), "%s/%s.frames", record_dir, c->peer.instance);
			c->log->record = fopen(path, "wb");
			if (!c->log->record)
				return "cannot open the record file";
			record(c, f);
		}
	}
	fprintf(stderr, "fake-backup: %s: HELLO, %u threads\n", c->peer.instance, c->peer.n_threads);
	return NULL;
}

static const char *on_base(struct conn *c, const struct ftmb_repl_frame *f)
{
	static const struct ftmb_vclock none;
	struct ftmb_repl_vector base;

	if (ftmb_repl_get_base(f, &base) || base.n != c->peer.n_threads)
		return "bad BASE frame";
	if (c->log->based)
		return memcmp(&base.vc, &c->log->base, sizeof(base.vc)) ? "a second, different BASE"
									 : NULL;
	if (memcmp(&c->log->got, &none, sizeof(none)))
		return "BASE after log frames";
	c->log->based = true;
	c->log->base = c->log->got = base.vc;
	record(c, f);
	return NULL;
}

static const char *on_frame(struct conn *c, const struct ftmb_repl_frame *f)
{
	struct ftmb_repl_input in;
	struct ftmb_repl_pal pal;
	struct ftmb_repl_released rel;
	struct ftmb_repl_vector cut;
	struct ftmb_record rec;

	struct ftmb_vclock *got;

	if (!c->hello)
		return on_hello(c, f);
	if (c->ignored)
		return NULL;
	got = &c->log->got;
	switch (f->type) {
	case FTMB_REPL_INPUT:
		if (ftmb_repl_get_input(f, &in) || in.queue >= c->peer.n_threads)
			return "bad INPUT frame";
		if (in.seq <= got->in[in.queue])
			return NULL; /* held already: sent again after a reconnection */
		if (in.seq != got->in[in.queue] + 1)
			return "input out of order";
		got->in[in.queue] = in.seq;
		break;
	case FTMB_REPL_PAL:
		if (ftmb_repl_get_pal(f, c->peer.n_vars, &pal) || pal.thread >= c->peer.n_threads)
			return "bad PAL frame";
		ftmb_repl_pal_get(&pal, 0, &rec);
		if (rec.counter + pal.count - 1 <= got->pal[pal.thread])
			return NULL;
		if (rec.counter != got->pal[pal.thread] + 1)
			return "PAL records out of order";
		got->pal[pal.thread] += pal.count;
		break;
	case FTMB_REPL_RELEASED:
		if (ftmb_repl_get_released(f, &rel))
			return "bad RELEASED frame";
		c->released_frames++;
		break;
	case FTMB_REPL_HEARTBEAT: /* LEAVING: a planned stop */
		break;
	case FTMB_REPL_CUT:
		if (ftmb_repl_get_cut(f, &cut) || cut.n != c->peer.n_threads)
			return "bad CUT frame";
		break;
	case FTMB_REPL_BASE:
		return on_base(c, f);
	default:
		return "unexpected frame type";
	}
	record(c, f);
	return NULL;
}

static void remember(struct conn *c, uint64_t now)
{
	struct snapshot *last = c->hist_n ? &c->hist[(c->hist_first + c->hist_n - 1) % HISTORY]
					  : NULL;

	if (!c->log || (last && !memcmp(&last->vc, &c->log->got, sizeof(c->log->got))))
		return;
	if (c->hist_n == HISTORY) {
		c->hist_first = (c->hist_first + 1) % HISTORY;
		c->hist_n--;
	}
	c->hist[(c->hist_first + c->hist_n++) % HISTORY] = (struct snapshot){ now, c->log->got };
}

static void log_ack(const struct conn *c, const struct ftmb_repl_vector *ack, uint64_t now)
{
	if (!ack_log)
		return;
	fprintf(ack_log, "ack %s %" PRIu64, c->peer.instance, now);
	for (uint16_t i = 0; i < ack->n; i++)
		fprintf(ack_log, " %" PRIu64, ack->vc.in[i]);
	for (uint16_t i = 0; i < ack->n; i++)
		fprintf(ack_log, " %" PRIu64, ack->vc.pal[i]);
	fputc('\n', ack_log);
	fflush(ack_log);
}

/* Acknowledges the newest state received at least ack_delay_ns ago. */
static void maybe_ack(struct conn *c, uint64_t now)
{
	struct ftmb_repl_vector ack = { .n = c->peer.n_threads };
	const struct ftmb_vclock *vc = NULL;
	uint8_t buf[512];
	int n;

	if (!c->hello || c->ignored || c->muted || now - c->last_ack_ns < ACK_PERIOD_NS)
		return;
	while (c->hist_n && c->hist[c->hist_first].t_ns + ack_delay_ns <= now) {
		vc = &c->hist[c->hist_first].vc;
		if (c->hist_n == 1)
			break;
		c->hist_first = (c->hist_first + 1) % HISTORY;
		c->hist_n--;
	}
	if (!vc || !memcmp(vc, &c->acked, sizeof(*vc)))
		return;
	ack.vc = *vc;
	n = ftmb_repl_put_ack(buf, sizeof(buf), &ack);
	if (n < 0 || send_all(c->fd, buf, (size_t)n)) {
		close_conn(c, "cannot send ACK");
		return;
	}
	c->acked = *vc;
	c->last_ack_ns = now;
	log_ack(c, &ack, now); /* before anything below can drop the connection */
	if (++c->acks == bad_after_acks) {
		buf[8] ^= 0xff; /* the same ACK again, its checksum broken */
		fprintf(stderr, "fake-backup: %s: sending a corrupt frame\n", c->peer.instance);
		send_all(c->fd, buf, (size_t)n);
		c->muted = true;
	}
	if (c->acks == drop_after_acks && !dropped) {
		dropped = true;
		close_conn(c, "dropping the connection, unread data and all");
		return;
	}
	if (c->acks == mute_after_acks) {
		fprintf(stderr, "fake-backup: %s: acknowledging nothing more\n", c->peer.instance);
		c->muted = true;
	}
}

static void receive(struct conn *c)
{
	struct ftmb_repl_frame f;
	const char *why;
	uint8_t *where;
	int rc;

	for (;;) {
		size_t room = ftmb_repl_decoder_space(&c->dec, &where);
		ssize_t n = recv(c->fd, where, room, MSG_DONTWAIT);

		if (n == 0) {
			close_conn(c, "peer closed");
			return;
		}
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				close_conn(c, strerror(errno));
			return;
		}
		ftmb_repl_decoder_commit(&c->dec, (size_t)n);
		while ((rc = ftmb_repl_decoder_next(&c->dec, &f)) == 1)
			if ((why = on_frame(c, &f))) {
				close_conn(c, why);
				return;
			}
		if (rc < 0) {
			close_conn(c, ftmb_strerror(rc));
			return;
		}
		remember(c, now_ns());
	}
}

static int listen_on(const char *spec)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char host[64];
	const char *colon = strrchr(spec, ':');
	int fd, one = 1;

	if (!colon || (size_t)(colon - spec) >= sizeof(host))
		return -1;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16))
		return -1;
	return fd;
}

static void accept_one(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), one = 1;

	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i].fd < 0) {
			conns[i].fd = fd;
			conns[i].ignored = bad_after_acks && connections > 0;
			connections++;
			conns[i].store = malloc(STORE);
			ftmb_repl_decoder_init(&conns[i].dec, conns[i].store, STORE);
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			return;
		}
	close(fd);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "ack-delay-ms", required_argument, NULL, 'd' },
		{ "ack-log", required_argument, NULL, 'a' },
		{ "record-dir", required_argument, NULL, 'r' },
		{ "bad-after-acks", required_argument, NULL, 'b' },
		{ "mute-after-acks", required_argument, NULL, 'm' },
		{ "drop-after-acks", required_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_signal };
	const char *listen_spec = NULL;
	struct pollfd pfd[MAX_CONNS + 1];
	int c, lfd;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen_spec = optarg; break;
		case 'd': ack_delay_ns = strtoull(optarg, NULL, 10) * 1000000ull; break;
		case 'a': ack_log = fopen(optarg, "w"); break;
		case 'r': record_dir = optarg; break;
		case 'b': bad_after_acks = strtoull(optarg, NULL, 10); break;
		case 'm': mute_after_acks = strtoull(optarg, NULL, 10); break;
		case 'D': drop_after_acks = strtoull(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: fake-backup --listen ADDR:PORT [--ack-delay-ms D] "
					"[--ack-log FILE] [--record-dir DIR] [--bad-after-acks N] "
					"[--mute-after-acks N] [--drop-after-acks N]\n");
			return 2;
		}
	}
	if (!listen_spec || (lfd = listen_on(listen_spec)) < 0) {
		fprintf(stderr, "fake-backup: cannot listen on %s\n", listen_spec ? listen_spec : "?");
		return 1;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (int i = 0; i < MAX_CONNS; i++)
		conns[i].fd = -1;
	fprintf(stderr, "fake-backup: listening on %s, ACK delay %" PRIu64 " ms\n", listen_spec,
		ack_delay_ns / 1000000);
	while (!quit) {
		struct timespec tick = { 0, 10000000 };
		uint64_t now;

		for (int i = 0; i < MAX_CONNS; i++)
			if (conns[i].fd >= 0 && conns[i].log && conns[i].hist_n &&
			    memcmp(&conns[i].acked, &conns[i].log->got, sizeof(conns[i].acked)))
				tick.tv_nsec = 50000; /* an ACK is due soon */

		pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (int i = 0; i < MAX_CONNS; i++)
			pfd[i + 1] = (struct pollfd){ .fd = conns[i].fd, .events = POLLIN };
		if (ppoll(pfd, MAX_CONNS + 1, &tick, NULL) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			accept_one(lfd);
		now = now_ns();
		for (int i = 0; i < MAX_CONNS; i++) {
			if (conns[i].fd < 0)
				continue;
			if (pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR))
				receive(&conns[i]);
			if (conns[i].fd >= 0)
				maybe_ack(&conns[i], now);
		}
	}
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i].fd >= 0) {
			printf("fake-backup: %s: acks %" PRIu64 ", RELEASED frames %" PRIu64 "\n",
			       conns[i].peer.instance, conns[i].acks, conns[i].released_frames);
			close_conn(&conns[i], NULL);
		}
	for (int i = 0; i < MAX_CONNS; i++)
		if (logs[i].record)
			fclose(logs[i].record);
	if (ack_log)
		fclose(ack_log);
	return 0;
}
