/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Restoring a VM instance on its backup from the last committed checkpoint
 * (DESIGN.md §4): the replica comes up paused, the host prepares the replay,
 * then the vCPUs run.
 *
 *   1. prefill: the stored checkpoint's RAM and region go into the files of
 *      their memory backends (ram_file, region), written anew; a worker
 *      thread does it, the daemon keeps serving;
 *   2. replica_vhost (failover.c; ftmb-vhost with replay=%LOG% and
 *      cut=pause) attaches to the restored region without formatting it,
 *      checks its cut against the replay log's CUT, writes the replay area
 *      and opens the vhost-user socket; restore waits for the socket;
 *   3. QEMU starts with the instance's identical command line plus
 *      "-S -incoming" and loads the rest of the checkpoint (device state,
 *      the small RAM blocks) from a stream a worker thread feeds it; it
 *      stays paused;
 *   4. QMP "cont": the replica runs, from the state of the checkpoint.
 *
 * The store is not changed meanwhile (its checkpoint stream is fenced and
 * ckpt_recv applies nothing while busy).
 */
#ifndef HOSTD_VM_RESTORE_H
#define HOSTD_VM_RESTORE_H

#include <glib.h>
#include <stdint.h>

struct instance;

/* How a restore went (times: g_get_monotonic_time, µs). */
struct vm_restore_stats {
	uint64_t ckpt_seq, epoch;   /* the checkpoint restored, and its cut's epoch */
	uint64_t prefill_bytes, stream_bytes;
	int64_t start_us, prefilled_us, vhost_ready_us, loaded_us, running_us;
	GPid qemu_pid;
};

/* The end of a restore: error is NULL when the replica runs; its QEMU
 * (stats qemu_pid) is then the callee's to watch and reap. */
typedef void (*vm_restore_done_fn)(struct instance *inst, const char *error);

/* Starts restoring inst (its store must hold a checkpoint); the stats go
 * into *st, which must live until done is called. */
void vm_restore_start(struct instance *inst, struct vm_restore_stats *st, vm_restore_done_fn done);

#endif
