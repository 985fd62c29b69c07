// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The COMMITTED frame and the CHECKPOINT role (ftmb/repl.h): encode and
 * decode round trip, and every malformed COMMITTED a peer could send is
 * refused by the decoder or the typed parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ftmb/le.h"
#include "ftmb/repl.h"

#define BUF 256

static uint8_t store[FTMB_REPL_HDR_LEN + FTMB_REPL_MAX_PAYLOAD];

/* Decodes one frame from buf; returns the decoder's verdict. */
static int decode(const uint8_t *buf, size_t len, struct ftmb_repl_frame *f)
{
	struct ftmb_repl_decoder d;

	ftmb_repl_decoder_init(&d, store, sizeof(store));
	assert_int_equal(ftmb_repl_decoder_feed(&d, buf, len), FTMB_OK);
	return ftmb_repl_decoder_next(&d, f);
}

/* Re-seals a frame whose header or payload a test changed. */
static void reseal(uint8_t *buf)
{
	uint32_t len = ftmb_get_le32(buf);
	uint8_t tmp[BUF];

	memcpy(tmp, buf, 8);
	memcpy(tmp + 8, buf + FTMB_REPL_HDR_LEN, len);
	ftmb_put_le32(buf + 8, ftmb_crc32c(tmp, 8 + len));
}

static void committed_round_trip(void **state)
{
	uint8_t buf[BUF];
	struct ftmb_repl_frame f;
	uint64_t epoch = 0;
	int len;

	(void)state;
	len = ftmb_repl_put_committed(buf, sizeof(buf), 0x1122334455667788ull);
	assert_int_equal(len, FTMB_REPL_HDR_LEN + 8);
	assert_int_equal(decode(buf, (size_t)len, &f), 1);
	assert_int_equal(f.type, FTMB_REPL_COMMITTED);
	assert_int_equal(ftmb_repl_get_committed(&f, &epoch), FTMB_OK);
	assert_int_equal(epoch, 0x1122334455667788ull);
	assert_string_equal(ftmb_repl_type_name(FTMB_REPL_COMMITTED), "COMMITTED");
}

static void committed_encoder_refuses(void **state)
{
	uint8_t buf[BUF];

	(void)state;
	assert_int_equal(ftmb_repl_put_committed(buf, sizeof(buf), 0), FTMB_E_RANGE);
	assert_int_equal(ftmb_repl_put_committed(buf, FTMB_REPL_HDR_LEN + 7, 5), FTMB_E_NOSPACE);
}

static void committed_malformed(void **state)
{
	uint8_t buf[BUF];
	struct ftmb_repl_frame f;
	uint64_t epoch;
	int len;

	(void)state;
	/* epoch 0 on the wire */
	len = ftmb_repl_put_committed(buf, sizeof(buf), 9);
	ftmb_put_le64(buf + FTMB_REPL_HDR_LEN, 0);
	reseal(buf);
	assert_int_equal(decode(buf, (size_t)len, &f), 1);
	assert_int_equal(ftmb_repl_get_committed(&f, &epoch), FTMB_E_SEQ);
	/* a payload longer than 8 bytes */
	len = ftmb_repl_put_committed(buf, sizeof(buf), 9);
	ftmb_put_le32(buf, 9);
	buf[FTMB_REPL_HDR_LEN + 8] = 0;
	reseal(buf);
	assert_int_equal(decode(buf, (size_t)len + 1, &f), 1);
	assert_int_equal(ftmb_repl_get_committed(&f, &epoch), FTMB_E_LENGTH);
	/* shorter */
	len = ftmb_repl_put_committed(buf, sizeof(buf), 9);
	ftmb_put_le32(buf, 4);
	reseal(buf);
	assert_int_equal(decode(buf, (size_t)len - 4, &f), 1);
	assert_int_equal(ftmb_repl_get_committed(&f, &epoch), FTMB_E_TRUNCATED);
	/* a flipped bit: the checksum */
	len = ftmb_repl_put_committed(buf, sizeof(buf), 9);
	buf[FTMB_REPL_HDR_LEN + 3] ^= 4;
	assert_int_equal(decode(buf, (size_t)len, &f), FTMB_E_CHECKSUM);
	/* a type past the last one */
	len = ftmb_repl_put_committed(buf, sizeof(buf), 9);
	buf[4] = FTMB_REPL_TYPE_MAX + 1;
	reseal(buf);
	assert_int_equal(decode(buf, (size_t)len, &f), FTMB_E_TYPE);
	/* another frame handed to the COMMITTED parser, and the reverse */
	len = ftmb_repl_put_committed(buf, sizeof(buf), 9);
	assert_int_equal(decode(buf, (size_t)len, &f), 1);
	{
		struct ftmb_repl_heartbeat hb;

		assert_int_equal(ftmb_repl_get_heartbeat(&f, &hb), FTMB_E_TYPE);
	}
	len = ftmb_repl_put_heartbeat(buf, sizeof(buf), &(struct ftmb_repl_heartbeat){ .seq = 1 });
	assert_int_equal(decode(buf, (size_t)len, &f), 1);
	assert_int_equal(ftmb_repl_get_committed(&f, &epoch), FTMB_E_TYPE);
}

static void checkpoint_role(void **state)
{
	struct ftmb_repl_hello h = { .role = FTMB_ROLE_CHECKPOINT, .n_threads = 1, .n_vars = 1,
				     .generation = 42, .instance = "vm1" }, got;
	uint8_t buf[BUF];
	struct ftmb_repl_frame f;
	int len;

	(void)state;
	len = ftmb_repl_put_hello(buf, sizeof(buf), &h);
	assert_int_equal(decode(buf, (size_t)len, &f), 1);
	assert_int_equal(ftmb_repl_get_hello(&f, &got), FTMB_OK);
	assert_int_equal(got.role, FTMB_ROLE_CHECKPOINT);
	assert_string_equal(got.instance, "vm1");
	/* the next role value is unknown */
	buf[FTMB_REPL_HDR_LEN + 6] = FTMB_ROLE_CHECKPOINT + 1;
	reseal(buf);
	assert_int_equal(decode(buf, (size_t)len, &f), 1);
	assert_int_equal(ftmb_repl_get_hello(&f, &got), FTMB_E_RANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(committed_round_trip),
		cmocka_unit_test(committed_encoder_refuses),
		cmocka_unit_test(committed_malformed),
		cmocka_unit_test(checkpoint_role),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
