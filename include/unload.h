/* Driver modules of handed devices: whether one may go (it drives nothing that stays on
 * the host), the modules holding it (removed first), and the unload-module step whose
 * undo loads them back and binds the devices it recorded. */
#ifndef VH_UNLOAD_H
#define VH_UNLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "pcidev.h"

#define UNLOAD_NAME_MAX 64
#define UNLOAD_CHAIN_MAX 16

enum unload_state {
	UNLOAD_ABSENT,	/* no /sys/module/M */
	UNLOAD_BUILTIN, /* /sys/module/M without initstate */
	UNLOAD_LOADED,	/* a loadable module, loaded */
};

/* The name as /sys/module spells it: '-' becomes '_'. */
int unload_norm_name(const char *name, char *buf, size_t n);

/* The state of module name (already normalized). Never fails. */
enum unload_state unload_module_state(const char *name);

/* The modules to remove for name, holders before what they hold, name last (for nvidia:
 * nvidia_drm, nvidia_modeset, nvidia_uvm, nvidia). Holders come from
 * /sys/module/M/holders, recursively. */
int unload_chain(const char *name, char (*ret)[UNLOAD_NAME_MAX], size_t max, size_t *ret_n);

/* Whether module name drives a device that is not in keep[] (the handed devices): a PCI
 * device whose driver's module is name, or any device of a driver listed in
 * /sys/module/M/drivers. 1 with the device's name in other ("0000:03:00.0"), 0, -errno. */
int unload_drives_other(const char *name, const struct pcidev *keep, size_t n_keep, char *other,
			size_t n_other);

#endif
