/* The module part of the plan: which driver modules go (with the modules holding them),
 * and which stay because they drive something the host keeps. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/util.h"
#include "facts/modules.h"
#include "facts/pcidev.h"
#include "input/config.h"
#include "plan/plan.h"
#include "steps/step.h"

/* --- planning --- */

struct unload_plan {
	char mods[MODULE_CHAIN_MAX * 2][MODULE_NAME_MAX];
	size_t n;
};

/* The record of module mod: the handed devices its drivers drive now, to bind back if
 * loading the module does not. */
static int rebind_devs(const struct plan *p, const char *mod, struct step *s)
{
	s->unload_module.n_devs = 0;
	for (size_t i = 0; i < p->n_devs; i++) {
		const struct pcidev *d = &p->devs[i];
		struct step_dev *sd = &s->unload_module.devs[s->unload_module.n_devs];

		if (strcmp(d->module, mod) != 0 || !d->driver[0])
			continue;
		if (s->unload_module.n_devs == STEP_UNLOAD_DEVS_MAX ||
		    strlcpy_chk(sd->bdf, d->name, sizeof(sd->bdf)) < 0 ||
		    strlcpy_chk(sd->driver, d->driver, sizeof(sd->driver)) < 0)
			return -ENAMETOOLONG;
		s->unload_module.n_devs++;
	}
	return 0;
}

/* Plans the removal of mod and its holders. explicit: the user listed it, so a module
 * that cannot go is an error rather than a note. */
static int plan_module(struct plan *p, struct unload_plan *up, const char *mod, bool explicit)
{
	char chain[MODULE_CHAIN_MAX][MODULE_NAME_MAX], other[128];
	struct step s;
	char who[MODULE_NAME_MAX + 16];
	size_t n;
	int r;

	switch (module_state_of(mod)) {
	case MODULE_ABSENT:
		if (explicit)
			plan_note(p, "module %s is not loaded: nothing to unload", mod);
		return 0;
	case MODULE_BUILTIN:
		plan_note(p, "module %s is built into the kernel: its devices are unbound only",
			  mod);
		return 0;
	case MODULE_LOADED:
		break;
	}
	r = module_chain(mod, chain, ARRAY_SIZE(chain), &n);
	if (r < 0)
		return reason_set(r, "cannot read the holders of module %s: %s", mod, strerror(-r));
	for (size_t i = 0; i < n; i++) {
		r = module_drives_other(chain[i], p->devs, p->n_devs, other, sizeof(other));
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
		if (module_in_list(up->mods, up->n, chain[i]))
			continue;
		if (up->n == ARRAY_SIZE(up->mods))
			return reason_set(-E2BIG, "too many modules to unload");
		if (module_state_of(chain[i]) != MODULE_LOADED)
			continue;
		r = plan_step_init(&s, STEP_UNLOAD_MODULE, chain[i]);
		if (r < 0)
			return r;
		r = rebind_devs(p, chain[i], &s);
		if (r < 0)
			return reason_set(r, "too many devices on module %s", chain[i]);
		r = plan_add_step(p, &s);
		if (r < 0)
			return r;
		strlcpy_chk(up->mods[up->n++], chain[i], MODULE_NAME_MAX);
	}
	return 0;
}

int plan_unload_modules(struct plan *p, const struct vm_config *cfg)
{
	struct unload_plan up = {.n = 0};
	char mod[MODULE_NAME_MAX];
	int r;

	if (cfg->unload == CFG_UNLOAD_NONE) {
		plan_note(p, "unload-modules = none: devices are unbound from their drivers only");
		return 0;
	}
	if (cfg->unload == CFG_UNLOAD_LIST) {
		for (size_t i = 0; i < cfg->n_unload; i++) {
			if (module_norm_name(cfg->unload_list[i], mod, sizeof(mod)) < 0 ||
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
