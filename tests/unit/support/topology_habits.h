/* Fixture topologies for drivers' habits that sysfs shows only in part: the HDMI audio
 * component through which snd_hda_intel pins i915, the device links the PCI quirks put
 * between a discrete GPU's functions, and a GPU's USB-C functions on drivers the host's
 * own controllers use too. */
#ifndef VH_TEST_TOPOLOGY_HABITS_H
#define VH_TEST_TOPOLOGY_HABITS_H

#include <stdbool.h>

/* An HDMI audio component as i915 makes it (fake_component.c): while gpu is bound to its
 * native driver and hda to its own, hda's driver pins gpu's driver module (one refcnt,
 * no holders entry) and the device link hda -> gpu exists. */
void fx_audio_component(const char *gpu, const char *hda);
/* A permanent device link, consumer -> supplier, as the PCI quirks add for a discrete
 * GPU's audio, USB and UCSI functions. No reference on any module. */
void fx_devlink(const char *supplier, const char *consumer);

/*
 * Laptop (topology 4's Raptor Lake-P): Iris Xe 00:02.0 (8086:a7a0, i915, boot_vga 1,
 * group 1) is the only GPU: fb0 "i915drmfb", fbcon on vtcon1, card0 with the eDP panel,
 * gdm with gnome-shell holding card0 and renderD128. The PCH's HD audio 00:1f.3
 * (8086:51ca, snd_hda_intel, its own group 13 here) has the HDMI codec bound to i915
 * through the audio component: i915's refcnt is 1 with no holders, and rmmod i915 fails
 * EBUSY, until the component unbinds. No audio server runs: nothing pins snd_hda_intel.
 * The root NVMe is in its own group.
 */
#define TL_IGPU "0000:00:02.0"
#define TL_AUDIO "0000:00:1f.3"
#define TL_GROUP 1
#define TL_AUDIO_GROUP 13
void fx_topology_laptop_hdmi(void);

/*
 * Single AMD GPU desktop on an Intel board: RX 580 (Polaris 10) 01:00.0 (1002:67df,
 * amdgpu, boot_vga 1) and its HDMI audio 01:00.1 (1002:aaf0, snd_hda_intel) in group 1
 * with the root port 00:01.0; the quirk's device link from the audio to the GPU. amdgpu's
 * HDMI audio component pins nothing (its ops have no owner). The chipset's HD audio
 * 00:1f.3 (8086:a348, group 8) is on snd_hda_intel too. fb0 "amdgpudrmfb", fbcon, gdm
 * with gnome-shell holding card0; pipewire holds the chipset's controlC0.
 */
#define TA_BRIDGE "0000:00:01.0"
#define TA_GPU "0000:01:00.0"
#define TA_AUDIO "0000:01:00.1"
#define TA_GROUP 1
#define TA_CHIPSET_AUDIO "0000:00:1f.3"
void fx_topology_amd_hdmi(void);

/*
 * Topology 2's board with the proprietary driver: RTX 2080 Ti behind root port 00:01.0
 * (group 1) with its USB-C functions: VGA 01:00.0 (10de:1e04, nvidia), audio 01:00.1
 * (10de:10f7, snd_hda_intel), xHCI 01:00.2 (10de:1ad6, xhci_hcd from xhci_pci) and UCSI
 * 01:00.3 (10de:1ad7, class 0x0c8000, nvidia-gpu from i2c_nvidia_gpu, whose I2C adapter
 * i2c-5 carries the ccgx-ucsi client 5-0008 on ucsi_ccg); the quirks' device links from
 * functions 1-3 to function 0. The host keeps the iGPU 00:02.0 (i915, boot_vga 1: fb0,
 * fbcon, gdm), the chipset xHCI 00:14.0 (xhci_hcd) and the chipset audio 00:1f.3
 * (snd_hda_intel).
 */
#define TN_BRIDGE "0000:00:01.0"
#define TN_GPU "0000:01:00.0"
#define TN_AUDIO "0000:01:00.1"
#define TN_USB "0000:01:00.2"
#define TN_UCSI "0000:01:00.3"
#define TN_GROUP 1
#define TN_IGPU "0000:00:02.0"
#define TN_CHIPSET_USB "0000:00:14.0"
#define TN_CHIPSET_AUDIO "0000:00:1f.3"
#define TN_UCSI_CLIENT "5-0008"
void fx_topology_nvidia_usbc(void);

#endif
