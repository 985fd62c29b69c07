/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ftmb-vhost's log type ("ftmb.vhost"; --log-level=ftmb.vhost:debug). */
#ifndef VHOST_LOG_H
#define VHOST_LOG_H

#include <rte_log.h>

extern int ftmb_vhost_logtype;

#define VLOG(level, fmt, ...)                                                       \
	rte_log(RTE_LOG_##level, ftmb_vhost_logtype, "ftmb-vhost: " #level ": " fmt "\n", \
		##__VA_ARGS__)

#endif
