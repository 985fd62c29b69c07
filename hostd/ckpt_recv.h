/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The backup side of checkpoints.
 *
 * A VM instance's primary hostd opens a connection with HELLO role
 * CHECKPOINT; once answered, the connection carries QEMU's raw checkpoint
 * stream (ftmb/ckpt.h), parsed here as it arrives (ckpt_parser). A whole,
 * verified checkpoint is not applied at once: the cut it carries in its
 * region (ftmb/region.h) must first match a CUT frame that ftmb-vhost sent
 * on the instance's log stream, and the log must cover it (commit.h). Until
 * then the stream is not read further (the primary's QEMU waits for the
 * frame to be taken). Then the checkpoint goes into the instance's store
 * atomically (ckpt_store), the log is truncated at its cut and ftmb-vhost
 * gets COMMITTED. A checkpoint cut off mid-stream, failing its checksums or
 * carrying a cut that does not check out is never applied: the stream is
 * closed and the store keeps the last committed checkpoint.
 *
 * An instance without a VM (a host process) has no checkpoint stream: its
 * CUT frames are committed as soon as its log covers them.
 */
#ifndef HOSTD_CKPT_RECV_H
#define HOSTD_CKPT_RECV_H

#include <glib.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ckpt_parser.h"
#include "ckpt_store.h"
#include "conn.h"
#include "ftmb/region.h"

struct instance;
struct hostd;

struct ckpt_recv {
	struct instance *inst;
	struct ftmb_ckpt_store store;
	struct ftmb_cut stored_cut; /* the cut of the stored checkpoint */

	/* the stream (fd -1: none) */
	int fd;
	guint tag;
	char *peer;
	struct ftmb_ckpt_parser parser;
	int region_block; /* in the parser's layout, -1 before its HELLO */
	uint8_t *buf;
	size_t off, len;
	gboolean pending; /* frame waits for its commit (the stream is not read) */
	struct ftmb_ckpt_frame frame;
	struct ftmb_cut frame_cut;
	gboolean busy; /* a restore reads the store: nothing is applied meanwhile */

	uint64_t streams, frames, stored, commits, refused, truncated, bytes;
	int64_t last_stored_wall_us;
	char *last_error;
};

/* A HELLO with role CHECKPOINT on connection c (from address from): admits
 * it for a VM instance this host backs up from that instance's primary,
 * answers, and takes the stream over from c. FALSE with error set when it
 * is refused (c is then closed by the caller). */
gboolean ckpt_recv_attach(struct hostd *h, const struct ftmb_repl_hello *hello, struct conn *c,
			  const struct sockaddr *from, GError **error);

/* The instance's log has moved (new frames, a new CUT): commits what can be
 * committed now, a waiting checkpoint included. */
void ckpt_recv_poke(struct instance *inst);

/* Closes the instance's checkpoint stream (fencing, stopping). */
void ckpt_recv_close(struct instance *inst, const char *why);

void ckpt_recv_free(struct instance *inst);

#endif
