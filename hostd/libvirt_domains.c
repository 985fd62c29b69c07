// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Protected domains from libvirt (contract in libvirt_domains.h). The XML is
 * read with libxml2, without network access or entity expansion, and
 * queried with XPath; every value is checked before it is used.
 */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ftmb/region.h"
#include "ftmb/repl.h"
#include "libvirt_domains.h"

#define DEFAULT_INTERVAL_MS 50u
#define MAX_INTERVAL_MS 10000u

G_DEFINE_QUARK(ftmb-libvirt-domains-error-quark, libvirt_domains_error)

G_GNUC_PRINTF(3, 4)
static gboolean fail(GError **error, int code, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error_literal(error, LIBVIRT_DOMAINS_ERROR, code, msg);
	g_free(msg);
	return FALSE;
}

/* Parses xml into a document, or says where it is not well-formed. */
static xmlDocPtr read_xml(const char *xml, const char *what, GError **error)
{
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;
	size_t len = strlen(xml);

	if (len > INT_MAX) {
		fail(error, LIBVIRT_DOMAINS_ERROR_XML, "%s is too large (%zu bytes)", what, len);
		return NULL;
	}
	ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		fail(error, LIBVIRT_DOMAINS_ERROR_XML, "%s: out of memory", what);
		return NULL;
	}
	doc = xmlCtxtReadMemory(ctxt, xml, (int)len, what, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		xmlErrorPtr e = xmlCtxtGetLastError(ctxt);
		char *msg = g_strstrip(g_strdup(e && e->message ? e->message : "unknown error"));

		fail(error, LIBVIRT_DOMAINS_ERROR_XML, "%s is not well-formed XML: line %d: %s",
		     what, e ? e->line : 0, msg);
		g_free(msg);
	}
	xmlFreeParserCtxt(ctxt);
	return doc;
}

/* --- <ftmb:protection> ----------------------------------------------------- */

/* A whole decimal number in [min, max], nothing before or after it. */
static gboolean take_uint(const char *name, const char *text, guint min, guint max,
			  const char *what, guint *out, GError **error)
{
	guint64 v;

	if (!g_ascii_string_to_unsigned(text, 10, min, max, &v, NULL))
		return fail(error, LIBVIRT_DOMAINS_ERROR_INVALID,
			    "%s=\"%s\": expected %s, a whole number from %u to %u", name, text,
			    what, min, max);
	*out = (guint)v;
	return TRUE;
}

static gboolean take_attribute(const char *name, const char *value, struct libvirt_protection *p,
			       GError **error)
{
	if (strcmp(name, "backup") == 0) {
		if (!hostd_valid_name(value))
			return fail(error, LIBVIRT_DOMAINS_ERROR_INVALID,
				    "backup=\"%s\": expected a host name from hostd.conf's "
				    "[peers], 1 to %u of A-Z a-z 0-9 . _ -",
				    value, FTMB_INSTANCE_MAX);
		p->backup = g_strdup(value);
		return TRUE;
	}
	if (strcmp(name, "interval-ms") == 0)
		return take_uint(name, value, 1, MAX_INTERVAL_MS,
				 "the checkpoint interval in milliseconds", &p->interval_ms, error);
	if (strcmp(name, "threads") == 0)
		return take_uint(name, value, 1, FTMB_MAX_THREADS,
				 "the number of middlebox threads", &p->threads, error);
	if (strcmp(name, "policy") == 0) {
		if (strcmp(value, "halt") == 0)
			p->policy = HOSTD_POLICY_HALT;
		else if (strcmp(value, "degrade") == 0)
			p->policy = HOSTD_POLICY_DEGRADE;
		else
			return fail(error, LIBVIRT_DOMAINS_ERROR_INVALID,
				    "policy=\"%s\": expected halt or degrade", value);
		return TRUE;
	}
	return fail(error, LIBVIRT_DOMAINS_ERROR_INVALID,
		    "unknown attribute %s=\"%s\": ftmb:protection takes backup, interval-ms, "
		    "policy and threads",
		    name, value);
}

static gboolean take_attributes(xmlNodePtr el, struct libvirt_protection *p, GError **error)
{
	gboolean ok = TRUE;

	for (xmlAttrPtr a = el->properties; ok && a; a = a->next) {
		xmlChar *value = xmlNodeGetContent((xmlNodePtr)a);

		if (a->ns)
			ok = fail(error, LIBVIRT_DOMAINS_ERROR_INVALID,
				  "attribute %s:%s: ftmb:protection takes only unprefixed attributes",
				  a->ns->prefix ? (const char *)a->ns->prefix : "", a->name);
		else
			ok = take_attribute((const char *)a->name, value ? (const char *)value : "",
					    p, error);
		xmlFree(value);
	}
	if (ok && !p->backup)
		ok = fail(error, LIBVIRT_DOMAINS_ERROR_INVALID,
			  "backup=\"HOST\" is missing: name the backup host (a [peers] name in "
			  "hostd.conf)");
	return ok;
}

/* Nothing inside but white space and comments. */
static gboolean check_empty(xmlNodePtr el, GError **error)
{
	for (xmlNodePtr c = el->children; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE)
			return fail(error, LIBVIRT_DOMAINS_ERROR_INVALID,
				    "unexpected child element <%s>: ftmb:protection is empty",
				    c->name);
		if (c->type != XML_COMMENT_NODE && !(c->type == XML_TEXT_NODE && xmlIsBlankNode(c)))
			return fail(error, LIBVIRT_DOMAINS_ERROR_INVALID,
				    "unexpected content in ftmb:protection: it is an empty element");
	}
	return TRUE;
}

/* virDomainGetMetadata() hands the element over without its namespace, having
 * picked it by namespace; written by hand it carries LIBVIRT_FTMB_NS. */
static gboolean check_protection_element(xmlNodePtr el, GError **error)
{
	const char *ns = el && el->ns ? (const char *)el->ns->href : NULL;

	if (!el || strcmp((const char *)el->name, "protection") != 0 ||
	    (ns && strcmp(ns, LIBVIRT_FTMB_NS) != 0))
		return fail(error, LIBVIRT_DOMAINS_ERROR_INVALID,
			    "expected a <protection> element in namespace %s, found <%s> in %s",
			    LIBVIRT_FTMB_NS, el ? (const char *)el->name : "nothing",
			    ns ? ns : "no namespace");
	return TRUE;
}

gboolean libvirt_protection_parse(const char *xml, struct libvirt_protection *out,
				  GError **error)
{
	xmlDocPtr doc = read_xml(xml, "the ftmb:protection metadata", error);
	xmlNodePtr root;
	gboolean ok;

	memset(out, 0, sizeof(*out));
	if (!doc)
		return FALSE;
	out->interval_ms = DEFAULT_INTERVAL_MS;
	out->policy = HOSTD_POLICY_HALT;
	out->threads = 1;
	root = xmlDocGetRootElement(doc);
	ok = check_protection_element(root, error) && take_attributes(root, out, error) &&
	     check_empty(root, error);
	xmlFreeDoc(doc);
	if (!ok)
		libvirt_protection_clear(out);
	return ok;
}

void libvirt_protection_clear(struct libvirt_protection *p)
{
	g_free(p->backup);
	memset(p, 0, sizeof(*p));
}

/* --- the rest of the domain XML --------------------------------------------- */

/* The string value of an XPath expression evaluated at node (NULL: the
 * context's current node), or NULL when it is empty. */
static char *xpath_string(xmlXPathContextPtr ctx, xmlNodePtr node, const char *expr)
{
	char *wrapped = g_strdup_printf("string(%s)", expr);
	xmlXPathObjectPtr obj;
	char *out = NULL;

	if (node)
		ctx->node = node;
	obj = xmlXPathEvalExpression((const xmlChar *)wrapped, ctx);
	if (obj && obj->type == XPATH_STRING && obj->stringval && obj->stringval[0])
		out = g_strdup((const char *)obj->stringval);
	xmlXPathFreeObject(obj);
	g_free(wrapped);
	return out;
}

/* The nodes an XPath expression selects from the document root; the caller
 * frees the result with xmlXPathFreeObject. */
static xmlXPathObjectPtr xpath_nodes(xmlXPathContextPtr ctx, const char *expr)
{
	ctx->node = xmlDocGetRootElement(ctx->doc);
	return xmlXPathEvalExpression((const xmlChar *)expr, ctx);
}

static int node_count(xmlXPathObjectPtr obj)
{
	return obj && obj->nodesetval ? obj->nodesetval->nodeNr : 0;
}

/* vhost-user needs guest RAM that another process can map. */
static gboolean check_shared_memory(xmlXPathContextPtr ctx, GError **error)
{
	char *mode = xpath_string(ctx, xmlDocGetRootElement(ctx->doc), "memoryBacking/access/@mode");
	xmlXPathObjectPtr cells = xpath_nodes(ctx, "/domain/cpu/numa/cell");
	xmlXPathObjectPtr shared = xpath_nodes(ctx, "/domain/cpu/numa/cell[@memAccess='shared']");
	gboolean ok = (mode && strcmp(mode, "shared") == 0) ||
		      (node_count(cells) > 0 && node_count(shared) == node_count(cells));

	g_free(mode);
	xmlXPathFreeObject(cells);
	xmlXPathFreeObject(shared);
	if (!ok)
		return fail(error, LIBVIRT_DOMAINS_ERROR_INVALID,
			    "guest memory is not shared: add <memoryBacking><source type='memfd'/>"
			    "<access mode='shared'/></memoryBacking> (ftmb-vhost maps guest RAM)");
	return TRUE;
}

static gboolean take_vhost(xmlXPathContextPtr ctx, guint threads,
			   struct libvirt_domain_paths *out, GError **error)
{
	xmlXPathObjectPtr ifs = xpath_nodes(ctx, "/domain/devices/interface[@type='vhostuser']");
	int n = node_count(ifs);
	xmlNodePtr iface = n == 1 ? ifs->nodesetval->nodeTab[0] : NULL;
	char *mode = iface ? xpath_string(ctx, iface, "source/@mode") : NULL;
	char *queues = iface ? xpath_string(ctx, iface, "driver/@queues") : NULL;
	gboolean ok = TRUE;

	xmlXPathFreeObject(ifs);
	if (n != 1)
		ok = fail(error, LIBVIRT_DOMAINS_ERROR_INVALID,
			  "%d vhost-user interfaces: ftmb serves exactly one (<interface "
			  "type='vhostuser'> with <source type='unix' path='...' mode='client'/>)",
			  n);
	else if (!(out->vhost_socket = xpath_string(ctx, iface, "source/@path")))
		ok = fail(error, LIBVIRT_DOMAINS_ERROR_INVALID,
			  "the vhost-user interface has no <source path='...'>: give ftmb-vhost's "
			  "socket");
	else if (!mode || strcmp(mode, "client") != 0)
		ok = fail(error, LIBVIRT_DOMAINS_ERROR_INVALID,
			  "the vhost-user interface's source has mode='%s': ftmb-vhost is the "
			  "server, so QEMU must be mode='client'",
			  mode ? mode : "");
	else if (!queues)
		out->vhost_queues = 1;
	else if (!take_uint("driver queues", queues, 1, G_MAXUINT, "queue pairs",
			    &out->vhost_queues, error))
		ok = FALSE;
	if (ok && out->vhost_queues != threads)
		ok = fail(error, LIBVIRT_DOMAINS_ERROR_INVALID,
			  "the vhost-user interface has %u queue pairs (<driver queues>) but "
			  "ftmb:protection says threads=\"%u\": one queue pair per middlebox "
			  "thread, so they must match",
			  out->vhost_queues, threads);
	g_free(mode);
	g_free(queues);
	return ok;
}

/* The multiplier of a libvirt size unit (case-insensitive, as libvirt
 * reads them: b, bytes, K/KiB = 1024, KB = 1000, and so on up to E), or 0. */
static uint64_t unit_scale(const char *unit)
{
	static const char prefixes[] = "kmgtpe";
	char *u = g_ascii_strdown(unit ? unit : "b", -1);
	const char *p = u[0] ? strchr(prefixes, u[0]) : NULL;
	uint64_t scale = 0;

	if (strcmp(u, "b") == 0 || strcmp(u, "bytes") == 0) {
		scale = 1;
	} else if (p) {
		const char *rest = u + 1;
		uint64_t base = !rest[0] || strcmp(rest, "ib") == 0 ? 1024
				: strcmp(rest, "b") == 0		  ? 1000
									  : 0;

		scale = base;
		for (long i = 0; base && i < p - prefixes; i++)
			scale *= base;
	}
	g_free(u);
	return scale;
}

static gboolean take_size(xmlXPathContextPtr ctx, xmlNodePtr shmem, uint64_t *out,
			  GError **error)
{
	char *text = xpath_string(ctx, shmem, "size");
	char *unit = xpath_string(ctx, shmem, "size/@unit");
	uint64_t scale = unit_scale(unit);
	guint64 v = 0;
	gboolean ok = TRUE;

	if (!text)
		ok = fail(error, LIBVIRT_DOMAINS_ERROR_INVALID,
			  "the ivshmem-plain shmem has no <size>: give the shared region's size");
	else if (!scale)
		ok = fail(error, LIBVIRT_DOMAINS_ERROR_INVALID,
			  "the shmem size has unit='%s': expected b, KiB, MiB, GiB (or K, M, G)",
			  unit);
	else if (!g_ascii_string_to_unsigned(text, 10, 1, G_MAXUINT64 / scale, &v, NULL) ||
		 (v * scale & (v * scale - 1)) != 0)
		ok = fail(error, LIBVIRT_DOMAINS_ERROR_INVALID,
			  "the shmem size %s %s is not a power of two in bytes, as an ivshmem "
			  "BAR must be",
			  text, unit ? unit : "bytes");
	else
		*out = v * scale;
	g_free(text);
	g_free(unit);
	return ok;
}

static gboolean take_shmem(xmlXPathContextPtr ctx, struct libvirt_domain_paths *out,
			   GError **error)
{
	xmlXPathObjectPtr all =
		xpath_nodes(ctx, "/domain/devices/shmem[model/@type='ivshmem-plain']");
	int n = node_count(all);
	xmlNodePtr shmem = n == 1 ? all->nodesetval->nodeTab[0] : NULL;
	char *role = shmem ? xpath_string(ctx, shmem, "@role") : NULL;
	gboolean ok = TRUE;

	xmlXPathFreeObject(all);
	if (n != 1)
		ok = fail(error, LIBVIRT_DOMAINS_ERROR_INVALID,
			  "%d ivshmem-plain shmem devices: ftmb needs exactly one for its shared "
			  "region (<shmem name='...' role='master'><model type='ivshmem-plain'/>)",
			  n);
	else if (!role || strcmp(role, "master") != 0)
		ok = fail(error, LIBVIRT_DOMAINS_ERROR_INVALID,
			  "the ivshmem-plain shmem has role='%s': add role='master', or QEMU "
			  "refuses to checkpoint the VM",
			  role ? role : "");
	else if (!(out->shmem_name = xpath_string(ctx, shmem, "@name")))
		ok = fail(error, LIBVIRT_DOMAINS_ERROR_INVALID,
			  "the ivshmem-plain shmem has no name");
	else
		ok = take_size(ctx, shmem, &out->shmem_size, error);
	if (ok)
		out->shmem_path = g_strconcat("/dev/shm/", out->shmem_name, NULL);
	g_free(role);
	return ok;
}

gboolean libvirt_domain_paths_parse(const char *domain_xml, guint threads,
				    struct libvirt_domain_paths *out, GError **error)
{
	xmlDocPtr doc = read_xml(domain_xml, "the domain XML", error);
	xmlXPathContextPtr ctx;
	xmlNodePtr root;
	gboolean ok;

	memset(out, 0, sizeof(*out));
	if (!doc)
		return FALSE;
	root = xmlDocGetRootElement(doc);
	ctx = xmlXPathNewContext(doc);
	if (!root || root->ns || strcmp((const char *)root->name, "domain") != 0)
		ok = fail(error, LIBVIRT_DOMAINS_ERROR_INVALID,
			  "expected a libvirt <domain>, found <%s>",
			  root ? (const char *)root->name : "nothing");
	else
		ok = ctx && check_shared_memory(ctx, error) && take_vhost(ctx, threads, out, error) &&
		     take_shmem(ctx, out, error);
	if (ok) {
		out->emulator = xpath_string(ctx, root, "devices/emulator");
		out->kernel = xpath_string(ctx, root, "os/kernel");
		out->initrd = xpath_string(ctx, root, "os/initrd");
		out->cmdline = xpath_string(ctx, root, "os/cmdline");
	} else {
		libvirt_domain_paths_clear(out);
	}
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return ok;
}

void libvirt_domain_paths_clear(struct libvirt_domain_paths *p)
{
	g_free(p->vhost_socket);
	g_free(p->shmem_name);
	g_free(p->shmem_path);
	g_free(p->emulator);
	g_free(p->kernel);
	g_free(p->initrd);
	g_free(p->cmdline);
	memset(p, 0, sizeof(*p));
}

void libvirt_domain_free(struct libvirt_domain *d)
{
	if (!d)
		return;
	g_free(d->name);
	libvirt_protection_clear(&d->protection);
	libvirt_domain_paths_clear(&d->paths);
	g_free(d->error);
	g_free(d);
}

/* --- libvirt ------------------------------------------------------------------ */

static void ignore_libvirt_error(void *data, virErrorPtr err)
{
	(void)data;
	(void)err;
}

/* Checks one protected domain's XML, recording the first problem. */
static void check_domain(virDomainPtr dom, struct libvirt_domain *d, const char *metadata)
{
	GError *err = NULL;
	char *xml;

	if (!hostd_valid_name(d->name)) {
		d->error = g_strdup_printf("the domain name is the ftmb instance name: use 1 to %u "
					   "of A-Z a-z 0-9 . _ -",
					   FTMB_INSTANCE_MAX);
		return;
	}
	if (!libvirt_protection_parse(metadata, &d->protection, &err)) {
		d->error = g_strdup_printf("ftmb:protection: %s", err->message);
		g_error_free(err);
		return;
	}
	xml = virDomainGetXMLDesc(dom, 0);
	if (!xml)
		d->error = g_strdup_printf("cannot read the domain XML: %s", virGetLastErrorMessage());
	else if (!libvirt_domain_paths_parse(xml, d->protection.threads, &d->paths, &err))
		d->error = g_strdup(err->message);
	g_clear_error(&err);
	free(xml);
}

/* The domain if it carries ftmb metadata, else NULL. */
static struct libvirt_domain *read_domain(virDomainPtr dom)
{
	char *metadata = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, LIBVIRT_FTMB_NS,
					      VIR_DOMAIN_AFFECT_CURRENT);
	struct libvirt_domain *d;

	/* No metadata: not protected. Gone since the listing: nothing to say. */
	if (!metadata && (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN_METADATA ||
			  virGetLastErrorCode() == VIR_ERR_NO_DOMAIN))
		return NULL;
	d = g_new0(struct libvirt_domain, 1);
	d->name = g_strdup(virDomainGetName(dom));
	if (virDomainGetUUIDString(dom, d->uuid) < 0)
		d->uuid[0] = '\0';
	d->running = virDomainIsActive(dom) == 1;
	if (!metadata)
		d->error = g_strdup_printf("cannot read its ftmb metadata: %s",
					   virGetLastErrorMessage());
	else
		check_domain(dom, d, metadata);
	free(metadata);
	return d;
}

static gint by_name(gconstpointer a, gconstpointer b)
{
	const struct libvirt_domain *da = *(const struct libvirt_domain *const *)a;
	const struct libvirt_domain *db = *(const struct libvirt_domain *const *)b;

	return strcmp(da->name, db->name);
}

GPtrArray *libvirt_domains_list(const char *uri, GError **error)
{
	virConnectPtr conn;
	virDomainPtr *doms = NULL;
	GPtrArray *out;
	int n;

	if (!uri)
		uri = LIBVIRT_DEFAULT_URI;
	virSetErrorFunc(NULL, ignore_libvirt_error);
	conn = virConnectOpenReadOnly(uri);
	if (!conn) {
		fail(error, LIBVIRT_DOMAINS_ERROR_LIBVIRT,
		     "cannot connect to libvirt at %s: %s (is libvirtd running?)", uri,
		     virGetLastErrorMessage());
		return NULL;
	}
	n = virConnectListAllDomains(conn, &doms, 0);
	if (n < 0) {
		fail(error, LIBVIRT_DOMAINS_ERROR_LIBVIRT, "cannot list the domains of %s: %s",
		     uri, virGetLastErrorMessage());
		virConnectClose(conn);
		return NULL;
	}
	out = g_ptr_array_new_with_free_func((GDestroyNotify)libvirt_domain_free);
	for (int i = 0; i < n; i++) {
		struct libvirt_domain *d = read_domain(doms[i]);

		if (d)
			g_ptr_array_add(out, d);
		virDomainFree(doms[i]);
	}
	free(doms);
	virConnectClose(conn);
	g_ptr_array_sort(out, by_name);
	return out;
}
