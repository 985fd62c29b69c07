// SPDX-License-Identifier: GPL-2.0-or-later
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ftmb/le.h"
#include "ftmb/repl.h"

#define STORE (FTMB_REPL_HDR_LEN + FTMB_REPL_MAX_PAYLOAD)

static uint8_t *store;
static struct ftmb_repl_decoder dec;

static int setup(void **state)
{
	(void)state;
	store = malloc(STORE);
	ftmb_repl_decoder_init(&dec, store, STORE);
	return store ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(store);
	return 0;
}

/* Decodes the single frame in buf[0..len) into f. */
static void decode_one(const uint8_t *buf, int len, struct ftmb_repl_frame *f)
{
	struct ftmb_repl_frame none;

	assert_true(len > 0);
	assert_int_equal(ftmb_repl_decoder_feed(&dec, buf, (size_t)len), FTMB_OK);
	assert_int_equal(ftmb_repl_decoder_next(&dec, f), 1);
	assert_int_equal(ftmb_repl_decoder_next(&dec, &none), 0);
}

/* A frame with any header fields and payload, but a correct checksum. */
static size_t raw_frame(uint8_t *buf, uint8_t type, uint8_t flags, const void *payload,
			uint32_t len)
{
	ftmb_put_le32(buf, len);
	buf[4] = type;
	buf[5] = flags;
	ftmb_put_le16(buf + 6, 0);
	memmove(buf + 12, payload, len);
	uint8_t *tmp = malloc(8 + (size_t)len);

	memcpy(tmp, buf, 8);
	memcpy(tmp + 8, buf + 12, len);
	ftmb_put_le32(buf + 8, ftmb_crc32c(tmp, 8 + (size_t)len));
	free(tmp);
	return 12 + len;
}

static struct ftmb_repl_hello sample_hello(void)
{
	struct ftmb_repl_hello h = { .role = FTMB_ROLE_VHOST, .n_threads = 4, .n_vars = 64,
				     .generation = 7 };

	strcpy(h.instance, "nat-1");
	return h;
}

static void test_crc32c_known_answer(void **state)
{
	(void)state;
	assert_int_equal(ftmb_crc32c("123456789", 9), 0xe3069283u);
}

static void test_roundtrip_every_type(void **state)
{
	uint8_t buf[4096];
	struct ftmb_repl_frame f;
	struct ftmb_repl_hello h = sample_hello(), h2;
	struct ftmb_record recs[3] = {
		{ .type = FTMB_REC_PAL, .var = 5, .counter = 10, .seq = 3 },
		{ .type = FTMB_REC_TIME, .counter = 11, .value = 123456789 },
		{ .type = FTMB_REC_RANDOM, .counter = 12, .value = UINT64_MAX },
	};
	struct ftmb_repl_released rel = { .n = 2, .out_seq = { 4, 9 } }, rel2;
	struct ftmb_repl_vector cut = { .n = 2, .ckpt_seq = 77 }, v2;
	struct ftmb_repl_heartbeat hb = { .seq = 5, .time_ns = 1234, .state = 2 }, hb2;
	struct ftmb_repl_input in;
	struct ftmb_repl_pal pal;
	struct ftmb_record r;

	(void)state;
	decode_one(buf, ftmb_repl_put_hello(buf, sizeof(buf), &h), &f);
	assert_int_equal(ftmb_repl_get_hello(&f, &h2), FTMB_OK);
	assert_string_equal(h2.instance, "nat-1");
	assert_int_equal(h2.n_threads, 4);
	assert_int_equal(h2.n_vars, 64);
	assert_int_equal(h2.generation, 7);
	assert_int_equal(h2.role, FTMB_ROLE_VHOST);

	decode_one(buf, ftmb_repl_put_input(buf, sizeof(buf), 3, 99, "packet!", 7), &f);
	assert_int_equal(ftmb_repl_get_input(&f, &in), FTMB_OK);
	assert_int_equal(in.queue, 3);
	assert_int_equal(in.seq, 99);
	assert_int_equal(in.len, 7);
	assert_memory_equal(in.data, "packet!", 7);

	decode_one(buf, ftmb_repl_put_pal(buf, sizeof(buf), 1, recs, 3), &f);
	assert_int_equal(ftmb_repl_get_pal(&f, 64, &pal), FTMB_OK);
	assert_int_equal(pal.thread, 1);
	assert_int_equal(pal.count, 3);
	for (uint16_t i = 0; i < 3; i++) {
		ftmb_repl_pal_get(&pal, i, &r);
		assert_memory_equal(&r, &recs[i], sizeof(r));
	}

	decode_one(buf, ftmb_repl_put_released(buf, sizeof(buf), &rel), &f);
	assert_int_equal(ftmb_repl_get_released(&f, &rel2), FTMB_OK);
	assert_int_equal(rel2.n, 2);
	assert_memory_equal(rel.out_seq, rel2.out_seq, sizeof(rel.out_seq));

	cut.vc.in[0] = 8, cut.vc.in[1] = 9, cut.vc.pal[0] = 10, cut.vc.pal[1] = 11;
	decode_one(buf, ftmb_repl_put_cut(buf, sizeof(buf), &cut), &f);
	assert_int_equal(ftmb_repl_get_cut(&f, &v2), FTMB_OK);
	assert_int_equal(v2.n, 2);
	assert_int_equal(v2.ckpt_seq, 77);
	assert_memory_equal(&cut.vc, &v2.vc, sizeof(cut.vc));
	assert_int_equal(ftmb_repl_get_ack(&f, &v2), FTMB_E_TYPE);
	assert_int_equal(ftmb_repl_get_base(&f, &v2), FTMB_E_TYPE);

	decode_one(buf, ftmb_repl_put_base(buf, sizeof(buf), &cut), &f);
	assert_int_equal(ftmb_repl_get_base(&f, &v2), FTMB_OK);
	assert_int_equal(v2.ckpt_seq, 77);
	assert_memory_equal(&cut.vc, &v2.vc, sizeof(cut.vc));
	assert_int_equal(ftmb_repl_get_cut(&f, &v2), FTMB_E_TYPE);
	assert_string_equal(ftmb_repl_type_name(f.type), "BASE");

	cut.ckpt_seq = 0;
	decode_one(buf, ftmb_repl_put_ack(buf, sizeof(buf), &cut), &f);
	assert_int_equal(ftmb_repl_get_ack(&f, &v2), FTMB_OK);
	assert_int_equal(v2.n, 2);
	assert_memory_equal(&cut.vc, &v2.vc, sizeof(cut.vc));

	decode_one(buf, ftmb_repl_put_heartbeat(buf, sizeof(buf), &hb), &f);
	assert_int_equal(ftmb_repl_get_heartbeat(&f, &hb2), FTMB_OK);
	assert_int_equal(hb2.seq, 5);
	assert_int_equal(hb2.time_ns, 1234);
	assert_int_equal(hb2.state, 2);
	assert_string_equal(ftmb_repl_type_name(f.type), "HEARTBEAT");
}

/* A stream of many frames fed in random pieces, down to single bytes, via
 * both the copying and the zero-copy entry points. */
static void test_stream_in_arbitrary_pieces(void **state)
{
	size_t cap = 4 << 20, len = 0, off = 0;
	uint8_t *stream = malloc(cap);
	uint64_t seq = 0, x = 12345;
	struct ftmb_repl_frame f;
	struct ftmb_repl_input in;
	uint8_t pkt[1500];

	(void)state;
	for (int i = 0; i < 2000; i++) {
		uint16_t plen = (uint16_t)(i % 1500);

		memset(pkt, i & 0xff, plen);
		int n = ftmb_repl_put_input(stream + len, cap - len, (uint16_t)(i % 4),
					    (uint64_t)i + 1, pkt, plen);

		assert_true(n > 0);
		len += (size_t)n;
	}
	while (off < len) {
		x = x * 6364136223846793005ull + 1;
		size_t piece = (x >> 33) % ((x >> 20) & 1 ? 7 : 3000) + 1;
		uint8_t *where;

		if (piece > len - off)
			piece = len - off;
		if (x & (1ull << 40)) {
			assert_int_equal(ftmb_repl_decoder_feed(&dec, stream + off, piece), FTMB_OK);
		} else {
			assert_true(ftmb_repl_decoder_space(&dec, &where) >= piece);
			memcpy(where, stream + off, piece);
			ftmb_repl_decoder_commit(&dec, piece);
		}
		off += piece;
		int r;

		while ((r = ftmb_repl_decoder_next(&dec, &f)) == 1) {
			assert_int_equal(ftmb_repl_get_input(&f, &in), FTMB_OK);
			assert_int_equal(in.seq, ++seq);
			assert_int_equal(in.len, (seq - 1) % 1500);
			if (in.len)
				assert_int_equal(in.data[in.len - 1], (seq - 1) & 0xff);
		}
		assert_int_equal(r, 0);
	}
	assert_int_equal(seq, 2000);
	free(stream);
}

static void test_partial_frame_waits(void **state)
{
	uint8_t buf[256];
	struct ftmb_repl_frame f;
	struct ftmb_repl_heartbeat hb = { .seq = 1 };
	int len = ftmb_repl_put_heartbeat(buf, sizeof(buf), &hb);

	(void)state;
	for (int i = 0; i < len - 1; i++) {
		assert_int_equal(ftmb_repl_decoder_feed(&dec, buf + i, 1), FTMB_OK);
		assert_int_equal(ftmb_repl_decoder_next(&dec, &f), 0);
	}
	assert_int_equal(ftmb_repl_decoder_feed(&dec, buf + len - 1, 1), FTMB_OK);
	assert_int_equal(ftmb_repl_decoder_next(&dec, &f), 1);
}

static int decode_err(const uint8_t *buf, size_t len)
{
	struct ftmb_repl_frame f;

	ftmb_repl_decoder_init(&dec, store, STORE);
	assert_int_equal(ftmb_repl_decoder_feed(&dec, buf, len), FTMB_OK);
	return ftmb_repl_decoder_next(&dec, &f);
}

static void test_header_errors_are_sticky(void **state)
{
	uint8_t buf[256];
	struct ftmb_repl_heartbeat hb = { .seq = 1 };
	int len = ftmb_repl_put_heartbeat(buf, sizeof(buf), &hb);
	struct ftmb_repl_frame f;

	(void)state;
	buf[20] ^= 1;
	assert_int_equal(decode_err(buf, (size_t)len), FTMB_E_CHECKSUM);
	buf[20] ^= 1;
	assert_int_equal(ftmb_repl_decoder_feed(&dec, buf, (size_t)len), FTMB_OK);
	assert_int_equal(ftmb_repl_decoder_next(&dec, &f), FTMB_E_CHECKSUM);

	buf[4] = 42;
	assert_int_equal(decode_err(buf, (size_t)len), FTMB_E_TYPE);
	buf[4] = 0;
	assert_int_equal(decode_err(buf, (size_t)len), FTMB_E_TYPE);
	buf[4] = FTMB_REPL_HEARTBEAT;
	buf[5] = 1;
	assert_int_equal(decode_err(buf, (size_t)len), FTMB_E_FIELD);
	buf[5] = 0;
	buf[7] = 1;
	assert_int_equal(decode_err(buf, (size_t)len), FTMB_E_FIELD);
	buf[7] = 0;
	ftmb_put_le32(buf, FTMB_REPL_MAX_PAYLOAD + 1);
	assert_int_equal(decode_err(buf, 12), FTMB_E_LENGTH);
	ftmb_put_le32(buf, UINT32_MAX);
	assert_int_equal(decode_err(buf, 12), FTMB_E_LENGTH);
}

static void test_small_decoder_rejects_big_frame(void **state)
{
	uint8_t small[64], buf[256], pkt[100] = { 0 };
	struct ftmb_repl_frame f;
	int len = ftmb_repl_put_input(buf, sizeof(buf), 0, 1, pkt, sizeof(pkt));

	(void)state;
	ftmb_repl_decoder_init(&dec, small, sizeof(small));
	assert_int_equal(ftmb_repl_decoder_feed(&dec, buf, 64), FTMB_OK);
	assert_int_equal(ftmb_repl_decoder_next(&dec, &f), FTMB_E_LENGTH);
	assert_int_equal(ftmb_repl_decoder_feed(&dec, buf, (size_t)len), FTMB_E_NOSPACE);
	ftmb_repl_decoder_init(&dec, store, STORE);
}

/* Parses payload p as a frame of the given type. */
static struct ftmb_repl_frame frame_of(uint8_t type, const uint8_t *p, uint32_t len)
{
	return (struct ftmb_repl_frame){ .type = type, .len = len, .payload = p };
}

static void test_hello_malformed(void **state)
{
	uint8_t buf[256];
	struct ftmb_repl_hello h = sample_hello(), out;
	int len = ftmb_repl_put_hello(buf, sizeof(buf), &h);
	uint8_t *p = buf + FTMB_REPL_HDR_LEN;
	uint32_t plen = (uint32_t)len - FTMB_REPL_HDR_LEN;
	struct ftmb_repl_frame f = frame_of(FTMB_REPL_HELLO, p, plen);

	(void)state;
	assert_int_equal(ftmb_repl_get_hello(&f, &out), FTMB_OK);
	f.len = plen - 1;
	assert_int_equal(ftmb_repl_get_hello(&f, &out), FTMB_E_TRUNCATED);
	f.len = plen + 1;
	assert_int_equal(ftmb_repl_get_hello(&f, &out), FTMB_E_LENGTH);
	f.len = plen;
	p[0] ^= 1;
	assert_int_equal(ftmb_repl_get_hello(&f, &out), FTMB_E_MAGIC);
	p[0] ^= 1;
	p[4] = 2;
	assert_int_equal(ftmb_repl_get_hello(&f, &out), FTMB_E_VERSION);
	p[4] = 1;
	p[6] = 9;
	assert_int_equal(ftmb_repl_get_hello(&f, &out), FTMB_E_RANGE);
	p[6] = FTMB_ROLE_BACKUP;
	ftmb_put_le16(p + 8, 17);
	assert_int_equal(ftmb_repl_get_hello(&f, &out), FTMB_E_RANGE);
	ftmb_put_le16(p + 8, 4);
	ftmb_put_le32(p + 12, FTMB_MAX_VARS + 1);
	assert_int_equal(ftmb_repl_get_hello(&f, &out), FTMB_E_RANGE);
	ftmb_put_le32(p + 12, 64);
	p[24 + 2] = '/';
	assert_int_equal(ftmb_repl_get_hello(&f, &out), FTMB_E_FIELD);
	memset(p + 24, 'a', FTMB_INSTANCE_MAX + 1); /* no terminator */
	assert_int_equal(ftmb_repl_get_hello(&f, &out), FTMB_E_LENGTH);
	memset(p + 24, 0, FTMB_INSTANCE_MAX + 1);
	assert_int_equal(ftmb_repl_get_hello(&f, &out), FTMB_E_LENGTH);
	strcpy((char *)p + 24, "ok");
	p[24 + 40] = 'x'; /* garbage after the terminator */
	assert_int_equal(ftmb_repl_get_hello(&f, &out), FTMB_E_FIELD);
	strcpy(h.instance, "bad name");
	assert_int_equal(ftmb_repl_put_hello(buf, sizeof(buf), &h), FTMB_E_RANGE);
	assert_int_equal(ftmb_repl_put_hello(buf, 20, &h), FTMB_E_NOSPACE);
}

static void test_input_malformed(void **state)
{
	uint8_t buf[256], *p = buf + FTMB_REPL_HDR_LEN;
	int len = ftmb_repl_put_input(buf, sizeof(buf), 1, 5, "abcdef", 6);
	uint32_t plen = (uint32_t)len - FTMB_REPL_HDR_LEN;
	struct ftmb_repl_frame f = frame_of(FTMB_REPL_INPUT, p, plen);
	struct ftmb_repl_input in;

	(void)state;
	assert_int_equal(ftmb_repl_get_input(&f, &in), FTMB_OK);
	f.len = plen - 1;
	assert_int_equal(ftmb_repl_get_input(&f, &in), FTMB_E_LENGTH);
	f.len = 10;
	assert_int_equal(ftmb_repl_get_input(&f, &in), FTMB_E_TRUNCATED);
	f.len = plen;
	ftmb_put_le16(p, 16);
	assert_int_equal(ftmb_repl_get_input(&f, &in), FTMB_E_RANGE);
	ftmb_put_le16(p, 1);
	ftmb_put_le16(p + 2, 60000);
	assert_int_equal(ftmb_repl_get_input(&f, &in), FTMB_E_LENGTH);
	ftmb_put_le16(p + 2, 6);
	ftmb_put_le64(p + 8, 0);
	assert_int_equal(ftmb_repl_get_input(&f, &in), FTMB_E_SEQ);
	ftmb_put_le64(p + 8, 5);
	p[5] = 1;
	assert_int_equal(ftmb_repl_get_input(&f, &in), FTMB_E_FIELD);
	assert_int_equal(ftmb_repl_put_input(buf, sizeof(buf), 16, 1, "x", 1), FTMB_E_RANGE);
	assert_int_equal(ftmb_repl_put_input(buf, sizeof(buf), 1, 1, "x", 250), FTMB_E_NOSPACE);
}

static void test_pal_malformed(void **state)
{
	uint8_t buf[512], *p = buf + FTMB_REPL_HDR_LEN;
	struct ftmb_record recs[2] = {
		{ .type = FTMB_REC_PAL, .var = 5, .counter = 10, .seq = 3 },
		{ .type = FTMB_REC_PAL, .var = 6, .counter = 11, .seq = 1 },
	};
	int len = ftmb_repl_put_pal(buf, sizeof(buf), 2, recs, 2);
	uint32_t plen = (uint32_t)len - FTMB_REPL_HDR_LEN;
	struct ftmb_repl_frame f = frame_of(FTMB_REPL_PAL, p, plen);
	struct ftmb_repl_pal pal;

	(void)state;
	assert_int_equal(ftmb_repl_get_pal(&f, 64, &pal), FTMB_OK);
	assert_int_equal(ftmb_repl_get_pal(&f, 6, &pal), FTMB_E_RANGE); /* var 6 >= n_vars */
	f.len = plen - 32;
	assert_int_equal(ftmb_repl_get_pal(&f, 64, &pal), FTMB_E_LENGTH);
	f.len = 4;
	assert_int_equal(ftmb_repl_get_pal(&f, 64, &pal), FTMB_E_TRUNCATED);
	f.len = plen;
	ftmb_put_le16(p + 2, 0);
	assert_int_equal(ftmb_repl_get_pal(&f, 64, &pal), FTMB_E_COUNT);
	ftmb_put_le16(p + 2, 60000);
	assert_int_equal(ftmb_repl_get_pal(&f, 64, &pal), FTMB_E_COUNT);
	ftmb_put_le16(p + 2, 2);
	ftmb_put_le16(p, 99);
	assert_int_equal(ftmb_repl_get_pal(&f, 64, &pal), FTMB_E_RANGE);
	ftmb_put_le16(p, 2);
	ftmb_put_le64(p + 8 + 32 + 8, 12); /* second counter skips one */
	assert_int_equal(ftmb_repl_get_pal(&f, 64, &pal), FTMB_E_COUNTER);
	ftmb_put_le64(p + 8 + 32 + 8, 11);
	ftmb_put_le16(p + 8 + 32, 77); /* unknown record type */
	assert_int_equal(ftmb_repl_get_pal(&f, 64, &pal), FTMB_E_TYPE);
	ftmb_put_le16(p + 8 + 32, FTMB_REC_PAL);
	ftmb_put_le64(p + 8 + 16, 0); /* seq 0 */
	assert_int_equal(ftmb_repl_get_pal(&f, 64, &pal), FTMB_E_SEQ);
	assert_int_equal(ftmb_repl_put_pal(buf, sizeof(buf), 2, recs, 0), FTMB_E_RANGE);
}

static void test_vectors_malformed(void **state)
{
	uint8_t buf[512], *p = buf + FTMB_REPL_HDR_LEN;
	struct ftmb_repl_vector v = { .n = 2 }, out;
	struct ftmb_repl_released rel = { .n = 2 }, rout;
	struct ftmb_repl_heartbeat hb = { 0 };
	int len = ftmb_repl_put_ack(buf, sizeof(buf), &v);
	uint32_t plen = (uint32_t)len - FTMB_REPL_HDR_LEN;
	struct ftmb_repl_frame f = frame_of(FTMB_REPL_ACK, p, plen);

	(void)state;
	assert_int_equal(ftmb_repl_get_ack(&f, &out), FTMB_OK);
	ftmb_put_le16(p, 3); /* n says three entries, payload holds two */
	assert_int_equal(ftmb_repl_get_ack(&f, &out), FTMB_E_LENGTH);
	ftmb_put_le16(p, 0);
	assert_int_equal(ftmb_repl_get_ack(&f, &out), FTMB_E_COUNT);
	ftmb_put_le16(p, 5000);
	assert_int_equal(ftmb_repl_get_ack(&f, &out), FTMB_E_COUNT);
	ftmb_put_le16(p, 2);
	p[3] = 1;
	assert_int_equal(ftmb_repl_get_ack(&f, &out), FTMB_E_FIELD);
	f.len = 3;
	assert_int_equal(ftmb_repl_get_ack(&f, &out), FTMB_E_TRUNCATED);

	len = ftmb_repl_put_cut(buf, sizeof(buf), &v);
	f = frame_of(FTMB_REPL_CUT, p, (uint32_t)len - FTMB_REPL_HDR_LEN);
	assert_int_equal(ftmb_repl_get_cut(&f, &out), FTMB_OK);
	f.len -= 1;
	assert_int_equal(ftmb_repl_get_cut(&f, &out), FTMB_E_LENGTH);
	f.len = 15;
	assert_int_equal(ftmb_repl_get_cut(&f, &out), FTMB_E_TRUNCATED);

	len = ftmb_repl_put_released(buf, sizeof(buf), &rel);
	f = frame_of(FTMB_REPL_RELEASED, p, (uint32_t)len - FTMB_REPL_HDR_LEN);
	assert_int_equal(ftmb_repl_get_released(&f, &rout), FTMB_OK);
	ftmb_put_le16(p, 17);
	assert_int_equal(ftmb_repl_get_released(&f, &rout), FTMB_E_COUNT);
	rel.n = 17;
	assert_int_equal(ftmb_repl_put_released(buf, sizeof(buf), &rel), FTMB_E_RANGE);

	len = ftmb_repl_put_heartbeat(buf, sizeof(buf), &hb);
	f = frame_of(FTMB_REPL_HEARTBEAT, p, (uint32_t)len - FTMB_REPL_HDR_LEN);
	p[21] = 1;
	assert_int_equal(ftmb_repl_get_heartbeat(&f, &hb), FTMB_E_FIELD);
	f.len = 23;
	assert_int_equal(ftmb_repl_get_heartbeat(&f, &hb), FTMB_E_TRUNCATED);
}

/* HANDOVER: a round trip, then each malformed field refused. */
static void test_handover(void **state)
{
	uint8_t buf[256], *p = buf + FTMB_REPL_HDR_LEN;
	struct ftmb_repl_handover h = { .step = FTMB_HANDOVER_ACCEPTED }, out;
	struct ftmb_repl_frame f;
	int len;

	(void)state;
	strcpy(h.instance, "nat-1");
	len = ftmb_repl_put_handover(buf, sizeof(buf), &h);
	decode_one(buf, len, &f);
	assert_int_equal(f.type, FTMB_REPL_HANDOVER);
	assert_int_equal(ftmb_repl_get_handover(&f, &out), FTMB_OK);
	assert_int_equal(out.step, FTMB_HANDOVER_ACCEPTED);
	assert_string_equal(out.instance, "nat-1");

	f = frame_of(FTMB_REPL_HANDOVER, p, (uint32_t)len - FTMB_REPL_HDR_LEN);
	ftmb_put_le32(p, 4); /* no such step */
	assert_int_equal(ftmb_repl_get_handover(&f, &out), FTMB_E_RANGE);
	ftmb_put_le32(p, FTMB_HANDOVER_REQUEST);
	p[5] = 1;
	assert_int_equal(ftmb_repl_get_handover(&f, &out), FTMB_E_FIELD);
	p[5] = 0;
	p[8 + 2] = '/'; /* "na/-1": not a name */
	assert_int_equal(ftmb_repl_get_handover(&f, &out), FTMB_E_FIELD);
	memset(p + 8, 'a', FTMB_INSTANCE_MAX + 1); /* no terminating NUL */
	assert_int_equal(ftmb_repl_get_handover(&f, &out), FTMB_E_LENGTH);
	f.len += 1;
	assert_int_equal(ftmb_repl_get_handover(&f, &out), FTMB_E_LENGTH);
	f.len -= 2;
	assert_int_equal(ftmb_repl_get_handover(&f, &out), FTMB_E_TRUNCATED);

	h.step = 0;
	assert_int_equal(ftmb_repl_put_handover(buf, sizeof(buf), &h), FTMB_E_RANGE);
	h.step = FTMB_HANDOVER_REQUEST;
	h.instance[0] = '\0';
	assert_int_equal(ftmb_repl_put_handover(buf, sizeof(buf), &h), FTMB_E_RANGE);
	strcpy(h.instance, "nat-1");
	assert_int_equal(ftmb_repl_put_handover(buf, 20, &h), FTMB_E_NOSPACE);
}

/* Random garbage, checksummed so that it reaches the typed parsers: every
 * outcome must be a clean error or a valid parse, never a crash. */
static void test_fuzzed_payloads_never_crash(void **state)
{
	uint8_t payload[600], buf[700];
	uint64_t x = 99;
	struct ftmb_repl_frame f;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		uint32_t len = (uint32_t)(i % 600);

		for (uint32_t j = 0; j < len; j++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			payload[j] = (uint8_t)(x >> 56);
		}
		uint8_t type = (uint8_t)(1 + i % FTMB_REPL_TYPE_MAX);
		size_t n = raw_frame(buf, type, 0, payload, len);

		ftmb_repl_decoder_init(&dec, store, STORE);
		assert_int_equal(ftmb_repl_decoder_feed(&dec, buf, n), FTMB_OK);
		assert_int_equal(ftmb_repl_decoder_next(&dec, &f), 1);
		union {
			struct ftmb_repl_hello h;
			struct ftmb_repl_input in;
			struct ftmb_repl_pal pal;
			struct ftmb_repl_released rel;
			struct ftmb_repl_vector v;
			struct ftmb_repl_heartbeat hb;
			struct ftmb_repl_handover ho;
		} u;
		switch (type) {
		case FTMB_REPL_HELLO: (void)ftmb_repl_get_hello(&f, &u.h); break;
		case FTMB_REPL_INPUT: (void)ftmb_repl_get_input(&f, &u.in); break;
		case FTMB_REPL_PAL: (void)ftmb_repl_get_pal(&f, 64, &u.pal); break;
		case FTMB_REPL_RELEASED: (void)ftmb_repl_get_released(&f, &u.rel); break;
		case FTMB_REPL_CUT: (void)ftmb_repl_get_cut(&f, &u.v); break;
		case FTMB_REPL_BASE: (void)ftmb_repl_get_base(&f, &u.v); break;
		case FTMB_REPL_ACK: (void)ftmb_repl_get_ack(&f, &u.v); break;
		case FTMB_REPL_HANDOVER: (void)ftmb_repl_get_handover(&f, &u.ho); break;
		default: (void)ftmb_repl_get_heartbeat(&f, &u.hb); break;
		}
	}
	assert_int_equal(raw_frame(buf, 1, 0, "", 0), 12);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_crc32c_known_answer),
		T(test_roundtrip_every_type),
		T(test_stream_in_arbitrary_pieces),
		T(test_partial_frame_waits),
		T(test_header_errors_are_sticky),
		T(test_small_decoder_rejects_big_frame),
		T(test_hello_malformed),
		T(test_input_malformed),
		T(test_pal_malformed),
		T(test_vectors_malformed),
		T(test_handover),
		T(test_fuzzed_payloads_never_crash),
	};

	return cmocka_run_group_tests_name("repl", tests, NULL, NULL);
}
