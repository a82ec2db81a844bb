/* Processes that hold a PCI device's nodes open (/dev/dri/card* and renderD*, /dev/fb*,
 * the /dev/snd nodes of its sound card, /dev/nvidia*), found through /proc/PID/fd by device
 * number; and the end-holders step that waits for them (or ends them). */
#ifndef VH_HOLDERS_H
#define VH_HOLDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

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

/* The processes holding any of nodes, sorted by pid, at most max (the rest counted in
 * *ret_total when not NULL). */
int holders_find(const struct devnode *nodes, size_t n_nodes, struct holder *ret, size_t max,
		 size_t *ret_n, size_t *ret_total);

/* The first process holding a node of bdf: 1 with *ret, 0 when none. */
int holders_first(const char *bdf, struct holder *ret);

/* Formats "process 1234 (Xorg) holds /dev/dri/card0[ and N more]" into buf. */
void holders_describe(const struct holder *h, size_t total, char *buf, size_t n);

/* Who keeps bdf busy, for a message: the first process holding one of its nodes or its
 * VFIO group node (/dev/vfio/N), described as holders_describe() does. 1 with buf filled,
 * 0 when none is found. */
int holders_name(const char *bdf, char *buf, size_t n);

/*
 * Signals process pid, found holding one of nodes, through a pidfd: the pidfd is opened
 * first and the process it names must still hold one of nodes, so a pid reused since the
 * scan is never signalled (-ESRCH, as for a process that is gone). -EPERM, before any
 * system call, when the root prefix is not "/" (a fixture's pids are not real processes).
 */
int holders_signal(pid_t pid, int sig, const struct devnode *nodes, size_t n_nodes);

#ifdef VH_TEST_SEAMS
/* The signal seam (test builds only): a fake that ends fixture processes. NULL restores
 * holders_signal(). */
typedef int (*holders_kill_fn)(pid_t pid, int sig);
void holders_set_kill(holders_kill_fn fn);
#endif

#endif
