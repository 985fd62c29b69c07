// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdarg.h>

#include "fields.h"
#include "table.h"

struct table {
	guint n_cols;
	GPtrArray *rows; /* char ** of n_cols cells; row 0 is the header */
};

struct table *table_new(const char *const *headers)
{
	struct table *t = g_new0(struct table, 1);

	t->n_cols = g_strv_length((char **)headers);
	t->rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
	g_ptr_array_add(t->rows, g_strdupv((char **)headers));
	return t;
}

void table_row(struct table *t, ...)
{
	char **cells = g_new0(char *, t->n_cols + 1);
	va_list ap;

	va_start(ap, t);
	for (guint i = 0; i < t->n_cols; i++) {
		const char *cell = va_arg(ap, const char *);

		cells[i] = g_strdup(cell ? cell : "-");
	}
	va_end(ap);
	g_ptr_array_add(t->rows, cells);
}

void table_print_free(struct table *t, FILE *out)
{
	glong *width = g_new0(glong, t->n_cols);

	for (guint r = 0; r < t->rows->len; r++) {
		char **cells = t->rows->pdata[r];

		for (guint c = 0; c < t->n_cols; c++)
			width[c] = MAX(width[c], g_utf8_strlen(cells[c], -1));
	}
	for (guint r = 0; r < t->rows->len; r++) {
		char **cells = t->rows->pdata[r];
		GString *line = g_string_new(NULL);

		for (guint c = 0; c < t->n_cols; c++) {
			g_string_append(line, cells[c]);
			for (glong pad = width[c] - g_utf8_strlen(cells[c], -1) + 2; pad > 0; pad--)
				g_string_append_c(line, ' ');
		}
		/* Empty last cells leave no trailing blanks. */
		fprintf(out, "%s\n", g_strchomp(line->str));
		g_string_free(line, TRUE);
	}
	g_free(width);
	g_ptr_array_unref(t->rows);
	g_free(t);
}

void table_of(JsonObject *answer, const char *member, const char *const *headers,
	      void (*row)(JsonObject *item, gpointer table), FILE *out)
{
	JsonArray *all = field_array(answer, member);
	struct table *t;

	if (!all || json_array_get_length(all) == 0) {
		fprintf(out, "%s %s\n", all ? "no" : "(the daemon sent no)", member);
		return;
	}
	t = table_new(headers);
	field_each(answer, member, row, t);
	table_print_free(t, out);
}
