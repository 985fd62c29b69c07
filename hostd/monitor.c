// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Backup side failure detection. A primary's hostd connects (HELLO role
 * HOSTD, its [peers] name) and sends HEARTBEATs. Each heartbeat moves a
 * deadline to failure_timeout_ms after it; the primary is declared failed
 * when the deadline passes, or at once when its connection is closed or reset
 * by the far side. The log names which, and how long after the last
 * heartbeat the failure was detected. A primary that says it is LEAVING
 * (stopping on purpose) is not watched until it heartbeats again.
 */
#include <string.h>

#include "hostd.h"

/* A source that fires once at its ready time; the ready time is moved by
 * every heartbeat, which costs no allocation on the heartbeat path. */
static gboolean deadline_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
	g_source_set_ready_time(src, -1);
	return cb(data);
}

static GSourceFuncs deadline_funcs = { .dispatch = deadline_dispatch };

struct peer *peer_lookup(struct hostd *h, const char *name)
{
	return name ? g_hash_table_lookup(h->peers, name) : NULL;
}

static gboolean on_deadline(gpointer data)
{
	struct peer *p = data;
	double silent_ms = (double)(g_get_monotonic_time() - p->last_heartbeat_us) / 1000.0;
	char *reason = g_strdup_printf("heartbeats stopped: none for %.1f ms (failure_timeout_ms %u)",
				       silent_ms, p->h->cfg->failure_timeout_ms);

	monitor_primary_failed(p, reason);
	g_free(reason);
	return G_SOURCE_CONTINUE;
}

static void free_peer(gpointer data)
{
	struct peer *p = data;

	g_source_destroy(p->deadline);
	g_source_unref(p->deadline);
	g_free(p->failure);
	g_free(p);
}

void monitor_init(struct hostd *h)
{
	h->peers = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, free_peer);
	for (guint i = 0; i < h->cfg->peers->len; i++) {
		struct peer *p = g_new0(struct peer, 1);

		p->h = h;
		p->cfg = g_ptr_array_index(h->cfg->peers, i);
		p->deadline = g_source_new(&deadline_funcs, sizeof(GSource));
		g_source_set_priority(p->deadline, G_PRIORITY_HIGH);
		g_source_set_callback(p->deadline, on_deadline, p, NULL);
		g_source_set_ready_time(p->deadline, -1);
		g_source_attach(p->deadline, NULL);
		g_hash_table_insert(h->peers, p->cfg->name, p);
	}
}

void monitor_free(struct hostd *h)
{
	g_hash_table_destroy(h->peers);
}

void monitor_attach(struct peer *p, struct session *s, uint64_t generation)
{
	if (p->hb_in)
		session_close(p->hb_in, "superseded by a new connection");
	if (p->failed)
		g_message("primary %s is back (generation %" G_GUINT64_FORMAT "); what failed over "
			  "stays on the replicas here", p->cfg->name, generation);
	p->hb_in = s;
	p->generation = generation;
	p->failed = FALSE;
	p->leaving = FALSE;
	g_message("primary %s connected from %s (generation %" G_GUINT64_FORMAT
		  "): watching its heartbeats, failure after %u ms of silence",
		  p->cfg->name, session_peer(s), generation, p->h->cfg->failure_timeout_ms);
}

void monitor_heartbeat(struct peer *p, uint32_t state)
{
	int64_t now = g_get_monotonic_time();

	p->last_heartbeat_us = now;
	p->last_heartbeat_wall_us = g_get_real_time();
	p->heartbeats_in++;
	if (state == FTMB_HB_LEAVING) {
		if (!p->leaving)
			g_message("primary %s is stopping on purpose: not watching it until it "
				  "heartbeats again", p->cfg->name);
		p->leaving = TRUE;
		g_source_set_ready_time(p->deadline, -1);
		return;
	}
	p->leaving = FALSE;
	if (!p->failed)
		g_source_set_ready_time(p->deadline, now + (int64_t)p->h->cfg->failure_timeout_ms * 1000);
}

void monitor_detach(struct peer *p, struct session *s, enum conn_end end, const char *reason)
{
	char *why;

	if (p->hb_in != s)
		return;
	p->hb_in = NULL;
	/* A connection we closed ourselves is no evidence; the deadline still
	 * runs if the primary does not come back. */
	if (end == CONN_END_LOCAL || end == CONN_END_PROTOCOL || p->leaving || p->failed ||
	    p->heartbeats_in == 0)
		return;
	why = end == CONN_END_EOF ? g_strdup("its hostd connection was closed by the peer")
				  : g_strdup_printf("its hostd connection was reset (%s)", reason);
	monitor_primary_failed(p, why);
	g_free(why);
}

void monitor_primary_failed(struct peer *p, const char *reason)
{
	struct hostd *h = p->h;
	int64_t now = g_get_monotonic_time();
	GList *all;

	if (p->failed)
		return;
	p->failed = TRUE;
	g_free(p->failure);
	p->failure = g_strdup(reason);
	g_source_set_ready_time(p->deadline, -1);
	g_warning("PRIMARY %s FAILED: %s; detected %.1f ms after its last heartbeat", p->cfg->name,
		  reason, (double)(now - p->last_heartbeat_us) / 1000.0);
	if (p->hb_in)
		session_close(p->hb_in, "primary declared failed");
	all = g_hash_table_get_values(h->instances);
	for (GList *l = all; l; l = l->next) {
		struct instance *inst = l->data;

		if (inst->cfg && inst->primary && inst->backup &&
		    strcmp(inst->primary, p->cfg->name) == 0 &&
		    strcmp(inst->backup, h->cfg->name) == 0)
			failover_instance(inst, reason, p->last_heartbeat_us,
					  p->last_heartbeat_wall_us);
	}
	g_list_free(all);
}
