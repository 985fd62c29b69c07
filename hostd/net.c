// SPDX-License-Identifier: GPL-2.0-or-later
/* TCP plumbing (see net.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include "net.h"

static gboolean split_host_port(const char *text, guint16 default_port, char **host,
				char **port, GError **error)
{
	const char *colon;

	if (text[0] == '[') {
		const char *end = strchr(text, ']');

		if (!end || (end[1] != '\0' && end[1] != ':'))
			goto bad;
		*host = g_strndup(text + 1, (gsize)(end - text - 1));
		colon = end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = strrchr(text, ':');
		if (colon && strchr(text, ':') != colon)
			goto bad; /* a bare IPv6 address needs brackets */
		*host = colon ? g_strndup(text, (gsize)(colon - text)) : g_strdup(text);
	}
	*port = colon ? g_strdup(colon + 1) : g_strdup_printf("%u", default_port);
	if (**host && **port)
		return TRUE;
	g_clear_pointer(host, g_free);
	g_clear_pointer(port, g_free);
bad:
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
		    "bad address \"%s\": write host:port, an IPv6 host in brackets: "
		    "192.0.2.1:7400 or [2001:db8::1]:7400",
		    text);
	return FALSE;
}

gboolean net_parse_address(const char *text, guint16 default_port, struct net_address *out,
			   GError **error)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res;
	char *host, *port;
	int rc;

	if (!split_host_port(text, default_port, &host, &port, error))
		return FALSE;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "cannot resolve address \"%s\": %s", text, gai_strerror(rc));
	} else {
		memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
		out->len = res->ai_addrlen;
		freeaddrinfo(res);
	}
	g_free(host);
	g_free(port);
	return rc == 0;
}

char *net_format_address(const struct sockaddr *sa)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		return g_strdup_printf("%s:%u", ip, ntohs(in->sin_port));
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		return g_strdup_printf("[%s]:%u", ip, ntohs(in6->sin6_port));
	}
	return g_strdup("(unknown address family)");
}

/* The 16-byte IPv6 form of any address (IPv4 mapped). */
static gboolean ip_as_v6(const struct sockaddr *sa, struct in6_addr *out)
{
	if (sa->sa_family == AF_INET6) {
		*out = ((const struct sockaddr_in6 *)sa)->sin6_addr;
		return TRUE;
	}
	if (sa->sa_family == AF_INET) {
		memset(out, 0, sizeof(*out));
		out->s6_addr[10] = 0xff;
		out->s6_addr[11] = 0xff;
		memcpy(&out->s6_addr[12], &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return TRUE;
	}
	return FALSE;
}

gboolean net_same_host(const struct sockaddr *a, const struct sockaddr *b)
{
	struct in6_addr x, y;

	return ip_as_v6(a, &x) && ip_as_v6(b, &y) && memcmp(&x, &y, sizeof(x)) == 0;
}

static int set_error_errno(GError **error, const char *what, const struct net_address *addr)
{
	int err = errno;
	char *text = net_format_address((const struct sockaddr *)&addr->ss);

	g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err), "%s %s: %s", what, text,
		    g_strerror(err));
	g_free(text);
	return -1;
}

void net_tune(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFD, FD_CLOEXEC);
}

int net_listen(const struct net_address *addr, GError **error)
{
	int one = 1;
	int fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return set_error_errno(error, "socket for", addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0 || listen(fd, 128) < 0) {
		set_error_errno(error, "cannot listen on", addr);
		close(fd);
		return -1;
	}
	return fd;
}

int net_connect(const struct net_address *addr, gboolean nonblocking, GError **error)
{
	int fd = socket(addr->ss.ss_family,
			SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);

	if (fd < 0)
		return set_error_errno(error, "socket for", addr);
	net_tune(fd);
	if (connect(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0 &&
	    !(nonblocking && errno == EINPROGRESS)) {
		set_error_errno(error, "cannot connect to", addr);
		close(fd);
		return -1;
	}
	return fd;
}
