// SPDX-License-Identifier: GPL-2.0-or-later
/* The backup side of checkpoints (see ckpt_recv.h). */
#include <errno.h>
#include <glib-unix.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "commit.h"
#include "hostd.h"
#include "host_region.h"
#include "net.h"
#include "vm_cmdline.h"

#define READ_CHUNK (1u << 20)

static void process(struct ckpt_recv *r);

static struct ckpt_recv *recv_of(struct instance *inst)
{
	if (!inst->ckpt) {
		struct ckpt_recv *r = g_new0(struct ckpt_recv, 1);

		r->inst = inst;
		r->fd = -1;
		r->region_block = -1;
		ftmb_ckpt_store_init(&r->store);
		inst->ckpt = r;
	}
	return inst->ckpt;
}

static void set_error(struct ckpt_recv *r, const char *why)
{
	g_free(r->last_error);
	r->last_error = g_strdup(why);
}

static void close_stream(struct ckpt_recv *r)
{
	if (r->fd < 0)
		return;
	if (r->tag)
		g_source_remove(r->tag);
	r->tag = 0;
	close(r->fd);
	r->fd = -1;
	ftmb_ckpt_parser_free(&r->parser);
	g_clear_pointer(&r->buf, g_free);
	g_clear_pointer(&r->peer, g_free);
	r->pending = FALSE;
	r->region_block = -1;
	r->off = r->len = 0;
}

/* Ends the stream for a reason the primary must hear about: closing it
 * makes its QEMU's writer fail, and the primary starts over with a full
 * checkpoint. The store keeps the last committed checkpoint. */
static void refuse(struct ckpt_recv *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void refuse(struct ckpt_recv *r, const char *fmt, ...)
{
	va_list ap;
	char *why;

	va_start(ap, fmt);
	why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_warning("instance %s, peer %s: closing the checkpoint stream: %s; the store keeps "
		  "checkpoint %" G_GUINT64_FORMAT, r->inst->name, r->peer, why,
		  r->store.valid ? r->store.seq : 0);
	r->refused++;
	r->inst->h->protocol_errors++;
	set_error(r, why);
	g_free(why);
	close_stream(r);
}


void ckpt_recv_free(struct instance *inst)
{
	struct ckpt_recv *r = inst->ckpt;

	if (!r)
		return;
	close_stream(r);
	ftmb_ckpt_store_free(&r->store);
	g_free(r->last_error);
	g_free(r);
	inst->ckpt = NULL;
}

/* ---- the cut a checkpoint carries ---- */

/* Finds the region's first page in the frame (always-dirty: it is in every
 * one); an increment without it left it as the store has it. */
static int frame_cut(struct ckpt_recv *r, const struct ftmb_ckpt_frame *f, struct ftmb_cut *cut,
		     char *why, size_t why_len)
{
	const struct ftmb_ckpt_layout *l = &r->parser.layout;
	struct ftmb_ckpt_ram_iter it;
	struct ftmb_ckpt_page pg;
	int rc;

	ftmb_ckpt_ram_iter_init(&it, l, f->ram, f->ram_len);
	while ((rc = ftmb_ckpt_ram_next(&it, &pg, why, why_len)) == 1) {
		if (pg.block != (unsigned int)r->region_block || pg.offset != 0)
			continue;
		if (pg.data)
			return host_region_read_cut(pg.data, l->page_size, cut);
		memset(cut, 0, sizeof(*cut)); /* a page of one repeated byte */
		return pg.fill ? FTMB_E_MAGIC : FTMB_OK;
	}
	if (rc < 0)
		return rc;
	if (!(f->flags & FTMB_CKPT_FLAG_FULL) && r->store.valid && r->store.stream == f->stream)
		return host_region_read_cut(r->store.image[r->region_block], l->page_size, cut);
	snprintf(why, why_len, "the region's first page is missing (is its memory backend "
		 "always-dirty?)");
	return FTMB_E_TRUNCATED;
}

/* ---- commits ---- */

static void send_committed(struct instance *inst, uint64_t epoch)
{
	if (inst->stream)
		session_send_committed(inst->stream, epoch);
	g_debug("instance %s: committed epoch %" G_GUINT64_FORMAT, inst->name, epoch);
}

/* Stores the frame and, for READY, truncates the log and says COMMITTED. */
static gboolean store_frame(struct ckpt_recv *r, const struct ftmb_ckpt_frame *f,
			    const struct ftmb_cut *cut, int verdict, uint64_t epoch)
{
	struct instance *inst = r->inst;
	GError *error = NULL;

	if (ftmb_ckpt_store_apply(&r->store, &r->parser.layout, f, NULL, 0)) {
		refuse(r, "checkpoint %" G_GUINT64_FORMAT " not stored: %s", f->seq, r->store.why);
		return FALSE;
	}
	r->stored_cut = *cut;
	r->stored++;
	r->last_stored_wall_us = g_get_real_time();
	if (verdict != COMMIT_READY)
		return TRUE;
	if (!commit_apply(&inst->cuts, &inst->log, epoch, &error)) {
		/* commit_check_checkpoint() made sure this cannot happen */
		g_critical("instance %s: the log refused the cut of epoch %" G_GUINT64_FORMAT ": %s",
			   inst->name, epoch, error->message);
		g_error_free(error);
		return FALSE;
	}
	r->commits++;
	send_committed(inst, epoch);
	return TRUE;
}

/* Judges a whole checkpoint: stored and committed now (TRUE), left
 * pending (TRUE, r->pending), or refused (FALSE, the stream closed). */
static gboolean on_checkpoint(struct ckpt_recv *r, const struct ftmb_ckpt_frame *f,
			      const struct ftmb_cut *cut)
{
	struct instance *inst = r->inst;
	GError *error = NULL;
	uint64_t epoch = 0;
	int verdict;

	if (r->busy)
		verdict = COMMIT_WAIT;
	else if (!inst->have_log) /* the log stream has not started yet */
		verdict = cut->epoch == 0 ? COMMIT_SAME : COMMIT_WAIT;
	else
		verdict = commit_check_checkpoint(&inst->cuts, &inst->log, cut, &epoch, &error);
	if (verdict < 0) {
		refuse(r, "checkpoint %" G_GUINT64_FORMAT ": %s", f->seq, error->message);
		g_error_free(error);
		return FALSE;
	}
	if (verdict == COMMIT_WAIT) {
		r->pending = TRUE;
		r->frame = *f;
		r->frame_cut = *cut;
		return TRUE;
	}
	r->pending = FALSE;
	return store_frame(r, f, cut, verdict, epoch);
}

static gboolean on_frame(struct ckpt_recv *r, const struct ftmb_ckpt_frame *f)
{
	char why[200] = "";
	struct ftmb_cut cut;
	int rc;

	r->frames++;
	if (f->type == FTMB_CKPT_HELLO) {
		const struct ftmb_ckpt_layout *l = &r->parser.layout;
		const struct hostd_vm_cfg *vm = &r->inst->cfg->vm;

		r->region_block = -1;
		for (unsigned int i = 0; i < l->n_blocks; i++)
			if (vm_is_region_block(l->block[i].id))
				r->region_block = (int)i;
		if (r->region_block < 0 || l->block[r->region_block].used_length != vm->region_size) {
			refuse(r, "the VM has no region block of %" G_GUINT64_FORMAT " bytes named "
			       "*/" VM_REGION_MEMDEV, vm->region_size);
			return FALSE;
		}
		g_message("instance %s: checkpoint stream from %s: machine %s, %u RAM blocks",
			  r->inst->name, r->peer, l->machine, l->n_blocks);
		return TRUE;
	}
	rc = frame_cut(r, f, &cut, why, sizeof(why));
	if (rc) {
		refuse(r, "checkpoint %" G_GUINT64_FORMAT ": its region's cut slot is invalid: %s%s%s",
		       f->seq, ftmb_strerror(rc), why[0] ? ": " : "", why);
		return FALSE;
	}
	return on_checkpoint(r, f, &cut);
}

/* ---- the stream ---- */

static gboolean on_readable(gint fd, GIOCondition cond, gpointer data);

static void watch(struct ckpt_recv *r)
{
	if (r->fd >= 0 && !r->tag && !r->pending)
		r->tag = g_unix_fd_add(r->fd, G_IO_IN, on_readable, r);
}

/* Feeds what is buffered to the parser, up to a pending checkpoint. */
static void process(struct ckpt_recv *r)
{
	struct ftmb_ckpt_frame f;

	while (r->fd >= 0 && !r->pending && r->off < r->len) {
		size_t used = 0;
		int res = ftmb_ckpt_parser_feed(&r->parser, r->buf + r->off, r->len - r->off, &used, &f);

		r->off += used;
		if (res < 0) {
			refuse(r, "%s", r->parser.why);
			return;
		}
		if (res == 1 && !on_frame(r, &f))
			return;
	}
	watch(r);
}

/* The stream ends (how says why): a checkpoint it was inside of is
 * dropped, as is one waiting for its commit. */
static void stream_ended(struct ckpt_recv *r, const char *how)
{
	if (ftmb_ckpt_parser_finish(&r->parser)) {
		r->truncated++;
		g_warning("instance %s: the checkpoint stream from %s %s: %s; dropped, the store keeps "
			  "checkpoint %" G_GUINT64_FORMAT, r->inst->name, r->peer, how, r->parser.why,
			  r->store.valid ? r->store.seq : 0);
		set_error(r, r->parser.why);
	} else if (r->pending) {
		g_warning("instance %s: the checkpoint stream from %s %s; checkpoint %" G_GUINT64_FORMAT
			  " was waiting for its commit and is dropped, the store keeps checkpoint %"
			  G_GUINT64_FORMAT, r->inst->name, r->peer, how, r->frame.seq,
			  r->store.valid ? r->store.seq : 0);
	} else {
		g_message("instance %s: the checkpoint stream from %s %s", r->inst->name, r->peer, how);
	}
	close_stream(r);
}

void ckpt_recv_close(struct instance *inst, const char *why)
{
	struct ckpt_recv *r = inst->ckpt;
	char *how;

	if (!r || r->fd < 0)
		return;
	how = g_strdup_printf("was closed here (%s)", why);
	stream_ended(r, how);
	g_free(how);
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct ckpt_recv *r = data;
	ssize_t n = recv(fd, r->buf, READ_CHUNK, MSG_DONTWAIT);

	(void)cond;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	r->tag = 0;
	if (n <= 0) {
		stream_ended(r, n == 0 ? "ended" : g_strerror(errno));
		return G_SOURCE_REMOVE;
	}
	r->bytes += (uint64_t)n;
	r->off = 0;
	r->len = (size_t)n;
	process(r);
	return G_SOURCE_REMOVE; /* process() watched again unless a frame waits */
}

/* The instance this stream may feed, before anything is touched. */
static struct instance *admit(struct hostd *h, const struct ftmb_repl_hello *hello,
			      const struct sockaddr *from, GError **error)
{
	struct instance *inst = instance_lookup(h, hello->instance);
	const struct hostd_peer_cfg *primary;

	if (inst && (inst->state == INST_REPLICA_LIVE || inst->state == INST_FAILOVER_FAILED ||
		     inst->state == INST_RESTORING)) {
		hostd_error(error, FTMB_E_SEQ, "%s has failed over to this host; refusing its old "
			    "primary's checkpoints (fenced)", inst->name);
		return NULL;
	}
	if (!inst || !hostd_instance_is_vm(inst->cfg) || !inst->backup ||
	    strcmp(inst->backup, h->cfg->name)) {
		hostd_error(error, FTMB_E_FIELD, "this host (%s) backs up no VM instance %s",
			    h->cfg->name, hello->instance);
		return NULL;
	}
	primary = inst->primary ? hostd_config_peer(h->cfg, inst->primary) : NULL;
	if (!primary || !net_same_host((const struct sockaddr *)&primary->address.ss, from)) {
		hostd_error(error, FTMB_E_FIELD, "the checkpoint stream does not come from %s's "
			    "primary %s", inst->name, inst->primary);
		return NULL;
	}
	return inst;
}

gboolean ckpt_recv_attach(struct hostd *h, const struct ftmb_repl_hello *hello, struct conn *c,
			  const struct sockaddr *from, GError **error)
{
	struct instance *inst = admit(h, hello, from, error);
	struct ftmb_repl_hello ours = *hello;
	uint8_t answer[256];
	GByteArray *rest;
	struct ckpt_recv *r;
	int fd, len;

	if (!inst)
		return FALSE;
	r = recv_of(inst);
	if (r->fd >= 0)
		ckpt_recv_close(inst, "superseded by a new checkpoint stream");
	ours.role = FTMB_ROLE_BACKUP;
	len = ftmb_repl_put_hello(answer, sizeof(answer), &ours);
	conn_send(c, answer, (size_t)len);
	r->peer = g_strdup(c->peer);
	rest = g_byte_array_new();
	fd = conn_detach(c, rest, "the checkpoint stream is taken over");
	if (fd < 0) {
		g_byte_array_free(rest, TRUE);
		g_clear_pointer(&r->peer, g_free);
		return TRUE; /* closed already, with its reason */
	}
	r->fd = fd;
	r->streams++;
	ftmb_ckpt_parser_init(&r->parser);
	r->buf = g_malloc(MAX(READ_CHUNK, rest->len));
	memcpy(r->buf, rest->data, rest->len);
	r->off = 0;
	r->len = rest->len;
	g_byte_array_free(rest, TRUE);
	g_message("instance %s: checkpoint stream from %s", inst->name, r->peer);
	process(r);
	return TRUE;
}

/* A host process's CUT frames are its checkpoints. */
static void commit_without_checkpoint(struct instance *inst)
{
	uint64_t epoch = commit_ready_without_checkpoint(&inst->cuts, &inst->log);
	GError *error = NULL;

	if (!epoch)
		return;
	if (!commit_apply(&inst->cuts, &inst->log, epoch, &error)) {
		g_critical("instance %s: the log refused the cut of epoch %" G_GUINT64_FORMAT ": %s",
			   inst->name, epoch, error->message);
		g_error_free(error);
		return;
	}
	send_committed(inst, epoch);
}

void ckpt_recv_poke(struct instance *inst)
{
	struct ckpt_recv *r = inst->ckpt;

	if (!inst->have_log)
		return;
	if (!hostd_instance_is_vm(inst->cfg)) {
		commit_without_checkpoint(inst);
		return;
	}
	if (!r || !r->pending)
		return;
	r->pending = FALSE;
	if (on_checkpoint(r, &r->frame, &r->frame_cut))
		process(r);
}
