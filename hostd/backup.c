// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The backup role's listener and sessions. A peer's first frame is HELLO:
 *   role VHOST  one protected instance's log: INPUT, PAL, RELEASED, CUT (and
 *               HEARTBEAT) frames, stored in the instance's log; after each
 *               read the backup sends one cumulative ACK if the durable vector
 *               moved, and right after its HELLO answer an ACK of what it
 *               already holds, so that a reconnecting peer knows where to
 *               resume.
 *   role HOSTD  a primary hostd's (or ftmb-ping's) HEARTBEATs, each echoed at
 *               once with the same seq and time_ns and this host's state.
 *   role CHECKPOINT  a primary hostd's VM checkpoint stream: answered, then
 *               handed to ckpt_recv.c, which reads QEMU's raw frames.
 * CUT frames of a log stream wait in the instance's pending cuts until the
 * checkpoint they belong to can be committed (commit.h); the backup then
 * sends COMMITTED, and repeats the last one after a reconnecting stream's
 * HELLO and ACK.
 * Anything invalid ends that session alone, with a WARNING naming the
 * instance, the peer and the reason.
 */
#include <time.h>
#include <errno.h>
#include <glib-unix.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "handover.h"
#include "hostd.h"
#include "net.h"

/* Sessions beyond this are refused at accept time. */
#define MAX_SESSIONS 1024u
/* Where HELLO's instance name starts in its payload (repl.h). */
#define HELLO_NAME_OFF 24u
/* HELLO, then ACK: room for both with the largest vector. */
#define REPLY_MAX 512u

enum session_kind {
	SESSION_NEW,   /* waiting for HELLO */
	SESSION_VHOST, /* an instance's log stream */
	SESSION_HOSTD, /* heartbeats from a primary hostd or a probe */
};

struct session {
	struct hostd *h;
	struct conn *c;
	enum session_kind kind;
	struct instance *inst; /* SESSION_VHOST */
	struct peer *peer;     /* SESSION_HOSTD from a configured peer */
	struct sockaddr_storage from;
	char claimed[FTMB_INSTANCE_MAX + 16]; /* before HELLO is accepted */
	struct ftmb_repl_vector acked;
};

const char *session_peer(const struct session *s)
{
	return s->c->peer;
}

struct peer *session_hostd_peer(const struct session *s)
{
	return s->kind == SESSION_HOSTD ? s->peer : NULL;
}

void session_send(struct session *s, const void *buf, size_t len)
{
	conn_send(s->c, buf, len);
}

void session_close(struct session *s, const char *reason)
{
	conn_close(s->c, CONN_END_LOCAL, reason);
}

static uint32_t own_hb_state(const struct hostd *h)
{
	return h->leaving ? FTMB_HB_LEAVING : FTMB_HB_BACKUP;
}

static gboolean echo_heartbeat(struct session *s, const struct ftmb_repl_frame *f, GError **error)
{
	struct ftmb_repl_heartbeat hb, echo;
	uint8_t buf[64];
	int rc = ftmb_repl_get_heartbeat(f, &hb);

	if (rc)
		return hostd_error(error, rc, "bad HEARTBEAT");
	echo = hb;
	echo.state = own_hb_state(s->h);
	rc = ftmb_repl_put_heartbeat(buf, sizeof(buf), &echo);
	conn_send(s->c, buf, (size_t)rc);
	if (s->kind == SESSION_VHOST && hb.state == FTMB_HB_LEAVING)
		s->inst->stream_leaving = TRUE;
	if (s->peer)
		monitor_heartbeat(s->peer, hb.state);
	return TRUE;
}

void session_send_committed(struct session *s, uint64_t epoch)
{
	uint8_t buf[64];
	int len = ftmb_repl_put_committed(buf, sizeof(buf), epoch);

	if (len > 0)
		conn_send(s->c, buf, (size_t)len);
}

/* The ACK log lets a test check from evidence that no output left the
 * primary before an ACK covering it existed. The time is taken just before
 * the send: an output can only be released after that. */
static void log_ack(struct session *s, const struct ftmb_repl_vector *ack,
		    const struct timespec *ts)
{
	fprintf(s->h->ack_log, "ack %s %" G_GUINT64_FORMAT, s->inst->name,
		(guint64)ts->tv_sec * 1000000000u + (guint64)ts->tv_nsec);
	for (uint16_t i = 0; i < ack->n; i++)
		fprintf(s->h->ack_log, " %" G_GUINT64_FORMAT, ack->vc.in[i]);
	for (uint16_t i = 0; i < ack->n; i++)
		fprintf(s->h->ack_log, " %" G_GUINT64_FORMAT, ack->vc.pal[i]);
	fputc('\n', s->h->ack_log);
}

static void send_ack(struct session *s, const struct ftmb_repl_vector *ack)
{
	uint8_t buf[REPLY_MAX];
	int len = ftmb_repl_put_ack(buf, sizeof(buf), ack);
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (len > 0 && conn_send(s->c, buf, (size_t)len)) {
		s->acked = *ack;
		s->inst->acks_sent++;
		if (s->h->ack_log)
			log_ack(s, ack, &ts);
	}
}

static gboolean vector_is_zero(const struct ftmb_repl_vector *v)
{
	for (uint16_t i = 0; i < v->n; i++)
		if (v->vc.in[i] || v->vc.pal[i])
			return FALSE;
	return TRUE;
}

static gboolean answer_hello(struct session *s, const struct ftmb_repl_hello *theirs)
{
	struct ftmb_repl_hello ours = *theirs;
	uint8_t buf[REPLY_MAX];
	int len;

	ours.role = FTMB_ROLE_BACKUP;
	if (s->kind == SESSION_HOSTD) {
		g_strlcpy(ours.instance, s->h->cfg->name, sizeof(ours.instance));
		ours.n_threads = 1;
		ours.n_vars = 1;
		ours.generation = s->h->generation;
	}
	len = ftmb_repl_put_hello(buf, sizeof(buf), &ours);
	return len > 0 && conn_send(s->c, buf, (size_t)len);
}

static gboolean start_vhost(struct session *s, const struct ftmb_repl_hello *hello,
			    GError **error)
{
	struct ftmb_repl_vector held;

	s->inst = instance_attach_stream(s->h, hello, s, (const struct sockaddr *)&s->from, error);
	if (!s->inst)
		return FALSE;
	s->kind = SESSION_VHOST;
	if (!answer_hello(s, hello))
		return TRUE;
	logstore_durable(&s->inst->log, &held);
	if (!vector_is_zero(&held))
		send_ack(s, &held);
	else
		s->acked = held;
	if (commit_last(&s->inst->log))
		session_send_committed(s, commit_last(&s->inst->log));
	return TRUE;
}

static gboolean start_hostd(struct session *s, const struct ftmb_repl_hello *hello,
			    GError **error)
{
	struct peer *p = peer_lookup(s->h, hello->instance);

	if (p && !net_same_host((const struct sockaddr *)&p->cfg->address.ss,
				(const struct sockaddr *)&s->from))
		return hostd_error(error, FTMB_E_FIELD, "claims to be peer %s, configured at %s",
			      p->cfg->name, p->cfg->address_text);
	s->kind = SESSION_HOSTD;
	s->peer = p;
	if (!answer_hello(s, hello))
		return TRUE;
	if (p)
		monitor_attach(p, s, hello->generation);
	else
		g_debug("probe %s (\"%s\") connected: heartbeats are echoed, not monitored",
			s->c->peer, hello->instance);
	return TRUE;
}

/* Keeps the instance name a HELLO claims, before it is validated, so that
 * the WARNING about a refused HELLO can name it. */
static void note_claimed_name(struct session *s, const struct ftmb_repl_frame *f)
{
	char name[FTMB_INSTANCE_MAX + 1] = "";

	if (f->len >= HELLO_NAME_OFF + FTMB_INSTANCE_MAX)
		memcpy(name, f->payload + HELLO_NAME_OFF, FTMB_INSTANCE_MAX);
	if (hostd_valid_name(name))
		g_snprintf(s->claimed, sizeof(s->claimed), "%s (claimed)", name);
}

static gboolean on_hello(struct session *s, const struct ftmb_repl_frame *f, GError **error)
{
	struct ftmb_repl_hello hello;
	int rc;

	if (f->type != FTMB_REPL_HELLO)
		return hostd_error(error, FTMB_E_TYPE, "first frame is %s, not HELLO",
			      ftmb_repl_type_name(f->type));
	note_claimed_name(s, f);
	rc = ftmb_repl_get_hello(f, &hello);
	if (rc)
		return hostd_error(error, rc, "bad HELLO");
	switch (hello.role) {
	case FTMB_ROLE_VHOST:
		return start_vhost(s, &hello, error);
	case FTMB_ROLE_HOSTD:
		return start_hostd(s, &hello, error);
	case FTMB_ROLE_CHECKPOINT:
		return ckpt_recv_attach(s->h, &hello, s->c, (const struct sockaddr *)&s->from, error);
	default:
		return hostd_error(error, FTMB_E_RANGE, "HELLO with role %u: only ftmb-vhost (%u) and "
						   "hostd (%u, %u) stream to a backup",
			      hello.role, FTMB_ROLE_VHOST, FTMB_ROLE_HOSTD, FTMB_ROLE_CHECKPOINT);
	}
}

/* One frame of an instance's log stream. */
static gboolean on_log_frame(struct session *s, const struct ftmb_repl_frame *f, GError **error)
{
	struct logstore *log = &s->inst->log;
	int rc;

	switch (f->type) {
	case FTMB_REPL_INPUT: {
		struct ftmb_repl_input in;

		rc = ftmb_repl_get_input(f, &in);
		return rc ? hostd_error(error, rc, "bad INPUT") : logstore_add_input(log, &in, error);
	}
	case FTMB_REPL_PAL: {
		struct ftmb_repl_pal pal;

		rc = ftmb_repl_get_pal(f, log->hello.n_vars, &pal);
		return rc ? hostd_error(error, rc, "bad PAL") : logstore_add_pal(log, &pal, error);
	}
	case FTMB_REPL_RELEASED: {
		struct ftmb_repl_released r;

		rc = ftmb_repl_get_released(f, &r);
		return rc ? hostd_error(error, rc, "bad RELEASED") : logstore_set_released(log, &r, error);
	}
	case FTMB_REPL_CUT: {
		struct ftmb_repl_vector cut;

		rc = ftmb_repl_get_cut(f, &cut);
		return rc ? hostd_error(error, rc, "bad CUT")
			  : commit_add_cut(&s->inst->cuts, log, &cut, error);
	}
	case FTMB_REPL_BASE: {
		struct ftmb_repl_vector base;

		rc = ftmb_repl_get_base(f, &base);
		return rc ? hostd_error(error, rc, "bad BASE") : logstore_set_base(log, &base, error);
	}
	case FTMB_REPL_HEARTBEAT:
		return echo_heartbeat(s, f, error);
	default:
		return hostd_error(error, FTMB_E_TYPE, "unexpected %s frame in a log stream",
			      ftmb_repl_type_name(f->type));
	}
}

static gboolean on_frame(struct conn *c, const struct ftmb_repl_frame *f, GError **error)
{
	struct session *s = c->owner;

	switch (s->kind) {
	case SESSION_NEW:
		return on_hello(s, f, error);
	case SESSION_VHOST:
		return on_log_frame(s, f, error);
	case SESSION_HOSTD:
		if (f->type == FTMB_REPL_HEARTBEAT)
			return echo_heartbeat(s, f, error);
		if (f->type == FTMB_REPL_HANDOVER)
			return handover_on_request(s, f, error);
		return hostd_error(error, FTMB_E_TYPE, "unexpected %s frame from a hostd",
			      ftmb_repl_type_name(f->type));
	}
	return FALSE;
}

/* After one read: one cumulative ACK, if the durable vector moved. */
static void on_batch_done(struct conn *c)
{
	struct session *s = c->owner;
	struct ftmb_repl_vector durable;

	if (s->kind != SESSION_VHOST)
		return;
	logstore_durable(&s->inst->log, &durable);
	if (memcmp(&durable.vc, &s->acked.vc, sizeof(durable.vc)) != 0)
		send_ack(s, &durable);
	ckpt_recv_poke(s->inst);
}

static const char *session_what(const struct session *s)
{
	switch (s->kind) {
	case SESSION_VHOST: return s->inst->name;
	case SESSION_HOSTD: return s->peer ? s->peer->cfg->name : "probe";
	default: return s->claimed[0] ? s->claimed : "(before HELLO)";
	}
}

static void on_closed(struct conn *c, enum conn_end end, const char *reason)
{
	struct session *s = c->owner;
	struct hostd *h = s->h;

	if (end == CONN_END_PROTOCOL) {
		h->protocol_errors++;
		g_warning("instance %s, peer %s: closing the connection: %s", session_what(s), c->peer,
			  reason);
	} else {
		g_info("instance %s, peer %s: %s", session_what(s), c->peer, reason);
	}
	if (s->kind == SESSION_VHOST)
		instance_detach_stream(s->inst, end, reason);
	else if (s->peer)
		monitor_detach(s->peer, s, end, reason);
	g_hash_table_remove(h->sessions, s);
	g_free(s);
}

static const struct conn_ops session_ops = {
	.frame = on_frame,
	.batch_done = on_batch_done,
	.closed = on_closed,
};

/* Without [peers] every address is trusted (announced at start). */
static gboolean trusted(const struct hostd *h, const struct sockaddr *from)
{
	if (h->cfg->peers->len == 0)
		return TRUE;
	for (guint i = 0; i < h->cfg->peers->len; i++) {
		const struct hostd_peer_cfg *p = g_ptr_array_index(h->cfg->peers, i);

		if (net_same_host((const struct sockaddr *)&p->address.ss, from))
			return TRUE;
	}
	return FALSE;
}

static void accept_one(struct hostd *h, int fd, const struct sockaddr *from)
{
	char *peer = net_format_address(from);
	struct session *s;

	if (!trusted(h, from) || g_hash_table_size(h->sessions) >= MAX_SESSIONS) {
		g_warning("refusing a connection from %s: %s", peer,
			  trusted(h, from) ? "too many sessions" : "not a peer in [peers]");
		h->refused++;
		close(fd);
		g_free(peer);
		return;
	}
	net_tune(fd);
	s = g_new0(struct session, 1);
	s->h = h;
	s->kind = SESSION_NEW;
	memcpy(&s->from, from, sizeof(s->from));
	g_hash_table_add(h->sessions, s);
	s->c = conn_new(fd, peer, FALSE, &session_ops, s);
	h->accepted++;
	g_debug("connection from %s", peer);
	g_free(peer);
}

static gboolean on_listen_ready(gint fd, GIOCondition cond, gpointer data)
{
	struct hostd *h = data;
	struct sockaddr_storage from;
	socklen_t len = sizeof(from);
	int c;

	(void)cond;
	while ((c = accept4(fd, (struct sockaddr *)&from, &len, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		accept_one(h, c, (const struct sockaddr *)&from);
		len = sizeof(from);
	}
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
		g_warning("accept on %s: %s", h->cfg->listen_text, g_strerror(errno));
	return G_SOURCE_CONTINUE;
}

gboolean backup_start(struct hostd *h, GError **error)
{
	h->sessions = g_hash_table_new(NULL, NULL);
	h->listen_fd = net_listen(&h->cfg->listen, error);
	if (h->listen_fd < 0)
		return FALSE;
	h->listen_tag = g_unix_fd_add(h->listen_fd, G_IO_IN, on_listen_ready, h);
	if (h->cfg->peers->len == 0)
		g_warning("no [peers] configured: accepting replication streams from ANY address on "
			  "%s; list the trusted hosts in [peers] or with --peer",
			  h->cfg->listen_text);
	g_message("listening for replication streams on %s", h->cfg->listen_text);
	return TRUE;
}

void backup_stop(struct hostd *h)
{
	GList *all = g_hash_table_get_keys(h->sessions);

	if (h->listen_tag)
		g_source_remove(h->listen_tag);
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	h->listen_tag = 0;
	h->listen_fd = -1;
	for (GList *l = all; l; l = l->next)
		session_close(l->data, "ftmb-hostd is stopping");
	g_list_free(all);
}
