/* Who holds a PCI device's nodes: /proc/PID/fd matched by device number (and, for nodes
 * that are plain files in a fixture tree, by inode), The kernel
 * does not protect a device in use: a DRM driver unbinds under a running compositor, and
 * nvidia's remove blocks while /dev/nvidia* is open. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "base/root.h"
#include "base/util.h"
#include "facts/holders.h"
#include "kernel/attr.h"

#ifdef VH_TEST_SEAMS
static unsigned scans;

unsigned holders_scan_count(void)
{
	return scans;
}
#endif

/* Adds /dev/<dir>/<name> (dir may be "") with the number from sysfs file devfile. */
static void add_node(struct devnode *ret, size_t max, size_t *n, const char *dir, const char *name,
		     const char *devfile)
{
	struct devnode *d;
	char p[VH_PATH_MAX], buf[32];
	unsigned maj, min;
	struct stat st;

	if (*n >= max)
		return;
	d = &ret[*n];
	memset(d, 0, sizeof(*d));
	if (snprintf_chk(d->path, sizeof(d->path), "/dev/%s%s%s", dir, *dir ? "/" : "", name) < 0)
		return;
	if (devfile && attr_read(devfile, buf, sizeof(buf)) == 0 &&
	    sscanf(buf, "%u:%u", &maj, &min) == 2) {
		d->has_rdev = true;
		d->rdev = makedev(maj, min);
	}
	if (path_join(p, sizeof(p), "%s", d->path) == 0 && stat(p, &st) == 0) {
		if (S_ISCHR(st.st_mode)) {
			d->has_rdev = true;
			d->rdev = st.st_rdev;
		}
		d->has_ino = true;
		d->st_dev = st.st_dev;
		d->st_ino = st.st_ino;
	}
	if (d->has_rdev || d->has_ino)
		(*n)++;
}

/* Nodes of the class directory sub of the device ("drm", "graphics", "sound/cardN"):
 * entries accepted by keep(), each with its "dev" file. */
static void class_nodes(const char *bdf, const char *sub, const char *devdir,
			bool (*keep)(const char *name), struct devnode *ret, size_t max, size_t *n)
{
	char p[VH_PATH_MAX], devfile[VH_PATH_MAX];
	struct dirent *e;
	DIR *d;

	if (path_join(p, sizeof(p), "/sys/bus/pci/devices/%s/%s", bdf, sub) < 0)
		return;
	d = opendir(p);
	if (!d)
		return;
	while ((e = readdir(d)))
		if (keep(e->d_name) &&
		    snprintf_chk(devfile, sizeof(devfile), "%s/%s/dev", p, e->d_name) == 0)
			add_node(ret, max, n, devdir, e->d_name, devfile);
	closedir(d);
}

static bool keep_drm(const char *name)
{
	/* card0-HDMI-A-1 and the like are connectors, not nodes. */
	return (str_has_prefix(name, "card") || str_has_prefix(name, "renderD")) &&
	       !strchr(name, '-');
}

static bool keep_fb(const char *name)
{
	return str_has_prefix(name, "fb");
}

static bool keep_snd(const char *name)
{
	static const char *const kinds[] = {"controlC", "pcmC", "hwC", "midiC"};

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (str_has_prefix(name, kinds[i]))
			return true;
	return false;
}

static void nvidia_nodes(struct devnode *ret, size_t max, size_t *n)
{
	char p[VH_PATH_MAX];
	struct dirent *e;
	DIR *d;

	if (path_join(p, sizeof(p), "/dev") < 0)
		return;
	d = opendir(p);
	if (!d)
		return;
	/* nvidiactl, nvidia-modeset and nvidia-uvm keep the stack busy as much as the
	 * per-GPU nvidiaN: every one counts. */
	while ((e = readdir(d)))
		if (str_has_prefix(e->d_name, "nvidia") && e->d_type != DT_DIR)
			add_node(ret, max, n, "", e->d_name, NULL);
	closedir(d);
}

static int node_cmp(const void *a, const void *b)
{
	return strcmp(((const struct devnode *)a)->path, ((const struct devnode *)b)->path);
}

/* Sorts the nodes added since start: directory order is arbitrary, plans must not be. */
static void sort_from(struct devnode *ret, size_t start, size_t n)
{
	if (n > start + 1)
		qsort(ret + start, n - start, sizeof(*ret), node_cmp);
}

int holders_nodes(const char *bdf, struct devnode *ret, size_t max, size_t *ret_n)
{
	char p[VH_PATH_MAX], drv[64] = "";
	size_t n = 0, start;
	struct dirent *e;
	DIR *d;

	class_nodes(bdf, "drm", "dri", keep_drm, ret, max, &n);
	sort_from(ret, 0, n);
	start = n;
	class_nodes(bdf, "graphics", "", keep_fb, ret, max, &n);
	sort_from(ret, start, n);
	start = n;
	if (path_join(p, sizeof(p), "/sys/bus/pci/devices/%s/sound", bdf) == 0 &&
	    (d = opendir(p))) {
		while ((e = readdir(d))) {
			char sub[300];

			if (!str_has_prefix(e->d_name, "card") ||
			    snprintf_chk(sub, sizeof(sub), "sound/%s", e->d_name) < 0)
				continue;
			class_nodes(bdf, sub, "snd", keep_snd, ret, max, &n);
		}
		closedir(d);
	}
	sort_from(ret, start, n);
	start = n;
	if (path_join(p, sizeof(p), "/sys/bus/pci/devices/%s/driver", bdf) == 0 &&
	    link_base(p, drv, sizeof(drv)) == 0 && strcmp(drv, "nvidia") == 0)
		nvidia_nodes(ret, max, &n);
	sort_from(ret, start, n);
	*ret_n = n;
	return 0;
}

int holders_group_nodes(const char *bdf, struct devnode *ret, size_t max, size_t *ret_n,
			char (*members)[BDF_STRLEN], size_t max_members, size_t *ret_members)
{
	struct devnode one[HOLDERS_MAX_NODES];
	char p[VH_PATH_MAX];
	size_t n = 0, nm = 0, k;
	struct dirent *e;
	DIR *d;

	*ret_n = *ret_members = 0;
	if (path_join(p, sizeof(p), "/sys/bus/pci/devices/%s/iommu_group/devices", bdf) < 0)
		return -ENAMETOOLONG;
	d = opendir(p);
	if (!d)
		return -errno;
	while ((e = readdir(d)) && nm < max_members) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= BDF_STRLEN)
			continue;
		holders_nodes(e->d_name, one, ARRAY_SIZE(one), &k);
		/* A member is covered only with all its nodes: one that does not fit is left
		 * out, and its own step scans for it. */
		if (k == ARRAY_SIZE(one) || n + k > max)
			continue;
		memcpy(ret + n, one, k * sizeof(*one));
		n += k;
		strlcpy_chk(members[nm++], e->d_name, BDF_STRLEN);
	}
	closedir(d);
	*ret_n = n;
	*ret_members = nm;
	return 0;
}

/* The node of nodes that the open file at fdpath is, or NULL. Only files under /dev are
 * looked at: stat() of a file on a hung FUSE or NFS mount would hang us with it. */
static const struct devnode *fd_node(const char *fdpath, const struct devnode *nodes, size_t n)
{
	char target[VH_PATH_MAX], p[VH_PATH_MAX], dev[VH_PATH_MAX];
	ssize_t len = readlink(fdpath, target, sizeof(target) - 1);
	struct stat st;

	if (len <= 0)
		return NULL;
	target[len] = '\0';
	/* A fixture's links name the node with the root prefix, or as the process sees it
	 * ("/dev/dri/card0"), which is under the root prefix here. */
	if (path_join(dev, sizeof(dev), "/dev/") < 0)
		return NULL;
	if (str_has_prefix(target, dev)) {
		if (stat(fdpath, &st) < 0)
			return NULL;
	} else if (str_has_prefix(target, "/dev/") && !root_is_real()) {
		if (path_join(p, sizeof(p), "%s", target) < 0 || stat(p, &st) < 0)
			return NULL;
	} else {
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (S_ISCHR(st.st_mode) && nodes[i].has_rdev && st.st_rdev == nodes[i].rdev)
			return &nodes[i];
		if (nodes[i].has_ino && st.st_dev == nodes[i].st_dev &&
		    st.st_ino == nodes[i].st_ino)
			return &nodes[i];
	}
	return NULL;
}

const struct devnode *holders_pid_holds(const char *pid, const struct devnode *nodes, size_t n)
{
	char p[VH_PATH_MAX], fdpath[VH_PATH_MAX];
	const struct devnode *hit = NULL;
	struct dirent *e;
	DIR *d;

	if (path_join(p, sizeof(p), "/proc/%s/fd", pid) < 0)
		return NULL;
	/* Gone meanwhile, or a kernel thread: holds nothing. */
	d = opendir(p);
	if (!d)
		return NULL;
	while (!hit && (e = readdir(d))) {
		if (e->d_name[0] == '.' ||
		    snprintf_chk(fdpath, sizeof(fdpath), "%s/%s", p, e->d_name) < 0)
			continue;
		hit = fd_node(fdpath, nodes, n);
	}
	closedir(d);
	return hit;
}

static int holder_cmp(const void *a, const void *b)
{
	pid_t x = ((const struct holder *)a)->pid, y = ((const struct holder *)b)->pid;

	return (x > y) - (x < y);
}

int holders_find(const struct devnode *nodes, size_t n_nodes, struct holder *ret, size_t max,
		 size_t *ret_n, size_t *ret_total)
{
	char p[VH_PATH_MAX];
	size_t n = 0, total = 0;
	struct dirent *e;
	DIR *d;
	int r;

	if (n_nodes == 0)
		goto done;
#ifdef VH_TEST_SEAMS
	scans++;
#endif
	r = path_join(p, sizeof(p), "/proc");
	if (r < 0)
		return r;
	d = opendir(p);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		const struct devnode *node;
		char *end, commp[VH_PATH_MAX];
		long pid = strtol(e->d_name, &end, 10);

		if (end == e->d_name || *end || pid <= 0)
			continue;
		/* We hold none of them; never name ourselves. */
		if (root_is_real() && pid == getpid())
			continue;
		node = holders_pid_holds(e->d_name, nodes, n_nodes);
		if (!node)
			continue;
		total++;
		if (n >= max)
			continue;
		ret[n].pid = (pid_t)pid;
		strlcpy_chk(ret[n].node, node->path, sizeof(ret[n].node));
		if (path_join(commp, sizeof(commp), "/proc/%ld/comm", pid) < 0 ||
		    attr_read(commp, ret[n].comm, sizeof(ret[n].comm)) < 0)
			strlcpy_chk(ret[n].comm, "?", sizeof(ret[n].comm));
		n++;
	}
	closedir(d);
	if (n)
		qsort(ret, n, sizeof(*ret), holder_cmp);
done:
	*ret_n = n;
	if (ret_total)
		*ret_total = total;
	return 0;
}

int holders_first(const char *bdf, struct holder *ret)
{
	struct devnode nodes[HOLDERS_MAX_NODES];
	struct holder h[HOLDERS_MAX];
	size_t n_nodes, n;
	int r;

	r = holders_nodes(bdf, nodes, ARRAY_SIZE(nodes), &n_nodes);
	if (r < 0)
		return r;
	r = holders_find(nodes, n_nodes, h, ARRAY_SIZE(h), &n, NULL);
	if (r < 0)
		return r;
	if (!n)
		return 0;
	*ret = h[0];
	return 1;
}

int holders_name(const char *bdf, char *buf, size_t n)
{
	struct devnode nodes[HOLDERS_MAX_NODES + 1];
	struct holder h[HOLDERS_MAX];
	char p[VH_PATH_MAX], group[32];
	size_t n_nodes, found, total;
	int r;

	r = holders_nodes(bdf, nodes, HOLDERS_MAX_NODES, &n_nodes);
	if (r < 0)
		return r;
	/* A VM (or any VFIO user) holds the group node, not the device's own nodes. */
	if (path_join(p, sizeof(p), "/sys/bus/pci/devices/%s/iommu_group", bdf) == 0 &&
	    link_base(p, group, sizeof(group)) == 0)
		add_node(nodes, HOLDERS_MAX_NODES + 1, &n_nodes, "vfio", group, NULL);
	r = holders_find(nodes, n_nodes, h, ARRAY_SIZE(h), &found, &total);
	if (r < 0)
		return r;
	if (!found)
		return 0;
	holders_describe(&h[0], total, buf, n);
	return 1;
}

void holders_describe(const struct holder *h, size_t total, char *buf, size_t n)
{
	if (total > 1)
		snprintf(buf, n, "process %d (%s) holds %s (and %zu more process%s)", (int)h->pid,
			 h->comm, h->node, total - 1, total > 2 ? "es" : "");
	else
		snprintf(buf, n, "process %d (%s) holds %s", (int)h->pid, h->comm, h->node);
}
