/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The primary side of a VM instance: hostd launches QEMU itself (the
 * embedded default; libvirt comes later) and protects it with checkpoints.
 *
 *   1. Waits for ftmb-vhost's vhost-user socket, then starts QEMU with the
 *      instance's command line (vm_cmdline.h); its output goes to
 *      <state_dir>/<instance>.qemu.log. hostd owns the VM: it stops it when
 *      hostd stops.
 *   2. Connects to QEMU's QMP socket.
 *   3. Protection: opens a TCP connection to the backup hostd, says HELLO
 *      (role CHECKPOINT, the instance's name), waits for the backup's HELLO,
 *      then hands the socket to QEMU (QMP getfd, SCM_RIGHTS) and starts
 *      checkpoints (x-ftmb-start, the region's memory backend always
 *      dirty). QEMU's writer thread streams every checkpoint straight to
 *      the backup; hostd never copies checkpoint bytes. It keeps its own
 *      descriptor of the socket only to see the backup close it and to
 *      shut it down.
 *   4. Every checkpoint_interval_ms, x-ftmb-checkpoint (never two at once);
 *      each answer (seq, pause, dirty pages, bytes) is kept for status and
 *      stats. x-ftmb-checkpoint holds QEMU's global lock while the previous
 *      frame is still being written: a backup that stops reading would
 *      freeze the VM. So a checkpoint unanswered for checkpoint_timeout
 *      (max(2 s, 40 intervals)) shuts the socket down, which unblocks QEMU.
 *   5. A failed checkpoint, a closed stream or a refused HELLO ends this
 *      protection (x-ftmb-stop) and starts a new one after a backoff, with a
 *      full checkpoint.
 *   6. An operator can ask for a checkpoint at once (vm_request_checkpoint);
 *      it is taken as soon as none is in flight, and the timer goes on.
 */
#ifndef HOSTD_VM_H
#define HOSTD_VM_H

#include <glib.h>
#include <stdint.h>

struct hostd;
struct instance;
struct qmp;
struct conn;

enum vm_state {
	VM_WAITING_VHOST, /* ftmb-vhost's socket is not there yet */
	VM_STARTING,      /* QEMU started, QMP not answered yet */
	VM_RUNNING,
	VM_EXITED,
};

enum vm_protection {
	PROT_OFF,        /* not started, or waiting to start again */
	PROT_CONNECTING, /* the checkpoint connection to the backup */
	PROT_STARTING,   /* getfd, x-ftmb-start */
	PROT_ON,         /* checkpoints flow */
};

/* One checkpoint as QEMU reported it. */
struct vm_ckpt {
	uint64_t seq;
	uint64_t pause_us;    /* stop to resume, inside QEMU */
	uint64_t dirty_pages;
	uint64_t bytes;       /* RAM records and device state */
	uint64_t qmp_us;      /* the x-ftmb-checkpoint round trip, seen from hostd */
};

#define VM_RECENT 1024u /* incremental checkpoints kept for percentiles */

/* An operator's request for a checkpoint (ftmbctl checkpoint) is answered
 * with the first checkpoint that started after it, or with why none will. */
typedef void (*vm_ckpt_done_fn)(const struct vm_ckpt *c, const char *error, gpointer data);

struct vm {
	struct instance *inst;
	char **argv;
	char *accel;
	char *qmp_path, *monitor_path, *serial_path, *log_path;
	enum vm_state state;
	GPid pid;
	int exit_status;
	guint wait_tag, wait_polls, child_tag;
	struct qmp *qmp;

	enum vm_protection prot;
	struct conn *hello;  /* PROT_CONNECTING */
	int stream_fd;       /* our descriptor of the checkpoint socket */
	guint stream_tag;
	guint tick_tag, retry_tag;
	guint backoff_ms;
	gboolean in_flight;
	int64_t sent_us;
	int64_t protected_since_wall_us;
	uint64_t protections; /* started */

	uint64_t checkpoints, failures;
	uint64_t this_protection; /* checkpoints of the current protection */
	struct vm_ckpt last;
	struct vm_ckpt last_full; /* the first of a protection: every page */
	int64_t last_wall_us;
	uint64_t incremental;	  /* checkpoints in recent[], ever */
	struct vm_ckpt recent[VM_RECENT];
	char *last_error;
	GSList *waiters; /* struct vm_waiter: operators' checkpoint requests */
	gboolean restored;	   /* restored here by a failover (vm_adopt) */
	struct handover *handover; /* a planned failover under way (handover.h) */
	char *handed_to;	   /* the backup it was handed over to: QEMU is gone */
};

/* Starts the VM of every VM instance this host is primary for. */
void vm_start_all(struct hostd *h);

/* A VM restored here by a failover (running QEMU pid) becomes this host's
 * to watch and stop, like one it launched; with a backup (the instance's
 * reprotect host) it is checkpointed to it once its replay is done: the
 * first checkpoint is a full one, and the instance is protected again. */
void vm_adopt(struct instance *inst, GPid pid);

/* Asks for a checkpoint now, without waiting for the next interval; done
 * is called later, from the main loop. Returns NULL, or why the request is
 * refused (done is then never called). */
const char *vm_request_checkpoint(struct vm *vm, vm_ckpt_done_fn done, gpointer data);

/* Planned failover (handover.h): the checkpoint timer stops (a checkpoint
 * in flight still completes) and starts again. */
void vm_suspend_checkpoints(struct vm *vm);
void vm_resume_checkpoints(struct vm *vm);

/* The backup has taken the instance over: QEMU is killed, and this VM is
 * never protected or started again here. */
void vm_hand_over(struct vm *vm, const char *to);

/* Stops checkpoints and the VMs (hostd is stopping). */
void vm_stop_all(struct hostd *h);

/* The accelerator for this host: "kvm" or "tcg" as the instance's accel
 * key says, "auto" asking [hostd] accel_probe once. NULL with error set. */
const char *vm_accel(struct hostd *h, const char *want, GError **error);

/* The instance's command line on this host (g_strfreev), or NULL with error
 * set (no accelerator). */
char **vm_argv(struct instance *inst, GError **error);

/* <state_dir>/<instance><suffix>, g_free it. */
char *vm_path(const struct instance *inst, const char *suffix);

const char *vm_state_name(enum vm_state st);
const char *vm_protection_name(enum vm_protection p);

/* Percentile p (0..100) of a field of the recent incremental checkpoints
 * (the last VM_RECENT); 0 without any. */
uint64_t vm_recent_percentile(const struct vm *vm, size_t field_offset, double p);

#endif
