/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The log a backup holds for one protected instance: per RX queue the input
 * packets, per thread the PAL records, the RELEASED watermarks and the last
 * checkpoint CUT. Everything arrives from a peer over the replication stream,
 * so every call validates its frame against what is already held and refuses
 * anything that would leave a hole, rewrite history or exceed the memory
 * bound. A refused frame leaves the log exactly as it was.
 *
 * Numbering. Input seqs (per queue) and PAL counters (per thread) both start
 * at 1 and are contiguous. For each queue and thread the log holds exactly
 * the numbers cut+1 .. next-1: a CUT drops what it covers, and a CUT ahead of
 * the stream moves next past it (entries it covers are then skipped, not
 * held). So the durable vector the backup acknowledges is next-1 everywhere.
 *
 * Resends. A peer that reconnects may resend entries the log already holds;
 * they are compared and ignored when identical, refused when different.
 */
#ifndef HOSTD_LOGSTORE_H
#define HOSTD_LOGSTORE_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "ftmb/repl.h"

/* Cut values beyond this are refused, so that next = cut + 1 never wraps. */
#define LOGSTORE_MAX_NUMBER (UINT64_C(1) << 62)

/* One numbered stream: a queue's inputs or a thread's PAL records. */
struct logstore_seq {
	GArray *items;   /* struct logstore_pkt * (inputs) or struct ftmb_record */
	guint head;      /* items[head] is number cut + 1 */
	uint64_t next;   /* the number expected next */
	uint64_t cut;    /* everything <= cut is covered by the last checkpoint */
};

struct logstore_pkt {
	uint16_t len;
	uint8_t data[];
};

struct logstore_stats {
	uint64_t inputs, pal_records, released, cuts; /* frames or records accepted */
	uint64_t duplicates;  /* identical resends ignored */
	uint64_t covered;     /* entries skipped because a cut covers them */
};

struct logstore {
	struct ftmb_repl_hello hello; /* the instance's, as received */
	struct logstore_seq in[FTMB_MAX_THREADS];
	struct logstore_seq pal[FTMB_MAX_THREADS];
	struct ftmb_repl_released released;
	struct ftmb_repl_vector last_cut; /* n == 0 until the first CUT */
	size_t bytes;     /* memory charged to this log */
	size_t max_bytes; /* its bound */
	struct logstore_stats stats;
};

/* An empty log for the instance that hello describes. */
void logstore_init(struct logstore *s, const struct ftmb_repl_hello *hello, size_t max_bytes);
void logstore_clear(struct logstore *s);

/* Each returns TRUE when the frame was taken (or was an identical resend),
 * FALSE with error set otherwise; the log is unchanged on FALSE. */
gboolean logstore_add_input(struct logstore *s, const struct ftmb_repl_input *in, GError **error);
gboolean logstore_add_pal(struct logstore *s, const struct ftmb_repl_pal *pal, GError **error);
gboolean logstore_set_released(struct logstore *s, const struct ftmb_repl_released *r,
			       GError **error);
gboolean logstore_apply_cut(struct logstore *s, const struct ftmb_repl_vector *cut,
			    GError **error);

/* BASE: the log starts at this cut instead of at 1 (a re-protected replica's
 * stream, ftmb/repl.h). Only as the first thing in an empty log, or as an
 * identical resend while it is still the log's last cut. */
gboolean logstore_set_base(struct logstore *s, const struct ftmb_repl_vector *base,
			   GError **error);

/* The durable vector: in[q] and pal[t] = the highest contiguous number held
 * or covered by a cut. */
void logstore_durable(const struct logstore *s, struct ftmb_repl_vector *ack);

/* How many entries are held for queue/thread i. */
guint logstore_held(const struct logstore_seq *seq);

/*
 * The replay file a replica's ftmb-vhost reads: replication frames, in this
 * order: the instance's HELLO; the last CUT, if any (where each queue's and
 * thread's numbering resumes); its INPUT frames, queue by queue in seq order;
 * its PAL frames, thread by thread in counter order (up to
 * FTMB_REPL_MAX_RECORDS records each); one RELEASED frame (n = n_threads).
 * logstore_dump_file writes a temporary file and renames it into place, so a
 * replay file is never seen half written.
 */
gboolean logstore_dump_fd(const struct logstore *s, int fd, GError **error);
gboolean logstore_dump_file(const struct logstore *s, const char *path, GError **error);

#endif
