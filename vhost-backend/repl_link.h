/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One instance's replication link to its backup hostd: a non-blocking TCP
 * client (TCP_NODELAY) that sends HELLO first, then the log frames queued in
 * its send buffer, and hands each frame the backup sends after its HELLO to
 * the caller. A link that fails (connection refused or lost, or a bad frame)
 * is closed with a logged reason and retried with exponential backoff; the
 * queued log is kept and resent from the first frame not sent whole.
 */
#ifndef VHOST_REPL_LINK_H
#define VHOST_REPL_LINK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ftmb/repl.h"
#include "sendbuf.h"

enum link_state {
	LINK_DOWN,       /* waiting for the next attempt */
	LINK_CONNECTING, /* connect() in progress */
	LINK_UP,         /* connected; our HELLO queued first */
};

/* Called for each frame the backup sends after its HELLO; a non-zero
 * return (an enum ftmb_err) closes the link. */
typedef int (*link_frame_fn)(void *ctx, const struct ftmb_repl_frame *f, char *why,
			     size_t why_len);

struct repl_link {
	char name[FTMB_INSTANCE_MAX + 1];
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char peer[300]; /* host:port, for logs */
	int fd;
	enum link_state state;
	bool peer_hello; /* the backup's HELLO arrived */
	uint64_t retry_at_ns;
	uint64_t backoff_ns;
	struct ftmb_repl_hello hello;
	uint8_t hello_frame[FTMB_REPL_HDR_LEN + 128];
	size_t hello_len, hello_sent;
	struct sendbuf sb; /* log frames, kept across reconnections */
	struct ftmb_repl_decoder dec;
	uint8_t *dec_store;
	link_frame_fn on_frame;
	void *ctx;
	/* statistics */
	uint64_t connects, failures, frames_in, bytes_out;
};

/* Resolves host:port (blocking, once, at start-up) and prepares the link.
 * Returns 0, or -1 with a message in err. */
int link_init(struct repl_link *l, const char *host, const char *port,
	      const struct ftmb_repl_hello *hello, size_t sendbuf_bytes, link_frame_fn on_frame,
	      void *ctx, char *err, size_t errlen);

/* Connects, receives and sends as far as possible without blocking.
 * Returns the amount of work done (bytes moved), for the idle backoff. */
uint64_t link_poll(struct repl_link *l, uint64_t now_ns);

/* Sends what was queued since the last poll. Returns the bytes sent. */
uint64_t link_flush(struct repl_link *l, uint64_t now_ns);

static inline bool link_up(const struct repl_link *l)
{
	return l->state == LINK_UP && l->peer_hello;
}

/* A planned stop: sends what is still queued and then a HEARTBEAT saying
 * LEAVING, so that the backup does not take the closing stream for a
 * failure; gives up after timeout_ns (then the backup fails over). */
void link_leave(struct repl_link *l, uint64_t timeout_ns);

/* Closes the connection for good and frees the buffers. */
void link_destroy(struct repl_link *l);

#endif
