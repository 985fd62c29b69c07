// SPDX-License-Identifier: GPL-2.0-or-later
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ftmb/err.h"
#include "ftmb/vclock.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_merge_takes_max_of_first_n(void **state)
{
	struct ftmb_vclock a = { 0 }, b = { 0 };

	(void)state;
	a.pal[0] = 5, b.pal[0] = 3;
	a.pal[1] = 1, b.pal[1] = 9;
	a.in[2] = 7, b.in[2] = 8;
	b.pal[3] = 100; /* beyond n: ignored */
	ftmb_vc_merge(&a, &b, 3);
	assert_int_equal(a.pal[0], 5);
	assert_int_equal(a.pal[1], 9);
	assert_int_equal(a.in[2], 8);
	assert_int_equal(a.pal[3], 0);
}

static void test_covers(void **state)
{
	struct ftmb_vclock d = { 0 }, dep = { 0 };

	(void)state;
	assert_true(ftmb_vc_covers(&d, &dep, 4));
	dep.in[1] = 4;
	assert_false(ftmb_vc_covers(&d, &dep, 4));
	d.in[1] = 4;
	assert_true(ftmb_vc_covers(&d, &dep, 4));
	dep.pal[3] = 1;
	assert_false(ftmb_vc_covers(&d, &dep, 4));
	assert_true(ftmb_vc_covers(&d, &dep, 3)); /* entry 3 not in use */
}

static void test_encode_decode_roundtrip(void **state)
{
	uint8_t buf[FTMB_VC_MAX_ENCODED];

	(void)state;
	for (int iter = 0; iter < 2000; iter++) {
		uint32_t n = 1 + (uint32_t)(rng() % FTMB_MAX_THREADS);
		struct ftmb_vclock vc = { 0 }, out;

		for (uint32_t i = 0; i < n; i++) {
			uint64_t r = rng();

			vc.pal[i] = (r & 3) ? r >> (rng() % 64) : 0;
			vc.in[i] = (r & 4) ? rng() >> (rng() % 64) : 0;
		}
		if (iter == 0)
			vc.pal[0] = UINT64_MAX;
		int len = ftmb_vc_encode(&vc, n, buf, sizeof(buf));

		assert_true(len >= 4);
		assert_int_equal(ftmb_vc_decode(buf, (size_t)len, n, &out), FTMB_OK);
		assert_memory_equal(&vc, &out, sizeof(vc));
	}
}

static void test_zero_vector_is_bitmap_only(void **state)
{
	struct ftmb_vclock vc = { 0 };
	uint8_t buf[8];

	(void)state;
	assert_int_equal(ftmb_vc_encode(&vc, 4, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "\0\0\0\0", 4);
}

static void test_encode_errors(void **state)
{
	struct ftmb_vclock vc = { .pal = { 1000 } };
	uint8_t buf[5];

	(void)state;
	assert_int_equal(ftmb_vc_encode(&vc, 0, buf, sizeof(buf)), FTMB_E_RANGE);
	assert_int_equal(ftmb_vc_encode(&vc, 17, buf, sizeof(buf)), FTMB_E_RANGE);
	assert_int_equal(ftmb_vc_encode(&vc, 1, buf, 3), FTMB_E_NOSPACE);
	assert_int_equal(ftmb_vc_encode(&vc, 1, buf, 5), FTMB_E_NOSPACE); /* 1000 needs 2 bytes */
}

static int decode(const char *bytes, size_t len, uint32_t n)
{
	struct ftmb_vclock vc;

	return ftmb_vc_decode((const uint8_t *)bytes, len, n, &vc);
}

static void test_decode_malformed(void **state)
{
	(void)state;
	assert_int_equal(decode("\x01\0\0", 3, 4), FTMB_E_TRUNCATED);
	/* pal[5] with n = 4 */
	assert_int_equal(decode("\x20\0\0\0\x01", 5, 4), FTMB_E_RANGE);
	/* in[4] with n = 4 */
	assert_int_equal(decode("\0\0\x10\0\x01", 5, 4), FTMB_E_RANGE);
	/* varint cut short */
	assert_int_equal(decode("\x01\0\0\0\x80", 5, 4), FTMB_E_TRUNCATED);
	/* eleven continuation bytes */
	assert_int_equal(decode("\x01\0\0\0\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 15, 4),
			 FTMB_E_VARINT);
	/* tenth byte carries bits beyond 64 */
	assert_int_equal(decode("\x01\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 14, 4),
			 FTMB_E_VARINT);
	/* non-canonical: redundant zero continuation */
	assert_int_equal(decode("\x01\0\0\0\x81\x00", 6, 4), FTMB_E_VARINT);
	/* an entry flagged present but zero */
	assert_int_equal(decode("\x01\0\0\0\x00", 5, 4), FTMB_E_FIELD);
	/* trailing garbage */
	assert_int_equal(decode("\x01\0\0\0\x05\x05", 6, 4), FTMB_E_LENGTH);
	assert_int_equal(decode("\x01\0\0\0\x05", 5, 0), FTMB_E_RANGE);
	assert_int_equal(decode("\x01\0\0\0\x05", 5, 4), FTMB_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_takes_max_of_first_n),
		cmocka_unit_test(test_covers),
		cmocka_unit_test(test_encode_decode_roundtrip),
		cmocka_unit_test(test_zero_vector_is_bitmap_only),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_decode_malformed),
	};

	return cmocka_run_group_tests_name("vclock", tests, NULL, NULL);
}
