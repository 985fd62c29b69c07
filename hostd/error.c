// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdarg.h>

#include "error.h"

G_DEFINE_QUARK(ftmb-hostd-error-quark, hostd_error)

gboolean hostd_error(GError **error, int code, const char *fmt, ...)
{
	va_list ap;
	char *detail;

	va_start(ap, fmt);
	detail = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, HOSTD_ERROR, code, "%s (%s)", detail,
		    ftmb_strerror(code));
	g_free(detail);
	return FALSE;
}
