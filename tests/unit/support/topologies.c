/* Fixture trees for the real-world topologies (ids, classes, drivers, modules, groups,
 * consoles, framebuffers, units, holders as the kernel shows them) and the bad cases. */
#include <stdbool.h>
#include <stddef.h>

#include "fixture.h"
#include "topologies.h"

/* Every topology is a whole host: it starts from a fresh tree. */
static void begin(void)
{
	fx_setup();
}

/* Both consoles as they are once fbcon took over from the dummy console. */
static void consoles(void)
{
	fx_vtcon(0, "(S) dummy device", 0);
	fx_vtcon(1, "(M) frame buffer device", 1);
}

/* A display manager as distributions set it up: gdm.service behind the
 * display-manager.service alias, keeping the VT in graphics mode, its compositor holding
 * the host's card. */
static void display_manager(int pid, const char *comm, const char *const holds[])
{
	fx_unit("gdm.service", true);
	fx_unit_alias("display-manager.service", "gdm.service");
	fx_unit_graphics("gdm.service");
	fx_proc(pid, comm, "gdm.service", holds);
}

/* The proprietary NVIDIA stack: nvidia_drm over nvidia_modeset over nvidia, nvidia_uvm
 * beside, the DRM helpers under nvidia_drm; the static nodes nvidia-modprobe makes. */
static void nvidia_stack(void)
{
	fx_driver("nvidia", "nvidia");
	fx_module("nvidia_drm", 0, NULL);
	fx_module("nvidia_modeset", 0, "nvidia_drm");
	fx_module("nvidia_uvm", 0, NULL);
	fx_module("nvidia", 0, "nvidia_modeset nvidia_uvm");
	fx_module_param("nvidia_drm", "modeset", "Y");
	fx_driver_blocks_unbind("nvidia");
	fx_devnode("dev/nvidia0", 'c', 195, 0, "nvidia", NULL);
	fx_devnode("dev/nvidiactl", 'c', 195, 255, "nvidia", NULL);
	fx_devnode("dev/nvidia-modeset", 'c', 195, 254, "nvidia_modeset", NULL);
	fx_devnode("dev/nvidia-uvm", 'c', 508, 0, "nvidia_uvm", NULL);
	fx_devnode("dev/nvidia-uvm-tools", 'c', 508, 1, "nvidia_uvm", NULL);
}

/* snd_hda_intel with the references a user session's audio server keeps on it. */
static void hda(int pinned)
{
	fx_driver("snd_hda_intel", "snd_hda_intel");
	fx_module("snd_hda_intel", pinned, NULL);
}

void fx_topology1(void)
{
	static const char *const shell[] = {"/dev/dri/card0", "/dev/dri/renderD128", NULL};
	static const char *const pipewire[] = {"/dev/snd/controlC0", NULL};

	begin();
	fx_driver("pcieport", NULL);
	nvidia_stack();
	fx_driver("amdgpu", "amdgpu");
	fx_module("drm_kms_helper", 0, "amdgpu nvidia_drm");
	fx_module("drm", 0, "drm_kms_helper amdgpu nvidia_drm");
	hda(2);

	fx_pci("0000:00:00.0", 0x1022, 0x14d8, 0x060000, NULL, 0, -1);
	fx_pci("0000:00:01.1", 0x1022, 0x14db, 0x060400, "pcieport", 2, -1);
	fx_pci(T1_GPU, 0x10de, 0x2786, 0x030000, "nvidia", T1_GROUP, 0);
	fx_pci(T1_AUDIO, 0x10de, 0x22bc, 0x040300, "snd_hda_intel", T1_GROUP, -1);
	fx_pci(T1_IGPU, 0x1002, 0x164e, 0x030000, "amdgpu", 20, 1);
	fx_pci(T1_IGPU_AUDIO, 0x1002, 0x1640, 0x040300, "snd_hda_intel", 21, -1);

	fx_drm_card(0, T1_IGPU, "amdgpu", "DP-1:connected HDMI-A-1:disconnected");
	fx_drm_card(1, T1_GPU, "nvidia_drm", "HDMI-A-1:disconnected DP-1:disconnected");
	fx_fb(0, T1_IGPU, "amdgpudrmfb", "amdgpu");
	consoles();
	fx_sound(0, T1_IGPU_AUDIO);
	fx_sound(1, T1_AUDIO);

	display_manager(FX_PID_BASE + 10, "gnome-shell", shell);
	fx_proc(FX_PID_BASE + 11, "pipewire", NULL, pipewire);
}

void fx_topology2(void)
{
	static const char *const shell[] = {"/dev/dri/card0", "/dev/dri/renderD128", NULL};

	begin();
	fx_driver("pcieport", NULL);
	fx_driver("skl_uncore", NULL);
	fx_driver("i915", "i915");
	fx_driver("nouveau", "nouveau");
	fx_driver("xhci_hcd", "xhci_pci");
	fx_module("xhci_hcd", 0, "xhci_pci");
	fx_module("drm_kms_helper", 0, "i915 nouveau");
	fx_module("drm", 0, "drm_kms_helper i915 nouveau");
	hda(2);

	fx_pci("0000:00:00.0", 0x8086, 0x3e30, 0x060000, "skl_uncore", 0, -1);
	fx_pci(T2_BRIDGE, 0x8086, 0x1901, 0x060400, "pcieport", T2_GROUP, -1);
	fx_pci(T2_IGPU, 0x8086, 0x3e98, 0x030000, "i915", 2, 1);
	fx_pci("0000:00:14.0", 0x8086, 0xa36d, 0x0c0330, "xhci_hcd", 3, -1);
	fx_pci("0000:00:1f.3", 0x8086, 0xa348, 0x040300, "snd_hda_intel", 8, -1);
	fx_pci(T2_GPU, 0x10de, 0x1e04, 0x030000, "nouveau", T2_GROUP, 0);
	fx_pci(T2_AUDIO, 0x10de, 0x10f7, 0x040300, "snd_hda_intel", T2_GROUP, -1);
	fx_pci(T2_USB, 0x10de, 0x1ad6, 0x0c0330, "xhci_hcd", T2_GROUP, -1);
	fx_pci(T2_UCSI, 0x10de, 0x1ad7, 0x0c8000, NULL, T2_GROUP, -1);

	fx_drm_card(0, T2_IGPU, "i915", "DP-1:connected HDMI-A-1:disconnected");
	fx_drm_card(1, T2_GPU, "nouveau", "DP-1:disconnected HDMI-A-1:disconnected");
	fx_fb(0, T2_IGPU, "i915drmfb", "i915");
	consoles();
	fx_sound(0, "0000:00:1f.3");
	fx_sound(1, T2_AUDIO);

	display_manager(FX_PID_BASE + 20, "gnome-shell", shell);
	fx_nvme("0000:02:00.0", 12, 0, 2, "/");
}

void fx_topology3(void)
{
	static const char *const shell[] = {"/dev/dri/card0", "/dev/dri/renderD128", NULL};

	begin();
	fx_driver("pcieport", NULL);
	fx_driver("amdgpu", "amdgpu");
	fx_module("drm_kms_helper", 0, "amdgpu");
	fx_module("drm", 0, "drm_kms_helper amdgpu");
	hda(2);

	fx_pci("0000:00:00.0", 0x1022, 0x1480, 0x060000, NULL, 0, -1);
	fx_pci("0000:00:01.0", 0x1022, 0x1483, 0x060400, "pcieport", 1, -1);
	fx_pci("0000:01:00.0", 0x1002, 0x1478, 0x060400, "pcieport", 1, -1);
	fx_pci("0000:02:00.0", 0x1002, 0x1479, 0x060400, "pcieport", 1, -1);
	fx_pci(T3_HOST_GPU, 0x1002, 0x73df, 0x030000, "amdgpu", 1, 1);
	fx_pci(T3_HOST_AUDIO, 0x1002, 0xab28, 0x040300, "snd_hda_intel", 1, -1);
	fx_pci("0000:00:03.1", 0x1022, 0x1483, 0x060400, "pcieport", 17, -1);
	fx_pci(T3_GPU, 0x1002, 0x73ff, 0x030000, "amdgpu", T3_GROUP_GPU, 0);
	fx_pci(T3_AUDIO, 0x1002, 0xab28, 0x040300, "snd_hda_intel", T3_GROUP_AUDIO, -1);

	fx_drm_card(0, T3_HOST_GPU, "amdgpu", "DP-1:connected HDMI-A-1:disconnected");
	fx_drm_card(1, T3_GPU, "amdgpu", "DP-1:disconnected HDMI-A-1:disconnected");
	/* amdgpu gives every card an fbdev; fbcon draws on the first. */
	fx_fb(0, T3_HOST_GPU, "amdgpudrmfb", "amdgpu");
	fx_fb(1, T3_GPU, "amdgpudrmfb", "amdgpu");
	consoles();
	fx_sound(0, T3_HOST_AUDIO);
	fx_sound(1, T3_AUDIO);

	display_manager(FX_PID_BASE + 30, "gnome-shell", shell);
	fx_nvme("0000:04:00.0", 20, 0, 2, "/");
}

void fx_topology4(void)
{
	static const char *const shell[] = {"/dev/dri/card0", "/dev/dri/renderD128", NULL};
	static const char *const pipewire[] = {"/dev/snd/controlC0", NULL};

	begin();
	fx_driver("pcieport", NULL);
	fx_driver("i915", "i915");
	fx_module("drm_kms_helper", 0, "i915");
	fx_module("drm", 0, "drm_kms_helper i915");
	hda(2);
	/* efifb is builtin; its device went when i915 took the framebuffer over. */
	fx_write("sys/bus/platform/drivers/efi-framebuffer/bind", "");
	fx_write("sys/bus/platform/drivers/efi-framebuffer/unbind", "");
	fx_write("sys/bus/platform/drivers/efi-framebuffer/uevent", "");

	fx_pci("0000:00:00.0", 0x8086, 0xa706, 0x060000, NULL, 0, -1);
	fx_pci(T4_IGPU, 0x8086, 0xa7a0, 0x030000, "i915", T4_GROUP, 1);
	fx_pci(T4_AUDIO, 0x8086, 0x51ca, 0x040380, "snd_hda_intel", 13, -1);
	fx_pci("0000:00:1d.0", 0x8086, 0x51b0, 0x060400, "pcieport", 14, -1);

	fx_drm_card(0, T4_IGPU, "i915", "eDP-1:connected HDMI-A-1:disconnected DP-1:disconnected");
	fx_fb(0, T4_IGPU, "i915drmfb", "i915");
	consoles();
	fx_sound(0, T4_AUDIO);

	display_manager(FX_PID_BASE + 40, "gnome-shell", shell);
	fx_proc(FX_PID_BASE + 41, "pipewire", NULL, pipewire);
	fx_nvme(T4_NVME, 14, 0, 2, "/");
}

void fx_topology5(void)
{
	static const char *const xorg[] = {"/dev/dri/card0", "/dev/nvidiactl", "/dev/nvidia0",
					   "/dev/nvidia-modeset", NULL};
	static const char *const persistenced[] = {"/dev/nvidiactl", "/dev/nvidia0", NULL};

	begin();
	fx_driver("pcieport", NULL);
	nvidia_stack();
	fx_module("drm_kms_helper", 0, "nvidia_drm");
	fx_module("drm", 0, "drm_kms_helper nvidia_drm");
	hda(0);

	fx_pci("0000:00:00.0", 0x8086, 0x3ec2, 0x060000, NULL, 0, -1);
	fx_pci(T5_BRIDGE, 0x8086, 0x1901, 0x060400, "pcieport", T5_GROUP, -1);
	fx_pci(T5_GPU, 0x10de, 0x1c81, 0x030000, "nvidia", T5_GROUP, 1);
	fx_pci(T5_AUDIO, 0x10de, 0x0fb9, 0x040300, "snd_hda_intel", T5_GROUP, -1);

	fx_platform_fb("efi-framebuffer.0", "efi-framebuffer");
	fx_fb(0, "efi-framebuffer.0", "EFI VGA", NULL);
	consoles();
	fx_drm_card(0, T5_GPU, "nvidia_drm",
		    "HDMI-A-1:connected DP-1:disconnected DVI-D-1:disconnected");
	fx_sound(0, T5_AUDIO);

	display_manager(T5_XORG_PID, "Xorg", xorg);
	fx_unit("nvidia-persistenced.service", true);
	fx_proc(T5_PERSISTENCED_PID, "nvidia-persistenced", "nvidia-persistenced.service",
		persistenced);
	fx_nvme("0000:02:00.0", 12, 0, 2, "/");
}

void fx_topology_bad_nvme(void)
{
	fx_topology1();
	/* Behind the same port as the GPU, in its group: the root filesystem's disk. */
	fx_nvme(TBAD_NVME, T1_GROUP, 0, 2, "/");
}

void fx_topology_bad_nic(void)
{
	fx_topology1();
	fx_nic(TBAD_NIC, T1_GROUP, "eth0", true);
}

void fx_topology_pch(void)
{
	begin();
	hda(0);
	fx_driver("i801_smbus", "i2c_i801");
	fx_driver("intel-spi", "spi_intel_pci");
	fx_pci("0000:00:00.0", 0x8086, 0x4648, 0x060000, NULL, 0, -1);
	fx_pci(TPCH_LPC, 0x8086, 0x7a86, 0x060100, NULL, TPCH_GROUP, -1);
	fx_pci(TPCH_AUDIO, 0x8086, 0x7ad0, 0x040300, "snd_hda_intel", TPCH_GROUP, -1);
	fx_pci(TPCH_SMBUS, 0x8086, 0x7aa3, 0x0c0500, "i801_smbus", TPCH_GROUP, -1);
	fx_pci(TPCH_SPI, 0x8086, 0x7aa4, 0x0c8000, "intel-spi", TPCH_GROUP, -1);
}
