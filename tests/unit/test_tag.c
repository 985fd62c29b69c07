// SPDX-License-Identifier: GPL-2.0-or-later
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ftmb/err.h"
#include "ftmb/le.h"
#include "ftmb/tag.h"

#define PAYLOAD 60

static void test_in_tag_roundtrip(void **state)
{
	uint8_t frame[PAYLOAD + FTMB_IN_TAG_LEN];
	struct ftmb_in_tag tag;

	(void)state;
	memset(frame, 0xab, sizeof(frame));
	ftmb_in_tag_write(frame + PAYLOAD, 3, 0x1122334455ull);
	assert_int_equal(ftmb_in_tag_parse(frame, sizeof(frame), &tag), FTMB_OK);
	assert_int_equal(tag.queue, 3);
	assert_int_equal(tag.seq, 0x1122334455ull);
}

static void test_in_tag_malformed(void **state)
{
	uint8_t frame[PAYLOAD + FTMB_IN_TAG_LEN];
	struct ftmb_in_tag tag;

	(void)state;
	ftmb_in_tag_write(frame + PAYLOAD, 1, 1);
	assert_int_equal(ftmb_in_tag_parse(frame, FTMB_MIN_FRAME + FTMB_IN_TAG_LEN - 1, &tag),
			 FTMB_E_TRUNCATED);
	frame[PAYLOAD + 10] = 1;
	assert_int_equal(ftmb_in_tag_parse(frame, sizeof(frame), &tag), FTMB_E_FIELD);
	frame[sizeof(frame) - 1] ^= 0xff;
	assert_int_equal(ftmb_in_tag_parse(frame, sizeof(frame), &tag), FTMB_E_MAGIC);
}

static void test_out_tag_roundtrip(void **state)
{
	uint8_t frame[PAYLOAD + FTMB_OUT_TAG_MAX];
	struct ftmb_vclock dep = { 0 };
	struct ftmb_out_tag tag;
	int len;

	(void)state;
	dep.pal[0] = 17, dep.pal[3] = 1ull << 40, dep.in[2] = 99;
	len = ftmb_out_tag_append(frame, PAYLOAD, sizeof(frame), 2, 12345, &dep, 4);
	assert_true(len > PAYLOAD);
	assert_int_equal(ftmb_out_tag_parse(frame, (size_t)len, 4, &tag), FTMB_OK);
	assert_int_equal(tag.thread, 2);
	assert_int_equal(tag.out_seq, 12345);
	assert_int_equal(tag.tag_len, (uint32_t)len - PAYLOAD);
	assert_memory_equal(&tag.dep, &dep, sizeof(dep));
}

static void test_out_tag_append_errors(void **state)
{
	uint8_t frame[PAYLOAD + FTMB_OUT_TAG_MAX];
	struct ftmb_vclock dep = { .pal = { 1 } };

	(void)state;
	assert_int_equal(ftmb_out_tag_append(frame, PAYLOAD, sizeof(frame), 4, 1, &dep, 4),
			 FTMB_E_RANGE);
	assert_int_equal(ftmb_out_tag_append(frame, PAYLOAD, PAYLOAD + 8, 0, 1, &dep, 4),
			 FTMB_E_NOSPACE);
}

/* Builds a frame with a hand-made tag tail, for the parser's error paths. */
static size_t hostile_frame(uint8_t *frame, uint16_t thread, uint64_t out_seq, uint16_t vc_len,
			    uint32_t magic)
{
	uint8_t *t = frame + PAYLOAD + 5;

	memset(frame, 0, PAYLOAD);
	memcpy(frame + PAYLOAD, "\x01\0\0\0\x07", 5); /* pal[0] = 7 */
	ftmb_put_le64(t, out_seq);
	ftmb_put_le16(t + 8, thread);
	ftmb_put_le16(t + 10, vc_len);
	ftmb_put_le32(t + 12, magic);
	return PAYLOAD + 5 + FTMB_OUT_TAG_FIXED;
}

static void test_out_tag_malformed(void **state)
{
	uint8_t frame[PAYLOAD + FTMB_OUT_TAG_MAX];
	struct ftmb_out_tag tag;
	size_t len;

	(void)state;
	len = hostile_frame(frame, 1, 1, 5, FTMB_OUT_TAG_MAGIC);
	assert_int_equal(ftmb_out_tag_parse(frame, len, 4, &tag), FTMB_OK);
	assert_int_equal(tag.dep.pal[0], 7);

	len = hostile_frame(frame, 1, 1, 5, 0x12345678);
	assert_int_equal(ftmb_out_tag_parse(frame, len, 4, &tag), FTMB_E_MAGIC);
	len = hostile_frame(frame, 4, 1, 5, FTMB_OUT_TAG_MAGIC);
	assert_int_equal(ftmb_out_tag_parse(frame, len, 4, &tag), FTMB_E_RANGE);
	len = hostile_frame(frame, 1, 0, 5, FTMB_OUT_TAG_MAGIC);
	assert_int_equal(ftmb_out_tag_parse(frame, len, 4, &tag), FTMB_E_SEQ);
	len = hostile_frame(frame, 1, 1, 60000, FTMB_OUT_TAG_MAGIC);
	assert_int_equal(ftmb_out_tag_parse(frame, len, 4, &tag), FTMB_E_LENGTH);
	/* a vector length that eats into the Ethernet header */
	len = hostile_frame(frame, 1, 1, PAYLOAD, FTMB_OUT_TAG_MAGIC);
	assert_int_equal(ftmb_out_tag_parse(frame, len, 4, &tag), FTMB_E_LENGTH);
	/* a vector length that misframes the encoding */
	len = hostile_frame(frame, 1, 1, 6, FTMB_OUT_TAG_MAGIC);
	assert_int_not_equal(ftmb_out_tag_parse(frame, len, 4, &tag), FTMB_OK);
	assert_int_equal(ftmb_out_tag_parse(frame, FTMB_MIN_FRAME + 3, 4, &tag), FTMB_E_TRUNCATED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_tag_roundtrip),
		cmocka_unit_test(test_in_tag_malformed),
		cmocka_unit_test(test_out_tag_roundtrip),
		cmocka_unit_test(test_out_tag_append_errors),
		cmocka_unit_test(test_out_tag_malformed),
	};

	return cmocka_run_group_tests_name("tag", tests, NULL, NULL);
}
