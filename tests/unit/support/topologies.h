/* Fixture trees for the real-world topologies of topologies.md, and the bad cases the
 * planner must refuse. Each builds a fresh tree (fx_setup()); tests may add to it after. */
#ifndef VH_TEST_TOPOLOGIES_H
#define VH_TEST_TOPOLOGIES_H

/*
 * 1. RTX 4070 on an AMD host; the host display on the iGPU (amdgpu, boot_vga 1, fb0,
 *    fbcon, gdm holding its card). Group 13: the GPU (nvidia, boot_vga 0) and its audio.
 *    nvidia stack loaded (nvidia_drm, nvidia_modeset, nvidia_uvm, nvidia), nothing holds
 *    the NVIDIA nodes; its connector is disconnected.
 */
#define T1_GPU "0000:01:00.0"
#define T1_AUDIO "0000:01:00.1"
#define T1_GROUP 13
#define T1_IGPU "0000:10:00.0"
#define T1_IGPU_AUDIO "0000:10:00.1"
void fx_topology1(void);

/*
 * 2. RTX 2080 Ti on an i9-9900K. Group 1: root port 00:01.0 (pcieport, builtin) and four
 *    functions: VGA (nouveau), audio (snd_hda_intel), USB (xhci_hcd from module xhci_pci),
 *    UCSI (no driver). The iGPU 00:02.0 (i915, boot_vga 1) drives the console; the chipset
 *    xHCI 00:14.0 and audio 00:1f.3 use the same drivers as the card's functions.
 */
#define T2_BRIDGE "0000:00:01.0"
#define T2_GPU "0000:01:00.0"
#define T2_AUDIO "0000:01:00.1"
#define T2_USB "0000:01:00.2"
#define T2_UCSI "0000:01:00.3"
#define T2_GROUP 1
#define T2_IGPU "0000:00:02.0"
void fx_topology2(void);

/*
 * 3. RX 6600 (07:00.0, group 18; audio 07:00.1, group 19) for the guest next to an
 *    RX 6750 XT for the host (group 1 with the root port, the AMD switch bridges, the VGA
 *    03:00.0 and its audio). amdgpu drives both cards; the host card has fb0, fbcon, gdm.
 */
#define T3_GPU "0000:07:00.0"
#define T3_AUDIO "0000:07:00.1"
#define T3_GROUP_GPU 18
#define T3_GROUP_AUDIO 19
#define T3_HOST_GPU "0000:03:00.0"
#define T3_HOST_AUDIO "0000:03:00.1"
void fx_topology3(void);

/*
 * 4. Laptop with an Intel Iris Xe iGPU 00:02.0 (i915, boot_vga 1, group 1) as the only
 *    GPU: fb0 "i915drmfb" owned by it, fbcon on vtcon1, card0 with the eDP panel
 *    connected, gdm (display-manager.service) active in graphics mode with gnome-shell
 *    holding card0 and renderD128. The firmware framebuffer is gone, as after i915 took
 *    over. i915 drives nothing else. The root NVMe is in its own group.
 */
#define T4_IGPU "0000:00:02.0"
#define T4_GROUP 1
#define T4_AUDIO "0000:00:1f.3"
#define T4_NVME "0000:02:00.0"
void fx_topology4(void);

/*
 * 5. Single-GPU desktop: GTX 1050 (10de:1c81, nvidia, boot_vga 1) and its audio in group 1
 *    with the root port. efi-framebuffer.0 bound, fb0 "EFI VGA", fbcon on vtcon1, card0
 *    (nvidia_drm modeset=Y) with HDMI-A-1 connected. gdm active in graphics mode with Xorg
 *    holding card0, /dev/nvidiactl, /dev/nvidia0 and /dev/nvidia-modeset;
 *    nvidia-persistenced.service holding /dev/nvidia0 and /dev/nvidiactl. Unbinding from
 *    nvidia blocks while its nodes are open.
 */
#define T5_BRIDGE "0000:00:01.0"
#define T5_GPU "0000:01:00.0"
#define T5_AUDIO "0000:01:00.1"
#define T5_GROUP 1
#define T5_XORG_PID (FX_PID_BASE + 50)
#define T5_PERSISTENCED_PID (FX_PID_BASE + 51)
void fx_topology5(void);

/*
 * Bad cases: topology 1 with one more device in group 13 (no ACS between them).
 * nvme: an NVMe controller (nvme) whose nvme0n1p2 is mounted on / (ext4).
 * nic: an Ethernet controller (e1000e), eth0, carrying the IPv4 default route.
 */
/*
 * An Intel PCH (a B660 board): host bridge 00:00.0 alone in group 0; the functions of
 * 00:1f in group 10, as Intel boards put them (no ACS between functions of one device):
 * LPC/eSPI 00:1f.0 (ISA bridge 0x060100, no driver), HD audio 00:1f.3 (snd_hda_intel),
 * SMBus 00:1f.4 (i801_smbus from i2c_i801), SPI flash 00:1f.5 (0x0c8000, intel-spi from
 * spi_intel_pci).
 */
#define TPCH_LPC "0000:00:1f.0"
#define TPCH_AUDIO "0000:00:1f.3"
#define TPCH_SMBUS "0000:00:1f.4"
#define TPCH_SPI "0000:00:1f.5"
#define TPCH_GROUP 10
void fx_topology_pch(void);

#define TBAD_NVME "0000:02:00.0"
#define TBAD_NIC "0000:03:00.0"
void fx_topology_bad_nvme(void);
void fx_topology_bad_nic(void);

#endif
