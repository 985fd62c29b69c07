/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A QMP client on the GLib main loop: one connection to a QEMU monitor's
 * UNIX socket, commands sent in order (with a file descriptor when asked,
 * SCM_RIGHTS, as getfd needs), each answered through its callback in
 * order. Events are logged at debug level and otherwise ignored.
 *
 * QEMU creates the socket as it starts: the client retries until it can
 * connect, for at most timeout_ms. Commands are small and the socket's
 * buffer large, so a command is written at once (waiting at most a second
 * for room); replies arrive asynchronously.
 */
#ifndef HOSTD_QMP_H
#define HOSTD_QMP_H

#include <glib.h>
#include <json-glib/json-glib.h>

struct qmp;

/* The connection is ready (error NULL), or failed or was lost (error says
 * how; called once, after which the client only awaits qmp_free). */
typedef void (*qmp_state_fn)(struct qmp *q, const char *error, gpointer data);

/* A command's answer: its "return" value (owned by the client, valid during
 * the call), or NULL and QMP's error description. */
typedef void (*qmp_reply_fn)(struct qmp *q, JsonNode *ret, const char *error, gpointer data);

struct qmp *qmp_new(const char *path, int timeout_ms, qmp_state_fn on_state, gpointer data);

/* Sends {"execute": cmd, "arguments": args} (args: an object node the client
 * takes, or NULL), passing fd along when fd >= 0. on_reply may be NULL. */
void qmp_execute(struct qmp *q, const char *cmd, JsonNode *args, int fd, qmp_reply_fn on_reply,
		 gpointer data);

/* Closes the connection; callbacks of commands still unanswered are not
 * called. Safe from inside a callback of this client. */
void qmp_free(struct qmp *q);

#endif
