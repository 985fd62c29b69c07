// SPDX-License-Identifier: GPL-2.0-or-later
/* A framed replication connection on a raw non-blocking socket (see conn.h). */
#include <errno.h>
#include <glib-unix.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"

/* The decoder holds one partial frame plus one large read. */
#define INBUF_SIZE (2 * (FTMB_REPL_HDR_LEN + FTMB_REPL_MAX_PAYLOAD))
/* A peer that leaves this much of our output unread is not keeping up. */
#define OUT_MAX (8u << 20)

static gboolean on_readable(gint fd, GIOCondition cond, gpointer data);
static gboolean on_writable(gint fd, GIOCondition cond, gpointer data);

const char *conn_end_name(enum conn_end end)
{
	switch (end) {
	case CONN_END_EOF: return "closed by peer";
	case CONN_END_RESET: return "reset";
	case CONN_END_PROTOCOL: return "protocol error";
	case CONN_END_LOCAL: return "closed locally";
	}
	return "?";
}

struct conn *conn_new(int fd, const char *peer, gboolean connecting, const struct conn_ops *ops,
		      void *owner)
{
	struct conn *c = g_new0(struct conn, 1);

	c->fd = fd;
	c->peer = g_strdup(peer);
	c->ops = ops;
	c->owner = owner;
	c->inbuf = g_malloc(INBUF_SIZE);
	ftmb_repl_decoder_init(&c->dec, c->inbuf, INBUF_SIZE);
	c->out = g_byte_array_new();
	c->connecting = connecting;
	if (connecting)
		c->out_tag = g_unix_fd_add(fd, G_IO_OUT, on_writable, c);
	else
		c->in_tag = g_unix_fd_add(fd, G_IO_IN, on_readable, c);
	return c;
}

static gboolean free_conn(gpointer data)
{
	struct conn *c = data;

	g_free(c->inbuf);
	g_byte_array_free(c->out, TRUE);
	g_free(c->peer);
	g_free(c);
	return G_SOURCE_REMOVE;
}

/* Unread bytes at close() make the kernel answer with RST instead of FIN,
 * and a peer receiving RST may drop what it had not read yet, such as the
 * LEAVING heartbeat just sent: read them first. */
static void drain_input(int fd)
{
	char buf[4096];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* Stops watching the socket and tells the owner; the caller has closed
 * the socket or given it away. */
static void finish(struct conn *c, enum conn_end end, const char *reason)
{
	c->dead = TRUE;
	if (c->in_tag)
		g_source_remove(c->in_tag);
	if (c->out_tag)
		g_source_remove(c->out_tag);
	c->in_tag = c->out_tag = 0;
	c->fd = -1;
	c->ops->closed(c, end, reason);
	g_idle_add(free_conn, c);
}

void conn_close(struct conn *c, enum conn_end end, const char *reason)
{
	if (c->dead)
		return;
	drain_input(c->fd);
	close(c->fd);
	finish(c, end, reason);
}

int conn_detach(struct conn *c, GByteArray *rest, const char *reason)
{
	int fd = c->fd;

	if (c->dead)
		return -1;
	while (c->out->len) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		ssize_t n = send(fd, c->out->data, c->out->len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			g_byte_array_remove_range(c->out, 0, (guint)n);
			continue;
		}
		if ((n < 0 && errno == EINTR) ||
		    (n < 0 && errno == EAGAIN && poll(&pfd, 1, 1000) == 1))
			continue;
		conn_close(c, CONN_END_RESET, "could not hand the connection over: send failed");
		return -1;
	}
	g_byte_array_append(rest, c->dec.buf + c->dec.start, (guint)(c->dec.end - c->dec.start));
	finish(c, CONN_END_LOCAL, reason);
	return fd;
}

/* Closes for a failed socket call, telling a reset from other errors. */
static void close_errno(struct conn *c, const char *what, int err)
{
	char *reason = g_strdup_printf("%s: %s", what, g_strerror(err));

	conn_close(c, err == ECONNRESET || err == EPIPE || err == ETIMEDOUT ? CONN_END_RESET
									   : CONN_END_PROTOCOL,
		   reason);
	g_free(reason);
}

/* Writes what is buffered; returns FALSE if the connection closed. */
static gboolean flush_out(struct conn *c)
{
	while (c->out->len) {
		ssize_t n = send(c->fd, c->out->data, c->out->len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0 && c->in_frames) {
			/* The peer may have said why it goes (a LEAVING heartbeat)
			 * in a frame not handled yet: handle them all first. */
			c->send_errno = errno;
			return FALSE;
		}
		if (n < 0) {
			close_errno(c, "send", errno);
			return FALSE;
		}
		c->bytes_out += (uint64_t)n;
		g_byte_array_remove_range(c->out, 0, (guint)n);
	}
	if (c->out->len && !c->out_tag && !c->connecting)
		c->out_tag = g_unix_fd_add(c->fd, G_IO_OUT, on_writable, c);
	return TRUE;
}

gboolean conn_send(struct conn *c, const void *buf, size_t len)
{
	if (c->dead || c->send_errno)
		return FALSE;
	if (c->out->len + len > OUT_MAX) {
		conn_close(c, CONN_END_PROTOCOL, "the peer does not read what we send");
		return FALSE;
	}
	g_byte_array_append(c->out, buf, (guint)len);
	return c->connecting || c->out_tag || flush_out(c);
}

static void finish_connect(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err) {
		close_errno(c, "connect", err);
		return;
	}
	c->connecting = FALSE;
	c->in_tag = g_unix_fd_add(c->fd, G_IO_IN, on_readable, c);
	if (c->ops->connected)
		c->ops->connected(c);
}

/* One-shot: flush_out() adds a new watch while output remains. */
static gboolean on_writable(gint fd, GIOCondition cond, gpointer data)
{
	struct conn *c = data;

	(void)fd;
	(void)cond;
	c->out_tag = 0;
	if (c->connecting)
		finish_connect(c);
	if (!c->dead)
		flush_out(c);
	return G_SOURCE_REMOVE;
}

/* Hands every whole frame in the decoder to the owner. */
static void drain_frames(struct conn *c)
{
	struct ftmb_repl_frame f;
	int rc;

	c->in_frames = TRUE;
	while (!c->dead && (rc = ftmb_repl_decoder_next(&c->dec, &f)) != 0) {
		GError *error = NULL;

		if (rc < 0) {
			char *reason = g_strdup_printf("bad frame: %s", ftmb_strerror(rc));

			conn_close(c, CONN_END_PROTOCOL, reason);
			g_free(reason);
			break;
		}
		c->frames_in++;
		if (!c->ops->frame(c, &f, &error)) {
			conn_close(c, CONN_END_PROTOCOL, error->message);
			g_error_free(error);
		}
	}
	c->in_frames = FALSE;
	if (!c->dead && c->send_errno)
		close_errno(c, "send", c->send_errno);
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct conn *c = data;
	uint8_t *where;
	size_t space = ftmb_repl_decoder_space(&c->dec, &where);
	ssize_t n = recv(fd, where, space, MSG_DONTWAIT);

	(void)cond;
	if (n == 0) {
		conn_close(c, CONN_END_EOF, "connection closed by peer");
		return G_SOURCE_REMOVE;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return G_SOURCE_CONTINUE;
		close_errno(c, "recv", errno);
		return G_SOURCE_REMOVE;
	}
	c->bytes_in += (uint64_t)n;
	ftmb_repl_decoder_commit(&c->dec, (size_t)n);
	drain_frames(c);
	if (!c->dead && c->ops->batch_done)
		c->ops->batch_done(c);
	return c->dead ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}
