// SPDX-License-Identifier: LGPL-2.1-or-later
#include "ftmb/err.h"
#include "ftmb/le.h"
#include "ftmb/tag.h"

void ftmb_in_tag_write(uint8_t *dst, uint16_t queue, uint64_t seq)
{
	ftmb_put_le64(dst, seq);
	ftmb_put_le16(dst + 8, queue);
	ftmb_put_le16(dst + 10, 0);
	ftmb_put_le32(dst + 12, FTMB_IN_TAG_MAGIC);
}

int ftmb_in_tag_parse(const uint8_t *frame, size_t len, struct ftmb_in_tag *tag)
{
	const uint8_t *t;

	if (len < FTMB_MIN_FRAME + FTMB_IN_TAG_LEN)
		return FTMB_E_TRUNCATED;
	t = frame + len - FTMB_IN_TAG_LEN;
	if (ftmb_get_le32(t + 12) != FTMB_IN_TAG_MAGIC)
		return FTMB_E_MAGIC;
	if (ftmb_get_le16(t + 10) != 0)
		return FTMB_E_FIELD;
	tag->seq = ftmb_get_le64(t);
	tag->queue = ftmb_get_le16(t + 8);
	return FTMB_OK;
}

int ftmb_out_tag_append(uint8_t *frame, size_t len, size_t cap, uint16_t thread, uint64_t out_seq,
			const struct ftmb_vclock *dep, uint32_t n_threads)
{
	int vc_len;
	uint8_t *t;

	if (thread >= n_threads)
		return FTMB_E_RANGE;
	if (cap < len)
		return FTMB_E_NOSPACE;
	vc_len = ftmb_vc_encode(dep, n_threads, frame + len, cap - len);
	if (vc_len < 0)
		return vc_len;
	if (cap - len - (size_t)vc_len < FTMB_OUT_TAG_FIXED)
		return FTMB_E_NOSPACE;
	t = frame + len + vc_len;
	ftmb_put_le64(t, out_seq);
	ftmb_put_le16(t + 8, thread);
	ftmb_put_le16(t + 10, (uint16_t)vc_len);
	ftmb_put_le32(t + 12, FTMB_OUT_TAG_MAGIC);
	return (int)(len + (size_t)vc_len + FTMB_OUT_TAG_FIXED);
}

int ftmb_out_tag_parse(const uint8_t *frame, size_t len, uint32_t n_threads,
		       struct ftmb_out_tag *tag)
{
	const uint8_t *t;
	uint16_t vc_len;
	int err;

	if (len < FTMB_MIN_FRAME + FTMB_OUT_TAG_FIXED)
		return FTMB_E_TRUNCATED;
	t = frame + len - FTMB_OUT_TAG_FIXED;
	if (ftmb_get_le32(t + 12) != FTMB_OUT_TAG_MAGIC)
		return FTMB_E_MAGIC;
	tag->out_seq = ftmb_get_le64(t);
	tag->thread = ftmb_get_le16(t + 8);
	vc_len = ftmb_get_le16(t + 10);
	if (tag->thread >= n_threads)
		return FTMB_E_RANGE;
	if (tag->out_seq == 0)
		return FTMB_E_SEQ;
	if (vc_len > FTMB_VC_MAX_ENCODED ||
	    len < FTMB_MIN_FRAME + FTMB_OUT_TAG_FIXED + (size_t)vc_len)
		return FTMB_E_LENGTH;
	err = ftmb_vc_decode(t - vc_len, vc_len, n_threads, &tag->dep);
	if (err)
		return err;
	tag->tag_len = FTMB_OUT_TAG_FIXED + vc_len;
	return FTMB_OK;
}
