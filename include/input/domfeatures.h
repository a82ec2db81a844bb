/* What the domain XML says beyond its devices that decides whether a passthrough works:
 * the firmware, the KVM and Hyper-V features that hide the hypervisor, and the ROM files
 * given to host devices. Read by check; the hand-off itself does not use them. */
#ifndef VH_INPUT_DOMFEATURES_H
#define VH_INPUT_DOMFEATURES_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

#include "base/bdf.h"

#define DOMFEATURES_ROM_MAX 4096 /* a path, with its NUL */

/* A <rom file='...'/> on a PCI <hostdev> or an <interface type='hostdev'>. */
struct domrom {
	struct bdf addr; /* the host device's source address */
	int line;	 /* line of the <rom> element */
	char file[DOMFEATURES_ROM_MAX];
};

struct domfeatures {
	/* <os firmware='efi'>, or a <loader type='pflash'> (the form before libvirt 5.2). */
	bool uefi;
	bool kvm_hidden;       /* <features><kvm><hidden state='on'/> */
	bool hyperv_vendor_id; /* <features><hyperv><vendor_id state='on' value='...'/> */
	struct domrom *roms;   /* malloc'ed */
	size_t n_roms;
};

/*
 * Reads the features from the <domain> element root, whose hostdev addresses domxml.c has
 * already checked. Unknown values read as absent: a domain libvirt accepts is never
 * refused here, except a ROM path too long to be one (-EINVAL with a reason naming the
 * line). On failure nothing stays allocated.
 */
int domfeatures_read(const xmlNode *root, const char *what, struct domfeatures *ret);
void domfeatures_free(struct domfeatures *f);

#endif
