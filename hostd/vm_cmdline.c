// SPDX-License-Identifier: GPL-2.0-or-later
/* The QEMU command line of a VM instance (see vm_cmdline.h). */
#include <string.h>

#include "vm_cmdline.h"

static void add(GPtrArray *a, const char *arg)
{
	g_ptr_array_add(a, g_strdup(arg));
}

G_GNUC_PRINTF(2, 3)
static void addf(GPtrArray *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_ptr_array_add(a, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

/* A value inside a QEMU option list: commas are doubled. */
static char *opt_escape(const char *v)
{
	GString *s = g_string_new(v);

	g_string_replace(s, ",", ",,", 0);
	return g_string_free(s, FALSE);
}

static void add_memory(GPtrArray *a, const struct hostd_vm_cfg *vm)
{
	char *ram = opt_escape(vm->ram_file), *region = opt_escape(vm->region);

	add(a, "-object");
	addf(a, "memory-backend-file,id=" VM_RAM_MEMDEV ",size=%uM,mem-path=%s,share=on",
	     vm->memory_mb, ram);
	add(a, "-machine");
	addf(a, "%s,memory-backend=" VM_RAM_MEMDEV, vm->machine);
	add(a, "-m");
	addf(a, "%uM", vm->memory_mb);
	add(a, "-object");
	addf(a, "memory-backend-file,id=" VM_REGION_MEMDEV ",size=%" G_GUINT64_FORMAT
		",mem-path=%s,share=on", vm->region_size, region);
	g_free(ram);
	g_free(region);
}

static void add_devices(GPtrArray *a, const struct hostd_vm_cfg *vm)
{
	char *sock = opt_escape(vm->vhost_socket);
	GString *nic = g_string_new(NULL);

	add(a, "-chardev");
	addf(a, "socket,id=vhost0,path=%s", sock);
	add(a, "-netdev");
	addf(a, "vhost-user,id=net0,chardev=vhost0,queues=%u", vm->queues);
	g_string_printf(nic, "virtio-net-pci,netdev=net0,mq=%s,romfile=", vm->queues > 1 ? "on" : "off");
	if (vm->mac)
		g_string_append_printf(nic, ",mac=%s", vm->mac);
	if (vm->queue_size)
		g_string_append_printf(nic, ",rx_queue_size=%u,tx_queue_size=%u", vm->queue_size,
				       vm->queue_size);
	add(a, "-device");
	g_ptr_array_add(a, g_string_free(nic, FALSE));
	add(a, "-device");
	add(a, "ivshmem-plain,memdev=" VM_REGION_MEMDEV ",master=on");
	g_free(sock);
}

static void add_host_paths(GPtrArray *a, const struct vm_paths *p)
{
	char *serial = opt_escape(p->serial), *qmp = opt_escape(p->qmp),
	     *monitor = opt_escape(p->monitor);

	add(a, "-chardev");
	addf(a, "file,id=serial0,path=%s,append=on", serial);
	add(a, "-serial");
	add(a, "chardev:serial0");
	add(a, "-qmp");
	addf(a, "unix:%s,server=on,wait=off", qmp);
	add(a, "-qmp");
	addf(a, "unix:%s,server=on,wait=off", monitor);
	g_free(serial);
	g_free(qmp);
	g_free(monitor);
}

char **vm_cmdline(const struct hostd_instance_cfg *inst, const char *accel,
		  const struct vm_paths *paths)
{
	const struct hostd_vm_cfg *vm = &inst->vm;
	GPtrArray *a = g_ptr_array_new();

	add(a, vm->qemu);
	add(a, "-name");
	addf(a, "%s", inst->name);
	add(a, "-accel");
	add(a, accel);
	add(a, "-smp");
	addf(a, "%u", vm->smp);
	add_memory(a, vm);
	add(a, "-nodefaults");
	add(a, "-no-user-config");
	add(a, "-display");
	add(a, "none");
	add(a, "-no-reboot");
	add_devices(a, vm);
	add_host_paths(a, paths);
	add(a, "-kernel");
	add(a, vm->kernel);
	if (vm->initrd) {
		add(a, "-initrd");
		add(a, vm->initrd);
	}
	if (vm->append) {
		add(a, "-append");
		add(a, vm->append);
	}
	g_ptr_array_add(a, NULL);
	return (char **)g_ptr_array_free(a, FALSE);
}

gboolean vm_is_region_block(const char *id)
{
	const char *slash = strrchr(id, '/');

	return slash && strcmp(slash + 1, VM_REGION_MEMDEV) == 0;
}
