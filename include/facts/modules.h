/* Driver modules of handed devices: their state, whether one may go (it drives nothing
 * that stays on the host), and the modules holding it (removed first). */
#ifndef VH_FACTS_MODULES_H
#define VH_FACTS_MODULES_H

#include <stdbool.h>
#include <stddef.h>

#include "facts/pcidev.h"

#define MODULE_NAME_MAX 64
#define MODULE_CHAIN_MAX 16

enum module_state {
	MODULE_ABSENT,	/* no /sys/module/M */
	MODULE_BUILTIN, /* /sys/module/M without initstate */
	MODULE_LOADED,	/* a loadable module, loaded */
};

/* The name as /sys/module spells it: '-' becomes '_'. */
int module_norm_name(const char *name, char *buf, size_t n);

/* The state of module name (already normalized). Never fails. */
enum module_state module_state_of(const char *name);

/* The modules to remove for name, holders before what they hold, name last (for nvidia:
 * nvidia_drm, nvidia_modeset, nvidia_uvm, nvidia). Holders come from
 * /sys/module/M/holders, recursively. */
/* Whether name is one of the n names of list. */
bool module_in_list(char (*list)[MODULE_NAME_MAX], size_t n, const char *name);

/* The modules named in /sys/module/M/holders, sorted. */
int module_holders(const char *name, char (*ret)[MODULE_NAME_MAX], size_t max, size_t *ret_n);

int module_chain(const char *name, char (*ret)[MODULE_NAME_MAX], size_t max, size_t *ret_n);

/* Whether module name drives a device that is not in keep[] (the handed devices): a PCI
 * device whose driver's module is name, or any device of a driver listed in
 * /sys/module/M/drivers. 1 with the device's name in other ("0000:03:00.0"), 0, -errno. */
int module_drives_other(const char *name, const struct pcidev *keep, size_t n_keep, char *other,
			size_t n_other);

#endif
