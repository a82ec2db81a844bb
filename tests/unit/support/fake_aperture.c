/* The fake kernel's aperture hand-over: when a GPU's native driver probes it, the firmware
 * framebuffer device on its memory (simple-framebuffer.0 under simpledrm, say) is
 * unregistered, as the kernel's aperture helpers do; what its driver made (DRM card,
 * fbdev, nodes) goes with it, bound or parked. fx_aperture() declares the pair. */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fakekernel.h"
#include "fixture.h"

void fx_aperture(const char *bdf, const char *platform_dev)
{
	fk_line_add(fx_fmt(".fake/aperture/%s", bdf), platform_dev);
}

static void unregister(const char *dev)
{
	char owned[PATH_MAX], drv[PATH_MAX], *list, *save = NULL;

	fk_fmt(owned, sizeof(owned), ".fake/owned/%s", dev);
	list = fk_slurp(owned, NULL);
	for (char *l = list ? strtok_r(list, "\n", &save) : NULL; l;
	     l = strtok_r(NULL, "\n", &save))
		fx_rm(l);
	free(list);
	if (fx_readlink(fx_fmt("sys/bus/platform/devices/%s/driver", dev), drv, sizeof(drv)) >= 0)
		fx_rm(fx_fmt("sys/bus/platform/drivers/%s/%s", strrchr(drv, '/') + 1, dev));
	fx_rm(fx_fmt("sys/devices/platform/%s", dev));
	fx_rm(fx_fmt("sys/bus/platform/devices/%s", dev));
	fx_rm(fx_fmt(".fake/parked/%s", dev));
	fx_rm(owned);
}

void fk_aperture_takeover(const char *bdf)
{
	char rel[PATH_MAX], *list, *save = NULL;

	fk_fmt(rel, sizeof(rel), ".fake/aperture/%s", bdf);
	list = fk_slurp(rel, NULL);
	if (!list)
		return;
	for (char *l = strtok_r(list, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		unregister(l);
	free(list);
	fx_rm(rel);
}
