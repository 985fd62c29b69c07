// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdbool.h>

#include "flowtab.h"

static guint flow_hash(gconstpointer key)
{
	const struct pkt_flow *f = key;
	guint64 a = ((guint64)f->src_ip << 32) | f->dst_ip;
	guint64 b = ((guint64)f->src_port << 24) | ((guint64)f->dst_port << 8) | f->proto;

	return g_int64_hash(&a) * 31u + g_int64_hash(&b);
}

static gboolean flow_equal(gconstpointer x, gconstpointer y)
{
	const struct pkt_flow *a = x, *b = y;

	return a->src_ip == b->src_ip && a->dst_ip == b->dst_ip && a->src_port == b->src_port &&
	       a->dst_port == b->dst_port && a->proto == b->proto;
}

GHashTable *flowtab_new(void)
{
	return g_hash_table_new_full(flow_hash, flow_equal, g_free, g_free);
}

void *flowtab_get(GHashTable *t, const struct pkt_flow *f, size_t value_size, bool *created)
{
	void *v = g_hash_table_lookup(t, f);

	*created = v == NULL;
	if (!v) {
		v = g_malloc0(value_size);
		g_hash_table_insert(t, g_memdup2(f, sizeof(*f)), v);
	}
	return v;
}
