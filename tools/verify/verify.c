// SPDX-License-Identifier: GPL-2.0-or-later
/* The monitor and NAT invariants over sink records (see verify.h). */
#include <glib.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "verify.h"

struct source {
	const char *file;
	const struct ftmb_sinkrec *recs;
	size_t count;
};

struct verifier {
	enum verify_mb mb;
	uint64_t nat_idle_ns;
	GArray *sources;     /* struct source, to name where a record came from */
	GHashTable *flows;   /* flow id -> GPtrArray of records, sorted by seq */
	GHashTable *globals; /* monitor: &rec->mb_global -> rec */
	struct verify_result res;
};

const char *verify_mb_name(enum verify_mb mb)
{
	return mb == VERIFY_MONITOR ? "monitor" : "nat";
}

struct verifier *verifier_new(enum verify_mb mb, uint64_t nat_idle_ns)
{
	struct verifier *v = g_new0(struct verifier, 1);

	v->mb = mb;
	v->nat_idle_ns = nat_idle_ns;
	v->sources = g_array_new(FALSE, FALSE, sizeof(struct source));
	v->flows = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
					 (GDestroyNotify)g_ptr_array_unref);
	v->globals = g_hash_table_new(g_int64_hash, g_int64_equal);
	return v;
}

void verifier_free(struct verifier *v)
{
	if (!v)
		return;
	g_array_unref(v->sources);
	g_hash_table_unref(v->flows);
	g_hash_table_unref(v->globals);
	g_free(v->res.message);
	g_free(v);
}

const struct verify_result *verifier_result(const struct verifier *v)
{
	return &v->res;
}

static struct source *source_of(const struct verifier *v, const struct ftmb_sinkrec *rec)
{
	for (guint i = 0; i < v->sources->len; i++) {
		struct source *s = &g_array_index(v->sources, struct source, i);

		if (rec >= s->recs && rec < s->recs + s->count)
			return s;
	}
	return NULL;
}

static void name_packet(struct verifier *v, const char *role, const struct ftmb_sinkrec *rec)
{
	struct verify_packet *p = &v->res.pkts[v->res.npkts++];
	const struct source *s = source_of(v, rec);

	p->role = role;
	p->rec = rec;
	p->file = s ? s->file : "?";
	p->index = s ? (uint64_t)(rec - s->recs) : 0;
}

static bool violation(struct verifier *v, const char *kind, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

/* Records the violation; the packets involved are named after it. */
static bool violation(struct verifier *v, const char *kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	v->res.kind = kind;
	v->res.message = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return false;
}

static GPtrArray *flow_records(struct verifier *v, uint32_t flow)
{
	GPtrArray *recs = g_hash_table_lookup(v->flows, GUINT_TO_POINTER(flow));

	if (!recs) {
		recs = g_ptr_array_new();
		g_hash_table_insert(v->flows, GUINT_TO_POINTER(flow), recs);
		v->res.flows++;
	}
	return recs;
}

static const struct ftmb_sinkrec *at(const GPtrArray *recs, guint i)
{
	return g_ptr_array_index(recs, i);
}

/* The index of the first record with seq >= seq (packets mostly arrive in
 * order, so the last slot is tried first). */
static guint seq_position(const GPtrArray *recs, uint64_t seq)
{
	guint lo = 0, hi = recs->len;

	if (hi == 0 || at(recs, hi - 1)->seq < seq)
		return hi;
	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;

		if (at(recs, mid)->seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Everything but the arrival time must match for a release to be an
 * exact duplicate. */
static bool same_release(const struct ftmb_sinkrec *a, const struct ftmb_sinkrec *b)
{
	return a->src_ip == b->src_ip && a->src_port == b->src_port &&
	       a->frame_len == b->frame_len && a->tx_ns == b->tx_ns &&
	       a->mb_global == b->mb_global && a->mb_flow == b->mb_flow;
}

static bool check_duplicate(struct verifier *v, const struct ftmb_sinkrec *first,
			    const struct ftmb_sinkrec *again)
{
	if (same_release(first, again)) {
		v->res.duplicates++;
		return true;
	}
	violation(v, "release-differs",
		  "flow %u seq %" PRIu64 " was released twice with different contents "
		  "(stamps or mapping): the replica's state diverged from the primary's",
		  again->flow, again->seq);
	name_packet(v, "first", first);
	name_packet(v, "again", again);
	return false;
}

static bool check_global(struct verifier *v, const struct ftmb_sinkrec *rec)
{
	const struct ftmb_sinkrec *other = g_hash_table_lookup(v->globals, &rec->mb_global);

	if (!other) {
		g_hash_table_insert(v->globals, (gpointer)&rec->mb_global, (gpointer)rec);
		return true;
	}
	violation(v, "global-reused",
		  "mb_global %" PRIu64 " was stamped on two different packets%s", rec->mb_global,
		  rec->mb_global == 0 ? " (were these packets stamped by a monitor at all?)" : "");
	name_packet(v, "first", other);
	name_packet(v, "second", rec);
	return false;
}

/* mb_flow must rise with seq: lower (seq below rec's) < rec < higher. */
static bool check_flow_count(struct verifier *v, const struct ftmb_sinkrec *lower,
			     const struct ftmb_sinkrec *higher)
{
	if (!lower || !higher || lower->mb_flow < higher->mb_flow)
		return true;
	violation(v, "flow-count-order",
		  "flow %u: mb_flow does not increase with seq: seq %" PRIu64 " has mb_flow %" PRIu64
		  ", later seq %" PRIu64 " has mb_flow %" PRIu64 "",
		  lower->flow, lower->seq, lower->mb_flow, higher->seq, higher->mb_flow);
	name_packet(v, "lower seq", lower);
	name_packet(v, "higher seq", higher);
	return false;
}

static uint64_t tx_gap(const struct ftmb_sinkrec *a, const struct ftmb_sinkrec *b)
{
	return a->tx_ns > b->tx_ns ? a->tx_ns - b->tx_ns : b->tx_ns - a->tx_ns;
}

static bool same_mapping(const struct ftmb_sinkrec *a, const struct ftmb_sinkrec *b)
{
	return a->src_ip == b->src_ip && a->src_port == b->src_port;
}

static char *mapping_str(const struct ftmb_sinkrec *r)
{
	return g_strdup_printf("%u.%u.%u.%u:%u", r->src_ip >> 24, r->src_ip >> 16 & 0xff,
			       r->src_ip >> 8 & 0xff, r->src_ip & 0xff, r->src_port);
}

/* Two neighbouring packets of a flow (by seq) keep the mapping unless
 * they are further apart than the NAT's idle expiry. */
static bool check_mapping(struct verifier *v, const struct ftmb_sinkrec *lower,
			  const struct ftmb_sinkrec *higher)
{
	char *from, *to;
	uint64_t gap;

	if (!lower || !higher || same_mapping(lower, higher))
		return true;
	gap = tx_gap(lower, higher);
	if (gap > v->nat_idle_ns)
		return true;
	from = mapping_str(lower);
	to = mapping_str(higher);
	violation(v, "mapping-changed",
		  "flow %u changed its mapping from %s (seq %" PRIu64 ") to %s (seq %" PRIu64
		  ") with only %.3f ms between them by tx time, less than the %.0f ms idle "
		  "expiry",
		  lower->flow, from, lower->seq, to, higher->seq, (double)gap / 1e6,
		  (double)v->nat_idle_ns / 1e6);
	g_free(from);
	g_free(to);
	name_packet(v, "before", lower);
	name_packet(v, "after", higher);
	return false;
}

static bool add_record(struct verifier *v, const struct ftmb_sinkrec *rec)
{
	GPtrArray *recs = flow_records(v, rec->flow);
	guint pos = seq_position(recs, rec->seq);
	const struct ftmb_sinkrec *lower = pos > 0 ? at(recs, pos - 1) : NULL;
	const struct ftmb_sinkrec *higher = pos < recs->len ? at(recs, pos) : NULL;

	v->res.records++;
	if (higher && higher->seq == rec->seq)
		return check_duplicate(v, higher, rec);
	if (v->mb == VERIFY_MONITOR) {
		if (!check_global(v, rec) || !check_flow_count(v, lower, rec) ||
		    !check_flow_count(v, rec, higher))
			return false;
	} else if (!check_mapping(v, lower, rec) || !check_mapping(v, rec, higher)) {
		return false;
	}
	g_ptr_array_insert(recs, (gint)pos, (gpointer)rec);
	v->res.packets++;
	return true;
}

bool verifier_add(struct verifier *v, const char *file, const struct ftmb_sinkrec *recs,
		  size_t count)
{
	const struct source s = { .file = file, .recs = recs, .count = count };

	g_array_append_val(v->sources, s);
	for (size_t i = 0; i < count && !v->res.kind; i++)
		add_record(v, &recs[i]);
	return v->res.kind == NULL;
}

/* A flow holding one mapping without an idle gap: [first, last] by tx. */
struct lifetime {
	const struct ftmb_sinkrec *first;
	const struct ftmb_sinkrec *last;
};

static uint64_t mapping_key(const struct ftmb_sinkrec *r)
{
	return (uint64_t)r->src_ip << 16 | r->src_port;
}

static void add_lifetime(GHashTable *by_mapping, const struct lifetime *l)
{
	uint64_t key = mapping_key(l->first);
	GArray *list = g_hash_table_lookup(by_mapping, &key);

	if (!list) {
		uint64_t *k = g_new(uint64_t, 1);

		*k = key;
		list = g_array_new(FALSE, FALSE, sizeof(struct lifetime));
		g_hash_table_insert(by_mapping, k, list);
	}
	g_array_append_val(list, *l);
}

/* Splits each flow's packets into lifetimes, grouped by mapping. */
static GHashTable *lifetimes_by_mapping(struct verifier *v)
{
	GHashTable *by_mapping = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
						       (GDestroyNotify)g_array_unref);
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, v->flows);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		GPtrArray *recs = value;
		struct lifetime l = { at(recs, 0), at(recs, 0) };

		for (guint i = 1; i < recs->len; i++) {
			const struct ftmb_sinkrec *r = at(recs, i);

			if (same_mapping(r, l.last) && tx_gap(l.last, r) <= v->nat_idle_ns) {
				l.last = r;
				continue;
			}
			v->res.remaps += !same_mapping(r, l.last);
			add_lifetime(by_mapping, &l);
			v->res.lifetimes++;
			l.first = l.last = r;
		}
		add_lifetime(by_mapping, &l);
		v->res.lifetimes++;
	}
	return by_mapping;
}

static gint by_start(gconstpointer a, gconstpointer b)
{
	uint64_t x = ((const struct lifetime *)a)->first->tx_ns;
	uint64_t y = ((const struct lifetime *)b)->first->tx_ns;

	return x < y ? -1 : x > y;
}

/*
 * Sweeps one mapping's lifetimes in start order, keeping the one that ends
 * last; any lifetime starting before that end overlaps it (and belongs to
 * another flow, since one flow's lifetimes are disjoint). Keeps the
 * overlap that starts earliest across all mappings in *a, *b.
 */
static void find_overlap(GArray *list, struct lifetime *a, struct lifetime *b)
{
	const struct lifetime *holder;

	g_array_sort(list, by_start);
	holder = &g_array_index(list, struct lifetime, 0);
	for (guint i = 1; i < list->len; i++) {
		const struct lifetime *l = &g_array_index(list, struct lifetime, i);

		if (l->first->tx_ns <= holder->last->tx_ns) {
			if (!b->first || l->first->tx_ns < b->first->tx_ns) {
				*a = *holder;
				*b = *l;
			}
			return;
		}
		if (l->last->tx_ns > holder->last->tx_ns)
			holder = l;
	}
}

static bool check_port_sharing(struct verifier *v)
{
	GHashTable *by_mapping = lifetimes_by_mapping(v);
	struct lifetime a = { 0 }, b = { 0 };
	GHashTableIter it;
	gpointer value;
	char *m;

	g_hash_table_iter_init(&it, by_mapping);
	while (g_hash_table_iter_next(&it, NULL, &value))
		find_overlap(value, &a, &b);
	g_hash_table_unref(by_mapping);
	if (!b.first)
		return true;
	m = mapping_str(a.first);
	violation(v, "port-shared",
		  "%s was held by two flows at once: flow %u from seq %" PRIu64 " to %" PRIu64
		  " and flow %u from seq %" PRIu64 " to %" PRIu64 " overlap by tx time",
		  m, a.first->flow, a.first->seq, a.last->seq, b.first->flow, b.first->seq,
		  b.last->seq);
	g_free(m);
	name_packet(v, "holder's first", a.first);
	name_packet(v, "holder's last", a.last);
	name_packet(v, "other's first", b.first);
	name_packet(v, "other's last", b.last);
	return false;
}

bool verifier_finish(struct verifier *v)
{
	if (v->res.kind)
		return false;
	if (v->mb == VERIFY_NAT)
		return check_port_sharing(v);
	return true;
}
