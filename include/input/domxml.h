/* The libvirt domain XML: name, uuid and the PCI devices libvirt hands to vfio-pci (PCI
 * hostdevs, SR-IOV interfaces, NVMe disks). libxml2 with no network, no entity
 * expansion, no DTD loading and a bounded size. */
#ifndef VH_DOMXML_H
#define VH_DOMXML_H

#include <stddef.h>

#include "base/bdf.h"
#include "input/domfeatures.h"

#define DOMXML_MAX_BYTES (4 * 1024 * 1024)
#define DOMXML_MAX_HOSTDEVS 64

enum managed { MANAGED_ABSENT = -1, MANAGED_NO = 0, MANAGED_YES = 1 };

/* What names the device in the XML. libvirt detaches all three the same way when they are
 * managed (virhostdev.c); we hand each over managed or not, as for <hostdev>: an
 * unmanaged device is one libvirt expects to find on vfio-pci already. */
enum hostdev_kind {
	HOSTDEV_PCI,	   /* <hostdev mode='subsystem' type='pci'> */
	HOSTDEV_INTERFACE, /* <interface type='hostdev'> with a PCI source: an SR-IOV VF */
	HOSTDEV_NVME,	   /* <disk type='nvme'> (or an nvme <backingStore>): its controller */
};

/* One per PCI address: two nvme disks on one controller (two namespaces) make one. */
struct hostdev {
	struct bdf addr;
	enum hostdev_kind kind;
	enum managed managed; /* on <hostdev>, <interface>, or the nvme disk's <source> */
	int line;	      /* line of the element in the input */
};

/* "hostdev", "interface hostdev", "nvme disk": how messages name the element. */
const char *domxml_kind_name(enum hostdev_kind kind);

struct domxml {
	char name[256];
	char uuid[40];		  /* "" when absent */
	struct hostdev *hostdevs; /* malloc'ed */
	size_t n_hostdevs;
	struct domfeatures features; /* input/domfeatures.c */
};

/*
 * Parses a document. what names the input in errors ("stdin", a file name).
 * On error returns -EINVAL (or -ENOMEM, -EFBIG) and records a one-line reason with
 * reason_set() naming what and the line: "win10.xml:12: hostdev address bus '0xZZ' is
 * not a number".
 */
int domxml_parse_mem(const char *buf, size_t len, const char *what, struct domxml *ret);
/* Reads at most DOMXML_MAX_BYTES from fd (larger input: -EFBIG) and parses it. */
int domxml_parse_fd(int fd, const char *what, struct domxml *ret);
int domxml_parse_file(const char *path, struct domxml *ret);
void domxml_free(struct domxml *d);

#endif
