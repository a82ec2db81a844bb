/* Reads the libvirt domain XML for what the hand-off needs: the name, the uuid and the
 * PCI devices libvirt gives to vfio-pci: PCI hostdevs, SR-IOV interfaces (<interface
 * type='hostdev'>) and the controllers of nvme disks. The input is untrusted: xmlsafe.c
 * reads the document with every door closed, and each value taken here is checked before
 * it is used.
 * Longer than 400 lines: the domain's elements, each read with its own rules and a
 * reason naming its line; the reader of the document itself is xmlsafe.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "base/bdf.h"
#include "base/log.h"
#include "base/util.h"
#include "input/domfeatures.h"
#include "input/domxml.h"
#include "input/xmlsafe.h"

/* Values quoted in a reason are cut here: a hostile attribute can be megabytes long. */
#define QUOTE_MAX 32

static bool is_elem(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns == NULL && xmlStrEqual(n->name, BAD_CAST name);
}

/* The only child element of n called name: 0 when there is exactly one, -ENOENT when
 * none, -EEXIST when several. */
static int only_child(const xmlNode *n, const char *name, xmlNode **ret)
{
	xmlNode *found = NULL;

	for (xmlNode *c = n->children; c; c = c->next) {
		if (!is_elem(c, name))
			continue;
		if (found)
			return -EEXIST;
		found = c;
	}
	if (!found)
		return -ENOENT;
	*ret = found;
	return 0;
}

/*
 * libvirt reads these attributes with base 0 (strtoul): "0x1f" is hex, "31" decimal, but
 * "010" is octal. We accept hex and decimal, and refuse a leading zero on a non-zero
 * decimal rather than guess which device was meant. libvirt itself always writes hex.
 * Returns 0, -EINVAL (not a number), -EDOM (ambiguous leading zero), -ERANGE.
 */
static int parse_addr_number(const char *s, unsigned max, unsigned *ret)
{
	unsigned long v = 0;
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	bool nonzero = false;
	const char *p = hex ? s + 2 : s;

	if (!*p)
		return -EINVAL;
	for (; *p; p++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (hex && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (hex && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			return -EINVAL;
		if (d)
			nonzero = true;
		/* Keep scanning for bad characters, but stop growing past any valid range. */
		if (v <= 0xffffffffUL)
			v = v * (hex ? 16 : 10) + d;
	}
	if (!hex && s[0] == '0' && s[1] && nonzero)
		return -EDOM;
	if (v > max)
		return -ERANGE;
	*ret = (unsigned)v;
	return 0;
}

const char *domxml_kind_name(enum hostdev_kind kind)
{
	switch (kind) {
	case HOSTDEV_INTERFACE:
		return "interface hostdev";
	case HOSTDEV_NVME:
		return "nvme disk";
	default:
		return "hostdev";
	}
}

/* The element as the structure messages name it: "PCI hostdev has no <source>". */
static const char *kind_element(enum hostdev_kind kind)
{
	return kind == HOSTDEV_PCI ? "PCI hostdev" : domxml_kind_name(kind);
}

static int parse_addr_attr(const xmlNode *addr, const char *attr, unsigned max, bool required,
			   unsigned *ret, enum hostdev_kind kind, const char *what, int line)
{
	char q[QUOTE_MAX * 4 + 8];
	const char *el = domxml_kind_name(kind);
	xmlChar *v = xmlGetNoNsProp(addr, BAD_CAST attr);
	int r;

	if (!v) {
		if (required)
			return reason_set(-EINVAL, "%s:%d: %s source address has no %s attribute",
					  what, line, el, attr);
		*ret = 0;
		return 0;
	}
	r = parse_addr_number((const char *)v, max, ret);
	str_quote(q, sizeof(q), (const char *)v, QUOTE_MAX);
	xmlFree(v);
	switch (r) {
	case 0:
		return 0;
	case -ERANGE:
		return reason_set(-EINVAL, "%s:%d: %s source address %s '%s' out of range (0..%#x)",
				  what, line, el, attr, q, max);
	case -EDOM:
		return reason_set(-EINVAL,
				  "%s:%d: %s source address %s '%s' has a leading zero "
				  "(octal to libvirt); write it in hex with 0x",
				  what, line, el, attr, q);
	default:
		return reason_set(-EINVAL,
				  "%s:%d: %s source address %s '%s' is not a number "
				  "(0x-prefixed hex or decimal)",
				  what, line, el, attr, q);
	}
}

/* The managed attribute of n: yes, no, or absent. */
static int parse_managed(const xmlNode *n, enum hostdev_kind kind, const char *what, int line,
			 enum managed *ret)
{
	char q[QUOTE_MAX * 4 + 8];
	xmlChar *managed = xmlGetNoNsProp(n, BAD_CAST "managed");
	enum managed m = MANAGED_ABSENT;

	if (managed) {
		if (xmlStrEqual(managed, BAD_CAST "yes"))
			m = MANAGED_YES;
		else if (xmlStrEqual(managed, BAD_CAST "no"))
			m = MANAGED_NO;
		str_quote(q, sizeof(q), (const char *)managed, QUOTE_MAX);
		xmlFree(managed);
		if (m == MANAGED_ABSENT)
			return reason_set(-EINVAL, "%s:%d: %s managed='%s' is not yes or no", what,
					  line, domxml_kind_name(kind), q);
	}
	*ret = m;
	return 0;
}

/* The only <source> of n. */
static int find_source(const xmlNode *n, enum hostdev_kind kind, const char *what, int line,
		       xmlNode **ret)
{
	int r = only_child(n, "source", ret);

	if (r == -ENOENT)
		return reason_set(-EINVAL, "%s:%d: %s has no <source>", what, line,
				  kind_element(kind));
	if (r < 0)
		return reason_set(-EINVAL, "%s:%d: %s has more than one <source>", what, line,
				  kind_element(kind));
	return 0;
}

/* The PCI address in <source><address .../></source>: domain, bus, slot, function. */
static int parse_source_address(const xmlNode *src, enum hostdev_kind kind, const char *what,
				int line, struct bdf *ret)
{
	unsigned domain = 0, bus = 0, slot = 0, fn = 0;
	xmlNode *addr;
	int r;

	r = only_child(src, "address", &addr);
	if (r == -ENOENT)
		return reason_set(-EINVAL, "%s:%d: %s <source> has no <address>", what, line,
				  kind_element(kind));
	if (r < 0)
		return reason_set(-EINVAL, "%s:%d: %s <source> has more than one <address>", what,
				  line, kind_element(kind));

	r = parse_addr_attr(addr, "domain", 0xffff, false, &domain, kind, what, line);
	if (r >= 0)
		r = parse_addr_attr(addr, "bus", 0xff, true, &bus, kind, what, line);
	if (r >= 0)
		r = parse_addr_attr(addr, "slot", 0x1f, true, &slot, kind, what, line);
	if (r >= 0)
		r = parse_addr_attr(addr, "function", 7, true, &fn, kind, what, line);
	if (r < 0)
		return r;
	*ret = (struct bdf){.domain = (uint16_t)domain,
			    .bus = (uint8_t)bus,
			    .dev = (uint8_t)slot,
			    .fn = (uint8_t)fn};
	return 0;
}

static int parse_pci_hostdev(const xmlNode *hd, const char *what, struct hostdev *ret)
{
	int line = xmlsafe_line(hd);
	struct hostdev h = {.line = line, .kind = HOSTDEV_PCI};
	xmlNode *src;
	int r;

	r = parse_managed(hd, HOSTDEV_PCI, what, line, &h.managed);
	if (r >= 0)
		r = find_source(hd, HOSTDEV_PCI, what, line, &src);
	if (r >= 0)
		r = parse_source_address(src, HOSTDEV_PCI, what, line, &h.addr);
	if (r < 0)
		return r;
	*ret = h;
	return 0;
}

/* Whether a <hostdev> is a PCI host device: mode defaults to subsystem in libvirt. USB,
 * SCSI, mdev and capabilities-mode hostdevs are not ours. */
static int hostdev_is_pci(const xmlNode *hd, const char *what, bool *ret)
{
	xmlChar *mode = xmlGetNoNsProp(hd, BAD_CAST "mode");
	xmlChar *type;
	bool subsys = !mode || xmlStrEqual(mode, BAD_CAST "subsystem");

	xmlFree(mode);
	if (!subsys) {
		*ret = false;
		return 0;
	}
	type = xmlGetNoNsProp(hd, BAD_CAST "type");
	if (!type)
		return reason_set(-EINVAL, "%s:%d: hostdev has no type attribute", what,
				  xmlsafe_line(hd));
	*ret = xmlStrEqual(type, BAD_CAST "pci");
	xmlFree(type);
	return 0;
}

static bool has_attr_value(const xmlNode *n, const char *attr, const char *value)
{
	xmlChar *v = xmlGetNoNsProp(n, BAD_CAST attr);
	bool eq = v && xmlStrEqual(v, BAD_CAST value);

	xmlFree(v);
	return eq;
}

/*
 * <interface type='hostdev'>: an SR-IOV VF given to the guest as its NIC, managed on the
 * interface element. Its source is a PCI address (<address type='pci' .../>) or a USB
 * device (<vendor>/<product>, or <address type='usb'>), which is not ours: libvirt takes
 * an untyped address beside a <vendor> for USB, and refuses one without. *ret_pci says
 * which.
 */
static int parse_interface(const xmlNode *n, const char *what, struct hostdev *ret, bool *ret_pci)
{
	char q[QUOTE_MAX * 4 + 8];
	int line = xmlsafe_line(n);
	struct hostdev h = {.line = line, .kind = HOSTDEV_INTERFACE};
	xmlNode *src, *addr, *vendor;
	xmlChar *type;
	int r;

	*ret_pci = false;
	r = find_source(n, HOSTDEV_INTERFACE, what, line, &src);
	if (r < 0)
		return r;
	if (only_child(src, "address", &addr) == 0) {
		type = xmlGetNoNsProp(addr, BAD_CAST "type");
		if (!type) {
			if (only_child(src, "vendor", &vendor) != -ENOENT)
				return 0; /* USB */
			return reason_set(-EINVAL,
					  "%s:%d: interface hostdev source address has no type "
					  "attribute (pci or usb)",
					  what, line);
		}
		str_quote(q, sizeof(q), (const char *)type, QUOTE_MAX);
		if (xmlStrEqual(type, BAD_CAST "pci"))
			r = 1;
		else if (xmlStrEqual(type, BAD_CAST "usb"))
			r = 0;
		else
			r = -1;
		xmlFree(type);
		if (r == 0)
			return 0;
		if (r < 0)
			return reason_set(-EINVAL,
					  "%s:%d: interface hostdev source address type '%s' is "
					  "not pci or usb",
					  what, line, q);
	} else if (only_child(src, "vendor", &vendor) != -ENOENT) {
		return 0; /* USB, by vendor and product */
	}
	r = parse_managed(n, HOSTDEV_INTERFACE, what, line, &h.managed);
	if (r >= 0)
		r = parse_source_address(src, HOSTDEV_INTERFACE, what, line, &h.addr);
	if (r < 0)
		return r;
	*ret = h;
	*ret_pci = true;
	return 0;
}

/*
 * An nvme storage source (a <disk type='nvme'> or a <backingStore type='nvme'>): the
 * controller at <source type='pci' managed=... namespace=...><address .../></source>.
 * libvirt hands the controller to vfio-pci for QEMU's userspace NVMe driver; the
 * namespace is the guest's business, not ours.
 */
static int parse_nvme_source(const xmlNode *n, const char *what, struct hostdev *ret)
{
	char q[QUOTE_MAX * 4 + 8];
	int line = xmlsafe_line(n);
	struct hostdev h = {.line = line, .kind = HOSTDEV_NVME};
	xmlNode *src;
	xmlChar *type;
	int r;

	r = find_source(n, HOSTDEV_NVME, what, line, &src);
	if (r < 0)
		return r;
	type = xmlGetNoNsProp(src, BAD_CAST "type");
	if (!type)
		return reason_set(-EINVAL, "%s:%d: nvme disk <source> has no type='pci'", what,
				  line);
	r = xmlStrEqual(type, BAD_CAST "pci") ? 0 : -EINVAL;
	str_quote(q, sizeof(q), (const char *)type, QUOTE_MAX);
	xmlFree(type);
	if (r < 0)
		return reason_set(r, "%s:%d: nvme disk <source> type '%s' is not pci", what, line,
				  q);
	r = parse_managed(src, HOSTDEV_NVME, what, line, &h.managed);
	if (r >= 0)
		r = parse_source_address(src, HOSTDEV_NVME, what, line, &h.addr);
	if (r < 0)
		return r;
	*ret = h;
	return 0;
}

/* Adds h to the list unless an nvme disk already named its controller (two namespaces of
 * one controller are two disks, one device to hand over). */
static int add_hostdev(struct domxml *d, const struct hostdev *h, const char *what)
{
	char a[BDF_STRLEN];

	for (size_t i = 0; i < d->n_hostdevs; i++) {
		const struct hostdev *o = &d->hostdevs[i];

		if (!bdf_equal(&o->addr, &h->addr))
			continue;
		if (o->kind == HOSTDEV_NVME && h->kind == HOSTDEV_NVME)
			return 0;
		if (o->kind == h->kind)
			return reason_set(-EINVAL, "%s:%d: %s %s listed twice (first at line %d)",
					  what, h->line, domxml_kind_name(h->kind),
					  bdf_fmt(&h->addr, a), o->line);
		return reason_set(-EINVAL, "%s:%d: %s %s is also the %s at line %d", what, h->line,
				  domxml_kind_name(h->kind), bdf_fmt(&h->addr, a),
				  domxml_kind_name(o->kind), o->line);
	}
	if (d->n_hostdevs == DOMXML_MAX_HOSTDEVS) {
		if (h->kind == HOSTDEV_PCI)
			return reason_set(-EINVAL, "%s:%d: more than %d PCI hostdevs", what,
					  h->line, DOMXML_MAX_HOSTDEVS);
		return reason_set(-EINVAL, "%s:%d: more than %d PCI devices to hand over (%s)",
				  what, h->line, DOMXML_MAX_HOSTDEVS, domxml_kind_name(h->kind));
	}
	if (!d->hostdevs) {
		d->hostdevs = calloc(DOMXML_MAX_HOSTDEVS, sizeof(*d->hostdevs));
		if (!d->hostdevs)
			return reason_set(-ENOMEM, "%s: out of memory", what);
	}
	d->hostdevs[d->n_hostdevs++] = *h;
	return 0;
}

/* A <disk>: its nvme sources, its own and down its backing chain (libvirt's
 * virHostdevGetNVMeDeviceList walks the chain too). */
static int parse_disk(const xmlNode *disk, const char *what, struct domxml *d)
{
	const xmlNode *n = disk;

	while (n) {
		xmlNode *next = NULL;
		struct hostdev h;
		int r;

		if (has_attr_value(n, "type", "nvme")) {
			r = parse_nvme_source(n, what, &h);
			if (r >= 0)
				r = add_hostdev(d, &h, what);
			if (r < 0)
				return r;
		}
		if (only_child(n, "backingStore", &next) < 0)
			next = NULL;
		n = next;
	}
	return 0;
}

static int parse_devices(const xmlNode *devices, const char *what, struct domxml *d)
{
	for (xmlNode *n = devices->children; n; n = n->next) {
		struct hostdev h;
		bool pci = false;
		int r;

		if (is_elem(n, "disk")) {
			r = parse_disk(n, what, d);
			if (r < 0)
				return r;
			continue;
		}
		if (is_elem(n, "interface") && has_attr_value(n, "type", "hostdev")) {
			r = parse_interface(n, what, &h, &pci);
			if (r >= 0 && pci)
				r = add_hostdev(d, &h, what);
			if (r < 0)
				return r;
			continue;
		}
		if (!is_elem(n, "hostdev"))
			continue;
		r = hostdev_is_pci(n, what, &pci);
		if (r < 0)
			return r;
		if (!pci)
			continue;
		r = parse_pci_hostdev(n, what, &h);
		if (r >= 0)
			r = add_hostdev(d, &h, what);
		if (r < 0)
			return r;
	}
	return 0;
}

/* libvirt prints the uuid as 8-4-4-4-12 hex digits and also accepts the dashes left out. */
static bool uuid_valid(const char *s)
{
	size_t digits = 0;

	for (; *s; s++) {
		if ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		    (*s >= 'A' && *s <= 'F'))
			digits++;
		else if (*s != '-')
			return false;
	}
	return digits == 32;
}

static int take_name(const xmlNode *n, const char *what, struct domxml *d)
{
	xmlChar *v = xmlNodeGetContent(n);
	int r = 0;

	if (!v)
		return reason_set(-ENOMEM, "%s: out of memory", what);
	/* Taken as is, untrimmed: it has to match the name libvirt gives the hook. */
	if (!v[0])
		r = reason_set(-EINVAL, "%s:%d: domain <name> is empty", what, xmlsafe_line(n));
	else if (strlcpy_chk(d->name, (const char *)v, sizeof(d->name)) < 0)
		r = reason_set(-EINVAL, "%s:%d: domain <name> longer than %zu bytes", what,
			       xmlsafe_line(n), sizeof(d->name) - 1);
	xmlFree(v);
	return r;
}

static int take_uuid(const xmlNode *n, const char *what, struct domxml *d)
{
	char q[QUOTE_MAX * 4 + 8];
	xmlChar *v = xmlNodeGetContent(n);
	char *s, *e;
	int r = 0;

	if (!v)
		return reason_set(-ENOMEM, "%s: out of memory", what);
	s = (char *)v;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	if (!uuid_valid(s) || strlcpy_chk(d->uuid, s, sizeof(d->uuid)) < 0)
		r = reason_set(-EINVAL, "%s:%d: domain <uuid> '%s' is not a UUID", what,
			       xmlsafe_line(n), str_quote(q, sizeof(q), s, QUOTE_MAX));
	xmlFree(v);
	return r;
}

static int parse_domain(const xmlNode *root, const char *what, struct domxml *d)
{
	char q[QUOTE_MAX * 4 + 8];
	int name_line = 0, uuid_line = 0;
	int r;

	if (!is_elem(root, "domain")) {
		str_quote(q, sizeof(q), (const char *)root->name, QUOTE_MAX);
		return reason_set(-EINVAL, "%s:%d: root element is <%s%s>, not <domain>", what,
				  xmlsafe_line(root), root->ns ? "namespaced " : "", q);
	}
	for (xmlNode *n = root->children; n; n = n->next) {
		if (is_elem(n, "name")) {
			if (name_line)
				return reason_set(-EINVAL,
						  "%s:%d: second <name> (first at line %d)", what,
						  xmlsafe_line(n), name_line);
			name_line = xmlsafe_line(n) ?: 1;
			r = take_name(n, what, d);
		} else if (is_elem(n, "uuid")) {
			if (uuid_line)
				return reason_set(-EINVAL,
						  "%s:%d: second <uuid> (first at line %d)", what,
						  xmlsafe_line(n), uuid_line);
			uuid_line = xmlsafe_line(n) ?: 1;
			r = take_uuid(n, what, d);
		} else if (is_elem(n, "devices")) {
			/* libvirt takes ./devices/hostdev: every <devices> counts. */
			r = parse_devices(n, what, d);
		} else {
			r = 0;
		}
		if (r < 0)
			return r;
	}
	if (!name_line)
		return reason_set(-EINVAL, "%s:%d: domain has no <name>", what, xmlsafe_line(root));
	return domfeatures_read(root, what, &d->features);
}

int domxml_parse_mem(const char *buf, size_t len, const char *what, struct domxml *ret)
{
	struct domxml d = {0};
	xmlDocPtr doc = NULL;
	xmlNode *root;
	int r;

	r = xmlsafe_read(buf, len, DOMXML_MAX_BYTES, what, &doc);
	if (r < 0)
		return r;
	root = xmlDocGetRootElement(doc);
	if (!root) {
		r = reason_set(-EINVAL, "%s: no root element", what);
		goto out;
	}
	r = parse_domain(root, what, &d);
	if (r < 0)
		goto out;
	*ret = d;
	d = (struct domxml){0};
out:
	free(d.hostdevs);
	xmlFreeDoc(doc);
	return r;
}

int domxml_parse_fd(int fd, const char *what, struct domxml *ret)
{
	/* One byte past the limit tells "exactly at the limit" from "too large". */
	const size_t limit = (size_t)DOMXML_MAX_BYTES + 1;
	size_t cap = 64 * 1024, len = 0;
	_cleanup_free_ char *buf = malloc(cap);

	if (!buf)
		return reason_set(-ENOMEM, "%s: out of memory", what);
	while (len < limit) {
		ssize_t n;

		if (len == cap) {
			size_t ncap = cap * 2 < limit ? cap * 2 : limit;
			char *nbuf = realloc(buf, ncap);

			if (!nbuf)
				return reason_set(-ENOMEM, "%s: out of memory", what);
			buf = nbuf;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			return reason_set(-e, "%s: read failed: %s", what, strerror(e));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > DOMXML_MAX_BYTES)
		return reason_set(-EFBIG, "%s: domain XML larger than %d MiB", what,
				  DOMXML_MAX_BYTES >> 20);
	return domxml_parse_mem(buf, len, what, ret);
}

int domxml_parse_file(const char *path, struct domxml *ret)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		int e = errno;

		return reason_set(-e, "%s: cannot open: %s", path, strerror(e));
	}
	return domxml_parse_fd(fd, path, ret);
}

void domxml_free(struct domxml *d)
{
	if (!d)
		return;
	free(d->hostdevs);
	domfeatures_free(&d->features);
	d->hostdevs = NULL;
	d->n_hostdevs = 0;
}
