/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sink record files (format in ftmb/testpkt.h): the writer the traffic sink
 * streams into, and the validating reader the verifier uses. Records are
 * stored in the host's byte order, as the structs are; files move between
 * little-endian hosts only.
 */
#ifndef FTMB_SINKREC_H
#define FTMB_SINKREC_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "ftmb/testpkt.h"

/*
 * The writer. sinkrec_writer_add() copies the record into an in-memory chunk;
 * full chunks go to a writer thread, so the packet loop never waits for the
 * disk. When the disk is slower than the traffic, chunks pile up in memory:
 * records are never dropped.
 */
struct sinkrec_writer;

/* Creates (truncates) path and writes the header. NULL and *err on failure. */
struct sinkrec_writer *sinkrec_writer_open(const char *path, GError **err);

void sinkrec_writer_add(struct sinkrec_writer *w, const struct ftmb_sinkrec *rec);

/* Hands the partial chunk to the writer thread, so that a crash loses at
 * most what arrived since (called once a second). */
void sinkrec_writer_flush(struct sinkrec_writer *w);

uint64_t sinkrec_writer_count(const struct sinkrec_writer *w);

/* Writes everything, closes the file and frees w. FALSE and *err when any
 * write failed (the file is then incomplete). */
gboolean sinkrec_writer_close(struct sinkrec_writer *w, GError **err);

/* A record file mapped read-only after its header and size were checked. */
struct sinkrec_file {
	GMappedFile *map;
	const struct ftmb_sinkrec *recs;
	size_t count;
};

/*
 * Maps and validates path: header magic, version, record size, reserved
 * field, and a length that is the header plus whole records. On failure
 * returns FALSE with *err naming the file and what is wrong.
 */
gboolean sinkrec_file_open(const char *path, struct sinkrec_file *f, GError **err);

void sinkrec_file_close(struct sinkrec_file *f);

#define SINKREC_ERROR (sinkrec_error_quark())
GQuark sinkrec_error_quark(void);

enum sinkrec_error {
	SINKREC_ERROR_IO,
	SINKREC_ERROR_FORMAT,
};

#endif
