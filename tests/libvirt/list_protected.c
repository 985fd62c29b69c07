// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * list-protected [URI]: prints what libvirt_domains_list() finds, as one JSON
 * object {"domains":[...]}, for define-start.sh to check. Exit 1 when libvirt
 * cannot be reached.
 */
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "libvirt_domains.h"

static void add_string(JsonBuilder *b, const char *name, const char *value)
{
	json_builder_set_member_name(b, name);
	if (value)
		json_builder_add_string_value(b, value);
	else
		json_builder_add_null_value(b);
}

static void add_int(JsonBuilder *b, const char *name, gint64 value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_int_value(b, value);
}

static void add_domain(JsonBuilder *b, const struct libvirt_domain *d)
{
	const struct libvirt_protection *p = &d->protection;
	const struct libvirt_domain_paths *paths = &d->paths;

	json_builder_begin_object(b);
	add_string(b, "name", d->name);
	add_string(b, "uuid", d->uuid);
	json_builder_set_member_name(b, "running");
	json_builder_add_boolean_value(b, d->running);
	add_string(b, "error", d->error);
	add_string(b, "backup", p->backup);
	add_int(b, "interval_ms", p->interval_ms);
	add_string(b, "policy", p->backup ? hostd_policy_name(p->policy) : NULL);
	add_int(b, "threads", p->threads);
	add_string(b, "vhost_socket", paths->vhost_socket);
	add_int(b, "vhost_queues", paths->vhost_queues);
	add_string(b, "shmem_name", paths->shmem_name);
	add_string(b, "shmem_path", paths->shmem_path);
	add_int(b, "shmem_size", (gint64)paths->shmem_size);
	add_string(b, "emulator", paths->emulator);
	add_string(b, "kernel", paths->kernel);
	add_string(b, "initrd", paths->initrd);
	add_string(b, "cmdline", paths->cmdline);
	json_builder_end_object(b);
}

int main(int argc, char **argv)
{
	GError *err = NULL;
	GPtrArray *domains = libvirt_domains_list(argc > 1 ? argv[1] : NULL, &err);
	JsonBuilder *b;
	JsonGenerator *gen;
	JsonNode *root;
	char *text;

	if (!domains) {
		fprintf(stderr, "list-protected: %s\n", err->message);
		g_error_free(err);
		return 1;
	}
	b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "domains");
	json_builder_begin_array(b);
	for (guint i = 0; i < domains->len; i++)
		add_domain(b, domains->pdata[i]);
	json_builder_end_array(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	gen = json_generator_new();
	json_generator_set_pretty(gen, TRUE);
	json_generator_set_root(gen, root);
	text = json_generator_to_data(gen, NULL);
	puts(text);
	g_free(text);
	json_node_unref(root);
	g_object_unref(gen);
	g_object_unref(b);
	g_ptr_array_unref(domains);
	return 0;
}
