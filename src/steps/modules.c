/* The unload-module step (remove a driver module once nothing uses it; undo loads it and
 * binds back the devices it recorded) and the load-module step (vfio-pci). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/root.h"
#include "base/util.h"
#include "facts/holders.h"
#include "facts/modules.h"
#include "kernel/attr.h"
#include "kernel/kernel.h"
#include "steps/step.h"

#define VFIO_DRIVER "vfio-pci"

/* --- unload-module M RECORD --- */

static int loaded_is(void *data)
{
	return module_state_of(data) == MODULE_LOADED;
}

static int gone_is(void *data)
{
	return module_state_of(data) == MODULE_ABSENT;
}

static long refcnt_of(const char *mod)
{
	char p[VH_PATH_MAX];
	long v;

	if (path_join(p, sizeof(p), "/sys/module/%s/refcnt", mod) < 0 || attr_read_long(p, &v) < 0)
		return 0;
	return v;
}

static int refcnt_zero(void *data)
{
	return refcnt_of(data) == 0;
}

/* Names what keeps mod in use: a holder module, or a process holding a node of one of
 * its devices. */
static int busy_reason(int r, const char *mod, const struct step_dev *devs, size_t n)
{
	char holders[MODULE_CHAIN_MAX][MODULE_NAME_MAX], desc[256];
	struct holder h;
	size_t nh;

	if (module_holders(mod, holders, ARRAY_SIZE(holders), &nh) == 0 && nh)
		return reason_set(r, "module %s is in use: module %s holds it", mod, holders[0]);
	for (size_t i = 0; i < n; i++)
		if (holders_first(devs[i].bdf, &h) > 0) {
			holders_describe(&h, 1, desc, sizeof(desc));
			return reason_set(r, "module %s is in use: %s", mod, desc);
		}
	/* Another driver's reference (an audio driver's HDMI component on a GPU driver, for
	 * one): the device can still be unbound without removing the module. */
	return reason_set(r,
			  "module %s is still in use (use count %ld) and no process holds its "
			  "devices' nodes; unload-modules = none hands the devices over without "
			  "removing it",
			  mod, refcnt_of(mod));
}

static int unload_apply(const struct step *s, const struct step_env *env)
{
	char holders[MODULE_CHAIN_MAX][MODULE_NAME_MAX];
	const struct step_dev *devs = s->unload_module.devs;
	size_t n = s->unload_module.n_devs, nh;
	int timeout = step_timeout_ms(env);
	int64_t deadline = now_ms() + timeout, left;
	int r;

	switch (module_state_of(s->arg)) {
	case MODULE_ABSENT:
		log_info("module %s is not loaded; nothing to remove", s->arg);
		return 0;
	case MODULE_BUILTIN:
		log_info("module %s is built in; not removed", s->arg);
		return 0;
	case MODULE_LOADED:
		break;
	}
	/* Its holders are earlier steps; one left here was loaded meanwhile. */
	r = module_holders(s->arg, holders, ARRAY_SIZE(holders), &nh);
	if (r < 0)
		return reason_set(r, "cannot read the holders of module %s: %s", s->arg,
				  strerror(-r));
	if (nh)
		return reason_set(-EBUSY, "module %s is in use: module %s holds it", s->arg,
				  holders[0]);
	/* rmmod does not wait: users still closing their files get until the deadline. */
	r = wait_until(refcnt_zero, (void *)s->arg, timeout);
	if (r == -ETIMEDOUT)
		return busy_reason(-EBUSY, s->arg, devs, n);
	log_info("removing module %s", s->arg);
	left = deadline - now_ms();
	r = kernel_module_remove(s->arg, left > 0 ? (int)left : 1);
	if (r == -EBUSY || r == -EWOULDBLOCK || r == -EAGAIN)
		return busy_reason(-EBUSY, s->arg, devs, n);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return reason_set(r, "cannot remove module %s: %s", s->arg, strerror(-r));
	left = deadline - now_ms();
	r = wait_until(gone_is, (void *)s->arg, left > 0 ? (int)left : 0);
	if (r < 0)
		return reason_set(r, "module %s is still loaded after its removal", s->arg);
	return 0;
}

struct dev_wait {
	const char *bdf;
	const char *driver;
};

/* 1 once the device has a driver (the one wanted or not), -ENOENT when gone. */
static int dev_bound(void *data)
{
	struct dev_wait *w = data;
	char drv[64];
	int r;

	r = device_driver("pci", w->bdf, drv, sizeof(drv));
	if (r < 0)
		return r;
	return drv[0] != '\0';
}

/* Binds dev to its recorded driver unless loading the module did. */
static int rebind(const struct step_dev *d, int timeout_ms)
{
	struct dev_wait w = {d->bdf, d->driver};
	char drv[64], p[VH_PATH_MAX];
	int r;

	r = device_driver("pci", d->bdf, drv, sizeof(drv));
	if (r == -ENOENT) {
		log_warn("device %s is gone; cannot give it back to %s", d->bdf, d->driver);
		return 0;
	}
	if (r < 0)
		return r;
	if (!drv[0]) {
		log_info("binding %s to %s", d->bdf, d->driver);
		r = path_join(p, sizeof(p), "/sys/bus/pci/drivers/%s/bind", d->driver);
		if (r < 0)
			return r;
		r = kernel_write(p, d->bdf, timeout_ms);
		if (r == -EDEADLK) {
			log_err("device %s is wedged (a kernel call on it did not return earlier "
				"in this run); giving it back to %s is left for 'vfio-handoff "
				"recover'",
				d->bdf, d->driver);
			return r;
		}
		/* A probe the module load started may have won the race: the link decides. */
		if (r < 0)
			log_debug("bind of %s to %s: %s", d->bdf, d->driver, strerror(-r));
		r = wait_until(dev_bound, &w, timeout_ms);
		if (r < 0 && r != -ETIMEDOUT)
			return r;
		device_driver("pci", d->bdf, drv, sizeof(drv));
	}
	if (strcmp(drv, d->driver) == 0)
		return 0;
	log_err("device %s is on %s, not back on %s; try 'echo %s > "
		"/sys/bus/pci/drivers/%s/bind'",
		d->bdf, drv[0] ? drv : "no driver", d->driver, d->bdf, d->driver);
	return -EIO;
}

static int unload_undo(const struct step *s, const struct step_env *env)
{
	const struct step_dev *devs = s->unload_module.devs;
	size_t n = s->unload_module.n_devs;
	int timeout = step_timeout_ms(env), r, ret = 0;

	if (module_state_of(s->arg) == MODULE_ABSENT) {
		log_info("loading module %s", s->arg);
		/* modprobe.d and kernel command line options are applied by the probe. */
		r = kernel_module_load(s->arg, "");
		if (r < 0) {
			log_err("cannot load module %s again: %s; try 'modprobe %s'", s->arg,
				strerror(-r), s->arg);
			return r;
		}
		r = wait_until(loaded_is, (void *)s->arg, timeout);
		if (r < 0) {
			log_err("module %s did not appear in /sys/module after loading", s->arg);
			return r;
		}
	}
	for (size_t i = 0; i < n; i++) {
		r = rebind(&devs[i], timeout);
		if (r < 0 && !ret)
			ret = r;
	}
	return ret;
}

const struct step_ops step_ops_unload_module = {
    .name = "unload-module",
    .apply = unload_apply,
    .undo = unload_undo,
};

/* --- load-module M OPTIONS --- */

static bool module_loaded(const char *name)
{
	char mod[MODULE_NAME_MAX];

	/* /sys/module names use '_' where module names may use '-'. */
	return module_norm_name(name, mod, sizeof(mod)) == 0 &&
	       module_state_of(mod) != MODULE_ABSENT;
}

static int vfio_driver_present(void *data)
{
	char p[VH_PATH_MAX];

	if (path_join(p, sizeof(p), "/sys/bus/pci/drivers/%s", (const char *)data) < 0)
		return -ENAMETOOLONG;
	return path_exists(p);
}

static int load_module_apply(const struct step *s, const struct step_env *env)
{
	int r;

	if (module_loaded(s->arg)) {
		if (s->load_module.options[0])
			log_info("%s is already loaded; its options stay as they are (wanted: %s)",
				 s->arg, s->load_module.options);
	} else {
		r = kernel_module_load(s->arg, s->load_module.options);
		if (r == -ETIMEDOUT)
			return reason_set(r,
					  "module %s: loading it did not return within %d ms (its "
					  "init hangs); it is left for 'vfio-handoff recover'",
					  s->arg, kernel_timeout_ms());
		/* A refusal (install command, a root other than /) has set its reason. */
		if (r < 0)
			return reason_set(r, "cannot load module %s: %s", s->arg, strerror(-r));
	}
	if (strcmp(s->arg, VFIO_DRIVER) == 0) {
		r = wait_until(vfio_driver_present, (void *)VFIO_DRIVER, step_timeout_ms(env));
		if (r < 0)
			return reason_set(r,
					  "module vfio-pci loaded but its driver did not appear in "
					  "/sys/bus/pci/drivers");
	}
	return 0;
}

static int load_module_undo(const struct step *s, const struct step_env *env)
{
	/* vfio-pci stays loaded: other VMs may use it and unloading it gains nothing. */
	return 0;
}

const struct step_ops step_ops_load_module = {
    .name = "load-module",
    .apply = load_module_apply,
    .undo = load_module_undo,
};
