/* The module part of the plan: which driver modules go (with the modules holding them),
 * and which stay because they drive something the host keeps. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/util.h"
#include "facts/devlinks.h"
#include "facts/modules.h"
#include "facts/pcidev.h"
#include "input/config.h"
#include "plan/plan.h"
#include "steps/step.h"

/* --- planning --- */

struct unload_plan {
	char mods[MODULE_CHAIN_MAX * 2][MODULE_NAME_MAX];
	size_t n;
	/* Every module planned already, kept or not: each is decided once. */
	char seen[MODULE_CHAIN_MAX * 2][MODULE_NAME_MAX];
	size_t n_seen;
	const struct vm_config *cfg;
};

/* Modules whose HDMI audio component names them as the owner of its ops: while an HD audio
 * driver has the component bound, it holds a reference on them (try_module_get of
 * acomp->ops->owner, sound/hda/hdac_component.c) that /sys/module/M/holders does not show,
 * so they cannot go until that function is unbound. The component's device link (HD audio
 * function the consumer, the GPU the supplier) shows the binding. amdgpu's, radeon's and
 * nouveau's ops have no owner and pin nothing. */
static const char *const component_owners[] = {"i915", "xe"};

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

static bool handed(const struct plan *p, const char *bdf)
{
	for (size_t i = 0; i < p->n_devs; i++)
		if (strcmp(p->devs[i].name, bdf) == 0)
			return true;
	return false;
}

static bool listed(const struct vm_config *cfg, const char *mod)
{
	char m[MODULE_NAME_MAX];

	for (size_t i = 0; cfg->unload == CFG_UNLOAD_LIST && i < cfg->n_unload; i++)
		if (module_norm_name(cfg->unload_list[i], m, sizeof(m)) == 0 && strcmp(m, mod) == 0)
			return true;
	return false;
}

static int plan_module(struct plan *p, struct unload_plan *up, const char *mod, bool explicit);

/* An HD audio function whose HDMI component pins mod (component_owners): 1 with it in u,
 * 0 when there is none or mod is not such an owner. */
static int component_user(const struct plan *p, const char *mod, struct devlink_user *u)
{
	bool owner = false;
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(component_owners); i++)
		owner |= strcmp(component_owners[i], mod) == 0;
	if (!owner)
		return 0;
	for (size_t i = 0; i < p->n_devs; i++) {
		if (strcmp(p->devs[i].module, mod) != 0)
			continue;
		r = devlink_bound_consumer(p->devs[i].name, mod, u);
		if (r != 0)
			return r;
	}
	return 0;
}

/* mod may go only once the component pinning it is unbound: its user's module goes first
 * (planned here, before mod) when that function is handed over too and the module may go.
 * 1 when mod can go, 0 when it stays (noted), or -errno (refused). */
static int plan_component_user(struct plan *p, struct unload_plan *up, const char *mod,
			       bool explicit)
{
	struct devlink_user u;
	const char *who;
	bool given;
	int r;

	r = component_user(p, mod, &u);
	if (r < 0)
		return reason_set(r, "cannot read the device links of module %s's devices: %s", mod,
				  strerror(-r));
	if (r == 0)
		return 1;
	who = u.module[0] ? u.module : u.driver;
	given = handed(p, u.bdf);
	if (given && u.module[0] && (!explicit || listed(up->cfg, u.module))) {
		r = plan_module(p, up, u.module, explicit);
		if (r < 0)
			return r;
		if (module_in_list(up->mods, up->n, u.module))
			return 1;
	}
	if (explicit)
		return reason_set(
		    -EBUSY,
		    "unload-modules lists %s, but %s holds it through the HDMI audio "
		    "component of %s (not shown in /sys/module/%s/holders): hand %s "
		    "over and list %s too, or leave %s out to unbind its devices only",
		    mod, who, u.bdf, mod, u.bdf, who, mod);
	plan_note(p,
		  "module %s stays loaded: %s holds it through the HDMI audio component of "
		  "%s%s; devices are unbound only",
		  mod, who, u.bdf, given ? "" : ", which stays on the host");
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

	if (module_in_list(up->seen, up->n_seen, mod))
		return 0;
	if (up->n_seen == ARRAY_SIZE(up->seen))
		return reason_set(-E2BIG, "too many modules to unload");
	strlcpy_chk(up->seen[up->n_seen++], mod, MODULE_NAME_MAX);
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
	r = plan_component_user(p, up, mod, explicit);
	if (r <= 0)
		return r;
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
	struct unload_plan up = {.n = 0, .n_seen = 0, .cfg = cfg};
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
