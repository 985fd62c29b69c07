// SPDX-License-Identifier: GPL-2.0-or-later
/* The replication frame codec (format in ftmb/repl.h). */
#include <isa-l/crc.h>
#include <string.h>

#include "ftmb/le.h"
#include "ftmb/repl.h"

#define VEC_HDR_LEN 8u /* u16 n | u16 0 | u32 0 */
#define HELLO_LEN (4 + 2 + 1 + 1 + 2 + 2 + 4 + 8 + FTMB_INSTANCE_MAX + 1)
#define INPUT_HDR_LEN 16u
#define PAL_HDR_LEN 8u
#define HEARTBEAT_LEN 24u
#define COMMITTED_LEN 8u
#define HANDOVER_LEN (8 + FTMB_INSTANCE_MAX + 1)

uint32_t ftmb_crc32c(const void *data, size_t len)
{
	return ~crc32_iscsi((unsigned char *)data, (int)len, 0xffffffffu);
}

static uint32_t frame_crc(const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
	uint32_t raw = crc32_iscsi((unsigned char *)hdr, 8, 0xffffffffu);

	return ~crc32_iscsi((unsigned char *)payload, (int)len, raw);
}

/* Reserves a frame of payload_len bytes in buf; returns the payload pointer
 * or NULL when it does not fit. finish_frame() then seals it. */
static uint8_t *begin_frame(uint8_t *buf, size_t cap, uint32_t payload_len)
{
	if (payload_len > FTMB_REPL_MAX_PAYLOAD || cap < FTMB_REPL_HDR_LEN + (size_t)payload_len)
		return NULL;
	return buf + FTMB_REPL_HDR_LEN;
}

static int finish_frame(uint8_t *buf, uint8_t type, uint32_t payload_len)
{
	ftmb_put_le32(buf, payload_len);
	buf[4] = type;
	buf[5] = 0;
	ftmb_put_le16(buf + 6, 0);
	ftmb_put_le32(buf + 8, frame_crc(buf, buf + FTMB_REPL_HDR_LEN, payload_len));
	return (int)(FTMB_REPL_HDR_LEN + payload_len);
}

static void put_vec_hdr(uint8_t *p, uint16_t n)
{
	ftmb_put_le16(p, n);
	ftmb_put_le16(p + 2, 0);
	ftmb_put_le32(p + 4, 0);
}

static void put_vclock(uint8_t *p, const struct ftmb_vclock *vc, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		ftmb_put_le64(p + 8 * i, vc->in[i]);
		ftmb_put_le64(p + 8 * (n + i), vc->pal[i]);
	}
}

static int valid_instance_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

static int check_instance(const char *name, size_t max)
{
	size_t len = strnlen(name, max);

	if (len == 0 || len == max)
		return FTMB_E_LENGTH;
	for (size_t i = 0; i < len; i++)
		if (!valid_instance_char(name[i]))
			return FTMB_E_FIELD;
	for (size_t i = len; i < max; i++)
		if (name[i] != '\0')
			return FTMB_E_FIELD;
	return FTMB_OK;
}

int ftmb_repl_put_hello(uint8_t *buf, size_t cap, const struct ftmb_repl_hello *h)
{
	char name[FTMB_INSTANCE_MAX + 1] = { 0 };
	uint8_t *p = begin_frame(buf, cap, HELLO_LEN);

	if (!p)
		return FTMB_E_NOSPACE;
	memcpy(name, h->instance, strnlen(h->instance, FTMB_INSTANCE_MAX));
	if (check_instance(name, sizeof(name)) || h->n_threads == 0 ||
	    h->n_threads > FTMB_MAX_THREADS || h->n_vars == 0 || h->n_vars > FTMB_MAX_VARS)
		return FTMB_E_RANGE;
	ftmb_put_le32(p, FTMB_REPL_MAGIC);
	ftmb_put_le16(p + 4, FTMB_REPL_VERSION);
	p[6] = h->role;
	p[7] = 0;
	ftmb_put_le16(p + 8, h->n_threads);
	ftmb_put_le16(p + 10, 0);
	ftmb_put_le32(p + 12, h->n_vars);
	ftmb_put_le64(p + 16, h->generation);
	memcpy(p + 24, name, sizeof(name));
	return finish_frame(buf, FTMB_REPL_HELLO, HELLO_LEN);
}

int ftmb_repl_put_input(uint8_t *buf, size_t cap, uint16_t queue, uint64_t seq,
			const void *pkt, uint16_t len)
{
	uint8_t *p = begin_frame(buf, cap, INPUT_HDR_LEN + len);

	if (!p)
		return FTMB_E_NOSPACE;
	if (queue >= FTMB_MAX_THREADS || len > FTMB_REPL_MAX_PKT || seq == 0)
		return FTMB_E_RANGE;
	ftmb_put_le16(p, queue);
	ftmb_put_le16(p + 2, len);
	ftmb_put_le32(p + 4, 0);
	ftmb_put_le64(p + 8, seq);
	memcpy(p + INPUT_HDR_LEN, pkt, len);
	return finish_frame(buf, FTMB_REPL_INPUT, INPUT_HDR_LEN + len);
}

int ftmb_repl_put_pal(uint8_t *buf, size_t cap, uint16_t thread, const struct ftmb_record *recs,
		      uint16_t count)
{
	uint32_t len = PAL_HDR_LEN + (uint32_t)count * sizeof(struct ftmb_record);
	uint8_t *p = begin_frame(buf, cap, len);

	if (!p)
		return FTMB_E_NOSPACE;
	if (thread >= FTMB_MAX_THREADS || count == 0 || count > FTMB_REPL_MAX_RECORDS)
		return FTMB_E_RANGE;
	ftmb_put_le16(p, thread);
	ftmb_put_le16(p + 2, count);
	ftmb_put_le32(p + 4, 0);
	for (uint16_t i = 0; i < count; i++) {
		uint8_t *r = p + PAL_HDR_LEN + 32 * i;

		ftmb_put_le16(r, recs[i].type);
		ftmb_put_le16(r + 2, recs[i].reserved);
		ftmb_put_le32(r + 4, recs[i].var);
		ftmb_put_le64(r + 8, recs[i].counter);
		ftmb_put_le64(r + 16, recs[i].seq);
		ftmb_put_le64(r + 24, recs[i].value);
	}
	return finish_frame(buf, FTMB_REPL_PAL, len);
}

int ftmb_repl_put_released(uint8_t *buf, size_t cap, const struct ftmb_repl_released *r)
{
	uint32_t len = VEC_HDR_LEN + 8u * r->n;
	uint8_t *p = begin_frame(buf, cap, len);

	if (!p)
		return FTMB_E_NOSPACE;
	if (r->n == 0 || r->n > FTMB_MAX_THREADS)
		return FTMB_E_RANGE;
	put_vec_hdr(p, r->n);
	for (uint16_t i = 0; i < r->n; i++)
		ftmb_put_le64(p + VEC_HDR_LEN + 8 * i, r->out_seq[i]);
	return finish_frame(buf, FTMB_REPL_RELEASED, len);
}

/* CUT and BASE share their layout. */
static int put_cut_like(uint8_t *buf, size_t cap, uint8_t type, const struct ftmb_repl_vector *cut)
{
	uint32_t len = 8 + VEC_HDR_LEN + 16u * cut->n;
	uint8_t *p = begin_frame(buf, cap, len);

	if (!p)
		return FTMB_E_NOSPACE;
	if (cut->n == 0 || cut->n > FTMB_MAX_THREADS)
		return FTMB_E_RANGE;
	ftmb_put_le64(p, cut->ckpt_seq);
	put_vec_hdr(p + 8, cut->n);
	put_vclock(p + 8 + VEC_HDR_LEN, &cut->vc, cut->n);
	return finish_frame(buf, type, len);
}

int ftmb_repl_put_cut(uint8_t *buf, size_t cap, const struct ftmb_repl_vector *cut)
{
	return put_cut_like(buf, cap, FTMB_REPL_CUT, cut);
}

int ftmb_repl_put_base(uint8_t *buf, size_t cap, const struct ftmb_repl_vector *base)
{
	return put_cut_like(buf, cap, FTMB_REPL_BASE, base);
}

int ftmb_repl_put_ack(uint8_t *buf, size_t cap, const struct ftmb_repl_vector *ack)
{
	uint32_t len = VEC_HDR_LEN + 16u * ack->n;
	uint8_t *p = begin_frame(buf, cap, len);

	if (!p)
		return FTMB_E_NOSPACE;
	if (ack->n == 0 || ack->n > FTMB_MAX_THREADS)
		return FTMB_E_RANGE;
	put_vec_hdr(p, ack->n);
	put_vclock(p + VEC_HDR_LEN, &ack->vc, ack->n);
	return finish_frame(buf, FTMB_REPL_ACK, len);
}

int ftmb_repl_put_heartbeat(uint8_t *buf, size_t cap, const struct ftmb_repl_heartbeat *hb)
{
	uint8_t *p = begin_frame(buf, cap, HEARTBEAT_LEN);

	if (!p)
		return FTMB_E_NOSPACE;
	ftmb_put_le64(p, hb->seq);
	ftmb_put_le64(p + 8, hb->time_ns);
	ftmb_put_le32(p + 16, hb->state);
	ftmb_put_le32(p + 20, 0);
	return finish_frame(buf, FTMB_REPL_HEARTBEAT, HEARTBEAT_LEN);
}

int ftmb_repl_put_committed(uint8_t *buf, size_t cap, uint64_t epoch)
{
	uint8_t *p = begin_frame(buf, cap, COMMITTED_LEN);

	if (!p)
		return FTMB_E_NOSPACE;
	if (epoch == 0)
		return FTMB_E_RANGE;
	ftmb_put_le64(p, epoch);
	return finish_frame(buf, FTMB_REPL_COMMITTED, COMMITTED_LEN);
}

static int valid_handover_step(uint32_t step)
{
	return step >= FTMB_HANDOVER_REQUEST && step <= FTMB_HANDOVER_REFUSED;
}

int ftmb_repl_put_handover(uint8_t *buf, size_t cap, const struct ftmb_repl_handover *h)
{
	char name[FTMB_INSTANCE_MAX + 1] = { 0 };
	uint8_t *p = begin_frame(buf, cap, HANDOVER_LEN);

	if (!p)
		return FTMB_E_NOSPACE;
	memcpy(name, h->instance, strnlen(h->instance, FTMB_INSTANCE_MAX));
	if (check_instance(name, sizeof(name)) || !valid_handover_step(h->step))
		return FTMB_E_RANGE;
	ftmb_put_le32(p, h->step);
	ftmb_put_le32(p + 4, 0);
	memcpy(p + 8, name, sizeof(name));
	return finish_frame(buf, FTMB_REPL_HANDOVER, HANDOVER_LEN);
}

void ftmb_repl_decoder_init(struct ftmb_repl_decoder *d, uint8_t *storage, size_t cap)
{
	d->buf = storage;
	d->cap = cap;
	d->start = 0;
	d->end = 0;
	d->error = FTMB_OK;
}

static void compact(struct ftmb_repl_decoder *d)
{
	if (d->start == 0)
		return;
	memmove(d->buf, d->buf + d->start, d->end - d->start);
	d->end -= d->start;
	d->start = 0;
}

size_t ftmb_repl_decoder_space(struct ftmb_repl_decoder *d, uint8_t **where)
{
	compact(d);
	*where = d->buf + d->end;
	return d->cap - d->end;
}

void ftmb_repl_decoder_commit(struct ftmb_repl_decoder *d, size_t n)
{
	d->end += n <= d->cap - d->end ? n : d->cap - d->end;
}

int ftmb_repl_decoder_feed(struct ftmb_repl_decoder *d, const void *data, size_t n)
{
	uint8_t *where;

	if (ftmb_repl_decoder_space(d, &where) < n)
		return FTMB_E_NOSPACE;
	memcpy(where, data, n);
	ftmb_repl_decoder_commit(d, n);
	return FTMB_OK;
}

static int fail(struct ftmb_repl_decoder *d, int err)
{
	d->error = err;
	return err;
}

int ftmb_repl_decoder_next(struct ftmb_repl_decoder *d, struct ftmb_repl_frame *f)
{
	const uint8_t *h = d->buf + d->start;
	size_t avail = d->end - d->start;
	uint32_t len;

	if (d->error)
		return d->error;
	if (avail < FTMB_REPL_HDR_LEN)
		return 0;
	len = ftmb_get_le32(h);
	if (len > FTMB_REPL_MAX_PAYLOAD || FTMB_REPL_HDR_LEN + (size_t)len > d->cap)
		return fail(d, FTMB_E_LENGTH);
	if (h[4] < FTMB_REPL_HELLO || h[4] > FTMB_REPL_TYPE_MAX)
		return fail(d, FTMB_E_TYPE);
	if (h[5] != 0 || ftmb_get_le16(h + 6) != 0)
		return fail(d, FTMB_E_FIELD);
	if (avail < FTMB_REPL_HDR_LEN + (size_t)len)
		return 0;
	if (frame_crc(h, h + FTMB_REPL_HDR_LEN, len) != ftmb_get_le32(h + 8))
		return fail(d, FTMB_E_CHECKSUM);
	f->type = h[4];
	f->len = len;
	f->payload = h + FTMB_REPL_HDR_LEN;
	d->start += FTMB_REPL_HDR_LEN + len;
	return 1;
}

static int expect(const struct ftmb_repl_frame *f, uint8_t type, uint32_t min_len)
{
	if (f->type != type)
		return FTMB_E_TYPE;
	if (f->len < min_len)
		return FTMB_E_TRUNCATED;
	return FTMB_OK;
}

/* Reads the u16 n | u16 0 | u32 0 header of a vector payload and checks the
 * payload is exactly fixed + per_entry * n bytes long. */
static int get_vec_hdr(const uint8_t *p, uint32_t len, uint32_t per_entry, uint16_t *n)
{
	*n = ftmb_get_le16(p);
	if (ftmb_get_le16(p + 2) != 0 || ftmb_get_le32(p + 4) != 0)
		return FTMB_E_FIELD;
	if (*n == 0 || *n > FTMB_MAX_THREADS)
		return FTMB_E_COUNT;
	if (len != VEC_HDR_LEN + per_entry * *n)
		return FTMB_E_LENGTH;
	return FTMB_OK;
}

static void get_vclock(const uint8_t *p, uint16_t n, struct ftmb_vclock *vc)
{
	memset(vc, 0, sizeof(*vc));
	for (uint16_t i = 0; i < n; i++) {
		vc->in[i] = ftmb_get_le64(p + 8 * i);
		vc->pal[i] = ftmb_get_le64(p + 8 * (n + i));
	}
}

int ftmb_repl_get_hello(const struct ftmb_repl_frame *f, struct ftmb_repl_hello *h)
{
	const uint8_t *p = f->payload;
	int err = expect(f, FTMB_REPL_HELLO, HELLO_LEN);

	if (err)
		return err;
	if (f->len != HELLO_LEN)
		return FTMB_E_LENGTH;
	if (ftmb_get_le32(p) != FTMB_REPL_MAGIC)
		return FTMB_E_MAGIC;
	h->version = ftmb_get_le16(p + 4);
	if (h->version != FTMB_REPL_VERSION)
		return FTMB_E_VERSION;
	h->role = p[6];
	if (h->role < FTMB_ROLE_VHOST || h->role > FTMB_ROLE_CHECKPOINT)
		return FTMB_E_RANGE;
	if (p[7] != 0 || ftmb_get_le16(p + 10) != 0)
		return FTMB_E_FIELD;
	h->n_threads = ftmb_get_le16(p + 8);
	h->n_vars = ftmb_get_le32(p + 12);
	if (h->n_threads == 0 || h->n_threads > FTMB_MAX_THREADS || h->n_vars == 0 ||
	    h->n_vars > FTMB_MAX_VARS)
		return FTMB_E_RANGE;
	h->generation = ftmb_get_le64(p + 16);
	err = check_instance((const char *)p + 24, FTMB_INSTANCE_MAX + 1);
	if (err)
		return err;
	memcpy(h->instance, p + 24, FTMB_INSTANCE_MAX + 1);
	return FTMB_OK;
}

int ftmb_repl_get_input(const struct ftmb_repl_frame *f, struct ftmb_repl_input *in)
{
	const uint8_t *p = f->payload;
	int err = expect(f, FTMB_REPL_INPUT, INPUT_HDR_LEN);

	if (err)
		return err;
	in->queue = ftmb_get_le16(p);
	in->len = ftmb_get_le16(p + 2);
	in->seq = ftmb_get_le64(p + 8);
	if (ftmb_get_le32(p + 4) != 0)
		return FTMB_E_FIELD;
	if (in->queue >= FTMB_MAX_THREADS)
		return FTMB_E_RANGE;
	if (in->len > FTMB_REPL_MAX_PKT || f->len != INPUT_HDR_LEN + in->len)
		return FTMB_E_LENGTH;
	if (in->seq == 0)
		return FTMB_E_SEQ;
	in->data = p + INPUT_HDR_LEN;
	return FTMB_OK;
}

void ftmb_repl_pal_get(const struct ftmb_repl_pal *pal, uint16_t i, struct ftmb_record *rec)
{
	const uint8_t *r = pal->records + 32 * i;

	rec->type = ftmb_get_le16(r);
	rec->reserved = ftmb_get_le16(r + 2);
	rec->var = ftmb_get_le32(r + 4);
	rec->counter = ftmb_get_le64(r + 8);
	rec->seq = ftmb_get_le64(r + 16);
	rec->value = ftmb_get_le64(r + 24);
}

int ftmb_repl_get_pal(const struct ftmb_repl_frame *f, uint32_t n_vars, struct ftmb_repl_pal *pal)
{
	const uint8_t *p = f->payload;
	struct ftmb_record rec;
	uint64_t first;
	int err = expect(f, FTMB_REPL_PAL, PAL_HDR_LEN);

	if (err)
		return err;
	pal->thread = ftmb_get_le16(p);
	pal->count = ftmb_get_le16(p + 2);
	if (ftmb_get_le32(p + 4) != 0)
		return FTMB_E_FIELD;
	if (pal->thread >= FTMB_MAX_THREADS)
		return FTMB_E_RANGE;
	if (pal->count == 0 || pal->count > FTMB_REPL_MAX_RECORDS)
		return FTMB_E_COUNT;
	if (f->len != PAL_HDR_LEN + 32u * pal->count)
		return FTMB_E_LENGTH;
	pal->records = p + PAL_HDR_LEN;
	ftmb_repl_pal_get(pal, 0, &rec);
	first = rec.counter;
	if (first == 0)
		return FTMB_E_COUNTER;
	for (uint16_t i = 0; i < pal->count; i++) {
		ftmb_repl_pal_get(pal, i, &rec);
		err = ftmb_record_check(&rec, first + i, n_vars);
		if (err)
			return err;
	}
	return FTMB_OK;
}

int ftmb_repl_get_released(const struct ftmb_repl_frame *f, struct ftmb_repl_released *r)
{
	int err = expect(f, FTMB_REPL_RELEASED, VEC_HDR_LEN);

	if (!err)
		err = get_vec_hdr(f->payload, f->len, 8, &r->n);
	if (err)
		return err;
	memset(r->out_seq, 0, sizeof(r->out_seq));
	for (uint16_t i = 0; i < r->n; i++)
		r->out_seq[i] = ftmb_get_le64(f->payload + VEC_HDR_LEN + 8 * i);
	return FTMB_OK;
}

static int get_cut_like(const struct ftmb_repl_frame *f, uint8_t type,
			struct ftmb_repl_vector *cut)
{
	int err = expect(f, type, 8 + VEC_HDR_LEN);

	if (!err)
		err = get_vec_hdr(f->payload + 8, f->len - 8, 16, &cut->n);
	if (err)
		return err;
	cut->ckpt_seq = ftmb_get_le64(f->payload);
	get_vclock(f->payload + 8 + VEC_HDR_LEN, cut->n, &cut->vc);
	return FTMB_OK;
}

int ftmb_repl_get_cut(const struct ftmb_repl_frame *f, struct ftmb_repl_vector *cut)
{
	return get_cut_like(f, FTMB_REPL_CUT, cut);
}

int ftmb_repl_get_base(const struct ftmb_repl_frame *f, struct ftmb_repl_vector *base)
{
	return get_cut_like(f, FTMB_REPL_BASE, base);
}

int ftmb_repl_get_ack(const struct ftmb_repl_frame *f, struct ftmb_repl_vector *ack)
{
	int err = expect(f, FTMB_REPL_ACK, VEC_HDR_LEN);

	if (!err)
		err = get_vec_hdr(f->payload, f->len, 16, &ack->n);
	if (err)
		return err;
	ack->ckpt_seq = 0;
	get_vclock(f->payload + VEC_HDR_LEN, ack->n, &ack->vc);
	return FTMB_OK;
}

int ftmb_repl_get_heartbeat(const struct ftmb_repl_frame *f, struct ftmb_repl_heartbeat *hb)
{
	int err = expect(f, FTMB_REPL_HEARTBEAT, HEARTBEAT_LEN);

	if (err)
		return err;
	if (f->len != HEARTBEAT_LEN)
		return FTMB_E_LENGTH;
	if (ftmb_get_le32(f->payload + 20) != 0)
		return FTMB_E_FIELD;
	hb->seq = ftmb_get_le64(f->payload);
	hb->time_ns = ftmb_get_le64(f->payload + 8);
	hb->state = ftmb_get_le32(f->payload + 16);
	return FTMB_OK;
}

int ftmb_repl_get_committed(const struct ftmb_repl_frame *f, uint64_t *epoch)
{
	int err = expect(f, FTMB_REPL_COMMITTED, COMMITTED_LEN);

	if (err)
		return err;
	if (f->len != COMMITTED_LEN)
		return FTMB_E_LENGTH;
	*epoch = ftmb_get_le64(f->payload);
	return *epoch ? FTMB_OK : FTMB_E_SEQ;
}

int ftmb_repl_get_handover(const struct ftmb_repl_frame *f, struct ftmb_repl_handover *h)
{
	int err = expect(f, FTMB_REPL_HANDOVER, HANDOVER_LEN);

	if (err)
		return err;
	if (f->len != HANDOVER_LEN)
		return FTMB_E_LENGTH;
	if (ftmb_get_le32(f->payload + 4) != 0)
		return FTMB_E_FIELD;
	h->step = ftmb_get_le32(f->payload);
	if (!valid_handover_step(h->step))
		return FTMB_E_RANGE;
	err = check_instance((const char *)f->payload + 8, FTMB_INSTANCE_MAX + 1);
	if (err)
		return err;
	memcpy(h->instance, f->payload + 8, FTMB_INSTANCE_MAX + 1);
	return FTMB_OK;
}

const char *ftmb_repl_type_name(uint8_t type)
{
	static const char *const names[] = {
		[FTMB_REPL_HELLO] = "HELLO", [FTMB_REPL_INPUT] = "INPUT",
		[FTMB_REPL_PAL] = "PAL",     [FTMB_REPL_RELEASED] = "RELEASED",
		[FTMB_REPL_CUT] = "CUT",     [FTMB_REPL_ACK] = "ACK",
		[FTMB_REPL_HEARTBEAT] = "HEARTBEAT", [FTMB_REPL_COMMITTED] = "COMMITTED",
		[FTMB_REPL_HANDOVER] = "HANDOVER",
		[FTMB_REPL_BASE] = "BASE",
	};

	if (type < FTMB_REPL_HELLO || type > FTMB_REPL_TYPE_MAX)
		return "UNKNOWN";
	return names[type];
}
