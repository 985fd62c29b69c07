/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Restore: turns the store's checkpoint into a QEMU 7.2 migration stream and
 * has a fresh QEMU, started with the protected VM's identical command line
 * plus "-S -incoming fd:N", load it. The replica stays paused (-S) so that
 * the host can write the replay area before QMP "cont".
 *
 * The stream: "QEVM" v3 header, the configuration section (machine type),
 * one "ram" section (block list, then every page that is not known to be
 * zero already, then EOS), the stored device state without its own header
 * (FULL sections and EOF), and an empty VM description.
 */
#ifndef FTMB_CKPT_RESTORE_H
#define FTMB_CKPT_RESTORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ckpt_store.h"

struct ftmb_ckpt_restore_opts {
	/* Blocks whose RAM is all zero in a fresh QEMU (a new memfd or an empty
	 * file): their zero pages are not sent. NULL-terminated, may be NULL. */
	const char *const *fresh_zero;
	/* "BLOCK=PATH" entries: the block's image is written into the file PATH,
	 * created anew, before QEMU starts, and left out of the stream. PATH must
	 * be the mem-path of that block's memory-backend-file (share=on) in the
	 * replica's command line. NULL-terminated, may be NULL. */
	const char *const *prefill;
	/* The prefill files are written already (ftmb_ckpt_restore_prefill,
	 * before something else had to use them): spawn leaves them alone. */
	bool prefilled;
	int timeout_ms; /* for the whole load; 0 means 60 s */
	int log_fd;     /* QEMU's stdout and stderr; 0 means ours (stderr) */
};

struct ftmb_ckpt_restore_stats {
	uint64_t stream_bytes;
	uint64_t pages;         /* sent whole */
	uint64_t zero_pages;    /* sent as ZERO records */
	uint64_t prefill_bytes; /* written into prefilled files */
	double prefill_ms;      /* writing them, before QEMU starts */
	double write_ms;        /* start until the last byte was written */
	double load_ms;         /* start until QEMU had loaded it and closed the stream */
};

/* Writes the stream for s to fd (prefilled blocks left out). Returns FTMB_OK
 * or -errno. */
int ftmb_ckpt_restore_write(const struct ftmb_ckpt_store *s, int fd,
			    const struct ftmb_ckpt_restore_opts *opts, struct ftmb_ckpt_restore_stats *st);

/* Writes the prefilled blocks' files (opts->prefill). Returns FTMB_OK or
 * -errno; msg (msg_len bytes) says what failed. */
int ftmb_ckpt_restore_prefill(const struct ftmb_ckpt_store *s,
			      const struct ftmb_ckpt_restore_opts *opts,
			      struct ftmb_ckpt_restore_stats *st, char *msg, size_t msg_len);

/*
 * Starts argv (argv[0] is the QEMU binary; the protected VM's command line)
 * with "-S -incoming fd:N" appended, in its own session, after writing the
 * prefilled files (unless opts->prefilled); feeds it the stream and waits until QEMU has loaded it. Returns FTMB_OK with *pid set (QEMU
 * keeps running, paused), or -errno; err (err_len bytes) says what failed.
 */
int ftmb_ckpt_restore_spawn(const struct ftmb_ckpt_store *s, char *const argv[],
			    const struct ftmb_ckpt_restore_opts *opts, pid_t *pid,
			    struct ftmb_ckpt_restore_stats *st, char *err, size_t err_len);

#endif
