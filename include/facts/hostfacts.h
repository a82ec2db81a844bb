/* Facts about the host that decide whether a passthrough works, read for check: interrupt
 * remapping and the IOMMU mode, a device's reset methods and who shares its bus reset, and
 * the security module that confines QEMU. Read-only, under the root prefix. */
#ifndef VH_FACTS_HOSTFACTS_H
#define VH_FACTS_HOSTFACTS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/bdf.h"

enum ir_state {
	IR_UNKNOWN, /* nothing says */
	IR_ON,	    /* interrupts go through a remapping domain */
	IR_OFF,	    /* MSI interrupts are delivered without one */
};

struct iommu_facts {
	enum ir_state ir;
	char ir_evidence[160];	/* "IR-PCI-MSI in /proc/interrupts", "DMAR ecap says ..." */
	bool ir_capable;	/* an Intel unit's ecap has the IR bit, or an AMD-Vi unit */
	bool unsafe_interrupts; /* vfio_iommu_type1 allow_unsafe_interrupts=Y */
	char cmdline[160];	/* the IOMMU words of /proc/cmdline ("intel_iommu=on iommu=pt") */
	bool passthrough;	/* iommu=pt or iommu.passthrough=1 on the command line */
	char domain_type[16];	/* a group's default domain: "DMA-FQ", "identity", "" unknown */
};

/* Fills ret from /proc/interrupts, /sys/class/iommu, /proc/cmdline and
 * /sys/kernel/iommu_groups. Never fails: what cannot be read stays unknown. */
void hostfacts_iommu(struct iommu_facts *ret);

/*
 * The device's reset methods as the kernel lists them in reset_method ("flr bus"), into
 * buf. 0; -ENOENT when the kernel has no reset_method (before 5.15), and then *ret_reset
 * says whether the device has a reset attribute at all.
 */
int hostfacts_reset_methods(const struct bdf *addr, char *buf, size_t n, bool *ret_reset);

/*
 * The devices a secondary bus reset for addr also resets: the others on its bus and every
 * device below a bridge on that bus. At most max into ret, sorted; *ret_n is how many
 * there are in all. 0 or -errno.
 */
int hostfacts_bus_peers(const struct bdf *addr, struct bdf *ret, size_t max, size_t *ret_n);

enum lsm { LSM_NONE, LSM_APPARMOR, LSM_SELINUX };
/* The security module that would confine QEMU: AppArmor or SELinux, when enabled. */
enum lsm hostfacts_lsm(void);

#endif
