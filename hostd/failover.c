// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Promoting a replica on the backup when an instance's primary has failed:
 *   1. fence: close the instance's log stream and refuse any later one from
 *      the old primary (instance.c), so it never gets another ACK;
 *   2. dump the log as a replay file, <state_dir>/<instance>-<generation>.replay;
 *   3. start replica_vhost with %LOG% replaced by that file, then
 *      replica_middlebox (%INSTANCE% is the instance name in both), each with
 *      stdout and stderr appended to <state_dir>/<instance>.<which>.log;
 *      a VM instance instead restores its last committed checkpoint, with
 *      replica_vhost started in the middle of it (vm_restore.h);
 *   4. record the timeline and mark the instance replica-live, UNPROTECTED:
 *      a WARNING now and every minute until it is protected again.
 *   5. with a reprotect host configured (VM instances), this host is the
 *      primary now and the reprotect host its backup: replica_vhost streams
 *      the log to it (%BACKUP_KEY%), heartbeats go to it, and once the
 *      replay is done the VM is checkpointed to it (vm_adopt), the first
 *      checkpoint a full one. Without one the replica runs unprotected.
 *
 * With replica_start = standby the replica commands start with the daemon,
 * %LOG% naming <state_dir>/<instance>.replay, which does not exist yet: they
 * initialise (EAL, shared region, the middlebox's connection) and wait for
 * it. A failover then writes the log beside it and renames it into place,
 * so that a replica sees it whole or not at all; the steps that took most
 * of a cold start are done by then. A standby that has exited is replaced
 * by a cold start.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hostd.h"

#define REMINDER_S 60

static const char *const replica_what[2] = { "vhost", "middlebox" };

static void on_restored(struct instance *inst, const char *error);

/* The replica processes stay: standby replicas start before any failover. */
void failover_timeline_clear(struct failover_timeline *tl)
{
	struct failover_timeline procs = { .standby = tl->standby };

	memcpy(procs.pid, tl->pid, sizeof(procs.pid));
	memcpy(procs.exit_status, tl->exit_status, sizeof(procs.exit_status));
	memcpy(procs.exited, tl->exited, sizeof(procs.exited));
	g_free(tl->reason);
	g_free(tl->dump_path);
	*tl = procs;
}

static double ms_between(int64_t from_us, int64_t to_us)
{
	return (double)(to_us - from_us) / 1000.0;
}

/* ",backup=ADDRESS" of the host that protects the replica, or "": the
 * backup is that host only once the instance runs here. */
static char *backup_key(const struct instance *inst)
{
	const struct hostd_peer_cfg *p;
	char *address, *key;

	if (!inst->backup || strcmp(inst->primary, inst->h->cfg->name))
		return g_strdup("");
	p = hostd_config_peer(inst->h->cfg, inst->backup);
	if (!p)
		return g_strdup("");
	address = net_format_address((const struct sockaddr *)&p->address.ss);
	key = g_strconcat(",backup=", address, NULL);
	g_free(address);
	return key;
}

static char **expand_argv(const struct instance *inst, char **argv, const char *log)
{
	char **out = g_new0(char *, g_strv_length(argv) + 1);
	char *backup = backup_key(inst);

	for (guint i = 0; argv[i]; i++) {
		GString *arg = g_string_new(argv[i]);

		g_string_replace(arg, "%LOG%", log, 0);
		g_string_replace(arg, "%INSTANCE%", inst->name, 0);
		g_string_replace(arg, "%BACKUP_KEY%", backup, 0);
		out[i] = g_string_free(arg, FALSE);
	}
	g_free(backup);
	return out;
}

static void on_replica_exit(GPid pid, gint status, gpointer data)
{
	struct instance *inst = data;
	struct failover_timeline *tl = &inst->failover;
	GError *error = NULL;

	for (int i = 0; i < 2; i++) {
		if (tl->pid[i] != pid)
			continue;
		tl->exited[i] = TRUE;
		tl->exit_status[i] = status;
		if (g_spawn_check_wait_status(status, &error))
			g_message("instance %s: replica %s (pid %d) exited normally", inst->name,
				  replica_what[i], pid);
		else
			g_warning("instance %s: replica %s (pid %d) ended: %s", inst->name,
				  replica_what[i], pid, error->message);
		g_clear_error(&error);
	}
	g_spawn_close_pid(pid);
}

/* In the child, before exec: hostd runs at real-time priority (its unit
 * says so, for its heartbeats); a replica is a polling data path and must
 * not inherit it, or it starves everything else on the host. */
static void normal_priority(gpointer data)
{
	const struct sched_param param = { .sched_priority = 0 };

	(void)data;
	sched_setscheduler(0, SCHED_OTHER, &param);
}

gboolean failover_spawn_replica(struct instance *inst, int which, char **argv, GError **error)
{
	struct failover_timeline *tl = &inst->failover;
	char *log_path = g_strdup_printf("%s/%s.%s.log", inst->h->cfg->state_dir, inst->name,
					 replica_what[which]);
	int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	char **expanded;
	gboolean ok;

	if (fd < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "opening %s: %s",
			    log_path, g_strerror(errno));
		g_free(log_path);
		return FALSE;
	}
	expanded = expand_argv(inst, argv, tl->dump_path);
	ok = g_spawn_async_with_pipes_and_fds(NULL, (const char *const *)expanded, NULL,
					      G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD,
					      normal_priority, NULL, -1, fd, fd, NULL, NULL, 0,
					      &tl->pid[which], NULL, NULL, NULL, error);
	if (ok) {
		g_child_watch_add(tl->pid[which], on_replica_exit, inst);
		g_message("instance %s: started replica %s (pid %d): %s; output in %s", inst->name,
			  replica_what[which], tl->pid[which], expanded[0], log_path);
	} else {
		g_prefix_error(error, "starting replica %s (%s): ", replica_what[which], expanded[0]);
	}
	close(fd);
	g_strfreev(expanded);
	g_free(log_path);
	return ok;
}

static gboolean make_state_dir(const char *dir, GError **error)
{
	if (g_mkdir_with_parents(dir, 0700) == 0)
		return TRUE;
	g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "creating %s: %s", dir,
		    g_strerror(errno));
	return FALSE;
}

static gboolean spawn_replicas(struct instance *inst, GError **error)
{
	if (!failover_spawn_replica(inst, 0, inst->cfg->replica_vhost, error))
		return FALSE;
	return !inst->cfg->replica_middlebox ||
	       failover_spawn_replica(inst, 1, inst->cfg->replica_middlebox, error);
}

static char *standby_path(const struct instance *inst)
{
	return g_strdup_printf("%s/%s.replay", inst->h->cfg->state_dir, inst->name);
}

/* Whether standby replicas are there to take over. */
static gboolean standby_ready(const struct instance *inst)
{
	const struct failover_timeline *tl = &inst->failover;

	if (!tl->standby)
		return FALSE;
	for (int i = 0; i < 2; i++)
		if (tl->pid[i] && tl->exited[i]) {
			g_warning("instance %s: its standby replica %s has exited: starting the "
				  "replicas cold", inst->name, replica_what[i]);
			return FALSE;
		}
	return TRUE;
}

/* The standby replicas' replay file appears whole: written beside, renamed. */
static gboolean dump_for_standby(struct instance *inst, GError **error)
{
	struct failover_timeline *tl = &inst->failover;
	char *tmp = g_strconcat(tl->dump_path, ".part", NULL);
	gboolean ok = logstore_dump_file(&inst->log, tmp, error);

	if (ok && rename(tmp, tl->dump_path) < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "renaming %s to %s: %s", tmp, tl->dump_path, g_strerror(errno));
		ok = FALSE;
	}
	g_free(tmp);
	return ok;
}

/* Steps 2 and 3; FALSE with error when the replica could not be started. */
static gboolean dump_and_start(struct instance *inst, GError **error)
{
	struct failover_timeline *tl = &inst->failover;
	gboolean standby;

	if (!inst->cfg || !inst->cfg->replica_vhost) {
		g_set_error(error, HOSTD_ERROR, 0, "no replica_vhost is configured for it");
		return FALSE;
	}
	if (!inst->have_log) {
		g_set_error(error, HOSTD_ERROR, 0, "no log stream was ever received for it: "
						   "nothing to replay");
		return FALSE;
	}
	if (!make_state_dir(inst->h->cfg->state_dir, error))
		return FALSE;
	standby = standby_ready(inst);
	if (standby) {
		tl->dump_path = standby_path(inst);
		if (!dump_for_standby(inst, error))
			return FALSE;
		tl->dumped_us = g_get_monotonic_time();
	} else {
		tl->standby = FALSE;
		tl->dump_path = g_strdup_printf("%s/%s-%" G_GUINT64_FORMAT ".replay",
						inst->h->cfg->state_dir, inst->name,
						inst->log.hello.generation);
		if (!logstore_dump_file(&inst->log, tl->dump_path, error))
			return FALSE;
		tl->dumped_us = g_get_monotonic_time();
		if (tl->vm) { /* the rest when the VM runs: on_restored() */
			vm_restore_start(inst, &tl->restore, on_restored);
			return TRUE;
		}
		if (!spawn_replicas(inst, error))
			return FALSE;
	}
	tl->started_us = g_get_monotonic_time();
	tl->started_wall_us = g_get_real_time();
	return TRUE;
}

/* replica_start = standby: the replicas start now and wait for their file. */
static void start_standby(struct instance *inst)
{
	struct failover_timeline *tl = &inst->failover;
	GError *error = NULL;

	tl->dump_path = standby_path(inst);
	if (unlink(tl->dump_path) < 0 && errno != ENOENT)
		g_warning("instance %s: cannot remove the old %s: %s", inst->name, tl->dump_path,
			  g_strerror(errno));
	tl->standby = TRUE;
	if (!make_state_dir(inst->h->cfg->state_dir, &error) || !spawn_replicas(inst, &error)) {
		g_warning("instance %s: standby replicas did not start (%s): a failover will start "
			  "them cold", inst->name, error->message);
		g_error_free(error);
		tl->standby = FALSE;
	} else {
		g_message("instance %s: standby replicas started; they take over when %s appears",
			  inst->name, tl->dump_path);
	}
	g_free(tl->dump_path);
	tl->dump_path = NULL;
}

void failover_start_standby(struct hostd *h)
{
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, h->instances);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct instance *inst = v;

		if (inst->cfg && inst->cfg->replica_standby && !hostd_instance_is_vm(inst->cfg) &&
		    strcmp(inst->cfg->backup, h->cfg->name) == 0)
			start_standby(inst);
	}
}

void failover_stop_standby(struct hostd *h)
{
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, h->instances);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct instance *inst = v;
		struct failover_timeline *tl = &inst->failover;

		if (!tl->standby || inst->state == INST_REPLICA_LIVE)
			continue;
		for (int i = 0; i < 2; i++)
			if (tl->pid[i] && !tl->exited[i]) {
				g_message("instance %s: stopping its standby replica %s (pid %d)",
					  inst->name, replica_what[i], tl->pid[i]);
				kill(tl->pid[i], SIGTERM);
			}
	}
}

static void announce_unprotected(const struct instance *inst)
{
	const struct failover_timeline *tl = &inst->failover;
	const struct vm_restore_stats *rs = &tl->restore;

	if (tl->vm)
		g_warning("instance %s: VM restored from checkpoint %" G_GUINT64_FORMAT " (epoch %"
			  G_GUINT64_FORMAT "): prefilled %" G_GUINT64_FORMAT " bytes in %.1f ms, "
			  "replica_vhost ready %.1f ms later, QEMU loaded %" G_GUINT64_FORMAT
			  " stream bytes in %.1f ms, running %.1f ms later (%.1f ms restoring)",
			  inst->name, rs->ckpt_seq, rs->epoch, rs->prefill_bytes,
			  ms_between(rs->start_us, rs->prefilled_us),
			  ms_between(rs->prefilled_us, rs->vhost_ready_us), rs->stream_bytes,
			  ms_between(rs->vhost_ready_us, rs->loaded_us),
			  ms_between(rs->loaded_us, rs->running_us),
			  ms_between(rs->start_us, rs->running_us));
	g_warning("instance %s: REPLICA LIVE on this host, UNPROTECTED (%s%s). Failure: %s. "
		  "Detected %.1f ms after the last heartbeat; log dumped in %.1f ms to %s; %s %.1f "
		  "ms after detection",
		  inst->name, inst->backup ? "until re-protected by " : "no backup configured",
		  inst->backup ? inst->backup : "", tl->reason,
		  tl->last_heartbeat_us ? ms_between(tl->last_heartbeat_us, tl->detected_us) : -1.0,
		  ms_between(tl->detected_us, tl->dumped_us), tl->dump_path,
		  tl->standby ? "standby replica handed its log" : "replica started",
		  ms_between(tl->detected_us, tl->started_us));
}

static void failed(struct instance *inst, const char *why)
{
	inst->state = INST_FAILOVER_FAILED;
	g_free(inst->last_error);
	inst->last_error = g_strdup(why);
	g_warning("instance %s: FAILOVER FAILED: %s", inst->name, why);
}

static void on_restored(struct instance *inst, const char *error)
{
	struct failover_timeline *tl = &inst->failover;

	if (error) {
		failed(inst, error);
		return;
	}
	tl->started_us = g_get_monotonic_time();
	tl->started_wall_us = g_get_real_time();
	inst->state = INST_REPLICA_LIVE;
	announce_unprotected(inst);
	vm_adopt(inst, tl->restore.qemu_pid);
	if (inst->backup)
		heartbeat_start(inst->h);
}

void failover_instance(struct instance *inst, const char *reason, int64_t last_hb_us,
		       int64_t last_hb_wall_us)
{
	struct failover_timeline *tl = &inst->failover;
	GError *error = NULL;

	if (inst->state == INST_REPLICA_LIVE || inst->state == INST_FAILOVER_FAILED ||
	    inst->state == INST_RESTORING)
		return;
	if (hostd_instance_is_vm(inst->cfg) && (!inst->ckpt || !inst->ckpt->store.valid)) {
		/* Fencing now would only end the instance: a primary that was just
		 * slow could never be acknowledged again, and one that died is
		 * lost either way (a second failure before its first checkpoint
		 * here, e.g. right after a re-protection began). */
		g_warning("instance %s: its primary seems to have failed (%s), but no checkpoint of "
			  "it is stored here yet: this host can neither restore it nor fence it",
			  inst->name, reason);
		g_free(inst->last_error);
		inst->last_error = g_strdup_printf("primary failed (%s) before the first checkpoint "
						   "was stored here", reason);
		return;
	}
	failover_timeline_clear(tl);
	tl->reason = g_strdup(reason);
	tl->last_heartbeat_us = last_hb_us;
	tl->last_heartbeat_wall_us = last_hb_wall_us;
	tl->detected_us = g_get_monotonic_time();
	tl->detected_wall_us = g_get_real_time();
	tl->vm = hostd_instance_is_vm(inst->cfg);
	instance_take_over(inst);
	if (inst->stream)
		session_close(inst->stream, "fenced: the instance fails over to this host");
	ckpt_recv_close(inst, "fenced: the instance fails over to this host");
	g_message("instance %s: failing over: %s", inst->name, reason);
	if (tl->vm)
		inst->state = INST_RESTORING;
	if (!dump_and_start(inst, &error)) {
		failed(inst, error->message);
		g_error_free(error);
		return;
	}
	if (!tl->vm) {
		inst->state = INST_REPLICA_LIVE;
		announce_unprotected(inst);
	}
}

static gboolean remind(gpointer data)
{
	struct hostd *h = data;
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, h->instances);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		const struct instance *inst = v;

		if (inst->state == INST_REPLICA_LIVE)
			g_warning("instance %s: still UNPROTECTED: its replica has run here without a "
				  "backup for %.0f s; configure a reprotect host, or see its status",
				  inst->name, ms_between(inst->failover.started_us,
							 g_get_monotonic_time()) / 1000.0);
	}
	return G_SOURCE_CONTINUE;
}

void failover_start_reminders(struct hostd *h)
{
	h->reminder_tag = g_timeout_add_seconds(REMINDER_S, remind, h);
}
