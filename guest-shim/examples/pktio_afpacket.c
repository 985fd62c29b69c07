// SPDX-License-Identifier: GPL-2.0-or-later
/* AF_PACKET driver: a socket per RX queue, joined to a PACKET_FANOUT_QM group
 * so that socket q sees exactly the frames the NIC received on queue q. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ftmb/tag.h"
#include "pktio.h"

#define FRAME_ROOM (9216u + FTMB_OUT_TAG_MAX)

struct afp_queue {
	int fd;
	uint8_t *buf; /* PKTIO_BURST frames of FRAME_ROOM bytes */
	struct mmsghdr msgs[PKTIO_BURST];
	struct iovec iov[PKTIO_BURST];
};

struct afp {
	struct pktio io;
	int ifindex;
	struct afp_queue q[];
};

static int open_queue(struct afp *a, struct afp_queue *q, int fanout_id)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = a->ifindex };
	struct packet_mreq mr = { .mr_ifindex = a->ifindex, .mr_type = PACKET_MR_PROMISC };
	int one = 1, fanout = fanout_id | (PACKET_FANOUT_QM << 16);

	q->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (q->fd < 0)
		return -errno;
	if (bind(q->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0 ||
	    setsockopt(q->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0 ||
	    setsockopt(q->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0 ||
	    setsockopt(q->fd, SOL_PACKET, PACKET_FANOUT, &fanout, sizeof(fanout)) < 0)
		return -errno;
	q->buf = malloc((size_t)PKTIO_BURST * FRAME_ROOM);
	return q->buf ? 0 : -ENOMEM;
}

static void afp_close(struct pktio *io)
{
	struct afp *a = (struct afp *)io;

	for (uint32_t i = 0; i < io->n_queues; i++) {
		if (a->q[i].fd >= 0)
			close(a->q[i].fd);
		free(a->q[i].buf);
	}
	free(a);
}

static int afp_open(const char *spec, uint32_t n_queues, struct pktio **out)
{
	struct afp *a = calloc(1, sizeof(*a) + n_queues * sizeof(a->q[0]));
	int err = 0;

	if (!a)
		return -ENOMEM;
	a->io.drv = &pktio_afpacket_driver;
	a->io.n_queues = n_queues;
	for (uint32_t i = 0; i < n_queues; i++)
		a->q[i].fd = -1;
	a->ifindex = (int)if_nametoindex(spec);
	if (!a->ifindex) {
		fprintf(stderr, "afpacket: no interface '%s'\n", spec);
		afp_close(&a->io);
		return -ENODEV;
	}
	for (uint32_t i = 0; i < n_queues && !err; i++)
		err = open_queue(a, &a->q[i], getpid() & 0xffff);
	if (err) {
		fprintf(stderr, "afpacket: %s: %s\n", spec, strerror(-err));
		afp_close(&a->io);
		return err;
	}
	*out = &a->io;
	return 0;
}

static uint32_t afp_rx(struct pktio *io, uint32_t qi, struct pktio_buf *bufs, uint32_t max)
{
	struct afp_queue *q = &((struct afp *)io)->q[qi];
	int n;

	if (max > PKTIO_BURST)
		max = PKTIO_BURST;
	for (uint32_t i = 0; i < max; i++) {
		q->iov[i] = (struct iovec){ q->buf + (size_t)i * FRAME_ROOM, FRAME_ROOM };
		q->msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &q->iov[i], .msg_iovlen = 1 };
	}
	n = recvmmsg(q->fd, q->msgs, max, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return 0;
	for (int i = 0; i < n; i++)
		bufs[i] = (struct pktio_buf){ .data = q->iov[i].iov_base, .len = q->msgs[i].msg_len,
					      .room = FRAME_ROOM };
	return (uint32_t)n;
}

static uint32_t afp_tx(struct pktio *io, uint32_t qi, struct pktio_buf *bufs, uint32_t n)
{
	struct afp_queue *q = &((struct afp *)io)->q[qi];
	struct mmsghdr msgs[PKTIO_BURST];
	struct iovec iov[PKTIO_BURST];
	int sent;

	if (n > PKTIO_BURST)
		n = PKTIO_BURST;
	for (uint32_t i = 0; i < n; i++) {
		iov[i] = (struct iovec){ bufs[i].data, bufs[i].len };
		msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	sent = sendmmsg(q->fd, msgs, n, 0);
	return sent > 0 ? (uint32_t)sent : 0;
}

/* Buffers are the queue's own, reused by the next receive. */
static void afp_drop(struct pktio *io, uint32_t q, struct pktio_buf *buf)
{
	(void)io, (void)q, (void)buf;
}

static int afp_thread_init(struct pktio *io, uint32_t q)
{
	(void)io, (void)q;
	return 0;
}

const struct pktio_driver pktio_afpacket_driver = {
	.name = "afpacket",
	.open = afp_open,
	.rx = afp_rx,
	.tx = afp_tx,
	.drop = afp_drop,
	.thread_init = afp_thread_init,
	.close = afp_close,
};
