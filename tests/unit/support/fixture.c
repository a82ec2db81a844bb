/* Builds fixture trees under a temporary root (devices, drivers, modules, consoles,
 * framebuffers, processes, units, storage, network) and snapshots them for "tree exactly
 * as before" assertions. The layout is described in fixture.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fakekernel.h"
#include "fixture.h"
#include "base/root.h"
#include "kernel/kernel.h"

/* Linux's PID_MAX_LIMIT on 64-bit: no real process can have a pid above it. */
#define PID_MAX_LIMIT 4194304

static char root[PATH_MAX];

/* printf into a local buffer (paths held across calls; fx_fmt buffers rotate). */
#define LOCAL(buf, ...) fk_fmt((buf), sizeof(buf), __VA_ARGS__)

void fx_die(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fail_msg("fixture: %s", msg);
	abort();
}

int fk_fmt(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= n)
		fx_die("text too long for its buffer: %s", fmt);
	return r;
}

const char *fx_root(void)
{
	return root;
}

/* --- Tree access --- */

static void absp(char *buf, const char *rel)
{
	if (!root[0])
		fx_die("fixture used before fx_setup()");
	while (*rel == '/')
		rel++;
	fk_fmt(buf, PATH_MAX, "%s/%s", root, rel);
}

const char *fx_fmt(const char *fmt, ...)
{
	static char bufs[16][PATH_MAX];
	static unsigned next;
	char *b = bufs[next++ % 16];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX)
		fx_die("formatted text too long: %s", fmt);
	return b;
}

const char *fx_path(const char *rel)
{
	char p[PATH_MAX];

	absp(p, rel);
	return fx_fmt("%s", p);
}

static void mkdir_abs(const char *abs)
{
	char p[PATH_MAX];

	fk_fmt(p, sizeof(p), "%s", abs);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			fx_die("mkdir %s: %s", p, strerror(errno));
		*s = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		fx_die("mkdir %s: %s", p, strerror(errno));
}

static void mkparent_abs(const char *abs)
{
	char p[PATH_MAX];
	char *slash;

	fk_fmt(p, sizeof(p), "%s", abs);
	slash = strrchr(p, '/');
	if (slash && slash != p) {
		*slash = '\0';
		mkdir_abs(p);
	}
}

void fx_mkdir(const char *rel)
{
	char p[PATH_MAX];

	absp(p, rel);
	mkdir_abs(p);
}

static void write_abs(const char *abs, const void *data, size_t n, mode_t mode)
{
	ssize_t w;
	int fd;

	mkparent_abs(abs);
	fd = open(abs, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		fx_die("open %s: %s", abs, strerror(errno));
	w = write(fd, data, n);
	if (w < 0 || (size_t)w != n)
		fx_die("write %s: %s", abs, strerror(errno));
	if (close(fd) < 0)
		fx_die("close %s: %s", abs, strerror(errno));
}

void fx_write_bin(const char *rel, const void *data, size_t n)
{
	char p[PATH_MAX];

	absp(p, rel);
	write_abs(p, data, n, 0644);
}

void fx_write(const char *rel, const char *content)
{
	fx_write_bin(rel, content, strlen(content));
}

void fx_append(const char *rel, const char *text)
{
	char p[PATH_MAX];
	int fd;

	absp(p, rel);
	mkparent_abs(p);
	fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) < 0)
		fx_die("append %s: %s", p, strerror(errno));
}

int fx_read(const char *rel, char *buf, size_t n)
{
	char p[PATH_MAX];
	ssize_t len;
	int fd;

	absp(p, rel);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, n - 1);
	if (len < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	close(fd);
	buf[len] = '\0';
	while (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	return 0;
}

const char *fx_cat(const char *rel)
{
	char b[PATH_MAX];

	if (fx_read(rel, b, sizeof(b)) < 0)
		b[0] = '\0';
	return fx_fmt("%s", b);
}

bool fx_exists(const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	absp(p, rel);
	return lstat(p, &st) == 0;
}

static void unlink_abs(const char *abs)
{
	if (unlink(abs) < 0 && errno != ENOENT)
		fx_die("unlink %s: %s", abs, strerror(errno));
}

void fx_link(const char *rel, const char *target)
{
	char p[PATH_MAX];
	struct stat st;

	absp(p, rel);
	mkparent_abs(p);
	if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
		fx_rm(rel);
	unlink_abs(p);
	if (symlink(target, p) < 0)
		fx_die("symlink %s: %s", p, strerror(errno));
}

int fx_readlink(const char *rel, char *buf, size_t n)
{
	char p[PATH_MAX];
	ssize_t len;

	absp(p, rel);
	len = readlink(p, buf, n - 1);
	if (len < 0)
		return -errno;
	buf[len] = '\0';
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (remove(path) < 0 && errno != ENOENT)
		fx_die("remove %s: %s", path, strerror(errno));
	return 0;
}

static void rm_abs(const char *abs)
{
	struct stat st;

	/* Only ever delete inside a fixture tree. */
	if (!root[0] || strncmp(abs, root, strlen(root)) != 0 || !strstr(root, "/vh-fx."))
		fx_die("refusing to remove %s", abs);
	if (lstat(abs, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink_abs(abs);
		return;
	}
	nftw(abs, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void fx_rm(const char *rel)
{
	char p[PATH_MAX];

	absp(p, rel);
	rm_abs(p);
}

void fx_move(const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];

	absp(a, from);
	absp(b, to);
	mkparent_abs(b);
	rm_abs(b);
	if (rename(a, b) < 0)
		fx_die("rename %s %s: %s", a, b, strerror(errno));
}

/* --- Life cycle --- */

static char *read_abs(const char *abs, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t r;
	int fd;

	fd = open(abs, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			if (!buf)
				fx_die("out of memory");
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0)
			fx_die("read %s: %s", abs, strerror(errno));
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	return buf;
}

char *fk_slurp(const char *rel, size_t *ret_len)
{
	char p[PATH_MAX];

	absp(p, rel);
	return read_abs(p, ret_len);
}

/* The fake systemctl (tests/fixtures/fake-systemctl.c): $VH_FAKE_SYSTEMCTL, else the one
 * the Makefile built beside the tests. */
#ifndef VH_FAKE_SYSTEMCTL_BIN
#define VH_FAKE_SYSTEMCTL_BIN "build/tests/fake-systemctl"
#endif
static char *find_systemctl(size_t *len)
{
	const char *env = getenv("VH_FAKE_SYSTEMCTL");

	return read_abs(env && *env ? env : VH_FAKE_SYSTEMCTL_BIN, len);
}

static void install_systemctl(const char *s, size_t len)
{
	char p[PATH_MAX];

	absp(p, "usr/bin/systemctl");
	write_abs(p, s, len, 0755);
	absp(p, "bin/systemctl");
	write_abs(p, s, len, 0755);
}

static const char *base_dirs[] = {
    "sys/bus/pci/devices",
    "sys/bus/pci/drivers",
    "sys/bus/platform/devices",
    "sys/bus/platform/drivers",
    "sys/devices/pci0000:00",
    "sys/devices/platform",
    "sys/devices/virtual",
    "sys/class/vtconsole",
    "sys/class/graphics",
    "sys/class/drm",
    "sys/class/block",
    "sys/block",
    "sys/class/net",
    "sys/class/sound",
    "sys/kernel/iommu_groups",
    "sys/module",
    "proc/self",
    "proc/net",
    "dev/dri",
    "run/fake-systemd/alias",
    "etc/systemd/system",
    ".fake",
};

const char *fx_setup(void)
{
	char tmpl[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	size_t len;
	char *systemctl;

	if (root[0])
		fx_teardown();
	/* Found before anything is created, so a failure leaves no tree behind. */
	systemctl = find_systemctl(&len);
	if (!systemctl)
		fx_die("the fake systemctl %s is missing (make builds it; or set VH_FAKE_SYSTEMCTL)",
		       VH_FAKE_SYSTEMCTL_BIN);
	fk_fmt(tmpl, sizeof(tmpl), "%s/vh-fx.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl))
		fx_die("mkdtemp %s: %s", tmpl, strerror(errno));
	/* The canonical path, so links and paths the engine builds compare as strings. */
	if (!realpath(tmpl, root))
		fx_die("realpath %s: %s", tmpl, strerror(errno));
	for (size_t i = 0; i < sizeof(base_dirs) / sizeof(base_dirs[0]); i++)
		fx_mkdir(base_dirs[i]);
	fx_write("sys/bus/pci/drivers_probe", "");
	fx_write("sys/bus/pci/drivers_autoprobe", "1\n");
	fx_write("sys/bus/platform/drivers_probe", "");
	fx_write("dev/null", "");
	fx_write("proc/self/mounts",
		 "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n"
		 "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
		 "udev /dev devtmpfs rw,nosuid,relatime,mode=755 0 0\n"
		 "tmpfs /run tmpfs rw,nosuid,nodev,noexec,relatime,mode=755 0 0\n");
	fx_write("proc/self/mountinfo",
		 "22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
		 "23 1 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw\n"
		 "24 1 0:5 / /dev rw,nosuid,relatime shared:2 - devtmpfs udev rw,mode=755\n"
		 "26 1 0:24 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs "
		 "rw,mode=755\n");
	fx_link("proc/mounts", "self/mounts");
	fx_write("proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
	fx_write("proc/net/route", "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\t"
				   "Mask\t\tMTU\tWindow\tIRTT\n");
	fx_write("proc/net/ipv6_route", "");
	fx_write(".fake/writes", "0\n");
	install_systemctl(systemctl, len);
	free(systemctl);
	/* vfio-pci is known to modprobe but not loaded, as on a host that never used it. */
	fx_driver_avail("vfio-pci", "vfio_pci");
	if (root_set(root) < 0)
		fx_die("root_set failed");
	kernel_ops_set(&fake_kernel_ops);
	return root;
}

void fx_teardown(void)
{
	kernel_ops_set(NULL);
	root_set("/");
	if (!root[0])
		return;
	rm_abs(root);
	if (rmdir(root) < 0 && errno != ENOENT)
		fprintf(stderr, "fixture: rmdir %s: %s\n", root, strerror(errno));
	root[0] = '\0';
}

int fx_cmocka_setup(void **state)
{
	*state = (void *)fx_setup();
	return 0;
}

int fx_cmocka_teardown(void **state)
{
	fx_teardown();
	return 0;
}

/* --- Modules and drivers --- */

static void words(const char *list, void (*fn)(const char *w, void *data), void *data)
{
	char buf[1024], *save = NULL;

	if (!list)
		return;
	fk_fmt(buf, sizeof(buf), "%s", list);
	for (char *w = strtok_r(buf, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save))
		fn(w, data);
}

static void add_holder(const char *h, void *data)
{
	const char *mod = data;

	fx_link(fx_fmt("sys/module/%s/holders/%s", mod, h), fx_fmt("../../%s", h));
	fk_line_add(fx_fmt(".fake/uses/%s", h), mod);
	fx_write(fx_fmt(".fake/known/%s", h), "");
}

void fx_module(const char *mod, int pinned, const char *holders)
{
	if (!fx_exists(fx_fmt("sys/module/%s/initstate", mod)))
		fk_module_create(mod);
	fx_write(fx_fmt(".fake/known/%s", mod), "");
	fx_write(fx_fmt(".fake/pinned/%s", mod), fx_fmt("%d\n", pinned));
	words(holders, add_holder, (void *)mod);
	fk_refcnt_sync();
}

void fx_module_builtin(const char *mod)
{
	fx_mkdir(fx_fmt("sys/module/%s/parameters", mod));
	fx_write(fx_fmt("sys/module/%s/uevent", mod), "");
}

void fx_module_param(const char *mod, const char *name, const char *value)
{
	fx_write(fx_fmt("sys/module/%s/parameters/%s", mod, name), fx_fmt("%s\n", value));
	fx_write(fx_fmt(".fake/params/%s/%s", mod, name), fx_fmt("%s\n", value));
}

void fx_module_stuck(const char *mod)
{
	fx_write(fx_fmt(".fake/stuck/%s", mod), "");
}

void fx_driver_avail(const char *drv, const char *mod)
{
	fx_write(fx_fmt(".fake/drivers/%s", drv), fx_fmt("%s\n", mod ? mod : "-"));
	if (mod)
		fx_write(fx_fmt(".fake/known/%s", mod), "");
}

void fx_driver(const char *drv, const char *mod)
{
	fx_driver_avail(drv, mod);
	if (mod && !fx_exists(fx_fmt("sys/module/%s/initstate", mod)))
		fx_module(mod, 0, NULL);
	fk_driver_create(drv);
	fk_refcnt_sync();
}

void fx_driver_blocks_unbind(const char *drv)
{
	fx_write(fx_fmt(".fake/blocks/%s", drv), "");
}

void fx_native_driver(const char *bdf, const char *drv)
{
	fx_write(fx_fmt(".fake/native/%s", bdf), fx_fmt("%s\n", drv));
}

/* --- PCI devices --- */

static void put16(uint8_t *c, int off, unsigned v)
{
	c[off] = v & 0xff;
	c[off + 1] = (v >> 8) & 0xff;
}

/* Function 0 of a slot with other functions carries the multi-function bit in its header
 * type; lspci and the kernel scan by it. */
static void multifunction_fixup(unsigned dom, unsigned bus, unsigned dev)
{
	char fn0[PATH_MAX];
	uint8_t cfg[64];
	size_t len;
	char *old;
	int n = 0;

	LOCAL(fn0, "sys/devices/pci0000:00/%04x:%02x:%02x.0/config", dom, bus, dev);
	for (unsigned fn = 0; fn < 8; fn++)
		if (fx_exists(
			fx_fmt("sys/devices/pci0000:00/%04x:%02x:%02x.%u", dom, bus, dev, fn)))
			n++;
	old = fk_slurp(fn0, &len);
	if (!old)
		return;
	if (len == sizeof(cfg)) {
		memcpy(cfg, old, sizeof(cfg));
		cfg[0x0e] = (uint8_t)((cfg[0x0e] & 0x7f) | (n > 1 ? 0x80 : 0));
		fx_write_bin(fn0, cfg, sizeof(cfg));
	}
	free(old);
}

void fx_pci(const char *bdf, unsigned vendor, unsigned device, unsigned class, const char *driver,
	    int group, int boot_vga)
{
	unsigned dom, bus, dev, fn;
	bool bridge = (class >> 8) == 0x0604;
	char d[PATH_MAX], res[2048] = "";
	uint8_t cfg[64] = {0};

	if (sscanf(bdf, "%4x:%2x:%2x.%1u", &dom, &bus, &dev, &fn) != 4 || strlen(bdf) != 12)
		fx_die("bad PCI address %s", bdf);
	LOCAL(d, "sys/devices/pci0000:00/%s", bdf);
	fx_mkdir(d);
	fx_write(fx_fmt("%s/vendor", d), fx_fmt("0x%04x\n", vendor));
	fx_write(fx_fmt("%s/device", d), fx_fmt("0x%04x\n", device));
	fx_write(fx_fmt("%s/class", d), fx_fmt("0x%06x\n", class));
	fx_write(fx_fmt("%s/subsystem_vendor", d), fx_fmt("0x%04x\n", vendor));
	fx_write(fx_fmt("%s/subsystem_device", d), fx_fmt("0x%04x\n", device));
	fx_write(fx_fmt("%s/revision", d), "0xa1\n");
	fx_write(fx_fmt("%s/irq", d), fx_fmt("%u\n", 16 + (bus + dev + fn) % 16));
	fx_write(fx_fmt("%s/numa_node", d), "-1\n");
	fx_write(fx_fmt("%s/driver_override", d), "(null)\n");
	fx_write(fx_fmt("%s/reset_method", d), bridge ? "pm\n" : bus == 0 ? "flr\n" : "bus\n");
	fx_write(fx_fmt("%s/modalias", d),
		 fx_fmt("pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X\n", vendor, device, vendor,
			device, class >> 16, (class >> 8) & 0xff, class & 0xff));
	/* Six BARs, the ROM, six SR-IOV lines; bridges add their four windows. */
	for (int i = 0; i < (bridge ? 17 : 13); i++)
		strcat(res, "0x0000000000000000 0x0000000000000000 0x0000000000000000\n");
	fx_write(fx_fmt("%s/resource", d), res);
	put16(cfg, 0x00, vendor);
	put16(cfg, 0x02, device);
	put16(cfg, 0x04, 0x0007);
	cfg[0x08] = 0xa1;
	cfg[0x09] = class & 0xff;
	cfg[0x0a] = (class >> 8) & 0xff;
	cfg[0x0b] = (class >> 16) & 0xff;
	cfg[0x0e] = bridge ? 0x01 : 0x00;
	if (bridge) {
		cfg[0x18] = (uint8_t)bus;
		cfg[0x19] = (uint8_t)(bus + 1);
		cfg[0x1a] = (uint8_t)(bus + 1);
	} else {
		put16(cfg, 0x2c, vendor);
		put16(cfg, 0x2e, device);
	}
	cfg[0x3d] = 1;
	fx_write_bin(fx_fmt("%s/config", d), cfg, sizeof(cfg));
	if ((class >> 8) == 0x0300 && boot_vga >= 0)
		fx_write(fx_fmt("%s/boot_vga", d), fx_fmt("%d\n", boot_vga ? 1 : 0));
	fx_link(fx_fmt("sys/bus/pci/devices/%s", bdf),
		fx_fmt("../../../devices/pci0000:00/%s", bdf));
	if (group >= 0) {
		char g[PATH_MAX];

		LOCAL(g, "sys/kernel/iommu_groups/%d", group);
		if (!fx_exists(fx_fmt("%s/type", g)))
			fx_write(fx_fmt("%s/type", g), "DMA-FQ\n");
		fx_link(fx_fmt("%s/devices/%s", g, bdf),
			fx_fmt("../../../../devices/pci0000:00/%s", bdf));
		fx_link(fx_fmt("%s/iommu_group", d),
			fx_fmt("../../../kernel/iommu_groups/%d", group));
	}
	multifunction_fixup(dom, bus, dev);
	if (driver) {
		if (!fx_exists(fx_fmt("sys/bus/pci/drivers/%s", driver)))
			fx_die("fx_pci %s: driver %s not declared (fx_driver first)", bdf, driver);
		if (strcmp(driver, "vfio-pci") != 0 && strcmp(driver, "pci-stub") != 0)
			fx_native_driver(bdf, driver);
		fk_attach("pci", bdf, driver);
	}
	fk_refcnt_sync();
}

/* --- Consoles, framebuffers, DRM, sound, device nodes --- */

void fx_vtcon(int n, const char *name, int bind)
{
	char d[PATH_MAX];

	LOCAL(d, "sys/devices/virtual/vtconsole/vtcon%d", n);
	fx_write(fx_fmt("%s/name", d), fx_fmt("%s\n", name));
	fx_write(fx_fmt("%s/bind", d), fx_fmt("%d\n", bind ? 1 : 0));
	fx_write(fx_fmt("%s/uevent", d), "");
	fx_link(fx_fmt("sys/class/vtconsole/vtcon%d", n),
		fx_fmt("../../devices/virtual/vtconsole/vtcon%d", n));
	if (strstr(name, "frame buffer")) {
		fk_owned_add("fbcon", fx_fmt("sys/class/vtconsole/vtcon%d", n));
		fk_owned_add("fbcon", d);
	}
	fk_refcnt_sync();
}

void fx_vt_graphics(bool on)
{
	if (on)
		fx_write(".fake/vt-graphics", "");
	else
		fx_rm(".fake/vt-graphics");
}

void fx_platform_fb(const char *dev, const char *drv)
{
	char d[PATH_MAX], name[128], *dot;

	LOCAL(d, "sys/devices/platform/%s", dev);
	fk_fmt(name, sizeof(name), "%s", dev);
	dot = strrchr(name, '.');
	if (dot)
		*dot = '\0';
	fx_write(fx_fmt("%s/driver_override", d), "(null)\n");
	fx_write(fx_fmt("%s/modalias", d), fx_fmt("platform:%s\n", name));
	fx_link(fx_fmt("sys/bus/platform/devices/%s", dev),
		fx_fmt("../../../devices/platform/%s", dev));
	if (!drv)
		return;
	LOCAL(d, "sys/bus/platform/drivers/%s", drv);
	fx_write(fx_fmt("%s/bind", d), "");
	fx_write(fx_fmt("%s/unbind", d), "");
	fx_write(fx_fmt("%s/uevent", d), "");
	fx_native_driver(dev, drv);
	fk_attach("platform", dev, drv);
}

/* The sysfs directory of a PCI or platform device, relative to ROOT. */
static void owner_dir(char *buf, size_t n, const char *owner)
{
	if (fx_exists(fx_fmt("sys/bus/pci/devices/%s", owner)))
		fk_fmt(buf, n, "sys/devices/pci0000:00/%s", owner);
	else if (fx_exists(fx_fmt("sys/bus/platform/devices/%s", owner)))
		fk_fmt(buf, n, "sys/devices/platform/%s", owner);
	else
		fx_die("no device %s", owner);
}

/* A class device dir/name with dev, uevent and a device link (devlink), and
 * sys/class/<cls>/<name> pointing at it; both go while owner is off its driver. */
static void class_dev(const char *dir, const char *cls, const char *name, unsigned major,
		      unsigned minor, const char *devname, const char *devtype, const char *devlink,
		      const char *owner)
{
	char d[PATH_MAX], c[PATH_MAX], dn[PATH_MAX], dl[PATH_MAX];

	/* Arguments may sit in fx_fmt's rotating buffers: copy them before formatting more. */
	LOCAL(dn, "%s", devname);
	LOCAL(dl, "%s", devlink);
	LOCAL(d, "%s/%s", dir, name);
	LOCAL(c, "sys/class/%s/%s", cls, name);
	fx_write(fx_fmt("%s/dev", d), fx_fmt("%u:%u\n", major, minor));
	fx_write(fx_fmt("%s/uevent", d),
		 fx_fmt("MAJOR=%u\nMINOR=%u\nDEVNAME=%s\n%s%s%s", major, minor, dn,
			devtype ? "DEVTYPE=" : "", devtype ? devtype : "", devtype ? "\n" : ""));
	fx_link(fx_fmt("%s/device", d), dl);
	fx_link(c, fx_fmt("../../%s", d + strlen("sys/")));
	fk_owned_add(owner, c);
}

void fx_fb(int n, const char *owner, const char *name, const char *mod)
{
	char g[PATH_MAX], fb[32];

	owner_dir(g, sizeof(g), owner);
	strcat(g, "/graphics");
	LOCAL(fb, "fb%d", n);
	class_dev(g, "graphics", fb, 29, (unsigned)n, fb, NULL, fx_fmt("../../../%s", owner),
		  owner);
	fx_write(fx_fmt("%s/%s/name", g, fb), fx_fmt("%s\n", name));
	fk_owned_add(owner, g);
	fx_write(fx_fmt(".fake/fbmod/%s", fb), fx_fmt("%s\n", mod ? mod : "-"));
	fx_devnode(fx_fmt("dev/%s", fb), 'c', 29, (unsigned)n, mod, owner);
}

void fx_drm_card(int n, const char *bdf, const char *mod, const char *connectors)
{
	char drm[PATH_MAX], card[32], render[32], list[512], *save = NULL;
	const char *up;

	up = fx_fmt("../../../%s", bdf);
	LOCAL(drm, "sys/devices/pci0000:00/%s/drm", bdf);
	LOCAL(card, "card%d", n);
	LOCAL(render, "renderD%d", 128 + n);
	class_dev(drm, "drm", card, 226, (unsigned)n, fx_fmt("dri/%s", card), "drm_minor", up, bdf);
	up = fx_fmt("../../../%s", bdf);
	class_dev(drm, "drm", render, 226, 128 + (unsigned)n, fx_fmt("dri/%s", render), "drm_minor",
		  up, bdf);
	fk_owned_add(bdf, drm);
	LOCAL(list, "%s", connectors ? connectors : "");
	for (char *c = strtok_r(list, " ", &save); c; c = strtok_r(NULL, " ", &save)) {
		char *status = strchr(c, ':');
		char cd[PATH_MAX], cl[PATH_MAX];
		bool on;

		if (!status)
			fx_die("connector %s: want NAME:status", c);
		*status++ = '\0';
		on = strcmp(status, "connected") == 0;
		LOCAL(cd, "%s/%s/%s-%s", drm, card, card, c);
		LOCAL(cl, "sys/class/drm/%s-%s", card, c);
		fx_write(fx_fmt("%s/status", cd), fx_fmt("%s\n", status));
		fx_write(fx_fmt("%s/enabled", cd), on ? "enabled\n" : "disabled\n");
		fx_write(fx_fmt("%s/dpms", cd), on ? "On\n" : "Off\n");
		fx_link(cl, fx_fmt("../../%s", cd + strlen("sys/")));
		fk_owned_add(bdf, cl);
	}
	fx_devnode(fx_fmt("dev/dri/%s", card), 'c', 226, (unsigned)n, mod, bdf);
	fx_devnode(fx_fmt("dev/dri/%s", render), 'c', 226, 128 + (unsigned)n, mod, bdf);
}

void fx_sound(int n, const char *bdf)
{
	char snd[PATH_MAX], card[PATH_MAX], cl[PATH_MAX], ctl[32];

	LOCAL(snd, "sys/devices/pci0000:00/%s/sound", bdf);
	LOCAL(card, "%s/card%d", snd, n);
	LOCAL(cl, "sys/class/sound/card%d", n);
	LOCAL(ctl, "controlC%d", n);
	fx_write(fx_fmt("%s/number", card), fx_fmt("%d\n", n));
	fx_write(fx_fmt("%s/id", card), fx_fmt("HDMI%d\n", n));
	fx_link(fx_fmt("%s/device", card), fx_fmt("../../../%s", bdf));
	fx_link(cl, fx_fmt("../../%s", card + strlen("sys/")));
	fk_owned_add(bdf, cl);
	class_dev(card, "sound", ctl, 116, (unsigned)n * 32, fx_fmt("snd/%s", ctl), NULL,
		  fx_fmt("../../card%d", n), bdf);
	fk_owned_add(bdf, snd);
	fx_devnode(fx_fmt("dev/snd/%s", ctl), 'c', 116, (unsigned)n * 32, NULL, bdf);
}

void fx_devnode(const char *rel, char type, unsigned major, unsigned minor, const char *mod,
		const char *owner)
{
	while (*rel == '/')
		rel++;
	fx_write(rel, "");
	fk_line_add(".fake/devnodes",
		    fx_fmt("%s %c %u:%u %s", rel, type, major, minor, mod ? mod : "-"));
	if (owner)
		fk_owned_add(owner, rel);
	fk_refcnt_sync();
}

/* --- Processes and units --- */

void fx_proc(int pid, const char *comm, const char *unit, const char *const open_paths[])
{
	char p[PATH_MAX], cmdline[64];
	size_t len;
	int fd = 0;

	if (pid <= PID_MAX_LIMIT)
		fx_die("fake pid %d could be a real process (use > %d)", pid, PID_MAX_LIMIT);
	LOCAL(p, "proc/%d", pid);
	fx_write(fx_fmt("%s/comm", p), fx_fmt("%.15s\n", comm));
	len = (size_t)LOCAL(cmdline, "/usr/bin/%s", comm) + 1;
	fx_write_bin(fx_fmt("%s/cmdline", p), cmdline,
		     len < sizeof(cmdline) ? len : sizeof(cmdline));
	fx_write(fx_fmt("%s/cgroup", p), unit ? fx_fmt("0::/system.slice/%s\n", unit)
					      : "0::/user.slice/user-1000.slice/session-2.scope\n");
	fx_mkdir(fx_fmt("%s/fd", p));
	for (; fd < 3; fd++)
		fx_link(fx_fmt("%s/fd/%d", p, fd), fx_path("dev/null"));
	for (size_t i = 0; open_paths && open_paths[i]; i++, fd++)
		fx_link(fx_fmt("%s/fd/%d", p, fd), fx_path(open_paths[i]));
	if (unit)
		fk_line_add(fx_fmt("run/fake-systemd/%s.pids", unit), fx_fmt("%d", pid));
	fk_refcnt_sync();
}

void fx_proc_exit(int pid)
{
	fx_rm(fx_fmt("proc/%d", pid));
	fk_refcnt_sync();
}

void fx_unit(const char *unit, bool active)
{
	fx_write(fx_fmt("run/fake-systemd/%s", unit), active ? "active\n" : "inactive\n");
	if (fx_exists(fx_fmt("run/fake-systemd/%s.graphics", unit)))
		fx_vt_graphics(active);
}

void fx_unit_alias(const char *alias, const char *unit)
{
	fx_write(fx_fmt("run/fake-systemd/alias/%s", alias), fx_fmt("%s\n", unit));
	fx_link(fx_fmt("etc/systemd/system/%s", alias), fx_fmt("/lib/systemd/system/%s", unit));
}

void fx_unit_graphics(const char *unit)
{
	fx_write(fx_fmt("run/fake-systemd/%s.graphics", unit), "");
	if (strcmp(fx_cat(fx_fmt("run/fake-systemd/%s", unit)), "active") == 0)
		fx_vt_graphics(true);
}

void fx_unit_refuse_stop(const char *unit)
{
	fx_write(fx_fmt("run/fake-systemd/%s.refuse-stop", unit), "");
}

void fx_unit_refuse_start(const char *unit)
{
	fx_write(fx_fmt("run/fake-systemd/%s.refuse-start", unit), "");
}

const char *fx_unit_state(const char *unit)
{
	const char *alias = fx_fmt("run/fake-systemd/alias/%s", unit);
	const char *st;

	if (fx_exists(alias))
		unit = fx_cat(alias);
	st = fx_cat(fx_fmt("run/fake-systemd/%s", unit));
	return st[0] ? st : "inactive";
}

char *fx_systemctl_log(void)
{
	char *s = fk_slurp(".fake/systemctl.log", NULL);

	return s ? s : strdup("");
}

/* --- Storage and network --- */

static int mount_id = 30;

void fx_mount(const char *source, const char *target, const char *fstype, const char *majmin)
{
	fx_append("proc/self/mounts", fx_fmt("%s %s %s rw,relatime 0 0\n", source, target, fstype));
	fx_append("proc/self/mountinfo", fx_fmt("%d 1 %s / %s rw,relatime shared:1 - %s %s rw\n",
						mount_id++, majmin, target, fstype, source));
}

void fx_nvme(const char *bdf, int group, int ctrl, int part, const char *mountpoint)
{
	char dev[PATH_MAX], c[PATH_MAX], ns[PATH_MAX], pt[PATH_MAX], name[32], disk[32];
	char pname[32];
	unsigned base = (unsigned)ctrl * 16, pminor = base + (unsigned)part;

	if (!fx_exists("sys/bus/pci/drivers/nvme")) {
		fx_module("nvme_core", 0, "nvme");
		fx_driver("nvme", "nvme");
	}
	fx_pci(bdf, 0x144d, 0xa808, 0x010802, "nvme", group, -1);
	LOCAL(dev, "sys/devices/pci0000:00/%s", bdf);
	LOCAL(name, "nvme%d", ctrl);
	LOCAL(disk, "nvme%dn1", ctrl);
	LOCAL(pname, "nvme%dn1p%d", ctrl, part);
	LOCAL(c, "%s/nvme/%s", dev, name);
	LOCAL(ns, "%s/%s", c, disk);
	LOCAL(pt, "%s/%s", ns, pname);
	class_dev(fx_fmt("%s/nvme", dev), "nvme", name, 241, (unsigned)ctrl, name, NULL,
		  fx_fmt("../../../%s", bdf), bdf);
	fx_write(fx_fmt("%s/dev", ns), fx_fmt("259:%u\n", base));
	fx_write(fx_fmt("%s/size", ns), "1953525168\n");
	fx_write(fx_fmt("%s/uevent", ns),
		 fx_fmt("MAJOR=259\nMINOR=%u\nDEVNAME=%s\nDEVTYPE=disk\n", base, disk));
	fx_write(fx_fmt("%s/dev", pt), fx_fmt("259:%u\n", pminor));
	fx_write(fx_fmt("%s/partition", pt), fx_fmt("%d\n", part));
	fx_write(fx_fmt("%s/uevent", pt),
		 fx_fmt("MAJOR=259\nMINOR=%u\nDEVNAME=%s\nDEVTYPE=partition\n", pminor, pname));
	fx_link(fx_fmt("sys/class/block/%s", disk), fx_fmt("../../%s", ns + strlen("sys/")));
	fx_link(fx_fmt("sys/class/block/%s", pname), fx_fmt("../../%s", pt + strlen("sys/")));
	fx_link(fx_fmt("sys/block/%s", disk), fx_fmt("../%s", ns + strlen("sys/")));
	fk_owned_add(bdf, fx_fmt("%s/nvme", dev));
	fk_owned_add(bdf, fx_fmt("sys/class/block/%s", disk));
	fk_owned_add(bdf, fx_fmt("sys/class/block/%s", pname));
	fk_owned_add(bdf, fx_fmt("sys/block/%s", disk));
	fx_devnode(fx_fmt("dev/%s", name), 'c', 241, (unsigned)ctrl, NULL, bdf);
	fx_devnode(fx_fmt("dev/%s", disk), 'b', 259, base, NULL, bdf);
	fx_devnode(fx_fmt("dev/%s", pname), 'b', 259, pminor, NULL, bdf);
	if (mountpoint)
		fx_mount(fx_fmt("/dev/%s", pname), mountpoint, "ext4", fx_fmt("259:%u", pminor));
}

void fx_nic(const char *bdf, int group, const char *ifname, bool default_route)
{
	char n[PATH_MAX], cl[PATH_MAX];

	if (!fx_exists("sys/bus/pci/drivers/e1000e"))
		fx_driver("e1000e", "e1000e");
	fx_pci(bdf, 0x8086, 0x15b8, 0x020000, "e1000e", group, -1);
	LOCAL(n, "sys/devices/pci0000:00/%s/net/%s", bdf, ifname);
	LOCAL(cl, "sys/class/net/%s", ifname);
	fx_write(fx_fmt("%s/ifindex", n), "2\n");
	fx_write(fx_fmt("%s/operstate", n), "up\n");
	fx_write(fx_fmt("%s/carrier", n), "1\n");
	fx_write(fx_fmt("%s/address", n), "3c:7c:3f:12:34:56\n");
	fx_write(fx_fmt("%s/uevent", n), fx_fmt("INTERFACE=%s\nIFINDEX=2\n", ifname));
	fx_link(fx_fmt("%s/device", n), fx_fmt("../../../%s", bdf));
	fx_link(cl, fx_fmt("../../%s", n + strlen("sys/")));
	fk_owned_add(bdf, fx_fmt("sys/devices/pci0000:00/%s/net", bdf));
	fk_owned_add(bdf, cl);
	if (default_route) {
		fx_append("proc/net/route", fx_fmt("%s\t00000000\t0101A8C0\t0003\t0\t0\t100\t"
						   "00000000\t0\t0\t0\n",
						   ifname));
		fx_append("proc/net/route", fx_fmt("%s\t0001A8C0\t00000000\t0001\t0\t0\t100\t"
						   "00FFFFFF\t0\t0\t0\n",
						   ifname));
	}
}

/* --- Counters, failure injection, queries --- */

int fx_writes(void)
{
	return atoi(fx_cat(".fake/writes"));
}

void fx_fail_write_at(int n, int err)
{
	fx_write(".fake/fail-at", fx_fmt("%d %d\n", n, err));
}

void fx_fail_on(const char *pattern, int err)
{
	fx_append(".fake/fail-on", fx_fmt("%d %s\n", err, pattern));
}

void fx_fail_clear(void)
{
	fx_rm(".fake/fail-at");
	fx_rm(".fake/fail-on");
}

const char *fx_driver_of(const char *bdf)
{
	char t[PATH_MAX];
	const char *base;

	if (fx_readlink(fx_fmt("sys/bus/pci/devices/%s/driver", bdf), t, sizeof(t)) < 0)
		return "";
	base = strrchr(t, '/');
	return fx_fmt("%s", base ? base + 1 : t);
}

int fx_refcnt(const char *mod)
{
	if (!fx_exists(fx_fmt("sys/module/%s/initstate", mod)))
		return -1;
	return atoi(fx_cat(fx_fmt("sys/module/%s/refcnt", mod)));
}

const char *fx_module_options(const char *mod)
{
	const char *p = fx_fmt(".fake/options/%s", mod);

	return fx_exists(p) ? fx_cat(p) : NULL;
}

void fx_sync(void)
{
	fk_sync();
}

/* --- Snapshots --- */

struct lines {
	char **v;
	size_t n, cap;
};

static void lines_add(struct lines *l, char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			fx_die("out of memory");
	}
	l->v[l->n++] = s;
}

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Text stays readable in diffs; anything else (config space) is hex. */
static char *encode(const unsigned char *s, size_t n)
{
	bool text = true;
	char *out, *o;

	for (size_t i = 0; i < n && text; i++)
		text = (s[i] >= 0x20 && s[i] < 0x7f) || s[i] == '\n' || s[i] == '\t';
	out = malloc(n * 2 + 8);
	if (!out)
		fx_die("out of memory");
	o = out;
	if (!text) {
		o += sprintf(o, "hex:");
		for (size_t i = 0; i < n; i++)
			o += sprintf(o, "%02x", s[i]);
		return out;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' || s[i] == '\t' || s[i] == '\\') {
			*o++ = '\\';
			*o++ = s[i] == '\n' ? 'n' : s[i] == '\t' ? 't' : '\\';
		} else {
			*o++ = (char)s[i];
		}
	}
	*o = '\0';
	return out;
}

static char *line_of(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *line_of(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		fx_die("out of memory");
	va_end(ap);
	return s;
}

static void walk(const char *rel, struct lines *out)
{
	char dir[PATH_MAX];
	struct dirent *e;
	DIR *d;

	absp(dir, rel);
	d = opendir(dir);
	if (!d)
		fx_die("opendir %s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		char crel[PATH_MAX], abs[PATH_MAX], target[PATH_MAX];
		struct stat st;
		ssize_t len;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		fk_fmt(crel, sizeof(crel), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
		if (!strcmp(crel, ".fake") || !strcmp(crel, "run/vfio-handoff"))
			continue;
		absp(abs, crel);
		if (lstat(abs, &st) < 0)
			fx_die("lstat %s: %s", abs, strerror(errno));
		if (S_ISLNK(st.st_mode)) {
			size_t rl = strlen(root);

			len = readlink(abs, target, sizeof(target) - 1);
			if (len < 0)
				fx_die("readlink %s: %s", abs, strerror(errno));
			target[len] = '\0';
			if (strncmp(target, root, rl) == 0 && (target[rl] == '/' || !target[rl]))
				lines_add(out, line_of("l %s -> $ROOT%s", crel, target + rl));
			else
				lines_add(out, line_of("l %s -> %s", crel, target));
		} else if (S_ISDIR(st.st_mode)) {
			lines_add(out, line_of("d %s", crel));
			walk(crel, out);
		} else {
			size_t n;
			char *content = read_abs(abs, &n);
			char *enc;

			if (!content)
				fx_die("read %s: %s", abs, strerror(errno));
			enc = encode((unsigned char *)content, n);
			lines_add(out, line_of("f %s %s", crel, enc));
			free(enc);
			free(content);
		}
	}
	closedir(d);
}

char *fx_snapshot(void)
{
	struct lines l = {0};
	size_t total = 1;
	char *s, *o;

	walk("", &l);
	qsort(l.v, l.n, sizeof(*l.v), cmp_str);
	for (size_t i = 0; i < l.n; i++)
		total += strlen(l.v[i]) + 1;
	s = o = malloc(total);
	if (!s)
		fx_die("out of memory");
	for (size_t i = 0; i < l.n; i++)
		o += sprintf(o, "%s\n", l.v[i]);
	*o = '\0';
	lines_free(&l);
	return s;
}

static void split(const char *s, struct lines *out)
{
	const char *nl;

	for (; *s; s = nl + 1) {
		nl = strchr(s, '\n');
		if (!nl)
			nl = s + strlen(s);
		lines_add(out, strndup(s, (size_t)(nl - s)));
		if (!*nl)
			break;
	}
	qsort(out->v, out->n, sizeof(*out->v), cmp_str);
}

int fx_snapshot_diff(const char *a, const char *b)
{
	struct lines x = {0}, y = {0};
	size_t i = 0, j = 0;
	int n = 0;

	split(a, &x);
	split(b, &y);
	while (i < x.n || j < y.n) {
		int c = i == x.n ? 1 : j == y.n ? -1 : strcmp(x.v[i], y.v[j]);

		if (c == 0) {
			i++;
			j++;
		} else if (c < 0) {
			fprintf(stderr, "- %s\n", x.v[i++]);
			n++;
		} else {
			fprintf(stderr, "+ %s\n", y.v[j++]);
			n++;
		}
	}
	lines_free(&x);
	lines_free(&y);
	return n;
}
