// SPDX-License-Identifier: GPL-2.0-or-later
/* The output logger's hold queue and release decisions (release.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ftmb/err.h"
#include "release.h"

#define N 2

static struct out_thread th;
static struct ftmb_vclock durable, logged;
static int pkts[64];

static int setup(void **state)
{
	(void)state;
	memset(&th, 0, sizeof(th));
	memset(&durable, 0, sizeof(durable));
	memset(&logged, 0, sizeof(logged));
	return holdq_init(&th.held, 4);
}

static int teardown(void **state)
{
	(void)state;
	holdq_free(&th.held);
	return 0;
}

static struct held_output output(uint64_t out_seq, uint64_t in0, uint64_t pal1)
{
	struct held_output o = { .pkt = &pkts[out_seq], .out_seq = out_seq };

	o.dep.in[0] = in0;
	o.dep.pal[1] = pal1;
	return o;
}

static struct ftmb_out_tag tag_of(const struct held_output *o)
{
	struct ftmb_out_tag t = { .thread = 0, .out_seq = o->out_seq, .dep = o->dep };

	return t;
}

static void check_accepts_logged_deps(void **state)
{
	struct held_output o = output(1, 5, 7);
	struct ftmb_out_tag t = tag_of(&o);
	char why[200] = "";

	(void)state;
	logged.in[0] = 5;
	logged.pal[1] = 7;
	assert_int_equal(release_check(&th, &t, &logged, N, why, sizeof(why)), FTMB_OK);
	assert_string_equal(why, "");
}

static void check_rejects_unlogged_input(void **state)
{
	struct held_output o = output(1, 6, 0);
	struct ftmb_out_tag t = tag_of(&o);
	char why[200];

	(void)state;
	logged.in[0] = 5;
	assert_int_equal(release_check(&th, &t, &logged, N, why, sizeof(why)), FTMB_E_SEQ);
	assert_non_null(strstr(why, "depends on input 6 of queue 0, only 5 logged"));
}

static void check_rejects_unlogged_pal(void **state)
{
	struct held_output o = output(1, 0, 8);
	struct ftmb_out_tag t = tag_of(&o);
	char why[200];

	(void)state;
	logged.pal[1] = 7;
	assert_int_equal(release_check(&th, &t, &logged, N, why, sizeof(why)), FTMB_E_COUNTER);
	assert_non_null(strstr(why, "depends on PAL 8 of thread 1, only 7 logged"));
}

static void check_rejects_out_seq_not_growing(void **state)
{
	struct held_output a = output(3, 0, 0), b = output(3, 0, 0), c = output(2, 0, 0);
	struct ftmb_out_tag tb = tag_of(&b), tc = tag_of(&c);
	char why[200];

	(void)state;
	assert_int_equal(release_admit(&th, &a, &durable, N), RELEASE_NOW);
	assert_int_equal(release_check(&th, &tb, &logged, N, why, sizeof(why)), FTMB_E_SEQ);
	assert_non_null(strstr(why, "out_seq 3 after 3"));
	assert_int_equal(release_check(&th, &tc, &logged, N, why, sizeof(why)), FTMB_E_SEQ);
}

static void covered_output_leaves_at_once(void **state)
{
	struct held_output o = output(1, 5, 7);

	(void)state;
	durable.in[0] = 5;
	durable.pal[1] = 9;
	assert_int_equal(release_admit(&th, &o, &durable, N), RELEASE_NOW);
	assert_int_equal(holdq_count(&th.held), 0);
}

static void uncovered_output_is_held_until_durable(void **state)
{
	struct held_output o = output(1, 5, 7), got[4];

	(void)state;
	durable.in[0] = 4;
	durable.pal[1] = 7;
	assert_int_equal(release_admit(&th, &o, &durable, N), RELEASE_HELD);
	assert_int_equal(release_ready(&th, &durable, N, got, 4), 0);
	durable.in[0] = 5;
	assert_int_equal(release_ready(&th, &durable, N, got, 4), 1);
	assert_ptr_equal(got[0].pkt, &pkts[1]);
	assert_int_equal(holdq_count(&th.held), 0);
}

/* A later output whose dep is already durable still waits behind an
 * earlier held one: per-thread FIFO order is release order. */
static void later_outputs_wait_behind_held_ones(void **state)
{
	struct held_output a = output(1, 5, 0), b = output(2, 0, 0), got[4];

	(void)state;
	assert_int_equal(release_admit(&th, &a, &durable, N), RELEASE_HELD);
	assert_int_equal(release_admit(&th, &b, &durable, N), RELEASE_HELD);
	durable.in[0] = 5;
	assert_int_equal(release_ready(&th, &durable, N, got, 4), 2);
	assert_int_equal(got[0].out_seq, 1);
	assert_int_equal(got[1].out_seq, 2);
}

static void release_stops_at_first_uncovered(void **state)
{
	struct held_output a = output(1, 1, 0), b = output(2, 2, 0), c = output(3, 3, 0), got[4];

	(void)state;
	release_admit(&th, &a, &durable, N);
	release_admit(&th, &b, &durable, N);
	release_admit(&th, &c, &durable, N);
	durable.in[0] = 2;
	assert_int_equal(release_ready(&th, &durable, N, got, 4), 2);
	assert_int_equal(holdq_count(&th.held), 1);
	/* max bounds a single call */
	durable.in[0] = 3;
	assert_int_equal(release_ready(&th, &durable, N, got, 0), 0);
	assert_int_equal(release_ready(&th, &durable, N, got, 1), 1);
	assert_int_equal(got[0].out_seq, 3);
}

static void hold_bound_is_enforced(void **state)
{
	struct held_output o;

	(void)state;
	for (uint64_t s = 1; s <= 4; s++) {
		o = output(s, 1, 0);
		assert_int_equal(release_admit(&th, &o, &durable, N), RELEASE_HELD);
	}
	o = output(5, 1, 0);
	assert_int_equal(release_admit(&th, &o, &durable, N), FTMB_E_COUNT);
	assert_int_equal(holdq_count(&th.held), 4);
}

static void queue_wraps_around(void **state)
{
	struct held_output o, got[4];

	(void)state;
	for (uint64_t s = 1; s <= 40; s++) {
		o = output(s, s, 0);
		assert_int_equal(release_admit(&th, &o, &durable, N), RELEASE_HELD);
		durable.in[0] = s;
		assert_int_equal(release_ready(&th, &durable, N, got, 4), 1);
		assert_int_equal(got[0].out_seq, s);
		durable.in[0] = 0;
	}
}

static void drain_takes_everything(void **state)
{
	struct held_output o, got[4];

	(void)state;
	for (uint64_t s = 1; s <= 3; s++) {
		o = output(s, 100, 0);
		release_admit(&th, &o, &durable, N);
	}
	assert_int_equal(release_drain(&th, got, 2), 2);
	assert_int_equal(release_drain(&th, got, 4), 1);
	assert_int_equal(got[0].out_seq, 3);
	assert_int_equal(holdq_count(&th.held), 0);
}

static void watermark_only_grows(void **state)
{
	struct held_output o = output(9, 0, 0);
	struct ftmb_out_tag t;
	char why[100];

	(void)state;
	release_done(&th, 5);
	release_done(&th, 3);
	assert_int_equal(th.released_seq, 5);
	release_skip(&th, 8);
	assert_int_equal(th.released_seq, 8);
	assert_int_equal(th.last_out_seq, 8);
	t = tag_of(&o);
	assert_int_equal(release_check(&th, &t, &logged, N, why, sizeof(why)), FTMB_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(check_accepts_logged_deps, setup, teardown),
		cmocka_unit_test_setup_teardown(check_rejects_unlogged_input, setup, teardown),
		cmocka_unit_test_setup_teardown(check_rejects_unlogged_pal, setup, teardown),
		cmocka_unit_test_setup_teardown(check_rejects_out_seq_not_growing, setup, teardown),
		cmocka_unit_test_setup_teardown(covered_output_leaves_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(uncovered_output_is_held_until_durable, setup, teardown),
		cmocka_unit_test_setup_teardown(later_outputs_wait_behind_held_ones, setup, teardown),
		cmocka_unit_test_setup_teardown(release_stops_at_first_uncovered, setup, teardown),
		cmocka_unit_test_setup_teardown(hold_bound_is_enforced, setup, teardown),
		cmocka_unit_test_setup_teardown(queue_wraps_around, setup, teardown),
		cmocka_unit_test_setup_teardown(drain_takes_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(watermark_only_grows, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
