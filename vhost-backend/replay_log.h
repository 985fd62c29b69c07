/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A replay file: the replication frames hostd logged for an instance (HELLO
 * first, then INPUT, PAL and RELEASED frames in any interleaving), loaded
 * and checked whole before a replica starts: per queue, inputs numbered
 * contiguously; per thread, PAL records counted contiguously; every frame
 * valid. Numbering starts after the checkpoint the replica resumes from: a
 * CUT frame right after the HELLO gives, per queue and thread, what that
 * checkpoint covers; without one, from an empty checkpoint (from 1).
 */
#ifndef VHOST_REPLAY_LOG_H
#define VHOST_REPLAY_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "ftmb/record.h"
#include "ftmb/region.h"
#include "ftmb/repl.h"

struct replay_input {
	const uint8_t *data; /* into the loaded file */
	uint16_t len;
};

struct replay_log {
	struct ftmb_repl_hello hello;
	uint8_t *file; /* the file's bytes; inputs point into them */
	size_t file_size;
	struct ftmb_vclock cut; /* in[q], pal[t] the checkpoint covers (0: none) */
	uint64_t cut_epoch;     /* its CUT's ckpt_seq (0: none) */
	struct replay_input *in[FTMB_MAX_THREADS]; /* in[q][seq - cut.in[q] - 1] */
	uint64_t n_in[FTMB_MAX_THREADS];
	struct ftmb_record *pal[FTMB_MAX_THREADS]; /* pal[t][counter - cut.pal[t] - 1] */
	uint64_t n_pal[FTMB_MAX_THREADS];
	uint64_t released[FTMB_MAX_THREADS]; /* highest RELEASED watermark */
	uint64_t frames;
};

/* Parses size bytes (taking ownership of data, a malloc'ed buffer, even on
 * failure). Returns 0, or -1 with a message in err naming the frame. */
int replay_log_parse(uint8_t *data, size_t size, struct replay_log *log, char *err,
		     size_t errlen);

/* Reads and parses a file. */
int replay_log_load(const char *path, struct replay_log *log, char *err, size_t errlen);

void replay_log_free(struct replay_log *log);

/* Per variable (n_vars entries), the sequence number of its last logged
 * access: the replica's replay horizon. */
void replay_log_horizons(const struct replay_log *log, uint64_t *horizon, uint32_t n_vars);

#endif
