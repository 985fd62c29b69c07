/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Protected domains, as libvirt describes them (DESIGN.md §5): a domain is
 * protected when its <metadata> holds
 *
 *   <ftmb:protection xmlns:ftmb="https://ftmb.dev/xmlns/protection/1"
 *                    backup="hostB" interval-ms="50" policy="degrade" threads="2"/>
 *
 *   backup       required: the backup host, a [peers] name of hostd.conf
 *   interval-ms  checkpoint interval, 1..10000 (default 50)
 *   policy       halt (default) or degrade: what the primary does while its
 *                backup is lost (hostd_instance_cfg.on_backup_lost)
 *   threads      middlebox threads = vhost-user queue pairs, 1..16 (default 1)
 *
 * Any other attribute, a child element or text is an error: a typo must not
 * leave a VM running with a default it did not ask for. The rest of the
 * domain XML must give ftmb what it needs, and is checked too: shared guest
 * memory, exactly one vhost-user interface (QEMU the client) with `threads`
 * queue pairs, and exactly one ivshmem-plain <shmem role='master'> (the
 * shared region, /dev/shm/<name>). hostd/examples/protected-nat.xml is a
 * complete example.
 *
 * The parsers take XML text and never touch libvirt, so that they can be
 * tested on their own; libvirt_domains_list() reads a live connection.
 */
#ifndef HOSTD_LIBVIRT_DOMAINS_H
#define HOSTD_LIBVIRT_DOMAINS_H

#include <glib.h>
#include <stdint.h>

#include "config.h"

#define LIBVIRT_FTMB_NS "https://ftmb.dev/xmlns/protection/1"
#define LIBVIRT_DEFAULT_URI "qemu:///system"

#define LIBVIRT_DOMAINS_ERROR (libvirt_domains_error_quark())
GQuark libvirt_domains_error_quark(void);

enum libvirt_domains_error_code {
	LIBVIRT_DOMAINS_ERROR_LIBVIRT, /* libvirt refused or could not be reached */
	LIBVIRT_DOMAINS_ERROR_XML,     /* not well-formed XML */
	LIBVIRT_DOMAINS_ERROR_INVALID, /* well-formed, but not what ftmb needs */
};

/* The <ftmb:protection> element. */
struct libvirt_protection {
	char *backup;
	guint interval_ms;
	enum hostd_policy policy;
	guint threads;
};

/* What ftmb needs from the rest of the domain XML. */
struct libvirt_domain_paths {
	char *vhost_socket; /* the vhost-user interface's socket (ftmb-vhost serves it) */
	guint vhost_queues;
	char *shmem_name;   /* the region is /dev/shm/<shmem_name> */
	char *shmem_path;
	uint64_t shmem_size; /* bytes */
	char *emulator;	     /* NULL when libvirt picks one */
	char *kernel, *initrd, *cmdline; /* direct boot; NULL when absent */
};

struct libvirt_domain {
	char *name; /* the domain's name, which is the instance name */
	char uuid[37];
	gboolean running;
	struct libvirt_protection protection;
	struct libvirt_domain_paths paths;
	/* Non-NULL: the domain asks for protection but its XML is wrong (the
	 * fields above may be partly filled); the sentence says what to fix. */
	char *error;
};

/* Parses the metadata element as virDomainGetMetadata() returns it (without
 * a namespace: libvirt strips it) or as written in the domain XML (in
 * LIBVIRT_FTMB_NS); any other namespace is refused. On failure returns FALSE
 * with a message that names the attribute and the valid values; *out is left
 * cleared. */
gboolean libvirt_protection_parse(const char *xml, struct libvirt_protection *out,
				  GError **error);

/* Checks a whole domain XML (virDomainGetXMLDesc) against what ftmb needs
 * given threads, and fills *out. On failure *out is left cleared. */
gboolean libvirt_domain_paths_parse(const char *domain_xml, guint threads,
				    struct libvirt_domain_paths *out, GError **error);

void libvirt_protection_clear(struct libvirt_protection *p);
void libvirt_domain_paths_clear(struct libvirt_domain_paths *p);
void libvirt_domain_free(struct libvirt_domain *d);

/* Every domain, running or only defined, of the libvirt connection uri
 * (NULL: LIBVIRT_DEFAULT_URI, opened read-only) that carries an
 * <ftmb:protection> element, in name order: a GPtrArray of struct
 * libvirt_domain * that frees them. A domain with wrong XML is in it with
 * ->error set, so that the caller can report it. NULL with error set when
 * libvirt cannot be reached. Silences libvirt's default error printer: its
 * errors are returned, not printed. */
GPtrArray *libvirt_domains_list(const char *uri, GError **error);

#endif
