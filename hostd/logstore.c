// SPDX-License-Identifier: GPL-2.0-or-later
/* The per-instance log a backup holds (contract in logstore.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "logstore.h"

/* What one held entry costs, beyond its packet bytes: the pointer in the
 * array, the packet header and the allocator's own overhead. */
#define PKT_COST(len) (sizeof(void *) + sizeof(struct logstore_pkt) + 16u + (len))
#define REC_COST sizeof(struct ftmb_record)

/* Compacting the arrays only when the dropped head is large and at least
 * half of them keeps truncation amortised O(1). */
#define COMPACT_MIN 4096u

static void seq_init(struct logstore_seq *seq, guint elt_size)
{
	seq->items = g_array_new(FALSE, FALSE, elt_size);
	seq->head = 0;
	seq->next = 1;
	seq->cut = 0;
}

guint logstore_held(const struct logstore_seq *seq)
{
	return seq->items ? seq->items->len - seq->head : 0;
}

static struct logstore_pkt *held_pkt(const struct logstore_seq *seq, uint64_t number)
{
	return g_array_index(seq->items, struct logstore_pkt *, seq->head + (number - seq->cut - 1));
}

static const struct ftmb_record *held_rec(const struct logstore_seq *seq, uint64_t number)
{
	return &g_array_index(seq->items, struct ftmb_record, seq->head + (number - seq->cut - 1));
}

/* Drops the first n held entries (the caller has freed what they own). */
static void seq_drop(struct logstore_seq *seq, guint n)
{
	seq->head += n;
	if (seq->head >= COMPACT_MIN && seq->head * 2 >= seq->items->len) {
		g_array_remove_range(seq->items, 0, seq->head);
		seq->head = 0;
	}
}

void logstore_init(struct logstore *s, const struct ftmb_repl_hello *hello, size_t max_bytes)
{
	memset(s, 0, sizeof(*s));
	s->hello = *hello;
	s->max_bytes = max_bytes;
	s->released.n = hello->n_threads;
	for (uint16_t i = 0; i < hello->n_threads; i++) {
		seq_init(&s->in[i], sizeof(struct logstore_pkt *));
		seq_init(&s->pal[i], sizeof(struct ftmb_record));
	}
}

static void free_pkts(struct logstore *s, struct logstore_seq *seq, guint n)
{
	for (guint i = 0; i < n; i++) {
		struct logstore_pkt *p = g_array_index(seq->items, struct logstore_pkt *, seq->head + i);

		s->bytes -= PKT_COST(p->len);
		g_free(p);
	}
}

void logstore_clear(struct logstore *s)
{
	for (uint16_t i = 0; i < s->hello.n_threads; i++) {
		free_pkts(s, &s->in[i], logstore_held(&s->in[i]));
		g_array_free(s->in[i].items, TRUE);
		g_array_free(s->pal[i].items, TRUE);
	}
	memset(s, 0, sizeof(*s));
}

static gboolean charge(struct logstore *s, size_t cost, GError **error)
{
	if (cost > s->max_bytes - s->bytes)
		return hostd_error(error, FTMB_E_LIMIT,
			    "log of instance %s holds %zu bytes, the bound is %zu: no checkpoint "
			    "cut has truncated it; raise max_log_mb or check the primary's checkpoints",
			    s->hello.instance, s->bytes, s->max_bytes);
	s->bytes += cost;
	return TRUE;
}

static gboolean check_index(const struct logstore *s, const char *what, uint16_t i, GError **error)
{
	if (i >= s->hello.n_threads)
		return hostd_error(error, FTMB_E_RANGE, "%s %u, but instance %s has %u", what, i,
			    s->hello.instance, s->hello.n_threads);
	return TRUE;
}

gboolean logstore_add_input(struct logstore *s, const struct ftmb_repl_input *in, GError **error)
{
	struct logstore_seq *q;
	struct logstore_pkt *p;

	if (!check_index(s, "input for queue", in->queue, error))
		return FALSE;
	q = &s->in[in->queue];
	if (in->seq <= q->cut) {
		s->stats.covered++;
		return TRUE;
	}
	if (in->seq < q->next) {
		p = held_pkt(q, in->seq);
		if (p->len != in->len || memcmp(p->data, in->data, in->len) != 0)
			return hostd_error(error, FTMB_E_SEQ,
				    "queue %u: resent input seq %" G_GUINT64_FORMAT
				    " differs from the one held", in->queue, in->seq);
		s->stats.duplicates++;
		return TRUE;
	}
	if (in->seq > q->next)
		return hostd_error(error, FTMB_E_SEQ,
			    "queue %u: input seq %" G_GUINT64_FORMAT " where %" G_GUINT64_FORMAT
			    " was expected (a gap)", in->queue, in->seq, q->next);
	if (!charge(s, PKT_COST(in->len), error))
		return FALSE;
	p = g_malloc(sizeof(*p) + in->len);
	p->len = in->len;
	memcpy(p->data, in->data, in->len);
	g_array_append_val(q->items, p);
	q->next++;
	s->stats.inputs++;
	return TRUE;
}

gboolean logstore_add_pal(struct logstore *s, const struct ftmb_repl_pal *pal, GError **error)
{
	struct logstore_seq *t;
	struct ftmb_record rec;
	uint16_t i = 0;

	if (!check_index(s, "PAL for thread", pal->thread, error))
		return FALSE;
	t = &s->pal[pal->thread];
	ftmb_repl_pal_get(pal, 0, &rec);
	if (rec.counter > t->next)
		return hostd_error(error, FTMB_E_COUNTER,
			    "thread %u: PAL counter %" G_GUINT64_FORMAT " where %" G_GUINT64_FORMAT
			    " was expected (a gap)", pal->thread, rec.counter, t->next);
	/* The codec checked that counters are contiguous within the batch. */
	for (; i < pal->count && rec.counter + i <= t->cut; i++)
		s->stats.covered++;
	for (; i < pal->count && rec.counter + i < t->next; i++) {
		struct ftmb_record resent;

		ftmb_repl_pal_get(pal, i, &resent);
		if (memcmp(&resent, held_rec(t, resent.counter), sizeof(resent)) != 0)
			return hostd_error(error, FTMB_E_COUNTER,
				    "thread %u: resent PAL counter %" G_GUINT64_FORMAT
				    " differs from the one held", pal->thread, resent.counter);
		s->stats.duplicates++;
	}
	if (i == pal->count)
		return TRUE;
	if (!charge(s, (size_t)(pal->count - i) * REC_COST, error))
		return FALSE;
	for (; i < pal->count; i++) {
		ftmb_repl_pal_get(pal, i, &rec);
		g_array_append_val(t->items, rec);
		t->next++;
		s->stats.pal_records++;
	}
	return TRUE;
}

gboolean logstore_set_released(struct logstore *s, const struct ftmb_repl_released *r,
			       GError **error)
{
	if (r->n != s->hello.n_threads)
		return hostd_error(error, FTMB_E_COUNT, "RELEASED for %u threads, instance %s has %u", r->n,
			    s->hello.instance, s->hello.n_threads);
	for (uint16_t t = 0; t < r->n; t++)
		if (r->out_seq[t] < s->released.out_seq[t])
			return hostd_error(error, FTMB_E_SEQ,
				    "thread %u: RELEASED watermark went back from %" G_GUINT64_FORMAT
				    " to %" G_GUINT64_FORMAT, t, s->released.out_seq[t], r->out_seq[t]);
	s->released = *r;
	s->stats.released++;
	return TRUE;
}

static gboolean check_cut(const struct logstore *s, const struct ftmb_repl_vector *cut,
			  GError **error)
{
	const struct ftmb_repl_vector *last = &s->last_cut;

	if (cut->n != s->hello.n_threads)
		return hostd_error(error, FTMB_E_COUNT, "CUT for %u queues, instance %s has %u", cut->n,
			    s->hello.instance, s->hello.n_threads);
	if (last->n && cut->ckpt_seq <= last->ckpt_seq)
		return hostd_error(error, FTMB_E_SEQ,
			    "CUT of checkpoint %" G_GUINT64_FORMAT " after checkpoint %" G_GUINT64_FORMAT,
			    cut->ckpt_seq, last->ckpt_seq);
	for (uint16_t i = 0; i < cut->n; i++) {
		if (cut->vc.in[i] >= LOGSTORE_MAX_NUMBER || cut->vc.pal[i] >= LOGSTORE_MAX_NUMBER)
			return hostd_error(error, FTMB_E_RANGE, "CUT entry %u is absurdly large", i);
		if (cut->vc.in[i] < s->in[i].cut || cut->vc.pal[i] < s->pal[i].cut)
			return hostd_error(error, FTMB_E_SEQ, "CUT entry %u goes back behind the previous cut",
				    i);
	}
	return TRUE;
}

/* Moves one stream's cut to c, dropping what it covers. */
static void cut_seq(struct logstore *s, struct logstore_seq *seq, uint64_t c, gboolean pkts)
{
	guint covered = (guint)MIN((uint64_t)logstore_held(seq), c - seq->cut);

	if (pkts)
		free_pkts(s, seq, covered);
	else
		s->bytes -= covered * REC_COST;
	seq_drop(seq, covered);
	seq->cut = c;
	if (seq->next <= c)
		seq->next = c + 1;
}

gboolean logstore_apply_cut(struct logstore *s, const struct ftmb_repl_vector *cut,
			    GError **error)
{
	if (!check_cut(s, cut, error))
		return FALSE;
	for (uint16_t i = 0; i < cut->n; i++) {
		cut_seq(s, &s->in[i], cut->vc.in[i], TRUE);
		cut_seq(s, &s->pal[i], cut->vc.pal[i], FALSE);
	}
	s->last_cut = *cut;
	s->stats.cuts++;
	return TRUE;
}

static gboolean log_is_empty(const struct logstore *s)
{
	if (s->last_cut.n || s->stats.released)
		return FALSE;
	for (uint16_t i = 0; i < s->hello.n_threads; i++)
		if (s->in[i].next != 1 || s->pal[i].next != 1)
			return FALSE;
	return TRUE;
}

static gboolean same_cut(const struct ftmb_repl_vector *a, const struct ftmb_repl_vector *b)
{
	return a->n == b->n && a->ckpt_seq == b->ckpt_seq &&
	       !memcmp(a->vc.in, b->vc.in, a->n * sizeof(a->vc.in[0])) &&
	       !memcmp(a->vc.pal, b->vc.pal, a->n * sizeof(a->vc.pal[0]));
}

gboolean logstore_set_base(struct logstore *s, const struct ftmb_repl_vector *base,
			   GError **error)
{
	if (s->last_cut.n && same_cut(base, &s->last_cut))
		return TRUE;
	if (!log_is_empty(s))
		return hostd_error(error, FTMB_E_SEQ, "BASE after the log of %s began: a BASE only "
				   "starts a log", s->hello.instance);
	return logstore_apply_cut(s, base, error);
}

void logstore_durable(const struct logstore *s, struct ftmb_repl_vector *ack)
{
	memset(ack, 0, sizeof(*ack));
	ack->n = s->hello.n_threads;
	for (uint16_t i = 0; i < ack->n; i++) {
		ack->vc.in[i] = s->in[i].next - 1;
		ack->vc.pal[i] = s->pal[i].next - 1;
	}
}

/* Frames are gathered in a buffer and written out when the next one might
 * not fit. */
struct dump_writer {
	int fd;
	uint8_t *buf;
	size_t len, cap;
	GError **error;
};

#define DUMP_BUF (4u << 20)
#define DUMP_FRAME_MAX (FTMB_REPL_HDR_LEN + 8 + FTMB_REPL_MAX_RECORDS * REC_COST)

static gboolean dump_flush(struct dump_writer *w)
{
	size_t off = 0;

	while (off < w->len) {
		ssize_t n = write(w->fd, w->buf + off, w->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_set_error(w->error, G_FILE_ERROR, g_file_error_from_errno(errno),
				    "writing the replay file: %s", g_strerror(errno));
			return FALSE;
		}
		off += (size_t)n;
	}
	w->len = 0;
	return TRUE;
}

/* Makes room for one more frame of the largest kind. */
static gboolean dump_room(struct dump_writer *w)
{
	return w->cap - w->len >= DUMP_FRAME_MAX || dump_flush(w);
}

static gboolean dump_inputs(struct dump_writer *w, const struct logstore_seq *q, uint16_t queue)
{
	for (guint i = 0; i < logstore_held(q); i++) {
		const struct logstore_pkt *p =
			g_array_index(q->items, struct logstore_pkt *, q->head + i);

		if (!dump_room(w))
			return FALSE;
		w->len += (size_t)ftmb_repl_put_input(w->buf + w->len, w->cap - w->len, queue,
						      q->cut + 1 + i, p->data, p->len);
	}
	return TRUE;
}

static gboolean dump_pals(struct dump_writer *w, const struct logstore_seq *t, uint16_t thread)
{
	guint held = logstore_held(t);

	for (guint i = 0; i < held; i += FTMB_REPL_MAX_RECORDS) {
		uint16_t count = (uint16_t)MIN(held - i, FTMB_REPL_MAX_RECORDS);

		if (!dump_room(w))
			return FALSE;
		w->len += (size_t)ftmb_repl_put_pal(
			w->buf + w->len, w->cap - w->len, thread,
			&g_array_index(t->items, struct ftmb_record, t->head + i), count);
	}
	return TRUE;
}

gboolean logstore_dump_fd(const struct logstore *s, int fd, GError **error)
{
	struct dump_writer w = { .fd = fd, .cap = DUMP_BUF, .error = error };
	gboolean ok = TRUE;
	uint16_t n = s->hello.n_threads;

	w.buf = g_malloc(w.cap);
	w.len = (size_t)ftmb_repl_put_hello(w.buf, w.cap, &s->hello);
	if (s->last_cut.n) /* where numbering resumes, even if nothing follows */
		w.len += (size_t)ftmb_repl_put_cut(w.buf + w.len, w.cap - w.len, &s->last_cut);
	for (uint16_t q = 0; ok && q < n; q++)
		ok = dump_inputs(&w, &s->in[q], q);
	for (uint16_t t = 0; ok && t < n; t++)
		ok = dump_pals(&w, &s->pal[t], t);
	if (ok && dump_room(&w)) {
		w.len += (size_t)ftmb_repl_put_released(w.buf + w.len, w.cap - w.len, &s->released);
		ok = dump_flush(&w);
	} else {
		ok = FALSE;
	}
	g_free(w.buf);
	return ok;
}

gboolean logstore_dump_file(const struct logstore *s, const char *path, GError **error)
{
	char *tmp = g_strdup_printf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	gboolean ok;

	if (fd < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "creating %s: %s",
			    tmp, g_strerror(errno));
		g_free(tmp);
		return FALSE;
	}
	ok = logstore_dump_fd(s, fd, error);
	if (close(fd) < 0 && ok) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "closing %s: %s",
			    tmp, g_strerror(errno));
		ok = FALSE;
	}
	if (ok && rename(tmp, path) < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "renaming %s to %s: %s", tmp, path, g_strerror(errno));
		ok = FALSE;
	}
	if (!ok)
		unlink(tmp);
	g_free(tmp);
	return ok;
}
