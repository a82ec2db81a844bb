/* The device steps: driver_override, unbind from the driver, bind to vfio-pci, and their
 * undo; a device whose driver does not return from a call is wedged with its group. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/root.h"
#include "base/util.h"
#include "facts/holders.h"
#include "kernel/attr.h"
#include "kernel/kernel.h"
#include "steps/step.h"

#define VFIO_DRIVER "vfio-pci"

static int dev_attr(const char *bdf, const char *attr, char *buf, size_t n)
{
	return path_join(buf, n, "/sys/bus/pci/devices/%s/%s", bdf, attr);
}

/* driver_override's show() and store() take device_lock like bind and unbind: both go
 * through the seam with a deadline, never in our own process. */
static int current_override(const char *bdf, char *buf, size_t n, int timeout_ms)
{
	char p[VH_PATH_MAX];
	int r;

	r = dev_attr(bdf, "driver_override", p, sizeof(p));
	if (r < 0)
		return r;
	if (!path_exists(p))
		return -ENOENT;
	r = kernel_read(p, buf, n, timeout_ms);
	if (r < 0)
		return r;
	strip_trailing(buf);
	if (strcmp(buf, "(null)") == 0)
		buf[0] = '\0';
	return 0;
}

static int write_override(const char *bdf, const char *val, int timeout_ms)
{
	char p[VH_PATH_MAX];
	int r;

	r = dev_attr(bdf, "driver_override", p, sizeof(p));
	if (r < 0)
		return r;
	/* An empty line clears it; the kernel then shows "(null)". */
	return kernel_write(p, val && *val ? val : "\n", timeout_ms);
}

/* Every member of bdf's IOMMU group is left alone for the rest of the run. */
static void wedge_group(const char *bdf)
{
	char p[VH_PATH_MAX];
	struct dirent *e;
	DIR *d;

	if (path_join(p, sizeof(p), "/sys/bus/pci/devices/%s/iommu_group/devices", bdf) < 0)
		return;
	d = opendir(p);
	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			kernel_wedge(e->d_name);
	closedir(d);
}

/*
 * A kernel call on bdf did not return in time (r -ETIMEDOUT), or bdf was wedged by an
 * earlier one (-EDEADLK): sets the reason, naming who holds the device where we can see
 * it. A vfio-pci remove that blocks means a VFIO user holds the device, and with it the
 * whole group's DMA ownership: no member can go back to a host driver until it lets go,
 * so the group is left alone for the rest of the run instead of waiting on each member.
 */
static void stuck_msg(int r, const char *bdf, const char *drv, const char *what, int timeout_ms,
		      char *buf, size_t n)
{
	char who[256];

	if (r == -EDEADLK) {
		snprintf_chk(buf, n,
			     "device %s is wedged (a kernel call on it did not return earlier in "
			     "this run); %s is left for 'vfio-handoff recover'",
			     bdf, what);
		return;
	}
	if (drv && strcmp(drv, VFIO_DRIVER) == 0)
		wedge_group(bdf);
	if (holders_name(bdf, who, sizeof(who)) <= 0)
		snprintf(who, sizeof(who), "is the device still in use?");
	snprintf_chk(buf, n,
		     "device %s: %s did not return within %d ms (%s); the device is wedged until "
		     "that process lets go, then run 'vfio-handoff recover'",
		     bdf, what, timeout_ms, who);
}

static int stuck(int r, const char *bdf, const char *drv, const char *what, int timeout_ms)
{
	char msg[768];

	stuck_msg(r, bdf, drv, what, timeout_ms, msg, sizeof(msg));
	return reason_set(r, "%s", msg);
}

/* The same for an undo, which logs its reason. */
static int log_stuck(int r, const char *bdf, const char *drv, const char *what, int timeout_ms)
{
	char msg[768];

	stuck_msg(r, bdf, drv, what, timeout_ms, msg, sizeof(msg));
	log_err("%s", msg);
	return r;
}

static bool is_stuck(int r)
{
	return r == -ETIMEDOUT || r == -EDEADLK;
}

struct driver_wait {
	const char *bdf;
	const char *want; /* "" for unbound */
};

static int driver_is(void *data)
{
	struct driver_wait *w = data;
	char drv[64];
	int r;

	r = device_driver("pci", w->bdf, drv, sizeof(drv));
	if (r < 0)
		return r;
	return strcmp(drv, w->want) == 0;
}

static int wait_driver(const char *bdf, const char *want, int timeout_ms)
{
	struct driver_wait w = {bdf, want};

	return wait_until(driver_is, &w, timeout_ms);
}

static int driver_unbind(const char *bdf, const char *drv, int timeout_ms)
{
	char p[VH_PATH_MAX];
	int r;

	r = path_join(p, sizeof(p), "/sys/bus/pci/drivers/%s/unbind", drv);
	if (r < 0)
		return r;
	/* A driver's remove() can block forever (nvidia while /dev/nvidia* is open,
	 * vfio-pci while the device is open): time-boxed. */
	r = kernel_write(p, bdf, timeout_ms);
	if (r < 0)
		return r;
	return wait_driver(bdf, "", timeout_ms);
}

/* --- override B PREVIOUS --- */

static int override_apply(const struct step *s, const struct step_env *env)
{
	char cur[64];
	int r;

	int t = step_timeout_ms(env);

	r = write_override(s->arg, VFIO_DRIVER, t);
	if (is_stuck(r))
		return stuck(r, s->arg, NULL, "setting driver_override", t);
	if (r < 0)
		return reason_set(r, "device %s: cannot set driver_override: %s", s->arg,
				  strerror(-r));
	r = current_override(s->arg, cur, sizeof(cur), t);
	if (is_stuck(r))
		return stuck(r, s->arg, NULL, "reading driver_override", t);
	if (r < 0 || strcmp(cur, VFIO_DRIVER) != 0)
		return reason_set(r < 0 ? r : -EIO, "device %s: driver_override did not take",
				  s->arg);
	return 0;
}

static int override_undo(const struct step *s, const struct step_env *env)
{
	char cur[64];
	int r;

	int t = step_timeout_ms(env);

	r = current_override(s->arg, cur, sizeof(cur), t);
	if (r == -ENOENT) {
		log_warn("device %s is gone; nothing to restore", s->arg);
		return 0;
	}
	if (is_stuck(r))
		return log_stuck(r, s->arg, NULL, "restoring driver_override", t);
	if (r < 0)
		return r;
	if (strcmp(cur, s->override.previous) == 0)
		return 0;
	r = write_override(s->arg, s->override.previous, t);
	if (is_stuck(r))
		return log_stuck(r, s->arg, NULL, "restoring driver_override", t);
	if (r < 0)
		log_err("device %s: cannot restore driver_override: %s", s->arg, strerror(-r));
	return r;
}

const struct step_ops step_ops_override = {
    .name = "override",
    .apply = override_apply,
    .undo = override_undo,
};

/* --- unbind B DRIVER --- */

static int unbind_apply(const struct step *s, const struct step_env *env)
{
	char drv[64];
	int r;

	r = device_driver("pci", s->arg, drv, sizeof(drv));
	if (r < 0)
		return reason_set(r, "device %s: cannot read its driver: %s", s->arg, strerror(-r));
	/* Unloading its module may already have unbound it. */
	if (!drv[0])
		return 0;
	if (strcmp(drv, s->unbind.driver) != 0)
		return reason_set(-EBUSY, "device %s is on driver %s, not %s as planned", s->arg,
				  drv, s->unbind.driver);
	r = driver_unbind(s->arg, drv, step_timeout_ms(env));
	if (is_stuck(r)) {
		char what[128];

		snprintf_chk(what, sizeof(what), "unbind from %s", drv);
		return stuck(r, s->arg, drv, what, step_timeout_ms(env));
	}
	if (r < 0)
		return reason_set(r, "device %s: unbind from %s failed: %s", s->arg, drv,
				  strerror(-r));
	return 0;
}

static int bind_to(const char *bdf, const char *drv, int timeout_ms)
{
	char p[VH_PATH_MAX];
	int r;

	r = path_join(p, sizeof(p), "/sys/bus/pci/drivers/%s/bind", drv);
	if (r < 0)
		return r;
	r = kernel_write(p, bdf, timeout_ms);
	if (r < 0) {
		/* Some drivers only accept the device through a probe. */
		if (path_join(p, sizeof(p), "/sys/bus/pci/drivers_probe") < 0)
			return r;
		r = kernel_write(p, bdf, timeout_ms);
		if (r < 0)
			return r;
	}
	return wait_driver(bdf, drv, timeout_ms);
}

static int unbind_undo(const struct step *s, const struct step_env *env)
{
	char drv[64], ov[64], p[VH_PATH_MAX], what[STEP_REC_MAX + 32];
	int t = step_timeout_ms(env), r;

	snprintf_chk(what, sizeof(what), "giving it back to %s", s->unbind.driver);
	r = device_driver("pci", s->arg, drv, sizeof(drv));
	if (r == -ENOENT) {
		log_warn("device %s is gone; cannot give it back to %s", s->arg, s->unbind.driver);
		return 0;
	}
	if (r < 0)
		return r;
	if (strcmp(drv, s->unbind.driver) == 0)
		return 0;
	if (kernel_is_wedged(s->arg))
		return log_stuck(-EDEADLK, s->arg, NULL, what, t);
	if (drv[0]) {
		log_err("device %s is on %s; expected it unbound before giving it back to %s",
			s->arg, drv, s->unbind.driver);
		return -EBUSY;
	}
	/* The override would make the kernel refuse the host driver. */
	r = current_override(s->arg, ov, sizeof(ov), t);
	if (is_stuck(r))
		return log_stuck(r, s->arg, NULL, what, t);
	if (r == 0 && strcmp(ov, VFIO_DRIVER) == 0) {
		r = write_override(s->arg, "", t);
		if (is_stuck(r))
			return log_stuck(r, s->arg, NULL, what, t);
		if (r < 0) {
			log_err("device %s: cannot clear driver_override: %s", s->arg,
				strerror(-r));
			return r;
		}
	}
	r = path_join(p, sizeof(p), "/sys/bus/pci/drivers/%s", s->unbind.driver);
	if (r < 0)
		return r;
	if (!path_exists(p)) {
		/* Its module was unloaded; loading it back (a later undo) probes the device. */
		log_info("device %s: driver %s is not loaded yet; its module's reload binds it",
			 s->arg, s->unbind.driver);
		return 0;
	}
	r = bind_to(s->arg, s->unbind.driver, t);
	if (r == -EDEADLK || (r == -ETIMEDOUT && kernel_is_wedged(s->arg)))
		return log_stuck(r, s->arg, NULL, what, t);
	if (r < 0)
		log_err("device %s: cannot bind it back to %s: %s", s->arg, s->unbind.driver,
			strerror(-r));
	return r;
}

const struct step_ops step_ops_unbind = {
    .name = "unbind",
    .apply = unbind_apply,
    .undo = unbind_undo,
};

/* --- bind-vfio B --- */

static int bind_vfio_apply(const struct step *s, const struct step_env *env)
{
	char p[VH_PATH_MAX], drv[64];
	int r;

	r = device_driver("pci", s->arg, drv, sizeof(drv));
	if (r < 0)
		return reason_set(r, "device %s: cannot read its driver: %s", s->arg, strerror(-r));
	if (strcmp(drv, VFIO_DRIVER) == 0)
		return 0;
	if (drv[0])
		return reason_set(-EBUSY,
				  "device %s was taken by driver %s before vfio-pci could "
				  "bind it",
				  s->arg, drv);
	r = path_join(p, sizeof(p), "/sys/bus/pci/drivers_probe");
	if (r < 0)
		return r;
	r = kernel_write(p, s->arg, step_timeout_ms(env));
	if (is_stuck(r))
		return stuck(r, s->arg, NULL, "probing it for vfio-pci", step_timeout_ms(env));
	if (r < 0)
		return reason_set(r, "device %s: probe failed: %s", s->arg, strerror(-r));
	/* drivers_probe reports success even when nothing binds: check the link. */
	r = wait_driver(s->arg, VFIO_DRIVER, step_timeout_ms(env));
	if (r < 0) {
		device_driver("pci", s->arg, drv, sizeof(drv));
		return reason_set(r == -ETIMEDOUT ? -EIO : r,
				  "device %s did not bind to vfio-pci (driver now: %s)", s->arg,
				  drv[0] ? drv : "none");
	}
	return 0;
}

static int bind_vfio_undo(const struct step *s, const struct step_env *env)
{
	char drv[64];
	int r;

	r = device_driver("pci", s->arg, drv, sizeof(drv));
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (strcmp(drv, VFIO_DRIVER) != 0)
		return 0;
	r = driver_unbind(s->arg, VFIO_DRIVER, step_timeout_ms(env));
	if (is_stuck(r))
		return log_stuck(r, s->arg, VFIO_DRIVER, "unbind from vfio-pci",
				 step_timeout_ms(env));
	if (r < 0)
		log_err("device %s: cannot unbind it from vfio-pci: %s", s->arg, strerror(-r));
	return r;
}

const struct step_ops step_ops_bind_vfio = {
    .name = "bind-vfio",
    .apply = bind_vfio_apply,
    .undo = bind_vfio_undo,
};
