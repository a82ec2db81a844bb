/* The end-holders step: wait for the processes holding a device's nodes to close them, or
 * end them (SIGTERM, then SIGKILL after the grace) through a pidfd. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "base/log.h"
#include "base/root.h"
#include "base/util.h"
#include "facts/holders.h"
#include "steps/holders.h"
#include "steps/step.h"

#ifdef VH_TEST_SEAMS

static holders_kill_fn kill_fn;

void holders_set_kill(holders_kill_fn fn)
{
	kill_fn = fn;
}

#endif

/* --- end-holders B NODES --- */

struct holders_wait {
	const struct devnode *nodes;
	size_t n_nodes;
	struct holder h[HOLDERS_MAX];
	size_t n, total;
};

static int none_left(void *data)
{
	struct holders_wait *w = data;
	int r = holders_find(w->nodes, w->n_nodes, w->h, ARRAY_SIZE(w->h), &w->n, &w->total);

	if (r < 0)
		return r;
	return w->total == 0;
}

int holders_signal(pid_t pid, int sig, const struct devnode *nodes, size_t n_nodes)
{
	char name[32];
	int pidfd, r = 0;

	/* A fixture's pids name real processes of this machine: never signal them. */
	if (!root_is_real())
		return -EPERM;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return -errno;
	/* The pidfd names one process for good; the pid may have been reused between the
	 * scan and now, so the process it names must still hold a node. */
	snprintf(name, sizeof(name), "%d", (int)pid);
	if (!holders_pid_holds(name, nodes, n_nodes))
		r = -ESRCH;
	else if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
		r = -errno;
	close(pidfd);
	return r;
}

/* Signals every holder found last; refuses to signal init, ourselves or our parent (the
 * hook's parent is libvirtd). */
static int signal_all(struct holders_wait *w, int sig)
{
	for (size_t i = 0; i < w->n; i++) {
		const struct holder *h = &w->h[i];
		int r;

		if (h->pid <= 1 || (root_is_real() && (h->pid == getpid() || h->pid == getppid())))
			return reason_set(-EPERM, "process %d (%s) holds %s and cannot be ended",
					  (int)h->pid, h->comm, h->node);
		log_info("sending %s to process %d (%s), which holds %s",
			 sig == SIGKILL ? "SIGKILL" : "SIGTERM", (int)h->pid, h->comm, h->node);
#ifdef VH_TEST_SEAMS
		if (kill_fn)
			r = kill_fn(h->pid, sig);
		else
#endif
			r = holders_signal(h->pid, sig, w->nodes, w->n_nodes);
		if (r < 0 && r != -ESRCH)
			return reason_set(r, "cannot signal process %d (%s), which holds %s: %s",
					  (int)h->pid, h->comm, h->node, strerror(-r));
	}
	return 0;
}

static struct holders_scan *shared;

void holders_scan_share(struct holders_scan *scan)
{
	shared = scan;
}

/*
 * One /proc scan for a group's end-holders steps within a prepare (holders_scan_share()):
 * the first scans
 * for the nodes of every function of the device's IOMMU group. When none is held, the
 * end-holders steps of the other functions that follow it at once (nothing ran between:
 * step_seq()) take that scan as theirs; it is a moment old, as a scan of their own would be
 * by the next step. Each /proc/PID/fd read is a system call per process, dear under
 * emulation.
 */
static bool scanned_clear(struct holders_scan *sc, const char *bdf)
{
	if (!sc || !sc->seq || step_seq() != sc->seq + 1)
		return false;
	for (size_t i = 0; i < sc->n; i++)
		if (strcmp(sc->members[i], bdf) == 0) {
			sc->seq = step_seq();
			return true;
		}
	return false;
}

/* Scans once for the nodes of bdf's whole group: true when none is held (and the scan is
 * kept for the group's next steps), false when some are or the group cannot be listed. */
static bool group_clear(struct holders_scan *sc, const char *bdf)
{
	struct devnode nodes[HOLDERS_MAX_NODES * 4];
	struct holder h[1];
	size_t n, found, total;

	if (!sc)
		return false;
	sc->seq = 0;
	if (holders_group_nodes(bdf, nodes, ARRAY_SIZE(nodes), &n, sc->members,
				ARRAY_SIZE(sc->members), &sc->n) < 0 ||
	    holders_find(nodes, n, h, ARRAY_SIZE(h), &found, &total) < 0 || total)
		return false;
	for (size_t i = 0; i < sc->n; i++)
		if (strcmp(sc->members[i], bdf) == 0) {
			sc->seq = step_seq();
			return true;
		}
	return false;
}

static int end_holders_apply(const struct step *s, const struct step_env *env)
{
	struct devnode nodes[HOLDERS_MAX_NODES];
	struct holders_wait w = {.nodes = nodes};
	int timeout = step_timeout_ms(env);
	int64_t deadline = now_ms() + timeout;
	char desc[256];
	int r;

	r = holders_nodes(s->arg, nodes, ARRAY_SIZE(nodes), &w.n_nodes);
	if (r < 0)
		return reason_set(r, "device %s: cannot list its device nodes: %s", s->arg,
				  strerror(-r));
	if (!w.n_nodes || scanned_clear(shared, s->arg) || group_clear(shared, s->arg))
		return 0;
	r = none_left(&w);
	if (r != 0)
		return r < 0 ? reason_set(r, "cannot scan processes: %s", strerror(-r)) : 0;

	if (env && env->cfg && env->cfg->holders == CFG_HOLDERS_KILL) {
		int grace = env->cfg->kill_grace_ms > 0 ? env->cfg->kill_grace_ms : 0;
		int64_t left;

		r = signal_all(&w, SIGTERM);
		if (r < 0)
			return r;
		r = wait_until(none_left, &w, grace < timeout ? grace : timeout);
		if (r == -ETIMEDOUT) {
			r = signal_all(&w, SIGKILL);
			if (r < 0)
				return r;
			left = deadline - now_ms();
			/* A process in uninterruptible sleep takes a moment even after KILL. */
			r = wait_until(none_left, &w, left > 0 ? (int)left : 0);
		}
	} else {
		holders_describe(&w.h[0], w.total, desc, sizeof(desc));
		log_info("device %s: waiting up to %d ms: %s", s->arg, timeout, desc);
		r = wait_until(none_left, &w, timeout);
	}
	if (r == -ETIMEDOUT && w.n) {
		holders_describe(&w.h[0], w.total, desc, sizeof(desc));
		return reason_set(-EBUSY, "%s%s", desc,
				  env && env->cfg && env->cfg->holders == CFG_HOLDERS_KILL
				      ? " and did not exit after SIGKILL"
				      : ": stop it, or set holders = kill");
	}
	if (r < 0)
		return reason_set(r, "device %s: cannot scan processes: %s", s->arg, strerror(-r));
	return 0;
}

static int end_holders_undo(const struct step *s, const struct step_env *env)
{
	/* Nothing to give back: a process that exited is not restarted; the units that
	 * started them are (stop-unit). */
	log_info("end-holders %s: nothing to undo", s->arg);
	return 0;
}

const struct step_ops step_ops_end_holders = {
    .name = "end-holders",
    .apply = end_holders_apply,
    .undo = end_holders_undo,
};
