// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ftmb-vhost's mode checkpoint (the Remus-style baseline): an output taken
 * after cut E-1 waits for COMMITTED(E) or later, in order, within the hold
 * bound (release.c); and the instance keys that choose when cuts are taken
 * (inst_config.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ftmb/err.h"
#include "inst_config.h"
#include "release.h"

static struct out_thread th;
static int pkts[16];

static int setup(void **state)
{
	(void)state;
	memset(&th, 0, sizeof(th));
	return holdq_init(&th.held, 4);
}

static int teardown(void **state)
{
	(void)state;
	holdq_free(&th.held);
	return 0;
}

static struct held_output out(int i, uint64_t epoch)
{
	return (struct held_output){ .pkt = &pkts[i], .epoch = epoch };
}

static void held_until_its_commit(void **state)
{
	struct held_output o = out(0, 3), h[4];

	(void)state;
	/* taken after cut 2: needs COMMITTED(3) */
	assert_int_equal(release_admit_epoch(&th, &o, 2), RELEASE_HELD);
	assert_int_equal(release_ready_epoch(&th, 2, h, 4), 0);
	assert_int_equal(release_ready_epoch(&th, 3, h, 4), 1);
	assert_ptr_equal(h[0].pkt, &pkts[0]);
	assert_int_equal(holdq_count(&th.held), 0);
}

static void commits_are_cumulative(void **state)
{
	struct held_output h[4];

	(void)state;
	for (int i = 0; i < 3; i++) {
		struct held_output o = out(i, (uint64_t)i + 1);

		assert_int_equal(release_admit_epoch(&th, &o, 0), RELEASE_HELD);
	}
	/* a bare stop and cont made epochs 2 and 3 without a checkpoint: the
	 * commit of 5 covers them all, in order */
	assert_int_equal(release_ready_epoch(&th, 5, h, 4), 3);
	for (int i = 0; i < 3; i++)
		assert_ptr_equal(h[i].pkt, &pkts[i]);
}

static void order_and_bounds(void **state)
{
	struct held_output h[4], o;

	(void)state;
	o = out(0, 2);
	assert_int_equal(release_admit_epoch(&th, &o, 1), RELEASE_HELD);
	/* committed already, but an older output waits: FIFO, no overtaking */
	o = out(1, 1);
	assert_int_equal(release_admit_epoch(&th, &o, 1), RELEASE_HELD);
	assert_int_equal(release_ready_epoch(&th, 1, h, 4), 0);
	/* max limits what leaves at once */
	assert_int_equal(release_ready_epoch(&th, 2, h, 1), 1);
	assert_ptr_equal(h[0].pkt, &pkts[0]);
	assert_int_equal(release_ready_epoch(&th, 2, h, 4), 1);
	/* nothing held and committed: leaves at once */
	o = out(2, 2);
	assert_int_equal(release_admit_epoch(&th, &o, 2), RELEASE_NOW);
	/* the bound */
	for (int i = 0; i < 4; i++) {
		o = out(i, 9);
		assert_int_equal(release_admit_epoch(&th, &o, 2), RELEASE_HELD);
	}
	o = out(5, 9);
	assert_int_equal(release_admit_epoch(&th, &o, 2), FTMB_E_COUNT);
	assert_int_equal(release_drain(&th, h, 4), 4);
}

#define BASE "name=a,socket=/s,region=/r,port=net_null0,"

static void parses(const char *spec, enum inst_mode mode, enum inst_cut cut, uint32_t ms)
{
	struct inst_config cfg;
	char err[300] = "";

	if (inst_config_parse(spec, &cfg, err, sizeof(err)))
		fail_msg("'%s' refused: %s", spec, err);
	assert_int_equal(cfg.mode, mode);
	assert_int_equal(cfg.cut, cut);
	assert_int_equal(cfg.ckpt_interval_ms, ms);
}

static void refuses(const char *spec, const char *why)
{
	struct inst_config cfg;
	char err[300] = "";

	assert_int_equal(inst_config_parse(spec, &cfg, err, sizeof(err)), -1);
	if (!strstr(err, why))
		fail_msg("'%s': '%s' does not say '%s'", spec, err, why);
}

static void cut_keys(void **state)
{
	(void)state;
	parses(BASE "backup=h:1", INST_MODE_FTMB, INST_CUT_NONE, 0);
	parses(BASE "backup=h:1,cut=pause", INST_MODE_FTMB, INST_CUT_PAUSE, 0);
	parses(BASE "replay=/l,cut=pause", INST_MODE_FTMB, INST_CUT_PAUSE, 0);
	parses(BASE "backup=h:1,mode=checkpoint,cut=pause", INST_MODE_CHECKPOINT, INST_CUT_PAUSE, 0);
	parses(BASE "backup=h:1,mode=checkpoint,ckpt_interval_ms=50", INST_MODE_CHECKPOINT,
	       INST_CUT_TIMER, 50);
	refuses(BASE "backup=h:1,mode=checkpoint", "needs cut=pause");
	refuses(BASE "mode=checkpoint,cut=pause", "needs backup=");
	refuses(BASE "backup=h:1,replay=/l,mode=checkpoint,cut=pause", "takes no replay=");
	refuses(BASE "backup=h:1,ckpt_interval_ms=50", "for a host process in mode=checkpoint");
	refuses(BASE "mode=off,cut=pause", "mode=off takes no cut=");
	refuses(BASE "backup=h:1,mode=checkpoint,cut=pause,ckpt_interval_ms=5", "exclude each other");
	refuses(BASE "backup=h:1,mode=checkpoint,ckpt_interval_ms=5,cut=pause", "exclude each other");
	refuses(BASE "backup=h:1,cut=stop", "expected pause");
	refuses(BASE "backup=h:1,mode=checkpoint,ckpt_interval_ms=0", "from 1 to 60000");
	refuses(BASE "backup=h:1,mode=remus", "expected off, ftmb or checkpoint");
	refuses(BASE "replay=/l,standby=on,cut=pause", "standby=on is for host processes");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(held_until_its_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(commits_are_cumulative, setup, teardown),
		cmocka_unit_test_setup_teardown(order_and_bounds, setup, teardown),
		cmocka_unit_test(cut_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
