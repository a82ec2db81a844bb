/* The fake kernel's HDMI audio components: an HD audio function whose HDMI codec binds to a
 * GPU driver through the component framework (sound/hda/hdac_component.c). While both
 * devices are bound to their drivers the component is bound, and the HDA side pins the
 * module that implements the GPU side's ops (try_module_get(acomp->ops->owner)): i915 sets
 * .owner, so its refcnt counts the binding while /sys/module/i915/holders shows nothing;
 * amdgpu's ops have no owner, so nothing is pinned. Unbinding either device unbinds the
 * component and drops the reference. Device links: i915 adds one (HDA consumer, GPU
 * supplier) when the component binds and removes it when it unbinds; the PCI quirks add a
 * permanent one from a discrete GPU's HDA, USB and UCSI functions to its function 0. */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakekernel.h"
#include "fixture.h"
#include "topology_habits.h"

#define COMPONENTS ".fake/components"

void fx_audio_component(const char *gpu, const char *hda)
{
	fk_line_add(COMPONENTS, fx_fmt("%s %s 1 0", gpu, hda));
}

void fx_devlink(const char *supplier, const char *consumer)
{
	fk_line_add(COMPONENTS, fx_fmt("%s %s 0 1", supplier, consumer));
}

/* Bound to its native driver (the one the component belongs to). */
static bool on_native(const char *bdf)
{
	char t[PATH_MAX], native[128];
	const char *base;

	fk_fmt(native, sizeof(native), "%s", fx_cat(fx_fmt(".fake/native/%s", bdf)));
	if (!native[0] ||
	    fx_readlink(fx_fmt("sys/bus/pci/devices/%s/driver", bdf), t, sizeof(t)) < 0)
		return false;
	base = strrchr(t, '/');
	return !strcmp(base ? base + 1 : t, native);
}

/* The module of bdf's bound driver, "" for none or builtin. */
static void module_of(const char *bdf, char *buf, size_t n)
{
	char t[PATH_MAX];
	const char *base;

	buf[0] = '\0';
	if (fx_readlink(fx_fmt("sys/bus/pci/devices/%s/driver", bdf), t, sizeof(t)) < 0)
		return;
	base = strrchr(t, '/');
	fk_fmt(buf, n, "%s", fx_cat(fx_fmt(".fake/drivers/%s", base ? base + 1 : t)));
	if (!strcmp(buf, "-"))
		buf[0] = '\0';
}

struct comp {
	char sup[64], con[64];
	int pins, permanent;
};

static bool comp_parse(const char *line, struct comp *c)
{
	return sscanf(line, "%63s %63s %d %d", c->sup, c->con, &c->pins, &c->permanent) == 4;
}

static bool comp_bound(const struct comp *c)
{
	return !c->permanent && on_native(c->sup) && on_native(c->con);
}

/* The device link as sysfs shows it: the link device under devices/virtual/devlink and
 * a symlink to it in each device's directory. */
static void link_set(const struct comp *c, bool on)
{
	char name[160], dl[PATH_MAX];

	fk_fmt(name, sizeof(name), "pci:%s--pci:%s", c->con, c->sup);
	fk_fmt(dl, sizeof(dl), "sys/devices/virtual/devlink/%s", name);
	if (!on) {
		if (fx_exists(dl)) {
			fx_rm(dl);
			fx_rm(fx_fmt("sys/class/devlink/%s", name));
			fx_rm(fx_fmt("sys/devices/pci0000:00/%s/consumer:pci:%s", c->sup, c->con));
			fx_rm(fx_fmt("sys/devices/pci0000:00/%s/supplier:pci:%s", c->con, c->sup));
		}
		return;
	}
	if (fx_exists(dl))
		return;
	fx_link(fx_fmt("%s/consumer", dl), fx_fmt("../../../pci0000:00/%s", c->con));
	fx_link(fx_fmt("%s/supplier", dl), fx_fmt("../../../pci0000:00/%s", c->sup));
	fx_write(fx_fmt("%s/status", dl), c->permanent ? "available\n" : "not tracked\n");
	fx_write(fx_fmt("%s/runtime_pm", dl), c->permanent ? "1\n" : "0\n");
	fx_link(fx_fmt("sys/class/devlink/%s", name),
		fx_fmt("../../devices/virtual/devlink/%s", name));
	fx_link(fx_fmt("sys/devices/pci0000:00/%s/consumer:pci:%s", c->sup, c->con),
		fx_fmt("../../virtual/devlink/%s", name));
	fx_link(fx_fmt("sys/devices/pci0000:00/%s/supplier:pci:%s", c->con, c->sup),
		fx_fmt("../../virtual/devlink/%s", name));
}

void fk_component_sync(void)
{
	char *list = fk_slurp(COMPONENTS, NULL), *save = NULL;
	struct comp c;

	for (char *l = list ? strtok_r(list, "\n", &save) : NULL; l;
	     l = strtok_r(NULL, "\n", &save))
		if (comp_parse(l, &c) && fx_exists(fx_fmt("sys/bus/pci/devices/%s", c.sup)) &&
		    fx_exists(fx_fmt("sys/bus/pci/devices/%s", c.con)))
			link_set(&c, c.permanent || comp_bound(&c));
	free(list);
}

int fk_component_refs(const char *mod)
{
	char *list = fk_slurp(COMPONENTS, NULL), *save = NULL, m[128];
	struct comp c;
	int n = 0;

	for (char *l = list ? strtok_r(list, "\n", &save) : NULL; l;
	     l = strtok_r(NULL, "\n", &save)) {
		if (!comp_parse(l, &c) || !c.pins || !comp_bound(&c))
			continue;
		module_of(c.sup, m, sizeof(m));
		n += !strcmp(m, mod);
	}
	free(list);
	return n;
}
