/* Driver modules: their state in /sys/module, the modules holding them (removed first),
 * and whether one drives a device that stays on the host. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/bdf.h"
#include "base/root.h"
#include "base/util.h"
#include "facts/modules.h"
#include "facts/pcidev.h"
#include "kernel/attr.h"

/* Holder chains deeper than this are a loop or a bug. */
#define CHAIN_DEPTH_MAX 8

int module_norm_name(const char *name, char *buf, size_t n)
{
	int r = strlcpy_chk(buf, name, n);

	if (r < 0)
		return r;
	for (char *c = buf; *c; c++)
		if (*c == '-')
			*c = '_';
	return 0;
}

enum module_state module_state_of(const char *name)
{
	char p[VH_PATH_MAX];

	if (!*name || strchr(name, '/') || path_join(p, sizeof(p), "/sys/module/%s", name) < 0 ||
	    !path_exists(p))
		return MODULE_ABSENT;
	/* Built-in code with parameters has a /sys/module entry but no initstate. */
	if (path_join(p, sizeof(p), "/sys/module/%s/initstate", name) < 0 || !path_exists(p))
		return MODULE_BUILTIN;
	return MODULE_LOADED;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The modules named in /sys/module/M/holders, sorted (readdir order is arbitrary and
 * plans must be reproducible). */
int module_holders(const char *name, char (*ret)[MODULE_NAME_MAX], size_t max, size_t *ret_n)
{
	char p[VH_PATH_MAX];
	struct dirent *e;
	size_t n = 0;
	DIR *d;
	int r;

	r = path_join(p, sizeof(p), "/sys/module/%s/holders", name);
	if (r < 0)
		return r;
	d = opendir(p);
	if (!d) {
		*ret_n = 0;
		return errno == ENOENT ? 0 : -errno;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == max) {
			closedir(d);
			return -E2BIG;
		}
		if (strlcpy_chk(ret[n], e->d_name, MODULE_NAME_MAX) == 0)
			n++;
	}
	closedir(d);
	if (n)
		qsort(ret, n, MODULE_NAME_MAX, name_cmp);
	*ret_n = n;
	return 0;
}

bool module_in_list(char (*list)[MODULE_NAME_MAX], size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

static int chain_visit(const char *name, char (*ret)[MODULE_NAME_MAX], size_t max, size_t *n,
		       int depth)
{
	char holders[MODULE_CHAIN_MAX][MODULE_NAME_MAX];
	size_t nh;
	int r;

	if (depth > CHAIN_DEPTH_MAX)
		return -ELOOP;
	if (module_in_list(ret, *n, name))
		return 0;
	r = module_holders(name, holders, ARRAY_SIZE(holders), &nh);
	if (r < 0)
		return r;
	/* Post-order: every holder (and its holders) before the module it holds. */
	for (size_t i = 0; i < nh; i++) {
		r = chain_visit(holders[i], ret, max, n, depth + 1);
		if (r < 0)
			return r;
	}
	if (module_in_list(ret, *n, name))
		return 0;
	if (*n == max)
		return -E2BIG;
	return strlcpy_chk(ret[(*n)++], name, MODULE_NAME_MAX);
}

int module_chain(const char *name, char (*ret)[MODULE_NAME_MAX], size_t max, size_t *ret_n)
{
	size_t n = 0;
	int r = chain_visit(name, ret, max, &n, 0);

	if (r < 0)
		return r;
	*ret_n = n;
	return 0;
}

static bool kept(const char *bdf, const struct pcidev *keep, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keep[i].name, bdf) == 0)
			return true;
	return false;
}

static bool entry_is_link(const char *dir, const struct dirent *e)
{
	char p[VH_PATH_MAX];
	struct stat st;

	if (e->d_type != DT_UNKNOWN)
		return e->d_type == DT_LNK;
	return snprintf_chk(p, sizeof(p), "%s/%s", dir, e->d_name) == 0 && lstat(p, &st) == 0 &&
	       S_ISLNK(st.st_mode);
}

/* Devices bound to driver drv on bus (the symlinks in its directory other than
 * "module"); the first not in keep[] goes into other. */
static int driver_other(const char *bus, const char *drv, const struct pcidev *keep, size_t n_keep,
			char *other, size_t n_other)
{
	char p[VH_PATH_MAX];
	struct dirent *e;
	int found = 0;
	DIR *d;

	if (path_join(p, sizeof(p), "/sys/bus/%s/drivers/%s", bus, drv) < 0)
		return -ENAMETOOLONG;
	d = opendir(p);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (!found && (e = readdir(d))) {
		struct bdf addr;

		if (e->d_name[0] == '.' || strcmp(e->d_name, "module") == 0 || !entry_is_link(p, e))
			continue;
		if (strcmp(bus, "pci") == 0 && bdf_parse(e->d_name, &addr) == 0 &&
		    kept(e->d_name, keep, n_keep))
			continue;
		snprintf(other, n_other, "%s%s%s", strcmp(bus, "pci") ? bus : "",
			 strcmp(bus, "pci") ? " device " : "", e->d_name);
		found = 1;
	}
	closedir(d);
	return found;
}

int module_drives_other(const char *name, const struct pcidev *keep, size_t n_keep, char *other,
			size_t n_other)
{
	char p[VH_PATH_MAX], mod[MODULE_NAME_MAX];
	struct dirent *e;
	int r = 0;
	DIR *d;

	/* Every PCI device whose driver belongs to the module... */
	if (path_join(p, sizeof(p), "/sys/bus/pci/devices") < 0)
		return -ENAMETOOLONG;
	d = opendir(p);
	if (!d)
		return -errno;
	while (!r && (e = readdir(d))) {
		char lp[VH_PATH_MAX];

		if (e->d_name[0] == '.' || kept(e->d_name, keep, n_keep))
			continue;
		r = path_join(lp, sizeof(lp), "/sys/bus/pci/devices/%s/driver/module", e->d_name);
		if (r < 0 || link_base(lp, mod, sizeof(mod)) < 0) {
			r = 0;
			continue;
		}
		if (strcmp(mod, name) == 0) {
			snprintf(other, n_other, "%s", e->d_name);
			r = 1;
		}
	}
	closedir(d);
	if (r)
		return r;
	/* ...and every device of its drivers on any bus (a module may drive platform or USB
	 * devices too). */
	if (path_join(p, sizeof(p), "/sys/module/%s/drivers", name) < 0)
		return -ENAMETOOLONG;
	d = opendir(p);
	if (!d)
		return 0;
	while (!r && (e = readdir(d))) {
		char bus[64], *drv;

		if (e->d_name[0] == '.' || strlcpy_chk(bus, e->d_name, sizeof(bus)) < 0)
			continue;
		drv = strchr(bus, ':');
		if (!drv)
			continue;
		*drv++ = '\0';
		r = driver_other(bus, drv, keep, n_keep, other, n_other);
	}
	closedir(d);
	return r;
}
