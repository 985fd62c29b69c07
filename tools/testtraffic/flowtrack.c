// SPDX-License-Identifier: GPL-2.0-or-later
/* Per-flow received-sequence bitmaps. */
#include <glib.h>

#include "flowtrack.h"

struct flow_bits {
	uint64_t *words; /* bit s-1 is seq s */
	uint64_t nwords;
	uint64_t max_seq;
};

struct flowtrack {
	struct flow_bits *flows;
	uint32_t nflows; /* allocated entries */
	uint32_t used;   /* one past the largest flow marked */
	uint32_t max_flows;
	uint64_t max_seq;
};

struct flowtrack *flowtrack_new(uint32_t max_flows, uint64_t max_seq)
{
	struct flowtrack *ft = g_new0(struct flowtrack, 1);

	ft->max_flows = max_flows;
	ft->max_seq = max_seq;
	return ft;
}

void flowtrack_free(struct flowtrack *ft)
{
	if (!ft)
		return;
	for (uint32_t i = 0; i < ft->nflows; i++)
		g_free(ft->flows[i].words);
	g_free(ft->flows);
	g_free(ft);
}

/* Doubling growth keeps the amortised cost per packet constant. */
static uint64_t grown(uint64_t have, uint64_t need)
{
	uint64_t n = have ? have : 1;

	while (n < need)
		n *= 2;
	return n;
}

static struct flow_bits *flow_slot(struct flowtrack *ft, uint32_t flow)
{
	if (flow >= ft->nflows) {
		uint32_t n = (uint32_t)MIN(grown(ft->nflows, (uint64_t)flow + 1), ft->max_flows);

		ft->flows = g_renew(struct flow_bits, ft->flows, n);
		for (uint32_t i = ft->nflows; i < n; i++)
			ft->flows[i] = (struct flow_bits){ 0 };
		ft->nflows = n;
	}
	if (flow >= ft->used)
		ft->used = flow + 1;
	return &ft->flows[flow];
}

enum flowtrack_mark flowtrack_mark(struct flowtrack *ft, uint32_t flow, uint64_t seq)
{
	struct flow_bits *f;
	uint64_t word, bit;

	if (flow >= ft->max_flows || seq == 0 || seq > ft->max_seq)
		return FLOWTRACK_OUT_OF_RANGE;
	f = flow_slot(ft, flow);
	word = (seq - 1) / 64;
	bit = 1ull << ((seq - 1) % 64);
	if (word >= f->nwords) {
		uint64_t n = grown(f->nwords, word + 1);

		f->words = g_renew(uint64_t, f->words, n);
		for (uint64_t i = f->nwords; i < n; i++)
			f->words[i] = 0;
		f->nwords = n;
	}
	if (f->words[word] & bit)
		return FLOWTRACK_DUPLICATE;
	f->words[word] |= bit;
	if (seq > f->max_seq)
		f->max_seq = seq;
	return FLOWTRACK_NEW;
}

uint32_t flowtrack_flows(const struct flowtrack *ft)
{
	return ft->used;
}

uint64_t flowtrack_max_seq(const struct flowtrack *ft, uint32_t flow)
{
	return flow < ft->nflows ? ft->flows[flow].max_seq : 0;
}

static int has_seq(const struct flow_bits *f, uint64_t seq)
{
	uint64_t word = (seq - 1) / 64;

	return word < f->nwords && (f->words[word] >> ((seq - 1) % 64) & 1);
}

void flowtrack_holes(const struct flowtrack *ft, uint32_t flow, uint64_t first, uint64_t last,
		     struct flowtrack_holes *out)
{
	static const struct flow_bits none;
	const struct flow_bits *f = flow < ft->nflows ? &ft->flows[flow] : &none;
	uint64_t run = 0;

	*out = (struct flowtrack_holes){ 0 };
	if (first == 0)
		first = 1;
	for (uint64_t s = first; s <= last; s++) {
		/* Skip whole words of received packets: the common case. */
		while ((s - 1) % 64 == 0 && s + 63 <= last && (s - 1) / 64 < f->nwords &&
		       f->words[(s - 1) / 64] == UINT64_MAX) {
			s += 64;
			run = 0;
		}
		if (s > last)
			break;
		if (has_seq(f, s)) {
			run = 0;
			continue;
		}
		if (run++ == 0) {
			out->runs++;
			if (!out->first_missing)
				out->first_missing = s;
		}
		out->missing++;
		if (run > out->largest_run)
			out->largest_run = run;
	}
}
