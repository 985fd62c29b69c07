/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Per-thread flow tables of the example middleboxes: a GHashTable keyed by
 * the 5-tuple. Hashing is by value, never by address, so that a replica
 * builds the same table (and iterates it in the same order) as the primary. */
#ifndef MB_FLOWTAB_H
#define MB_FLOWTAB_H

#include <glib.h>
#include <stdbool.h>

#include "pkt.h"

/* A table from struct pkt_flow keys to values of value_size bytes, zeroed on
 * creation. */
GHashTable *flowtab_new(void);

/* The value for f, created (zeroed, value_size bytes) if absent; *created
 * says which. */
void *flowtab_get(GHashTable *t, const struct pkt_flow *f, size_t value_size, bool *created);

#endif
