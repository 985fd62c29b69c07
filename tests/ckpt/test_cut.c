// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The region's cut slot (ftmb/region.h): what ftmb-vhost writes at a pause
 * reads back whole, every forged or damaged slot a guest could leave is
 * refused, a PAL ring head the guest corrupted is caught when the cut is
 * counted, and a replica attaches to a restored region only when it is
 * exactly the region its configuration describes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ftmb/err.h"
#include "ftmb/ring.h"
#include "host_region.h"

#define THREADS 2u
#define SLOTS 64u
#define VARS 16u

static char path[64];
static struct host_region hr;

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "/dev/shm/ftmb-test-cut-%d", getpid());
	return host_region_create(&hr, path, THREADS, SLOTS, VARS, FTMB_MODE_RECORD, 77);
}

static int teardown(void **state)
{
	(void)state;
	host_region_destroy(&hr);
	unlink(path);
	return 0;
}

static struct ftmb_cut a_cut(void)
{
	struct ftmb_cut c = { .magic = FTMB_CUT_MAGIC, .n = THREADS, .generation = 77, .epoch = 3 };

	c.in[0] = 10, c.in[1] = 11, c.pal[0] = 20, c.pal[1] = 21;
	return c;
}

/* The slot as a guest could leave it, read back by a backup. */
static int read_slot(const struct ftmb_cut *slot, struct ftmb_cut *out)
{
	memcpy(ftmb_region_cut(hr.base), slot, sizeof(*slot));
	return host_region_read_cut(hr.base, hr.geo.region_size, out);
}

static void write_then_read(void **state)
{
	struct ftmb_cut c = a_cut(), got;

	(void)state;
	host_region_write_cut(&hr, &c);
	assert_int_equal(host_region_read_cut(hr.base, hr.geo.region_size, &got), FTMB_OK);
	assert_memory_equal(&got, &c, sizeof(c));
	/* The slot lies in the header page, clear of the header and the rings. */
	assert_true(FTMB_REGION_CUT_OFF >= sizeof(struct ftmb_region_header));
	assert_true(FTMB_REGION_CUT_OFF + sizeof(c) <= hr.geo.pal_rings_off);
}

static void fresh_region_has_no_cut(void **state)
{
	struct ftmb_cut got;

	(void)state;
	assert_int_equal(host_region_read_cut(hr.base, hr.geo.region_size, &got), FTMB_OK);
	assert_int_equal(got.epoch, 0);
	assert_int_equal(got.magic, 0);
}

static void forged_slots_are_refused(void **state)
{
	struct ftmb_cut c, got;

	(void)state;
	c = a_cut(), c.magic ^= 1;
	assert_int_equal(read_slot(&c, &got), FTMB_E_MAGIC);
	c = a_cut(), c.reserved = 1;
	assert_int_equal(read_slot(&c, &got), FTMB_E_FIELD);
	c = a_cut(), c.n = 0;
	assert_int_equal(read_slot(&c, &got), FTMB_E_COUNT);
	c = a_cut(), c.n = FTMB_MAX_THREADS + 1;
	assert_int_equal(read_slot(&c, &got), FTMB_E_COUNT);
	c = a_cut(), c.epoch = 0;
	assert_int_equal(read_slot(&c, &got), FTMB_E_SEQ);
	c = a_cut(), c.in[THREADS] = 1; /* beyond n */
	assert_int_equal(read_slot(&c, &got), FTMB_E_FIELD);
	c = a_cut(), c.pal[1] = 1ull << 62;
	assert_int_equal(read_slot(&c, &got), FTMB_E_RANGE);
	c = a_cut(), c.in[0] = UINT64_MAX;
	assert_int_equal(read_slot(&c, &got), FTMB_E_RANGE);
	/* Negative control: the same slot unharmed passes. */
	c = a_cut();
	assert_int_equal(read_slot(&c, &got), FTMB_OK);
	/* A page too short to hold the slot. */
	assert_int_equal(host_region_read_cut(hr.base, FTMB_REGION_CUT_OFF + sizeof(c) - 1, &got),
			 FTMB_E_TRUNCATED);
}

/* What the guest published but the host has not read yet belongs to the
 * cut; a head further than a ring's worth ahead is corruption. */
static void published_counts_unread_records(void **state)
{
	struct ftmb_ring *ring = ftmb_region_pal_ring(hr.base, &hr.geo, 1);
	uint64_t head = 0, counter;
	struct ftmb_record rec[5];

	(void)state;
	for (uint64_t i = 0; i < 5; i++)
		rec[i] = (struct ftmb_record){ .type = FTMB_REC_PAL, .counter = i + 1, .var = 1,
					       .seq = i + 1 };
	assert_int_equal(ftmb_ring_produce(ring, SLOTS, &head, rec, 5), 5);
	assert_int_equal(host_region_read_pal(&hr, 1, rec, 2), 2);
	assert_int_equal(host_region_pal_published(&hr, 1, &counter), FTMB_OK);
	assert_int_equal(counter, 5); /* 2 read + 3 unread */
	assert_int_equal(host_region_pal_published(&hr, 0, &counter), FTMB_OK);
	assert_int_equal(counter, 0);
	__atomic_store_n(&ring->head, 2 + SLOTS + 1, __ATOMIC_RELEASE);
	assert_int_equal(host_region_pal_published(&hr, 1, &counter), FTMB_E_RANGE);
	assert_int_equal(host_region_pal_published(&hr, THREADS, &counter), FTMB_E_RANGE);
}

/* A replica attaches to the region its checkpoint restored, unformatted. */
static void open_attaches_without_formatting(void **state)
{
	struct ftmb_cut c = a_cut(), got;
	struct host_region other;

	(void)state;
	host_region_write_cut(&hr, &c);
	assert_int_equal(host_region_open(&other, path, THREADS, SLOTS, VARS), 0);
	assert_int_equal(host_region_read_cut(other.base, other.geo.region_size, &got), FTMB_OK);
	assert_memory_equal(&got, &c, sizeof(c)); /* not formatted */
	host_region_destroy(&other);
	/* Another geometry than the file's: a size or a header that does not match. */
	assert_int_equal(host_region_open(&other, path, THREADS, SLOTS * 4, VARS), FTMB_E_LENGTH);
	assert_int_equal(host_region_open(&other, path, THREADS, SLOTS, VARS + 1), FTMB_E_LAYOUT);
	assert_true(host_region_open(&other, "/dev/shm/ftmb-test-cut-none", THREADS, SLOTS, VARS) <
		    0);
	((struct ftmb_region_header *)hr.base)->magic ^= 1;
	assert_int_equal(host_region_open(&other, path, THREADS, SLOTS, VARS), FTMB_E_MAGIC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(write_then_read, setup, teardown),
		cmocka_unit_test_setup_teardown(fresh_region_has_no_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(forged_slots_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(published_counts_unread_records, setup, teardown),
		cmocka_unit_test_setup_teardown(open_attaches_without_formatting, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
