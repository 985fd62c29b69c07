// SPDX-License-Identifier: GPL-2.0-or-later
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ftmb/err.h"
#include "ftmb/ring.h"
#include "host_region.h"

#define SLOTS 8u

struct fixture {
	char path[64];
	struct host_region hr;
	uint64_t guest_head; /* the guest thread 0's private producer cursor */
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	snprintf(fx->path, sizeof(fx->path), "/tmp/ftmb-test-region-%d", getpid());
	if (host_region_create(&fx->hr, fx->path, 2, SLOTS, 16, FTMB_MODE_RECORD, 1) != 0)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	host_region_destroy(&fx->hr);
	unlink(fx->path);
	free(fx);
	return 0;
}

static struct ftmb_record pal(uint64_t k, uint32_t var, uint64_t seq)
{
	return (struct ftmb_record){ .type = FTMB_REC_PAL, .counter = k, .var = var, .seq = seq };
}

/* The guest side: publish one record into thread 0's PAL ring. */
static void guest_put(struct fixture *fx, struct ftmb_record rec)
{
	struct ftmb_ring *r = ftmb_region_pal_ring(fx->hr.base, &fx->hr.geo, 0);

	assert_int_equal(ftmb_ring_produce(r, SLOTS, &fx->guest_head, &rec, 1), 1);
}

static void test_layout_bounds(void **state)
{
	struct ftmb_region_geometry g;

	(void)state;
	assert_int_equal(ftmb_region_layout(0, 8, 8, &g), FTMB_E_RANGE);
	assert_int_equal(ftmb_region_layout(17, 8, 8, &g), FTMB_E_RANGE);
	assert_int_equal(ftmb_region_layout(1, 12, 8, &g), FTMB_E_RANGE);
	assert_int_equal(ftmb_region_layout(1, 0, 8, &g), FTMB_E_RANGE);
	assert_int_equal(ftmb_region_layout(1, FTMB_MAX_RING_SLOTS * 2, 8, &g), FTMB_E_RANGE);
	assert_int_equal(ftmb_region_layout(1, 8, 0, &g), FTMB_E_RANGE);
	assert_int_equal(ftmb_region_layout(1, 8, FTMB_MAX_VARS + 1, &g), FTMB_E_RANGE);
	assert_int_equal(ftmb_region_layout(4, 4096, 1024, &g), FTMB_OK);
	assert_int_equal(g.region_size & (g.region_size - 1), 0);
	assert_true(g.pal_rings_off >= sizeof(struct ftmb_region_header));
	assert_true(g.replay_rings_off >= g.pal_rings_off + 4 * g.ring_stride);
	assert_true(g.horizons_off >= g.replay_rings_off + 4 * g.ring_stride);
	assert_true(g.horizons_off + 1024 * 8 <= g.region_size);
	assert_true(g.ring_stride >= sizeof(struct ftmb_ring) + 4096 * sizeof(struct ftmb_record));
}

static void test_header_check(void **state)
{
	struct fixture *fx = *state;
	struct ftmb_region_header *h = fx->hr.base;
	struct ftmb_region_geometry g;
	size_t size = fx->hr.geo.region_size;

	assert_int_equal(ftmb_region_check_header(h, size, &g), FTMB_OK);
	assert_memory_equal(&g, &fx->hr.geo, sizeof(g));
	assert_int_equal(ftmb_region_check_header(h, size - 1, &g), FTMB_E_TRUNCATED);
	assert_int_equal(ftmb_region_check_header(h, 8, &g), FTMB_E_TRUNCATED);

	h->version = 9;
	assert_int_equal(ftmb_region_check_header(h, size, &g), FTMB_E_VERSION);
	h->version = FTMB_REGION_VERSION;
	h->horizons_off += 64;
	assert_int_equal(ftmb_region_check_header(h, size, &g), FTMB_E_LAYOUT);
	h->horizons_off -= 64;
	h->n_threads = 1000;
	assert_int_equal(ftmb_region_check_header(h, size, &g), FTMB_E_RANGE);
	h->n_threads = 2;
	h->mode = 7;
	assert_int_equal(ftmb_region_check_header(h, size, &g), FTMB_E_FIELD);
	h->mode = FTMB_MODE_RECORD;
	h->header_size = 3;
	assert_int_equal(ftmb_region_check_header(h, size, &g), FTMB_E_LENGTH);
	h->magic = 0;
	assert_int_equal(ftmb_region_check_header(h, size, &g), FTMB_E_MAGIC);
}

static void test_ring_wraps_and_fills(void **state)
{
	struct fixture *fx = *state;
	struct ftmb_ring *r = ftmb_region_pal_ring(fx->hr.base, &fx->hr.geo, 1);
	struct ftmb_record in[SLOTS + 3], out[SLOTS + 3];
	uint64_t head = 0, tail = 0, next = 1;

	for (int round = 0; round < 50; round++) {
		uint32_t n = 1 + (uint32_t)round % (SLOTS + 3);

		for (uint32_t i = 0; i < n; i++)
			in[i] = pal(next + i, 0, 1);
		int pushed = ftmb_ring_produce(r, SLOTS, &head, in, n);

		assert_int_equal(pushed, n > SLOTS ? SLOTS : n);
		if (pushed == SLOTS)
			assert_int_equal(ftmb_ring_produce(r, SLOTS, &head, in, 1), 0);
		assert_int_equal(ftmb_ring_pending(r, SLOTS, tail), pushed);
		assert_int_equal(ftmb_ring_consume(r, SLOTS, &tail, out, SLOTS + 3), pushed);
		for (int i = 0; i < pushed; i++)
			assert_int_equal(out[i].counter, next + (uint64_t)i);
		next += (uint64_t)pushed;
	}
	assert_true(head > 4 * SLOTS); /* wrapped several times */
}

static void test_ring_rejects_impossible_cursors(void **state)
{
	struct fixture *fx = *state;
	struct ftmb_ring *r = ftmb_region_pal_ring(fx->hr.base, &fx->hr.geo, 1);
	struct ftmb_record rec = pal(1, 0, 1), out[4];
	uint64_t head = 10, tail = 10;

	r->head = tail + SLOTS + 1; /* more than a ring ahead */
	assert_int_equal(ftmb_ring_consume(r, SLOTS, &tail, out, 4), FTMB_E_INDEX);
	r->head = tail - 1; /* behind the consumer */
	assert_int_equal(ftmb_ring_consume(r, SLOTS, &tail, out, 4), FTMB_E_INDEX);
	assert_int_equal(tail, 10);
	r->tail = head + 1; /* consumer claims records never written */
	assert_int_equal(ftmb_ring_produce(r, SLOTS, &head, &rec, 1), FTMB_E_INDEX);
	r->tail = head - SLOTS - 1;
	assert_int_equal(ftmb_ring_produce(r, SLOTS, &head, &rec, 1), FTMB_E_INDEX);
}

static void test_host_reads_valid_pals(void **state)
{
	struct fixture *fx = *state;
	struct ftmb_record out[SLOTS];

	guest_put(fx, pal(1, 3, 1));
	guest_put(fx, (struct ftmb_record){ .type = FTMB_REC_TIME, .counter = 2, .value = 42 });
	guest_put(fx, pal(3, 15, 2));
	assert_int_equal(host_region_read_pal(&fx->hr, 0, out, SLOTS), 3);
	assert_int_equal(out[1].value, 42);
	assert_int_equal(host_region_pal_consumed(&fx->hr, 0), 3);
	assert_int_equal(host_region_read_pal(&fx->hr, 0, out, SLOTS), 0);
	assert_int_equal(host_region_read_pal(&fx->hr, 2, out, SLOTS), FTMB_E_RANGE);
}

static void expect_rejected(struct fixture *fx, struct ftmb_record bad, int err)
{
	struct ftmb_record out[SLOTS];

	guest_put(fx, pal(1, 0, 1));
	guest_put(fx, bad);
	assert_int_equal(host_region_read_pal(&fx->hr, 0, out, SLOTS), err);
}

static void test_host_rejects_bad_type(void **state)
{
	expect_rejected(*state, (struct ftmb_record){ .type = 9, .counter = 2 }, FTMB_E_TYPE);
}

static void test_host_rejects_counter_gap(void **state)
{
	expect_rejected(*state, pal(3, 0, 2), FTMB_E_COUNTER);
}

static void test_host_rejects_replayed_counter(void **state)
{
	expect_rejected(*state, pal(1, 0, 2), FTMB_E_COUNTER);
}

static void test_host_rejects_var_out_of_range(void **state)
{
	expect_rejected(*state, pal(2, 16, 1), FTMB_E_RANGE);
}

static void test_host_rejects_zero_seq(void **state)
{
	expect_rejected(*state, pal(2, 1, 0), FTMB_E_SEQ);
}

static void test_host_rejects_dirty_fields(void **state)
{
	struct ftmb_record bad = pal(2, 1, 1);

	bad.reserved = 1;
	expect_rejected(*state, bad, FTMB_E_FIELD);
}

static void test_host_rejects_value_with_var(void **state)
{
	expect_rejected(*state, (struct ftmb_record){ .type = FTMB_REC_RANDOM, .counter = 2, .var = 1 },
			FTMB_E_FIELD);
}

static struct ftmb_record skip_rec(uint32_t queue, uint64_t seq, uint64_t n)
{
	return (struct ftmb_record){ .type = FTMB_REC_SKIP, .counter = 2, .var = queue, .seq = seq,
				     .value = n };
}

static void test_host_reads_a_skip(void **state)
{
	struct fixture *fx = *state;
	struct ftmb_record out[SLOTS];

	guest_put(fx, pal(1, 0, 1));
	guest_put(fx, skip_rec(0, 3, 2));
	assert_int_equal(host_region_read_pal(&fx->hr, 0, out, SLOTS), 2);
	assert_int_equal(out[1].type, FTMB_REC_SKIP);
	assert_int_equal(out[1].seq, 3);
	assert_int_equal(out[1].value, 2);
}

static void test_host_rejects_skip_of_no_queue(void **state)
{
	expect_rejected(*state, skip_rec(FTMB_MAX_THREADS, 1, 1), FTMB_E_RANGE);
}

static void test_host_rejects_empty_skip(void **state)
{
	expect_rejected(*state, skip_rec(0, 1, 0), FTMB_E_SEQ);
}

static void test_host_rejects_skip_from_zero(void **state)
{
	expect_rejected(*state, skip_rec(0, 0, 1), FTMB_E_SEQ);
}

static void test_host_rejects_overflowing_skip(void **state)
{
	expect_rejected(*state, skip_rec(0, 5, UINT64_MAX - 2), FTMB_E_SEQ);
}

static void test_ready_words(void **state)
{
	struct fixture *fx = *state;
	struct ftmb_cut before = *ftmb_region_cut(fx->hr.base);

	assert_false(host_region_queue_ready(&fx->hr, 0));
	assert_false(host_region_queue_ready(&fx->hr, 1));
	ftmb_region_ready(fx->hr.base)[1] = 1;
	assert_false(host_region_queue_ready(&fx->hr, 0));
	assert_true(host_region_queue_ready(&fx->hr, 1));
	/* a word beyond the instance's queues means nothing */
	ftmb_region_ready(fx->hr.base)[2] = 1;
	assert_false(host_region_queue_ready(&fx->hr, 2));
	assert_memory_equal(ftmb_region_cut(fx->hr.base), &before, sizeof(before));
}

static void test_host_ignores_scribbled_header(void **state)
{
	struct fixture *fx = *state;
	struct ftmb_record out[SLOTS];

	guest_put(fx, pal(1, 0, 1));
	memset(fx->hr.base, 0xff, sizeof(struct ftmb_region_header));
	assert_int_equal(host_region_read_pal(&fx->hr, 0, out, SLOTS), 1);
	/* the guest pushes its head far ahead: an index error, not a wild read */
	ftmb_region_pal_ring(fx->hr.base, &fx->hr.geo, 0)->head = UINT64_MAX;
	assert_int_equal(host_region_read_pal(&fx->hr, 0, out, SLOTS), FTMB_E_INDEX);
}

static void test_replay_ring_and_horizons(void **state)
{
	struct fixture *fx = *state;
	struct ftmb_record recs[SLOTS + 2], got[SLOTS];
	uint64_t horizons[20], tail = 0;
	struct ftmb_ring *r = ftmb_region_replay_ring(fx->hr.base, &fx->hr.geo, 1);

	for (uint32_t i = 0; i < SLOTS + 2; i++)
		recs[i] = pal(i + 1, 2, i + 1);
	assert_int_equal(host_region_push_replay(&fx->hr, 1, recs, SLOTS + 2), SLOTS);
	assert_int_equal(ftmb_ring_consume(r, SLOTS, &tail, got, SLOTS), SLOTS);
	assert_int_equal(host_region_push_replay(&fx->hr, 1, recs + SLOTS, 2), 2);
	assert_int_equal(r->closed, 0);
	host_region_close_replay(&fx->hr, 1);
	assert_int_equal(r->closed, 1);
	assert_int_equal(host_region_push_replay(&fx->hr, 5, recs, 1), FTMB_E_RANGE);

	for (int i = 0; i < 20; i++)
		horizons[i] = 100 + (uint64_t)i;
	host_region_set_horizons(&fx->hr, horizons, 20); /* clipped to n_vars */
	uint64_t *h = ftmb_region_horizons(fx->hr.base, &fx->hr.geo);

	assert_int_equal(h[15], 115);
	assert_true((char *)&h[15] < (char *)fx->hr.base + fx->hr.geo.region_size);
}

static void test_resume_after_cut(void **state)
{
	struct fixture *fx = *state;
	struct ftmb_record out[SLOTS];

	/* records before the cut are already with the backup */
	guest_put(fx, pal(1, 0, 1));
	guest_put(fx, pal(2, 0, 2));
	host_region_resume_pal(&fx->hr, 0, 2);
	guest_put(fx, pal(3, 0, 3));
	assert_int_equal(host_region_read_pal(&fx->hr, 0, out, SLOTS), 1);
	assert_int_equal(out[0].counter, 3);
}

/* A replica's first replay: n records pushed to thread 1, the guest reads
 * `read` of them (with its private cursor *tail), the host closes the ring. */
static struct ftmb_ring *first_replay(struct fixture *fx, uint32_t n, uint32_t read,
				      uint64_t *tail)
{
	struct ftmb_ring *r = ftmb_region_replay_ring(fx->hr.base, &fx->hr.geo, 1);
	struct ftmb_record recs[SLOTS], got[SLOTS];

	for (uint32_t i = 0; i < n; i++)
		recs[i] = pal(i + 1, 2, i + 1);
	assert_int_equal(host_region_push_replay(&fx->hr, 1, recs, n), (int)n);
	assert_int_equal(ftmb_ring_consume(r, SLOTS, tail, got, read), (int)read);
	assert_int_equal(host_region_replay_drained(&fx->hr, 1), read == n);
	host_region_close_replay(&fx->hr, 1);
	return r;
}

/* A checkpoint of that replica restored for a second replay: a new host
 * attaches to the region and takes the rings over. */
static void test_resume_replay_after_a_replay(void **state)
{
	struct fixture *fx = *state;
	uint64_t tail = 0, head, seen;
	struct ftmb_ring *r = first_replay(fx, 5, 5, &tail);
	struct ftmb_record recs[SLOTS], got[SLOTS];
	struct host_region again;

	host_region_attach(&again, fx->hr.base, &fx->hr.geo);
	assert_int_equal(host_region_resume_replay(&again, 0, &head, &seen), FTMB_OK);
	assert_int_equal(head, 0); /* never replayed: stays as it was */
	assert_int_equal(host_region_resume_replay(&again, 1, &head, &seen), FTMB_OK);
	assert_int_equal(head, 5);
	assert_int_equal(r->closed, 0); /* reopened before the guest runs */
	/* the new log goes after the old records, and the ring still wraps */
	for (uint32_t i = 0; i < SLOTS; i++)
		recs[i] = pal(100 + i, 3, 50 + i);
	assert_int_equal(host_region_push_replay(&again, 1, recs, SLOTS), SLOTS);
	assert_int_equal(r->head, 5 + SLOTS);
	assert_int_equal(ftmb_ring_consume(r, SLOTS, &tail, got, SLOTS), SLOTS);
	assert_memory_equal(got, recs, sizeof(recs));
	assert_true(host_region_replay_drained(&again, 1));
	assert_int_equal(host_region_resume_replay(&again, 2, &head, &seen), FTMB_E_RANGE);
}

static void test_resume_replay_refuses_unread_records(void **state)
{
	struct fixture *fx = *state;
	uint64_t tail = 0, head, seen;
	struct ftmb_ring *r = first_replay(fx, 5, 3, &tail);
	struct host_region again;

	host_region_attach(&again, fx->hr.base, &fx->hr.geo);
	assert_int_equal(host_region_resume_replay(&again, 1, &head, &seen), FTMB_E_INDEX);
	assert_int_equal(head, 5);
	assert_int_equal(seen, 3);
	assert_int_equal(r->closed, 1); /* left as it was */
	r->head = r->tail = 1ull << 62; /* equal, but no replay gets there */
	assert_int_equal(host_region_resume_replay(&again, 1, &head, &seen), FTMB_E_RANGE);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_bounds),
		T(test_header_check),
		T(test_ring_wraps_and_fills),
		T(test_ring_rejects_impossible_cursors),
		T(test_host_reads_valid_pals),
		T(test_host_rejects_bad_type),
		T(test_host_rejects_counter_gap),
		T(test_host_rejects_replayed_counter),
		T(test_host_rejects_var_out_of_range),
		T(test_host_rejects_zero_seq),
		T(test_host_rejects_dirty_fields),
		T(test_host_rejects_value_with_var),
		T(test_host_reads_a_skip),
		T(test_host_rejects_skip_of_no_queue),
		T(test_host_rejects_empty_skip),
		T(test_host_rejects_skip_from_zero),
		T(test_host_rejects_overflowing_skip),
		T(test_ready_words),
		T(test_host_ignores_scribbled_header),
		T(test_replay_ring_and_horizons),
		T(test_resume_after_cut),
		T(test_resume_replay_after_a_replay),
		T(test_resume_replay_refuses_unread_records),
	};

	return cmocka_run_group_tests_name("region", tests, NULL, NULL);
}
