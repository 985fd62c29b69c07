// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * status and list. status reads top to bottom in the order an operator on
 * call needs it: the host, what is unprotected or failing right now, the
 * instances, the peers, then the timeline of every failover this daemon ran.
 */
#include <sys/wait.h>

#include "fields.h"
#include "show.h"
#include "table.h"

static void show_host(JsonObject *answer, FILE *out)
{
	fprintf(out, "ftmb-hostd %s: up %s, listening on %s, heartbeats every %s, failure after %s\n",
		field_text(answer, "host"), field_ms(answer, "uptime_ms"),
		field_text(answer, "listen"), field_ms(answer, "heartbeat_interval_ms"),
		field_ms(answer, "failure_timeout_ms"));
}

/* The lines that need someone now: unprotected instances and last errors. */
static void warn_instance(JsonObject *inst, gpointer data)
{
	FILE *out = data;
	const char *name = field_text(inst, "name");
	const char *error = field_string(inst, "last_error");

	if (field_bool(inst, "unprotected") == 1) {
		const char *policy = field_string(inst, "on_backup_lost");
		gboolean lost = g_strcmp0(field_string(inst, "state"), "backup-lost") == 0;

		fprintf(out, "WARNING: %s is UNPROTECTED (%s%s%s)\n", name,
			field_text(inst, "state"), lost && policy ? "; on_backup_lost = " : "",
			lost && policy ? policy : "");
	}
	if (error)
		fprintf(out, "WARNING: %s: %s\n", name, error);
}

static const char *protection(JsonObject *inst)
{
	switch (field_bool(inst, "unprotected")) {
	case 0:
		return field_string(inst, "protected_since")
			       ? fmt("yes, for %s", field_age(inst, "protected_since"))
			       : "yes";
	case 1:
		return "NO";
	default:
		return "?";
	}
}

static const char *last_checkpoint(JsonObject *inst)
{
	JsonObject *cut = field_object(inst, "cut");

	if (!cut)
		return field_is_null(inst, "cut") ? "none" : "-";
	if (field_string(inst, "last_checkpoint_at"))
		return fmt("#%s, %s ago", field_text(cut, "ckpt_seq"),
			   field_age(inst, "last_checkpoint_at"));
	return fmt("#%s", field_text(cut, "ckpt_seq"));
}

static void instance_row(JsonObject *inst, gpointer data)
{
	table_row(data, field_text(inst, "name"), field_text(inst, "role"),
		  field_text(inst, "state"), field_text(inst, "primary"),
		  field_text(inst, "backup"), protection(inst), last_checkpoint(inst),
		  field_object(inst, "failover") ? "yes (below)" : "-");
}

static const char *as_primary(JsonObject *p)
{
	if (!p)
		return "?";
	if (field_bool(p, "failed") == 1)
		return fmt("FAILED: %s", field_text(p, "failure"));
	if (field_bool(p, "connected") != 1)
		return "not connected";
	return fmt("%s%s heartbeats, last %s ago", field_bool(p, "leaving") == 1 ? "leaving, " : "",
		   field_text(p, "heartbeats"), field_ms(p, "last_heartbeat_ms_ago"));
}

static const char *as_backup(JsonObject *b)
{
	double us;

	if (!b)
		return "?";
	if (field_bool(b, "backs_us_up") != 1)
		return "-";
	if (field_bool(b, "backup_lost") == 1)
		return "LOST";
	if (field_bool(b, "connected") != 1)
		return "not connected";
	return field_number(b, "rtt_last_us", &us) ? fmt("connected, rtt %s", fmt_ms(us / 1000.0))
						    : "connected";
}

static void peer_row(JsonObject *peer, gpointer data)
{
	table_row(data, field_text(peer, "name"), field_text(peer, "address"),
		  as_primary(field_object(peer, "as_primary")),
		  as_backup(field_object(peer, "as_backup")));
}

static void timeline_of(JsonObject *inst, gpointer data)
{
	JsonObject *failover = field_object(inst, "failover");

	if (failover) {
		fputc('\n', data);
		show_timeline(field_text(inst, "name"), failover, data);
	}
}

void show_status(JsonObject *answer, FILE *out)
{
	static const char *const inst_headers[] = { "INSTANCE", "ROLE",	     "STATE",
						    "PRIMARY",	"BACKUP",    "PROTECTED",
						    "LAST CKPT", "FAILOVER", NULL };
	static const char *const peer_headers[] = { "PEER", "ADDRESS", "AS A PRIMARY",
						    "AS OUR BACKUP", NULL };

	show_host(answer, out);
	field_each(answer, "instances", warn_instance, out);
	fputc('\n', out);
	table_of(answer, "instances", inst_headers, instance_row, out);
	fputc('\n', out);
	table_of(answer, "peers", peer_headers, peer_row, out);
	field_each(answer, "instances", timeline_of, out);
}

static void list_row(JsonObject *inst, gpointer data)
{
	table_row(data, field_text(inst, "name"), field_text(inst, "role"),
		  field_text(inst, "state"));
}

void show_list(JsonObject *answer, FILE *out)
{
	static const char *const headers[] = { "INSTANCE", "ROLE", "STATE", NULL };

	table_of(answer, "instances", headers, list_row, out);
}

/* A wait status as a person says it. */
static const char *exit_text(JsonObject *replica)
{
	double status;
	int st;

	if (field_bool(replica, "running") == 1)
		return "running";
	if (!field_number(replica, "wait_status", &status))
		return "exited";
	st = (int)status;
	if (WIFEXITED(st))
		return fmt("exited with status %d", WEXITSTATUS(st));
	if (WIFSIGNALED(st))
		return fmt("killed by signal %d", WTERMSIG(st));
	return fmt("ended (wait status %d)", st);
}

static void replica_line(JsonObject *replica, gpointer data)
{
	fprintf(data, "  replica %s: pid %s, %s\n", field_text(replica, "what"),
		field_text(replica, "pid"), exit_text(replica));
}

void show_timeline(const char *instance, JsonObject *tl, FILE *out)
{
	static const char *const headers[] = { "AT (UTC)", "STEP", "TOOK", NULL };
	struct table *t = table_new(headers);
	double reprotect_ms;

	fprintf(out, "failover of %s: %s\n", instance, field_text(tl, "reason"));
	table_row(t, field_clock(tl, "last_heartbeat_at"), "last heartbeat from the primary", "");
	table_row(t, field_clock(tl, "detected_at"), "failure declared",
		  fmt("%s after the last heartbeat", field_ms(tl, "detection_ms")));
	table_row(t, "", "replay file written", fmt("%s after declaring", field_ms(tl, "dump_ms")));
	table_row(t, field_clock(tl, "replica_started_at"), "replica started",
		  fmt("%s after declaring", field_ms(tl, "replica_start_ms")));
	if (field_number(tl, "reprotect_ms", &reprotect_ms))
		table_row(t, "", "re-protected (first full checkpoint sent)",
			  fmt("%s after the replica started", fmt_ms(reprotect_ms)));
	table_print_free(t, out);
	fprintf(out, "  replay file: %s\n", field_text(tl, "replay_file"));
	field_each(tl, "replicas", replica_line, out);
}
