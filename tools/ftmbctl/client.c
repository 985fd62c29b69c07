// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The control-socket client: connect, write the request line, then wait for
 * the answer line in a main loop so that a long operation (a failover, a
 * migration) can show its progress while it runs.
 */
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "fields.h"

struct wait {
	GMainLoop *loop;
	char *line;
	GError *error;
	gboolean timed_out;
	guint seconds;
	ctl_progress_fn progress;
	gpointer progress_data;
};

/* Turns a connection error into what the operator should do about it. */
static void explain_connect_error(const char *path, GError *err, GError **error)
{
	if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ||
	    g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
		g_set_error(error, G_IO_ERROR, err->code,
			    "cannot reach ftmb-hostd at %s: is it running? (systemctl start "
			    "ftmb-hostd; --socket PATH if it listens elsewhere)",
			    path);
	else if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
		g_set_error(error, G_IO_ERROR, err->code,
			    "permission denied on %s: the control socket serves root only, run "
			    "ftmbctl as root (sudo ftmbctl ...)",
			    path);
	else
		g_set_error(error, G_IO_ERROR, err->code, "cannot connect to ftmb-hostd at %s: %s",
			    path, err->message);
}

/* The daemon hung up without answering: it refuses clients that are not
 * root (CONTROL.md), and otherwise it is going away. */
static void explain_closed(const char *path, const GError *err, GError **error)
{
	if (geteuid() != 0)
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			    "ftmb-hostd at %s refused this connection: it serves root only, run "
			    "ftmbctl as root (sudo ftmbctl ...)",
			    path);
	else
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_CLOSED,
			    "ftmb-hostd at %s closed the connection without answering (%s): is it "
			    "stopping? (journalctl -u ftmb-hostd)",
			    path, err ? err->message : "end of stream");
}

static void on_line(GObject *source, GAsyncResult *res, gpointer data)
{
	struct wait *w = data;

	w->line = g_data_input_stream_read_line_finish_utf8(G_DATA_INPUT_STREAM(source), res, NULL,
							     &w->error);
	g_main_loop_quit(w->loop);
}

static gboolean on_tick(gpointer data)
{
	struct wait *w = data;

	w->seconds++;
	if (w->progress)
		w->progress(w->seconds, w->progress_data);
	return G_SOURCE_CONTINUE;
}

static gboolean on_timeout(gpointer data)
{
	struct wait *w = data;

	w->timed_out = TRUE;
	g_main_loop_quit(w->loop);
	return G_SOURCE_REMOVE;
}

/* Reads one line, or fails after timeout_s. */
static char *read_answer(GSocketConnection *conn, guint timeout_s, struct wait *w)
{
	GInputStream *raw = g_io_stream_get_input_stream(G_IO_STREAM(conn));
	GDataInputStream *in = g_data_input_stream_new(raw);
	GCancellable *cancel = g_cancellable_new();
	guint tick = g_timeout_add_seconds(1, on_tick, w);
	guint deadline = g_timeout_add_seconds(timeout_s, on_timeout, w);

	w->loop = g_main_loop_new(NULL, FALSE);
	g_data_input_stream_set_newline_type(in, G_DATA_STREAM_NEWLINE_TYPE_LF);
	g_data_input_stream_read_line_async(in, G_PRIORITY_DEFAULT, cancel, on_line, w);
	g_main_loop_run(w->loop);
	if (w->timed_out) {
		/* Let the pending read finish as cancelled before its stream goes. */
		g_cancellable_cancel(cancel);
		g_main_loop_run(w->loop);
	} else {
		g_source_remove(deadline);
	}
	g_source_remove(tick);
	g_main_loop_unref(w->loop);
	g_object_unref(cancel);
	g_object_unref(in);
	return w->line;
}

/* Checks that line is a control-protocol answer and fills out. */
static gboolean parse_answer(const char *path, char *line, struct ctl_answer *out, GError **error)
{
	JsonNode *root, *ok;

	out->line = line;
	out->parser = json_parser_new();
	if (json_parser_load_from_data(out->parser, line, -1, NULL) &&
	    (root = json_parser_get_root(out->parser)) && JSON_NODE_HOLDS_OBJECT(root)) {
		out->root = json_node_get_object(root);
		ok = json_object_get_member(out->root, "ok");
		if (ok && JSON_NODE_HOLDS_VALUE(ok) &&
		    json_node_get_value_type(ok) == G_TYPE_BOOLEAN) {
			out->ok = json_node_get_boolean(ok);
			out->error = field_string(out->root, "error") ?: "(the daemon gave no reason)";
			return TRUE;
		}
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
		    "ftmb-hostd at %s answered something that is not a control-protocol answer "
		    "(hostd/CONTROL.md): %.200s",
		    path, line);
	ctl_answer_clear(out);
	return FALSE;
}

gboolean ctl_request(const char *socket_path, const char *request, guint timeout_s,
		     ctl_progress_fn progress, gpointer progress_data, struct ctl_answer *out,
		     GError **error)
{
	GSocketClient *client = g_socket_client_new();
	GSocketAddress *addr = g_unix_socket_address_new(socket_path);
	GSocketConnection *conn;
	struct wait w = { .progress = progress, .progress_data = progress_data };
	GError *err = NULL;
	char *line = NULL;
	gboolean ok = FALSE;

	memset(out, 0, sizeof(*out));
	g_socket_client_set_timeout(client, timeout_s);
	conn = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL, &err);
	if (!conn) {
		explain_connect_error(socket_path, err, error);
		goto out;
	}
	/* From here the deadline is read_answer's, which also shows progress. */
	g_socket_set_timeout(g_socket_connection_get_socket(conn), 0);
	if (!g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(conn)), request,
				       strlen(request), NULL, NULL, &err) ||
	    !g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(conn)), "\n", 1,
				       NULL, NULL, &err)) {
		explain_closed(socket_path, err, error);
		goto out;
	}
	line = read_answer(conn, timeout_s, &w);
	if (w.timed_out)
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
			    "ftmb-hostd at %s did not answer within %u s (--timeout SECONDS to wait "
			    "longer)",
			    socket_path, timeout_s);
	else if (!line)
		explain_closed(socket_path, w.error, error);
	else
		ok = parse_answer(socket_path, g_steal_pointer(&line), out, error);
out:
	g_free(line);
	g_clear_error(&w.error);
	g_clear_error(&err);
	g_clear_object(&conn);
	g_object_unref(addr);
	g_object_unref(client);
	return ok;
}

void ctl_answer_clear(struct ctl_answer *a)
{
	g_free(a->line);
	g_clear_object(&a->parser);
	memset(a, 0, sizeof(*a));
}
