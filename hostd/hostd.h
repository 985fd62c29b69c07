/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ftmb-hostd's state, shared by its modules:
 *
 *   backup.c    the listener and the sessions peers open to it: a ftmb-vhost
 *               streaming an instance's log (role VHOST), a primary hostd's
 *               heartbeats (role HOSTD), or a probe such as ftmb-ping
 *   instance.c  the protected instances this host knows, and their logs
 *   monitor.c   backup side: a primary's heartbeats, and declaring it failed
 *   failover.c  backup side: dump the log, start the replica, the timeline
 *   heartbeat.c primary side: heartbeats to each of our instances' backups
 *   vm.c        primary side: a VM instance's QEMU and its checkpoints
 *   ckpt_recv.c backup side: checkpoint streams, the store, commits
 *   control.c   the operator's control socket
 *
 * Peer connections of role HOSTD use the HELLO fields this way: instance is
 * the sending host's name (a [peers] name), n_threads = n_vars = 1, and
 * generation identifies the daemon's incarnation (its start time in µs), so
 * a restarted primary is told from a reconnecting one.
 */
#ifndef HOSTD_HOSTD_H
#define HOSTD_HOSTD_H

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "ckpt_recv.h"
#include "commit.h"
#include "config.h"
#include "conn.h"
#include "logstore.h"
#include "vm.h"
#include "vm_restore.h"

enum instance_state {
	INST_CONNECTING,	     /* primary here, backup not reached yet */
	INST_PROTECTED,		     /* primary here, backup answers heartbeats */
	INST_BACKUP_LOST,	     /* primary here, backup silent: policy applies */
	INST_WAITING,		     /* backup here, no log stream yet */
	INST_RECEIVING,		     /* backup here, log stream open */
	INST_STREAM_DOWN,	     /* backup here, stream ended; log kept */
	INST_RESTORING,		     /* failing over: its VM is being restored here */
	INST_REPLICA_LIVE,	     /* failed over: the replica runs here, unprotected */
	INST_FAILOVER_FAILED,	     /* failover was attempted and did not start */
};

struct session;

/* What happened when this host promoted an instance's replica. Monotonic
 * times (µs, g_get_monotonic_time) measure; wall times (µs since the epoch)
 * are for people. */
struct failover_timeline {
	char *reason;
	int64_t last_heartbeat_us, last_heartbeat_wall_us;
	int64_t detected_us, detected_wall_us;
	int64_t dumped_us;
	int64_t started_us, started_wall_us;
	char *dump_path;
	GPid pid[2];	   /* replica_vhost, replica_middlebox (0: none) */
	int exit_status[2];  /* valid once exited[i] */
	gboolean exited[2];
	gboolean standby;    /* the replicas were started before the failure */
	gboolean vm;	   /* a VM instance: restore holds the rest */
	struct vm_restore_stats restore;
	int64_t reprotected_us; /* the first full checkpoint to the new backup (0: none) */
};

struct instance {
	struct hostd *h;
	char *name;
	const struct hostd_instance_cfg *cfg; /* NULL: streamed to us, not configured */
	/* The hosts that run it and back it up now, as this host knows them:
	 * from the configuration, until the instance fails over to this host
	 * (primary: this host; backup: the reprotect host, or NULL). */
	const char *primary, *backup;
	enum instance_state state;
	gboolean stream_leaving; /* its ftmb-vhost said it stops on purpose */
	gboolean have_log;
	struct logstore log;
	struct session *stream; /* the open VHOST session, if any */
	char *stream_peer;
	char *last_error;
	uint64_t streams, stream_errors, acks_sent;
	struct failover_timeline failover;
	struct cutq cuts;	/* CUT frames not committed yet (commit.h) */
	struct ckpt_recv *ckpt; /* backup of a VM instance: its checkpoints */
	struct vm *vm;		/* primary of a VM instance: its QEMU */
};

struct peer {
	struct hostd *h;
	const struct hostd_peer_cfg *cfg;

	/* It is primary for instances we back up: its heartbeats to us. */
	struct session *hb_in;
	uint64_t generation;
	int64_t last_heartbeat_us, last_heartbeat_wall_us;
	uint64_t heartbeats_in;
	GSource *deadline; /* fires failure_timeout_ms after the last heartbeat */
	gboolean leaving;  /* it said it stops on purpose */
	gboolean failed;
	char *failure;

	/* It is the backup of instances we are primary for: our heartbeats. */
	gboolean backs_us_up;
	struct conn *hb_out;
	gboolean hb_out_up; /* HELLO answered */
	guint hb_timer, reconnect_timer;
	guint backoff_ms;
	uint64_t hb_seq;
	int64_t last_echo_us;
	int64_t rtt_last_us, rtt_min_us, rtt_max_us;
	gboolean backup_lost;
	uint64_t echoes;
};

struct hostd {
	struct hostd_config *cfg;
	GMainLoop *loop;
	uint64_t generation; /* this daemon's start time, µs since the epoch */
	int64_t started_us;
	gboolean leaving;
	GHashTable *peers;     /* name -> struct peer * */
	GHashTable *instances; /* name -> struct instance * */
	GHashTable *sessions;  /* struct session * set */
	int listen_fd;
	guint listen_tag;
	struct control *control;
	guint reminder_tag;
	char *accel; /* accel_probe's answer, once asked */
	uint64_t accepted, refused, protocol_errors;
	FILE *ack_log; /* --ack-log, for tests; NULL normally */
};

/* backup.c */
gboolean backup_start(struct hostd *h, GError **error);
void backup_stop(struct hostd *h);
void session_close(struct session *s, const char *reason);
const char *session_peer(const struct session *s);
/* The configured peer a primary hostd's session comes from, or NULL. */
struct peer *session_hostd_peer(const struct session *s);
void session_send(struct session *s, const void *buf, size_t len);
/* Tells the instance's ftmb-vhost that the checkpoint of epoch is committed. */
void session_send_committed(struct session *s, uint64_t epoch);

/* instance.c */
struct instance *instance_lookup(struct hostd *h, const char *name);
void instances_init(struct hostd *h);
void instances_free(struct hostd *h);
/* Binds a VHOST stream to its instance (creating or resetting its log as
 * the HELLO's generation says); FALSE with error when it must be refused. */
struct instance *instance_attach_stream(struct hostd *h, const struct ftmb_repl_hello *hello,
					struct session *s, const struct sockaddr *from,
					GError **error);
void instance_detach_stream(struct instance *inst, enum conn_end end, const char *reason);
const char *instance_state_name(enum instance_state st);
/* The instance fails over to this host: it is the primary now, protected
 * by the configured reprotect host if there is one. */
void instance_take_over(struct instance *inst);
const char *instance_role(const struct instance *inst);

/* monitor.c */
void monitor_init(struct hostd *h);
struct peer *peer_lookup(struct hostd *h, const char *name);
void monitor_attach(struct peer *p, struct session *s, uint64_t generation);
void monitor_heartbeat(struct peer *p, uint32_t state);
void monitor_detach(struct peer *p, struct session *s, enum conn_end end, const char *reason);
void monitor_free(struct hostd *h);
/* The primary of an instance is gone (reason says how): fail over every
 * instance it protects here. */
void monitor_primary_failed(struct peer *p, const char *reason);

/* failover.c */
void failover_instance(struct instance *inst, const char *reason, int64_t last_hb_us,
		       int64_t last_hb_wall_us);
void failover_start_reminders(struct hostd *h);
/* replica_start = standby: start the replicas of the instances backed up
 * here at once, and stop the unused ones when the daemon stops. */
void failover_start_standby(struct hostd *h);
void failover_stop_standby(struct hostd *h);
void failover_timeline_clear(struct failover_timeline *tl);
/* Starts replica command which (0: replica_vhost, 1: replica_middlebox)
 * with %LOG% and %INSTANCE% expanded; its output goes beside the replay
 * file. */
gboolean failover_spawn_replica(struct instance *inst, int which, char **argv, GError **error);

/* heartbeat.c */
/* Heartbeats to every peer that is now the backup of an instance this host
 * runs (called again when a failover gives this host a new backup). */
void heartbeat_start(struct hostd *h);
void heartbeat_stop(struct hostd *h);
/* The state of an instance this host is primary for. */
enum instance_state heartbeat_instance_state(struct hostd *h, const struct instance *inst);

/* control.c */
gboolean control_start(struct hostd *h, GError **error);
void control_stop(struct hostd *h);

#endif
