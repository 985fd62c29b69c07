// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * afp-order: do frames sent on a kernel NIC leave in the order they were
 * sent, whatever the interface's qdisc? ftmb-vhost stops an instance whose
 * thread hands it output k after output k+1, so the guest's AF_PACKET
 * driver must not let the kernel reorder a thread's frames.
 *
 *   afp-order driver|socket SEND_IFACE RECV_IFACE
 *
 * Sends FRAMES numbered UDP frames of FLOWS flows (round robin) on
 * SEND_IFACE, in bursts, through the guest driver (pktio_afpacket.c) or
 * through a plain AF_PACKET socket (the negative control: it goes through
 * the qdisc), and captures them on RECV_IFACE, its veth peer. Prints one
 * JSON line: sent, received, out_of_order (frames numbered below one
 * received before them). Exits 0 once the frames came back, whatever their
 * order: the calling script judges.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pktio.h"

#define FRAMES 512u
#define FLOWS 8u
#define FRAME_LEN 128u
#define QUIET_MS 1000

static uint8_t frames[FRAMES][FRAME_LEN];

/* Ethernet + IPv4 + UDP, flow = the source port, the frame number in the
 * payload. The qdisc's flow dissector only needs the headers to parse. */
static void build_frame(uint8_t *f, uint32_t seq)
{
	uint16_t sport = (uint16_t)(1000u + seq % FLOWS), ip_len = FRAME_LEN - 14u;

	memset(f, 0, FRAME_LEN);
	memset(f, 0xff, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (uint8_t)(ip_len >> 8);
	f[17] = (uint8_t)ip_len;
	f[22] = 64;
	f[23] = 17;
	memcpy(f + 26, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	f[34] = (uint8_t)(sport >> 8);
	f[35] = (uint8_t)sport;
	f[36] = 0x30;
	f[37] = 0x39;
	f[38] = (uint8_t)((ip_len - 20u) >> 8);
	f[39] = (uint8_t)(ip_len - 20u);
	memcpy(f + 42, "AFPO", 4);
	memcpy(f + 46, &seq, sizeof(seq));
}

static int raw_socket(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = (int)if_nametoindex(ifname) };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)), size = 8 << 20;

	if (fd < 0 || !sll.sll_ifindex ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "afp-order: %s: cannot open a packet socket: %s\n", ifname,
			strerror(errno));
		exit(2);
	}
	return fd;
}

/* Sends every frame through the guest driver, PKTIO_BURST at a time. */
static uint32_t send_driver(const char *ifname)
{
	struct pktio *io;
	uint32_t sent = 0;
	int err = pktio_afpacket_driver.open(ifname, 1, &io);

	if (err) {
		fprintf(stderr, "afp-order: the AF_PACKET driver cannot open %s: %s\n", ifname,
			strerror(-err));
		exit(2);
	}
	for (uint32_t i = 0; i < FRAMES; i += PKTIO_BURST) {
		struct pktio_buf b[PKTIO_BURST];
		uint32_t n = FRAMES - i < PKTIO_BURST ? FRAMES - i : PKTIO_BURST;

		for (uint32_t k = 0; k < n; k++)
			b[k] = (struct pktio_buf){ .data = frames[i + k], .len = FRAME_LEN,
						   .room = FRAME_LEN };
		sent += pktio_tx(io, 0, b, n);
	}
	pktio_close(io);
	return sent;
}

/* The same frames through a socket that uses the qdisc. */
static uint32_t send_socket(const char *ifname)
{
	int fd = raw_socket(ifname);
	uint32_t sent = 0;

	for (uint32_t i = 0; i < FRAMES; i++)
		sent += send(fd, frames[i], FRAME_LEN, 0) == (ssize_t)FRAME_LEN;
	close(fd);
	return sent;
}

int main(int argc, char **argv)
{
	uint32_t sent, received = 0, out_of_order = 0, top = 0;
	bool any = false;
	uint8_t buf[2048];
	int rx;

	if (argc != 4 || (strcmp(argv[1], "driver") && strcmp(argv[1], "socket"))) {
		fprintf(stderr, "usage: afp-order driver|socket SEND_IFACE RECV_IFACE\n");
		return 2;
	}
	for (uint32_t i = 0; i < FRAMES; i++)
		build_frame(frames[i], i);
	rx = raw_socket(argv[3]);
	sent = strcmp(argv[1], "driver") ? send_socket(argv[2]) : send_driver(argv[2]);
	for (;;) {
		struct pollfd p = { .fd = rx, .events = POLLIN };
		ssize_t len;
		uint32_t seq;

		if (poll(&p, 1, QUIET_MS) <= 0)
			break;
		len = recv(rx, buf, sizeof(buf), 0);
		if (len < (ssize_t)FRAME_LEN || memcmp(buf + 42, "AFPO", 4))
			continue;
		memcpy(&seq, buf + 46, sizeof(seq));
		received++;
		if (any && seq < top)
			out_of_order++;
		if (!any || seq > top)
			top = seq;
		any = true;
	}
	printf("{\"sender\":\"%s\",\"sent\":%u,\"received\":%u,\"out_of_order\":%u}\n", argv[1],
	       sent, received, out_of_order);
	return received ? 0 : 1;
}
