// SPDX-License-Identifier: GPL-2.0-or-later
/* A QMP client on the GLib main loop (see qmp.h). */
#include <errno.h>
#include <glib-unix.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "qmp.h"

#define RETRY_MS 20
#define WRITE_WAIT_MS 1000
#define MAX_LINE (1u << 20)

enum qmp_phase { QMP_CONNECTING, QMP_GREETING, QMP_CAPABILITIES, QMP_READY, QMP_FAILED };

struct pending {
	qmp_reply_fn on_reply;
	gpointer data;
};

struct qmp {
	char *path;
	int fd;
	enum qmp_phase phase;
	int64_t deadline_us;
	guint retry_tag, read_tag;
	GString *in;
	GQueue pending; /* struct pending *, in the order the commands went out */
	qmp_state_fn on_state;
	gpointer data;
	gboolean freed, dispatching;
};

static void fail(struct qmp *q, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void fail(struct qmp *q, const char *fmt, ...)
{
	va_list ap;
	char *why;

	if (q->phase == QMP_FAILED)
		return;
	q->phase = QMP_FAILED;
	if (q->read_tag)
		g_source_remove(q->read_tag);
	q->read_tag = 0;
	va_start(ap, fmt);
	why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	q->on_state(q, why, q->data);
	g_free(why);
}

/* Writes all of buf, the fd (if any) with its first byte. */
static gboolean write_all(struct qmp *q, const char *buf, size_t len, int fd)
{
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };

	while (len) {
		struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		struct pollfd pfd = { .fd = q->fd, .events = POLLOUT };
		ssize_t n;

		if (fd >= 0) {
			struct cmsghdr *c;

			msg.msg_control = ctl;
			msg.msg_controllen = sizeof(ctl);
			c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &fd, sizeof(int));
		}
		n = sendmsg(q->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			fd = -1;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && poll(&pfd, 1, WRITE_WAIT_MS) == 1)
			continue;
		return FALSE;
	}
	return TRUE;
}

static void send_command(struct qmp *q, const char *cmd, JsonNode *args, int fd,
			 qmp_reply_fn on_reply, gpointer data)
{
	JsonObject *o = json_object_new();
	JsonNode *root = json_node_new(JSON_NODE_OBJECT);
	struct pending *p = g_new0(struct pending, 1);
	char *text;
	gboolean ok;

	json_object_set_string_member(o, "execute", cmd);
	if (args)
		json_object_set_member(o, "arguments", args);
	json_node_take_object(root, o);
	text = json_to_string(root, FALSE);
	json_node_unref(root);
	p->on_reply = on_reply;
	p->data = data;
	g_queue_push_tail(&q->pending, p);
	ok = write_all(q, text, strlen(text), fd);
	g_free(text);
	if (!ok)
		fail(q, "writing to QMP socket %s: %s", q->path, g_strerror(errno));
}

void qmp_execute(struct qmp *q, const char *cmd, JsonNode *args, int fd, qmp_reply_fn on_reply,
		 gpointer data)
{
	if (q->phase != QMP_READY) {
		if (args)
			json_node_unref(args);
		if (on_reply)
			on_reply(q, NULL, "the QMP connection is not ready", data);
		return;
	}
	send_command(q, cmd, args, fd, on_reply, data);
}

static void on_capabilities(struct qmp *q, JsonNode *ret, const char *error, gpointer data)
{
	(void)ret;
	(void)data;
	if (error) {
		fail(q, "qmp_capabilities: %s", error);
		return;
	}
	q->phase = QMP_READY;
	q->on_state(q, NULL, q->data);
}

static void on_answer(struct qmp *q, JsonObject *o)
{
	struct pending *p = g_queue_pop_head(&q->pending);
	const char *error = NULL;
	JsonNode *ret = NULL;

	if (!p) {
		fail(q, "QMP answered a command that was never sent");
		return;
	}
	if (json_object_has_member(o, "error")) {
		JsonNode *e = json_object_get_member(o, "error");

		error = JSON_NODE_HOLDS_OBJECT(e) ? json_object_get_string_member_with_default(
							    json_node_get_object(e), "desc", "error")
						  : "error";
	} else {
		ret = json_object_get_member(o, "return");
	}
	if (p->on_reply)
		p->on_reply(q, ret, error, p->data);
	g_free(p);
}

static void on_line(struct qmp *q, const char *line)
{
	JsonParser *parser = json_parser_new();
	JsonNode *root;
	JsonObject *o;

	if (!json_parser_load_from_data(parser, line, -1, NULL) ||
	    !(root = json_parser_get_root(parser)) || !JSON_NODE_HOLDS_OBJECT(root)) {
		fail(q, "QMP sent something that is not a JSON object: %.80s", line);
		g_object_unref(parser);
		return;
	}
	o = json_node_get_object(root);
	if (q->phase == QMP_GREETING) {
		if (!json_object_has_member(o, "QMP")) {
			fail(q, "%s does not greet like QMP", q->path);
		} else {
			q->phase = QMP_CAPABILITIES;
			send_command(q, "qmp_capabilities", NULL, -1, on_capabilities, NULL);
		}
	} else if (json_object_has_member(o, "event")) {
		g_debug("QMP %s: event %s", q->path,
			json_object_get_string_member_with_default(o, "event", "?"));
	} else {
		on_answer(q, o);
	}
	g_object_unref(parser);
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct qmp *q = data;
	char buf[8192], *nl;
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	(void)cond;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		q->read_tag = 0;
		fail(q, "QMP connection %s %s", q->path, n ? g_strerror(errno) : "closed by QEMU");
		return G_SOURCE_REMOVE;
	}
	g_string_append_len(q->in, buf, n);
	q->dispatching = TRUE;
	while (!q->freed && q->phase != QMP_FAILED && (nl = memchr(q->in->str, '\n', q->in->len))) {
		char *line = g_strndup(q->in->str, (gsize)(nl - q->in->str));

		g_string_erase(q->in, 0, nl - q->in->str + 1);
		on_line(q, line);
		g_free(line);
	}
	q->dispatching = FALSE;
	if (q->freed) {
		qmp_free(q);
		return G_SOURCE_REMOVE;
	}
	if (q->in->len > MAX_LINE)
		fail(q, "QMP sent a line longer than %u bytes", MAX_LINE);
	return q->read_tag ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static gboolean try_connect(gpointer data)
{
	struct qmp *q = data;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	g_strlcpy(sun.sun_path, q->path, sizeof(sun.sun_path));
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		q->retry_tag = 0;
		q->fd = fd;
		q->phase = QMP_GREETING;
		q->read_tag = g_unix_fd_add(fd, G_IO_IN, on_readable, q);
		return G_SOURCE_REMOVE;
	}
	if (fd >= 0)
		close(fd);
	if (g_get_monotonic_time() < q->deadline_us)
		return G_SOURCE_CONTINUE;
	q->retry_tag = 0;
	fail(q, "cannot connect to QMP socket %s: %s", q->path, g_strerror(errno));
	return G_SOURCE_REMOVE;
}

struct qmp *qmp_new(const char *path, int timeout_ms, qmp_state_fn on_state, gpointer data)
{
	struct qmp *q = g_new0(struct qmp, 1);

	q->path = g_strdup(path);
	q->fd = -1;
	q->in = g_string_new(NULL);
	g_queue_init(&q->pending);
	q->on_state = on_state;
	q->data = data;
	q->deadline_us = g_get_monotonic_time() + (int64_t)timeout_ms * 1000;
	q->retry_tag = g_timeout_add(RETRY_MS, try_connect, q);
	return q;
}

void qmp_free(struct qmp *q)
{
	if (!q)
		return;
	if (q->dispatching) { /* freed once the read handler unwinds */
		q->freed = TRUE;
		if (q->read_tag)
			g_source_remove(q->read_tag);
		q->read_tag = 0;
		return;
	}
	if (q->retry_tag)
		g_source_remove(q->retry_tag);
	if (q->read_tag)
		g_source_remove(q->read_tag);
	if (q->fd >= 0)
		close(q->fd);
	g_queue_clear_full(&q->pending, g_free);
	g_string_free(q->in, TRUE);
	g_free(q->path);
	g_free(q);
}
