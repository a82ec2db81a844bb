/* Unloading the driver modules of handed devices: planned only when a module would drive
 * nothing that stays on the host, its holder modules removed first; undo loads them back
 * in reverse and binds each recorded device to its driver if loading did not. Module
 * state is read from sysfs under the root prefix (libkmod would read the real one). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bdf.h"
#include "holders.h"
#include "log.h"
#include "plan.h"
#include "step.h"
#include "sysfs.h"
#include "unload.h"
#include "util.h"

/* Holder chains deeper than this are a loop or a bug. */
#define CHAIN_DEPTH_MAX 8
#define REC_DEVS "devs="

int unload_norm_name(const char *name, char *buf, size_t n)
{
	int r = strlcpy_chk(buf, name, n);

	if (r < 0)
		return r;
	for (char *c = buf; *c; c++)
		if (*c == '-')
			*c = '_';
	return 0;
}

enum unload_state unload_module_state(const char *name)
{
	char p[VH_PATH_MAX];

	if (!*name || strchr(name, '/') || path_join(p, sizeof(p), "/sys/module/%s", name) < 0 ||
	    !path_exists(p))
		return UNLOAD_ABSENT;
	/* Built-in code with parameters has a /sys/module entry but no initstate. */
	if (path_join(p, sizeof(p), "/sys/module/%s/initstate", name) < 0 || !path_exists(p))
		return UNLOAD_BUILTIN;
	return UNLOAD_LOADED;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The modules named in /sys/module/M/holders, sorted (readdir order is arbitrary and
 * plans must be reproducible). */
static int module_holders(const char *name, char (*ret)[UNLOAD_NAME_MAX], size_t max, size_t *ret_n)
{
	char p[VH_PATH_MAX];
	struct dirent *e;
	size_t n = 0;
	DIR *d;
	int r;

	r = path_join(p, sizeof(p), "/sys/module/%s/holders", name);
	if (r < 0)
		return r;
	d = opendir(p);
	if (!d) {
		*ret_n = 0;
		return errno == ENOENT ? 0 : -errno;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == max) {
			closedir(d);
			return -E2BIG;
		}
		if (strlcpy_chk(ret[n], e->d_name, UNLOAD_NAME_MAX) == 0)
			n++;
	}
	closedir(d);
	if (n)
		qsort(ret, n, UNLOAD_NAME_MAX, name_cmp);
	*ret_n = n;
	return 0;
}

static bool in_chain(char (*list)[UNLOAD_NAME_MAX], size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

static int chain_visit(const char *name, char (*ret)[UNLOAD_NAME_MAX], size_t max, size_t *n,
		       int depth)
{
	char holders[UNLOAD_CHAIN_MAX][UNLOAD_NAME_MAX];
	size_t nh;
	int r;

	if (depth > CHAIN_DEPTH_MAX)
		return -ELOOP;
	if (in_chain(ret, *n, name))
		return 0;
	r = module_holders(name, holders, ARRAY_SIZE(holders), &nh);
	if (r < 0)
		return r;
	/* Post-order: every holder (and its holders) before the module it holds. */
	for (size_t i = 0; i < nh; i++) {
		r = chain_visit(holders[i], ret, max, n, depth + 1);
		if (r < 0)
			return r;
	}
	if (in_chain(ret, *n, name))
		return 0;
	if (*n == max)
		return -E2BIG;
	return strlcpy_chk(ret[(*n)++], name, UNLOAD_NAME_MAX);
}

int unload_chain(const char *name, char (*ret)[UNLOAD_NAME_MAX], size_t max, size_t *ret_n)
{
	size_t n = 0;
	int r = chain_visit(name, ret, max, &n, 0);

	if (r < 0)
		return r;
	*ret_n = n;
	return 0;
}

static bool kept(const char *bdf, const struct pcidev *keep, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keep[i].name, bdf) == 0)
			return true;
	return false;
}

static bool entry_is_link(const char *dir, const struct dirent *e)
{
	char p[VH_PATH_MAX];
	struct stat st;

	if (e->d_type != DT_UNKNOWN)
		return e->d_type == DT_LNK;
	return snprintf_chk(p, sizeof(p), "%s/%s", dir, e->d_name) == 0 && lstat(p, &st) == 0 &&
	       S_ISLNK(st.st_mode);
}

/* Devices bound to driver drv on bus (the symlinks in its directory other than
 * "module"); the first not in keep[] goes into other. */
static int driver_other(const char *bus, const char *drv, const struct pcidev *keep, size_t n_keep,
			char *other, size_t n_other)
{
	char p[VH_PATH_MAX];
	struct dirent *e;
	int found = 0;
	DIR *d;

	if (path_join(p, sizeof(p), "/sys/bus/%s/drivers/%s", bus, drv) < 0)
		return -ENAMETOOLONG;
	d = opendir(p);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (!found && (e = readdir(d))) {
		struct bdf addr;

		if (e->d_name[0] == '.' || strcmp(e->d_name, "module") == 0 || !entry_is_link(p, e))
			continue;
		if (strcmp(bus, "pci") == 0 && bdf_parse(e->d_name, &addr) == 0 &&
		    kept(e->d_name, keep, n_keep))
			continue;
		snprintf(other, n_other, "%s%s%s", strcmp(bus, "pci") ? bus : "",
			 strcmp(bus, "pci") ? " device " : "", e->d_name);
		found = 1;
	}
	closedir(d);
	return found;
}

int unload_drives_other(const char *name, const struct pcidev *keep, size_t n_keep, char *other,
			size_t n_other)
{
	char p[VH_PATH_MAX], mod[UNLOAD_NAME_MAX];
	struct dirent *e;
	int r = 0;
	DIR *d;

	/* Every PCI device whose driver belongs to the module... */
	if (path_join(p, sizeof(p), "/sys/bus/pci/devices") < 0)
		return -ENAMETOOLONG;
	d = opendir(p);
	if (!d)
		return -errno;
	while (!r && (e = readdir(d))) {
		char lp[VH_PATH_MAX];

		if (e->d_name[0] == '.' || kept(e->d_name, keep, n_keep))
			continue;
		r = path_join(lp, sizeof(lp), "/sys/bus/pci/devices/%s/driver/module", e->d_name);
		if (r < 0 || link_base(lp, mod, sizeof(mod)) < 0) {
			r = 0;
			continue;
		}
		if (strcmp(mod, name) == 0) {
			snprintf(other, n_other, "%s", e->d_name);
			r = 1;
		}
	}
	closedir(d);
	if (r)
		return r;
	/* ...and every device of its drivers on any bus (a module may drive platform or USB
	 * devices too). */
	if (path_join(p, sizeof(p), "/sys/module/%s/drivers", name) < 0)
		return -ENAMETOOLONG;
	d = opendir(p);
	if (!d)
		return 0;
	while (!r && (e = readdir(d))) {
		char bus[64], *drv;

		if (e->d_name[0] == '.' || strlcpy_chk(bus, e->d_name, sizeof(bus)) < 0)
			continue;
		drv = strchr(bus, ':');
		if (!drv)
			continue;
		*drv++ = '\0';
		r = driver_other(bus, drv, keep, n_keep, other, n_other);
	}
	closedir(d);
	return r;
}

/* --- planning --- */

struct unload_plan {
	char mods[UNLOAD_CHAIN_MAX * 2][UNLOAD_NAME_MAX];
	size_t n;
};

/* The record of module mod: the handed devices its drivers drive now, to bind back if
 * loading the module does not. */
static int make_rec(const struct plan *p, const char *mod, char *rec, size_t n)
{
	size_t len = 0;

	rec[0] = '\0';
	for (size_t i = 0; i < p->n_devs; i++) {
		const struct pcidev *d = &p->devs[i];

		if (strcmp(d->module, mod) != 0 || !d->driver[0])
			continue;
		if (snprintf_chk(rec + len, n - len, "%s%s@%s", len ? "," : REC_DEVS, d->name,
				 d->driver) < 0)
			return -ENAMETOOLONG;
		len = strlen(rec);
	}
	return 0;
}

/* Plans the removal of mod and its holders. explicit: the user listed it, so a module
 * that cannot go is an error rather than a note. */
static int plan_module(struct plan *p, struct unload_plan *up, const char *mod, bool explicit)
{
	char chain[UNLOAD_CHAIN_MAX][UNLOAD_NAME_MAX], other[128], rec[STEP_REC_MAX];
	char who[UNLOAD_NAME_MAX + 16];
	size_t n;
	int r;

	switch (unload_module_state(mod)) {
	case UNLOAD_ABSENT:
		if (explicit)
			plan_note(p, "module %s is not loaded: nothing to unload", mod);
		return 0;
	case UNLOAD_BUILTIN:
		plan_note(p, "module %s is built into the kernel: its devices are unbound only",
			  mod);
		return 0;
	case UNLOAD_LOADED:
		break;
	}
	r = unload_chain(mod, chain, ARRAY_SIZE(chain), &n);
	if (r < 0)
		return reason_set(r, "cannot read the holders of module %s: %s", mod, strerror(-r));
	for (size_t i = 0; i < n; i++) {
		r = unload_drives_other(chain[i], p->devs, p->n_devs, other, sizeof(other));
		if (r < 0)
			return reason_set(r, "cannot tell what module %s drives: %s", chain[i],
					  strerror(-r));
		if (r == 0)
			continue;
		if (strcmp(chain[i], mod) == 0)
			snprintf(who, sizeof(who), "it");
		else
			snprintf(who, sizeof(who), "its holder %s", chain[i]);
		if (explicit)
			return reason_set(-EBUSY,
					  "unload-modules lists %s, but %s also drives %s, "
					  "which stays on the host",
					  mod, who, other);
		plan_note(p,
			  "module %s stays loaded: %s also drives %s; devices are unbound "
			  "only",
			  mod, who, other);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (in_chain(up->mods, up->n, chain[i]))
			continue;
		if (up->n == ARRAY_SIZE(up->mods))
			return reason_set(-E2BIG, "too many modules to unload");
		if (unload_module_state(chain[i]) != UNLOAD_LOADED)
			continue;
		r = make_rec(p, chain[i], rec, sizeof(rec));
		if (r < 0)
			return reason_set(r, "too many devices on module %s", chain[i]);
		r = plan_add_step(p, STEP_UNLOAD_MODULE, chain[i], rec);
		if (r < 0)
			return r;
		strlcpy_chk(up->mods[up->n++], chain[i], UNLOAD_NAME_MAX);
	}
	return 0;
}

int plan_unload_modules(struct plan *p, const struct vm_config *cfg)
{
	struct unload_plan up = {.n = 0};
	char mod[UNLOAD_NAME_MAX];
	int r;

	if (cfg->unload == CFG_UNLOAD_NONE) {
		plan_note(p, "unload-modules = none: devices are unbound from their drivers only");
		return 0;
	}
	if (cfg->unload == CFG_UNLOAD_LIST) {
		for (size_t i = 0; i < cfg->n_unload; i++) {
			if (unload_norm_name(cfg->unload_list[i], mod, sizeof(mod)) < 0 ||
			    strchr(mod, '/'))
				return reason_set(-EINVAL, "invalid module name '%s'",
						  cfg->unload_list[i]);
			r = plan_module(p, &up, mod, true);
			if (r < 0)
				return r;
		}
		return 0;
	}
	/* auto: only where the host display is handed over. A secondary GPU is unbound from
	 * its driver alone; removing a module there gains nothing and fails whenever the
	 * desktop keeps, say, the HDMI audio device open. */
	if (!p->host_display)
		return 0;
	for (size_t i = 0; i < p->n_devs; i++) {
		const struct pcidev *d = &p->devs[i];

		if (!d->driver[0] || strcmp(d->driver, "vfio-pci") == 0)
			continue;
		if (!d->module[0]) {
			plan_note(p,
				  "driver %s of %s is built into the kernel: the device is "
				  "unbound only",
				  d->driver, d->name);
			continue;
		}
		r = plan_module(p, &up, d->module, false);
		if (r < 0)
			return r;
	}
	return 0;
}

/* --- unload-module M RECORD --- */

struct rec_dev {
	char bdf[BDF_STRLEN];
	char driver[64];
};

/* Parses "devs=B@drv,B@drv" (or ""). No module options are recorded: the probe that
 * loads the module back applies those of modprobe.d and the kernel command line, as at
 * boot, and /sys/module/M/parameters cannot tell the options a module was loaded with
 * from its defaults (nor show those without a readable parameter file). */
static int rec_parse(const char *rec, struct rec_dev *devs, size_t max, size_t *ret_n)
{
	char buf[STEP_REC_MAX], *tok, *save = NULL;
	size_t n = 0;

	if (strlcpy_chk(buf, rec, sizeof(buf)) < 0)
		return -EINVAL;
	if (buf[0] && !str_has_prefix(buf, REC_DEVS))
		return -EINVAL;
	for (tok = buf[0] ? strtok_r(buf + strlen(REC_DEVS), ",", &save) : NULL; tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *at = strchr(tok, '@');
		struct bdf addr;

		if (!at || n == max)
			return -EINVAL;
		*at++ = '\0';
		if (bdf_parse(tok, &addr) < 0 || !*at || strchr(at, '/'))
			return -EINVAL;
		bdf_fmt(&addr, devs[n].bdf);
		if (strlcpy_chk(devs[n].driver, at, sizeof(devs[n].driver)) < 0)
			return -EINVAL;
		n++;
	}
	*ret_n = n;
	return 0;
}

static int loaded_is(void *data)
{
	return unload_module_state(data) == UNLOAD_LOADED;
}

static int gone_is(void *data)
{
	return unload_module_state(data) == UNLOAD_ABSENT;
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
static int busy_reason(int r, const char *mod, const struct rec_dev *devs, size_t n)
{
	char holders[UNLOAD_CHAIN_MAX][UNLOAD_NAME_MAX], desc[256];
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
	char holders[UNLOAD_CHAIN_MAX][UNLOAD_NAME_MAX];
	struct rec_dev devs[PLAN_MAX_DEVS];
	int timeout = step_timeout_ms(env);
	int64_t deadline = now_ms() + timeout, left;
	size_t n, nh;
	int r;

	r = rec_parse(s->rec, devs, ARRAY_SIZE(devs), &n);
	if (r < 0)
		return reason_set(r, "unload-module %s: bad record '%s'", s->arg, s->rec);
	switch (unload_module_state(s->arg)) {
	case UNLOAD_ABSENT:
		log_info("module %s is not loaded; nothing to remove", s->arg);
		return 0;
	case UNLOAD_BUILTIN:
		log_info("module %s is built in; not removed", s->arg);
		return 0;
	case UNLOAD_LOADED:
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

static int current_driver(const char *bdf, char *buf, size_t n)
{
	return device_driver("pci", bdf, buf, n);
}

/* Binds dev to its recorded driver unless loading the module did. */
static int rebind(const struct rec_dev *d, int timeout_ms)
{
	struct dev_wait w = {d->bdf, d->driver};
	char drv[64], p[VH_PATH_MAX];
	int r;

	r = current_driver(d->bdf, drv, sizeof(drv));
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
		current_driver(d->bdf, drv, sizeof(drv));
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
	struct rec_dev devs[PLAN_MAX_DEVS];
	int timeout = step_timeout_ms(env), r, ret = 0;
	size_t n;

	r = rec_parse(s->rec, devs, ARRAY_SIZE(devs), &n);
	if (r < 0) {
		log_err("unload-module %s: bad record '%s'", s->arg, s->rec);
		return r;
	}
	if (unload_module_state(s->arg) == UNLOAD_ABSENT) {
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
