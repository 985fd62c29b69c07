// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * checkpoint, failover, migrate: one paragraph on what the operation did
 * (answers in hostd/CONTROL.md; migrate is proposed there).
 */
#include "fields.h"
#include "show.h"

void show_checkpoint(JsonObject *answer, FILE *out)
{
	fprintf(out,
		"checkpoint #%s of %s: VM paused %s, %s dirty pages (%s), streamed to the backup "
		"%s; answered %s after the request\n",
		field_text(answer, "ckpt_seq"), field_text(answer, "instance"),
		field_ms(answer, "pause_ms"), field_text(answer, "dirty_pages"),
		field_bytes(answer, "bytes"), field_text(answer, "backup"),
		field_ms(answer, "took_ms"));
}

/* Where the instance stands after it moved. */
static void show_protection(JsonObject *answer, FILE *out)
{
	const char *backup = field_string(answer, "backup");

	if (backup)
		fprintf(out, "%s is protected again, by %s\n", field_text(answer, "instance"),
			backup);
	else
		fprintf(out, "WARNING: %s runs UNPROTECTED on %s until it has a backup\n",
			field_text(answer, "instance"), field_text(answer, "to"));
}

void show_failover(JsonObject *answer, FILE *out)
{
	fprintf(out,
		"%s handed over from %s to %s: the VM was paused %s when %s took it; "
		"answered %s after the request\n",
		field_text(answer, "instance"), field_text(answer, "from"),
		field_text(answer, "to"), field_ms(answer, "paused_ms"), field_text(answer, "to"),
		field_ms(answer, "took_ms"));
	fprintf(out, "the replica's timeline: ftmbctl status on %s\n", field_text(answer, "to"));
}

void show_migrate(JsonObject *answer, FILE *out)
{
	fprintf(out,
		"%s moved from %s to %s: %s copied, final checkpoint #%s, packets held for %s, "
		"%s in all\n",
		field_text(answer, "instance"), field_text(answer, "from"),
		field_text(answer, "to"), field_bytes(answer, "bytes"),
		field_text(answer, "final_ckpt_seq"), field_ms(answer, "downtime_ms"),
		field_ms(answer, "took_ms"));
	show_protection(answer, out);
}
