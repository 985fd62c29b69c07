/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The correctness verifier: checks what the sinks recorded against the
 * invariants a middlebox must keep across failovers (DESIGN.md: recovery
 * must be consistent with every released output).
 *
 * monitor
 *   - a packet (flow, seq) released more than once must be released
 *     identically: an exact duplicate (replay may release an output again
 *     after a failover) is counted, any difference is a violation;
 *   - no two distinct packets carry the same mb_global;
 *   - within a flow, mb_flow strictly increases with seq (gaps are fine:
 *     packets may be lost before the middlebox).
 * nat
 *   - the same rule for duplicates;
 *   - a flow keeps one external (src_ip, src_port) for its life: between
 *     two of its packets less than nat_idle apart by tx time the mapping may
 *     not change (after a longer gap the NAT may have expired it);
 *   - no external (ip, port) is held by two flows at once: a flow's
 *     lifetime with a mapping, from its first to its last packet by tx time,
 *     may not overlap another flow's lifetime with the same mapping.
 *
 * Records are checked in the order given (files in order, each as
 * received); the first record that breaks a per-packet rule is the
 * violation reported. The NAT's port sharing is checked once everything is
 * in, and the overlap that began first is reported.
 */
#ifndef FTMB_VERIFY_H
#define FTMB_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ftmb/testpkt.h"

enum verify_mb {
	VERIFY_MONITOR,
	VERIFY_NAT,
};

#define VERIFY_NAT_IDLE_MS_DEFAULT 1000

/* A record named in a violation, and where it came from. */
struct verify_packet {
	const char *role; /* how it takes part, e.g. "first", "again" */
	const struct ftmb_sinkrec *rec;
	const char *file;
	uint64_t index; /* record number in the file, from 0 */
};

#define VERIFY_MAX_PACKETS 4

struct verify_result {
	uint64_t records;
	uint64_t packets;    /* distinct (flow, seq) */
	uint64_t flows;
	uint64_t duplicates; /* exact duplicates */
	uint64_t lifetimes;  /* nat: (flow, mapping) lifetimes */
	uint64_t remaps;     /* nat: mapping changes after an idle expiry */
	const char *kind;    /* NULL while everything holds */
	char *message;
	struct verify_packet pkts[VERIFY_MAX_PACKETS];
	unsigned int npkts;
};

struct verifier;

struct verifier *verifier_new(enum verify_mb mb, uint64_t nat_idle_ns);

/*
 * Checks one file's records, in order. The records must stay valid until
 * verifier_free. Returns false at the first violation (further calls do
 * nothing).
 */
bool verifier_add(struct verifier *v, const char *file, const struct ftmb_sinkrec *recs,
		  size_t count);

/* The checks that need all records; false on a violation. */
bool verifier_finish(struct verifier *v);

const struct verify_result *verifier_result(const struct verifier *v);

void verifier_free(struct verifier *v);

const char *verify_mb_name(enum verify_mb mb);

#endif
