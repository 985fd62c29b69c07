/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host's side of a protected instance's shared region (layout in
 * ftmb/region.h): creates and formats the region, drains the PAL rings with
 * full validation, and fills the replay rings of a replica.
 *
 * The geometry lives here, in host memory, from creation on: nothing the
 * guest writes into the region changes where the host reads or writes.
 */
#ifndef FTMB_HOST_REGION_H
#define FTMB_HOST_REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ftmb/region.h"

struct host_region {
	void *base;
	struct ftmb_region_geometry geo;
	uint64_t pal_tail[FTMB_MAX_THREADS];     /* consumer cursor, private */
	uint64_t next_counter[FTMB_MAX_THREADS]; /* the next event counter expected */
	uint64_t replay_head[FTMB_MAX_THREADS];  /* producer cursor, private */
};

/* Creates (or reuses) the file at path, sizes and maps it, and formats it.
 * Returns 0 or -errno / an enum ftmb_err. */
int host_region_create(struct host_region *hr, const char *path, uint32_t n_threads,
		       uint32_t ring_slots, uint32_t n_vars, enum ftmb_mode mode,
		       uint64_t generation);

/* Attaches to memory that already holds a formatted region with this
 * geometry (for tests, and for a region restored from a checkpoint): the
 * geometry comes from the caller, never from the memory. */
void host_region_attach(struct host_region *hr, void *base, const struct ftmb_region_geometry *geo);

/* Maps the existing region file at path without formatting it (a replica's
 * region, restored from a checkpoint): the file must be exactly the size of
 * the layout for these counts and hold a header that matches it. Returns 0,
 * -errno, or an enum ftmb_err (FTMB_E_LAYOUT and friends: not this region). */
int host_region_open(struct host_region *hr, const char *path, uint32_t n_threads,
		     uint32_t ring_slots, uint32_t n_vars);

/* Whether the guest said RX queue q is ready for input (region.h): a word
 * the guest writes, so only ever a hint that hurts the guest if wrong. */
static inline bool host_region_queue_ready(const struct host_region *hr, uint32_t q)
{
	return q < hr->geo.n_threads &&
	       __atomic_load_n(&ftmb_region_ready(hr->base)[q], __ATOMIC_ACQUIRE) != 0;
}

/* Writes cut into the region's cut slot (ftmb/region.h), magic last. */
void host_region_write_cut(struct host_region *hr, const struct ftmb_cut *cut);

/*
 * Reads the cut slot of a region image (its first len bytes, len at least
 * FTMB_REGION_CUT_OFF + sizeof(struct ftmb_cut)) into cut and validates it
 * on its own: an all-zero slot is "no cut yet" (FTMB_OK, epoch 0);
 * otherwise the magic, a zero reserved field, 1 <= n <= FTMB_MAX_THREADS,
 * epoch >= 1, zero entries beyond n and no entry of 2^62 or more. Returns
 * FTMB_OK or an enum ftmb_err. The caller still checks n and generation
 * against the instance, and the vectors against the CUT frame of the epoch.
 */
int host_region_read_cut(const void *image, size_t len, struct ftmb_cut *cut);

/* Thread t's last PAL counter the guest has published: what was consumed,
 * plus what its ring holds unread. Returns FTMB_OK, or FTMB_E_RANGE when the
 * ring's head is corrupt (more unread records than slots). */
int host_region_pal_published(const struct host_region *hr, uint32_t t, uint64_t *counter);

void host_region_destroy(struct host_region *hr);

/* Consumes up to max records of thread t's PAL ring into out, validating
 * each (type, fields, contiguous counter, variable range). Returns the count,
 * or an enum ftmb_err: the guest broke the contract and the instance must be
 * stopped; the ring is not read again. */
int host_region_read_pal(struct host_region *hr, uint32_t t, struct ftmb_record *out, uint32_t max);

/* The last event counter consumed from thread t's ring. */
static inline uint64_t host_region_pal_consumed(const struct host_region *hr, uint32_t t)
{
	return hr->next_counter[t] - 1;
}

/* Sets the position after which thread t's records are expected (after a
 * restore: the cut's PAL counter). */
void host_region_resume_pal(struct host_region *hr, uint32_t t, uint64_t counter);

/* Publishes up to n replay records to thread t. Returns how many fit, or an
 * enum ftmb_err if the guest corrupted the ring. */
int host_region_push_replay(struct host_region *hr, uint32_t t, const struct ftmb_record *recs,
			    uint32_t n);

/*
 * A replica attached to a restored region (a VM checkpoint) takes thread
 * t's replay ring over where the previous replay, if any, left it: a
 * checkpoint of a replica that went live holds rings whose records were
 * all consumed (head == tail == what that replay pushed) and closed. The
 * host's producer cursor resumes at that head, and the ring is reopened
 * (closed = 0), which tells a guest thread that ran free to follow it
 * again (libftmb, replay.c). Call it before the guest runs. Returns FTMB_OK;
 * FTMB_E_INDEX when head != tail (the checkpoint was taken while the guest
 * still had records to replay: it cannot be replayed again), FTMB_E_RANGE
 * for an impossible head (2^62 or more) or thread; head and tail say what
 * was found.
 */
int host_region_resume_replay(struct host_region *hr, uint32_t t, uint64_t *head,
			      uint64_t *tail);

/* Whether thread t's guest consumed every record pushed to its replay ring
 * (the guest-written tail: only a hint, wrong only to the guest's harm). */
bool host_region_replay_drained(const struct host_region *hr, uint32_t t);

/* Marks thread t's replay log complete: once drained, the thread runs free. */
void host_region_close_replay(struct host_region *hr, uint32_t t);

/* Writes the per-variable replay horizons (n <= n_vars entries). */
void host_region_set_horizons(struct host_region *hr, const uint64_t *horizon, uint32_t n);

void host_region_set_mode(struct host_region *hr, enum ftmb_mode mode);

#endif
