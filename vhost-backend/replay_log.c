// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "replay_log.h"

#define DECODER_MIN (FTMB_REPL_HDR_LEN + FTMB_REPL_MAX_PAYLOAD)

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Grows *arr (of elem-byte items, *cap of them) to hold one more. */
static int grow(void **arr, uint64_t used, uint64_t *cap, size_t elem)
{
	void *p;

	if (used < *cap)
		return 0;
	*cap = *cap ? *cap * 2 : 1024;
	p = realloc(*arr, *cap * elem);
	if (!p)
		return -1;
	*arr = p;
	return 0;
}

struct parse_state {
	struct replay_log *log;
	uint64_t in_cap[FTMB_MAX_THREADS];
	uint64_t pal_cap[FTMB_MAX_THREADS];
	char *err;
	size_t errlen;
};

static int add_input(struct parse_state *ps, const struct ftmb_repl_frame *f)
{
	struct replay_log *log = ps->log;
	struct ftmb_repl_input in;
	int rc = ftmb_repl_get_input(f, &in);

	if (rc)
		return fail(ps->err, ps->errlen, "bad INPUT: %s", ftmb_strerror(rc));
	if (in.queue >= log->hello.n_threads)
		return fail(ps->err, ps->errlen, "INPUT on queue %u of %u", in.queue,
			    log->hello.n_threads);
	if (in.seq != log->cut.in[in.queue] + log->n_in[in.queue] + 1)
		return fail(ps->err, ps->errlen,
			    "queue %u: input seq %" PRIu64 " follows %" PRIu64 " (out of order)",
			    in.queue, in.seq, log->cut.in[in.queue] + log->n_in[in.queue]);
	if (grow((void **)&log->in[in.queue], log->n_in[in.queue], &ps->in_cap[in.queue],
		 sizeof(struct replay_input)))
		return fail(ps->err, ps->errlen, "out of memory");
	log->in[in.queue][log->n_in[in.queue]++] =
		(struct replay_input){ .data = in.data, .len = in.len };
	return 0;
}

static int add_pal(struct parse_state *ps, const struct ftmb_repl_frame *f)
{
	struct replay_log *log = ps->log;
	struct ftmb_repl_pal pal;
	struct ftmb_record rec;
	int rc = ftmb_repl_get_pal(f, log->hello.n_vars, &pal);

	if (rc)
		return fail(ps->err, ps->errlen, "bad PAL: %s", ftmb_strerror(rc));
	if (pal.thread >= log->hello.n_threads)
		return fail(ps->err, ps->errlen, "PAL of thread %u of %u", pal.thread,
			    log->hello.n_threads);
	for (uint16_t i = 0; i < pal.count; i++) {
		uint64_t *n = &log->n_pal[pal.thread];

		ftmb_repl_pal_get(&pal, i, &rec);
		if (rec.type == FTMB_REC_SKIP && rec.var != pal.thread)
			return fail(ps->err, ps->errlen,
				    "thread %u: SKIP of inputs of queue %u (only its own)",
				    pal.thread, rec.var);
		if (rec.counter != log->cut.pal[pal.thread] + *n + 1)
			return fail(ps->err, ps->errlen,
				    "thread %u: PAL counter %" PRIu64 " follows %" PRIu64
				    " (out of order)",
				    pal.thread, rec.counter, log->cut.pal[pal.thread] + *n);
		if (grow((void **)&log->pal[pal.thread], *n, &ps->pal_cap[pal.thread],
			 sizeof(rec)))
			return fail(ps->err, ps->errlen, "out of memory");
		log->pal[pal.thread][(*n)++] = rec;
	}
	return 0;
}

static int add_released(struct parse_state *ps, const struct ftmb_repl_frame *f)
{
	struct replay_log *log = ps->log;
	struct ftmb_repl_released r;
	int rc = ftmb_repl_get_released(f, &r);

	if (rc)
		return fail(ps->err, ps->errlen, "bad RELEASED: %s", ftmb_strerror(rc));
	if (r.n != log->hello.n_threads)
		return fail(ps->err, ps->errlen, "RELEASED for %u threads, HELLO said %u", r.n,
			    log->hello.n_threads);
	for (uint16_t t = 0; t < r.n; t++) {
		if (r.out_seq[t] < log->released[t])
			return fail(ps->err, ps->errlen,
				    "thread %u: RELEASED watermark %" PRIu64 " after %" PRIu64
				    " (out of order)",
				    t, r.out_seq[t], log->released[t]);
		log->released[t] = r.out_seq[t];
	}
	return 0;
}

/* The checkpoint the replica resumes from: only right after the HELLO. */
static int set_cut(struct parse_state *ps, const struct ftmb_repl_frame *f)
{
	struct replay_log *log = ps->log;
	struct ftmb_repl_vector cut;
	int rc = ftmb_repl_get_cut(f, &cut);

	if (rc)
		return fail(ps->err, ps->errlen, "bad CUT: %s", ftmb_strerror(rc));
	if (log->frames != 1)
		return fail(ps->err, ps->errlen, "a CUT must come right after the HELLO");
	if (cut.n != log->hello.n_threads)
		return fail(ps->err, ps->errlen, "CUT for %u threads, HELLO said %u", cut.n,
			    log->hello.n_threads);
	log->cut = cut.vc;
	log->cut_epoch = cut.ckpt_seq;
	return 0;
}

static int add_frame(struct parse_state *ps, const struct ftmb_repl_frame *f)
{
	struct replay_log *log = ps->log;
	int rc;

	if (log->frames == 0) {
		rc = ftmb_repl_get_hello(f, &log->hello);
		if (rc)
			return fail(ps->err, ps->errlen, "the first frame is not a valid HELLO (%s)",
				    f->type == FTMB_REPL_HELLO ? ftmb_strerror(rc)
							       : ftmb_repl_type_name(f->type));
		return 0;
	}
	switch (f->type) {
	case FTMB_REPL_CUT:
		return set_cut(ps, f);
	case FTMB_REPL_INPUT:
		return add_input(ps, f);
	case FTMB_REPL_PAL:
		return add_pal(ps, f);
	case FTMB_REPL_RELEASED:
		return add_released(ps, f);
	case FTMB_REPL_HEARTBEAT:
		return 0;
	default:
		return fail(ps->err, ps->errlen, "unexpected %s frame in a replay log",
			    ftmb_repl_type_name(f->type));
	}
}

int replay_log_parse(uint8_t *data, size_t size, struct replay_log *log, char *err,
		     size_t errlen)
{
	struct parse_state ps = { .log = log, .err = err, .errlen = errlen };
	struct ftmb_repl_decoder dec;
	struct ftmb_repl_frame f;
	char inner[200];
	int rc;

	memset(log, 0, sizeof(*log));
	log->file = data;
	log->file_size = size;
	/* The decoder works in place: it reads only below end, and its capacity
	 * only bounds a frame's length. */
	ftmb_repl_decoder_init(&dec, data, size > DECODER_MIN ? size : DECODER_MIN);
	dec.end = size;
	while ((rc = ftmb_repl_decoder_next(&dec, &f)) == 1) {
		if (add_frame(&ps, &f)) {
			snprintf(inner, sizeof(inner), "%s", err);
			fail(err, errlen, "frame %" PRIu64 " (byte %zu): %s", log->frames + 1,
			     (size_t)(f.payload - data) - FTMB_REPL_HDR_LEN, inner);
			goto bad;
		}
		log->frames++;
	}
	if (rc < 0) {
		fail(err, errlen, "frame %" PRIu64 " (byte %zu): %s", log->frames + 1, dec.start,
		     ftmb_strerror(rc));
		goto bad;
	}
	if (dec.start != size) {
		fail(err, errlen, "truncated: %zu bytes after the last whole frame (at byte %zu)",
		     size - dec.start, dec.start);
		goto bad;
	}
	if (log->frames == 0) {
		fail(err, errlen, "empty: no HELLO");
		goto bad;
	}
	return 0;
bad:
	replay_log_free(log);
	return -1;
}

int replay_log_load(const char *path, struct replay_log *log, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "rb");
	struct stat st;
	uint8_t *data;
	char inner[256];

	memset(log, 0, sizeof(*log));
	if (!fp)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode)) {
		fclose(fp);
		return fail(err, errlen, "%s: not a regular file", path);
	}
	data = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!data || fread(data, 1, (size_t)st.st_size, fp) != (size_t)st.st_size) {
		free(data);
		fclose(fp);
		return fail(err, errlen, "%s: cannot read %lld bytes", path,
			    (long long)st.st_size);
	}
	fclose(fp);
	if (replay_log_parse(data, (size_t)st.st_size, log, inner, sizeof(inner)))
		return fail(err, errlen, "%s: %s", path, inner);
	return 0;
}

void replay_log_free(struct replay_log *log)
{
	for (uint32_t i = 0; i < FTMB_MAX_THREADS; i++) {
		free(log->in[i]);
		free(log->pal[i]);
	}
	free(log->file);
	memset(log, 0, sizeof(*log));
}

void replay_log_horizons(const struct replay_log *log, uint64_t *horizon, uint32_t n_vars)
{
	memset(horizon, 0, n_vars * sizeof(*horizon));
	for (uint32_t t = 0; t < FTMB_MAX_THREADS; t++)
		for (uint64_t i = 0; i < log->n_pal[t]; i++) {
			const struct ftmb_record *r = &log->pal[t][i];

			if (r->type == FTMB_REC_PAL && r->var < n_vars && r->seq > horizon[r->var])
				horizon[r->var] = r->seq;
		}
}
