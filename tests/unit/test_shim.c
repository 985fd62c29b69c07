// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libftmb end to end without packets: threads share a counter under
 * ftmb_lock; the host drains their PAL rings. Replaying the log must make
 * every thread observe exactly what it observed when recording, whatever the
 * timing; replaying without the order (the negative control) must not.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ftmb/ftmb.h"
#include "ftmb/tag.h"
#include "host_region.h"

#define THREADS 4
#define ITERS 300
#define EXTRA 50 /* accesses after the log runs out, in replay */
#define SLOTS 64 /* small, so that rings fill and wrap */
#define MAX_EVENTS (3 * (ITERS + EXTRA))

struct run {
	char path[64];
	struct host_region hr;
	struct ftmb *f;
	enum ftmb_mode mode;
	uint64_t shared; /* guarded by var 0 */
	/* what each thread saw, in its order */
	uint64_t seen[THREADS][ITERS + EXTRA];
	uint64_t times[THREADS][ITERS + EXTRA];
	uint64_t randoms[THREADS][ITERS + EXTRA];
	/* what the host read from each PAL ring */
	struct ftmb_record log[THREADS][MAX_EVENTS];
	uint32_t log_len[THREADS];
	struct ftmb_thread *th[THREADS]; /* registered once, kept across runs */
	struct ftmb_thread_stats stats[THREADS];
	int iters;
	int start_delay_us[THREADS];
	int done;
	pthread_mutex_t lock;
};

struct worker {
	struct run *run;
	uint32_t idx;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	struct ftmb_thread *th;
	struct ftmb_var *v = ftmb_var(r->f, 0);

	usleep((useconds_t)r->start_delay_us[w->idx]);
	if (!r->th[w->idx] && ftmb_thread_register(r->f, w->idx, &r->th[w->idx]) != 0)
		return (void *)1;
	th = r->th[w->idx];
	for (int i = 0; i < r->iters; i++) {
		ftmb_lock(th, v);
		r->seen[w->idx][i] = r->shared++;
		ftmb_unlock(th, v);
		r->times[w->idx][i] = ftmb_time_ns(th);
		r->randoms[w->idx][i] = ftmb_random(th);
	}
	ftmb_thread_stats(th, &r->stats[w->idx]);
	return NULL;
}

/* The host: drain PAL rings until every worker is done and the rings are
 * empty, checking every record on the way. */
static void *host_main(void *arg)
{
	struct run *r = arg;
	struct ftmb_record batch[SLOTS];

	for (;;) {
		int done = __atomic_load_n(&r->done, __ATOMIC_ACQUIRE), got = 0;

		for (uint32_t t = 0; t < THREADS; t++) {
			int n = host_region_read_pal(&r->hr, t, batch, SLOTS);

			if (n < 0)
				return (void *)1;
			for (int i = 0; i < n && r->log_len[t] < MAX_EVENTS; i++)
				r->log[t][r->log_len[t]++] = batch[i];
			got += n;
		}
		if (done && !got)
			return NULL;
		if (!got)
			usleep(50);
	}
}

static void run_workers(struct run *r)
{
	pthread_t tid[THREADS], host;
	struct worker w[THREADS];
	void *ret;

	assert_int_equal(pthread_create(&host, NULL, host_main, r), 0);
	for (uint32_t t = 0; t < THREADS; t++) {
		w[t] = (struct worker){ .run = r, .idx = t };
		assert_int_equal(pthread_create(&tid[t], NULL, worker_main, &w[t]), 0);
	}
	for (uint32_t t = 0; t < THREADS; t++) {
		assert_int_equal(pthread_join(tid[t], &ret), 0);
		assert_null(ret);
	}
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(host, &ret), 0);
	assert_null(ret);
}

static struct run *new_run(enum ftmb_mode mode, int iters)
{
	struct run *r = calloc(1, sizeof(*r));
	static int serial;

	assert_non_null(r);
	snprintf(r->path, sizeof(r->path), "/tmp/ftmb-test-shim-%d-%d", getpid(), serial++);
	assert_int_equal(host_region_create(&r->hr, r->path, THREADS, SLOTS, 8, mode, 1), 0);
	assert_int_equal(ftmb_attach(r->path, &r->f), 0);
	r->mode = mode;
	r->iters = iters;
	return r;
}

static void free_run(struct run *r)
{
	ftmb_detach(r->f);
	host_region_destroy(&r->hr);
	unlink(r->path);
	free(r);
}

/* Feeds a recorded log into a replica's replay rings as they drain, then
 * closes them; runs beside the replica's workers. */
struct feeder {
	struct run *replica;
	const struct run *recorded;
};

static void *feeder_main(void *arg)
{
	struct feeder *fd = arg;
	uint32_t pos[THREADS] = { 0 }, open = THREADS;

	while (open) {
		open = 0;
		for (uint32_t t = 0; t < THREADS; t++) {
			uint32_t left = fd->recorded->log_len[t] - pos[t];

			if (pos[t] == UINT32_MAX)
				continue;
			if (left == 0) {
				host_region_close_replay(&fd->replica->hr, t);
				pos[t] = UINT32_MAX;
				continue;
			}
			open++;
			int n = host_region_push_replay(&fd->replica->hr, t,
							&fd->recorded->log[t][pos[t]], left);
			if (n < 0)
				return (void *)1;
			pos[t] += (uint32_t)n;
		}
		usleep(20);
	}
	return NULL;
}

/* Each variable's last logged access: where free threads may go on. */
static void set_horizons(struct run *r, const struct run *rec)
{
	uint64_t horizon[8] = { 0 };

	for (uint32_t t = 0; t < THREADS; t++)
		for (uint32_t i = 0; i < rec->log_len[t]; i++)
			if (rec->log[t][i].type == FTMB_REC_PAL &&
			    rec->log[t][i].seq > horizon[rec->log[t][i].var])
				horizon[rec->log[t][i].var] = rec->log[t][i].seq;
	host_region_set_horizons(&r->hr, horizon, 8);
}

/* Runs r's workers while a feeder pushes rec's log into its replay rings. */
static void run_fed(struct run *r, const struct run *rec)
{
	struct feeder fd = { .replica = r, .recorded = rec };
	pthread_t feeder;
	void *ret;

	assert_int_equal(pthread_create(&feeder, NULL, feeder_main, &fd), 0);
	run_workers(r);
	assert_int_equal(pthread_join(feeder, &ret), 0);
	assert_null(ret);
}

static struct run *replay_of(const struct run *rec, enum ftmb_mode mode)
{
	struct run *r = new_run(mode, ITERS + EXTRA);

	set_horizons(r, rec);
	/* the reverse of the order they started in when recording */
	for (uint32_t t = 0; t < THREADS; t++)
		r->start_delay_us[t] = (int)(THREADS - t) * 20000;
	if (mode == FTMB_MODE_REPLAY_UNORDERED) /* the log is ignored: nothing to feed */
		run_workers(r);
	else
		run_fed(r, rec);
	return r;
}

static struct run *record(void)
{
	struct run *r = new_run(FTMB_MODE_RECORD, ITERS);

	for (uint32_t t = 0; t < THREADS; t++)
		r->start_delay_us[t] = (int)t * 300;
	run_workers(r);
	return r;
}

static void test_record_logs_every_access_once(void **state)
{
	static const uint16_t order[3] = { FTMB_REC_PAL, FTMB_REC_TIME, FTMB_REC_RANDOM };
	struct run *r = record();
	uint8_t seen_seq[THREADS * ITERS + 1] = { 0 };

	(void)state;
	for (uint32_t t = 0; t < THREADS; t++) {
		assert_int_equal(r->log_len[t], 3 * ITERS);
		for (uint32_t i = 0; i < r->log_len[t]; i++) {
			const struct ftmb_record *rec = &r->log[t][i];

			assert_int_equal(rec->counter, i + 1);
			assert_int_equal(rec->type, order[i % 3]);
			if (rec->type == FTMB_REC_PAL) {
				/* the s-th access saw the counter at s - 1 */
				assert_int_equal(r->seen[t][i / 3], rec->seq - 1);
				seen_seq[rec->seq]++;
			} else if (rec->type == FTMB_REC_TIME) {
				assert_int_equal(rec->value, r->times[t][i / 3]);
			} else {
				assert_int_equal(rec->value, r->randoms[t][i / 3]);
			}
		}
	}
	for (uint32_t s = 1; s <= THREADS * ITERS; s++)
		assert_int_equal(seen_seq[s], 1);
	free_run(r);
}

static void test_replay_reproduces_every_value(void **state)
{
	struct run *rec = record();
	struct run *rep = replay_of(rec, FTMB_MODE_REPLAY);

	(void)state;
	for (uint32_t t = 0; t < THREADS; t++) {
		const struct ftmb_thread_stats *st = &rep->stats[t];

		assert_memory_equal(rep->seen[t], rec->seen[t], sizeof(rec->seen[t][0]) * ITERS);
		assert_memory_equal(rep->times[t], rec->times[t], sizeof(rec->times[t][0]) * ITERS);
		assert_memory_equal(rep->randoms[t], rec->randoms[t],
				    sizeof(rec->randoms[t][0]) * ITERS);
		/* the replica logs the same records again, then continues */
		assert_int_equal(rep->log_len[t], 3 * (ITERS + EXTRA));
		assert_memory_equal(rep->log[t], rec->log[t], sizeof(rec->log[t][0]) * 3 * ITERS);
		assert_int_equal(st->replayed, 3 * ITERS);
		assert_int_equal(st->events, 3 * (ITERS + EXTRA));
		assert_true(st->free);
	}
	/* free accesses came after every logged one */
	for (uint32_t t = 0; t < THREADS; t++)
		for (int i = ITERS; i < ITERS + EXTRA; i++)
			assert_true(rep->seen[t][i] >= THREADS * ITERS);
	free_run(rep);
	free_run(rec);
}

static void test_unordered_replay_diverges(void **state)
{
	struct run *rec = record();
	struct run *rep = replay_of(rec, FTMB_MODE_REPLAY_UNORDERED);
	int differing = 0;

	(void)state;
	for (uint32_t t = 0; t < THREADS; t++)
		differing += memcmp(rep->seen[t], rec->seen[t], sizeof(rec->seen[t][0]) * ITERS) != 0;
	assert_true(differing > 0);
	free_run(rep);
	free_run(rec);
}

/*
 * A log that a replica, once live, could have written after a cut where
 * each thread had logged `counter` events and the shared variable had seen
 * `seq` accesses: ITERS2 rounds in which the threads take the lock in the
 * reverse of their index, each followed by a clock read and a random draw
 * whose values only the log knows.
 */
#define ITERS2 (ITERS / 3)

static struct run *log_after_cut(uint64_t counter, uint64_t seq)
{
	struct run *l = calloc(1, sizeof(*l));

	assert_non_null(l);
	for (uint32_t i = 0; i < ITERS2; i++)
		for (uint32_t t = THREADS; t-- > 0;) {
			struct ftmb_record *rec = &l->log[t][l->log_len[t]];
			uint64_t k = counter + l->log_len[t];

			rec[0] = (struct ftmb_record){ .type = FTMB_REC_PAL, .counter = k + 1,
						       .seq = ++seq };
			rec[1] = (struct ftmb_record){ .type = FTMB_REC_TIME, .counter = k + 2,
						       .value = 1000000u * t + i };
			rec[2] = (struct ftmb_record){ .type = FTMB_REC_RANDOM, .counter = k + 3,
						       .value = 0xf7b0000000ull + 1000u * t + i };
			l->log_len[t] += 3;
		}
	return l;
}

/*
 * Failover twice. Replica B replays A's log, its threads run free past it,
 * it becomes a primary (its host sets mode record) and is checkpointed
 * there. Replica C restores that checkpoint, which still says every thread
 * is free, and replays B's log: its host takes the replay rings over where
 * B left them and reopens them, and every thread must follow its ring
 * again, in the logged order (the log's order is the reverse of the one the
 * threads start in) and with the logged values.
 */
static void test_second_replay_after_running_free(void **state)
{
	struct run *rec = record();
	struct run *r = replay_of(rec, FTMB_MODE_REPLAY);
	const uint64_t counter = 3 * (ITERS + EXTRA), seq = THREADS * (ITERS + EXTRA);
	struct run *l = log_after_cut(counter, seq);
	struct ftmb_region_geometry geo = r->hr.geo;

	(void)state;
	for (uint32_t t = 0; t < THREADS; t++)
		assert_true(r->stats[t].free);
	host_region_set_mode(&r->hr, FTMB_MODE_RECORD);
	/* C's ftmb-vhost attaches to the restored region, before the guest runs */
	host_region_attach(&r->hr, r->hr.base, &geo);
	for (uint32_t t = 0; t < THREADS; t++) {
		uint64_t head, tail;

		assert_int_equal(host_region_resume_replay(&r->hr, t, &head, &tail), FTMB_OK);
		assert_int_equal(head, 3 * ITERS);
		host_region_resume_pal(&r->hr, t, counter);
		r->log_len[t] = 0;
		r->start_delay_us[t] = (int)t * 300;
	}
	set_horizons(r, l);
	host_region_set_mode(&r->hr, FTMB_MODE_REPLAY);
	r->iters = ITERS2 + EXTRA;
	r->done = 0;
	run_fed(r, l);
	for (uint32_t t = 0; t < THREADS; t++) {
		const struct ftmb_thread_stats *st = &r->stats[t];

		for (uint32_t i = 0; i < ITERS2; i++) {
			assert_int_equal(r->seen[t][i], l->log[t][3 * i].seq - 1);
			assert_int_equal(r->times[t][i], l->log[t][3 * i + 1].value);
			assert_int_equal(r->randoms[t][i], l->log[t][3 * i + 2].value);
		}
		for (uint32_t i = ITERS2; i < ITERS2 + EXTRA; i++)
			assert_true(r->seen[t][i] >= seq + THREADS * ITERS2);
		assert_int_equal(r->log_len[t], 3 * (ITERS2 + EXTRA));
		assert_memory_equal(r->log[t], l->log[t], sizeof(l->log[t][0]) * 3 * ITERS2);
		assert_int_equal(st->replayed, 3 * (ITERS + ITERS2));
		assert_int_equal(st->events, counter + 3 * (ITERS2 + EXTRA));
		assert_true(st->free);
	}
	free(l);
	free_run(r);
	free_run(rec);
}

static struct ftmb_thread *single_thread(struct run *r)
{
	struct ftmb_thread *th;

	assert_int_equal(ftmb_thread_register(r->f, 1, &th), 0);
	assert_int_equal(ftmb_thread_register(r->f, 1, &th), -EBUSY);
	assert_int_equal(ftmb_thread_register(r->f, THREADS, &th), FTMB_E_RANGE);
	return th;
}

static void test_tags_carry_inputs_and_accesses(void **state)
{
	struct run *r = new_run(FTMB_MODE_RECORD, 0);
	struct ftmb_thread *th = single_thread(r);
	uint8_t frame[64 + FTMB_OUT_TAG_MAX] = { 0 };
	struct ftmb_out_tag tag;
	int len;

	(void)state;
	ftmb_in_tag_write(frame + 60, 2, 41);
	assert_int_equal(ftmb_rx(th, frame, 76), 60);
	ftmb_in_tag_write(frame + 60, 2, 40); /* an older input changes nothing */
	assert_int_equal(ftmb_rx(th, frame, 76), 60);
	ftmb_lock(th, ftmb_var(r->f, 3));
	ftmb_unlock(th, ftmb_var(r->f, 3));
	len = ftmb_tx(th, frame, 60, sizeof(frame));
	assert_true(len > 60);
	assert_int_equal(ftmb_out_tag_parse(frame, (size_t)len, THREADS, &tag), FTMB_OK);
	assert_int_equal(tag.thread, 1);
	assert_int_equal(tag.out_seq, 1);
	assert_int_equal(tag.dep.in[2], 41);
	assert_int_equal(tag.dep.pal[1], 1);
	assert_int_equal(tag.dep.pal[0], 0);
	assert_int_equal(ftmb_tx(th, frame, 60, 70), FTMB_E_NOSPACE);
	assert_int_equal(ftmb_tx(th, frame, 60, sizeof(frame)) > 0, 1);
	assert_int_equal(ftmb_out_tag_parse(frame, (size_t)len, THREADS, &tag), FTMB_OK);
	assert_int_equal(tag.out_seq, 2);
	/* untagged or mis-tagged input is refused */
	memset(frame, 0, sizeof(frame));
	assert_int_equal(ftmb_rx(th, frame, 76), FTMB_E_MAGIC);
	ftmb_in_tag_write(frame + 60, THREADS, 1);
	assert_int_equal(ftmb_rx(th, frame, 76), FTMB_E_RANGE);
	assert_null(ftmb_var(r->f, 8));
	free_run(r);
}

static void test_vectors_flow_through_variables(void **state)
{
	struct run *r = new_run(FTMB_MODE_RECORD, 0);
	struct ftmb_thread *a, *b;
	struct ftmb_var *v = ftmb_var(r->f, 0);
	uint8_t frame[64 + FTMB_OUT_TAG_MAX] = { 0 };
	struct ftmb_out_tag tag;

	(void)state;
	assert_int_equal(ftmb_thread_register(r->f, 0, &a), 0);
	assert_int_equal(ftmb_thread_register(r->f, 3, &b), 0);
	ftmb_in_tag_write(frame + 60, 0, 7);
	assert_int_equal(ftmb_rx(a, frame, 76), 60);
	(void)ftmb_time_ns(a);
	ftmb_lock(a, v);
	ftmb_unlock(a, v);
	ftmb_lock(b, v); /* b now depends on a's events 1..2 and its input 7 */
	ftmb_unlock(b, v);
	int len = ftmb_tx(b, frame, 60, sizeof(frame));

	assert_int_equal(ftmb_out_tag_parse(frame, (size_t)len, THREADS, &tag), FTMB_OK);
	assert_int_equal(tag.dep.pal[0], 3); /* a SKIP of inputs 1..6, a clock read, a lock */
	assert_int_equal(tag.dep.in[0], 7);
	assert_int_equal(tag.dep.pal[3], 1);
	free_run(r);
}

/* Thread 1 receives input seq of queue q. */
static int rx_input(struct ftmb_thread *th, uint16_t q, uint64_t seq)
{
	uint8_t frame[76] = { 0 };

	ftmb_in_tag_write(frame + 60, q, seq);
	return ftmb_rx(th, frame, sizeof(frame));
}

static uint32_t read_log(struct run *r, uint32_t t, struct ftmb_record *out, uint32_t max)
{
	int n = host_region_read_pal(&r->hr, t, out, max);

	assert_true(n >= 0);
	return (uint32_t)n;
}

static void test_register_says_ready(void **state)
{
	struct run *r = new_run(FTMB_MODE_RECORD, 0);

	(void)state;
	assert_false(host_region_queue_ready(&r->hr, 1));
	single_thread(r);
	assert_true(host_region_queue_ready(&r->hr, 1));
	assert_false(host_region_queue_ready(&r->hr, 0));
	free_run(r);
}

static void test_gap_in_inputs_logs_a_skip(void **state)
{
	struct run *r = new_run(FTMB_MODE_RECORD, 0);
	struct ftmb_thread *th = single_thread(r);
	struct ftmb_thread_stats st;
	struct ftmb_record log[8];

	(void)state;
	assert_int_equal(rx_input(th, 1, 1), 60);
	assert_int_equal(rx_input(th, 1, 2), 60);
	assert_int_equal(read_log(r, 1, log, 8), 0);
	assert_int_equal(rx_input(th, 1, 5), 60); /* 3 and 4 were lost */
	assert_int_equal(rx_input(th, 1, 6), 60);
	assert_int_equal(rx_input(th, 2, 9), 60); /* another queue's numbers are not ours */
	assert_int_equal(read_log(r, 1, log, 8), 1);
	assert_int_equal(log[0].type, FTMB_REC_SKIP);
	assert_int_equal(log[0].counter, 1);
	assert_int_equal(log[0].var, 1);
	assert_int_equal(log[0].seq, 3);
	assert_int_equal(log[0].value, 2);
	ftmb_thread_stats(th, &st);
	assert_int_equal(st.skipped, 2);
	assert_int_equal(st.events, 1);
	free_run(r);
}

/* The primary's thread 1 saw inputs 1, 2, 5, 6 (3 and 4 lost inside the
 * guest) and took the lock once per input it saw. */
static uint32_t record_with_a_gap(struct ftmb_record *log, uint32_t max)
{
	struct run *r = new_run(FTMB_MODE_RECORD, 0);
	struct ftmb_thread *th = single_thread(r);
	static const uint64_t seen[] = { 1, 2, 5, 6 };
	uint32_t n;

	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(rx_input(th, 1, seen[i]), 60);
		ftmb_lock(th, ftmb_var(r->f, 0));
		ftmb_unlock(th, ftmb_var(r->f, 0));
	}
	n = read_log(r, 1, log, max);
	free_run(r);
	return n;
}

static struct run *replica_of(const struct ftmb_record *log, uint32_t n)
{
	struct run *r = new_run(FTMB_MODE_REPLAY, 0);
	uint64_t horizon[8] = { [0] = 4 };

	host_region_set_horizons(&r->hr, horizon, 8);
	assert_int_equal(host_region_push_replay(&r->hr, 1, log, n), (int)n);
	host_region_close_replay(&r->hr, 1);
	return r;
}

static void test_replay_drops_what_the_primary_skipped(void **state)
{
	struct ftmb_record log[16], again[16];
	uint32_t n = record_with_a_gap(log, 16);
	struct run *r = replica_of(log, n);
	struct ftmb_thread *th = single_thread(r);
	struct ftmb_thread_stats st;

	(void)state;
	assert_int_equal(n, 5); /* PAL, PAL, SKIP, PAL, PAL */
	assert_int_equal(log[2].type, FTMB_REC_SKIP);
	/* the replica is fed every logged input, 1 to 6 */
	for (uint64_t seq = 1; seq <= 6; seq++) {
		int len = rx_input(th, 1, seq);

		if (seq == 3 || seq == 4) {
			assert_int_equal(len, FTMB_E_SKIPPED);
			continue;
		}
		assert_int_equal(len, 60);
		ftmb_lock(th, ftmb_var(r->f, 0));
		ftmb_unlock(th, ftmb_var(r->f, 0));
	}
	ftmb_thread_stats(th, &st);
	assert_int_equal(st.replayed, 5);
	assert_int_equal(st.skipped, 2);
	/* it logs what the primary logged: the same SKIP in the same place */
	assert_int_equal(read_log(r, 1, again, 16), 5);
	assert_memory_equal(again, log, sizeof(log[0]) * 5);
	free_run(r);
}

static void test_replay_with_another_gap_diverges(void **state)
{
	struct ftmb_record log[16], again[16];
	uint32_t n = record_with_a_gap(log, 16);
	struct run *r = replica_of(log, n);
	struct ftmb_thread *th = single_thread(r);
	struct ftmb_thread_stats st;

	(void)state;
	assert_int_equal(rx_input(th, 1, 1), 60);
	ftmb_lock(th, ftmb_var(r->f, 0));
	ftmb_unlock(th, ftmb_var(r->f, 0));
	assert_int_equal(rx_input(th, 1, 2), 60);
	ftmb_lock(th, ftmb_var(r->f, 0));
	ftmb_unlock(th, ftmb_var(r->f, 0));
	/* the replica itself lost 3 to 5: not the logged gap */
	assert_int_equal(rx_input(th, 1, 6), 60);
	ftmb_thread_stats(th, &st);
	assert_true(st.free);
	assert_int_equal(st.replayed, 2);
	assert_int_equal(read_log(r, 1, again, 16), 3);
	assert_int_equal(again[2].type, FTMB_REC_SKIP);
	assert_int_equal(again[2].seq, 3);
	assert_int_equal(again[2].value, 3);
	free_run(r);
}

static void test_mode_off_logs_nothing(void **state)
{
	struct run *r = new_run(FTMB_MODE_OFF, 0);
	struct ftmb_thread *th = single_thread(r);
	uint8_t frame[80] = { 0 };
	struct ftmb_record out[4];

	(void)state;
	ftmb_lock(th, ftmb_var(r->f, 0));
	ftmb_unlock(th, ftmb_var(r->f, 0));
	(void)ftmb_time_ns(th);
	assert_int_equal(ftmb_rx(th, frame, 80), 80);
	assert_int_equal(ftmb_tx(th, frame, 60, sizeof(frame)), 60);
	assert_int_equal(host_region_read_pal(&r->hr, 1, out, 4), 0);
	free_run(r);
}

static void test_attach_errors(void **state)
{
	char path[64];
	struct ftmb *f;
	FILE *fp;

	(void)state;
	assert_int_equal(ftmb_attach("/nonexistent/ftmb", &f), -ENOENT);
	snprintf(path, sizeof(path), "/tmp/ftmb-test-garbage-%d", getpid());
	fp = fopen(path, "w");
	for (int i = 0; i < 8192; i++)
		fputc(i * 7, fp);
	fclose(fp);
	assert_int_equal(ftmb_attach(path, &f), FTMB_E_MAGIC);
	assert_int_equal(truncate(path, 16), 0);
	assert_int_equal(ftmb_attach(path, &f), FTMB_E_TRUNCATED);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_logs_every_access_once),
		cmocka_unit_test(test_replay_reproduces_every_value),
		cmocka_unit_test(test_unordered_replay_diverges),
		cmocka_unit_test(test_second_replay_after_running_free),
		cmocka_unit_test(test_tags_carry_inputs_and_accesses),
		cmocka_unit_test(test_vectors_flow_through_variables),
		cmocka_unit_test(test_register_says_ready),
		cmocka_unit_test(test_gap_in_inputs_logs_a_skip),
		cmocka_unit_test(test_replay_drops_what_the_primary_skipped),
		cmocka_unit_test(test_replay_with_another_gap_diverges),
		cmocka_unit_test(test_mode_off_logs_nothing),
		cmocka_unit_test(test_attach_errors),
	};

	return cmocka_run_group_tests_name("shim", tests, NULL, NULL);
}
