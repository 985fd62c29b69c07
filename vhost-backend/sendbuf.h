/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The replication send buffer: whole frames are written in, bytes go out
 * with non-blocking send() as the socket takes them, and frames stay until
 * the backup has acknowledged what they carry.
 *
 *   0 ..... acked ..... sent_frames ..... sent ..... end ..... cap
 *     durable | sent, not yet  | a frame    | not yet |  free
 *             | acknowledged   | partly sent| sent    |
 *
 * Bytes before acked are reclaimed by moving the rest down once that copies
 * no more than it frees. After a reconnection the stream restarts at acked:
 * the new connection never begins with half a frame, and frames the old
 * connection took but the backup may never have read are sent again (the
 * backup holds identical copies of those it had). Log data is never
 * dropped: when the buffer is full, the caller stops producing
 * (backpressure).
 */
#ifndef VHOST_SENDBUF_H
#define VHOST_SENDBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sendbuf {
	uint8_t *buf;
	size_t cap;
	size_t acked;       /* end of the frames the backup holds */
	size_t sent_frames; /* end of the last frame sent whole */
	size_t sent;        /* bytes handed to the socket */
	size_t end;         /* bytes written */
};

/* Whether the backup's acknowledgements cover a whole frame (header and
 * payload, as encoded by the ftmb_repl_put_* functions). */
typedef bool (*sendbuf_covered_fn)(void *ctx, const uint8_t *frame);

int sendbuf_init(struct sendbuf *sb, size_t cap);
void sendbuf_free(struct sendbuf *sb);

/* Bytes that can be written now. */
static inline size_t sendbuf_room(const struct sendbuf *sb)
{
	return sb->cap - sb->end;
}

static inline size_t sendbuf_pending(const struct sendbuf *sb)
{
	return sb->end - sb->sent;
}

/* A place for up to len bytes, or NULL when fewer than len are free.
 * sendbuf_commit() then accounts for what was written (one or more whole
 * frames). */
uint8_t *sendbuf_reserve(struct sendbuf *sb, size_t len);
void sendbuf_commit(struct sendbuf *sb, size_t len);

/* Sends what the socket takes without blocking. Returns the bytes sent
 * (0 when the socket is full), or -errno when the connection failed. */
ssize_t sendbuf_flush(struct sendbuf *sb, int fd);

/* Retires the frames sent whole, oldest first, while covered() says the
 * backup holds them. */
void sendbuf_ack(struct sendbuf *sb, sendbuf_covered_fn covered, void *ctx);

/* Restarts at the first frame not acknowledged (a new connection). */
void sendbuf_rewind(struct sendbuf *sb);

#endif
