/* The fake kernel behind kernel_ops: driver_override, bind, unbind, drivers_probe, vtcon
 * bind and module load/remove change the fixture tree the way Linux changes /sys. State
 * lives in the tree and ROOT/.fake only, so forked children share it. */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/root.h"
#include "fakekernel.h"
#include "fixture.h"

#define LOCAL(buf, ...) fk_fmt((buf), sizeof(buf), __VA_ARGS__)
#define NAME_MAX_LEN 128

/* --- Small helpers over the tree --- */

bool fk_line_has(const char *rel, const char *line)
{
	char *s = fk_slurp(rel, NULL), *save = NULL;
	bool hit = false;

	if (!s)
		return false;
	for (char *l = strtok_r(s, "\n", &save); l && !hit; l = strtok_r(NULL, "\n", &save))
		hit = strcmp(l, line) == 0;
	free(s);
	return hit;
}

void fk_line_add(const char *rel, const char *line)
{
	char r[PATH_MAX], l[PATH_MAX];

	LOCAL(r, "%s", rel);
	LOCAL(l, "%s\n", line);
	if (!fk_line_has(r, line))
		fx_append(r, l);
}

/* Calls fn for each line of the list file rel. */
static void each_line(const char *rel, void (*fn)(const char *line, void *data), void *data)
{
	char *s = fk_slurp(rel, NULL), *save = NULL;

	if (!s)
		return;
	for (char *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		fn(l, data);
	free(s);
}

/* Calls fn for each entry name of directory rel (none when it does not exist). */
static void each_entry(const char *rel, void (*fn)(const char *name, void *data), void *data)
{
	struct dirent *e;
	char names[256][NAME_MAX_LEN];
	size_t n = 0;
	DIR *d;

	d = opendir(fx_path(rel));
	if (!d)
		return;
	/* Collect first: fn may change the directory. */
	while ((e = readdir(d)) && n < 256)
		if (e->d_name[0] != '.')
			LOCAL(names[n++], "%s", e->d_name);
	closedir(d);
	for (size_t i = 0; i < n; i++)
		fn(names[i], data);
}

static int count_entries(const char *rel)
{
	struct dirent *e;
	int n = 0;
	DIR *d;

	d = opendir(fx_path(rel));
	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static bool module_loaded(const char *mod)
{
	return fx_exists(fx_fmt("sys/module/%s/initstate", mod));
}

/* The module providing driver drv ("" for builtin or unknown). */
static void driver_module(const char *drv, char *buf, size_t n)
{
	fk_fmt(buf, n, "%s", fx_cat(fx_fmt(".fake/drivers/%s", drv)));
	if (!strcmp(buf, "-"))
		buf[0] = '\0';
}

static void native_of(const char *dev, char *buf, size_t n)
{
	fk_fmt(buf, n, "%s", fx_cat(fx_fmt(".fake/native/%s", dev)));
}

static void bound_driver(const char *bus, const char *dev, char *buf, size_t n)
{
	char t[PATH_MAX];
	const char *base;

	buf[0] = '\0';
	if (fx_readlink(fx_fmt("sys/bus/%s/devices/%s/driver", bus, dev), t, sizeof(t)) < 0)
		return;
	base = strrchr(t, '/');
	fk_fmt(buf, n, "%s", base ? base + 1 : t);
}

/* driver_override, "" when unset. */
static void override_of(const char *bus, const char *dev, char *buf, size_t n)
{
	fk_fmt(buf, n, "%s", fx_cat(fx_fmt("sys/bus/%s/devices/%s/driver_override", bus, dev)));
	if (!strcmp(buf, "(null)"))
		buf[0] = '\0';
}

/* The device directory relative to ROOT ("sys/devices/pci0000:00/<bdf>"). */
static const char *dev_dir(const char *bus)
{
	return !strcmp(bus, "pci") ? "sys/devices/pci0000:00" : "sys/devices/platform";
}

static bool valid_name(const char *s)
{
	return *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..") &&
	       strlen(s) < NAME_MAX_LEN;
}

/* --- What a driver creates for a device --- */

void fk_owned_add(const char *owner, const char *rel)
{
	while (*rel == '/')
		rel++;
	fk_line_add(fx_fmt(".fake/owned/%s", owner), rel);
}

static void park_one(const char *rel, void *owner)
{
	if (fx_exists(rel))
		fx_move(rel, fx_fmt(".fake/parked/%s/%s", (const char *)owner, rel));
}

static void restore_one(const char *rel, void *owner)
{
	const char *p = fx_fmt(".fake/parked/%s/%s", (const char *)owner, rel);

	if (fx_exists(p) && !fx_exists(rel))
		fx_move(p, rel);
}

static void park(const char *owner)
{
	each_line(fx_fmt(".fake/owned/%s", owner), park_one, (void *)owner);
}

static void restore(const char *owner)
{
	each_line(fx_fmt(".fake/owned/%s", owner), restore_one, (void *)owner);
}

static bool parked_any(const char *owner)
{
	return count_entries(fx_fmt(".fake/parked/%s", owner)) > 0;
}

/* --- Devices and drivers --- */

static int group_of(const char *bdf)
{
	char t[PATH_MAX];
	const char *base;

	if (fx_readlink(fx_fmt("sys/bus/pci/devices/%s/iommu_group", bdf), t, sizeof(t)) < 0)
		return -1;
	base = strrchr(t, '/');
	return atoi(base ? base + 1 : t);
}

struct vfio_scan {
	int group;
	bool any;
};

static void vfio_member(const char *bdf, void *data)
{
	struct vfio_scan *v = data;
	char drv[NAME_MAX_LEN];

	bound_driver("pci", bdf, drv, sizeof(drv));
	v->any |= !strcmp(drv, "vfio-pci");
}

void fk_attach(const char *bus, const char *dev, const char *drv)
{
	char native[NAME_MAX_LEN];

	fx_link(fx_fmt("%s/%s/driver", dev_dir(bus), dev),
		fx_fmt("../../../bus/%s/drivers/%s", bus, drv));
	fx_link(fx_fmt("sys/bus/%s/drivers/%s/%s", bus, drv, dev),
		fx_fmt("../../../../%s/%s", dev_dir(bus) + strlen("sys/"), dev));
	native_of(dev, native, sizeof(native));
	/* The native driver removes the firmware framebuffer before it registers its own. */
	if (!strcmp(bus, "pci") && !strcmp(drv, native))
		fk_aperture_takeover(dev);
	if (!strcmp(drv, native))
		restore(dev);
	/* The vfio group node appears with the group's first vfio-pci device. */
	if (!strcmp(bus, "pci") && !strcmp(drv, "vfio-pci") && group_of(dev) >= 0) {
		const char *node = fx_fmt("dev/vfio/%d", group_of(dev));

		if (!fx_exists(node))
			fx_write(node, "");
	}
}

static void detach(const char *bus, const char *dev, const char *drv)
{
	char native[NAME_MAX_LEN];

	fx_rm(fx_fmt("%s/%s/driver", dev_dir(bus), dev));
	fx_rm(fx_fmt("sys/bus/%s/drivers/%s/%s", bus, drv, dev));
	native_of(dev, native, sizeof(native));
	if (!strcmp(drv, native))
		park(dev);
	if (!strcmp(bus, "pci") && !strcmp(drv, "vfio-pci") && group_of(dev) >= 0) {
		struct vfio_scan v = {group_of(dev), false};

		each_entry(fx_fmt("sys/kernel/iommu_groups/%d/devices", v.group), vfio_member, &v);
		if (!v.any)
			fx_rm(fx_fmt("dev/vfio/%d", v.group));
	}
}

void fk_driver_create(const char *drv)
{
	char d[PATH_MAX], mod[NAME_MAX_LEN];

	LOCAL(d, "sys/bus/pci/drivers/%s", drv);
	fx_write(fx_fmt("%s/bind", d), "");
	fx_write(fx_fmt("%s/unbind", d), "");
	fx_write(fx_fmt("%s/new_id", d), "");
	fx_write(fx_fmt("%s/remove_id", d), "");
	fx_write(fx_fmt("%s/uevent", d), "");
	driver_module(drv, mod, sizeof(mod));
	if (mod[0])
		fx_link(fx_fmt("%s/module", d), fx_fmt("../../../../module/%s", mod));
}

void fk_module_create(const char *mod)
{
	fx_write(fx_fmt("sys/module/%s/initstate", mod), "live\n");
	fx_write(fx_fmt("sys/module/%s/refcnt", mod), "0\n");
	fx_mkdir(fx_fmt("sys/module/%s/holders", mod));
}

/* Device nodes and the module an open file on each references (.fake/devnodes). */
struct devnode {
	char rel[PATH_MAX];
	char mod[NAME_MAX_LEN];
};

/* Open files on device nodes per module, over every fake process. */
struct opens {
	struct devnode nodes[128];
	size_t n_nodes;
	char mods[128][NAME_MAX_LEN];
	int count[128];
	size_t n;
	char pid[32]; /* the process being scanned */
};

static void node_parse(const char *line, void *data)
{
	struct opens *o = data;
	char rel[PATH_MAX], type[4], mm[32], mod[NAME_MAX_LEN];

	if (o->n_nodes == sizeof(o->nodes) / sizeof(o->nodes[0]))
		fx_die("too many device nodes");
	if (sscanf(line, "%4095s %3s %31s %127s", rel, type, mm, mod) != 4)
		fx_die("bad .fake/devnodes line: %s", line);
	LOCAL(o->nodes[o->n_nodes].rel, "%s", rel);
	LOCAL(o->nodes[o->n_nodes].mod, "%s", strcmp(mod, "-") ? mod : "");
	o->n_nodes++;
}

static void count_module(struct opens *o, const char *mod)
{
	size_t j;

	for (j = 0; j < o->n && strcmp(o->mods[j], mod); j++)
		;
	if (j == o->n) {
		if (o->n == sizeof(o->mods) / sizeof(o->mods[0]))
			fx_die("too many modules with open nodes");
		LOCAL(o->mods[o->n], "%s", mod);
		o->count[o->n++] = 0;
	}
	o->count[j]++;
}

static void open_fd(const char *fd, void *data)
{
	struct opens *o = data;
	size_t rl = strlen(fx_root());
	char t[PATH_MAX];

	if (fx_readlink(fx_fmt("proc/%s/fd/%s", o->pid, fd), t, sizeof(t)) < 0)
		return;
	/* A node parked while its device is unbound still counts: the open file keeps its
	 * module reference, as a deleted node does. */
	if (strncmp(t, fx_root(), rl) != 0 || t[rl] != '/')
		return;
	for (size_t i = 0; i < o->n_nodes; i++)
		if (o->nodes[i].mod[0] && !strcmp(o->nodes[i].rel, t + rl + 1))
			count_module(o, o->nodes[i].mod);
}

static void open_proc(const char *pid, void *data)
{
	struct opens *o = data;

	if (strspn(pid, "0123456789") != strlen(pid))
		return;
	LOCAL(o->pid, "%s", pid);
	each_entry(fx_fmt("proc/%s/fd", pid), open_fd, o);
}

static struct opens *opens_scan(void)
{
	static struct opens o;

	memset(&o, 0, sizeof(o));
	each_line(".fake/devnodes", node_parse, &o);
	each_entry("proc", open_proc, &o);
	return &o;
}

static int opens_get(const struct opens *o, const char *mod)
{
	for (size_t j = 0; j < o->n; j++)
		if (!strcmp(o->mods[j], mod))
			return o->count[j];
	return 0;
}

/* --- Consoles --- */

struct vtcons {
	char fb[32];	 /* "vtconN" of the frame buffer console, "" if none */
	char sys[8][32]; /* system consoles "(S)" */
	size_t n_sys;
};

static void vtcon_one(const char *name, void *data)
{
	struct vtcons *v = data;
	const char *desc = fx_cat(fx_fmt("sys/class/vtconsole/%s/name", name));

	if (strstr(desc, "frame buffer"))
		LOCAL(v->fb, "%s", name);
	else if (!strncmp(desc, "(S)", 3) && v->n_sys < 8)
		LOCAL(v->sys[v->n_sys++], "%s", name);
}

static void vtcons_read(struct vtcons *v)
{
	memset(v, 0, sizeof(*v));
	each_entry("sys/class/vtconsole", vtcon_one, v);
}

/* The system console draws wherever the frame buffer console does not. */
static void system_consoles_follow(const struct vtcons *v, bool fb_bound)
{
	for (size_t i = 0; i < v->n_sys; i++)
		fx_write(fx_fmt("sys/class/vtconsole/%s/bind", v->sys[i]),
			 fb_bound ? "0\n" : "1\n");
}

struct fbs {
	int n, lowest;
};

static void fb_one(const char *name, void *data)
{
	struct fbs *f = data;
	int idx;

	if (sscanf(name, "fb%d", &idx) != 1)
		return;
	if (!f->n || idx < f->lowest)
		f->lowest = idx;
	f->n++;
}

/* fbcon unregisters when the last framebuffer goes and takes the consoles over again when
 * one is registered. */
static void sync_fbcon(void)
{
	struct vtcons v;
	struct fbs f = {0, 0};

	each_entry("sys/class/graphics", fb_one, &f);
	vtcons_read(&v);
	if (!f.n && v.fb[0]) {
		park("fbcon");
		system_consoles_follow(&v, false);
	} else if (f.n && !v.fb[0] && parked_any("fbcon")) {
		restore("fbcon");
		vtcons_read(&v);
		if (v.fb[0])
			fx_write(fx_fmt("sys/class/vtconsole/%s/bind", v.fb), "1\n");
		system_consoles_follow(&v, true);
	}
}

/* The module fbcon holds a reference on: that of the framebuffer it draws on. */
static void fbcon_module(char *buf, size_t n)
{
	struct vtcons v;
	struct fbs f = {0, 0};

	buf[0] = '\0';
	vtcons_read(&v);
	if (!v.fb[0] || strcmp(fx_cat(fx_fmt("sys/class/vtconsole/%s/bind", v.fb)), "1"))
		return;
	each_entry("sys/class/graphics", fb_one, &f);
	if (!f.n)
		return;
	fk_fmt(buf, n, "%s", fx_cat(fx_fmt(".fake/fbmod/fb%d", f.lowest)));
	if (!strcmp(buf, "-"))
		buf[0] = '\0';
}

/* --- Derived state --- */

struct refs {
	const struct opens *opens;
	char fbcon[NAME_MAX_LEN];
};

static void refcnt_one(const char *mod, void *data)
{
	struct refs *r = data;
	int base;

	if (!module_loaded(mod))
		return;
	base = atoi(fx_cat(fx_fmt(".fake/pinned/%s", mod))) +
	       count_entries(fx_fmt("sys/module/%s/holders", mod)) + !strcmp(r->fbcon, mod) +
	       fk_component_refs(mod);
	/* The fake systemctl adds the open files to this again after it moved processes. */
	fx_write(fx_fmt(".fake/refbase/%s", mod), fx_fmt("%d\n", base));
	fx_write(fx_fmt("sys/module/%s/refcnt", mod),
		 fx_fmt("%d\n", base + opens_get(r->opens, mod)));
}

void fk_refcnt_sync(void)
{
	struct refs r;

	fk_component_sync();
	r.opens = opens_scan();
	fbcon_module(r.fbcon, sizeof(r.fbcon));
	each_entry("sys/module", refcnt_one, &r);
}

void fk_sync(void)
{
	sync_fbcon();
	fk_refcnt_sync();
}

/* --- Counting and failure injection --- */

struct fail_scan {
	const char *desc;
	int err;
};

static void fail_line(const char *line, void *data)
{
	struct fail_scan *f = data;
	char pattern[PATH_MAX];
	int err;

	if (f->err || sscanf(line, "%d %4095[^\n]", &err, pattern) != 2)
		return;
	if (fnmatch(pattern, f->desc, 0) == 0)
		f->err = err;
}

/* Counts one kernel op; returns the injected failure for it, or 0. */
static int op_begin(const char *what)
{
	int n = fx_writes() + 1, at, err;
	char desc[PATH_MAX];
	struct fail_scan f = {desc, 0};

	LOCAL(desc, "%s", what);
	fx_write(".fake/writes", fx_fmt("%d\n", n));
	if (sscanf(fx_cat(".fake/fail-at"), "%d %d", &at, &err) == 2 && at == n)
		return -abs(err);
	each_line(".fake/fail-on", fail_line, &f);
	return -abs(f.err);
}

/* --- write_attr --- */

static bool matches(const char *bus, const char *dev, const char *drv)
{
	char ov[NAME_MAX_LEN], native[NAME_MAX_LEN];

	override_of(bus, dev, ov, sizeof(ov));
	if (ov[0])
		return !strcmp(ov, drv);
	native_of(dev, native, sizeof(native));
	return !strcmp(native, drv);
}

/* --- device_lock and a remove() that blocks --- */

struct group_scan {
	char node[PATH_MAX]; /* "dev/vfio/N" */
	char pid[32];
	bool held;
};

static void group_fd(const char *fd, void *data)
{
	struct group_scan *g = data;
	size_t rl = strlen(fx_root());
	char t[PATH_MAX];

	if (fx_readlink(fx_fmt("proc/%s/fd/%s", g->pid, fd), t, sizeof(t)) < 0)
		return;
	if (!strncmp(t, fx_root(), rl) && t[rl] == '/' && !strcmp(t + rl + 1, g->node))
		g->held = true;
}

static void group_proc(const char *pid, void *data)
{
	struct group_scan *g = data;

	if (g->held || strspn(pid, "0123456789") != strlen(pid))
		return;
	LOCAL(g->pid, "%s", pid);
	each_entry(fx_fmt("proc/%s/fd", pid), group_fd, g);
}

/* Whether drv's remove() of dev waits now: the driver blocks (fx_driver_blocks_unbind)
 * while a process holds a node of its module or, for vfio-pci, the device's group node. */
static bool remove_waits(const char *bus, const char *dev, const char *drv)
{
	char mod[NAME_MAX_LEN];

	if (!fx_exists(fx_fmt(".fake/blocks/%s", drv)))
		return false;
	driver_module(drv, mod, sizeof(mod));
	if (mod[0] && opens_get(opens_scan(), mod) > 0)
		return true;
	if (!strcmp(bus, "pci") && !strcmp(drv, "vfio-pci") && group_of(dev) >= 0) {
		struct group_scan g = {.held = false};

		LOCAL(g.node, "dev/vfio/%d", group_of(dev));
		each_entry("proc", group_proc, &g);
		return g.held;
	}
	return false;
}

/* A remove in progress keeps the device's lock: .fake/pending/<dev> says "<bus> <drv>".
 * It lives in the tree, so it outlasts the process that started it (a task in D state
 * does not die of SIGKILL); it completes as soon as the driver stops waiting. Returns
 * true while it still waits. */
static bool pending_waits(const char *dev)
{
	char bus[16], drv[NAME_MAX_LEN], rel[PATH_MAX];

	/* A copy: fx_fmt's buffers rotate under the calls below. */
	LOCAL(rel, ".fake/pending/%s", dev);
	if (!fx_exists(rel))
		return false;
	if (sscanf(fx_cat(rel), "%15s %127s", bus, drv) != 2)
		fx_die("bad %s", rel);
	if (remove_waits(bus, dev, drv))
		return true;
	fx_rm(rel);
	detach(bus, dev, drv);
	fk_sync();
	return false;
}

static void settle_one(const char *dev, void *data)
{
	pending_waits(dev);
}

void fk_settle(void)
{
	each_entry(".fake/pending", settle_one, NULL);
}

/* Takes dev's lock: waits, as the kernel's device_lock() does, for a pending remove to
 * finish. Only the deadline child calling us gives up (it is killed). */
static void device_lock(const char *dev)
{
	const struct timespec tick = {0, 2 * 1000 * 1000};

	while (valid_name(dev) && pending_waits(dev))
		nanosleep(&tick, NULL);
}

static int do_unbind(const char *bus, const char *drv, const char *dev)
{
	char cur[NAME_MAX_LEN];

	if (!valid_name(dev) || !fx_exists(fx_fmt("sys/bus/%s/devices/%s", bus, dev)))
		return -ENODEV;
	device_lock(dev);
	bound_driver(bus, dev, cur, sizeof(cur));
	if (strcmp(cur, drv))
		return -ENODEV;
	if (remove_waits(bus, dev, drv)) {
		char rel[PATH_MAX];

		/* remove() blocks with the lock held until the holder lets go. */
		LOCAL(rel, ".fake/pending/%s", dev);
		fx_write(rel, fx_fmt("%s %s\n", bus, drv));
		device_lock(dev);
		return 0;
	}
	detach(bus, dev, drv);
	return 0;
}

static int do_bind(const char *bus, const char *drv, const char *dev)
{
	char cur[NAME_MAX_LEN];

	if (!valid_name(dev) || !fx_exists(fx_fmt("sys/bus/%s/devices/%s", bus, dev)))
		return -ENODEV;
	device_lock(dev);
	if (!matches(bus, dev, drv))
		return -ENODEV;
	bound_driver(bus, dev, cur, sizeof(cur));
	if (cur[0])
		return -EBUSY;
	fk_attach(bus, dev, drv);
	return 0;
}

/* Binds an unbound device to the driver that matches it, if that one is loaded. */
static void probe_dev(const char *bus, const char *dev)
{
	char cur[NAME_MAX_LEN], want[NAME_MAX_LEN];

	bound_driver(bus, dev, cur, sizeof(cur));
	if (cur[0])
		return;
	override_of(bus, dev, want, sizeof(want));
	if (!want[0])
		native_of(dev, want, sizeof(want));
	if (want[0] && fx_exists(fx_fmt("sys/bus/%s/drivers/%s", bus, want)))
		fk_attach(bus, dev, want);
}

static int do_probe(const char *bus, const char *dev)
{
	if (!valid_name(dev) || !fx_exists(fx_fmt("sys/bus/%s/devices/%s", bus, dev)))
		return -ENODEV;
	device_lock(dev);
	probe_dev(bus, dev);
	return 0;
}

static int do_vtcon_bind(const char *vtcon, const char *val)
{
	struct vtcons v;
	bool bind = strtol(val, NULL, 0) != 0;

	if (!fx_exists(fx_fmt("sys/class/vtconsole/%s", vtcon)))
		return -ENOENT;
	vtcons_read(&v);
	/* The kernel's store() always reports success; nothing moves for the system
	 * console or while a VT is in graphics mode. And as measured on Linux 6.1, a 1 does
	 * not bring fbcon back either: only a framebuffer registering, or a console mapped
	 * to one (fbcon_takeover), does. */
	if (strcmp(v.fb, vtcon) || fx_exists(".fake/vt-graphics") || bind)
		return 0;
	fx_write(fx_fmt("sys/class/vtconsole/%s/bind", vtcon), bind ? "1\n" : "0\n");
	system_consoles_follow(&v, bind);
	return 0;
}

/* The device of ".../<dev>/driver_override" (rotating buffer). */
static const char *override_dev(const char *rel)
{
	static char buf[4][NAME_MAX_LEN];
	static int k;
	const char *end = strrchr(rel, '/'), *start = end;
	char *b = buf[k++ % 4];

	while (start > rel && start[-1] != '/')
		start--;
	fk_fmt(b, NAME_MAX_LEN, "%.*s", (int)(end - start), start);
	return b;
}

/* Path relative to ROOT, or NULL when path is not under it. */
static const char *under_root(const char *path)
{
	size_t rl = strlen(fx_root());

	if (!fx_root()[0] || strncmp(path, fx_root(), rl) != 0 || path[rl] != '/')
		return NULL;
	return path + rl + 1;
}

static int dispatch(const char *rel, const char *val)
{
	char bus[16], drv[NAME_MAX_LEN], attr[32], vtcon[32];
	int end = 0;

	if (sscanf(rel, "sys/bus/%15[a-z]/drivers/%127[^/]/%31[^/]%n", bus, drv, attr, &end) == 3 &&
	    !rel[end] && (!strcmp(bus, "pci") || !strcmp(bus, "platform"))) {
		if (!fx_exists(fx_fmt("sys/bus/%s/drivers/%s/%s", bus, drv, attr)))
			return -ENOENT;
		if (!strcmp(attr, "unbind"))
			return do_unbind(bus, drv, val);
		if (!strcmp(attr, "bind"))
			return do_bind(bus, drv, val);
		if (!strcmp(attr, "new_id") || !strcmp(attr, "remove_id"))
			return -EOPNOTSUPP;
		return -EACCES;
	}
	if (!strcmp(rel, "sys/bus/pci/drivers_probe"))
		return do_probe("pci", val);
	if (!strcmp(rel, "sys/bus/platform/drivers_probe"))
		return do_probe("platform", val);
	if (sscanf(rel, "sys/devices/virtual/vtconsole/%31[^/]/bind%n", vtcon, &end) == 1 &&
	    !rel[end])
		return do_vtcon_bind(vtcon, val);
	if (!strncmp(rel, "sys/devices/", 12) && strlen(rel) > 16 &&
	    !strcmp(rel + strlen(rel) - 16, "/driver_override")) {
		if (!fx_exists(rel))
			return -ENOENT;
		device_lock(override_dev(rel));
		fx_write(rel, fx_fmt("%s\n", val[0] ? val : "(null)"));
		return 0;
	}
	return fx_exists(rel) ? -EACCES : -ENOENT;
}

/* The attribute the kernel sees (rooted path): its directory with links resolved, as a
 * path relative to the fixture root, into rel; its file name into *ret_base. */
static int attr_rel(const char *path, char *rel, size_t n, const char **ret_base)
{
	char dir[PATH_MAX], real[PATH_MAX];
	const char *canon, *base = strrchr(path, '/');

	if (!base)
		return -EINVAL;
	LOCAL(dir, "%.*s", (int)(base - path), path);
	if (!realpath(dir, real))
		return -errno;
	canon = under_root(real);
	if (!canon)
		return -EPERM;
	fk_fmt(rel, n, "%s/%s", canon, base + 1);
	*ret_base = base + 1;
	return 0;
}

/* Never anything outside a fixture tree, whatever the caller asks. */
static const char *inside_fixture(const char *path)
{
	const char *given = under_root(path);

	if (root_is_real() || !given || !strncmp(given, "../", 3) || strstr(given, "/../"))
		return NULL;
	return given;
}

static int fake_write_attr(const char *path, const char *val)
{
	char v[PATH_MAX], rel[PATH_MAX];
	const char *given = inside_fixture(path), *base;
	size_t len;
	int r;

	if (!given)
		return -EPERM;
	LOCAL(v, "%s", val);
	len = strlen(v);
	if (len && v[len - 1] == '\n')
		v[--len] = '\0';
	r = op_begin(fx_fmt("%s=%s", given, v));
	if (r < 0)
		return r;
	r = attr_rel(path, rel, sizeof(rel), &base);
	if (r < 0)
		return r;
	r = dispatch(rel, v);
	if (r == 0)
		fk_sync();
	return r;
}

/* driver_override's show() takes device_lock too. Reads are not counted as kernel ops. */
static int fake_read_attr(const char *path, char *buf, size_t n)
{
	char rel[PATH_MAX];
	const char *base;
	char *s;
	int r;

	if (!inside_fixture(path))
		return -EPERM;
	r = attr_rel(path, rel, sizeof(rel), &base);
	if (r < 0)
		return r;
	if (!fx_exists(rel))
		return -ENOENT;
	if (!strcmp(base, "driver_override"))
		device_lock(override_dev(rel));
	s = fk_slurp(rel, NULL);
	if (!s)
		return -EIO;
	fk_fmt(buf, n, "%s", s);
	free(s);
	return 0;
}

/* --- Modules --- */

static void normalize(const char *name, char *buf, size_t n)
{
	size_t i;

	for (i = 0; name[i] && i < n - 1; i++)
		buf[i] = name[i] == '-' ? '_' : name[i];
	buf[i] = '\0';
}

struct load {
	const char *mod;
	int depth;
	int r;
};

static int load(const char *mod, const char *options, int depth);

static void load_dep(const char *dep, void *data)
{
	struct load *l = data;

	if (l->r == 0)
		l->r = load(dep, NULL, l->depth + 1);
}

static void add_holder(const char *dep, void *data)
{
	const char *mod = data;

	fx_link(fx_fmt("sys/module/%s/holders/%s", dep, mod), fx_fmt("../../%s", mod));
}

static void restore_param(const char *name, void *data)
{
	const char *mod = data;
	char v[PATH_MAX];

	LOCAL(v, "%s", fx_cat(fx_fmt(".fake/params/%s/%s", mod, name)));
	fx_write(fx_fmt("sys/module/%s/parameters/%s", mod, name), fx_fmt("%s\n", v));
}

static void create_driver_of(const char *drv, void *data)
{
	char mod[NAME_MAX_LEN];

	driver_module(drv, mod, sizeof(mod));
	if (!strcmp(mod, (const char *)data))
		fk_driver_create(drv);
}

static void probe_pci(const char *bdf, void *data)
{
	probe_dev("pci", bdf);
}

static int load(const char *mod, const char *options, int depth)
{
	struct load l = {mod, depth, 0};

	if (depth > 16)
		fx_die("module dependency loop at %s", mod);
	if (fx_exists(fx_fmt("sys/module/%s", mod)))
		return 0; /* loaded, or builtin */
	if (!fx_exists(fx_fmt(".fake/known/%s", mod)))
		return -ENOENT;
	each_line(fx_fmt(".fake/uses/%s", mod), load_dep, &l);
	if (l.r < 0)
		return l.r;
	fk_module_create(mod);
	each_entry(fx_fmt(".fake/params/%s", mod), restore_param, (void *)mod);
	fx_write(fx_fmt(".fake/options/%s", mod), fx_fmt("%s\n", options ? options : ""));
	each_line(fx_fmt(".fake/uses/%s", mod), add_holder, (void *)mod);
	/* vfio_pci brings the vfio core with its container node; it stays when vfio_pci
	 * goes, as the core module does. */
	if (!strcmp(mod, "vfio_pci") && !fx_exists("dev/vfio/vfio"))
		fx_devnode("dev/vfio/vfio", 'c', 10, 196, NULL, NULL);
	each_entry(".fake/drivers", create_driver_of, (void *)mod);
	/* What the kernel does when a driver registers: probe every unbound device. */
	each_entry("sys/bus/pci/devices", probe_pci, NULL);
	return 0;
}

static int fake_module_load(const char *name, const char *options)
{
	char mod[NAME_MAX_LEN];
	int r;

	if (root_is_real() || !fx_root()[0])
		return -EPERM;
	normalize(name, mod, sizeof(mod));
	if (!valid_name(mod))
		return -EINVAL;
	r = op_begin(fx_fmt("module_load=%s", mod));
	if (r < 0)
		return r;
	r = load(mod, options, 0);
	fk_sync();
	return r;
}

static void unbind_all(const char *entry, void *data)
{
	const char *drv = data;

	if (fx_exists(fx_fmt("sys/bus/pci/devices/%s", entry)))
		detach("pci", entry, drv);
}

static void remove_driver_of(const char *drv, void *data)
{
	char mod[NAME_MAX_LEN];

	driver_module(drv, mod, sizeof(mod));
	if (strcmp(mod, (const char *)data) || !fx_exists(fx_fmt("sys/bus/pci/drivers/%s", drv)))
		return;
	each_entry(fx_fmt("sys/bus/pci/drivers/%s", drv), unbind_all, (void *)drv);
	fx_rm(fx_fmt("sys/bus/pci/drivers/%s", drv));
}

static void drop_holder(const char *dep, void *data)
{
	fx_rm(fx_fmt("sys/module/%s/holders/%s", dep, (const char *)data));
}

static int fake_module_remove(const char *name)
{
	char mod[NAME_MAX_LEN];
	int r;

	if (root_is_real() || !fx_root()[0])
		return -EPERM;
	normalize(name, mod, sizeof(mod));
	if (!valid_name(mod))
		return -EINVAL;
	r = op_begin(fx_fmt("module_remove=%s", mod));
	if (r < 0)
		return r;
	if (!module_loaded(mod))
		return -ENOENT;
	if (fx_exists(fx_fmt(".fake/stuck/%s", mod)))
		return -EBUSY;
	fk_refcnt_sync();
	if (count_entries(fx_fmt("sys/module/%s/holders", mod)) > 0 ||
	    atoi(fx_cat(fx_fmt("sys/module/%s/refcnt", mod))) > 0)
		return -EBUSY;
	each_entry(".fake/drivers", remove_driver_of, mod);
	fx_rm(fx_fmt("sys/module/%s", mod));
	fx_rm(fx_fmt(".fake/refbase/%s", mod));
	each_line(fx_fmt(".fake/uses/%s", mod), drop_holder, mod);
	fk_sync();
	return 0;
}

/* FBIOPUT_CON2FBMAP on a framebuffer node: fbcon takes the consoles again. */
static int fake_fbcon_takeover(const char *fbdev, int fb)
{
	const char *rel = under_root(fbdev);
	struct vtcons v;
	int r;

	if (root_is_real() || !rel)
		return -EPERM;
	r = op_begin(fx_fmt("fbcon_takeover=%s", rel));
	if (r < 0)
		return r;
	if (!fx_exists(rel) || !fx_exists(fx_fmt("sys/class/graphics/fb%d", fb)))
		return -ENODEV;
	vtcons_read(&v);
	if (!v.fb[0] || fx_exists(".fake/vt-graphics"))
		return 0;
	fx_write(fx_fmt("sys/class/vtconsole/%s/bind", v.fb), "1\n");
	system_consoles_follow(&v, true);
	fk_sync();
	return 0;
}

const struct kernel_ops fake_kernel_ops = {
    .write_attr = fake_write_attr,
    .read_attr = fake_read_attr,
    .module_load = fake_module_load,
    .module_remove = fake_module_remove,
    .fbcon_takeover = fake_fbcon_takeover,
};
