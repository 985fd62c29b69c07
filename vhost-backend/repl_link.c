// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "repl_link.h"
#include "vhost_log.h"

#define BACKOFF_MIN_NS 50000000ull    /* 50 ms */
#define BACKOFF_MAX_NS 2000000000ull  /* 2 s */
#define DEC_STORE (FTMB_REPL_HDR_LEN + FTMB_REPL_MAX_PAYLOAD)

int link_init(struct repl_link *l, const char *host, const char *port,
	      const struct ftmb_repl_hello *hello, size_t sendbuf_bytes, link_frame_fn on_frame,
	      void *ctx, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	int rc, n;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	snprintf(l->name, sizeof(l->name), "%s", hello->instance);
	snprintf(l->peer, sizeof(l->peer), "%s:%s", host, port);
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "backup %s: %s", l->peer, gai_strerror(rc));
		return -1;
	}
	memcpy(&l->addr, res->ai_addr, res->ai_addrlen);
	l->addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	l->hello = *hello;
	n = ftmb_repl_put_hello(l->hello_frame, sizeof(l->hello_frame), hello);
	if (n < 0) {
		snprintf(err, errlen, "HELLO: %s", ftmb_strerror(n));
		return -1;
	}
	l->hello_len = (size_t)n;
	l->dec_store = malloc(DEC_STORE);
	if (!l->dec_store || sendbuf_init(&l->sb, sendbuf_bytes)) {
		free(l->dec_store);
		snprintf(err, errlen, "out of memory for a %zu-byte send buffer", sendbuf_bytes);
		return -1;
	}
	l->backoff_ns = BACKOFF_MIN_NS;
	l->on_frame = on_frame;
	l->ctx = ctx;
	return 0;
}

static void close_fd(struct repl_link *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	l->peer_hello = false;
	sendbuf_rewind(&l->sb);
}

/* Drops the connection with a reason and schedules the next attempt. */
static void fail(struct repl_link *l, uint64_t now_ns, const char *what, const char *why)
{
	if (l->state == LINK_UP || l->failures == 0)
		VLOG(WARNING, "instance %s: backup %s: %s: %s; holding outputs, retrying", l->name,
		     l->peer, what, why);
	else
		VLOG(DEBUG, "instance %s: backup %s: %s: %s", l->name, l->peer, what, why);
	l->failures++;
	close_fd(l);
	l->state = LINK_DOWN;
	l->retry_at_ns = now_ns + l->backoff_ns;
	l->backoff_ns = l->backoff_ns * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : l->backoff_ns * 2;
}

static void start_connect(struct repl_link *l, uint64_t now_ns)
{
	int one = 1;

	l->fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		fail(l, now_ns, "socket", strerror(errno));
		return;
	}
	setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(l->fd, (struct sockaddr *)&l->addr, l->addr_len) < 0 && errno != EINPROGRESS) {
		fail(l, now_ns, "connect", strerror(errno));
		return;
	}
	l->state = LINK_CONNECTING;
}

static void connected(struct repl_link *l)
{
	ftmb_repl_decoder_init(&l->dec, l->dec_store, DEC_STORE);
	l->hello_sent = 0;
	l->state = LINK_UP;
	l->connects++;
	l->backoff_ns = BACKOFF_MIN_NS;
	VLOG(INFO, "instance %s: connected to backup %s", l->name, l->peer);
}

static int check_connect(struct repl_link *l, uint64_t now_ns)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);

	if (getpeername(l->fd, (struct sockaddr *)&peer, &plen) == 0) {
		connected(l);
		return 1;
	}
	if (errno != ENOTCONN) {
		fail(l, now_ns, "connect", strerror(errno));
		return 0;
	}
	getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
	if (soerr)
		fail(l, now_ns, "connect", strerror(soerr));
	return 0;
}

static int check_peer_hello(struct repl_link *l, const struct ftmb_repl_frame *f, char *why,
			    size_t why_len)
{
	struct ftmb_repl_hello h;
	int err = ftmb_repl_get_hello(f, &h);

	if (err) {
		snprintf(why, why_len, "first frame is not a valid HELLO");
		return err;
	}
	if (h.role != FTMB_ROLE_BACKUP) {
		snprintf(why, why_len, "HELLO from role %u, expected a backup", h.role);
		return FTMB_E_RANGE;
	}
	if (strcmp(h.instance, l->hello.instance) || h.n_threads != l->hello.n_threads) {
		snprintf(why, why_len, "backup speaks for instance %s with %u threads", h.instance,
			 h.n_threads);
		return FTMB_E_FIELD;
	}
	l->peer_hello = true;
	return FTMB_OK;
}

/* Reads what the backup sent and hands its frames on. */
static uint64_t receive(struct repl_link *l, uint64_t now_ns)
{
	struct ftmb_repl_frame f;
	uint64_t got = 0;
	char why[200];
	uint8_t *where;
	int rc;

	for (;;) {
		size_t room = ftmb_repl_decoder_space(&l->dec, &where);
		ssize_t n = recv(l->fd, where, room, MSG_DONTWAIT);

		if (n == 0) {
			fail(l, now_ns, "receive", "connection closed by the backup");
			return got;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			fail(l, now_ns, "receive", strerror(errno));
			return got;
		}
		got += (uint64_t)n;
		ftmb_repl_decoder_commit(&l->dec, (size_t)n);
		while ((rc = ftmb_repl_decoder_next(&l->dec, &f)) == 1) {
			why[0] = '\0';
			l->frames_in++;
			rc = l->peer_hello ? l->on_frame(l->ctx, &f, why, sizeof(why))
					   : check_peer_hello(l, &f, why, sizeof(why));
			if (rc) {
				char msg[300];

				snprintf(msg, sizeof(msg), "%s frame: %s%s%s",
					 ftmb_repl_type_name(f.type), ftmb_strerror(rc),
					 why[0] ? ": " : "", why);
				fail(l, now_ns, "bad frame", msg);
				return got;
			}
		}
		if (rc < 0) {
			fail(l, now_ns, "bad stream", ftmb_strerror(rc));
			return got;
		}
	}
	return got;
}

static uint64_t transmit(struct repl_link *l, uint64_t now_ns)
{
	uint64_t moved = 0;
	ssize_t n;

	while (l->hello_sent < l->hello_len) {
		n = send(l->fd, l->hello_frame + l->hello_sent, l->hello_len - l->hello_sent,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return moved;
			if (errno == EINTR)
				continue;
			fail(l, now_ns, "send", strerror(errno));
			return moved;
		}
		l->hello_sent += (size_t)n;
		moved += (uint64_t)n;
	}
	n = sendbuf_flush(&l->sb, l->fd);
	if (n < 0) {
		fail(l, now_ns, "send", strerror((int)-n));
		return moved;
	}
	l->bytes_out += (uint64_t)n;
	return moved + (uint64_t)n;
}

uint64_t link_poll(struct repl_link *l, uint64_t now_ns)
{
	uint64_t work;

	if (l->state == LINK_DOWN) {
		if (now_ns < l->retry_at_ns)
			return 0;
		start_connect(l, now_ns);
	}
	if (l->state == LINK_CONNECTING && !check_connect(l, now_ns))
		return 0;
	work = receive(l, now_ns);
	if (l->state == LINK_UP)
		work += transmit(l, now_ns);
	return work;
}

uint64_t link_flush(struct repl_link *l, uint64_t now_ns)
{
	return l->state == LINK_UP ? transmit(l, now_ns) : 0;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void link_leave(struct repl_link *l, uint64_t timeout_ns)
{
	const struct timespec pause = { 0, 100000 };
	struct ftmb_repl_heartbeat hb = { .state = FTMB_HB_LEAVING };
	uint64_t now = monotonic_ns(), deadline = now + timeout_ns;
	uint8_t *p;

	if (!link_up(l) || !(p = sendbuf_reserve(&l->sb, FTMB_REPL_HDR_LEN + 64)))
		return;
	sendbuf_commit(&l->sb, (size_t)ftmb_repl_put_heartbeat(p, FTMB_REPL_HDR_LEN + 64, &hb));
	while (link_up(l) && sendbuf_pending(&l->sb) && now < deadline) {
		if (!link_flush(l, now))
			nanosleep(&pause, NULL);
		now = monotonic_ns();
	}
	if (sendbuf_pending(&l->sb))
		VLOG(WARNING, "instance %s: could not tell backup %s that this stop is planned: "
		     "it will fail the instance over", l->name, l->peer);
}

void link_destroy(struct repl_link *l)
{
	close_fd(l);
	l->state = LINK_DOWN;
	sendbuf_free(&l->sb);
	free(l->dec_store);
	l->dec_store = NULL;
}
