/* Whether a GPU drives the host's display, and on what evidence: boot_vga, the frame
 * buffer console on one of its framebuffers, a connected output of its DRM cards. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/root.h"
#include "base/util.h"
#include "facts/consoles.h"
#include "facts/display.h"
#include "facts/pcidev.h"
#include "kernel/attr.h"

/* Appends ", text" (or "text" first) to buf. */
static void add_item(char *buf, size_t n, const char *text)
{
	size_t len = strlen(buf);

	if (len + 1 < n)
		snprintf(buf + len, n - len, "%s%s", len ? ", " : "", text);
}

/* The lowest-numbered framebuffer of the host: fbcon maps every console to it unless told
 * otherwise. -1 when there is none. */
static int first_fb(void)
{
	char p[VH_PATH_MAX];
	struct dirent *e;
	int best = -1;
	DIR *d;

	if (path_join(p, sizeof(p), "/sys/class/graphics") < 0)
		return -1;
	d = opendir(p);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char *end;
		long i;

		if (!str_has_prefix(e->d_name, "fb"))
			continue;
		i = strtol(e->d_name + 2, &end, 10);
		if (end != e->d_name + 2 && !*end && i >= 0 && (best < 0 || i < best))
			best = (int)i;
	}
	closedir(d);
	return best;
}

/* Evidence: the frame buffer console sits on a framebuffer of the device. */
static void fbcon_evidence(const struct pcidev *dev, char *buf, size_t n)
{
	char p[VH_PATH_MAX], item[64];
	int first = first_fb(), r;
	struct dirent *e;
	DIR *d;

	r = consoles_fb_bound();
	if (r <= 0)
		return;
	if (path_join(p, sizeof(p), "/sys/bus/pci/devices/%s/graphics", dev->name) < 0)
		return;
	d = opendir(p);
	if (!d)
		return;
	while ((e = readdir(d))) {
		char *end;
		long i;

		if (!str_has_prefix(e->d_name, "fb"))
			continue;
		i = strtol(e->d_name + 2, &end, 10);
		if (end == e->d_name + 2 || *end)
			continue;
		/* With no class listing, fb0 is where fbcon starts. */
		if (i == (first >= 0 ? first : 0)) {
			snprintf(item, sizeof(item), "frame buffer console on fb%ld", i);
			add_item(buf, n, item);
			break;
		}
	}
	closedir(d);
}

/* Evidence: connected outputs of the device's DRM cards (drm/cardN/cardN-NAME/status). */
static void connector_evidence(const struct pcidev *dev, char *buf, size_t n)
{
	char p[VH_PATH_MAX], card[VH_PATH_MAX], st[32], item[300];
	struct dirent *e, *c;
	DIR *d, *cd;

	if (path_join(p, sizeof(p), "/sys/bus/pci/devices/%s/drm", dev->name) < 0)
		return;
	d = opendir(p);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!str_has_prefix(e->d_name, "card") || strchr(e->d_name, '-') ||
		    snprintf_chk(card, sizeof(card), "%s/%s", p, e->d_name) < 0)
			continue;
		cd = opendir(card);
		if (!cd)
			continue;
		while ((c = readdir(cd))) {
			char sp[VH_PATH_MAX];

			if (!str_has_prefix(c->d_name, e->d_name) ||
			    c->d_name[strlen(e->d_name)] != '-' ||
			    snprintf_chk(sp, sizeof(sp), "%s/%s/status", card, c->d_name) < 0 ||
			    attr_read(sp, st, sizeof(st)) < 0 || strcmp(st, "connected") != 0)
				continue;
			snprintf(item, sizeof(item), "connected %s", c->d_name);
			add_item(buf, n, item);
		}
		closedir(cd);
	}
	closedir(d);
}

int display_evidence(const struct pcidev *dev, char *buf, size_t n)
{
	buf[0] = '\0';
	if (dev->boot_vga == 1)
		add_item(buf, n, "boot_vga=1");
	fbcon_evidence(dev, buf, n);
	connector_evidence(dev, buf, n);
	if (buf[0])
		return 1;
	snprintf(buf, n, "boot_vga=%d, no frame buffer console on it, no connected output",
		 dev->boot_vga);
	return 0;
}

/* How many display-class PCI devices the host has (for hosts without boot_vga). */
int display_count(void)
{
	char p[VH_PATH_MAX];
	struct dirent *e;
	int n = 0;
	DIR *d;

	if (path_join(p, sizeof(p), "/sys/bus/pci/devices") < 0)
		return 0;
	d = opendir(p);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char cp[VH_PATH_MAX];
		long cls;

		if (e->d_name[0] == '.' ||
		    path_join(cp, sizeof(cp), "/sys/bus/pci/devices/%s/class", e->d_name) < 0 ||
		    attr_read_long(cp, &cls) < 0)
			continue;
		if ((cls >> 16) == 0x03)
			n++;
	}
	closedir(d);
	return n;
}
