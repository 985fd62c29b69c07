/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Records of a thread's logged events: the Packet Access Log entry (PAL) and
 * the logged values (time, random). The same 32-byte record travels through
 * the PAL ring (guest -> host), the replication stream (host -> backup) and
 * the replay ring (host -> replica guest), so it is defined once, here.
 *
 * counter is the thread's event counter k: its k-th logged event, from 1,
 * contiguous. For a PAL, seq is s: "this was the s-th access to var", from 1.
 */
#ifndef FTMB_RECORD_H
#define FTMB_RECORD_H

#include <stdint.h>

enum ftmb_record_type {
	FTMB_REC_PAL = 1,
	FTMB_REC_TIME = 2,
	FTMB_REC_RANDOM = 3,
};

struct ftmb_record {
	uint16_t type;     /* enum ftmb_record_type */
	uint16_t reserved; /* zero */
	uint32_t var;      /* PAL: variable id, < n_vars; else zero */
	uint64_t counter;  /* k */
	uint64_t seq;      /* PAL: s; else zero */
	uint64_t value;    /* TIME/RANDOM: the value returned; PAL: zero */
};

_Static_assert(sizeof(struct ftmb_record) == 32, "record is 32 bytes on every side");

/* Checks one record from an untrusted source: its type and fields, that its
 * counter is expected_counter, and that a PAL names a variable < n_vars with
 * a non-zero seq. Returns FTMB_OK or an enum ftmb_err. */
int ftmb_record_check(const struct ftmb_record *rec, uint64_t expected_counter, uint32_t n_vars);

#endif
