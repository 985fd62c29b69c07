// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The control socket (protocol in CONTROL.md): a UNIX stream socket, mode
 * 0600, that serves only root (SO_PEERCRED uid 0). Each request is one line
 * of JSON, {"cmd":"status"|"list"|"stats"|"checkpoint"|"failover"}; each
 * answer is one line of JSON with "ok": true and the data, or "ok": false
 * and "error". Requests are few and small: a client is served synchronously,
 * and its socket blocks for at most a second on write; "checkpoint" and
 * "failover" answer once done, and the client's next requests wait.
 */
#include <errno.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "handover.h"
#include "hostd.h"
#include "vm.h"

#define MAX_REQUEST 65536u
#define MAX_CLIENTS 16u

struct control {
	struct hostd *h;
	int fd;
	guint tag;
	guint clients;
};

struct client {
	struct control *ctl;
	int fd;
	guint tag;
	GString *in;
	gboolean busy; /* an answer is on its way (checkpoint) */
	gboolean gone; /* it hung up meanwhile: free it once answered */
};

static gboolean serve_lines(struct client *cl);
static void client_free(struct client *cl);
static gboolean write_all(int fd, const char *data, size_t len);

/* Appends "in" and "pal" arrays of a vector's n entries. */
static void add_vector(JsonBuilder *b, const struct ftmb_vclock *vc, uint16_t n)
{
	json_builder_set_member_name(b, "in");
	json_builder_begin_array(b);
	for (uint16_t i = 0; i < n; i++)
		json_builder_add_int_value(b, (gint64)vc->in[i]);
	json_builder_end_array(b);
	json_builder_set_member_name(b, "pal");
	json_builder_begin_array(b);
	for (uint16_t i = 0; i < n; i++)
		json_builder_add_int_value(b, (gint64)vc->pal[i]);
	json_builder_end_array(b);
}

static void add_string(JsonBuilder *b, const char *name, const char *value)
{
	json_builder_set_member_name(b, name);
	if (value)
		json_builder_add_string_value(b, value);
	else
		json_builder_add_null_value(b);
}

static void add_int(JsonBuilder *b, const char *name, gint64 value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_int_value(b, value);
}

static void add_u64(JsonBuilder *b, const char *name, uint64_t value)
{
	add_int(b, name, (gint64)value);
}

static void add_bool(JsonBuilder *b, const char *name, gboolean value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_boolean_value(b, value);
}

/* A duration in ms, or null when either end is unknown. */
static void add_ms(JsonBuilder *b, const char *name, int64_t from_us, int64_t to_us)
{
	json_builder_set_member_name(b, name);
	if (from_us && to_us)
		json_builder_add_double_value(b, (double)(to_us - from_us) / 1000.0);
	else
		json_builder_add_null_value(b);
}

/* A wall-clock time as ISO 8601 (UTC, µs), or null. */
static void add_time(JsonBuilder *b, const char *name, int64_t wall_us)
{
	GDateTime *sec, *t;
	char *text;

	if (!wall_us) {
		add_string(b, name, NULL);
		return;
	}
	sec = g_date_time_new_from_unix_utc(wall_us / G_USEC_PER_SEC);
	t = g_date_time_add(sec, wall_us % G_USEC_PER_SEC);
	text = g_date_time_format_iso8601(t);
	add_string(b, name, text);
	g_free(text);
	g_date_time_unref(t);
	g_date_time_unref(sec);
}

static enum instance_state current_state(struct hostd *h, const struct instance *inst)
{
	gboolean runs_here = inst->primary && strcmp(inst->primary, h->cfg->name) == 0;

	if (runs_here && inst->state != INST_REPLICA_LIVE && inst->state != INST_RESTORING &&
	    inst->state != INST_FAILOVER_FAILED)
		return heartbeat_instance_state(h, inst);
	return inst->state;
}

static void add_replicas(JsonBuilder *b, const struct failover_timeline *tl)
{
	static const char *const what[2] = { "vhost", "middlebox" };

	json_builder_set_member_name(b, "replicas");
	json_builder_begin_array(b);
	for (int i = 0; i < 2; i++) {
		if (!tl->pid[i])
			continue;
		json_builder_begin_object(b);
		add_string(b, "what", what[i]);
		add_int(b, "pid", tl->pid[i]);
		add_bool(b, "running", !tl->exited[i]);
		add_bool(b, "standby", tl->standby);
		if (tl->exited[i])
			add_int(b, "wait_status", tl->exit_status[i]);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}

/* A CLOCK_MONOTONIC time in ns (g_get_monotonic_time's clock: the one of
 * ftmb-vhost's statistics and traces and of the traffic tools' records, so
 * that a timeline can join them), or null. */
static void add_mono(JsonBuilder *b, const char *name, int64_t mono_us)
{
	json_builder_set_member_name(b, name);
	if (mono_us)
		json_builder_add_int_value(b, mono_us * 1000);
	else
		json_builder_add_null_value(b);
}

/* Every step of the failover on one clock. */
static void add_timeline(JsonBuilder *b, const struct failover_timeline *tl)
{
	const struct vm_restore_stats *rs = &tl->restore;

	json_builder_set_member_name(b, "at_mono_ns");
	json_builder_begin_object(b);
	add_mono(b, "last_heartbeat", tl->last_heartbeat_us);
	add_mono(b, "detected", tl->detected_us);
	add_mono(b, "dumped", tl->dumped_us);
	if (tl->vm) {
		add_mono(b, "restore_start", rs->start_us);
		add_mono(b, "prefilled", rs->prefilled_us);
		add_mono(b, "vhost_ready", rs->vhost_ready_us);
		add_mono(b, "loaded", rs->loaded_us);
		add_mono(b, "running", rs->running_us);
	}
	add_mono(b, "replica_started", tl->started_us);
	add_mono(b, "reprotected", tl->reprotected_us);
	json_builder_end_object(b);
}

/* A VM's restore: the checkpoint, and how long each step took. */
static void add_restore(JsonBuilder *b, const struct vm_restore_stats *rs)
{
	json_builder_set_member_name(b, "restore");
	json_builder_begin_object(b);
	add_u64(b, "ckpt_seq", rs->ckpt_seq);
	add_u64(b, "epoch", rs->epoch);
	add_int(b, "qemu_pid", rs->qemu_pid);
	add_u64(b, "prefill_bytes", rs->prefill_bytes);
	add_u64(b, "stream_bytes", rs->stream_bytes);
	add_ms(b, "prefill_ms", rs->start_us, rs->prefilled_us);
	add_ms(b, "vhost_ready_ms", rs->prefilled_us, rs->vhost_ready_us);
	add_ms(b, "load_ms", rs->vhost_ready_us, rs->loaded_us);
	add_ms(b, "cont_ms", rs->loaded_us, rs->running_us);
	add_ms(b, "restore_ms", rs->start_us, rs->running_us);
	json_builder_end_object(b);
}

static void add_failover(JsonBuilder *b, const struct instance *inst)
{
	const struct failover_timeline *tl = &inst->failover;

	json_builder_set_member_name(b, "failover");
	if (!tl->detected_us) {
		json_builder_add_null_value(b);
		return;
	}
	json_builder_begin_object(b);
	add_string(b, "reason", tl->reason);
	add_time(b, "last_heartbeat_at", tl->last_heartbeat_wall_us);
	add_time(b, "detected_at", tl->detected_wall_us);
	add_ms(b, "detection_ms", tl->last_heartbeat_us, tl->detected_us);
	add_string(b, "replay_file", tl->dump_path);
	add_ms(b, "dump_ms", tl->detected_us, tl->dumped_us);
	add_time(b, "replica_started_at", tl->started_wall_us);
	add_ms(b, "replica_start_ms", tl->detected_us, tl->started_us);
	add_ms(b, "reprotect_ms", tl->started_us, tl->reprotected_us);
	add_replicas(b, tl);
	if (tl->vm)
		add_restore(b, &tl->restore);
	add_timeline(b, tl);
	json_builder_end_object(b);
}

static void add_log(JsonBuilder *b, const struct instance *inst)
{
	struct ftmb_repl_vector durable;
	const struct logstore *log = &inst->log;

	add_int(b, "generation", (gint64)log->hello.generation);
	add_int(b, "n_threads", log->hello.n_threads);
	add_int(b, "n_vars", log->hello.n_vars);
	logstore_durable(log, &durable);
	json_builder_set_member_name(b, "durable");
	json_builder_begin_object(b);
	add_vector(b, &durable.vc, durable.n);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "cut");
	if (log->last_cut.n) {
		json_builder_begin_object(b);
		add_int(b, "ckpt_seq", (gint64)log->last_cut.ckpt_seq);
		add_vector(b, &log->last_cut.vc, log->last_cut.n);
		json_builder_end_object(b);
	} else {
		json_builder_add_null_value(b);
	}
	add_int(b, "log_bytes", (gint64)log->bytes);
}

static void add_vm_ckpt(JsonBuilder *b, const char *name, const struct vm_ckpt *c)
{
	json_builder_set_member_name(b, name);
	if (!c->seq) {
		json_builder_add_null_value(b);
		return;
	}
	json_builder_begin_object(b);
	add_u64(b, "seq", c->seq);
	add_u64(b, "pause_us", c->pause_us);
	add_u64(b, "dirty_pages", c->dirty_pages);
	add_u64(b, "bytes", c->bytes);
	add_u64(b, "qmp_us", c->qmp_us);
	json_builder_end_object(b);
}

/* Primary side of a VM instance: its QEMU and its checkpoints. */
static void add_vm(JsonBuilder *b, const struct vm *vm)
{
	json_builder_set_member_name(b, "vm");
	json_builder_begin_object(b);
	add_string(b, "state", vm_state_name(vm->state));
	add_int(b, "pid", vm->pid);
	add_string(b, "accel", vm->accel);
	add_string(b, "qmp", vm->qmp_path);
	add_string(b, "operator_qmp", vm->monitor_path);
	add_string(b, "serial", vm->serial_path);
	add_string(b, "checkpoints", vm_protection_name(vm->prot));
	add_u64(b, "checkpoints_taken", vm->checkpoints);
	add_u64(b, "protections", vm->protections);
	add_u64(b, "failures", vm->failures);
	add_vm_ckpt(b, "last_checkpoint", &vm->last);
	add_vm_ckpt(b, "last_full_checkpoint", &vm->last_full);
	add_string(b, "last_error", vm->last_error);
	add_string(b, "handed_over_to", vm->handed_to);
	json_builder_end_object(b);
	add_time(b, "protected_since", vm->prot == PROT_ON ? vm->protected_since_wall_us : 0);
	add_time(b, "last_checkpoint_at", vm->last_wall_us);
}

/* Backup side of a VM instance: the checkpoints received and stored. */
static void add_ckpt_recv(JsonBuilder *b, const struct instance *inst)
{
	const struct ckpt_recv *r = inst->ckpt;

	json_builder_set_member_name(b, "checkpoints");
	json_builder_begin_object(b);
	add_string(b, "stream_peer", r->fd >= 0 ? r->peer : NULL);
	add_u64(b, "stored_seq", r->store.valid ? r->store.seq : 0);
	add_u64(b, "stored_epoch", r->store.valid ? r->stored_cut.epoch : 0);
	add_u64(b, "committed_epoch", inst->have_log ? commit_last(&inst->log) : 0);
	add_bool(b, "waiting", r->pending);
	add_u64(b, "waiting_seq", r->pending ? r->frame.seq : 0);
	add_string(b, "last_error", r->last_error);
	json_builder_end_object(b);
	add_time(b, "last_checkpoint_at", r->last_stored_wall_us);
}

static void add_instance_status(JsonBuilder *b, struct hostd *h, const struct instance *inst)
{
	enum instance_state st = current_state(h, inst);

	json_builder_begin_object(b);
	add_string(b, "name", inst->name);
	add_string(b, "role", instance_role(inst));
	add_string(b, "state", instance_state_name(st));
	add_bool(b, "unprotected",
		 st == INST_REPLICA_LIVE || st == INST_BACKUP_LOST || st == INST_RESTORING);
	add_string(b, "primary", inst->primary);
	add_string(b, "backup", inst->backup);
	add_string(b, "on_backup_lost",
		   inst->cfg ? hostd_policy_name(inst->cfg->on_backup_lost) : NULL);
	add_string(b, "stream_peer", inst->stream ? inst->stream_peer : NULL);
	add_string(b, "last_error", inst->last_error);
	if (inst->have_log)
		add_log(b, inst);
	if (inst->vm)
		add_vm(b, inst->vm);
	if (inst->ckpt)
		add_ckpt_recv(b, inst);
	add_failover(b, inst);
	json_builder_end_object(b);
}

static void add_peer_status(JsonBuilder *b, const struct peer *p)
{
	json_builder_begin_object(b);
	add_string(b, "name", p->cfg->name);
	add_string(b, "address", p->cfg->address_text);
	json_builder_set_member_name(b, "as_primary");
	json_builder_begin_object(b);
	add_bool(b, "connected", p->hb_in != NULL);
	add_int(b, "heartbeats", (gint64)p->heartbeats_in);
	add_ms(b, "last_heartbeat_ms_ago", p->last_heartbeat_us,
	       p->last_heartbeat_us ? g_get_monotonic_time() : 0);
	add_bool(b, "leaving", p->leaving);
	add_bool(b, "failed", p->failed);
	add_string(b, "failure", p->failure);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "as_backup");
	json_builder_begin_object(b);
	add_bool(b, "backs_us_up", p->backs_us_up);
	add_bool(b, "connected", p->hb_out_up);
	add_bool(b, "backup_lost", p->backup_lost);
	add_int(b, "echoes", (gint64)p->echoes);
	add_int(b, "rtt_last_us", p->rtt_last_us);
	add_int(b, "rtt_min_us", p->rtt_min_us);
	add_int(b, "rtt_max_us", p->rtt_max_us);
	json_builder_end_object(b);
	json_builder_end_object(b);
}

static gint by_name(gconstpointer a, gconstpointer b)
{
	return strcmp(((const struct instance *)a)->name, ((const struct instance *)b)->name);
}

/* Instances in name order, so that answers are stable. */
static GList *sorted_instances(struct hostd *h)
{
	return g_list_sort(g_hash_table_get_values(h->instances), by_name);
}

static void answer_status(JsonBuilder *b, struct hostd *h)
{
	GList *all = sorted_instances(h);
	GHashTableIter it;
	gpointer v;

	add_string(b, "host", h->cfg->name);
	add_int(b, "generation", (gint64)h->generation);
	add_ms(b, "uptime_ms", h->started_us, g_get_monotonic_time());
	add_string(b, "listen", h->cfg->listen_text);
	add_int(b, "heartbeat_interval_ms", h->cfg->heartbeat_interval_ms);
	add_int(b, "failure_timeout_ms", h->cfg->failure_timeout_ms);
	json_builder_set_member_name(b, "peers");
	json_builder_begin_array(b);
	g_hash_table_iter_init(&it, h->peers);
	while (g_hash_table_iter_next(&it, NULL, &v))
		add_peer_status(b, v);
	json_builder_end_array(b);
	json_builder_set_member_name(b, "instances");
	json_builder_begin_array(b);
	for (GList *l = all; l; l = l->next)
		add_instance_status(b, h, l->data);
	json_builder_end_array(b);
	g_list_free(all);
}

static void answer_list(JsonBuilder *b, struct hostd *h)
{
	GList *all = sorted_instances(h);

	json_builder_set_member_name(b, "instances");
	json_builder_begin_array(b);
	for (GList *l = all; l; l = l->next) {
		const struct instance *inst = l->data;

		json_builder_begin_object(b);
		add_string(b, "name", inst->name);
		add_string(b, "role", instance_role(inst));
		add_string(b, "state", instance_state_name(current_state(h, inst)));
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	g_list_free(all);
}

/* p50, p99 and max of one field over the recent checkpoints. */
static void add_spread(JsonBuilder *b, const char *name, const struct vm *vm, size_t field)
{
	json_builder_set_member_name(b, name);
	json_builder_begin_object(b);
	add_u64(b, "p50", vm_recent_percentile(vm, field, 50));
	add_u64(b, "p99", vm_recent_percentile(vm, field, 99));
	add_u64(b, "max", vm_recent_percentile(vm, field, 100));
	json_builder_end_object(b);
}

static void add_vm_stats(JsonBuilder *b, const struct vm *vm)
{
	json_builder_set_member_name(b, "checkpoints");
	json_builder_begin_object(b);
	add_u64(b, "taken", vm->checkpoints);
	add_u64(b, "failures", vm->failures);
	add_u64(b, "window", MIN(vm->incremental, VM_RECENT));
	add_spread(b, "pause_us", vm, G_STRUCT_OFFSET(struct vm_ckpt, pause_us));
	add_spread(b, "dirty_pages", vm, G_STRUCT_OFFSET(struct vm_ckpt, dirty_pages));
	add_spread(b, "bytes", vm, G_STRUCT_OFFSET(struct vm_ckpt, bytes));
	add_spread(b, "qmp_us", vm, G_STRUCT_OFFSET(struct vm_ckpt, qmp_us));
	json_builder_end_object(b);
}

static void add_ckpt_recv_stats(JsonBuilder *b, const struct ckpt_recv *r)
{
	json_builder_set_member_name(b, "checkpoints");
	json_builder_begin_object(b);
	add_u64(b, "streams", r->streams);
	add_u64(b, "frames", r->frames);
	add_u64(b, "stored", r->stored);
	add_u64(b, "commits", r->commits);
	add_u64(b, "refused", r->refused);
	add_u64(b, "truncated", r->truncated);
	add_u64(b, "bytes", r->bytes);
	json_builder_end_object(b);
}

static void add_instance_stats(JsonBuilder *b, const struct instance *inst)
{
	const struct logstore *log = &inst->log;
	guint64 held_in = 0, held_pal = 0;

	for (uint16_t i = 0; inst->have_log && i < log->hello.n_threads; i++) {
		held_in += logstore_held(&log->in[i]);
		held_pal += logstore_held(&log->pal[i]);
	}
	json_builder_begin_object(b);
	add_string(b, "name", inst->name);
	add_int(b, "streams", (gint64)inst->streams);
	add_int(b, "stream_errors", (gint64)inst->stream_errors);
	add_int(b, "acks_sent", (gint64)inst->acks_sent);
	add_int(b, "inputs", (gint64)log->stats.inputs);
	add_int(b, "pal_records", (gint64)log->stats.pal_records);
	add_int(b, "released_frames", (gint64)log->stats.released);
	add_int(b, "cuts", (gint64)log->stats.cuts);
	add_int(b, "duplicates", (gint64)log->stats.duplicates);
	add_int(b, "covered_by_cut", (gint64)log->stats.covered);
	add_int(b, "held_inputs", (gint64)held_in);
	add_int(b, "held_pal_records", (gint64)held_pal);
	add_int(b, "log_bytes", (gint64)log->bytes);
	add_int(b, "max_log_bytes", (gint64)inst->h->cfg->max_log_mb << 20);
	add_u64(b, "pending_cuts", inst->cuts.n);
	add_u64(b, "pending_cuts_dropped", inst->cuts.dropped);
	if (inst->vm)
		add_vm_stats(b, inst->vm);
	if (inst->ckpt)
		add_ckpt_recv_stats(b, inst->ckpt);
	json_builder_end_object(b);
}

static void answer_stats(JsonBuilder *b, struct hostd *h)
{
	GList *all = sorted_instances(h);

	add_int(b, "sessions", g_hash_table_size(h->sessions));
	add_int(b, "accepted", (gint64)h->accepted);
	add_int(b, "refused", (gint64)h->refused);
	add_int(b, "protocol_errors", (gint64)h->protocol_errors);
	json_builder_set_member_name(b, "instances");
	json_builder_begin_array(b);
	for (GList *l = all; l; l = l->next)
		add_instance_stats(b, l->data);
	json_builder_end_array(b);
	g_list_free(all);
}

/* A request line as a JSON object (json_object_unref it), or NULL. */
static JsonObject *parse_request(const char *line)
{
	JsonParser *parser = json_parser_new();
	JsonObject *req = NULL;

	if (json_parser_load_from_data(parser, line, -1, NULL)) {
		JsonNode *root = json_parser_get_root(parser);

		if (root && JSON_NODE_HOLDS_OBJECT(root))
			req = json_object_ref(json_node_get_object(root));
	}
	g_object_unref(parser);
	return req;
}

static char *to_line(JsonBuilder *b)
{
	JsonGenerator *gen = json_generator_new();
	JsonNode *root = json_builder_get_root(b);
	char *out;

	json_generator_set_root(gen, root);
	out = json_generator_to_data(gen, NULL);
	json_node_unref(root);
	g_object_unref(gen);
	g_object_unref(b);
	return out;
}

static char *error_line(const char *why)
{
	JsonBuilder *b = json_builder_new();

	json_builder_begin_object(b);
	add_bool(b, "ok", FALSE);
	add_string(b, "error", why);
	json_builder_end_object(b);
	return to_line(b);
}

static char *answer(struct hostd *h, const char *cmd)
{
	JsonBuilder *b = json_builder_new();

	json_builder_begin_object(b);
	add_bool(b, "ok", TRUE);
	if (!strcmp(cmd, "status"))
		answer_status(b, h);
	else if (!strcmp(cmd, "list"))
		answer_list(b, h);
	else
		answer_stats(b, h);
	json_builder_end_object(b);
	return to_line(b);
}

/* ---- checkpoint and failover: answered once done ---- */

struct request {
	struct client *cl;
	char *instance;
	char *backup;
	int64_t asked_us;
};

static struct request *request_new(struct client *cl, const struct instance *inst)
{
	struct request *rq = g_new0(struct request, 1);

	rq->cl = cl;
	rq->instance = g_strdup(inst->name);
	rq->backup = g_strdup(inst->backup);
	rq->asked_us = g_get_monotonic_time();
	return rq;
}

static void request_free(struct request *rq)
{
	g_free(rq->instance);
	g_free(rq->backup);
	g_free(rq);
}

static gboolean send_line(struct client *cl, char *line)
{
	gboolean ok = write_all(cl->fd, line, strlen(line)) && write_all(cl->fd, "\n", 1);

	g_free(line);
	return ok;
}

/* The error line of a request that failed once started. */
static char *failed_line(const struct request *rq, const char *what, const char *error)
{
	char *msg = g_strdup_printf("instance %s: %s: %s", rq->instance, what, error);
	char *line = error_line(msg);

	g_free(msg);
	return line;
}

/* Sends the answer of a request the client waited for, and serves the
 * lines that came meanwhile. */
static void request_answer(struct request *rq, char *line)
{
	struct client *cl = rq->cl;

	cl->busy = FALSE;
	if (cl->gone || !send_line(cl, line) || !serve_lines(cl))
		client_free(cl);
	request_free(rq);
}

/* The instance a checkpoint or failover request names, or NULL with the
 * error line in *line. */
static struct instance *requested_vm(struct client *cl, JsonObject *req, const char *cmd,
				     char **line)
{
	const char *name = json_object_get_string_member_with_default(req, "instance", NULL);
	struct instance *inst = name ? instance_lookup(cl->ctl->h, name) : NULL;
	char *msg;

	if (inst && inst->vm)
		return inst;
	if (!name)
		msg = g_strdup_printf("%s needs an instance: {\"cmd\":\"%s\",\"instance\":\"NAME\"}",
				      cmd, cmd);
	else
		msg = g_strdup_printf("no VM instance %s runs on this host as primary (ftmbctl list)",
				      name);
	*line = error_line(msg);
	g_free(msg);
	return NULL;
}

/* The error line for a request refused at its start. */
static char *refused_line(struct request *rq, const char *why)
{
	char *msg = g_strdup_printf("instance %s: %s", rq->instance, why);
	char *line = error_line(msg);

	g_free(msg);
	request_free(rq);
	return line;
}


static void on_checkpoint_done(const struct vm_ckpt *c, const char *error, gpointer data)
{
	struct request *rq = data;
	char *line;

	if (c) {
		JsonBuilder *b = json_builder_new();

		json_builder_begin_object(b);
		add_bool(b, "ok", TRUE);
		add_string(b, "instance", rq->instance);
		add_u64(b, "ckpt_seq", c->seq);
		json_builder_set_member_name(b, "pause_ms");
		json_builder_add_double_value(b, (double)c->pause_us / 1e3);
		add_u64(b, "dirty_pages", c->dirty_pages);
		add_u64(b, "bytes", c->bytes);
		add_ms(b, "took_ms", rq->asked_us, g_get_monotonic_time());
		add_string(b, "backup", rq->backup);
		json_builder_end_object(b);
		line = to_line(b);
	} else {
		line = failed_line(rq, "no checkpoint", error);
	}
	request_answer(rq, line);
}

static void on_handover_done(struct instance *inst, const char *error, double paused_ms,
			     gpointer data)
{
	struct request *rq = data;
	char *line;

	if (!error) {
		JsonBuilder *b = json_builder_new();

		json_builder_begin_object(b);
		add_bool(b, "ok", TRUE);
		add_string(b, "instance", rq->instance);
		add_string(b, "from", inst->h->cfg->name);
		add_string(b, "to", rq->backup);
		json_builder_set_member_name(b, "paused_ms");
		json_builder_add_double_value(b, paused_ms);
		add_ms(b, "took_ms", rq->asked_us, g_get_monotonic_time());
		json_builder_end_object(b);
		line = to_line(b);
	} else {
		line = failed_line(rq, "not handed over", error);
	}
	request_answer(rq, line);
}

static const char *begin_checkpoint(struct instance *inst, struct request *rq)
{
	return vm_request_checkpoint(inst->vm, on_checkpoint_done, rq);
}

static const char *begin_failover(struct instance *inst, struct request *rq)
{
	return handover_start(inst, on_handover_done, rq);
}

/* Starts a request answered once done (begin says why it cannot start);
 * NULL when the answer comes later, otherwise the error line to send now. */
static char *start_request(struct client *cl, JsonObject *req, const char *cmd,
			   const char *(*begin)(struct instance *, struct request *))
{
	char *line = NULL;
	struct instance *inst = requested_vm(cl, req, cmd, &line);
	struct request *rq;
	const char *why;

	if (!inst)
		return line;
	rq = request_new(cl, inst);
	why = begin(inst, rq);
	if (why)
		return refused_line(rq, why);
	cl->busy = TRUE;
	return NULL;
}

/* The answer line to a request, or NULL if it comes later. */
static char *serve(struct client *cl, const char *line)
{
	JsonObject *req = parse_request(line);
	const char *cmd = req ? json_object_get_string_member_with_default(req, "cmd", NULL) : NULL;
	char *out;

	if (!cmd)
		out = error_line("expected one JSON object per line, like {\"cmd\":\"status\"}");
	else if (!strcmp(cmd, "status") || !strcmp(cmd, "list") || !strcmp(cmd, "stats"))
		out = answer(cl->ctl->h, cmd);
	else if (!strcmp(cmd, "checkpoint"))
		out = start_request(cl, req, cmd, begin_checkpoint);
	else if (!strcmp(cmd, "failover"))
		out = start_request(cl, req, cmd, begin_failover);
	else
		out = error_line("unknown cmd: expected status, list, stats, checkpoint or failover");
	if (req)
		json_object_unref(req);
	return out;
}

static void client_free(struct client *cl)
{
	if (cl->busy) { /* the pending answer frees it */
		cl->gone = TRUE;
		g_source_remove(cl->tag);
		cl->tag = 0;
		return;
	}
	if (cl->tag)
		g_source_remove(cl->tag);
	close(cl->fd);
	g_string_free(cl->in, TRUE);
	cl->ctl->clients--;
	g_free(cl);
}

static gboolean write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return FALSE;
		data += n;
		len -= (size_t)n;
	}
	return TRUE;
}

/* Answers every whole line received, one at a time (a request answered
 * later holds the next ones back); FALSE when the client must go. */
static gboolean serve_lines(struct client *cl)
{
	char *nl;

	while (!cl->busy && (nl = memchr(cl->in->str, '\n', cl->in->len))) {
		char *line = g_strndup(cl->in->str, (gsize)(nl - cl->in->str));
		char *reply;

		g_string_erase(cl->in, 0, nl - cl->in->str + 1);
		reply = serve(cl, line);
		g_free(line);
		if (reply && !send_line(cl, reply))
			return FALSE;
	}
	return cl->in->len <= MAX_REQUEST;
}

static gboolean on_client(gint fd, GIOCondition cond, gpointer data)
{
	struct client *cl = data;
	char buf[4096];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	(void)cond;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	if (n > 0) {
		g_string_append_len(cl->in, buf, n);
		if (serve_lines(cl))
			return G_SOURCE_CONTINUE;
	}
	client_free(cl);
	return G_SOURCE_REMOVE;
}

static gboolean peer_is_root(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == 0;
}

static gboolean on_accept(gint fd, GIOCondition cond, gpointer data)
{
	struct control *ctl = data;
	struct timeval send_timeout = { .tv_sec = 1 };
	struct client *cl;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	(void)cond;
	if (c < 0)
		return G_SOURCE_CONTINUE;
	if (!peer_is_root(c) || ctl->clients >= MAX_CLIENTS) {
		g_warning("control socket: refusing a client (%s)",
			  ctl->clients >= MAX_CLIENTS ? "too many clients" : "not root");
		close(c);
		return G_SOURCE_CONTINUE;
	}
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
	cl = g_new0(struct client, 1);
	cl->ctl = ctl;
	cl->fd = c;
	cl->in = g_string_new(NULL);
	cl->tag = g_unix_fd_add(c, G_IO_IN, on_client, cl);
	ctl->clients++;
	return G_SOURCE_CONTINUE;
}

static int bind_control(const char *path, GError **error)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char *dir = g_path_get_dirname(path);
	int fd = -1;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG,
			    "control socket path %s is too long", path);
		goto out;
	}
	strcpy(sun.sun_path, path);
	g_mkdir_with_parents(dir, 0755);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* chmod before listen: nobody can connect while the mode is wider. */
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(path, 0600) < 0 ||
	    listen(fd, 8) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "control socket %s: %s", path, g_strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
out:
	g_free(dir);
	return fd;
}

gboolean control_start(struct hostd *h, GError **error)
{
	int fd = bind_control(h->cfg->control_socket, error);

	if (fd < 0)
		return FALSE;
	h->control = g_new0(struct control, 1);
	h->control->h = h;
	h->control->fd = fd;
	h->control->tag = g_unix_fd_add(fd, G_IO_IN, on_accept, h->control);
	g_message("control socket %s (root only)", h->cfg->control_socket);
	return TRUE;
}

void control_stop(struct hostd *h)
{
	if (!h->control)
		return;
	g_source_remove(h->control->tag);
	close(h->control->fd);
	unlink(h->cfg->control_socket);
	g_free(h->control);
	h->control = NULL;
}
