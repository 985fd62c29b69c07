// SPDX-License-Identifier: LGPL-2.1-or-later
#include "ftmb/err.h"
#include "ftmb/record.h"
#include "ftmb/region.h"

int ftmb_record_check(const struct ftmb_record *rec, uint64_t expected_counter, uint32_t n_vars)
{
	if (rec->reserved != 0)
		return FTMB_E_FIELD;
	switch (rec->type) {
	case FTMB_REC_PAL:
		if (rec->var >= n_vars)
			return FTMB_E_RANGE;
		if (rec->seq == 0)
			return FTMB_E_SEQ;
		if (rec->value != 0)
			return FTMB_E_FIELD;
		break;
	case FTMB_REC_SKIP:
		if (rec->var >= FTMB_MAX_THREADS)
			return FTMB_E_RANGE;
		if (rec->seq == 0 || rec->value == 0 || rec->seq >= FTMB_SKIP_LIMIT ||
		    rec->value >= FTMB_SKIP_LIMIT - rec->seq)
			return FTMB_E_SEQ;
		break;
	case FTMB_REC_TIME:
	case FTMB_REC_RANDOM:
		if (rec->var != 0 || rec->seq != 0)
			return FTMB_E_FIELD;
		break;
	default:
		return FTMB_E_TYPE;
	}
	if (rec->counter != expected_counter)
		return FTMB_E_COUNTER;
	return FTMB_OK;
}
