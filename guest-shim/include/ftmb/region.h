/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The shared region between a protected middlebox and its host.
 *
 * In a VM the region is the ivshmem-plain device's BAR 2; in host-process
 * mode it is a file in /dev/shm. The host creates it, writes the header once
 * and keeps its own copy of the geometry: the guest can scribble over every
 * byte here, so the host never re-reads a size or an offset from the region
 * after creating it, and validates every index and record it reads.
 *
 * Layout (all offsets from the start of the region, little-endian x86):
 *
 *   0                 struct ftmb_region_header
 *   FTMB_REGION_READY_OFF  uint32_t ready[FTMB_MAX_THREADS]: the
 *                     guest-written ready words (below)
 *   FTMB_REGION_CUT_OFF  struct ftmb_cut: the host-written cut slot (below)
 *   pal_rings_off     n_threads PAL rings, each ring_stride bytes
 *                     (producer: guest thread t, consumer: the host)
 *   replay_rings_off  n_threads replay rings, each ring_stride bytes
 *                     (producer: the host, consumer: guest thread t)
 *   horizons_off      n_vars uint64_t: per variable, the sequence number of
 *                     the last logged access (written by the host before a
 *                     replica resumes)
 *
 * A ring is a struct ftmb_ring followed by ring_slots records. head and tail
 * are free-running 64-bit counters; slot = counter & (ring_slots - 1). A
 * consumer must treat head - tail > ring_slots as corruption.
 *
 * The ready words. A guest thread's RX queue may drop what arrives before
 * the thread can take it: DPDK's virtio PMD, for one, flushes its RX rings
 * while the port starts. An input the host numbered and logged but the
 * guest never saw would be processed by a replica only. So in mode ftmb
 * the host hands inputs to RX queue q only once ready[q] is non-zero, and
 * libftmb sets ready[t] to 1 when thread t registers, which a middlebox
 * does once its NIC is started and its queue set up (ftmb.h). The host
 * formats the words
 * to zero; a restored region keeps the guest's (its queues were ready when
 * the checkpoint was taken). The guest is untrusted here as everywhere: a
 * guest that sets a word early only loses its own inputs, and what it
 * loses is then logged as skipped (record.h, FTMB_REC_SKIP).
 *
 * The cut slot. A VM's checkpoint must say where it stands in the
 * instance's numbering, and must say it for exactly the pause it captured.
 * So ftmb-vhost writes the cut into the region at each pause: QEMU stops the
 * vCPUs, then asks ftmb-vhost for the vring bases (vhost-user
 * GET_VRING_BASE), and ftmb-vhost writes the cut before it answers, before
 * QEMU saves any RAM. The region's memory backend is sent whole in every
 * checkpoint (QMP x-ftmb-start always-dirty), so the cut travels inside the
 * checkpoint, atomically with the guest memory it describes:
 *   magic       FTMB_CUT_MAGIC once a cut was written (the slot is zero before)
 *   n           queues = threads of the instance
 *   generation  the region's generation (ftmb-vhost's HELLO generation)
 *   epoch       ftmb-vhost's count of device stops of this instance: 1, 2, ...
 *               (the CUT frame's ckpt_seq on the replication stream)
 *   in[q]       inputs handed to the guest on RX queue q: the last input seq
 *   pal[t]      thread t's PAL ring head as the guest published it: its last
 *               PAL counter
 * The guest must never write the slot, and readers (the backup hostd, a
 * replica's ftmb-vhost) validate it and compare it with the CUT frame of the
 * same epoch that ftmb-vhost sent on its replication stream: while the guest
 * runs it can write anything here.
 *
 * The mode word. The host sets it; libftmb reads it on every call. A
 * replica's host sets REPLAY (a VM replica: over the RECORD its restored
 * region says), then RECORD once the replica is live and its guest has
 * reproduced every logged record: the replica is a primary, and a
 * checkpoint of it holds no replay state, so hostd re-protects a VM only
 * once it reads RECORD here (offsetof(struct ftmb_region_header, mode),
 * byte 20, read atomically). A replica that diverged from its log stays
 * in REPLAY. A region restored from a checkpoint of a replica may be
 * replayed again: its replay rings keep the indices the first replay left
 * (head == tail, closed); the new host resumes after them and reopens the
 * rings (closed = 0) before the guest runs, and a thread that ran free
 * follows its ring again once it is reopened.
 */
#ifndef FTMB_REGION_H
#define FTMB_REGION_H

#include <stdint.h>
#include <stddef.h>

#include "ftmb/err.h"
#include "ftmb/record.h"

#define FTMB_REGION_MAGIC 0x424d5446u /* "FTMB" */
#define FTMB_REGION_VERSION 1u

#define FTMB_MAX_THREADS 16u
#define FTMB_MAX_RING_SLOTS (1u << 20)
#define FTMB_MAX_VARS 65536u
#define FTMB_REGION_ALIGN 4096u

enum ftmb_mode {
	FTMB_MODE_OFF = 0,    /* no logging at all: the baseline */
	FTMB_MODE_RECORD = 1, /* log every shared access and value */
	FTMB_MODE_REPLAY = 2, /* follow the replay rings, then run free */
	FTMB_MODE_REPLAY_UNORDERED = 3, /* debug only, the negative control:
					 * replay ignoring the logged order */
};

struct ftmb_region_header {
	uint32_t magic;
	uint16_t version;
	uint16_t header_size;
	uint64_t region_size;
	uint32_t n_threads;
	uint32_t mode;       /* enum ftmb_mode; a replica's host sets RECORD
			      * once it is live (above) */
	uint64_t generation; /* bumped by the host on every (re)initialisation */
	uint32_t ring_slots; /* power of two */
	uint32_t n_vars;
	uint64_t ring_stride;
	uint64_t pal_rings_off;
	uint64_t replay_rings_off;
	uint64_t horizons_off;
};

#define FTMB_REGION_READY_OFF 1024u
#define FTMB_REGION_CUT_OFF 2048u
#define FTMB_CUT_MAGIC 0x54435446u /* "FTCT" */

struct ftmb_cut {
	uint32_t magic;
	uint16_t n;
	uint16_t reserved; /* zero */
	uint64_t generation;
	uint64_t epoch;
	uint64_t in[FTMB_MAX_THREADS];
	uint64_t pal[FTMB_MAX_THREADS];
};

_Static_assert(sizeof(struct ftmb_region_header) <= FTMB_REGION_READY_OFF &&
		       FTMB_REGION_READY_OFF + FTMB_MAX_THREADS * sizeof(uint32_t) <=
			       FTMB_REGION_CUT_OFF &&
		       FTMB_REGION_CUT_OFF + sizeof(struct ftmb_cut) <= FTMB_REGION_ALIGN,
	       "the ready words and the cut slot lie in the header page, after the header");

/* The ready words: FTMB_MAX_THREADS uint32_t, read and written atomically. */
static inline uint32_t *ftmb_region_ready(void *base)
{
	return (uint32_t *)((char *)base + FTMB_REGION_READY_OFF);
}

static inline struct ftmb_cut *ftmb_region_cut(void *base)
{
	return (struct ftmb_cut *)((char *)base + FTMB_REGION_CUT_OFF);
}

/* Each field on its own cache line: producer and consumer never share one. */
struct ftmb_ring {
	_Alignas(64) uint64_t head;   /* records published by the producer */
	_Alignas(64) uint64_t tail;   /* records retired by the consumer */
	_Alignas(64) uint64_t closed; /* replay rings: 1 once the host has
				       * published every logged record */
	_Alignas(64) struct ftmb_record slot[];
};

/* The geometry both sides derive from (n_threads, ring_slots, n_vars). */
struct ftmb_region_geometry {
	uint32_t n_threads;
	uint32_t ring_slots;
	uint32_t n_vars;
	uint64_t ring_stride;
	uint64_t pal_rings_off;
	uint64_t replay_rings_off;
	uint64_t horizons_off;
	uint64_t region_size; /* rounded up to a power of two (a PCI BAR) */
};

/* Computes the layout for the given counts; FTMB_E_RANGE if any is
 * zero, too large, or ring_slots is not a power of two. */
int ftmb_region_layout(uint32_t n_threads, uint32_t ring_slots, uint32_t n_vars,
		       struct ftmb_region_geometry *geo);

/* Validates a header read from a mapping of map_size bytes and, on success,
 * fills geo from it. Used by the guest on attach (the host is trusted by the
 * guest, but a stale or foreign file must not be followed blindly). */
int ftmb_region_check_header(const struct ftmb_region_header *hdr, size_t map_size,
			     struct ftmb_region_geometry *geo);

/* Writes a fresh header and zeroes every ring and horizon. */
void ftmb_region_format(void *base, const struct ftmb_region_geometry *geo, enum ftmb_mode mode,
			uint64_t generation);

struct ftmb_ring *ftmb_region_pal_ring(void *base, const struct ftmb_region_geometry *geo,
				       uint32_t thread);
struct ftmb_ring *ftmb_region_replay_ring(void *base, const struct ftmb_region_geometry *geo,
					  uint32_t thread);
uint64_t *ftmb_region_horizons(void *base, const struct ftmb_region_geometry *geo);

#endif
