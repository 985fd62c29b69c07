// SPDX-License-Identifier: GPL-2.0-or-later
/* Sink record files: a streaming writer and a validating reader. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "sinkrec.h"

#define CHUNK_RECORDS 16384 /* 896 KiB: one write() per chunk */

G_DEFINE_QUARK(sinkrec-error-quark, sinkrec_error)

struct chunk {
	size_t n;
	gboolean last; /* the writer thread ends after this one */
	struct ftmb_sinkrec recs[CHUNK_RECORDS];
};

struct sinkrec_writer {
	int fd;
	char *path;
	struct chunk *cur;
	GAsyncQueue *full;  /* chunks for the writer thread, in order */
	GAsyncQueue *spare; /* written chunks, for reuse */
	GThread *thread;
	uint64_t count;
	GError *error; /* the first write error; set by the writer thread */
};

static gboolean write_all(int fd, const void *data, size_t len, const char *path, GError **err)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_set_error(err, SINKREC_ERROR, SINKREC_ERROR_IO, "%s: write: %s", path,
				    g_strerror(errno));
			return FALSE;
		}
		p += n;
		len -= (size_t)n;
	}
	return TRUE;
}

static gpointer writer_thread(gpointer data)
{
	struct sinkrec_writer *w = data;
	gboolean last;

	do {
		struct chunk *c = g_async_queue_pop(w->full);

		if (!w->error)
			write_all(w->fd, c->recs, c->n * sizeof(c->recs[0]), w->path, &w->error);
		last = c->last;
		c->n = 0;
		c->last = FALSE;
		g_async_queue_push(w->spare, c);
	} while (!last);
	return NULL;
}

static struct chunk *fresh_chunk(struct sinkrec_writer *w)
{
	struct chunk *c = g_async_queue_try_pop(w->spare);

	return c ? c : g_new0(struct chunk, 1);
}

struct sinkrec_writer *sinkrec_writer_open(const char *path, GError **err)
{
	struct ftmb_sinkrec_header hdr = {
		.magic = FTMB_SINKREC_MAGIC,
		.version = FTMB_SINKREC_VERSION,
		.record_size = sizeof(struct ftmb_sinkrec),
	};
	struct sinkrec_writer *w;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0) {
		g_set_error(err, SINKREC_ERROR, SINKREC_ERROR_IO, "%s: %s", path, g_strerror(errno));
		return NULL;
	}
	if (!write_all(fd, &hdr, sizeof(hdr), path, err)) {
		close(fd);
		return NULL;
	}
	w = g_new0(struct sinkrec_writer, 1);
	w->fd = fd;
	w->path = g_strdup(path);
	w->full = g_async_queue_new();
	w->spare = g_async_queue_new_full(g_free);
	w->cur = fresh_chunk(w);
	w->thread = g_thread_new("sinkrec-writer", writer_thread, w);
	return w;
}

static void hand_off(struct sinkrec_writer *w, gboolean last)
{
	w->cur->last = last;
	g_async_queue_push(w->full, w->cur);
	w->cur = last ? NULL : fresh_chunk(w);
}

void sinkrec_writer_add(struct sinkrec_writer *w, const struct ftmb_sinkrec *rec)
{
	w->cur->recs[w->cur->n++] = *rec;
	w->count++;
	if (w->cur->n == CHUNK_RECORDS)
		hand_off(w, FALSE);
}

void sinkrec_writer_flush(struct sinkrec_writer *w)
{
	if (w->cur->n > 0)
		hand_off(w, FALSE);
}

uint64_t sinkrec_writer_count(const struct sinkrec_writer *w)
{
	return w->count;
}

gboolean sinkrec_writer_close(struct sinkrec_writer *w, GError **err)
{
	gboolean ok;

	hand_off(w, TRUE);
	g_thread_join(w->thread);
	ok = w->error == NULL;
	if (ok && close(w->fd) < 0) {
		g_set_error(err, SINKREC_ERROR, SINKREC_ERROR_IO, "%s: close: %s", w->path,
			    g_strerror(errno));
		ok = FALSE;
	} else if (!ok) {
		close(w->fd);
		g_propagate_error(err, w->error);
	}
	g_async_queue_unref(w->full);
	g_async_queue_unref(w->spare);
	g_free(w->path);
	g_free(w);
	return ok;
}

static gboolean format_error(GError **err, const char *path, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

static gboolean format_error(GError **err, const char *path, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(err, SINKREC_ERROR, SINKREC_ERROR_FORMAT, "%s: %s", path, msg);
	g_free(msg);
	return FALSE;
}

static gboolean check_header(const char *path, const char *data, size_t len, GError **err)
{
	struct ftmb_sinkrec_header hdr;

	if (len < sizeof(hdr))
		return format_error(err, path,
				    "truncated header: %zu bytes, a sink record file starts "
				    "with a %zu-byte header",
				    len, sizeof(hdr));
	memcpy(&hdr, data, sizeof(hdr));
	if (hdr.magic != FTMB_SINKREC_MAGIC)
		return format_error(err, path, "bad magic 0x%08x: not a sink record file",
				    hdr.magic);
	if (hdr.version != FTMB_SINKREC_VERSION)
		return format_error(err, path, "version %u, this build reads version %u",
				    hdr.version, FTMB_SINKREC_VERSION);
	if (hdr.record_size != sizeof(struct ftmb_sinkrec))
		return format_error(err, path,
				    "record size %u, this build reads %zu-byte records",
				    hdr.record_size, sizeof(struct ftmb_sinkrec));
	if (hdr.reserved != 0)
		return format_error(err, path, "reserved header field is 0x%x, must be 0",
				    hdr.reserved);
	return TRUE;
}

gboolean sinkrec_file_open(const char *path, struct sinkrec_file *f, GError **err)
{
	const size_t hdr = sizeof(struct ftmb_sinkrec_header), rs = sizeof(struct ftmb_sinkrec);
	GMappedFile *map = g_mapped_file_new(path, FALSE, err);
	const char *data;
	size_t len, tail;

	if (!map)
		return FALSE;
	data = g_mapped_file_get_contents(map);
	len = g_mapped_file_get_length(map);
	if (!check_header(path, data, len, err))
		goto fail;
	tail = (len - hdr) % rs;
	if (tail != 0) {
		format_error(err, path,
			     "truncated: record %zu is cut after %zu of its %zu bytes "
			     "(the sink did not finish writing?)",
			     (len - hdr) / rs, tail, rs);
		goto fail;
	}
	f->map = map;
	/* mmap is page-aligned and the header is 16 bytes, so records are
	 * 8-byte aligned. */
	f->recs = (const struct ftmb_sinkrec *)(const void *)(data + hdr);
	f->count = (len - hdr) / rs;
	return TRUE;
fail:
	g_mapped_file_unref(map);
	return FALSE;
}

void sinkrec_file_close(struct sinkrec_file *f)
{
	g_mapped_file_unref(f->map);
	f->map = NULL;
	f->recs = NULL;
	f->count = 0;
}
