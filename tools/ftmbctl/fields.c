// SPDX-License-Identifier: GPL-2.0-or-later
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "fields.h"

/* The member's node when it is present and not null. */
static JsonNode *member(JsonObject *o, const char *name)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;

	return n && !JSON_NODE_HOLDS_NULL(n) ? n : NULL;
}

/* "-" when the daemon sent null, "?" when it sent nothing. */
static const char *absent(JsonObject *o, const char *name)
{
	return field_is_null(o, name) ? "-" : "?";
}

JsonObject *field_object(JsonObject *o, const char *name)
{
	JsonNode *n = member(o, name);

	return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

JsonArray *field_array(JsonObject *o, const char *name)
{
	JsonNode *n = member(o, name);

	return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

const char *field_string(JsonObject *o, const char *name)
{
	JsonNode *n = member(o, name);

	return n && json_node_get_value_type(n) == G_TYPE_STRING ? json_node_get_string(n) : NULL;
}

gboolean field_number(JsonObject *o, const char *name, double *out)
{
	JsonNode *n = member(o, name);
	GType t = n ? json_node_get_value_type(n) : G_TYPE_INVALID;

	if (t != G_TYPE_INT64 && t != G_TYPE_DOUBLE)
		return FALSE;
	*out = json_node_get_double(n);
	return TRUE;
}

int field_bool(JsonObject *o, const char *name)
{
	JsonNode *n = member(o, name);

	if (!n || json_node_get_value_type(n) != G_TYPE_BOOLEAN)
		return -1;
	return json_node_get_boolean(n);
}

gboolean field_is_null(JsonObject *o, const char *name)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;

	return n && JSON_NODE_HOLDS_NULL(n);
}

void field_each(JsonObject *o, const char *name, void (*fn)(JsonObject *item, gpointer data),
		gpointer data)
{
	JsonArray *a = field_array(o, name);

	for (guint i = 0; a && i < json_array_get_length(a); i++) {
		JsonNode *n = json_array_get_element(a, i);

		if (JSON_NODE_HOLDS_OBJECT(n))
			fn(json_node_get_object(n), data);
	}
}

JsonObject *field_instance(JsonObject *answer, const char *name)
{
	JsonArray *all = field_array(answer, "instances");

	for (guint i = 0; all && i < json_array_get_length(all); i++) {
		JsonNode *n = json_array_get_element(all, i);
		JsonObject *inst = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
		const char *iname = field_string(inst, "name");

		if (iname && strcmp(iname, name) == 0)
			return inst;
	}
	return NULL;
}

/* Keeps the last FIELD_RING strings alive, so callers need not free them. */
static const char *keep(char *s)
{
	static char *ring[FIELD_RING];
	static guint next;

	g_free(ring[next]);
	ring[next] = s;
	next = (next + 1) % FIELD_RING;
	return s;
}

const char *fmt(const char *format, ...)
{
	va_list ap;
	char *s;

	va_start(ap, format);
	s = g_strdup_vprintf(format, ap);
	va_end(ap);
	return keep(s);
}

const char *field_text(JsonObject *o, const char *name)
{
	JsonNode *n = member(o, name);

	if (!n || !JSON_NODE_HOLDS_VALUE(n))
		return absent(o, name);
	switch (json_node_get_value_type(n)) {
	case G_TYPE_STRING:
		return json_node_get_string(n);
	case G_TYPE_INT64:
		return fmt("%" G_GINT64_FORMAT, json_node_get_int(n));
	case G_TYPE_DOUBLE:
		return fmt("%.1f", json_node_get_double(n));
	case G_TYPE_BOOLEAN:
		return json_node_get_boolean(n) ? "yes" : "no";
	default:
		return "?";
	}
}

const char *fmt_ms(double ms)
{
	double s = ms / 1000.0;

	if (ms < 1.0)
		return fmt("%.0f us", ms * 1000.0);
	if (ms < 1000.0)
		return fmt("%.1f ms", ms);
	if (s < 60.0)
		return fmt("%.2f s", s);
	if (s < 3600.0)
		return fmt("%.0f min %.0f s", floor(s / 60.0), fmod(floor(s), 60.0));
	return fmt("%.0f h %.0f min", floor(s / 3600.0), fmod(floor(s / 60.0), 60.0));
}

const char *field_ms(JsonObject *o, const char *name)
{
	double ms;

	return field_number(o, name, &ms) ? fmt_ms(ms) : absent(o, name);
}

const char *field_bytes(JsonObject *o, const char *name)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	double b;
	int u = -1;

	if (!field_number(o, name, &b))
		return absent(o, name);
	if (b < 1024.0)
		return fmt("%.0f B", b);
	while (b >= 1024.0 && u < 3) {
		b /= 1024.0;
		u++;
	}
	return fmt("%.1f %s", b, unit[u]);
}

/* The member as a time, or NULL. */
static GDateTime *member_time(JsonObject *o, const char *name)
{
	const char *text = field_string(o, name);

	return text ? g_date_time_new_from_iso8601(text, NULL) : NULL;
}

const char *field_clock(JsonObject *o, const char *name)
{
	GDateTime *t = member_time(o, name);
	const char *text;

	if (!t)
		return field_string(o, name) ? field_string(o, name) : absent(o, name);
	/* The answer keeps microseconds; milliseconds are what a person reads. */
	text = fmt("%s.%03d", keep(g_date_time_format(t, "%H:%M:%S")),
		   g_date_time_get_microsecond(t) / 1000);
	g_date_time_unref(t);
	return text;
}

const char *field_age(JsonObject *o, const char *name)
{
	GDateTime *t = member_time(o, name);
	GDateTime *now;
	GTimeSpan age;

	if (!t)
		return field_string(o, name) ? field_string(o, name) : absent(o, name);
	now = g_date_time_new_now_utc();
	age = g_date_time_difference(now, t);
	g_date_time_unref(now);
	g_date_time_unref(t);
	return fmt_ms((double)MAX(age, 0) / 1000.0);
}
