/* Reads the domain's firmware, its hypervisor-hiding features and the ROM files of its host
 * devices (input/domfeatures.h). The document was read by xmlsafe.c; every value taken here
 * is bounded. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "base/bdf.h"
#include "base/log.h"
#include "base/util.h"
#include "input/domfeatures.h"
#include "input/xmlsafe.h"

static bool is_elem(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns == NULL && xmlStrEqual(n->name, BAD_CAST name);
}

static const xmlNode *child(const xmlNode *n, const char *name)
{
	for (const xmlNode *c = n->children; c; c = c->next)
		if (is_elem(c, name))
			return c;
	return NULL;
}

static bool has_attr(const xmlNode *n, const char *attr)
{
	return xmlHasNsProp(n, BAD_CAST attr, NULL) != NULL;
}

static bool attr_is(const xmlNode *n, const char *attr, const char *value)
{
	xmlChar *v = xmlGetNoNsProp(n, BAD_CAST attr);
	bool r = v && xmlStrEqual(v, BAD_CAST value);

	xmlFree(v);
	return r;
}

/* libvirt writes hex ("0x01") and reads with base 0; domxml.c refused anything it would
 * read differently. false when the attribute is absent or not a number in range. */
static bool addr_attr(const xmlNode *addr, const char *attr, unsigned long max, unsigned long *ret)
{
	xmlChar *v = xmlGetNoNsProp(addr, BAD_CAST attr);
	char *end;
	bool ok;

	if (!v)
		return false;
	errno = 0;
	*ret = strtoul((const char *)v, &end, 0);
	ok = errno == 0 && end != (const char *)v && *end == '\0' && *ret <= max;
	xmlFree(v);
	return ok;
}

static bool source_addr(const xmlNode *dev, struct bdf *ret)
{
	const xmlNode *src = child(dev, "source"), *addr;
	unsigned long d = 0, b, s, f;

	if (!src || !(addr = child(src, "address")))
		return false;
	if (has_attr(addr, "domain") && !addr_attr(addr, "domain", 0xffff, &d))
		return false;
	if (!addr_attr(addr, "bus", 0xff, &b) || !addr_attr(addr, "slot", 0x1f, &s) ||
	    !addr_attr(addr, "function", 7, &f))
		return false;
	*ret = (struct bdf){
	    .domain = (uint16_t)d, .bus = (uint8_t)b, .dev = (uint8_t)s, .fn = (uint8_t)f};
	return true;
}

/* The <rom file=...> of a host device; one without a file (bar='off', enabled='no', or
 * the device's own ROM) needs no check. */
static int take_rom(const xmlNode *dev, const char *what, struct domfeatures *f)
{
	const xmlNode *rom = child(dev, "rom");
	struct domrom *tmp, r = {0};
	xmlChar *file;
	int ret = 0;

	if (!rom || attr_is(rom, "enabled", "no"))
		return 0;
	file = xmlGetNoNsProp(rom, BAD_CAST "file");
	if (!file)
		return 0;
	if (!source_addr(dev, &r.addr))
		goto out;
	r.line = xmlsafe_line(rom);
	if (!file[0])
		goto out;
	if (strlcpy_chk(r.file, (const char *)file, sizeof(r.file)) < 0) {
		ret = reason_set(-EINVAL, "%s:%d: rom file longer than %d bytes", what, r.line,
				 DOMFEATURES_ROM_MAX - 1);
		goto out;
	}
	tmp = realloc(f->roms, (f->n_roms + 1) * sizeof(*f->roms));
	if (!tmp) {
		ret = reason_set(-ENOMEM, "%s: out of memory", what);
		goto out;
	}
	f->roms = tmp;
	f->roms[f->n_roms++] = r;
out:
	xmlFree(file);
	return ret;
}

static int read_devices(const xmlNode *devices, const char *what, struct domfeatures *f)
{
	for (const xmlNode *n = devices->children; n; n = n->next) {
		bool hostdev = is_elem(n, "hostdev") && attr_is(n, "type", "pci") &&
			       (!has_attr(n, "mode") || attr_is(n, "mode", "subsystem"));
		bool vf = is_elem(n, "interface") && attr_is(n, "type", "hostdev");
		int r;

		if (!hostdev && !vf)
			continue;
		r = take_rom(n, what, f);
		if (r < 0)
			return r;
	}
	return 0;
}

static void read_os(const xmlNode *os, struct domfeatures *f)
{
	const xmlNode *loader = child(os, "loader");

	if (attr_is(os, "firmware", "efi"))
		f->uefi = true;
	/* Before <os firmware='efi'> (libvirt 5.2) UEFI was a pflash loader: OVMF's code. */
	if (loader && attr_is(loader, "type", "pflash"))
		f->uefi = true;
}

static void read_features(const xmlNode *features, struct domfeatures *f)
{
	const xmlNode *kvm = child(features, "kvm"), *hv = child(features, "hyperv"), *x;

	if (kvm && (x = child(kvm, "hidden")) && attr_is(x, "state", "on"))
		f->kvm_hidden = true;
	if (hv && (x = child(hv, "vendor_id")) && attr_is(x, "state", "on") && has_attr(x, "value"))
		f->hyperv_vendor_id = true;
}

int domfeatures_read(const xmlNode *root, const char *what, struct domfeatures *ret)
{
	struct domfeatures f = {0};
	int r;

	for (const xmlNode *n = root->children; n; n = n->next) {
		if (is_elem(n, "os")) {
			read_os(n, &f);
		} else if (is_elem(n, "features")) {
			read_features(n, &f);
		} else if (is_elem(n, "devices")) {
			r = read_devices(n, what, &f);
			if (r < 0) {
				domfeatures_free(&f);
				return r;
			}
		}
	}
	*ret = f;
	return 0;
}

void domfeatures_free(struct domfeatures *f)
{
	if (!f)
		return;
	free(f->roms);
	f->roms = NULL;
	f->n_roms = 0;
}
