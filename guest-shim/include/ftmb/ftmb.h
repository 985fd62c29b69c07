/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libftmb: what a middlebox links to be protected by ftmb.
 *
 * A middlebox thread serves one RX/TX queue pair. Every access to state
 * shared between threads goes through ftmb_lock()/ftmb_unlock() on an
 * ftmb_var with a stable id; every clock read and random number goes through
 * ftmb_time_ns()/ftmb_random(); every received frame passes ftmb_rx() and
 * every frame sent passes ftmb_tx(). The library logs the order of shared
 * accesses (PALs) and the values into the shared region, tracks each
 * thread's dependency vector, and tags outputs so that the host releases
 * each one as soon as what it depends on is durable at the backup.
 *
 *   struct ftmb *f;
 *   ftmb_attach(NULL, &f);                 // $FTMB_REGION, or ivshmem BAR 2
 *   struct ftmb_var *pool = ftmb_var(f, 0);
 *   struct ftmb_thread *th;
 *   ftmb_thread_register(f, queue, &th);   // in each worker thread
 *   ...
 *   len = ftmb_rx(th, frame, len);         // strips the input tag
 *   ftmb_lock(th, pool); ... ; ftmb_unlock(th, pool);
 *   len = ftmb_tx(th, frame, len, room);   // appends the output tag
 *
 * In replay (a replica after failover) the same calls wait for each logged
 * access's turn and return the logged values, so the replica passes through
 * the same states; when its log is exhausted a thread runs free. In mode
 * off the calls only lock and unlock.
 *
 * The hot path makes no system call and allocates nothing. Errors are
 * negative enum ftmb_err values or -errno.
 */
#ifndef FTMB_H
#define FTMB_H

#include <stddef.h>
#include <stdint.h>

#include "ftmb/err.h"
#include "ftmb/region.h"

struct ftmb;
struct ftmb_thread;
struct ftmb_var;

/* Attaches to the shared region: the file at path; if path is NULL, the
 * file named by $FTMB_REGION; if that is unset, the BAR 2 of the first
 * ivshmem PCI device (1af4:1110). The host must have formatted it. */
int ftmb_attach(const char *path, struct ftmb **out);
void ftmb_detach(struct ftmb *f);

uint32_t ftmb_n_threads(const struct ftmb *f);
enum ftmb_mode ftmb_mode(const struct ftmb *f);

/* The shared variable with this id (< the region's n_vars), or NULL. The
 * same id must name the same state in every run: replay matches by id. */
struct ftmb_var *ftmb_var(struct ftmb *f, uint32_t id);

/* Registers the calling thread as thread idx (< n_threads, one thread per
 * index, which is also its RX/TX queue), and tells the host that queue idx
 * is ready: call it once the NIC is started and the queue set up, since
 * the host hands inputs to the queue from then on, and an input the guest
 * drops before the thread sees it is one the replica must drop too. */
int ftmb_thread_register(struct ftmb *f, uint32_t idx, struct ftmb_thread **out);

void ftmb_lock(struct ftmb_thread *th, struct ftmb_var *v);
void ftmb_unlock(struct ftmb_thread *th, struct ftmb_var *v);

/* CLOCK_MONOTONIC in nanoseconds, logged (replayed). */
uint64_t ftmb_time_ns(struct ftmb_thread *th);
/* 64 random bits, logged (replayed). */
uint64_t ftmb_random(struct ftmb_thread *th);

/* Accounts for a received frame of len bytes and strips its input tag.
 * Returns the length the middlebox sees, or a negative enum ftmb_err: the
 * frame carries no valid tag, or (FTMB_E_SKIPPED, in replay) the primary
 * never saw it; drop it either way. Inputs missing on the thread's own
 * queue (a jump in the tag's seq: the driver lost them) are logged as
 * skipped (FTMB_REC_SKIP), and a replica drops the same ones. */
int ftmb_rx(struct ftmb_thread *th, const uint8_t *frame, size_t len);

/* Appends the output tag to a frame of len bytes in a buffer of room bytes
 * (FTMB_OUT_TAG_MAX spare bytes always suffice). Returns the length to send,
 * or FTMB_E_NOSPACE. */
int ftmb_tx(struct ftmb_thread *th, uint8_t *frame, size_t len, size_t room);

/* The thread's counters, for statistics and tests. */
struct ftmb_thread_stats {
	uint64_t events;  /* logged events (PALs and values) */
	uint64_t outputs; /* frames tagged */
	uint64_t replayed; /* events taken from the replay log */
	uint64_t skipped; /* inputs of its queue it never saw, or dropped in replay */
	int free;         /* replay log exhausted: running free */
};
void ftmb_thread_stats(const struct ftmb_thread *th, struct ftmb_thread_stats *st);

#endif
