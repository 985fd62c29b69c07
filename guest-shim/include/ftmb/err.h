/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Error codes shared by every decoder and reader of the ftmb contracts. Each
 * names what was wrong with the input, so that a log line says why a guest or
 * a peer was cut off.
 */
#ifndef FTMB_ERR_H
#define FTMB_ERR_H

enum ftmb_err {
	FTMB_OK = 0,
	FTMB_E_TRUNCATED = -1, /* the input ends inside an item */
	FTMB_E_MAGIC = -2,     /* not an ftmb structure */
	FTMB_E_VERSION = -3,   /* a version this build does not speak */
	FTMB_E_CHECKSUM = -4,  /* CRC32C mismatch */
	FTMB_E_LENGTH = -5,    /* a length field disagrees with the data */
	FTMB_E_RANGE = -6,     /* an index or id beyond its bound */
	FTMB_E_COUNT = -7,     /* an absurd number of items */
	FTMB_E_TYPE = -8,      /* an unknown type */
	FTMB_E_COUNTER = -9,   /* a thread's event counter out of sequence */
	FTMB_E_SEQ = -10,      /* a sequence number out of order */
	FTMB_E_FIELD = -11,    /* a reserved or must-be-zero field is not */
	FTMB_E_INDEX = -12,    /* ring head/tail inconsistent */
	FTMB_E_LAYOUT = -13,   /* region offsets disagree with its geometry */
	FTMB_E_NOSPACE = -14,  /* the output buffer is too small */
	FTMB_E_VARINT = -15,   /* an over-long or overflowing varint */
};

/* A short human phrase for an ftmb_err, for logs. */
const char *ftmb_strerror(int err);

#endif
