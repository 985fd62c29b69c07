// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ftmb/le.h"
#include "ftmb/repl.h"
#include "sendbuf.h"

int sendbuf_init(struct sendbuf *sb, size_t cap)
{
	memset(sb, 0, sizeof(*sb));
	sb->buf = malloc(cap);
	if (!sb->buf)
		return -ENOMEM;
	sb->cap = cap;
	return 0;
}

void sendbuf_free(struct sendbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
}

/* Moves the unacknowledged bytes down to the start, but only when they are
 * no more than the bytes gained: copying stays proportional to what the
 * backup acknowledged. */
static void reclaim(struct sendbuf *sb)
{
	size_t done = sb->acked, left = sb->end - done;

	if (done == 0 || left > done)
		return;
	memmove(sb->buf, sb->buf + done, left);
	sb->acked = 0;
	sb->sent_frames -= done;
	sb->sent -= done;
	sb->end = left;
}

/* The length of the frame at off. The buffer holds only frames we encoded,
 * so their length fields are trusted. */
static size_t frame_len(const struct sendbuf *sb, size_t off)
{
	return FTMB_REPL_HDR_LEN + ftmb_get_le32(sb->buf + off);
}

uint8_t *sendbuf_reserve(struct sendbuf *sb, size_t len)
{
	if (sendbuf_room(sb) < len)
		return NULL;
	return sb->buf + sb->end;
}

void sendbuf_commit(struct sendbuf *sb, size_t len)
{
	sb->end += len;
}

/* Moves sent_frames past every frame whose last byte has been sent. */
static void advance_frames(struct sendbuf *sb)
{
	while (sb->sent - sb->sent_frames >= FTMB_REPL_HDR_LEN &&
	       sb->sent - sb->sent_frames >= frame_len(sb, sb->sent_frames))
		sb->sent_frames += frame_len(sb, sb->sent_frames);
}

ssize_t sendbuf_flush(struct sendbuf *sb, int fd)
{
	size_t total = 0;

	while (sb->sent < sb->end) {
		ssize_t n = send(fd, sb->buf + sb->sent, sb->end - sb->sent,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -errno;
		}
		sb->sent += (size_t)n;
		total += (size_t)n;
	}
	advance_frames(sb);
	return (ssize_t)total;
}

void sendbuf_ack(struct sendbuf *sb, sendbuf_covered_fn covered, void *ctx)
{
	while (sb->acked < sb->sent_frames && covered(ctx, sb->buf + sb->acked))
		sb->acked += frame_len(sb, sb->acked);
	reclaim(sb);
}

void sendbuf_rewind(struct sendbuf *sb)
{
	sb->sent = sb->sent_frames = sb->acked;
}
