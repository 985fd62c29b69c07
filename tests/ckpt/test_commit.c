// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * When the backup commits a checkpoint (commit.c): a checkpoint's cut must
 * match ftmb-vhost's CUT frame of its epoch and be covered by the log; one
 * that does not (a guest that scribbled on its cut slot, a cut never sent,
 * an older one, another generation) is refused; a commit truncates the log
 * at exactly that cut; a host process's CUT frames commit on their own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "commit.h"

#define GEN 7u

static struct logstore log_;
static struct cutq q;

static int setup(void **state)
{
	struct ftmb_repl_hello h = { .role = FTMB_ROLE_VHOST, .n_threads = 2, .n_vars = 8,
				     .generation = GEN, .instance = "vm1" };

	(void)state;
	logstore_init(&log_, &h, 1u << 20);
	commit_reset(&q);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	logstore_clear(&log_);
	return 0;
}

/* Inputs 1..n on both queues and PALs 1..n on both threads. */
static void fill(uint64_t n)
{
	static const uint8_t pkt[60];
	GError *error = NULL;

	for (uint16_t i = 0; i < 2; i++) {
		for (uint64_t s = log_.in[i].next; s <= n; s++) {
			struct ftmb_repl_input in = { .queue = i, .len = sizeof(pkt), .seq = s,
						      .data = pkt };

			assert_true(logstore_add_input(&log_, &in, &error));
		}
		for (uint64_t c = log_.pal[i].next; c <= n; c++) {
			struct ftmb_record r = { .type = FTMB_REC_PAL, .counter = c, .var = 1, .seq = c };
			static uint8_t store[FTMB_REPL_HDR_LEN + FTMB_REPL_MAX_PAYLOAD];
			uint8_t buf[128];
			struct ftmb_repl_decoder d;
			struct ftmb_repl_frame f;
			struct ftmb_repl_pal pal;
			int len = ftmb_repl_put_pal(buf, sizeof(buf), i, &r, 1);

			ftmb_repl_decoder_init(&d, store, sizeof(store));
			assert_int_equal(ftmb_repl_decoder_feed(&d, buf, (size_t)len), FTMB_OK);
			assert_int_equal(ftmb_repl_decoder_next(&d, &f), 1);
			assert_int_equal(ftmb_repl_get_pal(&f, 8, &pal), FTMB_OK);
			assert_true(logstore_add_pal(&log_, &pal, &error));
		}
	}
}

static struct ftmb_repl_vector cut_frame(uint64_t epoch, uint64_t in, uint64_t pal)
{
	struct ftmb_repl_vector v = { .n = 2, .ckpt_seq = epoch };

	v.vc.in[0] = v.vc.in[1] = in;
	v.vc.pal[0] = v.vc.pal[1] = pal;
	return v;
}

static struct ftmb_cut region_cut(uint64_t epoch, uint64_t in, uint64_t pal)
{
	struct ftmb_cut c = { .magic = FTMB_CUT_MAGIC, .n = 2, .generation = GEN, .epoch = epoch };

	c.in[0] = c.in[1] = in;
	c.pal[0] = c.pal[1] = pal;
	return c;
}

static void add(uint64_t epoch, uint64_t in, uint64_t pal)
{
	struct ftmb_repl_vector v = cut_frame(epoch, in, pal);
	GError *error = NULL;

	if (!commit_add_cut(&q, &log_, &v, &error))
		fail_msg("CUT %lu refused: %s", (unsigned long)epoch, error->message);
}

static int verdict(struct ftmb_cut c, uint64_t *epoch, const char *why)
{
	GError *error = NULL;
	int v = commit_check_checkpoint(&q, &log_, &c, epoch, &error);

	if (v < 0) {
		if (!why || !strstr(error->message, why))
			fail_msg("refused: %s", error->message);
		g_error_free(error);
	}
	return v;
}

static void matching_cut_commits(void **state)
{
	GError *error = NULL;
	uint64_t epoch = 0;

	(void)state;
	fill(100);
	add(1, 40, 30);
	assert_int_equal(verdict(region_cut(1, 40, 30), &epoch, NULL), COMMIT_READY);
	assert_int_equal(epoch, 1);
	assert_true(commit_apply(&q, &log_, 1, &error));
	assert_int_equal(commit_last(&log_), 1);
	/* the log now holds exactly what follows the cut */
	assert_int_equal(logstore_held(&log_.in[0]), 60);
	assert_int_equal(logstore_held(&log_.pal[1]), 70);
	assert_int_equal(q.n, 0);
	/* the same checkpoint cut again (no cut since): stored, nothing to commit */
	assert_int_equal(verdict(region_cut(1, 40, 30), &epoch, NULL), COMMIT_SAME);
}

static void waits_for_its_cut_and_the_log(void **state)
{
	uint64_t epoch = 0;

	(void)state;
	fill(10);
	/* the checkpoint arrived before ftmb-vhost's CUT frame */
	assert_int_equal(verdict(region_cut(1, 20, 20), &epoch, NULL), COMMIT_WAIT);
	add(1, 20, 20);
	/* the CUT is there, the log does not hold its inputs yet */
	assert_int_equal(verdict(region_cut(1, 20, 20), &epoch, NULL), COMMIT_WAIT);
	fill(20);
	assert_int_equal(verdict(region_cut(1, 20, 20), &epoch, NULL), COMMIT_READY);
}

static void forged_cuts_are_refused(void **state)
{
	uint64_t epoch = 0;
	struct ftmb_cut c;

	(void)state;
	fill(50);
	add(2, 40, 30);
	/* the guest moved its input count */
	c = region_cut(2, 40, 30), c.in[1] = 41;
	assert_int_equal(verdict(c, &epoch, "differs from the CUT ftmb-vhost sent"), -1);
	c = region_cut(2, 40, 30), c.pal[0] = 29;
	assert_int_equal(verdict(c, &epoch, "differs from the CUT ftmb-vhost sent"), -1);
	/* another generation, another queue count */
	c = region_cut(2, 40, 30), c.generation = GEN + 1;
	assert_int_equal(verdict(c, &epoch, "of generation"), -1);
	c = region_cut(2, 40, 30), c.n = 1;
	assert_int_equal(verdict(c, &epoch, "for 1 queues"), -1);
	/* an epoch ftmb-vhost went past without a CUT for it */
	assert_int_equal(verdict(region_cut(1, 40, 30), &epoch, "was never sent"), -1);
	/* negative control: the genuine cut passes */
	assert_int_equal(verdict(region_cut(2, 40, 30), &epoch, NULL), COMMIT_READY);
}

static void older_and_missing_cuts(void **state)
{
	GError *error = NULL;
	uint64_t epoch = 0;

	(void)state;
	fill(50);
	add(3, 10, 10);
	assert_int_equal(verdict(region_cut(3, 10, 10), &epoch, NULL), COMMIT_READY);
	assert_true(commit_apply(&q, &log_, 3, &error));
	assert_int_equal(verdict(region_cut(2, 5, 5), &epoch, "older than the committed"), -1);
	assert_int_equal(verdict(region_cut(3, 11, 10), &epoch, "differs from the one committed"),
			 -1);
	/* a checkpoint without any cut while the log holds inputs: ftmb-vhost runs
	 * without cut=pause */
	assert_int_equal(verdict((struct ftmb_cut){ 0 }, &epoch, "cut=pause"), -1);
}

static void no_cut_before_the_first_pause(void **state)
{
	uint64_t epoch = 0;

	(void)state;
	/* the guest has not started its NIC yet: nothing logged, no cut */
	assert_int_equal(verdict((struct ftmb_cut){ 0 }, &epoch, NULL), COMMIT_SAME);
	fill(1);
	assert_int_equal(verdict((struct ftmb_cut){ 0 }, &epoch, "cut=pause"), -1);
}

static void cut_frames_checked(void **state)
{
	struct ftmb_repl_vector v;
	GError *error = NULL;

	(void)state;
	add(5, 1, 1);
	v = cut_frame(5, 1, 1); /* resent after a reconnection: ignored */
	assert_true(commit_add_cut(&q, &log_, &v, &error));
	assert_int_equal(q.n, 1);
	v = cut_frame(5, 2, 2); /* the same epoch, other vectors */
	assert_false(commit_add_cut(&q, &log_, &v, &error));
	g_clear_error(&error);
	v = cut_frame(0, 2, 2);
	assert_false(commit_add_cut(&q, &log_, &v, &error));
	g_clear_error(&error);
	v = cut_frame(6, 2, 2), v.n = 3;
	assert_false(commit_add_cut(&q, &log_, &v, &error));
	g_clear_error(&error);
	v = cut_frame(6, LOGSTORE_MAX_NUMBER, 2);
	assert_false(commit_add_cut(&q, &log_, &v, &error));
	g_clear_error(&error);
	v = cut_frame(6, 0, 2); /* an entry goes back */
	assert_false(commit_add_cut(&q, &log_, &v, &error));
	g_clear_error(&error);
	/* bare stops and conts: old pending cuts make room for new ones */
	for (uint64_t e = 6; e < 6 + COMMIT_MAX_PENDING; e++)
		add(e, 1, 1);
	assert_int_equal(q.n, COMMIT_MAX_PENDING);
	assert_int_equal(q.dropped, 1);
	assert_int_equal(q.cut[0].ckpt_seq, 6);
}

/* A host process in mode checkpoint: its CUTs carry nothing and commit at
 * once; an ftmb host process's CUT (fake_primary) once the log covers it. */
static void host_process_cuts(void **state)
{
	GError *error = NULL;

	(void)state;
	add(1, 0, 0);
	add(2, 0, 0);
	assert_int_equal(commit_ready_without_checkpoint(&q, &log_), 2);
	assert_true(commit_apply(&q, &log_, 2, &error));
	assert_int_equal(q.n, 0);
	add(3, 10, 10);
	assert_int_equal(commit_ready_without_checkpoint(&q, &log_), 0);
	fill(10);
	assert_int_equal(commit_ready_without_checkpoint(&q, &log_), 3);
	assert_false(commit_apply(&q, &log_, 4, &error));
	g_clear_error(&error);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(matching_cut_commits, setup, teardown),
		cmocka_unit_test_setup_teardown(waits_for_its_cut_and_the_log, setup, teardown),
		cmocka_unit_test_setup_teardown(forged_cuts_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(older_and_missing_cuts, setup, teardown),
		cmocka_unit_test_setup_teardown(no_cut_before_the_first_pause, setup, teardown),
		cmocka_unit_test_setup_teardown(cut_frames_checked, setup, teardown),
		cmocka_unit_test_setup_teardown(host_process_cuts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
