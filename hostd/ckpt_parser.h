/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Incremental parser of the checkpoint stream (format in ftmb/ckpt.h).
 *
 * Bytes arrive in pieces of any size. A frame comes out only when it is
 * whole and verified: header and body checksums, the HELLO layout, and every
 * RAM record's block, offset and length against that layout. The stream is
 * untrusted; the first error fails the parser for good and p->why says what
 * was wrong, for the log line that closes the connection.
 */
#ifndef FTMB_CKPT_PARSER_H
#define FTMB_CKPT_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ftmb/ckpt.h"
#include "ftmb/err.h"

#define FTMB_CKPT_ID_MAX 255u

struct ftmb_ckpt_block {
	char id[FTMB_CKPT_ID_MAX + 1];
	uint64_t used_length;
};

/* What a HELLO frame says about the VM. */
struct ftmb_ckpt_layout {
	uint32_t page_size;
	char machine[FTMB_CKPT_ID_MAX + 1];
	unsigned int n_blocks;
	struct ftmb_ckpt_block block[FTMB_CKPT_MAX_BLOCKS];
};

/* A whole, verified frame; its pointers are valid until the next feed. */
struct ftmb_ckpt_frame {
	uint16_t type;
	uint32_t flags;
	uint64_t seq;
	uint64_t stream; /* the parser that produced it (ftmb_ckpt_parser.stream) */
	const uint8_t *ram;
	uint64_t ram_len;
	const uint8_t *dev;
	uint64_t dev_len;
	uint64_t n_pages;
};

/* One RAM record of a checkpoint, decoded. */
struct ftmb_ckpt_page {
	unsigned int block;  /* index into the layout */
	uint64_t offset;     /* within the block, page-aligned */
	const uint8_t *data; /* page_size bytes, or NULL: fill with `fill` */
	uint8_t fill;
};

/* Walks the RAM records of a verified checkpoint frame. */
struct ftmb_ckpt_ram_iter {
	const struct ftmb_ckpt_layout *layout;
	const uint8_t *p, *end;
	int block; /* of the previous record, for CONTINUE; -1 before the first */
	uint64_t index;
};

struct ftmb_ckpt_parser {
	uint64_t stream;
	bool have_layout;
	struct ftmb_ckpt_layout layout;
	uint64_t last_seq;

	uint8_t hdr[FTMB_CKPT_HDR_LEN];
	size_t hdr_have;
	struct ftmb_ckpt_frame cur; /* fields of the frame being received */
	uint32_t body_crc;
	uint8_t *body;
	uint64_t body_len, body_have, body_cap;

	int error;
	char why[200];
};

void ftmb_ckpt_parser_init(struct ftmb_ckpt_parser *p);
void ftmb_ckpt_parser_free(struct ftmb_ckpt_parser *p);

/*
 * Consumes data up to the end of one frame. Returns 1 with *f set when a
 * frame is complete and verified (*used says how much of data it took; feed
 * the rest next), 0 when all of data was consumed inside a frame, or an enum
 * ftmb_err, after which the parser stays failed.
 */
int ftmb_ckpt_parser_feed(struct ftmb_ckpt_parser *p, const void *data, size_t n, size_t *used,
			  struct ftmb_ckpt_frame *f);

/* The stream has ended: FTMB_OK between frames, FTMB_E_TRUNCATED inside one
 * (that frame is dropped), or the parser's earlier error. */
int ftmb_ckpt_parser_finish(struct ftmb_ckpt_parser *p);

/*
 * RAM record iterator, used by the parser to verify a frame and by the store
 * to apply it. Returns 1 with *pg set, 0 at EOS (which must end the data),
 * or an enum ftmb_err with *why (of size why_len) saying what is wrong.
 */
void ftmb_ckpt_ram_iter_init(struct ftmb_ckpt_ram_iter *it, const struct ftmb_ckpt_layout *layout,
			     const uint8_t *ram, uint64_t len);
int ftmb_ckpt_ram_next(struct ftmb_ckpt_ram_iter *it, struct ftmb_ckpt_page *pg, char *why,
		       size_t why_len);

/* Index of the block named id in layout, or -1. */
int ftmb_ckpt_layout_find(const struct ftmb_ckpt_layout *layout, const char *id, size_t id_len);

bool ftmb_ckpt_layout_equal(const struct ftmb_ckpt_layout *a, const struct ftmb_ckpt_layout *b);

#endif
