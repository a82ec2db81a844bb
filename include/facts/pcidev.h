/* Discovery of PCI devices and IOMMU groups: sysfs for driver, group, boot_vga,
 * reset_method, override; libpci for identity and pci.ids names. Read-only. */
#ifndef VH_PCIDEV_H
#define VH_PCIDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "base/bdf.h"

struct pcidev {
	struct bdf addr;
	char name[BDF_STRLEN]; /* "0000:01:00.0" */
	uint16_t vendor, device;
	uint32_t class;	   /* 24-bit class code: 0x030000 */
	char driver[64];   /* "" when unbound */
	char module[64];   /* module of the driver, "" if none or builtin */
	char override[64]; /* driver_override, "" when "(null)" */
	int group;	   /* IOMMU group number, -1 when none */
	int boot_vga;	   /* 1, 0, or -1 when the file is absent */
	char reset_method[64];
	bool bridge;	     /* class 0x0604 / 0x0600-0x06ff header type 1 */
	char desc[160];	     /* "NVIDIA Corporation AD104 [GeForce RTX 4070]" */
	char class_desc[64]; /* "VGA compatible controller" */
};

/* Fills ret from sysfs for the device named bdf. -ENOENT when it does not exist. */
int pcidev_read(const struct bdf *addr, struct pcidev *ret);

/* Names from pci.ids through libpci (root-prefixed sysfs). Fills desc and class_desc;
 * leaves them as hex ids when libpci cannot name them. Never fails. */
void pcidev_name(struct pcidev *dev);

/* The IOMMU group of a device, found from the device's iommu_group link, with its members
 * sorted by address. *ret_devs is malloc'ed. -ENOENT when the device has no group
 * (IOMMU off). */
int pcidev_group(const struct bdf *addr, int *ret_group, struct pcidev **ret_devs, size_t *ret_n);

/* All IOMMU group numbers present, sorted. *ret is malloc'ed. */
int pcidev_list_groups(int **ret, size_t *ret_n);
/* Members of a group by number (for listing only; plans find groups from devices). */
int pcidev_group_members(int group, struct pcidev **ret_devs, size_t *ret_n);

bool pcidev_is_bridge(const struct pcidev *dev);
bool pcidev_is_display(const struct pcidev *dev); /* class 0x03xxxx */

#endif
