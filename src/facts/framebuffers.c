/* Boot framebuffers: the firmware's framebuffer platform devices (efifb, vesafb, simplefb
 * and their kin) and the driver each is bound to. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/root.h"
#include "base/util.h"
#include "facts/framebuffers.h"
#include "kernel/attr.h"

static const char *const boot_fbs[] = {
    "efi-framebuffer",
    "simple-framebuffer",
    "vesa-framebuffer",
    /* Linux 6.12's name for the legacy VGA one (SeaBIOS); 6.1: platform-framebuffer. */
    "vga-framebuffer",
};

bool framebuffers_is_boot_fb(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(boot_fbs); i++) {
		size_t len = strlen(boot_fbs[i]);

		if (strncmp(name, boot_fbs[i], len) == 0 && name[len] == '.')
			return true;
	}
	return false;
}

static int fb_cmp(const void *a, const void *b)
{
	return strcmp(((const struct platform_fb *)a)->name, ((const struct platform_fb *)b)->name);
}

int framebuffers_bound(struct platform_fb *ret, size_t max, size_t *ret_n)
{
	char p[VH_PATH_MAX];
	struct dirent *e;
	size_t n = 0;
	DIR *d;
	int r;

	r = path_join(p, sizeof(p), "/sys/bus/platform/devices");
	if (r < 0)
		return r;
	d = opendir(p);
	if (!d) {
		if (errno == ENOENT) {
			*ret_n = 0;
			return 0;
		}
		return -errno;
	}
	while ((e = readdir(d)) && n < max) {
		if (!framebuffers_is_boot_fb(e->d_name))
			continue;
		if (strlcpy_chk(ret[n].name, e->d_name, sizeof(ret[n].name)) < 0)
			continue;
		if (device_driver("platform", e->d_name, ret[n].driver, sizeof(ret[n].driver)) <
			0 ||
		    !ret[n].driver[0])
			continue;
		n++;
	}
	closedir(d);
	if (n)
		qsort(ret, n, sizeof(*ret), fb_cmp);
	*ret_n = n;
	return 0;
}
