// SPDX-License-Identifier: LGPL-2.1-or-later
/* Non-deterministic values, logged in record mode and returned from the log
 * in replay. */
#include <time.h>

#include "shim.h"

static uint64_t clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* vDSO: no system call */
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift128plus(uint64_t s[2])
{
	uint64_t x = s[0], y = s[1];

	s[0] = y;
	x ^= x << 23;
	s[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
	return s[1] + y;
}

/* The value the log dictates, or fresh when there is none to follow. */
static uint64_t logged_value(struct ftmb_thread *th, uint16_t type, uint64_t fresh)
{
	struct ftmb_record rec = { .type = type, .value = fresh };
	enum ftmb_mode mode = shim_mode(th->f);

	if (mode == FTMB_MODE_OFF)
		return fresh;
	if (mode == FTMB_MODE_REPLAY) {
		const struct ftmb_record *logged = shim_replay_peek(th);

		if (logged && logged->type != type)
			shim_replay_diverged(th, logged, type == FTMB_REC_TIME ? "a clock read"
									    : "a random draw");
		else if (logged) {
			rec.value = logged->value;
			shim_replay_pop(th);
		}
	}
	shim_log_event(th, &rec);
	return rec.value;
}

uint64_t ftmb_time_ns(struct ftmb_thread *th)
{
	return logged_value(th, FTMB_REC_TIME, clock_ns());
}

uint64_t ftmb_random(struct ftmb_thread *th)
{
	return logged_value(th, FTMB_REC_RANDOM, xorshift128plus(th->rng));
}
