/* Processes that hold a PCI device's nodes open (/dev/dri/card* and renderD*, /dev/fb*,
 * the /dev/snd nodes of its sound card, /dev/nvidia*), found through /proc/PID/fd by device
 * number. */
#ifndef VH_HOLDERS_H
#define VH_HOLDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/bdf.h"

#define HOLDERS_MAX_NODES 64
#define HOLDERS_MAX 32

struct devnode {
	char path[64]; /* "/dev/dri/card0", without the root prefix */
	bool has_rdev; /* device number known (sysfs "dev" or a char node) */
	dev_t rdev;
	bool has_ino; /* the node exists under the root: its identity */
	dev_t st_dev;
	ino_t st_ino;
};

struct holder {
	pid_t pid;
	char comm[32];
	char node[64]; /* the node it holds */
};

/* The device nodes of the PCI device bdf (those the kernel shows in sysfs, plus every
 * /dev/nvidia* when its driver is nvidia). A node known to sysfs but absent from /dev is
 * kept (by number); one that is neither is skipped. */
int holders_nodes(const char *bdf, struct devnode *ret, size_t max, size_t *ret_n);

/* The device nodes of bdf and of the other functions of its IOMMU group, for one scan
 * that covers them all; members[] gets the functions whose nodes all went into ret. */
int holders_group_nodes(const char *bdf, struct devnode *ret, size_t max, size_t *ret_n,
			char (*members)[BDF_STRLEN], size_t max_members, size_t *ret_members);

/* The node of nodes that process pid (its /proc directory name) holds open, or NULL. */
const struct devnode *holders_pid_holds(const char *pid, const struct devnode *nodes, size_t n);

/* The processes holding any of nodes, sorted by pid, at most max (the rest counted in
 * *ret_total when not NULL). */
int holders_find(const struct devnode *nodes, size_t n_nodes, struct holder *ret, size_t max,
		 size_t *ret_n, size_t *ret_total);

/* The first process holding a node of bdf: 1 with *ret, 0 when none. */
int holders_first(const char *bdf, struct holder *ret);

/* Formats "process 1234 (Xorg) holds /dev/dri/card0[ and N more]" into buf. */
void holders_describe(const struct holder *h, size_t total, char *buf, size_t n);

#ifdef VH_TEST_SEAMS
/* How many /proc scans holders_find() made (test builds only). */
unsigned holders_scan_count(void);
#endif

/* Who keeps bdf busy, for a message: the first process holding one of its nodes or its
 * VFIO group node (/dev/vfio/N), described as holders_describe() does. 1 with buf filled,
 * 0 when none is found. */
int holders_name(const char *bdf, char *buf, size_t n);

#endif
