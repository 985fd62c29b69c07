// SPDX-License-Identifier: GPL-2.0-or-later
/* The backup's checkpoint store (see ckpt_store.h). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ckpt_store.h"

static int refuse(struct ftmb_ckpt_store *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	return err;
}

void ftmb_ckpt_store_init(struct ftmb_ckpt_store *s)
{
	memset(s, 0, sizeof(*s));
}

/* Images are anonymous mappings: untouched pages cost nothing and read as 0. */
static uint8_t *image_alloc(uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void images_free(uint8_t **image, const struct ftmb_ckpt_layout *l)
{
	for (unsigned int i = 0; i < l->n_blocks; i++) {
		if (image[i])
			munmap(image[i], l->block[i].used_length);
		image[i] = NULL;
	}
}

void ftmb_ckpt_store_free(struct ftmb_ckpt_store *s)
{
	images_free(s->image, &s->layout);
	free(s->dev);
	free(s->cut);
	ftmb_ckpt_store_init(s);
}

/* Checks every record before anything is written, so that a frame that did
 * not come from a parser cannot leave the store half-applied. */
static int verify_records(struct ftmb_ckpt_store *s, const struct ftmb_ckpt_layout *l,
			  const struct ftmb_ckpt_frame *f)
{
	struct ftmb_ckpt_ram_iter it;
	struct ftmb_ckpt_page pg;
	int r;

	ftmb_ckpt_ram_iter_init(&it, l, f->ram, f->ram_len);
	while ((r = ftmb_ckpt_ram_next(&it, &pg, s->why, sizeof(s->why))) == 1)
		;
	return r;
}

static void apply_records(uint8_t **image, const struct ftmb_ckpt_layout *l,
			  const struct ftmb_ckpt_frame *f, bool fresh)
{
	struct ftmb_ckpt_ram_iter it;
	struct ftmb_ckpt_page pg;
	char why[8];

	ftmb_ckpt_ram_iter_init(&it, l, f->ram, f->ram_len);
	while (ftmb_ckpt_ram_next(&it, &pg, why, sizeof(why)) == 1) {
		uint8_t *dst = image[pg.block] + pg.offset;

		if (pg.data)
			memcpy(dst, pg.data, l->page_size);
		else if (pg.fill || !fresh) /* fresh images are zero already */
			memset(dst, pg.fill, l->page_size);
	}
}

/* Makes room for the device state and the cut first: after this nothing fails. */
static int reserve(struct ftmb_ckpt_store *s, const struct ftmb_ckpt_frame *f, size_t cut_len,
		   uint8_t **cut_copy)
{
	if (f->dev_len > s->dev_cap) {
		uint8_t *d = realloc(s->dev, f->dev_len);

		if (!d)
			return refuse(s, FTMB_E_NOSPACE, "no memory for %" PRIu64 " bytes of device state",
				      f->dev_len);
		s->dev = d;
		s->dev_cap = f->dev_len;
	}
	*cut_copy = NULL;
	if (cut_len) {
		*cut_copy = malloc(cut_len);
		if (!*cut_copy)
			return refuse(s, FTMB_E_NOSPACE, "no memory for the cut");
	}
	return FTMB_OK;
}

static int apply_full(struct ftmb_ckpt_store *s, const struct ftmb_ckpt_layout *l,
		      const struct ftmb_ckpt_frame *f)
{
	uint8_t *image[FTMB_CKPT_MAX_BLOCKS] = { 0 };

	for (unsigned int i = 0; i < l->n_blocks; i++) {
		image[i] = image_alloc(l->block[i].used_length);
		if (!image[i]) {
			images_free(image, l);
			return refuse(s, FTMB_E_NOSPACE, "no memory for RAM block '%s'", l->block[i].id);
		}
	}
	apply_records(image, l, f, true);
	images_free(s->image, &s->layout);
	memcpy(s->image, image, sizeof(image));
	s->layout = *l;
	return FTMB_OK;
}

static int check_increment(struct ftmb_ckpt_store *s, const struct ftmb_ckpt_layout *l,
			   const struct ftmb_ckpt_frame *f)
{
	if (!s->valid || f->stream != s->stream)
		return refuse(s, FTMB_E_SEQ, "checkpoint %" PRIu64 " is incremental but the store has "
			      "no full checkpoint of its stream", f->seq);
	if (f->seq != s->seq + 1)
		return refuse(s, FTMB_E_SEQ, "checkpoint %" PRIu64 " does not follow stored %" PRIu64,
			      f->seq, s->seq);
	if (!ftmb_ckpt_layout_equal(l, &s->layout))
		return refuse(s, FTMB_E_LAYOUT, "checkpoint %" PRIu64 ": RAM layout changed", f->seq);
	return FTMB_OK;
}

int ftmb_ckpt_store_apply(struct ftmb_ckpt_store *s, const struct ftmb_ckpt_layout *l,
			  const struct ftmb_ckpt_frame *f, const void *cut, size_t cut_len)
{
	bool full = f->flags & FTMB_CKPT_FLAG_FULL;
	uint8_t *cut_copy;
	int err;

	if (f->type != FTMB_CKPT_CHECKPOINT)
		return refuse(s, FTMB_E_TYPE, "frame type %u is not a checkpoint", f->type);
	if (cut_len > FTMB_CKPT_MAX_CUT_LEN)
		return refuse(s, FTMB_E_LENGTH, "cut of %zu bytes (max %u)", cut_len,
			      FTMB_CKPT_MAX_CUT_LEN);
	err = full ? FTMB_OK : check_increment(s, l, f);
	if (!err)
		err = verify_records(s, l, f);
	if (!err)
		err = reserve(s, f, cut_len, &cut_copy);
	if (err)
		return err;
	if (full) {
		err = apply_full(s, l, f);
		if (err) {
			free(cut_copy);
			return err;
		}
	} else {
		apply_records(s->image, l, f, false);
	}

	memcpy(s->dev, f->dev, f->dev_len);
	s->dev_len = f->dev_len;
	if (cut_len)
		memcpy(cut_copy, cut, cut_len);
	free(s->cut);
	s->cut = cut_copy;
	s->cut_len = cut_len;
	s->seq = f->seq;
	s->stream = f->stream;
	s->valid = true;
	return FTMB_OK;
}
