// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Primary side: for every peer that is the backup of an instance this host is
 * primary for, one connection (HELLO role HOSTD) carrying a HEARTBEAT every
 * heartbeat_interval_ms. The backup echoes each one; an echo measures the
 * round trip, and no echo for failure_timeout_ms means the backup is lost:
 * the instances it protects are reported backup-lost with their policy
 * (degrade or halt; ftmb-vhost applies it). A lost connection is retried
 * with exponential backoff. On a deliberate stop the last heartbeat says
 * LEAVING, so that the backups do not fail over.
 */
#include <string.h>

#include "handover.h"
#include "hostd.h"

#define BACKOFF_MIN_MS 10u
#define BACKOFF_MAX_MS 1000u

static void connect_peer(struct peer *p);

static void send_heartbeat(struct peer *p)
{
	struct ftmb_repl_heartbeat hb = {
		.seq = ++p->hb_seq,
		.time_ns = (uint64_t)g_get_monotonic_time() * 1000u,
		.state = p->h->leaving ? FTMB_HB_LEAVING : FTMB_HB_PRIMARY,
	};
	uint8_t buf[64];
	int len = ftmb_repl_put_heartbeat(buf, sizeof(buf), &hb);

	conn_send(p->hb_out, buf, (size_t)len);
}

static void check_backup_alive(struct peer *p)
{
	int64_t silent_us = g_get_monotonic_time() - p->last_echo_us;

	if (p->backup_lost || silent_us <= (int64_t)p->h->cfg->failure_timeout_ms * 1000)
		return;
	p->backup_lost = TRUE;
	g_warning("backup %s silent for %.1f ms: the instances it protects are UNPROTECTED "
		  "(each follows its on_backup_lost policy)", p->cfg->name,
		  (double)silent_us / 1000.0);
}

static gboolean on_heartbeat_timer(gpointer data)
{
	struct peer *p = data;

	check_backup_alive(p);
	send_heartbeat(p);
	return G_SOURCE_CONTINUE;
}

static void on_connected(struct conn *c)
{
	struct peer *p = c->owner;
	struct ftmb_repl_hello hello = {
		.role = FTMB_ROLE_HOSTD,
		.n_threads = 1,
		.n_vars = 1,
		.generation = p->h->generation,
	};
	uint8_t buf[256];
	int len;

	g_strlcpy(hello.instance, p->h->cfg->name, sizeof(hello.instance));
	len = ftmb_repl_put_hello(buf, sizeof(buf), &hello);
	conn_send(c, buf, (size_t)len);
}

static gboolean on_backup_hello(struct peer *p, const struct ftmb_repl_frame *f, GError **error)
{
	struct ftmb_repl_hello hello;
	int rc = f->type == FTMB_REPL_HELLO ? ftmb_repl_get_hello(f, &hello) : FTMB_E_TYPE;

	if (rc)
		return hostd_error(error, rc, "backup %s: bad answer to HELLO", p->cfg->name);
	if (hello.role != FTMB_ROLE_BACKUP)
		return hostd_error(error, FTMB_E_RANGE, "backup %s answered with role %u", p->cfg->name,
				   hello.role);
	p->hb_out_up = TRUE;
	p->backoff_ms = BACKOFF_MIN_MS;
	p->last_echo_us = g_get_monotonic_time();
	p->hb_timer = g_timeout_add_full(G_PRIORITY_HIGH, p->h->cfg->heartbeat_interval_ms,
					 on_heartbeat_timer, p, NULL);
	g_message("backup %s (%s) reached: heartbeats every %u ms", p->cfg->name, p->cfg->address_text,
		  p->h->cfg->heartbeat_interval_ms);
	send_heartbeat(p);
	return TRUE;
}

static gboolean on_echo(struct peer *p, const struct ftmb_repl_frame *f, GError **error)
{
	struct ftmb_repl_heartbeat hb;
	int64_t now = g_get_monotonic_time();
	int rc = f->type == FTMB_REPL_HEARTBEAT ? ftmb_repl_get_heartbeat(f, &hb) : FTMB_E_TYPE;

	if (rc)
		return hostd_error(error, rc, "backup %s sent a %s frame, not a heartbeat echo",
				   p->cfg->name, ftmb_repl_type_name(f->type));
	if (hb.seq == 0 || hb.seq > p->hb_seq)
		return hostd_error(error, FTMB_E_SEQ, "backup %s echoed heartbeat %" G_GUINT64_FORMAT
				   " before it was sent", p->cfg->name, hb.seq);
	p->rtt_last_us = now - (int64_t)(hb.time_ns / 1000u);
	p->rtt_min_us = p->echoes ? MIN(p->rtt_min_us, p->rtt_last_us) : p->rtt_last_us;
	p->rtt_max_us = MAX(p->rtt_max_us, p->rtt_last_us);
	p->echoes++;
	p->last_echo_us = now;
	if (p->backup_lost)
		g_message("backup %s answers again", p->cfg->name);
	p->backup_lost = FALSE;
	return TRUE;
}

static gboolean on_frame(struct conn *c, const struct ftmb_repl_frame *f, GError **error)
{
	struct peer *p = c->owner;

	if (!p->hb_out_up)
		return on_backup_hello(p, f, error);
	if (f->type == FTMB_REPL_HANDOVER)
		return handover_on_answer(p, f, error);
	return on_echo(p, f, error);
}

static gboolean on_reconnect(gpointer data)
{
	struct peer *p = data;

	p->reconnect_timer = 0;
	connect_peer(p);
	return G_SOURCE_REMOVE;
}

static void schedule_reconnect(struct peer *p)
{
	if (p->h->leaving)
		return;
	p->reconnect_timer = g_timeout_add(p->backoff_ms, on_reconnect, p);
	p->backoff_ms = MIN(p->backoff_ms * 2, BACKOFF_MAX_MS);
}

static void on_closed(struct conn *c, enum conn_end end, const char *reason)
{
	struct peer *p = c->owner;

	if (p->hb_timer)
		g_source_remove(p->hb_timer);
	p->hb_timer = 0;
	p->hb_out = NULL;
	if (p->hb_out_up && !p->h->leaving && !p->backup_lost)
		g_warning("backup %s lost: heartbeat connection %s (%s): the instances it protects "
			  "are UNPROTECTED (each follows its on_backup_lost policy); reconnecting",
			  p->cfg->name, conn_end_name(end), reason);
	else if (!p->h->leaving)
		g_debug("backup %s: %s", p->cfg->name, reason);
	if (p->hb_out_up)
		p->backup_lost = TRUE;
	p->hb_out_up = FALSE;
	schedule_reconnect(p);
}

static const struct conn_ops heartbeat_ops = {
	.connected = on_connected,
	.frame = on_frame,
	.closed = on_closed,
};

static void connect_peer(struct peer *p)
{
	GError *error = NULL;
	int fd = net_connect(&p->cfg->address, TRUE, &error);

	if (fd < 0) {
		g_debug("backup %s: %s", p->cfg->name, error->message);
		g_error_free(error);
		schedule_reconnect(p);
		return;
	}
	p->hb_out = conn_new(fd, p->cfg->address_text, TRUE, &heartbeat_ops, p);
}

static gboolean backs_up_any(struct hostd *h, const char *peer)
{
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, h->instances);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		const struct instance *inst = v;

		if (inst->primary && inst->backup && strcmp(inst->primary, h->cfg->name) == 0 &&
		    strcmp(inst->backup, peer) == 0)
			return TRUE;
	}
	return FALSE;
}

void heartbeat_start(struct hostd *h)
{
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, h->peers);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct peer *p = v;

		if (p->backs_us_up || !backs_up_any(h, p->cfg->name))
			continue;
		p->backs_us_up = TRUE;
		p->backoff_ms = BACKOFF_MIN_MS;
		connect_peer(p);
	}
}

void heartbeat_stop(struct hostd *h)
{
	GHashTableIter it;
	gpointer v;

	h->leaving = TRUE;
	g_hash_table_iter_init(&it, h->peers);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct peer *p = v;

		if (p->reconnect_timer)
			g_source_remove(p->reconnect_timer);
		p->reconnect_timer = 0;
		if (!p->hb_out)
			continue;
		if (p->hb_out_up)
			send_heartbeat(p);
		conn_close(p->hb_out, CONN_END_LOCAL, "ftmb-hostd is stopping");
	}
}

enum instance_state heartbeat_instance_state(struct hostd *h, const struct instance *inst)
{
	const struct peer *p = inst->backup ? peer_lookup(h, inst->backup) : NULL;

	if (!p || (!p->hb_out_up && p->echoes == 0))
		return INST_CONNECTING;
	if (p->backup_lost || !p->hb_out_up)
		return INST_BACKUP_LOST;
	return INST_PROTECTED;
}
