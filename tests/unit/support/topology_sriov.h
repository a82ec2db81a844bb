/* Fixture topologies of the devices libvirt gives to vfio-pci besides <hostdev>: SR-IOV
 * virtual functions handed over as <interface type='hostdev'>, and NVMe controllers
 * handed over for a <disk type='nvme'>. */
#ifndef VH_TEST_TOPOLOGY_SRIOV_H
#define VH_TEST_TOPOLOGY_SRIOV_H

/*
 * A server NIC with SR-IOV on: an Intel E810 physical function 03:00.0 (8086:1593, ice,
 * group 16) carrying the IPv4 default route on enp3s0f0, sriov_numvfs 2 of 8; its two
 * virtual functions 03:01.0 and 03:01.1 (8086:1889, iavf), each in a group of its own
 * (40, 41) with its own interface (enp3s0f0v0, enp3s0f0v1) while bound, linked to the PF
 * (physfn; virtfn0, virtfn1). The root filesystem's NVMe 02:00.0 (group 12).
 */
#define TSR_PF "0000:03:00.0"
#define TSR_VF0 "0000:03:01.0"
#define TSR_VF1 "0000:03:01.1"
#define TSR_GROUP_VF0 40
#define TSR_GROUP_VF1 41
void fx_topology_sriov(void);

/*
 * Two NVMe controllers on nvme: the root filesystem's 02:00.0 (group 12, nvme0n1p2 on /)
 * and a second one 05:00.0 (group 22, nvme1n1 with partition nvme1n1p1, mounted
 * nowhere) for a <disk type='nvme'>.
 */
#define TNV_ROOT "0000:02:00.0"
#define TNV_DATA "0000:05:00.0"
#define TNV_GROUP_ROOT 12
#define TNV_GROUP_DATA 22
void fx_topology_nvme(void);

/*
 * fx_topology_nvme, plus a dual-port NVMe controller 06:00.0 (group 23) under native
 * multipath: its namespace's disk nvme2n1 is the subsystem's head
 * (devices/virtual/nvme-subsystem/nvme-subsys2/nvme2n1, multipath/nvme2c2n1 -> the path
 * under the controller), partition nvme2n1p1 mounted on /srv.
 */
#define TNV_MPATH "0000:06:00.0"
#define TNV_GROUP_MPATH 23
void fx_topology_nvme_multipath(void);

#endif
