/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The --json output of the test tools: members added to a JsonBuilder by
 * name, and the finished document printed, pretty, on stdout.
 */
#ifndef FTMB_JSONOUT_H
#define FTMB_JSONOUT_H

#include <stdint.h>

#include <json-glib/json-glib.h>

void jsonout_int(JsonBuilder *b, const char *name, uint64_t v);
void jsonout_double(JsonBuilder *b, const char *name, double v);
void jsonout_str(JsonBuilder *b, const char *name, const char *s); /* NULL: null */

/* Prints the document b holds (its outermost value ended) and frees b. */
void jsonout_print(JsonBuilder *b);

#endif
