/* Safety checks: a handed group must not hold what the host needs to keep running — the
 * chipset's own functions, a storage controller under a mounted filesystem or swap, or
 * the NIC of a default route. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "base/log.h"
#include "base/root.h"
#include "base/util.h"
#include "facts/pcidev.h"
#include "plan/plan.h"

/* The device's class as pci.ids names it, for a refusal: looked up only when one is
 * printed (plan_build() leaves hex ids). */
static const char *class_name(const struct pcidev *d, char *buf, size_t n)
{
	struct pcidev named = *d;

	pcidev_name(&named);
	snprintf(buf, n, "%s", named.class_desc);
	return buf;
}

/*
 * Functions of the chipset itself, by class. They share a group with the PCH's audio,
 * USB or Ethernet on most boards (Intel's 00:1f.x and AMD's 00:14.x have no ACS between
 * them), so group = whole would unbind the host's LPC/eSPI bridge (TPM, embedded
 * controller, watchdog, super-I/O sensors) and SMBus (memory SPD, sensors, the BMC) and
 * give a guest their registers. Left out on purpose: PCI bridges (0x0604, 0x0609, left
 * on their driver), 0x0c80 "other serial bus" (the PCH's SPI flash controller shares the
 * LPC's group, but so classed is also the USB-C UCSI of every RTX 20 card), 0x0500 RAM
 * (Intel's PCH shared SRAM shares a group with the chipset xHCI that people pass
 * through, and has no driver to lose) and 0x1180 (the PCH thermal sensor shares it too;
 * its loss costs readings, not the host).
 */
static const struct chipset_class {
	unsigned class; /* base class << 8 | subclass */
	const char *what;
} chipset_classes[] = {
    {0x0600, "host bridge"},
    {0x0601, "ISA bridge"},
    {0x0602, "EISA bridge"},
    {0x0603, "MicroChannel bridge"},
    {0x0800, "interrupt controller"},
    {0x0801, "DMA controller"},
    {0x0802, "system timer"},
    {0x0803, "RTC"},
    {0x0804, "PCI hot-plug controller"},
    {0x0806, "IOMMU"},
    {0x0807, "root complex event collector"},
    {0x0c05, "SMBus"},
};

static const char *chipset_function(const struct pcidev *d)
{
	for (size_t i = 0; i < ARRAY_SIZE(chipset_classes); i++)
		if ((d->class >> 8) == chipset_classes[i].class)
			return chipset_classes[i].what;
	return NULL;
}

int plan_check_chipset(int group, const char *asked, const struct pcidev *members, size_t n)
{
	char list[768] = "";
	size_t len = 0, found = 0;

	for (size_t i = 0; i < n; i++) {
		const char *what = chipset_function(&members[i]);

		if (!what)
			continue;
		found++;
		if (len < sizeof(list))
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s (%s [%04x])",
						len ? ", " : "", members[i].name, what,
						members[i].class >> 8);
	}
	if (!found)
		return 0;
	return reason_set(-EPERM,
			  "IOMMU group %d of %s holds the chipset's own function%s %s: the host "
			  "needs %s, so the group cannot be handed to a VM",
			  group, asked, found > 1 ? "s" : "", list, found > 1 ? "them" : "it");
}

/* The real path of a PCI device's sysfs directory. */
static int dev_realpath(const struct pcidev *d, char *buf)
{
	char p[VH_PATH_MAX];

	if (path_join(p, sizeof(p), "/sys/bus/pci/devices/%s", d->name) < 0)
		return -ENAMETOOLONG;
	if (!realpath(p, buf))
		return -errno;
	return 0;
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/* NVMe native multipath: a namespace's disk is then the subsystem's head, under
 * /sys/devices/virtual/nvme-subsystem, and multipath/ in the disk (a partition's parent)
 * links to its paths, one under each controller. real: the block device's sysfs path. */
static bool multipath_on(const char *real, const char *devpath)
{
	char dir[PATH_MAX + 16], link[PATH_MAX + 300], target[PATH_MAX];
	bool hit = false;

	for (int up = 0; up < 2 && !hit; up++) {
		struct dirent *e;
		DIR *d;

		if (snprintf_chk(dir, sizeof(dir), "%s%s/multipath", real, up ? "/.." : "") < 0)
			continue;
		d = opendir(dir);
		if (!d)
			continue;
		while (!hit && (e = readdir(d)))
			if (e->d_name[0] != '.' &&
			    snprintf_chk(link, sizeof(link), "%s/%s", dir, e->d_name) == 0 &&
			    realpath(link, target))
				hit = under(target, devpath);
		closedir(d);
	}
	return hit;
}

/* Whether block device name (or what it is built on: dm, md, LVM) sits on the PCI
 * device at devpath. depth bounds stacked devices. */
static bool block_on(const char *name, const char *devpath, int depth)
{
	char p[VH_PATH_MAX], real[PATH_MAX];
	struct dirent *e;
	bool hit = false;
	DIR *d;

	if (depth > 8 || path_join(p, sizeof(p), "/sys/class/block/%s", name) < 0)
		return false;
	if (realpath(p, real) && (under(real, devpath) || multipath_on(real, devpath)))
		return true;
	if (path_join(p, sizeof(p), "/sys/class/block/%s/slaves", name) < 0)
		return false;
	d = opendir(p);
	if (!d)
		return false;
	while (!hit && (e = readdir(d)))
		if (e->d_name[0] != '.')
			hit = block_on(e->d_name, devpath, depth + 1);
	closedir(d);
	return hit;
}

/* The kernel's name of the block device behind a /dev path ("/dev/mapper/vg-root" is a
 * link to "../dm-0"). */
static void block_name(const char *dev, char *buf, size_t n)
{
	char p[VH_PATH_MAX], real[PATH_MAX];
	const char *base;

	base = strrchr(dev, '/') + 1;
	if (path_join(p, sizeof(p), "%s", dev) == 0 && realpath(p, real)) {
		const char *b = strrchr(real, '/');
		if (b)
			base = b + 1;
	}
	snprintf(buf, n, "%s", base);
}

static int check_storage(const struct pcidev *d, const char *devpath)
{
	char p[VH_PATH_MAX], line[1024], cls[64];
	_cleanup_fclose_ FILE *f = NULL;

	if (path_join(p, sizeof(p), "/proc/self/mounts") < 0)
		return -ENAMETOOLONG;
	f = fopen(p, "re");
	if (!f) {
		if (path_join(p, sizeof(p), "/proc/mounts") < 0)
			return -ENAMETOOLONG;
		f = fopen(p, "re");
	}
	while (f && fgets(line, sizeof(line), f)) {
		char src[512], mnt[512], name[256];

		if (sscanf(line, "%511s %511s", src, mnt) != 2 || !str_has_prefix(src, "/dev/"))
			continue;
		block_name(src, name, sizeof(name));
		if (block_on(name, devpath, 0))
			return reason_set(-EPERM,
					  "refusing to hand over %s (%s): it holds %s, "
					  "mounted on %s",
					  d->name, class_name(d, cls, sizeof(cls)), src, mnt);
	}
	if (f)
		fclose(f);
	f = NULL;
	if (path_join(p, sizeof(p), "/proc/swaps") < 0)
		return -ENAMETOOLONG;
	f = fopen(p, "re");
	while (f && fgets(line, sizeof(line), f)) {
		char src[512], name[256];

		if (sscanf(line, "%511s", src) != 1 || !str_has_prefix(src, "/dev/"))
			continue;
		block_name(src, name, sizeof(name));
		if (block_on(name, devpath, 0))
			return reason_set(-EPERM,
					  "refusing to hand over %s (%s): it holds swap "
					  "device %s",
					  d->name, class_name(d, cls, sizeof(cls)), src);
	}
	return 0;
}

static bool iface_on(const char *iface, const char *devpath)
{
	char p[VH_PATH_MAX], real[PATH_MAX];

	if (path_join(p, sizeof(p), "/sys/class/net/%s/device", iface) < 0)
		return false;
	if (!realpath(p, real))
		return false;
	return strcmp(real, devpath) == 0 || under(real, devpath);
}

static int check_route(const struct pcidev *d, const char *devpath)
{
	char p[VH_PATH_MAX], line[512], cls[64];
	_cleanup_fclose_ FILE *f = NULL;

	if (path_join(p, sizeof(p), "/proc/net/route") < 0)
		return -ENAMETOOLONG;
	f = fopen(p, "re");
	while (f && fgets(line, sizeof(line), f)) {
		char iface[64], dst[16], gw[16], mask[16];
		unsigned flags;

		if (sscanf(line, "%63s %15s %15s %x %*s %*s %*s %15s", iface, dst, gw, &flags,
			   mask) != 5)
			continue;
		if (strcmp(dst, "00000000") == 0 && strcmp(mask, "00000000") == 0 &&
		    iface_on(iface, devpath))
			return reason_set(-EPERM,
					  "refusing to hand over %s (%s): it is %s, the "
					  "interface of the default route",
					  d->name, class_name(d, cls, sizeof(cls)), iface);
	}
	if (f)
		fclose(f);
	f = NULL;
	if (path_join(p, sizeof(p), "/proc/net/ipv6_route") < 0)
		return -ENAMETOOLONG;
	f = fopen(p, "re");
	while (f && fgets(line, sizeof(line), f)) {
		char dst[40], plen[4], iface[64];

		if (sscanf(line, "%39s %3s %*s %*s %*s %*s %*s %*s %*s %63s", dst, plen, iface) !=
		    3)
			continue;
		if (strcmp(plen, "00") == 0 && strspn(dst, "0") == 32 && strcmp(iface, "lo") != 0 &&
		    iface_on(iface, devpath))
			return reason_set(-EPERM,
					  "refusing to hand over %s (%s): it is %s, the "
					  "interface of the IPv6 default route",
					  d->name, class_name(d, cls, sizeof(cls)), iface);
	}
	return 0;
}

int plan_check_host_needs(const struct plan *p)
{
	for (size_t i = 0; i < p->n_devs; i++) {
		const struct pcidev *d = &p->devs[i];
		char real[PATH_MAX];
		int r;

		if (dev_realpath(d, real) < 0)
			continue;
		r = check_storage(d, real);
		if (r < 0)
			return r;
		r = check_route(d, real);
		if (r < 0)
			return r;
	}
	return 0;
}
