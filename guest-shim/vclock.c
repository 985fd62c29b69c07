// SPDX-License-Identifier: LGPL-2.1-or-later
#include <string.h>

#include "ftmb/err.h"
#include "ftmb/vclock.h"

#define IN_BIT0 16u

void ftmb_vc_merge(struct ftmb_vclock *dst, const struct ftmb_vclock *src, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (src->pal[i] > dst->pal[i])
			dst->pal[i] = src->pal[i];
		if (src->in[i] > dst->in[i])
			dst->in[i] = src->in[i];
	}
}

bool ftmb_vc_covers(const struct ftmb_vclock *a, const struct ftmb_vclock *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (a->pal[i] < b->pal[i] || a->in[i] < b->in[i])
			return false;
	return true;
}

/* Entry i of the combined 32-entry view: pal[0..15], then in[0..15]. */
static uint64_t *entry(struct ftmb_vclock *vc, uint32_t i)
{
	return i < IN_BIT0 ? &vc->pal[i] : &vc->in[i - IN_BIT0];
}

static int put_varint(uint64_t v, uint8_t *buf, size_t cap)
{
	size_t n = 0;

	do {
		if (n == cap)
			return FTMB_E_NOSPACE;
		buf[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return (int)n;
}

/* Strict LEB128: at most 10 bytes, no bits beyond 64, no redundant zero
 * continuation (so that every value has one encoding). */
static int get_varint(const uint8_t *buf, size_t len, uint64_t *v)
{
	uint64_t r = 0;

	for (size_t i = 0; i < 10; i++) {
		if (i == len)
			return FTMB_E_TRUNCATED;
		uint64_t b = buf[i] & 0x7f;

		if (i == 9 && b > 1)
			return FTMB_E_VARINT;
		r |= b << (7 * i);
		if (!(buf[i] & 0x80)) {
			if (i > 0 && b == 0)
				return FTMB_E_VARINT;
			*v = r;
			return (int)i + 1;
		}
	}
	return FTMB_E_VARINT;
}

int ftmb_vc_encode(const struct ftmb_vclock *vc, uint32_t n, uint8_t *buf, size_t cap)
{
	struct ftmb_vclock copy = *vc;
	uint32_t bitmap = 0;
	size_t off = 4;

	if (n == 0 || n > FTMB_MAX_THREADS)
		return FTMB_E_RANGE;
	if (cap < 4)
		return FTMB_E_NOSPACE;
	for (uint32_t i = 0; i < 2 * IN_BIT0; i++) {
		uint64_t v = *entry(&copy, i);

		if (v == 0 || (i % IN_BIT0) >= n)
			continue;
		bitmap |= 1u << i;
		int w = put_varint(v, buf + off, cap - off);

		if (w < 0)
			return w;
		off += (size_t)w;
	}
	buf[0] = (uint8_t)bitmap;
	buf[1] = (uint8_t)(bitmap >> 8);
	buf[2] = (uint8_t)(bitmap >> 16);
	buf[3] = (uint8_t)(bitmap >> 24);
	return (int)off;
}

int ftmb_vc_decode(const uint8_t *buf, size_t len, uint32_t n, struct ftmb_vclock *vc)
{
	uint32_t bitmap, allowed;
	size_t off = 4;

	if (n == 0 || n > FTMB_MAX_THREADS)
		return FTMB_E_RANGE;
	if (len < 4)
		return FTMB_E_TRUNCATED;
	bitmap = buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 24;
	allowed = (n == FTMB_MAX_THREADS) ? 0xffffffffu : ((1u << n) - 1) * 0x10001u;
	if (bitmap & ~allowed)
		return FTMB_E_RANGE;
	memset(vc, 0, sizeof(*vc));
	for (uint32_t i = 0; i < 2 * IN_BIT0; i++) {
		if (!(bitmap & (1u << i)))
			continue;
		uint64_t v;
		int r = get_varint(buf + off, len - off, &v);

		if (r < 0)
			return r;
		if (v == 0)
			return FTMB_E_FIELD;
		*entry(vc, i) = v;
		off += (size_t)r;
	}
	return off == len ? FTMB_OK : FTMB_E_LENGTH;
}
