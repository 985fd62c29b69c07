// SPDX-License-Identifier: GPL-2.0-or-later
#include <inttypes.h>
#include <stdio.h>

#include <json-glib/json-glib.h>

#include "instance.h"
#include "report.h"
#include "vhost_log.h"

static void add_u64(JsonBuilder *b, const char *name, uint64_t v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_int_value(b, (gint64)v);
}

static void add_array(JsonBuilder *b, const char *name, const uint64_t *v, uint32_t n)
{
	json_builder_set_member_name(b, name);
	json_builder_begin_array(b);
	for (uint32_t i = 0; i < n; i++)
		json_builder_add_int_value(b, (gint64)v[i]);
	json_builder_end_array(b);
}

static void add_vector(JsonBuilder *b, const char *name, const struct ftmb_vclock *vc, uint32_t n)
{
	json_builder_set_member_name(b, name);
	json_builder_begin_object(b);
	add_array(b, "in", vc->in, n);
	add_array(b, "pal", vc->pal, n);
	json_builder_end_object(b);
}

static void add_queue(JsonBuilder *b, const struct instance *inst, uint16_t q)
{
	const struct queue_stats *qs = &inst->st.q[q];

	json_builder_begin_object(b);
	add_u64(b, "queue", q);
	add_u64(b, "inputs", qs->inputs);
	add_u64(b, "input_waits", qs->input_waits);
	add_u64(b, "not_ready", qs->not_ready);
	add_u64(b, "skipped", qs->skipped);
	add_u64(b, "outputs", qs->outputs);
	add_u64(b, "released", qs->released);
	add_u64(b, "suppressed", qs->suppressed);
	add_u64(b, "held_now", holdq_count(&inst->out[q].held));
	add_u64(b, "pals", qs->pals);
	add_u64(b, "released_seq", inst->out[q].released_seq);
	add_u64(b, "delay_p50_us", stats_hist_quantile(qs->delay_hist, 0.5));
	add_u64(b, "delay_p99_us", stats_hist_quantile(qs->delay_hist, 0.99));
	add_array(b, "delay_log2_us_hist", qs->delay_hist, STATS_HIST_BUCKETS);
	json_builder_end_object(b);
}

static void add_link(JsonBuilder *b, const struct instance *inst)
{
	const struct repl_link *l = &inst->link;

	json_builder_set_member_name(b, "backup");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "peer");
	json_builder_add_string_value(b, l->peer);
	json_builder_set_member_name(b, "up");
	json_builder_add_boolean_value(b, inst->link_ready && link_up(l));
	add_u64(b, "connects", l->connects);
	add_u64(b, "failures", l->failures);
	add_u64(b, "bytes_out", l->bytes_out);
	add_u64(b, "frames_in", l->frames_in);
	add_u64(b, "pending_bytes", inst->link_ready ? sendbuf_pending(&l->sb) : 0);
	json_builder_end_object(b);
}

static void add_replay(JsonBuilder *b, const struct instance *inst)
{
	const struct replay_feed *rf = inst->replay;

	json_builder_set_member_name(b, "replay");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "live");
	json_builder_add_boolean_value(b, rf->live);
	add_array(b, "logged_inputs", rf->log.n_in, inst->n);
	add_array(b, "fed_inputs", rf->fed_in, inst->n);
	add_array(b, "logged_records", rf->log.n_pal, inst->n);
	add_array(b, "fed_records", rf->fed_pal, inst->n);
	add_array(b, "logged_released", rf->log.released, inst->n);
	add_u64(b, "divergences", inst->st.divergences);
	json_builder_set_member_name(b, "ordered");
	json_builder_add_boolean_value(b, !inst->cfg.replay_unordered);
	json_builder_set_member_name(b, "complete");
	json_builder_add_boolean_value(b, rf->complete);
	json_builder_set_member_name(b, "at_mono_ns");
	json_builder_begin_object(b);
	add_u64(b, "found", rf->at.found);
	add_u64(b, "begin", rf->at.begin);
	add_u64(b, "connected", rf->at.connected);
	add_u64(b, "first_fed", rf->at.first_fed);
	add_u64(b, "port_up", rf->at.port_up);
	add_u64(b, "live", rf->at.live);
	add_u64(b, "complete", rf->at.complete);
	json_builder_end_object(b);
	json_builder_end_object(b);
}

static void add_cuts(JsonBuilder *b, const struct instance *inst)
{
	const struct inst_cuts *c = &inst->cuts;

	json_builder_set_member_name(b, "cuts");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "taken_at");
	json_builder_add_string_value(b, inst->cfg.cut == INST_CUT_PAUSE ? "pause" : "timer");
	add_u64(b, "epoch", c->epoch);
	add_u64(b, "committed", c->committed);
	add_u64(b, "commits", c->commits);
	add_u64(b, "failed", __atomic_load_n(&c->failed, __ATOMIC_RELAXED));
	add_u64(b, "pause_wait_max_us", __atomic_load_n(&c->wait_max_ns, __ATOMIC_RELAXED) / 1000);
	add_array(b, "last_in", c->last.in, inst->n);
	add_array(b, "last_pal", c->last.pal, inst->n);
	json_builder_end_object(b);
}

static void add_instance(JsonBuilder *b, const struct instance *inst)
{
	const struct inst_stats *st = &inst->st;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "name");
	json_builder_add_string_value(b, inst->cfg.name);
	json_builder_set_member_name(b, "mode");
	json_builder_add_string_value(b, instance_mode_name(inst));
	json_builder_set_member_name(b, "state");
	json_builder_add_string_value(b, inst->state == INST_RUNNING ? "running" : "stopped");
	json_builder_set_member_name(b, "stop_reason");
	json_builder_add_string_value(b, inst->stop_reason);
	json_builder_set_member_name(b, "standby");
	json_builder_add_boolean_value(b, inst->standby);
	json_builder_set_member_name(b, "guest_connected");
	json_builder_add_boolean_value(b, instance_vid(inst) >= 0);
	add_u64(b, "ext_rx", st->ext_rx);
	add_u64(b, "ext_tx", st->ext_tx);
	add_u64(b, "ext_tx_drops", st->ext_tx_drops);
	add_u64(b, "ext_port_restarts", inst->port_restarts);
	add_u64(b, "ext_tx_pending", inst->n_tx);
	add_u64(b, "oversize_drops", st->oversize_drops);
	add_u64(b, "backpressure", st->backpressure);
	add_u64(b, "released_frames", st->released_frames);
	add_u64(b, "announced", st->announced);
	add_u64(b, "foreign_txq", st->foreign_txq);
	if (inst->protected)
		add_link(b, inst);
	if (inst->ftmb) {
		add_vector(b, "logged", &inst->logged, inst->n);
		if (inst->protected)
			add_vector(b, "durable", &inst->durable, inst->n);
	}
	if (inst->cfg.cut != INST_CUT_NONE)
		add_cuts(b, inst);
	if (inst->replay)
		add_replay(b, inst);
	json_builder_set_member_name(b, "queues");
	json_builder_begin_array(b);
	for (uint16_t q = 0; q < inst->n; q++)
		add_queue(b, inst, q);
	json_builder_end_array(b);
	json_builder_end_object(b);
}

int report_write_json(const char *path, const struct loop_stats *loop)
{
	JsonBuilder *b = json_builder_new();
	JsonGenerator *gen = json_generator_new();
	JsonNode *root;
	GError *error = NULL;
	char tmp[PATH_MAX];
	int rc = 0;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "loop");
	json_builder_begin_object(b);
	add_u64(b, "iterations", loop->iterations);
	add_u64(b, "busy_ns", loop->busy_ns);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "instances");
	json_builder_begin_array(b);
	for (uint32_t i = 0; i < g_n_instances; i++)
		add_instance(b, g_instances[i]);
	json_builder_end_array(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!json_generator_to_file(gen, tmp, &error) || rename(tmp, path)) {
		VLOG(ERR, "cannot write statistics to %s: %s", path,
		     error ? error->message : "rename failed");
		g_clear_error(&error);
		rc = -1;
	}
	json_node_unref(root);
	g_object_unref(gen);
	g_object_unref(b);
	return rc;
}

void report_log_summary(void)
{
	for (uint32_t i = 0; i < g_n_instances; i++) {
		const struct instance *inst = g_instances[i];
		uint64_t in = 0, waits = 0, out = 0, rel = 0, held = 0, sup = 0, pals = 0, skip = 0;
		uint64_t hist[STATS_HIST_BUCKETS] = { 0 };

		for (uint16_t q = 0; q < inst->n; q++) {
			const struct queue_stats *qs = &inst->st.q[q];

			in += qs->inputs;
			waits += qs->input_waits;
			out += qs->outputs;
			rel += qs->released;
			sup += qs->suppressed;
			pals += qs->pals;
			skip += qs->skipped;
			held += holdq_count(&inst->out[q].held);
			for (int b = 0; b < STATS_HIST_BUCKETS; b++)
				hist[b] += qs->delay_hist[b];
		}
		VLOG(NOTICE,
		     "instance %s (%s, %s): in %" PRIu64 " (waited %" PRIu64 " times, skipped by the "
		     "guest %" PRIu64 "), out %" PRIu64
		     ", released %" PRIu64 ", held %" PRIu64 ", suppressed %" PRIu64 ", PALs %" PRIu64
		     ", release delay p50 <%" PRIu64 " us p99 <%" PRIu64 " us, ext tx drops %" PRIu64,
		     inst->cfg.name, instance_mode_name(inst),
		     inst->state == INST_RUNNING ? "running" : "stopped", in, waits, skip, out, rel, held,
		     sup, pals, stats_hist_quantile(hist, 0.5), stats_hist_quantile(hist, 0.99),
		     inst->st.ext_tx_drops);
	}
}
