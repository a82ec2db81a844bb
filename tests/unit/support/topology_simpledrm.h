/* Fixture topologies of a boot console on simpledrm (Fedora, Arch, Ubuntu kernels build
 * SYSFB_SIMPLEFB and DRM_SIMPLEDRM; Debian's build neither, so no guest here has it):
 * the firmware's framebuffer registered as simple-framebuffer.0, bound to the builtin
 * simpledrm, which makes its own DRM card (no render node) and fbdev, and carries fbcon.
 * When the native driver probes the GPU, the kernel's aperture helpers unregister
 * simple-framebuffer.0 and with it simpledrm's card and framebuffer. */
#ifndef VH_TEST_TOPOLOGY_SIMPLEDRM_H
#define VH_TEST_TOPOLOGY_SIMPLEDRM_H

/*
 * Before the native driver took over: a single NVIDIA RTX 4070 (boot_vga=1) with no
 * driver loaded (nouveau blacklisted, the proprietary one not installed: the usual
 * single-GPU pass-through desktop) and its audio function on snd_hda_intel, one group.
 * simple-framebuffer.0 bound to simpledrm: card0 ("Unknown-1" connected) under the
 * platform device, fb0 "simpledrmdrmfb", fbcon on vtcon1. gdm (display-manager.service)
 * with gnome-shell holding /dev/dri/card0.
 */
#define TSD_GPU "0000:01:00.0"
#define TSD_AUDIO "0000:01:00.1"
#define TSD_GROUP 14
#define TSD_FB "simple-framebuffer.0"
#define TSD_SHELL_PID (FX_PID_BASE + 60)
void fx_topology_simpledrm_before(void);
/* The same host, but nouveau is installed (not loaded): once loaded, it probes the GPU
 * when the GPU is unbound, making card1 and fb0 and unregistering simple-framebuffer.0. */
void fx_topology_simpledrm_native_later(void);

/*
 * After the native driver took over: an AMD RX 6600 (boot_vga=1) on amdgpu, its audio on
 * snd_hda_intel, one group. simple-framebuffer.0 is gone (unregistered when amdgpu
 * probed); amdgpu's card is card1 (card0 was simpledrm's), its fbdev fb0
 * "amdgpudrmfb" carries fbcon. gdm with gnome-shell holding /dev/dri/card1.
 */
#define TSA_GPU "0000:03:00.0"
#define TSA_AUDIO "0000:03:00.1"
#define TSA_GROUP 15
void fx_topology_simpledrm_after(void);

/* simpledrm's DRM card N under platform device dev, with one connector NAME:status. */
void fx_platform_drm_card(int n, const char *dev, const char *connector);

#endif
