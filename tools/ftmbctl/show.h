/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ftmb-hostd's answers for people: what an operator reads at a glance.
 * Each function takes a successful ("ok": true) answer. Members are read
 * with fields.h: one that is missing prints as "?" and one the daemon sent
 * as null as "-", so that an older or newer daemon still shows what it can.
 *
 *   show_status.c   status and list: the host, its peers, its instances
 *   show_stats.c    stats: the counters
 *   show_actions.c  checkpoint, failover, migrate: what the operation did
 */
#ifndef FTMBCTL_SHOW_H
#define FTMBCTL_SHOW_H

#include <json-glib/json-glib.h>
#include <stdio.h>

void show_status(JsonObject *answer, FILE *out);
void show_list(JsonObject *answer, FILE *out);
void show_stats(JsonObject *answer, FILE *out);
void show_checkpoint(JsonObject *answer, FILE *out);
void show_failover(JsonObject *answer, FILE *out);
void show_migrate(JsonObject *answer, FILE *out);

/* A failover timeline (the "failover" object of an instance in status, and
 * of the failover answer): the reason, then one line per step with its time
 * and duration, then the replica processes. */
void show_timeline(const char *instance, JsonObject *failover, FILE *out);

#endif
