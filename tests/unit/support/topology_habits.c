/* Fixture topologies for drivers' habits (topology_habits.h): an i915 laptop whose HD audio
 * pins i915 through the HDMI component, a single AMD GPU beside chipset audio on the same
 * driver, an NVIDIA card with its USB-C functions. */
#include <stdbool.h>
#include <stddef.h>

#include "fakekernel.h"
#include "fixture.h"
#include "topology_habits.h"

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

void fx_topology_laptop_hdmi(void)
{
	static const char *const shell[] = {"/dev/dri/card0", "/dev/dri/renderD128", NULL};

	fx_setup();
	fx_driver("pcieport", NULL);
	fx_driver("i915", "i915");
	fx_module("drm_kms_helper", 0, "i915");
	fx_module("drm", 0, "drm_kms_helper i915");
	fx_driver("snd_hda_intel", "snd_hda_intel");
	/* efifb is builtin; its device went when i915 took the framebuffer over. */
	fx_write("sys/bus/platform/drivers/efi-framebuffer/bind", "");
	fx_write("sys/bus/platform/drivers/efi-framebuffer/unbind", "");
	fx_write("sys/bus/platform/drivers/efi-framebuffer/uevent", "");

	fx_pci("0000:00:00.0", 0x8086, 0xa706, 0x060000, NULL, 0, -1);
	fx_pci(TL_IGPU, 0x8086, 0xa7a0, 0x030000, "i915", TL_GROUP, 1);
	fx_pci(TL_AUDIO, 0x8086, 0x51ca, 0x040380, "snd_hda_intel", TL_AUDIO_GROUP, -1);
	fx_pci("0000:00:1d.0", 0x8086, 0x51b0, 0x060400, "pcieport", 14, -1);

	fx_drm_card(0, TL_IGPU, "i915", "eDP-1:connected HDMI-A-1:disconnected DP-1:disconnected");
	fx_fb(0, TL_IGPU, "i915drmfb", "i915");
	consoles();
	fx_sound(0, TL_AUDIO);
	fx_audio_component(TL_IGPU, TL_AUDIO);

	gdm(FX_PID_BASE + 70, shell);
	fx_nvme("0000:02:00.0", 15, 0, 2, "/");
	fx_sync();
}

void fx_topology_amd_hdmi(void)
{
	static const char *const shell[] = {"/dev/dri/card0", "/dev/dri/renderD128", NULL};
	static const char *const pipewire[] = {"/dev/snd/controlC0", NULL};

	fx_setup();
	fx_driver("pcieport", NULL);
	fx_driver("amdgpu", "amdgpu");
	fx_module("drm_kms_helper", 0, "amdgpu");
	fx_module("drm", 0, "drm_kms_helper amdgpu");
	fx_driver("snd_hda_intel", "snd_hda_intel");

	fx_pci("0000:00:00.0", 0x8086, 0x3e30, 0x060000, NULL, 0, -1);
	fx_pci(TA_BRIDGE, 0x8086, 0x1901, 0x060400, "pcieport", TA_GROUP, -1);
	fx_pci(TA_CHIPSET_AUDIO, 0x8086, 0xa348, 0x040300, "snd_hda_intel", 8, -1);
	fx_pci(TA_GPU, 0x1002, 0x67df, 0x030000, "amdgpu", TA_GROUP, 1);
	fx_pci(TA_AUDIO, 0x1002, 0xaaf0, 0x040300, "snd_hda_intel", TA_GROUP, -1);
	/* quirk_gpu_hda; amdgpu's audio component takes no module reference. */
	fx_devlink(TA_GPU, TA_AUDIO);

	fx_drm_card(0, TA_GPU, "amdgpu", "HDMI-A-1:connected DP-1:disconnected");
	fx_fb(0, TA_GPU, "amdgpudrmfb", "amdgpu");
	consoles();
	fx_sound(0, TA_CHIPSET_AUDIO);
	fx_sound(1, TA_AUDIO);

	gdm(FX_PID_BASE + 71, shell);
	fx_proc(FX_PID_BASE + 72, "pipewire", NULL, pipewire);
	fx_nvme("0000:02:00.0", 12, 0, 2, "/");
	fx_sync();
}

/* The UCSI function's I2C adapter and the Cypress CCGx client on it, bound to ucsi_ccg:
 * made by nvidia-gpu's probe, gone while the function is unbound. */
static void ucsi_ccg_client(void)
{
	const char *adap = "sys/devices/pci0000:00/" TN_UCSI "/i2c-5";
	const char *client = "sys/devices/pci0000:00/" TN_UCSI "/i2c-5/" TN_UCSI_CLIENT;

	fx_module("ucsi_ccg", 0, NULL);
	fx_module("typec_ucsi", 0, "ucsi_ccg");
	fx_module("typec", 0, "typec_ucsi");
	fx_write("sys/bus/i2c/drivers/ucsi_ccg/bind", "");
	fx_write("sys/bus/i2c/drivers/ucsi_ccg/unbind", "");
	fx_write("sys/bus/i2c/drivers/ucsi_ccg/uevent", "");
	fx_link("sys/bus/i2c/drivers/ucsi_ccg/module", "../../../../module/ucsi_ccg");
	fx_link("sys/module/ucsi_ccg/drivers/i2c:ucsi_ccg", "../../../bus/i2c/drivers/ucsi_ccg");

	fx_write(fx_fmt("%s/name", adap), "NVIDIA i2c adapter 2 at 1:00.3\n");
	fx_write(fx_fmt("%s/name", client), "ccgx-ucsi\n");
	fx_link(fx_fmt("%s/driver", client), "../../../../../bus/i2c/drivers/ucsi_ccg");
	fx_link("sys/bus/i2c/devices/i2c-5", "../../../devices/pci0000:00/" TN_UCSI "/i2c-5");
	fx_link("sys/bus/i2c/devices/" TN_UCSI_CLIENT,
		"../../../devices/pci0000:00/" TN_UCSI "/i2c-5/" TN_UCSI_CLIENT);
	fx_link("sys/bus/i2c/drivers/ucsi_ccg/" TN_UCSI_CLIENT,
		"../../../../devices/pci0000:00/" TN_UCSI "/i2c-5/" TN_UCSI_CLIENT);
	fk_owned_add(TN_UCSI, adap);
	fk_owned_add(TN_UCSI, "sys/bus/i2c/devices/i2c-5");
	fk_owned_add(TN_UCSI, "sys/bus/i2c/devices/" TN_UCSI_CLIENT);
	fk_owned_add(TN_UCSI, "sys/bus/i2c/drivers/ucsi_ccg/" TN_UCSI_CLIENT);
}

void fx_topology_nvidia_usbc(void)
{
	static const char *const shell[] = {"/dev/dri/card0", "/dev/dri/renderD128", NULL};

	fx_setup();
	fx_driver("pcieport", NULL);
	fx_driver("skl_uncore", NULL);
	fx_driver("i915", "i915");
	fx_driver("nvidia", "nvidia");
	fx_module("nvidia_drm", 0, NULL);
	fx_module("nvidia_modeset", 0, "nvidia_drm");
	fx_module("nvidia_uvm", 0, NULL);
	fx_module("nvidia", 0, "nvidia_modeset nvidia_uvm");
	fx_driver_blocks_unbind("nvidia");
	fx_devnode("dev/nvidia0", 'c', 195, 0, "nvidia", NULL);
	fx_devnode("dev/nvidiactl", 'c', 195, 255, "nvidia", NULL);
	fx_driver("xhci_hcd", "xhci_pci");
	fx_module("xhci_hcd", 0, "xhci_pci");
	fx_driver("nvidia-gpu", "i2c_nvidia_gpu");
	fx_module("drm_kms_helper", 0, "i915 nvidia_drm");
	fx_module("drm", 0, "drm_kms_helper i915 nvidia_drm");
	fx_driver("snd_hda_intel", "snd_hda_intel");

	fx_pci("0000:00:00.0", 0x8086, 0x3e30, 0x060000, "skl_uncore", 0, -1);
	fx_pci(TN_BRIDGE, 0x8086, 0x1901, 0x060400, "pcieport", TN_GROUP, -1);
	fx_pci(TN_IGPU, 0x8086, 0x3e98, 0x030000, "i915", 2, 1);
	fx_pci(TN_CHIPSET_USB, 0x8086, 0xa36d, 0x0c0330, "xhci_hcd", 3, -1);
	fx_pci(TN_CHIPSET_AUDIO, 0x8086, 0xa348, 0x040300, "snd_hda_intel", 8, -1);
	fx_pci(TN_GPU, 0x10de, 0x1e04, 0x030000, "nvidia", TN_GROUP, 0);
	fx_pci(TN_AUDIO, 0x10de, 0x10f7, 0x040300, "snd_hda_intel", TN_GROUP, -1);
	fx_pci(TN_USB, 0x10de, 0x1ad6, 0x0c0330, "xhci_hcd", TN_GROUP, -1);
	fx_pci(TN_UCSI, 0x10de, 0x1ad7, 0x0c8000, "nvidia-gpu", TN_GROUP, -1);
	/* quirk_gpu_hda, quirk_gpu_usb, quirk_gpu_usb_typec_ucsi. */
	fx_devlink(TN_GPU, TN_AUDIO);
	fx_devlink(TN_GPU, TN_USB);
	fx_devlink(TN_GPU, TN_UCSI);
	ucsi_ccg_client();
	/* The chipset audio's HDMI codec is i915's, as on every Intel desktop with an iGPU. */
	fx_audio_component(TN_IGPU, TN_CHIPSET_AUDIO);

	fx_drm_card(0, TN_IGPU, "i915", "DP-1:connected HDMI-A-1:disconnected");
	fx_drm_card(1, TN_GPU, "nvidia_drm", "DP-1:disconnected HDMI-A-1:disconnected");
	fx_fb(0, TN_IGPU, "i915drmfb", "i915");
	consoles();
	fx_sound(0, TN_CHIPSET_AUDIO);
	fx_sound(1, TN_AUDIO);

	gdm(FX_PID_BASE + 73, shell);
	fx_nvme("0000:02:00.0", 12, 0, 2, "/");
	fx_sync();
}
