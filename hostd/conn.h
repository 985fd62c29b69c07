/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One replication-stream connection on a raw non-blocking socket, driven by
 * the GLib main loop (g_unix_fd_add). This is the latency-critical path: each
 * readable event does one large recv() straight into the frame decoder,
 * hands every whole frame to the owner, then tells the owner the batch is
 * done (where the backup sends its one cumulative ACK). Writes go out at
 * once; only what the kernel does not take is buffered.
 *
 * Lifetime: conn_close() (by the owner, or by the connection itself on EOF,
 * reset, a bad frame or a peer that stops reading) calls ops->closed exactly
 * once and frees the connection from an idle callback, so a frame handler may
 * close connections, its own included; after close the pointer is dead.
 */
#ifndef HOSTD_CONN_H
#define HOSTD_CONN_H

#include <glib.h>
#include <stdint.h>

#include "ftmb/repl.h"

enum conn_end {
	CONN_END_EOF,      /* the peer closed */
	CONN_END_RESET,    /* the peer reset, or the network failed */
	CONN_END_PROTOCOL, /* we closed: the peer sent something invalid */
	CONN_END_LOCAL,    /* we closed on purpose (shutdown, superseded, fenced) */
};

struct conn;

struct conn_ops {
	/* An outgoing connection is established (may be NULL). */
	void (*connected)(struct conn *c);
	/* One whole, checksummed frame. FALSE with error set closes the
	 * connection as CONN_END_PROTOCOL with that message. */
	gboolean (*frame)(struct conn *c, const struct ftmb_repl_frame *f, GError **error);
	/* Every frame of one read has been handled (may be NULL). */
	void (*batch_done)(struct conn *c);
	/* The connection ended; reason says why, for the log. */
	void (*closed)(struct conn *c, enum conn_end end, const char *reason);
};

struct conn {
	int fd;
	char *peer; /* the remote address, for logs */
	const struct conn_ops *ops;
	void *owner;
	struct ftmb_repl_decoder dec;
	uint8_t *inbuf;
	GByteArray *out; /* bytes the kernel has not taken yet */
	guint in_tag, out_tag;
	gboolean connecting, dead;
	gboolean in_frames; /* handing received frames to the owner */
	int send_errno;	    /* a send failed meanwhile: closed once they are handled */
	uint64_t frames_in, bytes_in, bytes_out;
};

/* Takes ownership of fd (a connected socket, or one whose non-blocking
 * connect is in progress when connecting is TRUE). */
struct conn *conn_new(int fd, const char *peer, gboolean connecting, const struct conn_ops *ops,
		      void *owner);

/* Sends one encoded frame. FALSE when the connection is closed (or closes
 * now because the peer stopped reading). */
gboolean conn_send(struct conn *c, const void *buf, size_t len);

void conn_close(struct conn *c, enum conn_end end, const char *reason);

/*
 * Hands the socket to another owner once the framed part of a conversation
 * is over (a checkpoint stream after its HELLO): writes what is still
 * buffered (waiting at most a second), appends to rest the bytes received
 * after the last frame, and closes the connection as CONN_END_LOCAL with
 * reason, without closing the socket. Returns the socket, or -1 (then
 * closed) when the buffered output could not be written.
 */
int conn_detach(struct conn *c, GByteArray *rest, const char *reason);

const char *conn_end_name(enum conn_end end);

#endif
