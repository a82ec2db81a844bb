/* Ending the processes that hold a device's nodes (the end-holders step). */
#ifndef VH_STEPS_HOLDERS_H
#define VH_STEPS_HOLDERS_H

#include <stddef.h>
#include <sys/types.h>

#include "facts/holders.h"

/*
 * Signals process pid, found holding one of nodes, through a pidfd: the pidfd is opened
 * first and the process it names must still hold one of nodes, so a pid reused since the
 * scan is never signalled (-ESRCH, as for a process that is gone). -EPERM, before any
 * system call, when the root prefix is not "/" (a fixture's pids are not real processes).
 */
int holders_signal(pid_t pid, int sig, const struct devnode *nodes, size_t n_nodes);

/* What the end-holders steps of one prepare share: one /proc scan for a group's
 * functions (steps/holders.c). */
struct holders_scan {
	unsigned seq; /* step_seq() of the last step that used the scan; 0: none */
	char members[32][BDF_STRLEN];
	size_t n;
};

/* From here on the end-holders steps share scan (the caller's, alive until it calls this
 * with NULL again); with NULL each step scans for itself. */
void holders_scan_share(struct holders_scan *scan);

#ifdef VH_TEST_SEAMS
/* The signal seam (test builds only): a fake that ends fixture processes. NULL restores
 * holders_signal(). */
typedef int (*holders_kill_fn)(pid_t pid, int sig);
void holders_set_kill(holders_kill_fn fn);
#endif

#endif
