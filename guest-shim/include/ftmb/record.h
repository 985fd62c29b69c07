/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Records of a thread's logged events: the Packet Access Log entry (PAL) and
 * the logged values (time, random). The same 32-byte record travels through
 * the PAL ring (guest -> host), the replication stream (host -> backup) and
 * the replay ring (host -> replica guest), so it is defined once, here.
 *
 * counter is the thread's event counter k: its k-th logged event, from 1,
 * contiguous. For a PAL, seq is s: "this was the s-th access to var", from 1.
 *
 * A SKIP says that inputs were lost inside the guest before the thread saw
 * them (a driver dropped them): var is the thread's RX queue (its own
 * index), seq the first input seq it never saw, value how many consecutive
 * inputs it never saw. libftmb logs it when the input seq in a frame's tag
 * jumps, before anything the thread does with that frame; a replica's
 * libftmb drops the inputs a SKIP names, so that it processes exactly what
 * the primary processed. The host checks that a SKIP names the thread's own
 * queue and only inputs it handed to the guest.
 */
#ifndef FTMB_RECORD_H
#define FTMB_RECORD_H

#include <stdint.h>

enum ftmb_record_type {
	FTMB_REC_PAL = 1,
	FTMB_REC_TIME = 2,
	FTMB_REC_RANDOM = 3,
	FTMB_REC_SKIP = 4,
};

struct ftmb_record {
	uint16_t type;     /* enum ftmb_record_type */
	uint16_t reserved; /* zero */
	uint32_t var;      /* PAL: variable id, < n_vars; SKIP: queue; else zero */
	uint64_t counter;  /* k */
	uint64_t seq;      /* PAL: s; SKIP: first input skipped; else zero */
	uint64_t value;    /* TIME/RANDOM: the value returned; SKIP: inputs
			    * skipped; PAL: zero */
};

/* Input numbers in a SKIP stay below this: no sum of them overflows. */
#define FTMB_SKIP_LIMIT (1ull << 62)

_Static_assert(sizeof(struct ftmb_record) == 32, "record is 32 bytes on every side");

/* Checks one record from an untrusted source: its type and fields, that its
 * counter is expected_counter, that a PAL names a variable < n_vars with a
 * non-zero seq, and that a SKIP names a queue < FTMB_MAX_THREADS and a
 * non-empty range of inputs from seq 1 on, below 2^62. Whether the range is
 * the thread's own queue and was handed to the guest is the caller's to
 * check. Returns FTMB_OK or an enum ftmb_err. */
int ftmb_record_check(const struct ftmb_record *rec, uint64_t expected_counter, uint32_t n_vars);

#endif
