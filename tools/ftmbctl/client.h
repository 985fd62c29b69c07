/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One request to ftmb-hostd's control socket and its answer (protocol:
 * hostd/CONTROL.md): a JSON object on one line each way. Errors are
 * sentences that say what to do, for ftmbctl to print as they are.
 */
#ifndef FTMBCTL_CLIENT_H
#define FTMBCTL_CLIENT_H

#include <glib.h>
#include <json-glib/json-glib.h>

#define CTL_DEFAULT_SOCKET "/run/ftmb/hostd.sock"

struct ctl_answer {
	char *line;	    /* the daemon's answer, verbatim, without the newline */
	JsonParser *parser; /* owns root */
	JsonObject *root;
	gboolean ok;	    /* its "ok" */
	const char *error;  /* its "error" when !ok (never NULL then) */
};

/* Called about once a second while an answer is awaited. */
typedef void (*ctl_progress_fn)(guint seconds, gpointer data);

/* Sends request (a JSON object, without newline) to the daemon at
 * socket_path and waits up to timeout_s for the answer. FALSE with error set
 * when the daemon cannot be reached, does not answer in time, or answers
 * something that is not a control-protocol answer. progress may be NULL. */
gboolean ctl_request(const char *socket_path, const char *request, guint timeout_s,
		     ctl_progress_fn progress, gpointer progress_data, struct ctl_answer *out,
		     GError **error);

void ctl_answer_clear(struct ctl_answer *a);

#endif
