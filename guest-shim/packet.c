// SPDX-License-Identifier: LGPL-2.1-or-later
/* Frames in and out: input tags feed the dependency vector, output tags carry
 * it to the host's output logger. */
#include "ftmb/tag.h"
#include "shim.h"

int ftmb_rx(struct ftmb_thread *th, const uint8_t *frame, size_t len)
{
	struct ftmb_in_tag tag;
	int err;

	if (shim_mode(th->f) == FTMB_MODE_OFF)
		return (int)len;
	err = ftmb_in_tag_parse(frame, len, &tag);
	if (err)
		return err;
	if (tag.queue >= th->f->geo.n_threads || tag.seq == 0)
		return FTMB_E_RANGE;
	if (tag.seq > th->vc.in[tag.queue])
		th->vc.in[tag.queue] = tag.seq;
	return (int)(len - FTMB_IN_TAG_LEN);
}

int ftmb_tx(struct ftmb_thread *th, uint8_t *frame, size_t len, size_t room)
{
	int n;

	if (shim_mode(th->f) == FTMB_MODE_OFF)
		return (int)len;
	n = ftmb_out_tag_append(frame, len, room, (uint16_t)th->idx, th->out_seq + 1, &th->vc,
				th->f->geo.n_threads);
	if (n > 0)
		th->out_seq++;
	return n;
}
