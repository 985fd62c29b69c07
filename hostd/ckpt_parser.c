// SPDX-License-Identifier: GPL-2.0-or-later
/* Incremental parser of the checkpoint stream (format in ftmb/ckpt.h). */
#include <endian.h>
#include <inttypes.h>
#include <isa-l/crc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt_parser.h"
#include "ftmb/le.h"

#define HELLO_FIXED_LEN 8u
#define RAM_RECORD_LEN 8u

static uint64_t next_stream_id = 1;

static uint32_t get_be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return be32toh(v);
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

/* CRC32C as ftmb_crc32c() computes it, for bodies beyond INT_MAX bytes too. */
static uint32_t crc32c(const uint8_t *data, uint64_t len)
{
	uint32_t crc = 0xffffffffu;

	while (len) {
		int n = len > (1u << 30) ? 1 << 30 : (int)len;

		crc = crc32_iscsi((unsigned char *)data, n, crc);
		data += n;
		len -= (uint64_t)n;
	}
	return ~crc;
}

static int fail(struct ftmb_ckpt_parser *p, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	p->error = err;
	return err;
}

void ftmb_ckpt_parser_init(struct ftmb_ckpt_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->stream = __atomic_fetch_add(&next_stream_id, 1, __ATOMIC_RELAXED);
}

void ftmb_ckpt_parser_free(struct ftmb_ckpt_parser *p)
{
	free(p->body);
	p->body = NULL;
}

int ftmb_ckpt_layout_find(const struct ftmb_ckpt_layout *layout, const char *id, size_t id_len)
{
	for (unsigned int i = 0; i < layout->n_blocks; i++)
		if (strlen(layout->block[i].id) == id_len && !memcmp(layout->block[i].id, id, id_len))
			return (int)i;
	return -1;
}

bool ftmb_ckpt_layout_equal(const struct ftmb_ckpt_layout *a, const struct ftmb_ckpt_layout *b)
{
	if (a->page_size != b->page_size || a->n_blocks != b->n_blocks ||
	    strcmp(a->machine, b->machine))
		return false;
	for (unsigned int i = 0; i < a->n_blocks; i++)
		if (strcmp(a->block[i].id, b->block[i].id) ||
		    a->block[i].used_length != b->block[i].used_length)
			return false;
	return true;
}

/* --- RAM records ----------------------------------------------------------- */

void ftmb_ckpt_ram_iter_init(struct ftmb_ckpt_ram_iter *it, const struct ftmb_ckpt_layout *layout,
			     const uint8_t *ram, uint64_t len)
{
	it->layout = layout;
	it->p = ram;
	it->end = ram + len;
	it->block = -1;
	it->index = 0;
}

static int ram_error(const struct ftmb_ckpt_ram_iter *it, char *why, size_t why_len, int err,
		     const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(why, why_len, "RAM record %" PRIu64 ": %s", it->index, msg);
	return err;
}

/* Reads the block a record names (or continues), into it->block. */
static int ram_record_block(struct ftmb_ckpt_ram_iter *it, uint64_t flags, char *why,
			    size_t why_len)
{
	size_t id_len;
	int b;

	if (flags & FTMB_CKPT_RAM_CONTINUE) {
		if (it->block < 0)
			return ram_error(it, why, why_len, FTMB_E_FIELD,
					 "CONTINUE with no previous block");
		return FTMB_OK;
	}
	if (it->end - it->p < 1 || (size_t)(it->end - it->p - 1) < it->p[0])
		return ram_error(it, why, why_len, FTMB_E_LENGTH, "block name runs past the end");
	id_len = it->p[0];
	b = ftmb_ckpt_layout_find(it->layout, (const char *)it->p + 1, id_len);
	if (b < 0)
		return ram_error(it, why, why_len, FTMB_E_RANGE, "unknown RAM block '%.*s'",
				 (int)id_len, (const char *)it->p + 1);
	it->p += 1 + id_len;
	it->block = b;
	return FTMB_OK;
}

int ftmb_ckpt_ram_next(struct ftmb_ckpt_ram_iter *it, struct ftmb_ckpt_page *pg, char *why,
		       size_t why_len)
{
	const struct ftmb_ckpt_layout *l = it->layout;
	uint64_t v, flags, offset, allowed;
	int err;

	if (it->end - it->p < RAM_RECORD_LEN)
		return ram_error(it, why, why_len, FTMB_E_TRUNCATED, "no EOS at the end");
	v = get_be64(it->p);
	it->p += RAM_RECORD_LEN;
	flags = v & (l->page_size - 1);
	offset = v & ~(uint64_t)(l->page_size - 1);
	if (flags == FTMB_CKPT_RAM_EOS) {
		if (it->p != it->end)
			return ram_error(it, why, why_len, FTMB_E_LENGTH,
					 "%td bytes after EOS", it->end - it->p);
		return 0;
	}
	allowed = FTMB_CKPT_RAM_ZERO | FTMB_CKPT_RAM_PAGE | FTMB_CKPT_RAM_CONTINUE;
	if ((flags & ~allowed) ||
	    !(flags & FTMB_CKPT_RAM_ZERO) == !(flags & FTMB_CKPT_RAM_PAGE))
		return ram_error(it, why, why_len, FTMB_E_TYPE,
				 "flags 0x%" PRIx64 " (want ZERO or PAGE, CONTINUE)", flags);
	err = ram_record_block(it, flags, why, why_len);
	if (err)
		return err;
	if (offset >= l->block[it->block].used_length)
		return ram_error(it, why, why_len, FTMB_E_RANGE,
				 "offset 0x%" PRIx64 " beyond block '%s' (0x%" PRIx64 " bytes)", offset,
				 l->block[it->block].id, l->block[it->block].used_length);
	pg->block = (unsigned int)it->block;
	pg->offset = offset;
	if (flags & FTMB_CKPT_RAM_ZERO) {
		if (it->p == it->end)
			return ram_error(it, why, why_len, FTMB_E_LENGTH, "ZERO without its fill byte");
		pg->data = NULL;
		pg->fill = *it->p++;
	} else {
		if ((uint64_t)(it->end - it->p) < l->page_size)
			return ram_error(it, why, why_len, FTMB_E_LENGTH, "page runs past the end");
		pg->data = it->p;
		pg->fill = 0;
		it->p += l->page_size;
	}
	it->index++;
	return 1;
}

/* --- frames ---------------------------------------------------------------- */

static int parse_hello(struct ftmb_ckpt_parser *p)
{
	struct ftmb_ckpt_layout *l = &p->layout;
	const uint8_t *b = p->body, *end = p->body + p->body_len;
	unsigned int machine_len;

	if (p->body_len < HELLO_FIXED_LEN)
		return fail(p, FTMB_E_LENGTH, "HELLO of %" PRIu64 " bytes", p->body_len);
	memset(l, 0, sizeof(*l));
	l->page_size = ftmb_get_le32(b);
	l->n_blocks = ftmb_get_le16(b + 4);
	machine_len = b[6];
	if (l->page_size < 512 || l->page_size > (1u << 21) || (l->page_size & (l->page_size - 1)))
		return fail(p, FTMB_E_FIELD, "HELLO: page size %u", l->page_size);
	if (l->n_blocks == 0 || l->n_blocks > FTMB_CKPT_MAX_BLOCKS)
		return fail(p, FTMB_E_COUNT, "HELLO: %u RAM blocks (1..%u)", l->n_blocks,
			    FTMB_CKPT_MAX_BLOCKS);
	if (b[7] != 0)
		return fail(p, FTMB_E_FIELD, "HELLO: reserved byte is %u", b[7]);
	b += HELLO_FIXED_LEN;
	if (machine_len == 0 || (size_t)(end - b) < machine_len)
		return fail(p, FTMB_E_LENGTH, "HELLO: machine name of %u bytes", machine_len);
	memcpy(l->machine, b, machine_len);
	b += machine_len;
	for (unsigned int i = 0; i < l->n_blocks; i++) {
		struct ftmb_ckpt_block *blk = &l->block[i];
		size_t id_len;

		if (end - b < 1 || (size_t)(end - b) < 1u + b[0] + 8u || b[0] == 0)
			return fail(p, FTMB_E_LENGTH, "HELLO: block %u runs past the end", i);
		id_len = b[0];
		memcpy(blk->id, b + 1, id_len);
		if (strlen(blk->id) != id_len)
			return fail(p, FTMB_E_FIELD, "HELLO: block %u name has a NUL", i);
		if (ftmb_ckpt_layout_find(l, blk->id, id_len) != (int)i)
			return fail(p, FTMB_E_FIELD, "HELLO: block '%s' listed twice", blk->id);
		blk->used_length = ftmb_get_le64(b + 1 + id_len);
		if (blk->used_length == 0 || blk->used_length > FTMB_CKPT_MAX_BLOCK_LEN ||
		    blk->used_length % l->page_size)
			return fail(p, FTMB_E_RANGE, "HELLO: block '%s' of 0x%" PRIx64 " bytes",
				    blk->id, blk->used_length);
		b += 1 + id_len + 8;
	}
	if (b != end)
		return fail(p, FTMB_E_LENGTH, "HELLO: %td bytes after the block table", end - b);
	p->have_layout = true;
	return FTMB_OK;
}

/* The device part is opaque, but restore relies on its header and EOF. */
static int check_device_state(struct ftmb_ckpt_parser *p)
{
	const struct ftmb_ckpt_frame *f = &p->cur;

	if (f->dev_len < 9 || get_be32(f->dev) != FTMB_CKPT_DEV_MAGIC ||
	    get_be32(f->dev + 4) != FTMB_CKPT_DEV_VERSION)
		return fail(p, FTMB_E_MAGIC, "checkpoint %" PRIu64 ": device state has no QEVM v3 header",
			    f->seq);
	if (f->dev[f->dev_len - 1] != 0)
		return fail(p, FTMB_E_FIELD, "checkpoint %" PRIu64 ": device state does not end with EOF",
			    f->seq);
	return FTMB_OK;
}

static int check_checkpoint(struct ftmb_ckpt_parser *p)
{
	struct ftmb_ckpt_frame *f = &p->cur;
	struct ftmb_ckpt_ram_iter it;
	struct ftmb_ckpt_page pg;
	char why[sizeof(p->why) - 32];
	int r;

	f->ram = p->body;
	f->dev = p->body + f->ram_len;
	ftmb_ckpt_ram_iter_init(&it, &p->layout, f->ram, f->ram_len);
	while ((r = ftmb_ckpt_ram_next(&it, &pg, why, sizeof(why))) == 1)
		;
	if (r < 0)
		return fail(p, r, "checkpoint %" PRIu64 ": %s", f->seq, why);
	f->n_pages = it.index;
	return check_device_state(p);
}

/* Largest RAM part a checkpoint of this layout can have: every page, each
 * record naming its block, and the EOS. */
static uint64_t max_ram_len(const struct ftmb_ckpt_layout *l)
{
	uint64_t pages = 0;

	for (unsigned int i = 0; i < l->n_blocks; i++)
		pages += l->block[i].used_length / l->page_size;
	return pages * (RAM_RECORD_LEN + 1 + FTMB_CKPT_ID_MAX + l->page_size) + RAM_RECORD_LEN;
}

/* Checks a complete header and prepares for its body. */
static int start_frame(struct ftmb_ckpt_parser *p)
{
	const uint8_t *h = p->hdr;
	struct ftmb_ckpt_frame *f = &p->cur;
	uint16_t version;

	if (ftmb_get_le32(h) != FTMB_CKPT_MAGIC)
		return fail(p, FTMB_E_MAGIC, "frame header has magic 0x%08x", ftmb_get_le32(h));
	if (crc32c(h, 44) != ftmb_get_le32(h + 44))
		return fail(p, FTMB_E_CHECKSUM, "frame header checksum mismatch");
	version = ftmb_get_le16(h + 4);
	if (version != FTMB_CKPT_VERSION)
		return fail(p, FTMB_E_VERSION, "frame version %u, this build speaks %u", version,
			    FTMB_CKPT_VERSION);
	if (ftmb_get_le32(h + 40) != 0)
		return fail(p, FTMB_E_FIELD, "frame header reserved field is not zero");
	memset(f, 0, sizeof(*f));
	f->type = ftmb_get_le16(h + 6);
	f->flags = ftmb_get_le32(h + 8);
	f->seq = ftmb_get_le64(h + 16);
	f->ram_len = ftmb_get_le64(h + 24);
	f->dev_len = ftmb_get_le64(h + 32);
	f->stream = p->stream;
	p->body_crc = ftmb_get_le32(h + 12);

	switch (f->type) {
	case FTMB_CKPT_HELLO:
		if (p->have_layout)
			return fail(p, FTMB_E_SEQ, "a second HELLO");
		if (f->flags || f->seq || f->dev_len || f->ram_len > FTMB_CKPT_MAX_HELLO_LEN)
			return fail(p, FTMB_E_LENGTH, "HELLO header: flags %u seq %" PRIu64
				    " lengths %" PRIu64 "+%" PRIu64, f->flags, f->seq, f->ram_len,
				    f->dev_len);
		break;
	case FTMB_CKPT_CHECKPOINT:
		if (!p->have_layout)
			return fail(p, FTMB_E_SEQ, "checkpoint before HELLO");
		if (f->seq != p->last_seq + 1)
			return fail(p, FTMB_E_SEQ, "checkpoint %" PRIu64 " after %" PRIu64, f->seq,
				    p->last_seq);
		if (f->flags != (f->seq == 1 ? FTMB_CKPT_FLAG_FULL : 0))
			return fail(p, FTMB_E_FIELD, "checkpoint %" PRIu64 " has flags 0x%x", f->seq,
				    f->flags);
		if (f->ram_len > max_ram_len(&p->layout) || f->dev_len > FTMB_CKPT_MAX_DEV_LEN)
			return fail(p, FTMB_E_LENGTH, "checkpoint %" PRIu64 ": absurd lengths %" PRIu64
				    " (RAM) and %" PRIu64 " (devices)", f->seq, f->ram_len, f->dev_len);
		break;
	default:
		return fail(p, FTMB_E_TYPE, "frame type %u", f->type);
	}

	p->body_len = f->ram_len + f->dev_len;
	p->body_have = 0;
	if (p->body_len > p->body_cap) {
		uint8_t *nb = realloc(p->body, p->body_len);

		if (!nb)
			return fail(p, FTMB_E_NOSPACE, "no memory for a %" PRIu64 "-byte frame",
				    p->body_len);
		p->body = nb;
		p->body_cap = p->body_len;
	}
	return FTMB_OK;
}

/* The body is complete: checksum, then structure. */
static int finish_frame(struct ftmb_ckpt_parser *p, struct ftmb_ckpt_frame *f)
{
	int err;

	if (crc32c(p->body, p->body_len) != p->body_crc)
		return fail(p, FTMB_E_CHECKSUM, "%s %" PRIu64 ": body checksum mismatch",
			    p->cur.type == FTMB_CKPT_HELLO ? "HELLO" : "checkpoint", p->cur.seq);
	if (p->cur.type == FTMB_CKPT_HELLO) {
		err = parse_hello(p);
	} else {
		err = check_checkpoint(p);
		if (!err)
			p->last_seq = p->cur.seq;
	}
	if (err)
		return err;
	*f = p->cur;
	p->hdr_have = 0;
	p->body_len = p->body_have = 0;
	return 1;
}

int ftmb_ckpt_parser_feed(struct ftmb_ckpt_parser *p, const void *data, size_t n, size_t *used,
			  struct ftmb_ckpt_frame *f)
{
	const uint8_t *in = data;
	size_t take;
	int err;

	*used = 0;
	if (p->error)
		return p->error;
	if (p->hdr_have < FTMB_CKPT_HDR_LEN) {
		take = FTMB_CKPT_HDR_LEN - p->hdr_have;
		if (take > n)
			take = n;
		memcpy(p->hdr + p->hdr_have, in, take);
		p->hdr_have += take;
		*used = take;
		if (p->hdr_have < FTMB_CKPT_HDR_LEN)
			return 0;
		err = start_frame(p);
		if (err)
			return err;
	}
	take = n - *used;
	if (take > p->body_len - p->body_have)
		take = (size_t)(p->body_len - p->body_have);
	if (take) {
		memcpy(p->body + p->body_have, in + *used, take);
		p->body_have += take;
	}
	*used += take;
	if (p->body_have < p->body_len)
		return 0;
	return finish_frame(p, f);
}

int ftmb_ckpt_parser_finish(struct ftmb_ckpt_parser *p)
{
	if (p->error)
		return p->error;
	if (p->hdr_have == 0)
		return FTMB_OK;
	if (p->hdr_have < FTMB_CKPT_HDR_LEN)
		return fail(p, FTMB_E_TRUNCATED, "stream ended inside a frame header (%zu of %u bytes)",
			    p->hdr_have, FTMB_CKPT_HDR_LEN);
	return fail(p, FTMB_E_TRUNCATED, "stream ended inside %s %" PRIu64 " (%" PRIu64 " of %" PRIu64
		    " body bytes)", p->cur.type == FTMB_CKPT_HELLO ? "HELLO" : "checkpoint",
		    p->cur.seq, p->body_have, p->body_len);
}
