// SPDX-License-Identifier: GPL-2.0-or-later
/* Planned failover of a VM instance (see handover.h). */
#include <string.h>

#include "handover.h"
#include "hostd.h"
#include "qmp.h"
#include "vm.h"

#define DRAIN_POLL_MS 1

struct handover {
	struct instance *inst;
	struct peer *backup;
	handover_done_fn done;
	gpointer data;
	int64_t paused_us; /* 0 until QMP stop answered */
	guint timer, poll;
};

/* ---- the primary ---- */

static void finish(struct handover *ho, const char *error)
{
	struct vm *vm = ho->inst->vm;
	double paused_ms = ho->paused_us ? (double)(g_get_monotonic_time() - ho->paused_us) / 1e3
					 : 0.0;

	if (ho->timer)
		g_source_remove(ho->timer);
	if (ho->poll)
		g_source_remove(ho->poll);
	vm->handover = NULL;
	if (error) {
		g_warning("instance %s: planned failover to %s failed: %s; the VM runs here again",
			  ho->inst->name, ho->backup->cfg->name, error);
		if (ho->paused_us && vm->qmp)
			qmp_execute(vm->qmp, "cont", NULL, -1, NULL, NULL);
		vm_resume_checkpoints(vm);
	} else {
		g_message("instance %s: handed over to %s after %.1f ms paused", ho->inst->name,
			  ho->backup->cfg->name, paused_ms);
		vm_hand_over(vm, ho->backup->cfg->name);
	}
	ho->done(ho->inst, error, paused_ms, ho->data);
	g_free(ho);
}

static gboolean on_timeout(gpointer data)
{
	struct handover *ho = data;

	ho->timer = 0;
	finish(ho, ho->paused_us ? "the backup did not answer the HANDOVER request in time"
				 : "the checkpoint in flight did not complete in time");
	return G_SOURCE_REMOVE;
}

static void on_stopped(struct qmp *q, JsonNode *ret, const char *error, gpointer data)
{
	struct handover *ho = data;
	struct ftmb_repl_handover rq = { .step = FTMB_HANDOVER_REQUEST };
	uint8_t buf[128];
	char *why;
	int len;

	(void)q;
	(void)ret;
	if (error) {
		why = g_strdup_printf("QMP stop: %s", error);
		finish(ho, why);
		g_free(why);
		return;
	}
	ho->paused_us = g_get_monotonic_time();
	g_strlcpy(rq.instance, ho->inst->name, sizeof(rq.instance));
	len = ftmb_repl_put_handover(buf, sizeof(buf), &rq);
	if (len < 0 || !ho->backup->hb_out_up || !conn_send(ho->backup->hb_out, buf, (size_t)len))
		finish(ho, "the heartbeat connection to the backup is down");
}

/* Polls until no checkpoint is in flight: x-ftmb-checkpoint resumes the
 * vCPUs it stopped, so the VM is stopped only after it answered. */
static gboolean on_drain_poll(gpointer data)
{
	struct handover *ho = data;
	struct vm *vm = ho->inst->vm;

	if (vm->in_flight)
		return G_SOURCE_CONTINUE;
	ho->poll = 0;
	qmp_execute(vm->qmp, "stop", NULL, -1, on_stopped, ho);
	return G_SOURCE_REMOVE;
}

const char *handover_start(struct instance *inst, handover_done_fn done, gpointer data)
{
	struct vm *vm = inst->vm;
	struct peer *backup;
	struct handover *ho;

	if (!vm)
		return "only a VM instance can be handed over (a host process is not run by ftmb-hostd)";
	if (vm->handover)
		return "a planned failover is already running";
	if (vm->state != VM_RUNNING || vm->prot != PROT_ON)
		return "the VM is not running protected right now (see status: vm)";
	backup = inst->backup ? peer_lookup(inst->h, inst->backup) : NULL;
	if (!backup || !backup->hb_out_up)
		return "its backup does not answer heartbeats";
	ho = g_new0(struct handover, 1);
	ho->inst = inst;
	ho->backup = backup;
	ho->done = done;
	ho->data = data;
	vm->handover = ho;
	vm_suspend_checkpoints(vm);
	ho->timer = g_timeout_add(HANDOVER_TIMEOUT_MS, on_timeout, ho);
	g_message("instance %s: planned failover to %s: pausing the VM", inst->name,
		  backup->cfg->name);
	ho->poll = g_timeout_add(DRAIN_POLL_MS, on_drain_poll, ho);
	return NULL;
}

void handover_abort(struct handover *ho, const char *why)
{
	if (ho->timer)
		g_source_remove(ho->timer);
	if (ho->poll)
		g_source_remove(ho->poll);
	ho->inst->vm->handover = NULL;
	ho->done(ho->inst, why, 0.0, ho->data);
	g_free(ho);
}

gboolean handover_on_answer(struct peer *p, const struct ftmb_repl_frame *f, GError **error)
{
	struct ftmb_repl_handover ans;
	struct instance *inst;
	struct handover *ho;
	int rc = ftmb_repl_get_handover(f, &ans);

	if (rc)
		return hostd_error(error, rc, "backup %s sent a bad HANDOVER", p->cfg->name);
	inst = instance_lookup(p->h, ans.instance);
	ho = inst && inst->vm ? inst->vm->handover : NULL;
	if (ans.step == FTMB_HANDOVER_REQUEST || !ho || ho->backup != p || !ho->paused_us)
		return hostd_error(error, FTMB_E_SEQ, "backup %s answered a HANDOVER of %s that was "
				   "not asked for", p->cfg->name, ans.instance);
	finish(ho, ans.step == FTMB_HANDOVER_ACCEPTED ? NULL
			   : "the backup refused it (its log says why)");
	return TRUE;
}

/* ---- the backup ---- */

/* Why the backup cannot take inst over from peer, or NULL. */
static const char *refusal(const struct peer *peer, const struct instance *inst)
{
	if (!peer)
		return "the request does not come from a configured peer";
	if (!inst || !inst->cfg)
		return "no such instance is configured here";
	if (!inst->primary || !inst->backup || strcmp(inst->primary, peer->cfg->name) ||
	    strcmp(inst->backup, peer->h->cfg->name))
		return "this host is not its backup for that primary";
	if (inst->state != INST_RECEIVING)
		return "its log stream is not open here";
	if (hostd_instance_is_vm(inst->cfg) && (!inst->ckpt || !inst->ckpt->stored))
		return "no checkpoint of it is stored here";
	return NULL;
}

gboolean handover_on_request(struct session *s, const struct ftmb_repl_frame *f, GError **error)
{
	struct peer *peer = session_hostd_peer(s);
	struct ftmb_repl_handover rq, ans = { 0 };
	struct instance *inst;
	const char *why;
	uint8_t buf[128];
	char *reason;
	int rc = ftmb_repl_get_handover(f, &rq);

	if (rc)
		return hostd_error(error, rc, "bad HANDOVER");
	if (rq.step != FTMB_HANDOVER_REQUEST)
		return hostd_error(error, FTMB_E_SEQ, "a HANDOVER answer sent to a backup");
	inst = peer ? instance_lookup(peer->h, rq.instance) : NULL;
	why = refusal(peer, inst);
	ans.step = why ? FTMB_HANDOVER_REFUSED : FTMB_HANDOVER_ACCEPTED;
	memcpy(ans.instance, rq.instance, sizeof(ans.instance));
	rc = ftmb_repl_put_handover(buf, sizeof(buf), &ans);
	if (rc > 0)
		session_send(s, buf, (size_t)rc);
	if (why) {
		g_warning("instance %s: refusing the planned failover asked by %s: %s", rq.instance,
			  peer ? peer->cfg->name : session_peer(s), why);
		return TRUE;
	}
	reason = g_strdup_printf("planned: %s handed it over (ftmbctl failover)", peer->cfg->name);
	failover_instance(inst, reason, peer->last_heartbeat_us, peer->last_heartbeat_wall_us);
	g_free(reason);
	return TRUE;
}
