/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TCP plumbing shared by ftmb-hostd and ftmb-ping: "host:port" addresses,
 * listening and connecting sockets tuned for the replication stream (no
 * Nagle: every frame is latency-critical and goes out as soon as it is
 * written).
 */
#ifndef HOSTD_NET_H
#define HOSTD_NET_H

#include <gio/gio.h>
#include <sys/socket.h>

#define HOSTD_DEFAULT_PORT 7400

struct net_address {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Parses "host:port", "[v6]:port" or a bare host (port default_port);
 * host may be a name, resolved once here. */
gboolean net_parse_address(const char *text, guint16 default_port, struct net_address *out,
			   GError **error);

/* "192.0.2.1:7400" or "[2001:db8::1]:7400"; g_free the result. */
char *net_format_address(const struct sockaddr *sa);

/* TRUE when both name the same IP address (ports are not compared;
 * IPv4-mapped IPv6 addresses equal their IPv4 form). */
gboolean net_same_host(const struct sockaddr *a, const struct sockaddr *b);

/* A non-blocking listening socket, or -1 with error set. */
int net_listen(const struct net_address *addr, GError **error);

/* A TCP socket connecting to addr (non-blocking: the connect may still be
 * in progress), or -1 with error set. */
int net_connect(const struct net_address *addr, gboolean nonblocking, GError **error);

/* TCP_NODELAY and close-on-exec on an accepted or connected socket. */
void net_tune(int fd);

#endif
