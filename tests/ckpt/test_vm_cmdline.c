// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The QEMU command line of a VM instance (vm_cmdline.c) from its
 * configuration (config.c): what a checkpoint needs of it (shared RAM in a
 * file, the region always on the same memory backend id, vhost-user with
 * its queues, no option ROM), that the same configuration always gives the
 * same line whatever host-local paths are used, and that the VM keys are
 * validated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "vm_cmdline.h"

#define CONF                                                                               \
	"[hostd]\nname = hostB\n[peers]\nhostA = 127.0.0.1:7400\n"                          \
	"[instance vm1]\nprimary = hostA\nbackup = hostB\n"                                 \
	"replica_vhost = ftmb-vhost replay=%LOG%\n"                                         \
	"kernel = /k/vmlinux\ninitrd = /k/initrd.img\n"                                     \
	"append = console=ttyS0 ftmb.run=ftmb-monitor,--threads,2\n"                        \
	"vhost_socket = /run/ftmb/vm1,x.vhost\nregion = /dev/shm/ftmb-vm1\nregion_size = 512K\n"

static struct hostd_config *load(const char *extra, GError **error)
{
	struct hostd_config *cfg = hostd_config_new();
	char *text = g_strconcat(CONF, extra, NULL);
	gboolean ok = hostd_config_load_data(cfg, text, error) && hostd_config_validate(cfg, error);

	g_free(text);
	if (!ok) {
		hostd_config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* The index of arg in argv, or -1. */
static int find(char **argv, const char *arg)
{
	for (int i = 0; argv[i]; i++)
		if (!strcmp(argv[i], arg))
			return i;
	return -1;
}

/* argv has "opt value". */
static void has_pair(char **argv, const char *opt, const char *value)
{
	for (int i = 0; argv[i] && argv[i + 1]; i++)
		if (!strcmp(argv[i], opt) && !strcmp(argv[i + 1], value))
			return;
	fail_msg("no \"%s %s\" in the command line", opt, value);
}

static const struct vm_paths here = { .qmp = "/a/vm1.qmp", .monitor = "/a/vm1.monitor",
				      .serial = "/a/vm1.serial" };

static void defaults_and_devices(void **state)
{
	struct hostd_config *cfg = load("", NULL);
	const struct hostd_instance_cfg *inst;
	char **argv;

	(void)state;
	assert_non_null(cfg);
	inst = hostd_config_instance(cfg, "vm1");
	assert_true(hostd_instance_is_vm(inst));
	argv = vm_cmdline(inst, "tcg", &here);
	assert_string_equal(argv[0], "qemu-system-x86_64");
	has_pair(argv, "-accel", "tcg");
	has_pair(argv, "-m", "256M");
	has_pair(argv, "-smp", "1");
	has_pair(argv, "-machine", "pc-i440fx-7.2,memory-backend=" VM_RAM_MEMDEV);
	has_pair(argv, "-object",
		 "memory-backend-file,id=ram,size=256M,mem-path=/dev/shm/ftmb-vm1-ram,share=on");
	has_pair(argv, "-object", "memory-backend-file,id=ftmb-region,size=524288,"
				  "mem-path=/dev/shm/ftmb-vm1,share=on");
	has_pair(argv, "-device", "ivshmem-plain,memdev=ftmb-region,master=on");
	/* a comma in a path is doubled inside QEMU's option list */
	has_pair(argv, "-chardev", "socket,id=vhost0,path=/run/ftmb/vm1,,x.vhost");
	has_pair(argv, "-netdev", "vhost-user,id=net0,chardev=vhost0,queues=1");
	has_pair(argv, "-device", "virtio-net-pci,netdev=net0,mq=off,romfile=");
	has_pair(argv, "-qmp", "unix:/a/vm1.qmp,server=on,wait=off");
	has_pair(argv, "-qmp", "unix:/a/vm1.monitor,server=on,wait=off");
	has_pair(argv, "-chardev", "file,id=serial0,path=/a/vm1.serial,append=on");
	has_pair(argv, "-kernel", "/k/vmlinux");
	has_pair(argv, "-initrd", "/k/initrd.img");
	has_pair(argv, "-append", "console=ttyS0 ftmb.run=ftmb-monitor,--threads,2");
	assert_true(find(argv, "-nodefaults") > 0);
	assert_true(find(argv, "-S") < 0 && find(argv, "-incoming") < 0);
	g_strfreev(argv);
	hostd_config_free(cfg);
}

/* The backup restores with the primary's line: only host-local paths may
 * differ, and every other argument is the same, in the same order. */
static void same_line_on_both_hosts(void **state)
{
	struct hostd_config *cfg = load("queues = 2\nmemory_mb = 512\nsmp = 2\naccel = kvm\n"
					"qemu = /opt/qemu\nmachine = pc-q35-7.2\n"
					"ram_file = /dev/shm/r\ncheckpoint_interval_ms = 20\n"
					"mac = 02:f7:00:00:00:01\nqueue_size = 1024\n", NULL);
	const struct hostd_instance_cfg *inst = hostd_config_instance(cfg, "vm1");
	const struct vm_paths there = { .qmp = "/b/vm1.qmp", .monitor = "/b/vm1.monitor",
					.serial = "/b/vm1.serial" };
	char **a = vm_cmdline(inst, "kvm", &here), **b = vm_cmdline(inst, "kvm", &there);
	guint n = g_strv_length(a);

	(void)state;
	assert_int_equal(n, g_strv_length(b));
	for (guint i = 0; i < n; i++)
		if (strcmp(a[i], b[i]))
			assert_true(strstr(a[i], "/a/vm1.") && strstr(b[i], "/b/vm1."));
	assert_string_equal(a[0], "/opt/qemu");
	has_pair(a, "-netdev", "vhost-user,id=net0,chardev=vhost0,queues=2");
	has_pair(a, "-device", "virtio-net-pci,netdev=net0,mq=on,romfile=,mac=02:f7:00:00:00:01,"
			       "rx_queue_size=1024,tx_queue_size=1024");
	has_pair(a, "-machine", "pc-q35-7.2,memory-backend=ram");
	has_pair(a, "-object", "memory-backend-file,id=ram,size=512M,mem-path=/dev/shm/r,share=on");
	assert_int_equal(inst->vm.checkpoint_interval_ms, 20);
	g_strfreev(a);
	g_strfreev(b);
	hostd_config_free(cfg);
}

static void region_block_names(void **state)
{
	(void)state;
	assert_true(vm_is_region_block("0000:00:03.0/ftmb-region"));
	assert_false(vm_is_region_block("ftmb-region"));
	assert_false(vm_is_region_block("0000:00:03.0/ftmb-region2"));
	assert_false(vm_is_region_block("ram"));
}

static void refuses(const char *extra, const char *why)
{
	GError *error = NULL;
	struct hostd_config *cfg = load(extra, &error);

	assert_null(cfg);
	if (!strstr(error->message, why))
		fail_msg("\"%s\": \"%s\" does not say \"%s\"", extra, error->message, why);
	g_error_free(error);
}

static void bad_vm_keys(void **state)
{
	(void)state;
	refuses("region_size = 500K\n", "must be a power of two");
	refuses("region_size = 1X\n", "expected a size");
	refuses("accel = hvf\n", "expected kvm, tcg or auto");
	refuses("memory_mb = 8\n", "from 16 to");
	refuses("queues = 17\n", "from 1 to 16");
	refuses("checkpoint_interval_ms = 0\n", "from 1 to 60000");
	refuses("ram_file = relative\n", "absolute paths");
	refuses("vm_memory = 1\n", "unknown key");
	refuses("mac = 03:f7:00:00:00:01\n", "expected a unicast MAC");
	refuses("mac = 02:f7:00:00:00\n", "expected a unicast MAC");
	refuses("mac = 02-f7-00-00-00-01\n", "expected a unicast MAC");
	refuses("queue_size = 768\n", "QEMU wants 256, 512 or 1024");
	refuses("queue_size = 2048\n", "from 256 to 1024");
	refuses("replica_start = standby\n", "is for host-process instances");
}

static void vm_needs_region(void **state)
{
	struct hostd_config *cfg = hostd_config_new();
	GError *error = NULL;

	(void)state;
	assert_true(hostd_config_load_data(cfg, "[hostd]\nname = hostA\n[peers]\nhostB = 127.0.0.2\n"
						"[instance v]\nprimary = hostA\nbackup = hostB\n"
						"kernel = /k\n", &error));
	assert_false(hostd_config_validate(cfg, &error));
	assert_non_null(strstr(error->message, "needs vhost_socket, region and region_size"));
	g_error_free(error);
	hostd_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_and_devices),
		cmocka_unit_test(same_line_on_both_hosts),
		cmocka_unit_test(region_block_names),
		cmocka_unit_test(bad_vm_keys),
		cmocka_unit_test(vm_needs_region),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
