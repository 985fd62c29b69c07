// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ftmb-init: PID 1 of the ftmb guest image (tools/mkimage.sh builds it
 * statically into the initramfs).
 *
 * It mounts the pseudo file systems, loads the virtio-net modules in the
 * order /lib/modules/ftmb.order lists them, brings up lo and eth0, prints
 * "ftmb-init: ready", runs what the kernel command line asks and powers the
 * VM off when that ends:
 *
 *   ftmb.run=PROG,ARG,...   run PROG (looked up in PATH) with its arguments.
 *                           A comma separates arguments; %XX stands for the
 *                           byte 0xXX, so "%2C" is a comma inside an
 *                           argument, "%20" a space and "%25" a percent sign.
 *   ftmb.shell=1            then run busybox sh on the console.
 *
 * When the command ends, init prints "ftmb-init: exit status N" (or
 * "ftmb-init: killed by signal N") and powers off. Anything init cannot do
 * is printed as "ftmb-init: error: ..." and also ends in a power-off, so a
 * broken image never leaves a VM hanging.
 *
 * The kernel does not hand dotted parameters such as ftmb.run to init, so
 * they are read from /proc/cmdline.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MODULE_ORDER "/lib/modules/ftmb.order"
#define MAX_ARGS 64

static char cmdline[4096];

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ftmb-init: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	va_end(ap);
}

static void power_off(void)
{
	sync();
	reboot(RB_POWER_OFF);
	/* Only reached if the kernel refused; PID 1 must not return. */
	for (;;)
		pause();
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ftmb-init: error: ", stdout);
	vprintf(fmt, ap);
	fputs(", powering off\n", stdout);
	fflush(stdout);
	va_end(ap);
	power_off();
	__builtin_unreachable();
}

/*
 * The kernel gives init /dev/console as stdin/out/err only if the initramfs
 * holds that node; mkimage.sh builds the archive without device nodes, so
 * init opens the console itself once devtmpfs is mounted.
 */
static void open_console(void)
{
	int fd;

	if (fcntl(STDOUT_FILENO, F_GETFD) >= 0)
		return;
	fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		power_off(); /* nowhere to say why */
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

static void mount_one(const char *type, const char *dir, unsigned long flags, const char *opts)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		die("mkdir %s: %s", dir, strerror(errno));
	if (mount(type, dir, type, flags, opts) < 0)
		die("mount %s on %s: %s", type, dir, strerror(errno));
}

/* /dev comes first: it holds the console that every message needs. */
static void mount_filesystems(void)
{
	const unsigned long pseudo_fs = MS_NOSUID | MS_NODEV | MS_NOEXEC;

	mount_one("devtmpfs", "/dev", MS_NOSUID | MS_NOEXEC, "mode=0755");
	open_console();
	mount_one("proc", "/proc", pseudo_fs, NULL);
	mount_one("sysfs", "/sys", pseudo_fs, NULL);
	mount_one("tmpfs", "/dev/shm", MS_NOSUID | MS_NODEV, "mode=1777");
	mount_one("tmpfs", "/tmp", MS_NOSUID | MS_NODEV, "mode=1777");
	mount_one("tmpfs", "/run", MS_NOSUID | MS_NODEV, "mode=0755");
}

static void load_module(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
		die("load module %s: %s", path, strerror(errno));
	close(fd);
}

static void load_modules(void)
{
	FILE *order = fopen(MODULE_ORDER, "re");
	char line[512];
	int n = 0;

	if (!order)
		die("open %s: %s", MODULE_ORDER, strerror(errno));
	while (fgets(line, sizeof(line), order)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0')
			continue;
		load_module(line);
		n++;
	}
	fclose(order);
	say("loaded %d modules", n);
}

/* Returns false when the interface does not exist (no NIC attached). */
static bool link_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool found = true;

	if (fd < 0)
		die("socket: %s", strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		if (errno != ENODEV)
			die("get flags of %s: %s", name, strerror(errno));
		found = false;
	} else {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			die("bring up %s: %s", name, strerror(errno));
	}
	close(fd);
	return found;
}

static void bring_up_links(void)
{
	link_up("lo");
	if (link_up("eth0"))
		say("eth0 up");
	else
		say("no eth0 (no virtio-net device attached)");
}

static void read_cmdline(void)
{
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		die("open /proc/cmdline: %s", strerror(errno));
	n = read(fd, cmdline, sizeof(cmdline) - 1);
	if (n < 0)
		die("read /proc/cmdline: %s", strerror(errno));
	close(fd);
	cmdline[n] = '\0';
	cmdline[strcspn(cmdline, "\n")] = '\0';
}

/*
 * Finds "key=value" among the space-separated command-line words and
 * returns a copy of value, or NULL. Quotes are not needed: ftmb.run encodes
 * spaces as %20.
 */
static char *cmdline_value(const char *key)
{
	size_t klen = strlen(key);
	char *word = cmdline;

	while (*word) {
		size_t len = strcspn(word, " ");

		if (len > klen && strncmp(word, key, klen) == 0 && word[klen] == '=')
			return strndup(word + klen + 1, len - klen - 1);
		word += len;
		word += strspn(word, " ");
	}
	return NULL;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes %XX in place; returns false on a malformed escape or a NUL byte. */
static bool percent_decode(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (*s != '%') {
			*out++ = *s;
			continue;
		}
		int hi = hex_digit(s[1]);
		int lo = hi < 0 ? -1 : hex_digit(s[2]);

		if (lo < 0 || (hi | lo) == 0)
			return false;
		*out++ = (char)(hi << 4 | lo);
		s += 2;
	}
	*out = '\0';
	return true;
}

/* Splits ftmb.run's value on commas into argv (NULL-terminated). */
static void split_run(char *value, char **argv)
{
	int argc = 0;
	char *arg;

	while ((arg = strsep(&value, ",")) != NULL) {
		if (argc == MAX_ARGS)
			die("ftmb.run has more than %d arguments", MAX_ARGS);
		if (!percent_decode(arg))
			die("ftmb.run: bad %%-escape in \"%s\" (use %%XX, e.g. %%2C for a comma)", arg);
		argv[argc++] = arg;
	}
	if (argc == 0 || argv[0][0] == '\0')
		die("ftmb.run is empty");
	argv[argc] = NULL;
}

/*
 * Waits for pid, reaping any orphan that init inherits meanwhile, and
 * returns its wait status.
 */
static int wait_for(pid_t pid)
{
	int status;
	pid_t got;

	do {
		got = waitpid(-1, &status, 0);
		if (got < 0 && errno != EINTR)
			die("waitpid: %s", strerror(errno));
	} while (got != pid);
	return status;
}

static void report_status(const char *what, int status)
{
	if (WIFEXITED(status))
		say("%s: exit status %d", what, WEXITSTATUS(status));
	else
		say("%s: killed by signal %d", what, WTERMSIG(status));
}

static void run_command(char **argv)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "ftmb-init: error: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	say("running %s", argv[0]);
	report_status(argv[0], wait_for(pid));
}

/*
 * /dev/console cannot be a controlling terminal, so the shell gets the
 * console's real device (the last name in /sys/class/tty/console/active)
 * to have job control and ^C.
 */
static void open_console_tty(void)
{
	char active[128] = "", path[160];
	FILE *f = fopen("/sys/class/tty/console/active", "re");
	char *name;
	int fd;

	if (f) {
		if (!fgets(active, sizeof(active), f))
			active[0] = '\0';
		fclose(f);
	}
	active[strcspn(active, "\n")] = '\0';
	name = strrchr(active, ' ');
	name = name ? name + 1 : active;
	if (name[0] == '\0')
		return;
	snprintf(path, sizeof(path), "/dev/%s", name);
	fd = open(path, O_RDWR);
	if (fd < 0 || ioctl(fd, TIOCSCTTY, 1) < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

static void run_shell(void)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		setsid();
		open_console_tty();
		execl("/bin/sh", "-sh", (char *)NULL);
		fprintf(stderr, "ftmb-init: error: exec /bin/sh: %s\n", strerror(errno));
		_exit(127);
	}
	report_status("sh", wait_for(pid));
}

static double uptime(void)
{
	FILE *f = fopen("/proc/uptime", "re");
	double up = 0;

	if (f) {
		if (fscanf(f, "%lf", &up) != 1)
			up = 0;
		fclose(f);
	}
	return up;
}

int main(void)
{
	char *argv[MAX_ARGS + 1];
	char *run, *shell;

	mount_filesystems();
	/* The firmware may have left the cursor mid-line. */
	putchar('\n');
	say("starting");
	setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
	setenv("HOME", "/", 1);
	setenv("TERM", "linux", 1);

	load_modules();
	bring_up_links();
	read_cmdline();
	say("ready (uptime %.2f s)", uptime());

	run = cmdline_value("ftmb.run");
	shell = cmdline_value("ftmb.shell");
	if (run) {
		split_run(run, argv);
		run_command(argv);
	}
	if (shell && strcmp(shell, "1") == 0)
		run_shell();
	else if (!run)
		say("nothing to run: add ftmb.run=PROG,ARG,... or ftmb.shell=1 to the kernel command line");
	say("powering off");
	power_off();
	return 0;
}
