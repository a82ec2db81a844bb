/* Discovery of PCI devices and their IOMMU groups: libpci (pointed at the root prefix)
 * for identity and pci.ids names, sysfs for what libpci does not expose. Read-only. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <string.h>

#include <pci/pci.h>

#include "base/bdf.h"
#include "base/log.h"
#include "base/root.h"
#include "base/util.h"
#include "facts/pcidev.h"
#include "kernel/attr.h"
#include "kernel/kernel.h"

static struct pci_access *pacc;
static char pacc_root[VH_PATH_MAX];
static bool pacc_failed;
/* Where libpci's error handler returns to: set only while a guarded call runs, to a
 * jmp_buf in that call's live frame, and cleared before it returns. */
static jmp_buf *pacc_jmp;

/* libpci's default error handler calls exit(1): ours returns to the guarded call. */
static void PCI_NONRET pacc_error(char *msg, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, msg);
	vsnprintf(buf, sizeof(buf), msg, ap);
	va_end(ap);
	log_debug("libpci: %s", buf);
	if (pacc_jmp)
		longjmp(*pacc_jmp, 1);
	/* A libpci call outside a guard: there is no frame to go back to, and libpci does
	 * not expect its error handler to return. */
	log_err("libpci: %s (outside a guarded call)", buf);
	abort();
}

static void pacc_quiet(char *msg, ...)
{
	(void)msg;
}

/* Every libpci call that can reach the error handler runs through one of these; each
 * setjmp()s in its own frame, which is alive for as long as the call runs. */
static bool guarded_scan(struct pci_access *a, const char *sysfs)
{
	jmp_buf env;

	if (setjmp(env)) {
		pacc_jmp = NULL;
		return false;
	}
	pacc_jmp = &env;
	pci_set_param(a, "sysfs.path", (char *)sysfs);
	pci_init(a);
	pci_scan_bus(a);
	pacc_jmp = NULL;
	return true;
}

static bool guarded_fill(struct pci_dev *d, int flags)
{
	jmp_buf env;

	if (setjmp(env)) {
		pacc_jmp = NULL;
		return false;
	}
	pacc_jmp = &env;
	pci_fill_info(d, flags);
	pacc_jmp = NULL;
	return true;
}

static bool guarded_lookup(struct pci_access *a, char *buf, int size, int flags, int id1, int id2,
			   char **ret)
{
	jmp_buf env;

	if (setjmp(env)) {
		pacc_jmp = NULL;
		return false;
	}
	pacc_jmp = &env;
	if (flags & PCI_LOOKUP_CLASS)
		*ret = pci_lookup_name(a, buf, size, flags, id1);
	else
		*ret = pci_lookup_name(a, buf, size, flags, id1, id2);
	pacc_jmp = NULL;
	return true;
}

static void guarded_cleanup(struct pci_access *a)
{
	jmp_buf env;

	if (setjmp(env)) {
		pacc_jmp = NULL;
		return;
	}
	pacc_jmp = &env;
	pci_cleanup(a);
	pacc_jmp = NULL;
}

static struct pci_access *pacc_get(void)
{
	char sysfs[VH_PATH_MAX];

	if (pacc && strcmp(pacc_root, root_get()) == 0)
		return pacc;
	if (pacc_failed && strcmp(pacc_root, root_get()) == 0)
		return NULL;
	if (pacc) {
		guarded_cleanup(pacc);
		pacc = NULL;
	}
	strlcpy_chk(pacc_root, root_get(), sizeof(pacc_root));
	pacc_failed = false;
	if (path_join(sysfs, sizeof(sysfs), "/sys/bus/pci") < 0)
		goto fail;
	pacc = pci_alloc();
	if (!pacc)
		goto fail;
	pacc->error = pacc_error;
	pacc->warning = pacc_quiet;
	pacc->debug = pacc_quiet;
	pacc->method = PCI_ACCESS_SYS_BUS_PCI;
	if (!guarded_scan(pacc, sysfs)) {
		/* Leaks what libpci had allocated; this happens once per root. */
		pacc = NULL;
		goto fail;
	}
	return pacc;
fail:
	log_debug("libpci could not scan %s; reading identity from sysfs", pacc_root);
	pacc_failed = true;
	return NULL;
}

static struct pci_dev *pacc_find(const struct bdf *addr)
{
	struct pci_access *a = pacc_get();

	if (!a)
		return NULL;
	for (struct pci_dev *d = a->devices; d; d = d->next) {
		if (d->domain != addr->domain || d->bus != addr->bus || d->dev != addr->dev ||
		    d->func != addr->fn)
			continue;
		return guarded_fill(d, PCI_FILL_IDENT | PCI_FILL_CLASS) ? d : NULL;
	}
	return NULL;
}

static int dev_path(const struct bdf *addr, const char *attr, char *buf, size_t n)
{
	return path_join(buf, n, "/sys/bus/pci/devices/" BDF_FMT "/%s", BDF_ARGS(*addr), attr);
}

int pcidev_read(const struct bdf *addr, struct pcidev *ret)
{
	char p[VH_PATH_MAX], buf[64];
	struct pci_dev *pd;
	long v;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->addr = *addr;
	bdf_fmt(addr, ret->name);
	r = dev_path(addr, "", p, sizeof(p));
	if (r < 0)
		return r;
	if (!path_exists(p))
		return -ENOENT;

	pd = pacc_find(addr);
	if (pd) {
		ret->vendor = pd->vendor_id;
		ret->device = pd->device_id;
		/* libpci's device_class drops the programming interface: take it from sysfs. */
		ret->class = (uint32_t)pd->device_class << 8;
		if (dev_path(addr, "class", p, sizeof(p)) == 0 && attr_read_long(p, &v) == 0)
			ret->class = (uint32_t)v;
	} else {
		if (dev_path(addr, "vendor", p, sizeof(p)) == 0 && attr_read_long(p, &v) == 0)
			ret->vendor = (uint16_t)v;
		if (dev_path(addr, "device", p, sizeof(p)) == 0 && attr_read_long(p, &v) == 0)
			ret->device = (uint16_t)v;
		if (dev_path(addr, "class", p, sizeof(p)) == 0 && attr_read_long(p, &v) == 0)
			ret->class = (uint32_t)v;
	}

	if (dev_path(addr, "driver", p, sizeof(p)) == 0)
		link_base(p, ret->driver, sizeof(ret->driver));
	if (ret->driver[0] && dev_path(addr, "driver/module", p, sizeof(p)) == 0)
		link_base(p, ret->module, sizeof(ret->module));
	/* driver_override's show() takes device_lock, which a stuck remove() keeps: read
	 * through the seam, with a deadline. */
	if (dev_path(addr, "driver_override", p, sizeof(p)) == 0 && path_exists(p)) {
		r = kernel_read(p, buf, sizeof(buf), 0);
		if (r == -ETIMEDOUT || r == -EDEADLK)
			return reason_set(r,
					  "device %s is wedged: reading its driver_override did "
					  "not return within %d ms",
					  ret->name, kernel_timeout_ms());
		strip_trailing(buf);
		if (r == 0 && strcmp(buf, "(null)") != 0)
			strlcpy_chk(ret->override, buf, sizeof(ret->override));
	}
	ret->group = -1;
	if (dev_path(addr, "iommu_group", p, sizeof(p)) == 0 && link_base(p, buf, sizeof(buf)) == 0)
		ret->group = atoi(buf);
	ret->boot_vga = -1;
	if (dev_path(addr, "boot_vga", p, sizeof(p)) == 0 && attr_read_long(p, &v) == 0)
		ret->boot_vga = (int)v;
	if (dev_path(addr, "reset_method", p, sizeof(p)) == 0)
		attr_read(p, ret->reset_method, sizeof(ret->reset_method));
	ret->bridge = pcidev_is_bridge(ret);
	snprintf(ret->desc, sizeof(ret->desc), "[%04x:%04x]", ret->vendor, ret->device);
	snprintf(ret->class_desc, sizeof(ret->class_desc), "[%04x]", ret->class >> 8);
	return 0;
}

void pcidev_name(struct pcidev *dev)
{
	struct pci_access *a = pacc_get();
	char buf[256], *s;

	if (!a)
		return;
	/* pci_lookup_name allocates, and libpci's allocator reports failure through the
	 * error handler. pci.ids only (PCI_LOOKUP_NO_HWDB): libpci's udev hwdb path leaks the
	 * udev context it opens when the hwdb is missing. */
	if (guarded_lookup(a, buf, sizeof(buf),
			   PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_HWDB, dev->vendor,
			   dev->device, &s) &&
	    s)
		snprintf(dev->desc, sizeof(dev->desc), "%s", s);
	if (guarded_lookup(a, buf, sizeof(buf), PCI_LOOKUP_CLASS | PCI_LOOKUP_NO_HWDB,
			   (int)(dev->class >> 8), 0, &s) &&
	    s)
		snprintf(dev->class_desc, sizeof(dev->class_desc), "%s", s);
}

static int dev_cmp(const void *a, const void *b)
{
	return bdf_cmp(&((const struct pcidev *)a)->addr, &((const struct pcidev *)b)->addr);
}

static int read_members(const char *dir, struct pcidev **ret_devs, size_t *ret_n)
{
	struct pcidev *devs = NULL;
	size_t n = 0;
	struct dirent *e;
	DIR *d;
	int r = 0;

	d = opendir(dir);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		struct bdf addr;
		struct pcidev *tmp;

		if (e->d_name[0] == '.' || bdf_parse(e->d_name, &addr) < 0)
			continue;
		tmp = realloc(devs, (n + 1) * sizeof(*devs));
		if (!tmp) {
			r = -ENOMEM;
			break;
		}
		devs = tmp;
		r = pcidev_read(&addr, &devs[n]);
		if (r < 0)
			break;
		n++;
	}
	closedir(d);
	if (r < 0) {
		free(devs);
		return r;
	}
	if (n)
		qsort(devs, n, sizeof(*devs), dev_cmp);
	*ret_devs = devs;
	*ret_n = n;
	return 0;
}

int pcidev_group(const struct bdf *addr, int *ret_group, struct pcidev **ret_devs, size_t *ret_n)
{
	char p[VH_PATH_MAX], g[32];
	int r;

	/* Found from the device, never by number: group numbers move when devices appear. */
	r = dev_path(addr, "iommu_group", p, sizeof(p));
	if (r < 0)
		return r;
	r = link_base(p, g, sizeof(g));
	if (r < 0)
		return r;
	r = dev_path(addr, "iommu_group/devices", p, sizeof(p));
	if (r < 0)
		return r;
	r = read_members(p, ret_devs, ret_n);
	if (r < 0)
		return r;
	*ret_group = atoi(g);
	return 0;
}

static int int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int pcidev_list_groups(int **ret, size_t *ret_n)
{
	char p[VH_PATH_MAX];
	int *groups = NULL;
	size_t n = 0;
	struct dirent *e;
	DIR *d;

	if (path_join(p, sizeof(p), "/sys/kernel/iommu_groups") < 0)
		return -ENAMETOOLONG;
	d = opendir(p);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char *end;
		long g = strtol(e->d_name, &end, 10);
		int *tmp;

		if (e->d_name[0] == '.' || *end != '\0' || g < 0)
			continue;
		tmp = realloc(groups, (n + 1) * sizeof(*groups));
		if (!tmp) {
			closedir(d);
			free(groups);
			return -ENOMEM;
		}
		groups = tmp;
		groups[n++] = (int)g;
	}
	closedir(d);
	if (n)
		qsort(groups, n, sizeof(*groups), int_cmp);
	*ret = groups;
	*ret_n = n;
	return 0;
}

int pcidev_group_members(int group, struct pcidev **ret_devs, size_t *ret_n)
{
	char p[VH_PATH_MAX];

	if (path_join(p, sizeof(p), "/sys/kernel/iommu_groups/%d/devices", group) < 0)
		return -ENAMETOOLONG;
	return read_members(p, ret_devs, ret_n);
}

bool pcidev_is_bridge(const struct pcidev *dev)
{
	uint32_t cls = dev->class >> 8;

	/* PCI-to-PCI bridges (root ports, switch ports) and subtractive-decode bridges:
	 * VFIO lets them stay on pcieport/their driver. */
	return cls == 0x0604 || cls == 0x0609;
}

bool pcidev_is_display(const struct pcidev *dev)
{
	return (dev->class >> 16) == 0x03;
}
