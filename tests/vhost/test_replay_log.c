// SPDX-License-Identifier: GPL-2.0-or-later
/* Loading replay files (replay_log.c): a good one, and malformed ones that
 * must each fail with a clear message and without a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ftmb/le.h"
#include "replay_log.h"

#define CAP (1 << 16)

static uint8_t *file;
static size_t len;

static void put_hello(uint16_t n)
{
	struct ftmb_repl_hello h = { .role = FTMB_ROLE_VHOST, .n_threads = n, .n_vars = 8 };

	strcpy(h.instance, "nat1");
	len += (size_t)ftmb_repl_put_hello(file + len, CAP - len, &h);
}

static void put_input(uint16_t q, uint64_t seq)
{
	uint8_t pkt[60];

	memset(pkt, (int)seq, sizeof(pkt));
	len += (size_t)ftmb_repl_put_input(file + len, CAP - len, q, seq, pkt, sizeof(pkt));
}

static void put_pals(uint16_t t, uint64_t first, uint16_t count, uint32_t var)
{
	struct ftmb_record r[8];

	for (uint16_t i = 0; i < count; i++)
		r[i] = (struct ftmb_record){ .type = FTMB_REC_PAL, .var = var, .counter = first + i,
					     .seq = first + i };
	len += (size_t)ftmb_repl_put_pal(file + len, CAP - len, t, r, count);
}

static void put_released(uint16_t n, uint64_t a, uint64_t b)
{
	struct ftmb_repl_released r = { .n = n, .out_seq = { a, b } };

	len += (size_t)ftmb_repl_put_released(file + len, CAP - len, &r);
}

/* A valid log of a 2-thread instance. */
static void good_log(void)
{
	put_hello(2);
	put_input(0, 1);
	put_input(1, 1);
	put_pals(0, 1, 3, 5);
	put_input(0, 2);
	put_released(2, 1, 0);
	put_pals(1, 1, 2, 7);
	put_pals(0, 4, 1, 5);
	put_released(2, 2, 1);
}

static int setup(void **state)
{
	(void)state;
	file = calloc(1, CAP);
	len = 0;
	return file ? 0 : -1;
}

/* Parses the buffer built so far (the parser takes ownership). */
static int parse(struct replay_log *log, char *err, size_t errlen)
{
	uint8_t *copy = malloc(len ? len : 1);

	memcpy(copy, file, len);
	free(file);
	file = NULL;
	return replay_log_parse(copy, len, log, err, errlen);
}

static int teardown(void **state)
{
	(void)state;
	free(file);
	return 0;
}

static void loads_a_good_log(void **state)
{
	struct replay_log log;
	uint64_t horizon[8];
	char err[256] = "";

	(void)state;
	good_log();
	assert_int_equal(parse(&log, err, sizeof(err)), 0);
	assert_string_equal(log.hello.instance, "nat1");
	assert_int_equal(log.n_in[0], 2);
	assert_int_equal(log.n_in[1], 1);
	assert_int_equal(log.in[0][1].len, 60);
	assert_int_equal(log.in[0][1].data[0], 2);
	assert_int_equal(log.n_pal[0], 4);
	assert_int_equal(log.n_pal[1], 2);
	assert_int_equal(log.pal[0][3].counter, 4);
	assert_int_equal(log.released[0], 2);
	assert_int_equal(log.released[1], 1);
	replay_log_horizons(&log, horizon, 8);
	assert_int_equal(horizon[5], 4);
	assert_int_equal(horizon[7], 2);
	assert_int_equal(horizon[0], 0);
	replay_log_free(&log);
}

/* Each case: build, optionally damage, expect failure naming the problem. */
static void expect_error(const char *needle)
{
	struct replay_log log;
	char err[256] = "";

	assert_int_equal(parse(&log, err, sizeof(err)), -1);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not mention '%s'", err, needle);
	/* The log is left empty and freeing it again is harmless. */
	assert_null(log.file);
	replay_log_free(&log);
}

static void truncated_file(void **state)
{
	(void)state;
	good_log();
	len -= 5;
	expect_error("truncated");
}

static void truncated_inside_a_header(void **state)
{
	size_t whole;

	(void)state;
	put_hello(2);
	whole = len;
	put_input(0, 1);
	len = whole + 5;
	expect_error("truncated: 5 bytes after the last whole frame");
}

static void corrupted_byte(void **state)
{
	(void)state;
	good_log();
	file[len / 2] ^= 0x40;
	expect_error("frame");
}

static void empty_file(void **state)
{
	(void)state;
	expect_error("empty");
}

static void garbage(void **state)
{
	(void)state;
	for (size_t i = 0; i < 4096; i++)
		file[i] = (uint8_t)(i * 131 + 7);
	len = 4096;
	expect_error("frame 1");
}

static void no_hello_first(void **state)
{
	(void)state;
	put_input(0, 1);
	expect_error("not a valid HELLO (INPUT)");
}

static void input_out_of_order(void **state)
{
	(void)state;
	put_hello(2);
	put_input(0, 1);
	put_input(0, 3);
	expect_error("queue 0: input seq 3 follows 1");
}

static void input_not_from_one(void **state)
{
	(void)state;
	put_hello(2);
	put_input(1, 2);
	expect_error("queue 1: input seq 2 follows 0");
}

static void input_on_a_queue_beyond_the_threads(void **state)
{
	(void)state;
	put_hello(2);
	put_input(2, 1);
	expect_error("INPUT on queue 2 of 2");
}

static void pal_out_of_order(void **state)
{
	(void)state;
	put_hello(2);
	put_pals(0, 1, 2, 1);
	put_pals(0, 4, 1, 1);
	expect_error("thread 0: PAL counter 4 follows 2");
}

static void pal_naming_an_unknown_variable(void **state)
{
	(void)state;
	put_hello(2);
	put_pals(0, 1, 1, 8);
	expect_error("bad PAL");
}

static void put_skip(uint16_t t, uint64_t counter, uint32_t queue, uint64_t seq, uint64_t n)
{
	struct ftmb_record r = { .type = FTMB_REC_SKIP, .var = queue, .counter = counter,
				 .seq = seq, .value = n };

	len += (size_t)ftmb_repl_put_pal(file + len, CAP - len, t, &r, 1);
}

static void carries_a_skip_with_the_records(void **state)
{
	struct replay_log log;
	uint64_t horizon[8];
	char err[256] = "";

	(void)state;
	put_hello(2);
	put_input(1, 1);
	put_input(1, 2);
	put_input(1, 3);
	put_pals(1, 1, 1, 2);
	put_skip(1, 2, 1, 2, 1);
	put_pals(1, 3, 1, 2);
	assert_int_equal(parse(&log, err, sizeof(err)), 0);
	assert_int_equal(log.n_pal[1], 3);
	assert_int_equal(log.pal[1][1].type, FTMB_REC_SKIP);
	assert_int_equal(log.pal[1][1].seq, 2);
	assert_int_equal(log.pal[1][1].value, 1);
	/* a SKIP is no access: the horizons count only PALs (var 2 was
	 * accessed at seq 3) */
	replay_log_horizons(&log, horizon, 8);
	assert_int_equal(horizon[1], 0);
	assert_int_equal(horizon[2], 3);
	replay_log_free(&log);
}

static void a_skip_of_another_threads_queue(void **state)
{
	(void)state;
	put_hello(2);
	put_skip(0, 1, 1, 1, 1);
	expect_error("thread 0: SKIP of inputs of queue 1");
}

static void an_empty_skip(void **state)
{
	(void)state;
	put_hello(2);
	put_skip(0, 1, 0, 1, 0);
	expect_error("bad PAL");
}

static void released_for_the_wrong_thread_count(void **state)
{
	(void)state;
	put_hello(2);
	put_released(1, 1, 0);
	expect_error("RELEASED for 1 threads");
}

static void released_going_backwards(void **state)
{
	(void)state;
	put_hello(2);
	put_released(2, 5, 0);
	put_released(2, 4, 0);
	expect_error("watermark 4 after 5");
}

static void an_ack_has_no_place_in_a_log(void **state)
{
	struct ftmb_repl_vector ack = { .n = 2 };

	(void)state;
	put_hello(2);
	len += (size_t)ftmb_repl_put_ack(file + len, CAP - len, &ack);
	expect_error("unexpected ACK");
}

static void a_second_hello(void **state)
{
	(void)state;
	put_hello(2);
	put_hello(2);
	expect_error("unexpected HELLO");
}

static void put_cut(uint16_t n, uint64_t in0, uint64_t pal0)
{
	struct ftmb_repl_vector cut = { .n = n, .ckpt_seq = 7 };

	cut.vc.in[0] = in0;
	cut.vc.pal[0] = pal0;
	len += (size_t)ftmb_repl_put_cut(file + len, CAP - len, &cut);
}

static void resumes_after_a_cut(void **state)
{
	struct replay_log log;
	char err[256] = "";

	(void)state;
	put_hello(2);
	put_cut(2, 10, 20);
	put_input(0, 11);
	put_input(1, 1);
	put_pals(0, 21, 2, 3);
	assert_int_equal(parse(&log, err, sizeof(err)), 0);
	assert_int_equal(log.cut.in[0], 10);
	assert_int_equal(log.cut.pal[0], 20);
	assert_int_equal(log.n_in[0], 1);
	assert_int_equal(log.in[0][0].data[0], 11);
	assert_int_equal(log.n_pal[0], 2);
	assert_int_equal(log.pal[0][1].counter, 22);
	replay_log_free(&log);
}

static void inputs_must_follow_the_cut(void **state)
{
	(void)state;
	put_hello(2);
	put_cut(2, 10, 0);
	put_input(0, 1);
	expect_error("queue 0: input seq 1 follows 10");
}

static void a_cut_only_after_the_hello(void **state)
{
	(void)state;
	put_hello(2);
	put_input(0, 1);
	put_cut(2, 0, 0);
	expect_error("a CUT must come right after the HELLO");
}

static void missing_file(void **state)
{
	struct replay_log log;
	char err[256];

	(void)state;
	assert_int_equal(replay_log_load("/nonexistent/ftmb.frames", &log, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(loads_a_good_log),
		T(truncated_file),
		T(truncated_inside_a_header),
		T(corrupted_byte),
		T(empty_file),
		T(garbage),
		T(no_hello_first),
		T(input_out_of_order),
		T(input_not_from_one),
		T(input_on_a_queue_beyond_the_threads),
		T(pal_out_of_order),
		T(pal_naming_an_unknown_variable),
		T(carries_a_skip_with_the_records),
		T(a_skip_of_another_threads_queue),
		T(an_empty_skip),
		T(released_for_the_wrong_thread_count),
		T(released_going_backwards),
		T(an_ack_has_no_place_in_a_log),
		T(a_second_hello),
		T(resumes_after_a_cut),
		T(inputs_must_follow_the_cut),
		T(a_cut_only_after_the_hello),
		T(missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
