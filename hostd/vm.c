// SPDX-License-Identifier: GPL-2.0-or-later
/* The primary side of a VM instance: launch, QMP, checkpoints (see vm.h). */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <glib-unix.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handover.h"
#include "hostd.h"
#include "qmp.h"
#include "vm.h"
#include "vm_cmdline.h"

#define QMP_TIMEOUT_MS 30000
#define VHOST_POLL_MS 100
#define VHOST_REMIND_S 10
#define BACKOFF_MIN_MS 200u
#define BACKOFF_MAX_MS 5000u
#define CKPT_FD_NAME "ftmb-ckpt"
#define RECORD_POLL_MS 20
#define RECORD_REMIND_S 30

static void protect(struct vm *vm);
static void unprotect(struct vm *vm, const char *why);

const char *vm_state_name(enum vm_state st)
{
	switch (st) {
	case VM_WAITING_VHOST: return "waiting-for-vhost";
	case VM_STARTING: return "starting";
	case VM_RUNNING: return "running";
	case VM_EXITED: return "exited";
	}
	return "?";
}

const char *vm_protection_name(enum vm_protection p)
{
	switch (p) {
	case PROT_OFF: return "off";
	case PROT_CONNECTING: return "connecting";
	case PROT_STARTING: return "starting";
	case PROT_ON: return "checkpointing";
	}
	return "?";
}

char *vm_path(const struct instance *inst, const char *suffix)
{
	return g_strdup_printf("%s/%s%s", inst->h->cfg->state_dir, inst->name, suffix);
}

/* Runs the probe command and takes its last line of output. */
static char *probe_accel(const char *probe, GError **error)
{
	char **argv = NULL, *out = NULL, *answer = NULL;
	int status;

	if (g_shell_parse_argv(probe, NULL, &argv, error) &&
	    g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
			 NULL, &out, NULL, &status, error) &&
	    g_spawn_check_wait_status(status, error)) {
		char **lines = g_strsplit(g_strstrip(out), "\n", -1);
		guint n = g_strv_length(lines);

		answer = n ? g_strdup(g_strstrip(lines[n - 1])) : g_strdup("");
		g_strfreev(lines);
		if (strcmp(answer, "kvm") && strcmp(answer, "tcg")) {
			g_set_error(error, HOSTD_ERROR, 0, "accel_probe %s answered \"%s\", not kvm or tcg",
				    probe, answer);
			g_clear_pointer(&answer, g_free);
		}
	}
	if (error && *error)
		g_prefix_error(error, "accel = auto: ");
	g_strfreev(argv);
	g_free(out);
	return answer;
}

const char *vm_accel(struct hostd *h, const char *want, GError **error)
{
	if (strcmp(want, "auto"))
		return want;
	if (!h->accel) {
		h->accel = probe_accel(h->cfg->accel_probe, error);
		if (h->accel)
			g_message("accelerator for VMs on this host: %s (from %s)", h->accel,
				  h->cfg->accel_probe);
	}
	return h->accel;
}

char **vm_argv(struct instance *inst, GError **error)
{
	const char *accel = vm_accel(inst->h, inst->cfg->vm.accel, error);
	char *qmp = vm_path(inst, ".qmp"), *monitor = vm_path(inst, ".monitor"),
	     *serial = vm_path(inst, ".serial");
	struct vm_paths paths = { .qmp = qmp, .monitor = monitor, .serial = serial };
	char **argv = accel ? vm_cmdline(inst->cfg, accel, &paths) : NULL;

	g_free(qmp);
	g_free(monitor);
	g_free(serial);
	return argv;
}

uint64_t vm_recent_percentile(const struct vm *vm, size_t field_offset, double p)
{
	size_t n = MIN(vm->incremental, VM_RECENT);
	uint64_t *v;
	uint64_t r;

	if (!n)
		return 0;
	v = g_new(uint64_t, n);
	for (size_t i = 0; i < n; i++)
		memcpy(&v[i], (const char *)&vm->recent[i] + field_offset, sizeof(uint64_t));
	for (size_t i = 1; i < n; i++) /* insertion sort: n <= VM_RECENT, asked rarely */
		for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint64_t t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	r = v[(size_t)(p / 100.0 * (double)(n - 1) + 0.5)];
	g_free(v);
	return r;
}

static void set_error(struct vm *vm, const char *why)
{
	g_free(vm->last_error);
	vm->last_error = g_strdup(why);
}

/* ---- checkpoints ---- */

static guint ckpt_timeout_ms(const struct vm *vm)
{
	return MAX(2000u, 40u * vm->inst->cfg->vm.checkpoint_interval_ms);
}

static uint64_t member_u64(JsonObject *o, const char *name)
{
	return (uint64_t)json_object_get_int_member_with_default(o, name, 0);
}

struct vm_waiter {
	int64_t asked_us;
	vm_ckpt_done_fn done;
	gpointer data;
};

static void start_checkpoint(struct vm *vm);

/* Answers the requests made before checkpoint c started (c NULL: all of
 * them, with error). */
static void answer_waiters(struct vm *vm, const struct vm_ckpt *c, const char *error)
{
	GSList *keep = NULL;

	for (GSList *l = vm->waiters; l; l = l->next) {
		struct vm_waiter *w = l->data;

		if (c && w->asked_us > vm->sent_us) {
			keep = g_slist_prepend(keep, w);
			continue;
		}
		w->done(c, error, w->data);
		g_free(w);
	}
	g_slist_free(vm->waiters);
	vm->waiters = g_slist_reverse(keep);
}

const char *vm_request_checkpoint(struct vm *vm, vm_ckpt_done_fn done, gpointer data)
{
	struct vm_waiter *w;

	if (vm->prot != PROT_ON)
		return "the VM is not protected right now (see status: vm.protection, last_error)";
	w = g_new0(struct vm_waiter, 1);
	w->asked_us = g_get_monotonic_time();
	w->done = done;
	w->data = data;
	vm->waiters = g_slist_append(vm->waiters, w);
	if (!vm->in_flight)
		start_checkpoint(vm);
	return NULL;
}

static gboolean on_tick(gpointer data);

void vm_suspend_checkpoints(struct vm *vm)
{
	if (vm->tick_tag)
		g_source_remove(vm->tick_tag);
	vm->tick_tag = 0;
}

void vm_resume_checkpoints(struct vm *vm)
{
	if (vm->prot == PROT_ON && !vm->tick_tag)
		vm->tick_tag = g_timeout_add_full(G_PRIORITY_HIGH,
						  vm->inst->cfg->vm.checkpoint_interval_ms, on_tick,
						  vm, NULL);
}

void vm_hand_over(struct vm *vm, const char *to)
{
	vm->handed_to = g_strdup(to);
	unprotect(vm, "the instance was handed over to its backup");
	if (vm->pid)
		kill(vm->pid, SIGKILL);
}

/* The replica running here since a failover has its first full checkpoint
 * at its new backup: it is a protected primary again. */
static void reprotected(struct vm *vm)
{
	struct failover_timeline *tl = &vm->inst->failover;

	tl->reprotected_us = g_get_monotonic_time();
	vm->inst->state = INST_PROTECTED;
	g_message("instance %s: RE-PROTECTED by %s: first full checkpoint (%" G_GUINT64_FORMAT
		  " bytes) sent %.1f ms after the replica went live", vm->inst->name,
		  vm->inst->backup, vm->last_full.bytes,
		  (double)(tl->reprotected_us - tl->started_us) / 1000.0);
}

static void on_checkpoint(struct qmp *q, JsonNode *ret, const char *error, gpointer data)
{
	struct vm *vm = data;
	struct vm_ckpt c = { 0 };
	JsonObject *o;

	(void)q;
	vm->in_flight = FALSE;
	if (vm->prot != PROT_ON)
		return;
	if (error || !ret || !JSON_NODE_HOLDS_OBJECT(ret)) {
		char *why = g_strdup_printf("x-ftmb-checkpoint: %s", error ? error : "no answer");

		unprotect(vm, why);
		g_free(why);
		return;
	}
	o = json_node_get_object(ret);
	c.seq = member_u64(o, "seq");
	c.pause_us = member_u64(o, "pause-us");
	c.dirty_pages = member_u64(o, "dirty-pages");
	c.bytes = member_u64(o, "ram-bytes") + member_u64(o, "dev-bytes");
	c.qmp_us = (uint64_t)(g_get_monotonic_time() - vm->sent_us);
	if (vm->this_protection++ == 0) {
		vm->last_full = c;
		if (vm->inst->state == INST_REPLICA_LIVE)
			reprotected(vm);
	} else
		vm->recent[vm->incremental++ % VM_RECENT] = c;
	vm->last = c;
	vm->last_wall_us = g_get_real_time();
	vm->checkpoints++;
	g_debug("instance %s: checkpoint %" G_GUINT64_FORMAT ": pause %" G_GUINT64_FORMAT
		" us, %" G_GUINT64_FORMAT " dirty pages, %" G_GUINT64_FORMAT " bytes",
		vm->inst->name, c.seq, c.pause_us, c.dirty_pages, c.bytes);
	answer_waiters(vm, &c, NULL);
	if (vm->waiters)
		start_checkpoint(vm);
}

static void start_checkpoint(struct vm *vm)
{
	vm->in_flight = TRUE;
	vm->sent_us = g_get_monotonic_time();
	qmp_execute(vm->qmp, "x-ftmb-checkpoint", NULL, -1, on_checkpoint, vm);
}

/* Every interval: the next checkpoint, unless one is still in flight; a
 * checkpoint in flight too long means the backup stopped reading. */
static gboolean on_tick(gpointer data)
{
	struct vm *vm = data;
	int64_t now = g_get_monotonic_time();

	if (vm->in_flight) {
		if (now - vm->sent_us > (int64_t)ckpt_timeout_ms(vm) * 1000 && vm->stream_fd >= 0) {
			g_warning("instance %s: checkpoint unanswered for %u ms: the backup does not "
				  "read the stream; shutting it down to unblock QEMU",
				  vm->inst->name, ckpt_timeout_ms(vm));
			shutdown(vm->stream_fd, SHUT_RDWR);
		}
		return G_SOURCE_CONTINUE;
	}
	start_checkpoint(vm);
	return G_SOURCE_CONTINUE;
}

/* The backup never writes on the checkpoint stream: readable means it
 * closed or reset it. */
static gboolean on_stream_event(gint fd, GIOCondition cond, gpointer data)
{
	struct vm *vm = data;
	char byte;
	ssize_t n = recv(fd, &byte, 1, MSG_DONTWAIT);

	(void)cond;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	vm->stream_tag = 0;
	unprotect(vm, n == 0 ? "the backup closed the checkpoint stream"
		      : n > 0 ? "the backup wrote on the checkpoint stream"
			      : "the checkpoint stream failed");
	return G_SOURCE_REMOVE;
}

static void on_ftmb_start(struct qmp *q, JsonNode *ret, const char *error, gpointer data)
{
	struct vm *vm = data;

	(void)q;
	(void)ret;
	if (vm->prot != PROT_STARTING)
		return;
	if (error) {
		char *why = g_strdup_printf("x-ftmb-start: %s", error);

		unprotect(vm, why);
		g_free(why);
		return;
	}
	vm->prot = PROT_ON;
	vm->backoff_ms = BACKOFF_MIN_MS;
	vm->protected_since_wall_us = g_get_real_time();
	vm->stream_tag = g_unix_fd_add(vm->stream_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stream_event,
				       vm);
	vm_resume_checkpoints(vm);
	g_message("instance %s: checkpoints to backup %s every %u ms", vm->inst->name,
		  vm->inst->backup, vm->inst->cfg->vm.checkpoint_interval_ms);
}

static void on_getfd(struct qmp *q, JsonNode *ret, const char *error, gpointer data)
{
	struct vm *vm = data;
	JsonBuilder *b;

	(void)ret;
	if (vm->prot != PROT_STARTING)
		return;
	if (error) {
		char *why = g_strdup_printf("getfd: %s", error);

		unprotect(vm, why);
		g_free(why);
		return;
	}
	b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "fd");
	json_builder_add_string_value(b, CKPT_FD_NAME);
	json_builder_set_member_name(b, "always-dirty");
	json_builder_begin_array(b);
	json_builder_add_string_value(b, VM_REGION_MEMDEV);
	json_builder_end_array(b);
	json_builder_end_object(b);
	qmp_execute(q, "x-ftmb-start", json_builder_get_root(b), -1, on_ftmb_start, vm);
	g_object_unref(b);
}

/* The backup said HELLO: the socket is QEMU's from now on. */
static void hand_to_qemu(struct vm *vm, int fd)
{
	JsonBuilder *b = json_builder_new();

	vm->stream_fd = fd;
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "fdname");
	json_builder_add_string_value(b, CKPT_FD_NAME);
	json_builder_end_object(b);
	qmp_execute(vm->qmp, "getfd", json_builder_get_root(b), fd, on_getfd, vm);
	g_object_unref(b);
}

static void on_hello_connected(struct conn *c)
{
	struct vm *vm = c->owner;
	struct ftmb_repl_hello hello = {
		.role = FTMB_ROLE_CHECKPOINT,
		.n_threads = 1,
		.n_vars = 1,
		.generation = vm->inst->h->generation,
	};
	uint8_t buf[256];
	int len;

	g_strlcpy(hello.instance, vm->inst->name, sizeof(hello.instance));
	len = ftmb_repl_put_hello(buf, sizeof(buf), &hello);
	conn_send(c, buf, (size_t)len);
}

static gboolean on_hello_frame(struct conn *c, const struct ftmb_repl_frame *f, GError **error)
{
	struct vm *vm = c->owner;
	struct ftmb_repl_hello hello;
	GByteArray *rest;
	int rc = f->type == FTMB_REPL_HELLO ? ftmb_repl_get_hello(f, &hello) : FTMB_E_TYPE;
	int fd;

	if (rc)
		return hostd_error(error, rc, "backup %s: bad answer to the checkpoint HELLO",
				   vm->inst->backup);
	if (hello.role != FTMB_ROLE_BACKUP)
		return hostd_error(error, FTMB_E_RANGE, "backup %s answered with role %u",
				   vm->inst->backup, hello.role);
	vm->prot = PROT_STARTING; /* the connection's end is not a failure now */
	vm->hello = NULL;
	rest = g_byte_array_new();
	fd = conn_detach(c, rest, "handed to QEMU");
	if (fd >= 0 && rest->len) {
		close(fd);
		fd = -1;
	}
	g_byte_array_free(rest, TRUE);
	if (fd < 0)
		unprotect(vm, "the backup's HELLO was not the end of its answer, or sending failed");
	else
		hand_to_qemu(vm, fd);
	return TRUE;
}

static void on_hello_closed(struct conn *c, enum conn_end end, const char *reason)
{
	struct vm *vm = c->owner;

	vm->hello = NULL;
	if (vm->prot == PROT_CONNECTING) {
		char *why = g_strdup_printf("checkpoint connection to %s: %s (%s)",
					    vm->inst->backup, reason, conn_end_name(end));

		unprotect(vm, why);
		g_free(why);
	}
}

static const struct conn_ops hello_ops = {
	.connected = on_hello_connected,
	.frame = on_hello_frame,
	.closed = on_hello_closed,
};

static gboolean on_retry(gpointer data)
{
	struct vm *vm = data;

	vm->retry_tag = 0;
	protect(vm);
	return G_SOURCE_REMOVE;
}

/* Ends this protection and schedules the next one. */
static void unprotect(struct vm *vm, const char *why)
{
	gboolean was_on = vm->prot == PROT_ON;

	if (vm->prot == PROT_OFF)
		return;
	vm->prot = PROT_OFF;
	vm->failures++;
	set_error(vm, why);
	answer_waiters(vm, NULL, why);
	if (vm->tick_tag)
		g_source_remove(vm->tick_tag);
	if (vm->stream_tag)
		g_source_remove(vm->stream_tag);
	vm->tick_tag = vm->stream_tag = 0;
	if (vm->hello)
		conn_close(vm->hello, CONN_END_LOCAL, why);
	if (vm->stream_fd >= 0)
		close(vm->stream_fd);
	vm->stream_fd = -1;
	if (vm->state == VM_RUNNING) /* QEMU waits for the frame in flight: the socket is gone */
		qmp_execute(vm->qmp, "x-ftmb-stop", NULL, -1, NULL, NULL);
	if (vm->inst->h->leaving || vm->state != VM_RUNNING || vm->handed_to) {
		g_message("instance %s: checkpoints stop: %s", vm->inst->name, why);
		return;
	}
	g_warning("instance %s: %s: NOT PROTECTED by checkpoints%s; retrying in %u ms",
		  vm->inst->name, why, was_on ? " any more" : "", vm->backoff_ms);
	vm->retry_tag = g_timeout_add(vm->backoff_ms, on_retry, vm);
	vm->backoff_ms = MIN(vm->backoff_ms * 2, BACKOFF_MAX_MS);
}

static void protect(struct vm *vm)
{
	const struct hostd_peer_cfg *backup = hostd_config_peer(vm->inst->h->cfg,
								 vm->inst->backup);
	GError *error = NULL;
	int fd;

	vm->prot = PROT_CONNECTING;
	vm->protections++;
	vm->this_protection = 0;
	fd = backup ? net_connect(&backup->address, TRUE, &error) : -1;
	if (fd < 0) {
		char *why = g_strdup_printf("backup %s: %s", vm->inst->backup,
					    error ? error->message : "not a configured peer");

		g_clear_error(&error);
		unprotect(vm, why);
		g_free(why);
		return;
	}
	vm->hello = conn_new(fd, backup->address_text, TRUE, &hello_ops, vm);
}

/* ---- QEMU ---- */

/* Whether the region's mode word says RECORD: a replica's ftmb-vhost
 * writes it once the replay is done (ftmb/region.h). The guest could write
 * it too, and only its own next failover would suffer. */
static gboolean region_records(const char *path)
{
	uint32_t mode = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1
			   : pread(fd, &mode, sizeof(mode), offsetof(struct ftmb_region_header, mode));

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)sizeof(mode) && le32toh(mode) == FTMB_MODE_RECORD;
}

/* A restored VM is protected only once its replay is over: a checkpoint
 * taken while the guest still follows the replayed log would carry replay
 * state private to the guest, which a later replay could not resume. */
static gboolean on_record_wait(gpointer data)
{
	struct vm *vm = data;
	static const guint remind_every = RECORD_REMIND_S * 1000 / RECORD_POLL_MS;

	if (!region_records(vm->inst->cfg->vm.region)) {
		if (++vm->wait_polls % remind_every == 0)
			g_warning("instance %s: NOT re-protected yet: its replica has not finished "
				  "replaying after %u s, or diverged from its log (see the replica "
				  "ftmb-vhost's log in %s)", vm->inst->name,
				  vm->wait_polls * RECORD_POLL_MS / 1000, vm->inst->h->cfg->state_dir);
		return G_SOURCE_CONTINUE;
	}
	vm->wait_tag = 0;
	g_message("instance %s: the replica's replay is done: protecting it with checkpoints to %s",
		  vm->inst->name, vm->inst->backup);
	protect(vm);
	return G_SOURCE_REMOVE;
}

static void on_qmp_state(struct qmp *q, const char *error, gpointer data)
{
	struct vm *vm = data;

	(void)q;
	if (!error) {
		vm->state = VM_RUNNING;
		g_message("instance %s: VM running (QEMU pid %d, %s); QMP %s, operator QMP %s",
			  vm->inst->name, vm->pid, vm->accel, vm->qmp_path, vm->monitor_path);
		if (!vm->inst->backup)
			g_message("instance %s: no backup to protect it", vm->inst->name);
		else if (vm->restored)
			vm->wait_tag = g_timeout_add(RECORD_POLL_MS, on_record_wait, vm);
		else
			protect(vm);
		return;
	}
	/* Without QMP nothing more can be done with this QEMU (it usually has
	 * exited: the child watch says so). */
	g_warning("instance %s: %s", vm->inst->name, error);
	if (vm->state == VM_RUNNING)
		vm->state = VM_STARTING;
	unprotect(vm, error);
}

static void on_qemu_exit(GPid pid, gint status, gpointer data)
{
	struct vm *vm = data;
	GError *error = NULL;

	vm->state = VM_EXITED;
	vm->exit_status = status;
	if (vm->handed_to)
		g_message("instance %s: QEMU (pid %d) killed: the instance runs on %s now",
			  vm->inst->name, pid, vm->handed_to);
	else if (!g_spawn_check_wait_status(status, &error) || !vm->inst->h->leaving)
		g_warning("instance %s: QEMU (pid %d) exited: %s; see %s", vm->inst->name, pid,
			  error ? error->message : "status 0", vm->log_path);
	g_clear_error(&error);
	g_spawn_close_pid(pid);
	vm->pid = 0;
	vm->child_tag = 0;
	unprotect(vm, "QEMU exited");
	if (vm->retry_tag)
		g_source_remove(vm->retry_tag);
	vm->retry_tag = 0;
}

/* The daemon may run at a real-time priority (its systemd unit does); a
 * VM must not inherit it. */
static void child_setup(gpointer data)
{
	struct sched_param sp = { 0 };

	(void)data;
	sched_setscheduler(0, SCHED_OTHER, &sp);
}

static gboolean spawn_qemu(struct vm *vm, GError **error)
{
	int fd = open(vm->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	gboolean ok;

	if (fd < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "opening %s: %s",
			    vm->log_path, g_strerror(errno));
		return FALSE;
	}
	unlink(vm->qmp_path);
	unlink(vm->monitor_path);
	ok = g_spawn_async_with_fds(NULL, vm->argv, NULL,
				    G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, child_setup, NULL,
				    &vm->pid, -1, fd, fd, error);
	close(fd);
	if (!ok)
		return FALSE;
	vm->child_tag = g_child_watch_add(vm->pid, on_qemu_exit, vm);
	vm->state = VM_STARTING;
	vm->qmp = qmp_new(vm->qmp_path, QMP_TIMEOUT_MS, on_qmp_state, vm);
	g_message("instance %s: started QEMU (pid %d); output in %s", vm->inst->name, vm->pid,
		  vm->log_path);
	return TRUE;
}

static gboolean is_socket(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static gboolean on_vhost_wait(gpointer data)
{
	struct vm *vm = data;
	GError *error = NULL;
	static const guint remind_every = VHOST_REMIND_S * 1000 / VHOST_POLL_MS;

	if (!is_socket(vm->inst->cfg->vm.vhost_socket)) {
		if (++vm->wait_polls % remind_every == 0)
			g_message("instance %s: still waiting for ftmb-vhost's socket %s",
				  vm->inst->name, vm->inst->cfg->vm.vhost_socket);
		return G_SOURCE_CONTINUE;
	}
	vm->wait_tag = 0;
	if (!spawn_qemu(vm, &error)) {
		g_warning("instance %s: cannot start QEMU: %s", vm->inst->name, error->message);
		set_error(vm, error->message);
		vm->state = VM_EXITED;
		g_error_free(error);
	}
	return G_SOURCE_REMOVE;
}

static struct vm *vm_new(struct instance *inst)
{
	struct vm *vm = g_new0(struct vm, 1);

	inst->vm = vm;
	vm->inst = inst;
	vm->stream_fd = -1;
	vm->backoff_ms = BACKOFF_MIN_MS;
	vm->qmp_path = vm_path(inst, ".qmp");
	vm->monitor_path = vm_path(inst, ".monitor");
	vm->serial_path = vm_path(inst, ".serial");
	vm->log_path = vm_path(inst, ".qemu.log");
	return vm;
}

void vm_adopt(struct instance *inst, GPid pid)
{
	struct vm *vm = vm_new(inst);

	vm->restored = TRUE;
	vm->accel = g_strdup(vm_accel(inst->h, inst->cfg->vm.accel, NULL));
	vm->pid = pid;
	vm->child_tag = g_child_watch_add(pid, on_qemu_exit, vm);
	vm->state = VM_STARTING;
	vm->qmp = qmp_new(vm->qmp_path, QMP_TIMEOUT_MS, on_qmp_state, vm);
}

static void vm_start(struct instance *inst)
{
	struct vm *vm = vm_new(inst);
	GError *error = NULL;

	vm->argv = vm_argv(inst, &error);
	if (!vm->argv) {
		g_warning("instance %s: cannot run its VM: %s", inst->name, error->message);
		set_error(vm, error->message);
		vm->state = VM_EXITED;
		g_error_free(error);
		return;
	}
	vm->accel = g_strdup(vm_accel(inst->h, inst->cfg->vm.accel, NULL));
	g_mkdir_with_parents(inst->h->cfg->state_dir, 0700);
	vm->state = VM_WAITING_VHOST;
	if (!is_socket(inst->cfg->vm.vhost_socket))
		g_message("instance %s: waiting for ftmb-vhost's socket %s before starting QEMU",
			  inst->name, inst->cfg->vm.vhost_socket);
	vm->wait_tag = g_timeout_add(VHOST_POLL_MS, on_vhost_wait, vm);
}

void vm_start_all(struct hostd *h)
{
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, h->instances);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct instance *inst = v;

		if (hostd_instance_is_vm(inst->cfg) && !strcmp(inst->cfg->primary, h->cfg->name))
			vm_start(inst);
	}
}

static void vm_free(struct vm *vm)
{
	if (vm->wait_tag)
		g_source_remove(vm->wait_tag);
	if (vm->retry_tag)
		g_source_remove(vm->retry_tag);
	if (vm->handover)
		handover_abort(vm->handover, "ftmb-hostd is stopping");
	unprotect(vm, "ftmb-hostd is stopping");
	if (vm->child_tag)
		g_source_remove(vm->child_tag);
	if (vm->pid) /* hostd owns the VM; QEMU quits cleanly on SIGTERM */
		kill(vm->pid, SIGTERM);
	qmp_free(vm->qmp);
	g_strfreev(vm->argv);
	g_free(vm->accel);
	g_free(vm->qmp_path);
	g_free(vm->monitor_path);
	g_free(vm->serial_path);
	g_free(vm->log_path);
	g_free(vm->last_error);
	g_free(vm->handed_to);
	g_free(vm);
}

void vm_stop_all(struct hostd *h)
{
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, h->instances);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct instance *inst = v;

		if (inst->vm)
			vm_free(inst->vm);
		inst->vm = NULL;
	}
}
