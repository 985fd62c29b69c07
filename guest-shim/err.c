// SPDX-License-Identifier: LGPL-2.1-or-later
#include <string.h>

#include "ftmb/err.h"

const char *ftmb_strerror(int err)
{
	switch (err) {
	case FTMB_OK: return "ok";
	case FTMB_E_TRUNCATED: return "truncated input";
	case FTMB_E_MAGIC: return "wrong magic number";
	case FTMB_E_VERSION: return "unsupported version";
	case FTMB_E_CHECKSUM: return "checksum mismatch";
	case FTMB_E_LENGTH: return "length field disagrees with the data";
	case FTMB_E_RANGE: return "index or id out of range";
	case FTMB_E_COUNT: return "absurd item count";
	case FTMB_E_TYPE: return "unknown type";
	case FTMB_E_COUNTER: return "event counter out of sequence";
	case FTMB_E_SEQ: return "sequence number out of order";
	case FTMB_E_FIELD: return "reserved field not zero";
	case FTMB_E_INDEX: return "ring indexes inconsistent";
	case FTMB_E_LAYOUT: return "region layout disagrees with its geometry";
	case FTMB_E_NOSPACE: return "buffer too small";
	case FTMB_E_VARINT: return "malformed varint";
	case FTMB_E_LIMIT: return "configured bound reached";
	case FTMB_E_SKIPPED: return "input the primary never saw (skipped in replay)";
	}
	return err < 0 && err > -1000 ? strerror(-err) : "unknown error";
}
