// SPDX-License-Identifier: GPL-2.0-or-later
/* Restore a stored checkpoint into a fresh QEMU (see ckpt_restore.h). */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ckpt_restore.h"

/* QEMU 7.2's migration stream (migration/savevm.c and ram.c). */
#define QEVM_MAGIC 0x5145564du
#define QEVM_VERSION 3u
#define SECTION_START 0x01
#define SECTION_VMDESC 0x06
#define SECTION_CONFIGURATION 0x07
#define SECTION_FOOTER 0x7e
#define RAM_MEM_SIZE 0x04u
#define RAM_SECTION_ID 0u /* ours; the device sections keep their own */
#define RAM_VERSION 4u
#define DEV_HEADER_LEN 8u

#define OUT_BUF (1u << 20)

struct out {
	int fd;
	int err;
	uint64_t total;
	size_t len;
	uint8_t buf[OUT_BUF];
};

static void out_flush(struct out *o)
{
	size_t done = 0;

	while (!o->err && done < o->len) {
		ssize_t n = send(o->fd, o->buf + done, o->len - done, MSG_NOSIGNAL);

		if (n < 0 && errno == ENOTSOCK)
			n = write(o->fd, o->buf + done, o->len - done);
		if (n < 0 && errno != EINTR)
			o->err = -errno;
		else if (n > 0)
			done += (size_t)n;
	}
	o->total += o->len;
	o->len = 0;
}

static void out_put(struct out *o, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len) {
		size_t take = OUT_BUF - o->len < len ? OUT_BUF - o->len : len;

		memcpy(o->buf + o->len, p, take);
		o->len += take;
		p += take;
		len -= take;
		if (o->len == OUT_BUF)
			out_flush(o);
	}
}

static void out_u8(struct out *o, uint8_t v)
{
	out_put(o, &v, 1);
}

static void out_be32(struct out *o, uint32_t v)
{
	v = htobe32(v);
	out_put(o, &v, 4);
}

static void out_be64(struct out *o, uint64_t v)
{
	v = htobe64(v);
	out_put(o, &v, 8);
}

static void out_str8(struct out *o, const char *s)
{
	out_u8(o, (uint8_t)strlen(s));
	out_put(o, s, strlen(s));
}

static bool page_is_zero(const uint8_t *p, size_t len)
{
	return p[0] == 0 && !memcmp(p, p + 1, len - 1);
}

static bool listed(const char *const *names, const char *id)
{
	for (; names && *names; names++)
		if (!strcmp(*names, id))
			return true;
	return false;
}

/* The PATH of a "BLOCK=PATH" entry for block id, or NULL. */
static const char *prefill_path(const struct ftmb_ckpt_restore_opts *opts, const char *id)
{
	size_t len = strlen(id);

	for (const char *const *e = opts ? opts->prefill : NULL; e && *e; e++)
		if (!strncmp(*e, id, len) && (*e)[len] == '=')
			return *e + len + 1;
	return NULL;
}

static void put_block_pages(struct out *o, const struct ftmb_ckpt_store *s, unsigned int b,
			    bool skip_zero, struct ftmb_ckpt_restore_stats *st)
{
	const struct ftmb_ckpt_block *blk = &s->layout.block[b];
	uint32_t ps = s->layout.page_size;
	bool named = false;

	for (uint64_t off = 0; off < blk->used_length && !o->err; off += ps) {
		const uint8_t *page = s->image[b] + off;
		bool zero = page_is_zero(page, ps);

		if (zero && skip_zero)
			continue;
		out_be64(o, off | (zero ? FTMB_CKPT_RAM_ZERO : FTMB_CKPT_RAM_PAGE) |
				    (named ? FTMB_CKPT_RAM_CONTINUE : 0));
		if (!named)
			out_str8(o, blk->id);
		named = true;
		if (zero) {
			out_u8(o, 0);
			st->zero_pages++;
		} else {
			out_put(o, page, ps);
			st->pages++;
		}
	}
}

static void put_ram_section(struct out *o, const struct ftmb_ckpt_store *s,
			    const struct ftmb_ckpt_restore_opts *opts, struct ftmb_ckpt_restore_stats *st)
{
	uint64_t total = 0;

	out_u8(o, SECTION_START);
	out_be32(o, RAM_SECTION_ID);
	out_str8(o, "ram");
	out_be32(o, 0); /* instance */
	out_be32(o, RAM_VERSION);
	for (unsigned int b = 0; b < s->layout.n_blocks; b++)
		total += s->layout.block[b].used_length;
	out_be64(o, total | RAM_MEM_SIZE);
	for (unsigned int b = 0; b < s->layout.n_blocks; b++) {
		out_str8(o, s->layout.block[b].id);
		out_be64(o, s->layout.block[b].used_length);
	}
	for (unsigned int b = 0; b < s->layout.n_blocks; b++)
		if (!prefill_path(opts, s->layout.block[b].id))
			put_block_pages(o, s, b,
					listed(opts ? opts->fresh_zero : NULL, s->layout.block[b].id), st);
	out_be64(o, FTMB_CKPT_RAM_EOS);
	out_u8(o, SECTION_FOOTER);
	out_be32(o, RAM_SECTION_ID);
}

int ftmb_ckpt_restore_write(const struct ftmb_ckpt_store *s, int fd,
			    const struct ftmb_ckpt_restore_opts *opts, struct ftmb_ckpt_restore_stats *st)
{
	struct out *o;
	int err;

	if (!s->valid || s->dev_len <= DEV_HEADER_LEN)
		return -ENOENT;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->fd = fd;
	out_be32(o, QEVM_MAGIC);
	out_be32(o, QEVM_VERSION);
	out_u8(o, SECTION_CONFIGURATION);
	out_be32(o, (uint32_t)strlen(s->layout.machine));
	out_put(o, s->layout.machine, strlen(s->layout.machine));
	put_ram_section(o, s, opts, st);
	/* FULL device sections and EOF */
	out_put(o, s->dev + DEV_HEADER_LEN, s->dev_len - DEV_HEADER_LEN);
	/* An empty description spares QEMU's "Expected vmdescription" warning. */
	out_u8(o, SECTION_VMDESC);
	out_be32(o, 2);
	out_put(o, "{}", 2);
	out_flush(o);
	st->stream_bytes = o->total;
	err = o->err;
	free(o);
	return err;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static int pwrite_all(int fd, const uint8_t *p, uint64_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* Writes block b's non-zero pages into a new file at path, each run of them
 * with one pwrite; zero pages stay holes. */
static int prefill_file(const struct ftmb_ckpt_store *s, unsigned int b, const char *path,
			struct ftmb_ckpt_restore_stats *st)
{
	const struct ftmb_ckpt_block *blk = &s->layout.block[b];
	uint32_t ps = s->layout.page_size;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	uint64_t run = 0, off;
	int err = 0;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)blk->used_length) < 0)
		err = -errno;
	for (off = 0; off < blk->used_length && !err; off += ps) {
		if (!page_is_zero(s->image[b] + off, ps))
			continue;
		if (off > run)
			err = pwrite_all(fd, s->image[b] + run, off - run, run);
		st->prefill_bytes += off - run;
		run = off + ps;
	}
	if (!err && off > run) {
		err = pwrite_all(fd, s->image[b] + run, off - run, run);
		st->prefill_bytes += off - run;
	}
	close(fd);
	return err;
}

int ftmb_ckpt_restore_prefill(const struct ftmb_ckpt_store *s,
			      const struct ftmb_ckpt_restore_opts *opts,
			      struct ftmb_ckpt_restore_stats *st, char *msg, size_t msg_len)
{
	for (unsigned int b = 0; b < s->layout.n_blocks; b++) {
		const char *path = prefill_path(opts, s->layout.block[b].id);
		int err = path ? prefill_file(s, b, path, st) : 0;

		if (err) {
			snprintf(msg, msg_len, "prefilling %s for block '%s': %s", path,
				 s->layout.block[b].id, strerror(-err));
			return err;
		}
	}
	return FTMB_OK;
}

static pid_t spawn_qemu(char *const argv[], int stream_fd, int log_fd)
{
	char incoming[32];
	size_t argc = 0;
	char **args;
	pid_t pid;

	while (argv[argc])
		argc++;
	args = calloc(argc + 4, sizeof(*args));
	if (!args)
		return -1;
	memcpy(args, argv, argc * sizeof(*args));
	snprintf(incoming, sizeof(incoming), "fd:%d", stream_fd);
	args[argc] = "-S";
	args[argc + 1] = "-incoming";
	args[argc + 2] = incoming;

	pid = fork();
	if (pid == 0) {
		struct sched_param sp = { 0 };
		int null = open("/dev/null", O_RDONLY);

		setsid();
		/* not the real-time priority a daemon may run at */
		sched_setscheduler(0, SCHED_OTHER, &sp);
		/* QEMU's output goes to log_fd, or joins ours on stderr, out of the
		 * caller's stdout */
		dup2(null, STDIN_FILENO);
		if (log_fd > 0)
			dup2(log_fd, STDERR_FILENO);
		dup2(STDERR_FILENO, STDOUT_FILENO);
		fcntl(stream_fd, F_SETFD, 0); /* the one fd QEMU inherits */
		execvp(args[0], args);
		fprintf(stderr, "restore: cannot run %s: %s\n", args[0], strerror(errno));
		_exit(127);
	}
	free(args);
	return pid;
}

/* QEMU closes the stream once it has loaded it (or died trying). */
static int wait_stream_closed(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };
	int n;

	do
		n = poll(&pfd, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

static int spawn_failed(int err, char *msg, size_t msg_len, const char *what)
{
	snprintf(msg, msg_len, "%s: %s", what, strerror(-err));
	return err;
}

int ftmb_ckpt_restore_spawn(const struct ftmb_ckpt_store *s, char *const argv[],
			    const struct ftmb_ckpt_restore_opts *opts, pid_t *pid,
			    struct ftmb_ckpt_restore_stats *st, char *msg, size_t msg_len)
{
	int timeout = opts && opts->timeout_ms ? opts->timeout_ms : 60000;
	struct timespec t0;
	int sv[2], err, status;

	memset(st, 0, sizeof(*st));
	if (!s->valid)
		return spawn_failed(-ENOENT, msg, msg_len, "the store holds no checkpoint");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = opts && opts->prefilled ? 0 : ftmb_ckpt_restore_prefill(s, opts, st, msg, msg_len);
	st->prefill_ms = ms_since(&t0);
	if (err)
		return err;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return spawn_failed(-errno, msg, msg_len, "socketpair");
	*pid = spawn_qemu(argv, sv[1], opts ? opts->log_fd : 0);
	close(sv[1]);
	if (*pid < 0) {
		close(sv[0]);
		return spawn_failed(-errno, msg, msg_len, "fork");
	}
	err = ftmb_ckpt_restore_write(s, sv[0], opts, st);
	st->write_ms = ms_since(&t0);
	if (!err)
		err = wait_stream_closed(sv[0], timeout);
	st->load_ms = ms_since(&t0);
	close(sv[0]);
	if (err)
		return spawn_failed(err, msg, msg_len, "feeding the checkpoint to QEMU");
	/* Closing the stream is also what a QEMU that failed to load does. */
	if (waitpid(*pid, &status, WNOHANG) == *pid) {
		snprintf(msg, msg_len, "QEMU exited (status %d) instead of loading the checkpoint",
			 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		return -ECHILD;
	}
	return FTMB_OK;
}
