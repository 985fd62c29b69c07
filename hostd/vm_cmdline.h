/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The QEMU command line of a VM instance, built from its configuration
 * (config.h). One function builds it, for both uses: the primary launches
 * the VM with it, and the backup restores a checkpoint with the same line
 * plus "-S -incoming" (ckpt_restore.h). A checkpoint only loads into the
 * machine it came from: the same machine type, RAM blocks of the same names
 * and sizes, the same devices in the same slots. Only host-local paths
 * (the QMP sockets, the serial log) may differ between the two hosts.
 *
 * The VM has:
 *   - its RAM in a shared file (memory-backend-file "ram", share=on):
 *     vhost-user needs shared guest memory, and a restore can prefill it;
 *   - virtio-net on ftmb-vhost's vhost-user socket, queues pairs, no option
 *     ROM (romfile=, nothing to boot from the network);
 *   - the shared region as ivshmem-plain on ftmb-vhost's region file
 *     (memory-backend-file "ftmb-region", share=on, master=on so that it
 *     migrates); hostd names it always-dirty in x-ftmb-start so that every
 *     checkpoint carries it whole, with its cut;
 *   - the serial console appended to a file, two QMP sockets (hostd's and
 *     one for the operator), no display, no defaults, no reboot.
 */
#ifndef HOSTD_VM_CMDLINE_H
#define HOSTD_VM_CMDLINE_H

#include <glib.h>

#include "config.h"

#define VM_RAM_MEMDEV "ram"
#define VM_REGION_MEMDEV "ftmb-region"

/* Paths of this host that are not part of the VM's definition. */
struct vm_paths {
	const char *qmp;     /* hostd's QMP socket */
	const char *monitor; /* the operator's QMP socket */
	const char *serial;  /* the console, appended */
};

/* The argv (NULL-terminated, g_strfreev it) for instance inst with the
 * accelerator accel ("kvm" or "tcg"). */
char **vm_cmdline(const struct hostd_instance_cfg *inst, const char *accel,
		  const struct vm_paths *paths);

/* Whether RAM block id (from a checkpoint's HELLO) is the region's:
 * ivshmem names it "<PCI address>/ftmb-region". */
gboolean vm_is_region_block(const char *id);

#endif
