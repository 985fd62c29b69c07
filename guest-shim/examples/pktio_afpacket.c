// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * AF_PACKET driver: a VM guest's kernel NIC (virtio-net behind ftmb-vhost),
 * one socket per queue pair. What protection needs from the guest kernel:
 *
 * - Inputs stay on their queue. ftmb-vhost numbers inputs per RX queue and
 *   a replica re-feeds each to the same queue, so worker q must see exactly
 *   the frames of RX queue q. Each socket carries a classic BPF filter on
 *   the queue the driver recorded (skb->queue_mapping, RX queue + 1).
 *   (PACKET_FANOUT_QM would do the same with one copy less, but maps a
 *   queue to a socket by the group's internal order, which is not simply
 *   the order of joining: in this guest it sent RX queue 0's frames to the
 *   second socket.)
 * - Inputs reach the sockets as they were sent: GRO is turned off. It
 *   would merge a TCP flow's segments into one large frame, as many as one
 *   NAPI poll happened to find, which the middlebox would then see (and
 *   forward) instead: the frames it sees would depend on timing, and a
 *   replica would see others. (Tagged frames escape it by chance: GRO
 *   merges no frame whose IP length differs from its size. In mode off
 *   the transfers through the NAT stalled on frames larger than any
 *   buffer.) AF_PACKET takes its copy before the IP stack trims the
 *   trailing input tag.
 * - A thread's outputs stay on one TX queue. The kernel picks a TX queue
 *   per frame from the sending CPU (XPS, which virtio-net sets up) or else
 *   from a hash; ftmb-vhost sorts outputs by thread and number only within
 *   one pass over the queues, so a thread that migrates between CPUs could
 *   hand it number k+1 before k. Each worker is pinned to the CPUs whose
 *   XPS map is its own TX queue.
 * - A thread's outputs leave in the order it sent them: ftmb-vhost stops
 *   an instance whose thread hands it an output numbered below one it has
 *   seen. A qdisc need not keep that order: Debian's default, fq_codel,
 *   keeps a queue per flow and serves the flows in turn, so once a backlog
 *   builds up (the TX ring full while ftmb-vhost takes no outputs: a busy
 *   host, the device stopped and restarted around each checkpoint) a
 *   frame of one flow overtakes earlier frames of others, and CoDel may
 *   drop frames that waited too long, unseen by the sender. The sockets
 *   bypass the qdisc (PACKET_QDISC_BYPASS): a frame goes straight to the
 *   driver, and a full ring fails the send (ENOBUFS), so that afp_tx waits
 *   with that very frame and the ones behind it.
 * - A tagged frame fits. The kernel refuses (EMSGSIZE) to send a frame
 *   longer than the MTU plus the Ethernet header, and the output tag makes
 *   a full-size frame longer: the MTU is raised, once at start, to leave
 *   room for the largest tag after a 1500-byte packet.
 * - Nothing else is sent: the guest kernel's own stack must stay silent on
 *   this NIC (no IP address, IPv6 off), since untagged outputs break the
 *   contract with ftmb-vhost; PACKET_IGNORE_OUTGOING keeps its frames and
 *   ours out of the sockets anyway.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/filter.h>
#include <linux/sockios.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ftmb/tag.h"
#include "pktio.h"

#define FRAME_ROOM (9216u + FTMB_OUT_TAG_MAX)
#define STD_MTU 1500u
#define TAGGED_MTU (STD_MTU + FTMB_OUT_TAG_MAX)
/* A socket's buffers count each frame's whole buffer (about 2 KiB here,
 * even for a small frame): the default 208 KiB holds only about 70, less
 * than a worker of a TCG guest may fall behind by, or than the frames a
 * worker has waiting for a full TX ring. */
#define SOCKBUF (8u << 20)

struct afp_queue {
	int fd;
	uint8_t *buf; /* PKTIO_BURST frames of FRAME_ROOM bytes */
	struct mmsghdr msgs[PKTIO_BURST];
	struct iovec iov[PKTIO_BURST];
};

struct afp {
	struct pktio io;
	char ifname[IF_NAMESIZE];
	int ifindex;
	struct afp_queue q[];
};

/* Accepts only frames the NIC received on RX queue q. */
static int filter_queue(int fd, uint32_t q)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_QUEUE)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, q + 1, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

/* The socket receives nothing until it is bound, after its filter is in. */
static int open_queue(struct afp *a, struct afp_queue *q, uint32_t idx)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = a->ifindex };
	struct packet_mreq mr = { .mr_ifindex = a->ifindex, .mr_type = PACKET_MR_PROMISC };
	int one = 1, size = (int)SOCKBUF;

	q->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (q->fd < 0)
		return -errno;
	/* FORCE passes net.core.[rw]mem_max (as root); else the capped request. */
	if (setsockopt(q->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(q->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(q->fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(q->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (filter_queue(q->fd, idx) < 0 ||
	    setsockopt(q->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0 ||
	    setsockopt(q->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0 ||
	    bind(q->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0 ||
	    setsockopt(q->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0)
		return -errno;
	q->buf = malloc((size_t)PKTIO_BURST * FRAME_ROOM);
	return q->buf ? 0 : -ENOMEM;
}

/* Reads the NIC's address, turns GRO off, and raises its MTU to
 * TAGGED_MTU if lower. */
static int setup_nic(struct afp *a)
{
	struct ethtool_value no_gro = { .cmd = ETHTOOL_SGRO, .data = 0 };
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", a->ifname);
	ifr.ifr_data = (void *)&no_gro;
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0) {
		err = -errno;
		fprintf(stderr, "afpacket: %s: cannot turn GRO off: %s\n", a->ifname, strerror(-err));
		goto out;
	}
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		err = -errno;
		goto out;
	}
	memcpy(a->io.mac.b, ifr.ifr_hwaddr.sa_data, sizeof(a->io.mac.b));
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) {
		err = -errno;
		goto out;
	}
	if ((unsigned)ifr.ifr_mtu < TAGGED_MTU) {
		int old = ifr.ifr_mtu;

		ifr.ifr_mtu = (int)TAGGED_MTU;
		if (ioctl(fd, SIOCSIFMTU, &ifr) < 0) {
			err = -errno;
			fprintf(stderr, "afpacket: %s: cannot raise the MTU from %d to %u for the "
				"output tag: %s\n", a->ifname, old, TAGGED_MTU, strerror(-err));
			goto out;
		}
		fprintf(stderr, "afpacket: %s: MTU %d -> %u (room for the output tag)\n",
			a->ifname, old, TAGGED_MTU);
	}
out:
	close(fd);
	return err;
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
	int err;

	if (!a)
		return -ENOMEM;
	a->io.drv = &pktio_afpacket_driver;
	a->io.n_queues = n_queues;
	for (uint32_t i = 0; i < n_queues; i++)
		a->q[i].fd = -1;
	snprintf(a->ifname, sizeof(a->ifname), "%s", spec);
	a->ifindex = (int)if_nametoindex(spec);
	if (!a->ifindex) {
		fprintf(stderr, "afpacket: no interface '%s'\n", spec);
		afp_close(&a->io);
		return -ENODEV;
	}
	err = setup_nic(a);
	for (uint32_t i = 0; i < n_queues && !err; i++)
		err = open_queue(a, &a->q[i], i);
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
	uint32_t kept = 0;
	int n;

	if (max > PKTIO_BURST)
		max = PKTIO_BURST;
	for (uint32_t i = 0; i < max; i++) {
		q->iov[i] = (struct iovec){ q->buf + (size_t)i * FRAME_ROOM, FRAME_ROOM };
		q->msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &q->iov[i], .msg_iovlen = 1 };
	}
	n = recvmmsg(q->fd, q->msgs, max, MSG_DONTWAIT, NULL);
	for (int i = 0; i < n; i++) {
		if (q->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) /* larger than any MTU we allow */
			continue;
		bufs[kept++] = (struct pktio_buf){ .data = q->iov[i].iov_base,
						   .len = q->msgs[i].msg_len, .room = FRAME_ROOM };
	}
	return kept;
}

/* Sends what the kernel takes now: a frame it refuses (too long) is
 * skipped, the ones after it still go; while the TX queue is full it
 * returns, the rest are still the caller's (who waits and retries). */
static uint32_t afp_tx(struct pktio *io, uint32_t qi, struct pktio_buf *bufs, uint32_t n)
{
	struct afp_queue *q = &((struct afp *)io)->q[qi];
	struct mmsghdr msgs[PKTIO_BURST];
	struct iovec iov[PKTIO_BURST];
	uint32_t done = 0;

	if (n > PKTIO_BURST)
		n = PKTIO_BURST;
	for (uint32_t i = 0; i < n; i++) {
		iov[i] = (struct iovec){ bufs[i].data, bufs[i].len };
		msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	while (done < n) {
		int k = sendmmsg(q->fd, msgs + done, n - done, 0);

		if (k > 0)
			done += (uint32_t)k;
		else if (errno == EAGAIN || errno == ENOBUFS)
			break;
		else if (errno != EINTR)
			done++;
	}
	return done;
}

/* Buffers are the queue's own, reused by the next receive. */
static void afp_drop(struct pktio *io, uint32_t q, struct pktio_buf *buf)
{
	(void)io, (void)q, (void)buf;
}

/* An idle worker sleeps in the kernel until a frame arrives: under TCG a
 * timer-driven backoff costs the vCPU a wake-up per sleep, and the frame
 * that comes meanwhile waits for the timer. */
static void afp_wait(struct pktio *io, uint32_t qi, uint32_t timeout_us)
{
	struct pollfd pfd = { .fd = ((struct afp *)io)->q[qi].fd, .events = POLLIN };
	struct timespec ts = { timeout_us / 1000000, (long)(timeout_us % 1000000) * 1000 };

	ppoll(&pfd, 1, &ts, NULL);
}

/* Parses a sysfs CPU mask ("3", "00000001,00000000") into set; returns the
 * number of CPUs in it, or -errno. */
static int read_cpu_mask(const char *path, cpu_set_t *set)
{
	char text[256];
	FILE *f = fopen(path, "re");
	int n = 0, bit = 0;

	if (!f)
		return -errno;
	if (!fgets(text, sizeof(text), f))
		text[0] = '\0';
	fclose(f);
	CPU_ZERO(set);
	for (int i = (int)strcspn(text, "\n") - 1; i >= 0; i--) {
		char c = text[i];
		int v;

		if (c == ',')
			continue;
		v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return -EINVAL;
		for (int b = 0; b < 4; b++, bit++)
			if ((v >> b & 1) && bit < CPU_SETSIZE) {
				CPU_SET(bit, set);
				n++;
			}
	}
	return n;
}

/* Pins the calling worker to the CPUs XPS maps to TX queue q. */
static int afp_thread_init(struct pktio *io, uint32_t q)
{
	struct afp *a = (struct afp *)io;
	char path[128];
	cpu_set_t set;
	int n, err;

	snprintf(path, sizeof(path), "/sys/class/net/%s/queues/tx-%u/xps_cpus", a->ifname, q);
	n = read_cpu_mask(path, &set);
	if (n <= 0) {
		fprintf(stderr, "afpacket: %s: no XPS CPUs for tx-%u (%s): thread %u's outputs "
			"may leave on several TX queues\n", a->ifname, q,
			n < 0 ? strerror(-n) : "empty map", q);
		return 0;
	}
	err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (err) {
		fprintf(stderr, "afpacket: thread %u: cannot pin to the CPUs of tx-%u: %s\n", q, q,
			strerror(err));
		return -err;
	}
	fprintf(stderr, "afpacket: %s: thread %u pinned to the %d CPU(s) XPS maps to tx-%u\n",
		a->ifname, q, n, q);
	return 0;
}

const struct pktio_driver pktio_afpacket_driver = {
	.name = "afpacket",
	.open = afp_open,
	.rx = afp_rx,
	.tx = afp_tx,
	.drop = afp_drop,
	.wait = afp_wait,
	.thread_init = afp_thread_init,
	.close = afp_close,
};
