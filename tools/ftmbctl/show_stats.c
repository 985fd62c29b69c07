// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * stats: the daemon's connection counters, then one row of log counters per
 * instance. Counters count since the daemon started: DUPLICATES are identical
 * resends, ALREADY CUT entries that arrived covered by a checkpoint cut. HELD
 * and LOG are what the log holds now (a cut truncates them).
 */
#include "fields.h"
#include "show.h"
#include "table.h"

static void stats_row(JsonObject *inst, gpointer table)
{
	table_row(table, field_text(inst, "name"), field_text(inst, "streams"),
		  field_text(inst, "stream_errors"), field_text(inst, "acks_sent"),
		  field_text(inst, "inputs"), field_text(inst, "pal_records"),
		  field_text(inst, "released_frames"), field_text(inst, "cuts"),
		  field_text(inst, "duplicates"), field_text(inst, "covered_by_cut"),
		  fmt("%s / %s", field_text(inst, "held_inputs"),
		      field_text(inst, "held_pal_records")),
		  fmt("%s of %s", field_bytes(inst, "log_bytes"),
		      field_bytes(inst, "max_log_bytes")));
}

void show_stats(JsonObject *answer, FILE *out)
{
	static const char *const headers[] = {
		"INSTANCE", "STREAMS", "STREAM ERRORS", "ACKS", "INPUTS", "PALS", "RELEASED",
		"CUTS", "DUPLICATES", "ALREADY CUT", "HELD IN/PAL", "LOG", NULL
	};

	fprintf(out, "peer connections: %s open, %s accepted, %s refused; %s protocol errors\n\n",
		field_text(answer, "sessions"), field_text(answer, "accepted"),
		field_text(answer, "refused"), field_text(answer, "protocol_errors"));
	table_of(answer, "instances", headers, stats_row, out);
}
