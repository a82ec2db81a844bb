/* Fixture topologies of a boot console on simpledrm, before and after the native GPU
 * driver took it over (topology_simpledrm.h). */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakekernel.h"
#include "fixture.h"
#include "topology_simpledrm.h"

void fx_platform_drm_card(int n, const char *dev, const char *connector)
{
	char drm[PATH_MAX], card[PATH_MAX], cls[PATH_MAX], name[64], st[32], *colon;

	fk_fmt(drm, sizeof(drm), "sys/devices/platform/%s/drm", dev);
	fk_fmt(card, sizeof(card), "%s/card%d", drm, n);
	fk_fmt(cls, sizeof(cls), "sys/class/drm/card%d", n);
	fx_write(fx_fmt("%s/dev", card), fx_fmt("226:%d\n", n));
	fx_write(fx_fmt("%s/uevent", card),
		 fx_fmt("MAJOR=226\nMINOR=%d\nDEVNAME=dri/card%d\nDEVTYPE=drm_minor\n", n, n));
	fx_link(fx_fmt("%s/device", card), fx_fmt("../../../%s", dev));
	fx_link(cls, fx_fmt("../../devices/platform/%s/drm/card%d", dev, n));
	fk_owned_add(dev, drm);
	fk_owned_add(dev, cls);
	if (connector) {
		fk_fmt(name, sizeof(name), "%s", connector);
		colon = strchr(name, ':');
		if (!colon)
			fx_die("connector %s: want NAME:status", connector);
		*colon = '\0';
		fk_fmt(st, sizeof(st), "%s", colon + 1);
		fx_write(fx_fmt("%s/card%d-%s/status", card, n, name), fx_fmt("%s\n", st));
		fx_link(fx_fmt("sys/class/drm/card%d-%s", n, name),
			fx_fmt("../../devices/platform/%s/drm/card%d/card%d-%s", dev, n, n, name));
		fk_owned_add(dev, fx_fmt("sys/class/drm/card%d-%s", n, name));
	}
	/* simpledrm is builtin: an open card references no module. */
	fx_devnode(fx_fmt("dev/dri/card%d", n), 'c', 226, (unsigned)n, NULL, dev);
}

static void consoles(void)
{
	fx_vtcon(0, "(S) dummy device", 0);
	fx_vtcon(1, "(M) frame buffer device", 1);
}

static void gdm(int pid, const char *const holds[])
{
	fx_unit("gdm.service", true);
	fx_unit_alias("display-manager.service", "gdm.service");
	fx_unit_graphics("gdm.service");
	fx_proc(pid, "gnome-shell", "gdm.service", holds);
}

/* What owner's native driver made, put away as while it is not bound. */
static void park_owned(const char *owner)
{
	char *list, *save = NULL;

	list = fk_slurp(fx_fmt(".fake/owned/%s", owner), NULL);
	for (char *l = list ? strtok_r(list, "\n", &save) : NULL; l;
	     l = strtok_r(NULL, "\n", &save))
		if (fx_exists(l))
			fx_move(l, fx_fmt(".fake/parked/%s/%s", owner, l));
	free(list);
}

static void simpledrm_host(bool nouveau)
{
	static const char *const shell[] = {"/dev/dri/card0", NULL};

	fx_setup();
	fx_driver("snd_hda_intel", "snd_hda_intel");
	fx_module("snd_hda_intel", 0, NULL);
	fx_module_builtin("simpledrm");

	fx_pci("0000:00:00.0", 0x8086, 0xa700, 0x060000, NULL, 0, -1);
	fx_pci(TSD_GPU, 0x10de, 0x2786, 0x030000, NULL, TSD_GROUP, 1);
	fx_pci(TSD_AUDIO, 0x10de, 0x22bc, 0x040300, "snd_hda_intel", TSD_GROUP, -1);
	if (nouveau) {
		/* What nouveau makes when it probes the GPU: card1 (card0 is simpledrm's until
		 * then) and fb0, once simpledrm's is gone. Not loaded at boot. */
		fx_driver_avail("nouveau", "nouveau");
		fx_native_driver(TSD_GPU, "nouveau");
		fx_drm_card(1, TSD_GPU, "nouveau", "DP-1:connected");
		fx_fb(0, TSD_GPU, "nouveaudrmfb", "nouveau");
		park_owned(TSD_GPU);
	}
	fx_aperture(TSD_GPU, TSD_FB);

	fx_platform_fb(TSD_FB, "simpledrm");
	fx_platform_drm_card(0, TSD_FB, "Unknown-1:connected");
	fx_fb(0, TSD_FB, "simpledrmdrmfb", NULL);
	consoles();
	fx_sound(0, TSD_AUDIO);
	gdm(TSD_SHELL_PID, shell);
}

void fx_topology_simpledrm_before(void)
{
	simpledrm_host(false);
}

void fx_topology_simpledrm_native_later(void)
{
	simpledrm_host(true);
}

void fx_topology_simpledrm_after(void)
{
	static const char *const shell[] = {"/dev/dri/card1", "/dev/dri/renderD129", NULL};

	fx_setup();
	fx_driver("snd_hda_intel", "snd_hda_intel");
	fx_module("snd_hda_intel", 0, NULL);
	fx_module_builtin("simpledrm");
	fx_driver("amdgpu", "amdgpu");
	fx_module("drm_kms_helper", 0, "amdgpu");
	fx_module("drm", 0, "drm_kms_helper amdgpu");

	fx_pci("0000:00:00.0", 0x1022, 0x14d8, 0x060000, NULL, 0, -1);
	fx_pci(TSA_GPU, 0x1002, 0x73ff, 0x030000, "amdgpu", TSA_GROUP, 1);
	fx_pci(TSA_AUDIO, 0x1002, 0xab28, 0x040300, "snd_hda_intel", TSA_GROUP, -1);

	/* simpledrm's driver stays (builtin); its device went when amdgpu probed. */
	fx_write("sys/bus/platform/drivers/simpledrm/bind", "");
	fx_write("sys/bus/platform/drivers/simpledrm/unbind", "");
	fx_write("sys/bus/platform/drivers/simpledrm/uevent", "");
	fx_drm_card(1, TSA_GPU, "amdgpu", "DP-1:connected HDMI-A-1:disconnected");
	fx_fb(0, TSA_GPU, "amdgpudrmfb", "amdgpu");
	consoles();
	fx_sound(0, TSA_AUDIO);
	gdm(TSD_SHELL_PID + 1, shell);
}
