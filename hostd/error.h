/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Errors about what a peer sent: the code is an enum ftmb_err, the message says what was wrong and ends with
 * ftmb_strerror() of the code, so that the WARNING that closes a connection
 * names the reason in the contract's words.
 */
#ifndef HOSTD_ERROR_H
#define HOSTD_ERROR_H

#include <glib.h>

#include "ftmb/err.h"

#define HOSTD_ERROR (hostd_error_quark())

GQuark hostd_error_quark(void);

/* Sets error and returns FALSE. */
G_GNUC_PRINTF(3, 4)
gboolean hostd_error(GError **error, int code, const char *fmt, ...);

#endif
