/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ftmb-hostd's configuration: a GKeyFile (default /etc/ftmb/hostd.conf), then
 * command-line overrides, then one validation pass that says exactly which
 * key is wrong and what would be right. The same file can be installed on
 * every host: each host finds its own name in it and takes the primary role
 * for the instances whose primary it is, the backup role for the others.
 *
 *   [hostd]
 *   name = hostB                      # this host (default: the host name)
 *   listen = 0.0.0.0:7400             # replication and heartbeats
 *   control_socket = /run/ftmb/hostd.sock
 *   state_dir = /run/ftmb             # replay files and replica logs
 *   heartbeat_interval_ms = 5
 *   failure_timeout_ms = 30
 *   max_log_mb = 256                  # per protected instance
 *   max_instances = 64
 *
 *   [peers]                           # the hosts this one trusts
 *   hostA = 192.0.2.1:7400
 *   hostB = 192.0.2.2:7400
 *
 *   accel_probe = ftmb-accel-probe    # answers kvm or tcg, for accel = auto
 *
 *   [instance nat1]
 *   primary = hostA
 *   backup = hostB
 *   reprotect = hostC                 # VMs: once hostB runs the replica, it
 *                                     # checkpoints it to hostC (optional)
 *   on_backup_lost = halt             # or degrade
 *   replica_vhost = ftmb-vhost --replay %LOG% ...     # %LOG%: the replay file
 *                                     # %BACKUP_KEY%: ",backup=HOST:PORT" of the
 *                                     # host that re-protects the replica, or ""
 *   replica_middlebox = /usr/lib/ftmb/nat ...         # %INSTANCE%: the name
 *   replica_start = on-failover       # or standby: started at once, waiting
 *                                     # for the replay file %LOG%
 *
 * A VM instance (kernel set): hostd runs the VM itself, from one QEMU
 * command line that it builds from these keys (vm_cmdline.h) and uses
 * identically on the primary (launch, then checkpoints every
 * checkpoint_interval_ms to the backup) and on the backup (restore). The
 * ftmb-vhost serving vhost_socket, with region= and cut=pause, runs beside
 * it on each host.
 *   kernel = /var/lib/ftmb/vmlinux    initrd = ...    append = console=ttyS0 ...
 *   memory_mb = 256                   smp = 1
 *   qemu = qemu-system-x86_64         machine = pc-i440fx-7.2
 *   accel = auto                      # kvm, tcg, or auto: ask accel_probe
 *   ram_file = /dev/shm/ftmb-nat1-ram # the guest RAM's file (shared with ftmb-vhost)
 *   vhost_socket = /run/ftmb/nat1.vhost
 *   queues = 1                        # virtio-net queue pairs
 *   mac = 02:f7:00:00:00:01           # the guest NIC's MAC (default: QEMU's);
 *                                     # the one ftmb-vhost's mac= announces
 *   queue_size = 256                  # virtio-net RX and TX ring sizes
 *   region = /dev/shm/ftmb-nat1       # ftmb-vhost's region file
 *   region_size = 512K                # its size, a power of two
 *   checkpoint_interval_ms = 50
 *
 * Without [peers], the daemon accepts replication streams from any address
 * (and says so loudly at start); with it, only from the listed addresses.
 */
#ifndef HOSTD_CONFIG_H
#define HOSTD_CONFIG_H

#include <glib.h>

#include "net.h"

enum hostd_policy {
	HOSTD_POLICY_HALT,    /* the primary stops releasing while its backup is lost */
	HOSTD_POLICY_DEGRADE, /* it releases unprotected, loudly */
};

struct hostd_peer_cfg {
	char *name;
	char *address_text;
	struct net_address address;
};

/* How to run an instance's VM; kernel == NULL: the instance is no VM. */
struct hostd_vm_cfg {
	char *kernel, *initrd, *append;
	char *qemu, *machine, *accel;
	guint memory_mb, smp, queues;
	char *mac;        /* NULL: QEMU's default */
	guint queue_size; /* 0: QEMU's default */
	char *ram_file;
	char *vhost_socket;
	char *region;
	guint64 region_size;
	guint checkpoint_interval_ms;
};

struct hostd_instance_cfg {
	char *name;
	char *primary; /* a peer name, or this host's */
	char *backup;
	char *reprotect; /* NULL: the replica runs unprotected */
	enum hostd_policy on_backup_lost;
	char **replica_vhost;     /* argv, NULL when unset */
	char **replica_middlebox; /* argv, NULL when unset */
	gboolean replica_standby; /* replica_start = standby */
	struct hostd_vm_cfg vm;
};

static inline gboolean hostd_instance_is_vm(const struct hostd_instance_cfg *inst)
{
	return inst && inst->vm.kernel != NULL;
}

struct hostd_config {
	char *name;
	char *listen_text;
	struct net_address listen;
	char *control_socket;
	char *state_dir;
	guint heartbeat_interval_ms;
	guint failure_timeout_ms;
	guint max_log_mb;
	guint max_instances;
	char *accel_probe;
	GPtrArray *peers;     /* struct hostd_peer_cfg * */
	GPtrArray *instances; /* struct hostd_instance_cfg * */
};

/* The defaults, before any file or option. */
struct hostd_config *hostd_config_new(void);
void hostd_config_free(struct hostd_config *cfg);

/* Reads a key file (from a path, or from memory for tests) over cfg. */
gboolean hostd_config_load_file(struct hostd_config *cfg, const char *path, GError **error);
gboolean hostd_config_load_data(struct hostd_config *cfg, const char *data, GError **error);
gboolean hostd_config_load_keyfile(struct hostd_config *cfg, GKeyFile *kf, GError **error);

/* Adds or replaces a trusted peer from "NAME=ADDRESS" (the --peer option). */
gboolean hostd_config_add_peer(struct hostd_config *cfg, const char *spec, GError **error);

/* Checks everything and resolves addresses; call once after all overrides. */
gboolean hostd_config_validate(struct hostd_config *cfg, GError **error);

const struct hostd_peer_cfg *hostd_config_peer(const struct hostd_config *cfg, const char *name);
const struct hostd_instance_cfg *hostd_config_instance(const struct hostd_config *cfg,
							 const char *name);

/* A name usable on the wire (HELLO): 1..63 of [A-Za-z0-9._-]. */
gboolean hostd_valid_name(const char *name);

const char *hostd_policy_name(enum hostd_policy p);

#endif
