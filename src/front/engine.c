/* The engine: prepare (plan, journal, apply, roll back on failure), release and recover
 * (undo the journal in reverse), status. Shared by the hook and the command. */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "base/bdf.h"
#include "base/log.h"
#include "base/util.h"
#include "facts/holders.h"
#include "front/engine.h"
#include "input/config.h"
#include "input/domxml.h"
#include "kernel/kernel.h"
#include "kernel/spawn.h"
#include "plan/plan.h"
#include "steps/holders.h"
#include "steps/journal.h"
#include "steps/step.h"
#include "steps/verify.h"

/* Long enough for another VM's whole prepare or release to finish first. */
#define LOCK_TIMEOUT_MS 120000

/* Test fault injection (real-kernel tier): VFIO_HANDOFF_FAULT=kill-before:K or kill-after:K
 * ends the process with SIGKILL right after journaling step K, or right after applying
 * it, so recovery from a crash at every point can be tested. Only in test builds
 * (VH_FAULTS, VH_TEST_SEAMS): a release build has no such switch. */
#if defined(VH_FAULTS) || defined(VH_TEST_SEAMS)
static void fault_point(const char *when, size_t k)
{
	const char *f = getenv("VFIO_HANDOFF_FAULT");
	size_t wl = strlen(when);

	if (!f || strncmp(f, when, wl) != 0 || f[wl] != ':')
		return;
	if (strtoul(f + wl + 1, NULL, 10) == k)
		raise(SIGKILL);
}
#else
static inline void fault_point(const char *when, size_t k)
{
}
#endif

/*
 * INT, TERM and HUP while the host is being changed: `sudo vfio-handoff prepare` in a
 * desktop terminal gets SIGHUP as soon as step 1 stops the display manager. Dying there
 * leaves the host half handed over; instead the signal is noted, the current step
 * finishes, and prepare rolls back (release finishes what it started). Handlers, not a
 * blocked mask: exec resets handlers, so the programs we run get the default actions. A
 * signal the caller ignores (nohup) stays ignored.
 */
static const int held_signals[] = {SIGINT, SIGTERM, SIGHUP};
static volatile sig_atomic_t stop_signal;

struct signal_hold {
	struct sigaction old[ARRAY_SIZE(held_signals)];
	bool set[ARRAY_SIZE(held_signals)];
};

static void note_signal(int sig)
{
	if (!stop_signal)
		stop_signal = sig;
}

static void signals_hold(struct signal_hold *h)
{
	struct sigaction sa = {.sa_handler = note_signal, .sa_flags = SA_RESTART};

	sigemptyset(&sa.sa_mask);
	stop_signal = 0;
	for (size_t i = 0; i < ARRAY_SIZE(held_signals); i++) {
		h->set[i] = false;
		if (sigaction(held_signals[i], NULL, &h->old[i]) < 0 ||
		    h->old[i].sa_handler == SIG_IGN)
			continue;
		h->set[i] = sigaction(held_signals[i], &sa, NULL) == 0;
	}
}

static void signals_restore(struct signal_hold *h)
{
	for (size_t i = 0; i < ARRAY_SIZE(held_signals); i++)
		if (h->set[i])
			sigaction(held_signals[i], &h->old[i], NULL);
}

static const char *signal_name(int sig)
{
	return sig == SIGINT	? "SIGINT"
	       : sig == SIGTERM ? "SIGTERM"
	       : sig == SIGHUP	? "SIGHUP"
				: "a signal";
}

static void describe(const struct step *s, char *buf, size_t n)
{
	if (step_describe(s, buf, n) < 0)
		snprintf(buf, n, "(step)");
}

/* The devices of d a kernel call did not return from in this run, as journal records that
 * name who held them. Filled into d (malloc'ed). */
static int wedged_records(struct journal_data *d)
{
	size_t n = kernel_wedged_count();

	d->wedged = n ? calloc(n, sizeof(*d->wedged)) : NULL;
	if (n && !d->wedged)
		return -ENOMEM;
	d->n_wedged = 0;
	for (size_t i = 0; i < n; i++) {
		struct journal_wedged *w = &d->wedged[d->n_wedged];
		const char *name = kernel_wedged_at(i);

		bool ours = false;

		if (bdf_parse(name, &w->dev) < 0)
			continue;
		for (size_t k = 0; k < d->n_devs && !ours; k++)
			ours = bdf_equal(&d->devs[k], &w->dev);
		if (!ours)
			continue;
		if (holders_name(name, w->why, sizeof(w->why)) <= 0)
			snprintf(w->why, sizeof(w->why), "no process seen holding it");
		for (char *c = w->why; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = ' ';
		log_err("device %s is wedged: a kernel call on it did not return (%s); it stays "
			"in the journal for 'vfio-handoff recover'",
			name, w->why);
		d->n_wedged++;
	}
	return 0;
}

/* Devices an earlier run left wedged: each is probed (a driver_override read takes the
 * device lock a stuck remove keeps) before anything is tried on it. While one still does
 * not answer, all of them (a group whose holder still holds it) are left alone. */
static void probe_wedged(const struct journal_data *d)
{
	bool still = false;

	for (size_t i = 0; i < d->n_wedged; i++) {
		char name[BDF_STRLEN];

		bdf_fmt(&d->wedged[i].dev, name);
		if (kernel_device_probe("pci", name, 0) == -ETIMEDOUT)
			still = true;
	}
	for (size_t i = 0; still && i < d->n_wedged; i++) {
		char name[BDF_STRLEN];

		kernel_wedge(bdf_fmt(&d->wedged[i].dev, name));
	}
}

/* Undoes steps[n-1..0]. What fails stays in the journal (in journal order) for recover;
 * the journal is removed when everything was undone. */
static int undo_and_keep(const char *vm, const struct step *steps, size_t n, const struct bdf *devs,
			 size_t n_devs, const struct step_env *env)
{
	struct journal_data left = {0};
	int r, failed = 0;

	left.steps = n ? calloc(n, sizeof(*left.steps)) : NULL;
	if (n && !left.steps)
		return -ENOMEM;
	for (size_t i = n; i-- > 0;) {
		char line[STEP_ARG_MAX + STEP_REC_MAX + 64];
		int64_t t0 = now_ms();

		describe(&steps[i], line, sizeof(line));
		r = step_undo(&steps[i], env);
		if (r < 0) {
			log_err("undo %zu/%zu: %s failed: %s", i + 1, n, line, strerror(-r));
			failed++;
			/* Filled from the back so the kept steps stay in journal order. */
			left.steps[n - failed] = steps[i];
			continue;
		}
		log_info("undo %zu/%zu: %s (%lld ms)", i + 1, n, line, (long long)(now_ms() - t0));
	}
	if (failed)
		memmove(left.steps, left.steps + n - failed, failed * sizeof(*left.steps));
	left.n_steps = failed;
	left.devs = (struct bdf *)devs;
	left.n_devs = n_devs;
	strlcpy_chk(left.vm, vm, sizeof(left.vm));
	r = wedged_records(&left);
	if (r == 0)
		r = journal_rewrite(vm, &left);
	if (r < 0)
		log_err("cannot update the journal of VM '%s': %s", vm, strerror(-r));
	free(left.steps);
	free(left.wedged);
	if (failed) {
		log_err("VM '%s': %d step(s) could not be undone; they stay in the journal for "
			"'vfio-handoff recover %s'",
			vm, failed, vm);
		return -EIO;
	}
	return r;
}

static int check_owners(const struct plan *p)
{
	for (size_t i = 0; i < p->n_devs; i++) {
		char owner[256];
		int r = journal_find_owner(&p->devs[i].addr, p->vm, owner, sizeof(owner));

		if (r < 0) {
			char why[512];

			/* Fails closed: a journal we cannot read may hold this device. */
			snprintf(why, sizeof(why), "%s",
				 reason_get()[0] ? reason_get() : strerror(-r));
			reason_clear();
			return reason_set(r, "VM '%s': cannot tell whether %s is free: %s", p->vm,
					  p->devs[i].name, why);
		}
		if (r > 0)
			return reason_set(-EBUSY, "VM '%s': device %s is held by VM '%s'", p->vm,
					  p->devs[i].name, owner);
	}
	return 0;
}

int engine_prepare(const char *vm, const struct vm_config *cfg, const struct domxml *dom,
		   bool dry_run, FILE *plan_out)
{
	struct step_env env = {.vm = vm, .cfg = cfg};
	struct holders_scan scan = {0};
	struct bdf devs[PLAN_MAX_DEVS];
	struct journal j = {.fd = -1};
	struct signal_hold hold;
	bool held = false;
	struct plan *p;
	int lock_fd = -1, r;
	int64_t t0 = now_ms();

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	kernel_timeout_set(cfg->timeout_ms);
	kernel_wedged_clear();
	if (!dry_run) {
		r = journal_lock(LOCK_TIMEOUT_MS, &lock_fd);
		if (r < 0)
			goto out;
	}
	/* Planned under the lock: what another VM just took is seen. */
	r = plan_build(vm, cfg, dom, p);
	if (r < 0)
		goto out;
	if (plan_out)
		plan_print(p, plan_out);
	/* Even with nothing to do: a device already on vfio-pci may be another VM's. */
	r = check_owners(p);
	if (r < 0)
		goto out;
	if (dry_run || p->n_steps == 0) {
		if (!dry_run)
			log_info("VM '%s': nothing to hand over", vm);
		goto out;
	}
	for (size_t i = 0; i < p->n_devs; i++)
		devs[i] = p->devs[i].addr;
	signals_hold(&hold);
	held = true;
	r = journal_create(vm, devs, p->n_devs, &j);
	if (r < 0)
		goto out;
	log_info("VM '%s': handing over %zu device(s) in %zu step(s)", vm, p->n_devs, p->n_steps);
	holders_scan_share(&scan);
	for (size_t i = 0; i < p->n_steps; i++) {
		char line[STEP_ARG_MAX + STEP_REC_MAX + 64];
		int64_t ts = now_ms();

		describe(&p->steps[i], line, sizeof(line));
		r = journal_append(&j, &p->steps[i]);
		if (r < 0) {
			/* Not applied: undo what came before it. */
			journal_close(&j);
			undo_and_keep(vm, p->steps, i, devs, p->n_devs, &env);
			goto out;
		}
		fault_point("kill-before", i + 1);
		r = step_apply(&p->steps[i], &env);
		if (r < 0) {
			log_err("step %zu/%zu: %s failed: %s", i + 1, p->n_steps, line,
				reason_get()[0] ? reason_get() : strerror(-r));
			if (!reason_get()[0])
				reason_set(r, "VM '%s': %s failed: %s", vm, line, strerror(-r));
			journal_close(&j);
			/* The failed step too: it may have half happened, and undo checks. */
			undo_and_keep(vm, p->steps, i + 1, devs, p->n_devs, &env);
			log_info("VM '%s': rolled back after step %zu failed", vm, i + 1);
			goto out;
		}
		log_info("[+%lldms] step %zu/%zu: %s (%lld ms)", (long long)(now_ms() - t0), i + 1,
			 p->n_steps, line, (long long)(now_ms() - ts));
		fault_point("kill-after", i + 1);
		if (stop_signal) {
			int sig = stop_signal;

			log_err("VM '%s': %s received during step %zu/%zu (%s); rolling back", vm,
				signal_name(sig), i + 1, p->n_steps, line);
			journal_close(&j);
			undo_and_keep(vm, p->steps, i + 1, devs, p->n_devs, &env);
			reason_clear();
			r = reason_set(-EINTR,
				       "VM '%s': interrupted by %s after step %zu/%zu (%s); rolled "
				       "back",
				       vm, signal_name(sig), i + 1, p->n_steps, line);
			goto out;
		}
	}
	journal_close(&j);
	log_info("VM '%s': %zu device(s) on vfio-pci in %lld ms", vm, p->n_devs,
		 (long long)(now_ms() - t0));
	r = 0;
out:
	holders_scan_share(NULL);
	if (held)
		signals_restore(&hold);
	if (lock_fd >= 0)
		close(lock_fd);
	plan_free(p);
	free(p);
	spawn_reap_pending();
	return r;
}

static int release_locked(const char *vm, const struct vm_config *cfg)
{
	struct step_env env = {.vm = vm, .cfg = cfg};
	struct journal_data d;
	int64_t t0 = now_ms();
	int r;

	r = journal_read(vm, &d);
	if (r == -ENOENT) {
		log_info("VM '%s' holds nothing: no journal", vm);
		return 0;
	}
	if (r < 0)
		return r;
	log_info("VM '%s': giving back %zu device(s), undoing %zu step(s)", vm, d.n_devs,
		 d.n_steps);
	probe_wedged(&d);
	r = undo_and_keep(vm, d.steps, d.n_steps, d.devs, d.n_devs, &env);
	display_verify_restored(&d, cfg);
	log_info("VM '%s': release %s in %lld ms", vm, r < 0 ? "incomplete" : "done",
		 (long long)(now_ms() - t0));
	journal_data_free(&d);
	return r;
}

int engine_release(const char *vm)
{
	struct signal_hold hold;
	struct vm_config cfg;
	int lock_fd, r;

	config_defaults(&cfg);
	/* The VM's own timeouts when its config still loads; defaults otherwise. */
	if (config_load(vm, &cfg) < 0) {
		log_warn("VM '%s': configuration unreadable (%s); releasing with defaults", vm,
			 reason_get());
		reason_clear();
		config_defaults(&cfg);
	}
	kernel_timeout_set(cfg.timeout_ms);
	kernel_wedged_clear();
	r = journal_lock(LOCK_TIMEOUT_MS, &lock_fd);
	if (r < 0)
		return r;
	/* Stopping half way would leave the host without what is still handed over. */
	signals_hold(&hold);
	r = release_locked(vm, &cfg);
	if (stop_signal)
		log_warn("VM '%s': %s received during release; the release was finished first", vm,
			 signal_name(stop_signal));
	signals_restore(&hold);
	close(lock_fd);
	spawn_reap_pending();
	return r;
}

int engine_recover(const char *vm)
{
	char **names;
	size_t n;
	int r, failed = 0;

	if (vm)
		return engine_release(vm);
	r = journal_list(&names, &n);
	if (r < 0)
		return reason_set(r, "cannot list journals: %s", strerror(-r));
	if (!n)
		log_info("no journal: nothing to recover");
	for (size_t i = 0; i < n; i++)
		if (engine_release(names[i]) < 0)
			failed++;
	journal_list_free(names, n);
	return failed ? -EIO : 0;
}
