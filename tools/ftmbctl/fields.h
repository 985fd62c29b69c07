/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The members of ftmb-hostd's answers, read tolerantly and written for
 * people. Every reader accepts a NULL object and a missing member or one of
 * another type, so that ftmbctl shows what an older or newer daemon sends
 * instead of failing. The formatters return text in a small ring of static
 * buffers: valid until FIELD_RING more calls, enough for one table row.
 * "?" means the daemon did not say; "-" means the daemon said null (not known
 * or not applicable).
 */
#ifndef FTMBCTL_FIELDS_H
#define FTMBCTL_FIELDS_H

#include <json-glib/json-glib.h>

#define FIELD_RING 32

/* Typed members: NULL, FALSE or -1 when missing, null or of another type. */
JsonObject *field_object(JsonObject *o, const char *member);
JsonArray *field_array(JsonObject *o, const char *member);
const char *field_string(JsonObject *o, const char *member);
gboolean field_number(JsonObject *o, const char *member, double *out);
int field_bool(JsonObject *o, const char *member); /* 1, 0, or -1 */
gboolean field_is_null(JsonObject *o, const char *member);

/* Calls fn on each object in the array member (other elements are skipped). */
void field_each(JsonObject *o, const char *member, void (*fn)(JsonObject *item, gpointer data),
		gpointer data);

/* The element of the answer's "instances" array named name, or NULL. */
JsonObject *field_instance(JsonObject *answer, const char *name);

/* Text of a member: a string as it is; a number as an integer or with one
 * decimal; a boolean as yes/no; "-" for null, "?" when missing. */
const char *field_text(JsonObject *o, const char *member);

/* Text of a millisecond duration member: "850 us", "2.1 ms", "1.50 s",
 * "3 min 20 s", "2 h 5 min". */
const char *field_ms(JsonObject *o, const char *member);
const char *fmt_ms(double ms);

/* Text of a byte-count member: "512 B", "4.0 KiB", "256.0 MiB". */
const char *field_bytes(JsonObject *o, const char *member);

/* An ISO 8601 time member as its UTC time of day with milliseconds
 * ("12:00:00.130"), or as the time since then ("3 min 20 s"). */
const char *field_clock(JsonObject *o, const char *member);
const char *field_age(JsonObject *o, const char *member);

/* Formats into the ring. */
const char *fmt(const char *format, ...) G_GNUC_PRINTF(1, 2);

#endif
