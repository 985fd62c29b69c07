// SPDX-License-Identifier: GPL-2.0-or-later
/* Restoring a VM instance on its backup (see vm_restore.h). */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt_restore.h"
#include "hostd.h"
#include "qmp.h"
#include "vm_cmdline.h"
#include "vm_restore.h"

#define VHOST_WAIT_MS 20
#define VHOST_TIMEOUT_MS 10000
#define QMP_TIMEOUT_MS 10000

struct restore {
	struct instance *inst;
	struct vm_restore_stats *st;
	vm_restore_done_fn done;
	char **argv;
	char *prefill[3]; /* "BLOCK=PATH" entries, NULL-terminated */
	char *log_path;
	guint wait_tag, child_tag;
	struct qmp *qmp;
};

static void finish(struct restore *rs, const char *error)
{
	struct instance *inst = rs->inst;

	if (rs->wait_tag)
		g_source_remove(rs->wait_tag);
	if (!error && rs->child_tag) /* the running replica's QEMU is done's to watch */
		g_source_remove(rs->child_tag);
	qmp_free(rs->qmp);
	inst->ckpt->busy = FALSE;
	rs->done(inst, error);
	g_strfreev(rs->argv);
	for (int i = 0; rs->prefill[i]; i++)
		g_free(rs->prefill[i]);
	g_free(rs->log_path);
	g_free(rs);
}

static void fail(struct restore *rs, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void fail(struct restore *rs, const char *fmt, ...)
{
	va_list ap;
	char *why;

	va_start(ap, fmt);
	why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	finish(rs, why);
	g_free(why);
}

static struct ftmb_ckpt_restore_opts opts_of(const struct restore *rs)
{
	return (struct ftmb_ckpt_restore_opts){ .prefill = (const char *const *)rs->prefill };
}

/* ---- 4. cont ---- */

static void on_cont(struct qmp *q, JsonNode *ret, const char *error, gpointer data)
{
	struct restore *rs = data;

	(void)q;
	(void)ret;
	if (error) {
		fail(rs, "QMP cont: %s", error);
		return;
	}
	rs->st->running_us = g_get_monotonic_time();
	finish(rs, NULL);
}

static void on_qmp(struct qmp *q, const char *error, gpointer data)
{
	struct restore *rs = data;

	if (error)
		fail(rs, "the restored QEMU: %s", error);
	else
		qmp_execute(q, "cont", NULL, -1, on_cont, rs);
}

/* QEMU ended before the restore finished. */
static void on_replica_exit(GPid pid, gint status, gpointer data)
{
	const char *name = data;
	GError *error = NULL;

	if (!g_spawn_check_wait_status(status, &error)) {
		g_warning("instance %s: the replica's QEMU (pid %d) ended: %s", name, pid,
			  error->message);
		g_error_free(error);
	} else {
		g_message("instance %s: the replica's QEMU (pid %d) exited", name, pid);
	}
	g_spawn_close_pid(pid);
}

/* ---- 3. QEMU, in a worker thread ---- */

static void load_thread(GTask *task, gpointer src, gpointer data, GCancellable *cancel)
{
	struct restore *rs = data;
	struct ftmb_ckpt_restore_opts opts = opts_of(rs);
	struct ftmb_ckpt_restore_stats st;
	char msg[300];
	pid_t pid;
	int fd = open(rs->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	int err;

	(void)src;
	(void)cancel;
	opts.prefilled = true;
	opts.log_fd = fd;
	err = ftmb_ckpt_restore_spawn(&rs->inst->ckpt->store, rs->argv, &opts, &pid, &st, msg,
				      sizeof(msg));
	if (fd >= 0)
		close(fd);
	if (err) {
		g_task_return_new_error(task, HOSTD_ERROR, 0, "%s", msg);
		return;
	}
	rs->st->qemu_pid = pid;
	rs->st->stream_bytes = st.stream_bytes;
	g_task_return_boolean(task, TRUE);
}

static void on_loaded(GObject *src, GAsyncResult *res, gpointer data)
{
	struct restore *rs = data;
	GError *error = NULL;
	char *qmp_path;

	(void)src;
	if (!g_task_propagate_boolean(G_TASK(res), &error)) {
		fail(rs, "loading the checkpoint into QEMU: %s (see %s)", error->message, rs->log_path);
		g_error_free(error);
		return;
	}
	rs->st->loaded_us = g_get_monotonic_time();
	rs->child_tag = g_child_watch_add_full(G_PRIORITY_DEFAULT, rs->st->qemu_pid, on_replica_exit,
					       g_strdup(rs->inst->name), g_free);
	qmp_path = vm_path(rs->inst, ".qmp");
	rs->qmp = qmp_new(qmp_path, QMP_TIMEOUT_MS, on_qmp, rs);
	g_free(qmp_path);
}

static void load(struct restore *rs)
{
	GTask *task = g_task_new(NULL, NULL, on_loaded, rs);

	g_task_set_task_data(task, rs, NULL);
	g_task_run_in_thread(task, load_thread);
	g_object_unref(task);
}

/* ---- 2. replica_vhost's socket ---- */

static gboolean on_vhost_wait(gpointer data)
{
	struct restore *rs = data;
	struct stat st;

	if (stat(rs->inst->cfg->vm.vhost_socket, &st) == 0 && S_ISSOCK(st.st_mode)) {
		rs->wait_tag = 0;
		rs->st->vhost_ready_us = g_get_monotonic_time();
		load(rs);
		return G_SOURCE_REMOVE;
	}
	if (g_get_monotonic_time() - rs->st->prefilled_us > (int64_t)VHOST_TIMEOUT_MS * 1000) {
		rs->wait_tag = 0;
		fail(rs, "replica_vhost did not open %s within %d ms (see its log in %s)",
		     rs->inst->cfg->vm.vhost_socket, VHOST_TIMEOUT_MS, rs->inst->h->cfg->state_dir);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static void start_vhost(struct restore *rs)
{
	GError *error = NULL;

	/* A socket file left behind by the dead primary's ftmb-vhost would look ready. */
	unlink(rs->inst->cfg->vm.vhost_socket);
	if (!failover_spawn_replica(rs->inst, 0, rs->inst->cfg->replica_vhost, &error)) {
		fail(rs, "%s", error->message);
		g_error_free(error);
		return;
	}
	rs->wait_tag = g_timeout_add(VHOST_WAIT_MS, on_vhost_wait, rs);
}

/* ---- 1. prefill, in a worker thread ---- */

static void prefill_thread(GTask *task, gpointer src, gpointer data, GCancellable *cancel)
{
	struct restore *rs = data;
	struct ftmb_ckpt_restore_opts opts = opts_of(rs);
	struct ftmb_ckpt_restore_stats st = { 0 };
	char msg[300];

	(void)src;
	(void)cancel;
	if (ftmb_ckpt_restore_prefill(&rs->inst->ckpt->store, &opts, &st, msg, sizeof(msg))) {
		g_task_return_new_error(task, HOSTD_ERROR, 0, "%s", msg);
		return;
	}
	rs->st->prefill_bytes = st.prefill_bytes;
	g_task_return_boolean(task, TRUE);
}

static void on_prefilled(GObject *src, GAsyncResult *res, gpointer data)
{
	struct restore *rs = data;
	GError *error = NULL;

	(void)src;
	if (!g_task_propagate_boolean(G_TASK(res), &error)) {
		fail(rs, "%s", error->message);
		g_error_free(error);
		return;
	}
	rs->st->prefilled_us = g_get_monotonic_time();
	start_vhost(rs);
}

/* The RAM and region blocks go into their files; the rest is streamed. */
static gboolean plan(struct restore *rs, GError **error)
{
	const struct ftmb_ckpt_store *s = &rs->inst->ckpt->store;
	const struct hostd_vm_cfg *vm = &rs->inst->cfg->vm;
	int n = 0;

	for (unsigned int b = 0; b < s->layout.n_blocks; b++) {
		const char *id = s->layout.block[b].id;

		if (!strcmp(id, VM_RAM_MEMDEV))
			rs->prefill[n++] = g_strdup_printf("%s=%s", id, vm->ram_file);
		else if (vm_is_region_block(id))
			rs->prefill[n++] = g_strdup_printf("%s=%s", id, vm->region);
	}
	if (n != 2) {
		g_set_error(error, HOSTD_ERROR, 0, "the stored checkpoint has no RAM block '%s' and "
			    "region block '*/%s'", VM_RAM_MEMDEV, VM_REGION_MEMDEV);
		return FALSE;
	}
	rs->argv = vm_argv(rs->inst, error);
	return rs->argv != NULL;
}

void vm_restore_start(struct instance *inst, struct vm_restore_stats *st, vm_restore_done_fn done)
{
	struct restore *rs = g_new0(struct restore, 1);
	GError *error = NULL;
	GTask *task;

	rs->inst = inst;
	rs->st = st;
	rs->done = done;
	rs->log_path = vm_path(inst, ".qemu.log");
	memset(st, 0, sizeof(*st));
	st->start_us = g_get_monotonic_time();
	if (!inst->ckpt || !inst->ckpt->store.valid) {
		rs->done(inst, "no checkpoint of it was ever stored here");
		g_free(rs->log_path);
		g_free(rs);
		return;
	}
	inst->ckpt->busy = TRUE;
	st->ckpt_seq = inst->ckpt->store.seq;
	st->epoch = inst->ckpt->stored_cut.epoch;
	if (!plan(rs, &error)) {
		fail(rs, "%s", error->message);
		g_error_free(error);
		return;
	}
	task = g_task_new(NULL, NULL, on_prefilled, rs);
	g_task_set_task_data(task, rs, NULL);
	g_task_run_in_thread(task, prefill_thread);
	g_object_unref(task);
}
