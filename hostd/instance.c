// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The protected instances this host knows: the configured ones it is primary
 * or backup for, and any a trusted ftmb-vhost streams to it. A backup keeps
 * an instance's log across stream reconnects of the same generation; a
 * higher generation (the primary re-initialised the instance) starts a new
 * log, a lower one is a stale primary and is refused. Once an instance has
 * failed over to this host, streams from its old primary are refused: that
 * is the backup's half of fencing (FENCING.md).
 */
#include <string.h>

#include "hostd.h"
#include "net.h"

/* hostd_error() for functions that return a pointer. */
#define refuse(...) (hostd_error(__VA_ARGS__), NULL)

const char *instance_state_name(enum instance_state st)
{
	switch (st) {
	case INST_CONNECTING: return "connecting-to-backup";
	case INST_PROTECTED: return "protected";
	case INST_BACKUP_LOST: return "backup-lost";
	case INST_WAITING: return "waiting-for-stream";
	case INST_RECEIVING: return "receiving";
	case INST_STREAM_DOWN: return "stream-down";
	case INST_RESTORING: return "restoring";
	case INST_REPLICA_LIVE: return "replica-live-unprotected";
	case INST_FAILOVER_FAILED: return "failover-failed";
	}
	return "?";
}

static gboolean is_me(const struct hostd *h, const char *host)
{
	return host && strcmp(host, h->cfg->name) == 0;
}

const char *instance_role(const struct instance *inst)
{
	if (inst->state == INST_REPLICA_LIVE || inst->state == INST_RESTORING)
		return "primary (replica)";
	if (is_me(inst->h, inst->backup))
		return "backup";
	return is_me(inst->h, inst->primary) ? "primary" : "none";
}

struct instance *instance_lookup(struct hostd *h, const char *name)
{
	return g_hash_table_lookup(h->instances, name);
}

/* This host's part in a configured instance: primary, backup, or the host
 * that backs up the replica once the backup runs it (reprotect). An
 * instance streamed to us without configuration has no known primary. */
static void initial_roles(struct instance *inst)
{
	const struct hostd_instance_cfg *cfg = inst->cfg;
	struct hostd *h = inst->h;

	if (!cfg) {
		inst->backup = h->cfg->name;
	} else if (is_me(h, cfg->reprotect)) {
		inst->primary = cfg->backup;
		inst->backup = cfg->reprotect;
	} else {
		inst->primary = cfg->primary;
		inst->backup = cfg->backup;
	}
}

void instance_take_over(struct instance *inst)
{
	inst->primary = inst->h->cfg->name;
	inst->backup = inst->cfg ? inst->cfg->reprotect : NULL;
	if (is_me(inst->h, inst->backup))
		inst->backup = NULL;
}

static struct instance *instance_new(struct hostd *h, const char *name,
				     const struct hostd_instance_cfg *cfg)
{
	struct instance *inst = g_new0(struct instance, 1);

	inst->h = h;
	inst->name = g_strdup(name);
	inst->cfg = cfg;
	initial_roles(inst);
	inst->state = is_me(h, inst->primary) ? INST_CONNECTING : INST_WAITING;
	g_hash_table_insert(h->instances, inst->name, inst);
	return inst;
}

static void instance_free(gpointer data)
{
	struct instance *inst = data;

	if (inst->have_log)
		logstore_clear(&inst->log);
	ckpt_recv_free(inst);
	failover_timeline_clear(&inst->failover);
	g_free(inst->stream_peer);
	g_free(inst->last_error);
	g_free(inst->name);
	g_free(inst);
}

void instances_init(struct hostd *h)
{
	h->instances = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, instance_free);
	for (guint i = 0; i < h->cfg->instances->len; i++) {
		const struct hostd_instance_cfg *cfg = g_ptr_array_index(h->cfg->instances, i);

		if (is_me(h, cfg->primary) || is_me(h, cfg->backup) || is_me(h, cfg->reprotect))
			instance_new(h, cfg->name, cfg);
		if (is_me(h, cfg->primary) && cfg->on_backup_lost == HOSTD_POLICY_DEGRADE)
			g_warning("instance %s: on_backup_lost = degrade is reported, but ftmb-vhost "
				  "does not degrade yet: while the backup is lost it holds the outputs, "
				  "as with halt", cfg->name);
	}
}

void instances_free(struct hostd *h)
{
	g_hash_table_destroy(h->instances);
}

/* Which instance a stream may feed, before any log is touched. */
static struct instance *admit(struct hostd *h, const struct ftmb_repl_hello *hello,
			      const struct sockaddr *from, GError **error)
{
	struct instance *inst = instance_lookup(h, hello->instance);
	const struct hostd_instance_cfg *cfg = hostd_config_instance(h->cfg, hello->instance);
	const struct hostd_peer_cfg *primary;

	if (inst && (inst->state == INST_REPLICA_LIVE || inst->state == INST_FAILOVER_FAILED ||
		     inst->state == INST_RESTORING))
		return refuse(error, FTMB_E_SEQ, "%s has failed over to this host; refusing its old "
						 "primary's stream (fenced)", inst->name);
	if (cfg && !inst)
		return refuse(error, FTMB_E_FIELD, "this host (%s) has no part in %s (primary %s, "
			      "backup %s)", h->cfg->name, cfg->name, cfg->primary, cfg->backup);
	if (cfg && !is_me(h, inst->backup))
		return refuse(error, FTMB_E_FIELD, "this host (%s) is not the backup of %s now "
			      "(backup: %s)", h->cfg->name, cfg->name,
			      inst->backup ? inst->backup : "none");
	primary = inst && inst->primary ? hostd_config_peer(h->cfg, inst->primary) : NULL;
	if (primary && !net_same_host((const struct sockaddr *)&primary->address.ss, from))
		return refuse(error, FTMB_E_FIELD, "the stream does not come from %s's primary %s (%s)",
			      cfg->name, primary->name, primary->address_text);
	if (!inst && g_hash_table_size(h->instances) >= h->cfg->max_instances)
		return refuse(error, FTMB_E_COUNT, "already %u instances, the max_instances bound",
			      g_hash_table_size(h->instances));
	return inst ? inst : instance_new(h, hello->instance, cfg);
}

/* Keeps, resets or refuses the held log as the HELLO's generation says. */
static gboolean match_log(struct instance *inst, const struct ftmb_repl_hello *hello,
			  GError **error)
{
	const struct ftmb_repl_hello *held = &inst->log.hello;

	if (!inst->have_log)
		return TRUE;
	if (hello->generation < held->generation) {
		return hostd_error(error, FTMB_E_SEQ, "generation %" G_GUINT64_FORMAT " is older "
				   "than the %" G_GUINT64_FORMAT " held: a stale primary",
				   hello->generation, held->generation);
	}
	if (hello->generation > held->generation) {
		g_message("instance %s: generation %" G_GUINT64_FORMAT " replaces %" G_GUINT64_FORMAT
			  ": dropping the old log", inst->name, hello->generation, held->generation);
		logstore_clear(&inst->log);
		commit_reset(&inst->cuts);
		inst->have_log = FALSE;
		return TRUE;
	}
	if (hello->n_threads != held->n_threads || hello->n_vars != held->n_vars) {
		return hostd_error(error, FTMB_E_FIELD, "generation %" G_GUINT64_FORMAT " was %u "
				   "threads and %u vars, now %u and %u", hello->generation,
				   held->n_threads, held->n_vars, hello->n_threads, hello->n_vars);
	}
	return TRUE;
}

struct instance *instance_attach_stream(struct hostd *h, const struct ftmb_repl_hello *hello,
					struct session *s, const struct sockaddr *from,
					GError **error)
{
	struct instance *inst = admit(h, hello, from, error);

	if (!inst || !match_log(inst, hello, error))
		return NULL;
	if (!inst->have_log) {
		logstore_init(&inst->log, hello, (size_t)h->cfg->max_log_mb << 20);
		inst->have_log = TRUE;
	}
	if (inst->stream) {
		char *why = g_strdup_printf("superseded by a new stream from %s", session_peer(s));

		session_close(inst->stream, why);
		g_free(why);
	}
	inst->stream = s;
	inst->stream_leaving = FALSE;
	g_free(inst->stream_peer);
	inst->stream_peer = g_strdup(session_peer(s));
	inst->streams++;
	inst->state = INST_RECEIVING;
	g_message("instance %s: log stream from %s (generation %" G_GUINT64_FORMAT
		  ", %u threads, %u variables)", inst->name, session_peer(s), hello->generation,
		  hello->n_threads, hello->n_vars);
	return inst;
}

/* A stream the primary side ended (not one we closed) means its ftmb-vhost
 * or host is gone, unless its hostd said it is leaving. */
static void stream_lost(struct instance *inst, const char *reason)
{
	struct peer *primary = inst->primary ? peer_lookup(inst->h, inst->primary) : NULL;
	char *why;

	if (!inst->cfg) {
		g_warning("instance %s: stream ended (%s); not in the configuration, so no failover",
			  inst->name, reason);
		return;
	}
	if (primary && primary->leaving) {
		g_message("instance %s: stream ended while primary %s is leaving: no failover",
			  inst->name, primary->cfg->name);
		return;
	}
	if (inst->stream_leaving) {
		g_message("instance %s: its ftmb-vhost stopped on purpose (it said so): no failover",
			  inst->name);
		return;
	}
	why = g_strdup_printf("log stream from ftmb-vhost %s", reason);
	failover_instance(inst, why, primary ? primary->last_heartbeat_us : 0,
			  primary ? primary->last_heartbeat_wall_us : 0);
	g_free(why);
}

void instance_detach_stream(struct instance *inst, enum conn_end end, const char *reason)
{
	inst->stream = NULL;
	if (inst->state == INST_RECEIVING)
		inst->state = INST_STREAM_DOWN;
	if (end == CONN_END_PROTOCOL) {
		inst->stream_errors++;
		g_free(inst->last_error);
		inst->last_error = g_strdup(reason);
	}
	if ((end == CONN_END_EOF || end == CONN_END_RESET) && inst->state == INST_STREAM_DOWN)
		stream_lost(inst, end == CONN_END_EOF ? "closed by the peer" : "reset");
}
