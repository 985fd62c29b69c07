// SPDX-License-Identifier: GPL-2.0-or-later
/* The backup's per-instance log: contiguity, resends, cuts, the memory
 * bound, and the replay file re-decoding to the same log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "logstore.h"

#define N_VARS 4u
#define BIG (64u << 20)

static struct logstore log_;

static struct ftmb_repl_hello hello_of(uint16_t n_threads)
{
	struct ftmb_repl_hello h = { .version = FTMB_REPL_VERSION, .role = FTMB_ROLE_VHOST,
				     .n_threads = n_threads, .n_vars = N_VARS, .generation = 7 };

	strcpy(h.instance, "nat1");
	return h;
}

static int setup(void **state)
{
	struct ftmb_repl_hello h = hello_of(2);

	(void)state;
	logstore_init(&log_, &h, BIG);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	logstore_clear(&log_);
	return 0;
}

static uint8_t pkt_byte(uint16_t q, uint64_t seq)
{
	return (uint8_t)(q * 17 + seq);
}

/* Adds one input (len 10 + seq % 7, bytes from pkt_byte); returns the
 * error code, or FTMB_OK. */
static int add_input(uint16_t q, uint64_t seq)
{
	uint8_t data[32];
	struct ftmb_repl_input in = { .queue = q, .seq = seq, .len = (uint16_t)(10 + seq % 7),
				      .data = data };
	GError *error = NULL;
	int code;

	memset(data, pkt_byte(q, seq), sizeof(data));
	if (logstore_add_input(&log_, &in, &error))
		return FTMB_OK;
	code = error->code;
	g_error_free(error);
	return code;
}

static struct ftmb_record rec_of(uint16_t t, uint64_t counter)
{
	struct ftmb_record r = { .type = FTMB_REC_PAL, .var = (uint32_t)((counter + t) % N_VARS),
				 .counter = counter, .seq = counter * 3 };

	return r;
}

/* Adds PAL records first..first+count-1 of thread t, through the codec as
 * the daemon does; value_xor changes the records' content. */
static int add_pals_with(uint16_t t, uint64_t first, uint16_t count, uint64_t seq_xor)
{
	static uint8_t buf[FTMB_REPL_HDR_LEN + FTMB_REPL_MAX_PAYLOAD];
	struct ftmb_record recs[FTMB_REPL_MAX_RECORDS];
	struct ftmb_repl_decoder dec;
	struct ftmb_repl_frame f;
	struct ftmb_repl_pal pal;
	GError *error = NULL;
	int len, code;

	for (uint16_t i = 0; i < count; i++) {
		recs[i] = rec_of(t, first + i);
		recs[i].seq ^= seq_xor;
	}
	len = ftmb_repl_put_pal(buf, sizeof(buf), t, recs, count);
	assert_true(len > 0);
	ftmb_repl_decoder_init(&dec, buf, sizeof(buf));
	ftmb_repl_decoder_commit(&dec, (size_t)len);
	assert_int_equal(ftmb_repl_decoder_next(&dec, &f), 1);
	assert_int_equal(ftmb_repl_get_pal(&f, N_VARS, &pal), FTMB_OK);
	if (logstore_add_pal(&log_, &pal, &error))
		return FTMB_OK;
	code = error->code;
	g_error_free(error);
	return code;
}

static int add_pals(uint16_t t, uint64_t first, uint16_t count)
{
	return add_pals_with(t, first, count, 0);
}

/* A CUT (apply = logstore_apply_cut) or a BASE (logstore_set_base). */
static int cut_with(gboolean (*apply)(struct logstore *, const struct ftmb_repl_vector *,
				      GError **),
		    uint64_t ckpt, uint64_t in, uint64_t pal)
{
	struct ftmb_repl_vector c = { .n = 2, .ckpt_seq = ckpt };
	GError *error = NULL;
	int code;

	for (int i = 0; i < 2; i++) {
		c.vc.in[i] = in;
		c.vc.pal[i] = pal;
	}
	if (apply(&log_, &c, &error))
		return FTMB_OK;
	code = error->code;
	g_error_free(error);
	return code;
}

static int cut(uint64_t ckpt, uint64_t in, uint64_t pal)
{
	return cut_with(logstore_apply_cut, ckpt, in, pal);
}

static int base(uint64_t ckpt, uint64_t in, uint64_t pal)
{
	return cut_with(logstore_set_base, ckpt, in, pal);
}

static struct ftmb_repl_vector durable(void)
{
	struct ftmb_repl_vector v;

	logstore_durable(&log_, &v);
	return v;
}

static void test_inputs_contiguous(void **state)
{
	(void)state;
	assert_int_equal(durable().n, 2);
	assert_int_equal(durable().vc.in[0], 0);
	for (uint64_t s = 1; s <= 100; s++)
		assert_int_equal(add_input(0, s), FTMB_OK);
	assert_int_equal(durable().vc.in[0], 100);
	assert_int_equal(durable().vc.in[1], 0);
	assert_int_equal(logstore_held(&log_.in[0]), 100);
}

static void test_input_gap_refused(void **state)
{
	size_t bytes;

	(void)state;
	assert_int_equal(add_input(1, 2), FTMB_E_SEQ); /* the stream starts at 1 */
	assert_int_equal(add_input(1, 1), FTMB_OK);
	bytes = log_.bytes;
	assert_int_equal(add_input(1, 3), FTMB_E_SEQ);
	assert_int_equal(durable().vc.in[1], 1);
	assert_int_equal(log_.bytes, bytes);
	assert_int_equal(add_input(2, 1), FTMB_E_RANGE); /* only queues 0 and 1 */
}

static void test_input_resend(void **state)
{
	uint8_t other[32] = { 0xee };
	struct ftmb_repl_input in = { .queue = 0, .seq = 2, .len = 12, .data = other };
	GError *error = NULL;

	(void)state;
	for (uint64_t s = 1; s <= 3; s++)
		assert_int_equal(add_input(0, s), FTMB_OK);
	assert_int_equal(add_input(0, 2), FTMB_OK); /* identical resend */
	assert_int_equal(log_.stats.duplicates, 1);
	assert_false(logstore_add_input(&log_, &in, &error)); /* same seq, other bytes */
	assert_int_equal(error->code, FTMB_E_SEQ);
	assert_non_null(strstr(error->message, "differs"));
	g_error_free(error);
	assert_int_equal(durable().vc.in[0], 3);
}

static void test_pal_contiguous(void **state)
{
	(void)state;
	assert_int_equal(add_pals(0, 1, 10), FTMB_OK);
	assert_int_equal(add_pals(0, 11, 5), FTMB_OK);
	assert_int_equal(add_pals(0, 17, 1), FTMB_E_COUNTER); /* 16 missing */
	assert_int_equal(add_pals(1, 2, 1), FTMB_E_COUNTER);  /* starts at 1 */
	assert_int_equal(durable().vc.pal[0], 15);
	/* An overlapping resend: 11..15 identical, 16..20 new. */
	assert_int_equal(add_pals(0, 11, 10), FTMB_OK);
	assert_int_equal(durable().vc.pal[0], 20);
	assert_int_equal(log_.stats.duplicates, 5);
	assert_int_equal(add_pals_with(0, 19, 4, 1), FTMB_E_COUNTER); /* 19 differs */
	assert_int_equal(durable().vc.pal[0], 20);
}

static void test_cut_truncates(void **state)
{
	size_t bytes_before;

	(void)state;
	for (uint64_t s = 1; s <= 50; s++) {
		assert_int_equal(add_input(0, s), FTMB_OK);
		assert_int_equal(add_input(1, s), FTMB_OK);
	}
	assert_int_equal(add_pals(0, 1, 40), FTMB_OK);
	assert_int_equal(add_pals(1, 1, 40), FTMB_OK);
	bytes_before = log_.bytes;
	assert_int_equal(cut(1, 20, 30), FTMB_OK);
	assert_int_equal(logstore_held(&log_.in[0]), 30);
	assert_int_equal(logstore_held(&log_.pal[1]), 10);
	assert_true(log_.bytes < bytes_before);
	assert_int_equal(durable().vc.in[0], 50); /* truncation keeps what is durable */
	/* What the cut covers is skipped; the stream goes on contiguously. */
	assert_int_equal(add_input(0, 5), FTMB_OK);
	assert_int_equal(log_.stats.covered, 1);
	assert_int_equal(add_input(0, 51), FTMB_OK);
	assert_int_equal(add_input(0, 53), FTMB_E_SEQ);
	/* A cut that covers everything empties the log. */
	assert_int_equal(cut(2, 51, 40), FTMB_OK);
	assert_int_equal(logstore_held(&log_.in[0]), 0);
	assert_int_equal(logstore_held(&log_.pal[0]), 0);
}

static void test_cut_ahead(void **state)
{
	(void)state;
	assert_int_equal(add_input(0, 1), FTMB_OK);
	assert_int_equal(cut(1, 100, 200), FTMB_OK); /* the checkpoint is ahead of the stream */
	assert_int_equal(durable().vc.in[0], 100);
	assert_int_equal(durable().vc.pal[1], 200);
	assert_int_equal(add_input(0, 2), FTMB_OK); /* in flight, covered */
	assert_int_equal(add_input(0, 102), FTMB_E_SEQ);
	assert_int_equal(add_input(0, 101), FTMB_OK);
	assert_int_equal(add_pals(1, 150, 60), FTMB_OK); /* 150..200 covered, 201..209 kept */
	assert_int_equal(durable().vc.pal[1], 209);
	assert_int_equal(logstore_held(&log_.pal[1]), 9);
}

/* A re-protected replica's stream starts at its restored cut. */
static void test_base_starts_the_log(void **state)
{
	(void)state;
	assert_int_equal(base(7, 500, 900), FTMB_OK);
	assert_int_equal(durable().vc.in[1], 500);
	assert_int_equal(durable().vc.pal[0], 900);
	assert_int_equal(log_.last_cut.ckpt_seq, 7);
	assert_int_equal(add_input(0, 500), FTMB_OK); /* covered: not held */
	assert_int_equal(add_input(0, 501), FTMB_OK);
	assert_int_equal(add_pals(0, 901, 3), FTMB_OK);
	assert_int_equal(logstore_held(&log_.in[0]), 1);
	assert_int_equal(base(7, 500, 900), FTMB_OK); /* resent after a reconnection */
	assert_int_equal(durable().vc.in[0], 501);
	assert_int_equal(base(8, 500, 900), FTMB_E_SEQ); /* a different BASE mid-log */
	assert_int_equal(cut(8, 501, 903), FTMB_OK);
	assert_int_equal(base(7, 500, 900), FTMB_E_SEQ); /* older than the log's cut now */
}

/* BASE only starts a log: after entries numbered from 1 it is refused. */
static void test_base_refused_mid_log(void **state)
{
	(void)state;
	assert_int_equal(add_input(1, 1), FTMB_OK);
	assert_int_equal(base(3, 40, 40), FTMB_E_SEQ);
	assert_int_equal(durable().vc.in[0], 0);
	assert_int_equal(durable().vc.in[1], 1);
	assert_int_equal(log_.last_cut.n, 0);
}

static void test_cut_validated(void **state)
{
	struct ftmb_repl_vector c = { .n = 1, .ckpt_seq = 9 };
	GError *error = NULL;

	(void)state;
	assert_int_equal(cut(5, 10, 10), FTMB_OK);
	assert_int_equal(cut(5, 20, 20), FTMB_E_SEQ); /* same checkpoint again */
	assert_int_equal(cut(4, 20, 20), FTMB_E_SEQ); /* an older one */
	assert_int_equal(cut(6, 9, 20), FTMB_E_SEQ);  /* an entry goes back */
	assert_int_equal(cut(6, LOGSTORE_MAX_NUMBER, 20), FTMB_E_RANGE);
	assert_false(logstore_apply_cut(&log_, &c, &error)); /* 1 queue, instance has 2 */
	assert_int_equal(error->code, FTMB_E_COUNT);
	g_error_free(error);
	assert_int_equal(log_.last_cut.ckpt_seq, 5);
	assert_int_equal(durable().vc.in[0], 10);
}

static void test_released_monotonic(void **state)
{
	struct ftmb_repl_released r = { .n = 2, .out_seq = { 5, 7 } };
	GError *error = NULL;

	(void)state;
	assert_true(logstore_set_released(&log_, &r, NULL));
	r.out_seq[1] = 6;
	assert_false(logstore_set_released(&log_, &r, &error));
	assert_int_equal(error->code, FTMB_E_SEQ);
	g_clear_error(&error);
	r.n = 3;
	r.out_seq[1] = 8;
	assert_false(logstore_set_released(&log_, &r, &error));
	assert_int_equal(error->code, FTMB_E_COUNT);
	g_clear_error(&error);
	assert_int_equal(log_.released.out_seq[1], 7);
}

static void test_memory_bound(void **state)
{
	struct ftmb_repl_hello h = hello_of(2);
	uint64_t s = 0;
	size_t bytes;

	(void)state;
	logstore_clear(&log_);
	logstore_init(&log_, &h, 4096);
	while (add_input(0, s + 1) == FTMB_OK)
		s++;
	assert_true(s > 10);
	assert_int_equal(add_input(0, s + 1), FTMB_E_LIMIT);
	assert_true(log_.bytes <= 4096);
	bytes = log_.bytes;
	assert_int_equal(add_pals(0, 1, 200), FTMB_E_LIMIT); /* refused whole */
	assert_int_equal(log_.bytes, bytes);
	assert_int_equal(durable().vc.pal[0], 0);
	/* A cut frees what it covers, and the stream can go on. */
	assert_int_equal(cut(1, s, 0), FTMB_OK);
	assert_int_equal(log_.bytes, 0);
	assert_int_equal(add_input(0, s + 1), FTMB_OK);
}

/* Many entries, so that truncation compacts the arrays. */
static void test_truncation_compacts(void **state)
{
	(void)state;
	for (uint64_t round = 0; round < 4; round++) {
		for (uint64_t s = round * 10000 + 1; s <= (round + 1) * 10000; s++)
			assert_int_equal(add_input(1, s), FTMB_OK);
		assert_int_equal(cut(round + 1, round * 10000 + 9000, 0), FTMB_OK);
		assert_int_equal(logstore_held(&log_.in[1]), 1000);
		/* The dropped head was compacted away. */
		assert_int_equal(log_.in[1].head, 0);
		assert_int_equal(log_.in[1].items->len, 1000);
	}
	assert_int_equal(add_input(1, 40000), FTMB_OK); /* identical resend still found */
}

/* Decodes a replay file and checks it holds exactly what the log holds. */
static void check_dump(int fd, uint64_t first_in, uint64_t last_in, uint64_t first_pal,
		       uint64_t last_pal)
{
	static uint8_t buf[FTMB_REPL_HDR_LEN + FTMB_REPL_MAX_PAYLOAD];
	uint64_t next_in[2] = { first_in, first_in }, next_pal[2] = { first_pal, first_pal };
	struct ftmb_repl_decoder dec;
	struct ftmb_repl_frame f;
	int stage = 0, frames = 0, rc;
	uint8_t *where;
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	ftmb_repl_decoder_init(&dec, buf, sizeof(buf));
	for (;;) {
		size_t space = ftmb_repl_decoder_space(&dec, &where);

		n = read(fd, where, space);
		assert_true(n >= 0);
		ftmb_repl_decoder_commit(&dec, (size_t)n);
		while ((rc = ftmb_repl_decoder_next(&dec, &f)) == 1) {
			frames++;
			if (f.type == FTMB_REPL_HELLO) {
				struct ftmb_repl_hello h;

				assert_int_equal(stage, 0);
				assert_int_equal(ftmb_repl_get_hello(&f, &h), FTMB_OK);
				assert_string_equal(h.instance, "nat1");
				assert_int_equal(h.generation, 7);
				stage = 1;
			} else if (f.type == FTMB_REPL_CUT) {
				struct ftmb_repl_vector c;

				assert_int_equal(stage, 1);
				assert_int_equal(frames, 2);
				assert_int_equal(ftmb_repl_get_cut(&f, &c), FTMB_OK);
				assert_int_equal(c.vc.in[0], first_in - 1);
				assert_int_equal(c.vc.pal[0], first_pal - 1);
			} else if (f.type == FTMB_REPL_INPUT) {
				struct ftmb_repl_input in;

				assert_int_equal(stage, 1);
				assert_int_equal(ftmb_repl_get_input(&f, &in), FTMB_OK);
				assert_int_equal(in.seq, next_in[in.queue]++);
				assert_int_equal(in.len, 10 + in.seq % 7);
				assert_int_equal(in.data[in.len - 1], pkt_byte(in.queue, in.seq));
			} else if (f.type == FTMB_REPL_PAL) {
				struct ftmb_repl_pal pal;

				assert_true(stage == 1 || stage == 2);
				stage = 2;
				assert_int_equal(ftmb_repl_get_pal(&f, N_VARS, &pal), FTMB_OK);
				for (uint16_t i = 0; i < pal.count; i++) {
					struct ftmb_record r, want = rec_of(pal.thread,
									     next_pal[pal.thread]++);

					ftmb_repl_pal_get(&pal, i, &r);
					assert_memory_equal(&r, &want, sizeof(r));
				}
			} else {
				struct ftmb_repl_released r;

				assert_int_equal(f.type, FTMB_REPL_RELEASED);
				assert_int_equal(ftmb_repl_get_released(&f, &r), FTMB_OK);
				assert_int_equal(r.n, 2);
				assert_int_equal(r.out_seq[1], 33);
				stage = 3;
			}
		}
		assert_int_equal(rc, 0);
		if (n == 0)
			break;
	}
	assert_int_equal(stage, 3);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(next_in[i], last_in + 1);
		assert_int_equal(next_pal[i], last_pal + 1);
	}
	assert_true(frames > 2);
}

static void test_dump_redecodes(void **state)
{
	struct ftmb_repl_released r = { .n = 2, .out_seq = { 11, 33 } };
	char path[] = "/tmp/ftmb-hostd-test-dump-XXXXXX";
	int fd = mkstemp(path);
	GError *error = NULL;

	(void)state;
	assert_true(fd >= 0);
	for (uint64_t s = 1; s <= 300; s++) {
		assert_int_equal(add_input(0, s), FTMB_OK);
		assert_int_equal(add_input(1, s), FTMB_OK);
	}
	for (uint64_t c = 1; c <= 2500; c += 500) { /* more than one frame's worth */
		assert_int_equal(add_pals(0, c, 500), FTMB_OK);
		assert_int_equal(add_pals(1, c, 500), FTMB_OK);
	}
	assert_true(logstore_set_released(&log_, &r, NULL));
	assert_true(logstore_dump_fd(&log_, fd, &error));
	check_dump(fd, 1, 300, 1, 2500);
	/* After a cut, the dump starts right after it. */
	assert_int_equal(cut(1, 120, 1999), FTMB_OK);
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_true(logstore_dump_file(&log_, path, &error));
	close(fd);
	fd = open(path, O_RDONLY);
	check_dump(fd, 121, 300, 2000, 2500);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_inputs_contiguous, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input_gap_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input_resend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pal_contiguous, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_truncates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_base_starts_the_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_base_refused_mid_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_validated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_released_monotonic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncation_compacts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dump_redecodes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
