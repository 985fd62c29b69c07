/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Error codes shared by every decoder and reader of the ftmb contracts. Each
 * names what was wrong with the input, so that a log line says why a guest or
 * a peer was cut off. They lie below -1000 so that functions may also return
 * -errno values, and ftmb_strerror() explains both.
 */
#ifndef FTMB_ERR_H
#define FTMB_ERR_H

enum ftmb_err {
	FTMB_OK = 0,
	FTMB_E_TRUNCATED = -1001, /* the input ends inside an item */
	FTMB_E_MAGIC = -1002,     /* not an ftmb structure */
	FTMB_E_VERSION = -1003,   /* a version this build does not speak */
	FTMB_E_CHECKSUM = -1004,  /* CRC32C mismatch */
	FTMB_E_LENGTH = -1005,    /* a length field disagrees with the data */
	FTMB_E_RANGE = -1006,     /* an index or id beyond its bound */
	FTMB_E_COUNT = -1007,     /* an absurd number of items */
	FTMB_E_TYPE = -1008,      /* an unknown type */
	FTMB_E_COUNTER = -1009,   /* a thread's event counter out of sequence */
	FTMB_E_SEQ = -1010,      /* a sequence number out of order */
	FTMB_E_FIELD = -1011,    /* a reserved or must-be-zero field is not */
	FTMB_E_INDEX = -1012,    /* ring head/tail inconsistent */
	FTMB_E_LAYOUT = -1013,   /* region offsets disagree with its geometry */
	FTMB_E_NOSPACE = -1014,  /* the output buffer is too small */
	FTMB_E_VARINT = -1015,   /* an over-long or overflowing varint */
	FTMB_E_LIMIT = -1016,    /* a configured bound (memory, queue) reached */
	FTMB_E_SKIPPED = -1017,  /* replay: an input the primary never saw (drop it) */
};

/* A short human phrase for an ftmb_err or a -errno value, for logs. */
const char *ftmb_strerror(int err);

#endif
