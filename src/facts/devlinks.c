/* Device links between PCI devices, as sysfs shows them in each device's directory since
 * Linux 5.9: "consumer:pci:<bdf>" in the supplier's, "supplier:pci:<bdf>" in the
 * consumer's. Read-only. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/root.h"
#include "base/util.h"
#include "facts/devlinks.h"
#include "kernel/attr.h"

#define CONSUMER_PREFIX "consumer:pci:"
#define CONSUMERS_MAX 16

static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The PCI consumers of bdf's links, sorted (readdir order is arbitrary and plans must be
 * reproducible). */
static int consumers(const char *bdf, char (*ret)[BDF_STRLEN], size_t max, size_t *ret_n)
{
	char p[VH_PATH_MAX];
	struct dirent *e;
	size_t n = 0;
	DIR *d;
	int r;

	r = path_join(p, sizeof(p), "/sys/bus/pci/devices/%s", bdf);
	if (r < 0)
		return r;
	d = opendir(p);
	if (!d)
		return -errno;
	while ((e = readdir(d)) && n < max) {
		if (!str_has_prefix(e->d_name, CONSUMER_PREFIX))
			continue;
		if (strlcpy_chk(ret[n], e->d_name + strlen(CONSUMER_PREFIX), BDF_STRLEN) == 0)
			n++;
	}
	closedir(d);
	if (n)
		qsort(ret, n, BDF_STRLEN, name_cmp);
	*ret_n = n;
	return 0;
}

int devlink_bound_consumer(const char *bdf, const char *skip_module, struct devlink_user *ret)
{
	char list[CONSUMERS_MAX][BDF_STRLEN], p[VH_PATH_MAX];
	size_t n = 0;
	int r;

	r = consumers(bdf, list, ARRAY_SIZE(list), &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		struct devlink_user u;

		if (strlcpy_chk(u.bdf, list[i], sizeof(u.bdf)) < 0 ||
		    device_driver("pci", u.bdf, u.driver, sizeof(u.driver)) < 0 || !u.driver[0])
			continue;
		if (path_join(p, sizeof(p), "/sys/bus/pci/devices/%s/driver/module", u.bdf) < 0 ||
		    link_base(p, u.module, sizeof(u.module)) < 0)
			u.module[0] = '\0';
		if (u.module[0] && strcmp(u.module, skip_module) == 0)
			continue;
		*ret = u;
		return 1;
	}
	return 0;
}
