/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Plain-text tables for people: a header row, then rows of cells, columns
 * padded to their widest cell and separated by two spaces.
 */
#ifndef FTMBCTL_TABLE_H
#define FTMBCTL_TABLE_H

#include <json-glib/json-glib.h>
#include <stdio.h>

struct table;

/* headers: NULL-terminated; their count fixes the number of columns. */
struct table *table_new(const char *const *headers);

/* Adds a row of exactly as many cells as headers (copied; NULL prints "-"). */
void table_row(struct table *t, ...);

/* Prints the table and frees it. */
void table_print_free(struct table *t, FILE *out);

/* Prints a table with one row per object of an answer's array member (row
 * adds it with table_row), or "no MEMBER" when the array is empty. */
void table_of(JsonObject *answer, const char *member, const char *const *headers,
	      void (*row)(JsonObject *item, gpointer table), FILE *out);

#endif
