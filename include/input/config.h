/* Configuration: the optional global file and the per-VM opt-in file, a small INI subset
 * (key = value, # comments, an optional [vfio-handoff] section line; any other section is
 * an error).
 * The global file gives defaults; the VM file overrides them. */
#ifndef VH_CONFIG_H
#define VH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "base/bdf.h"

#define CONFIG_DIR "/etc/vfio-handoff"
#define CONFIG_GLOBAL CONFIG_DIR "/vfio-handoff.conf"
#define CONFIG_VM_DIR CONFIG_DIR "/vm.d"
#define CONFIG_MAX_DEVICES 32
#define CONFIG_MAX_UNITS 8
#define CONFIG_MAX_MODULES 16
/* A value quoted in a reason is cut at this many bytes (str_quote), into this buffer. */
#define CONFIG_QUOTE_MAX 48
#define CONFIG_QUOTE_BUF (CONFIG_QUOTE_MAX * 4 + 8)

enum cfg_devices { CFG_DEVICES_HOSTDEVS, CFG_DEVICES_LIST };
enum cfg_group { CFG_GROUP_WHOLE, CFG_GROUP_STRICT };
enum cfg_tristate { CFG_AUTO, CFG_YES, CFG_NO };
enum cfg_unload { CFG_UNLOAD_AUTO, CFG_UNLOAD_NONE, CFG_UNLOAD_LIST };
enum cfg_holders { CFG_HOLDERS_WAIT, CFG_HOLDERS_KILL };

struct vm_config {
	enum cfg_devices devices; /* devices = hostdevs | <bdf list> */
	struct bdf device_list[CONFIG_MAX_DEVICES];
	size_t n_devices;
	enum cfg_group group;		/* group = whole | strict */
	enum cfg_tristate host_display; /* host-display = auto | yes | no */
	char display_manager[128];	/* display-manager = <unit> | none ("" = none) */
	enum cfg_unload unload;		/* unload-modules = auto | none | <list> */
	char unload_list[CONFIG_MAX_MODULES][64];
	size_t n_unload;
	enum cfg_holders holders;		  /* holders = wait | kill */
	int timeout_ms;				  /* timeout = <seconds> (decimal allowed: 2.5) */
	int kill_grace_ms;			  /* kill-grace = <seconds> */
	char vfio_options[256];			  /* vfio-pci-options = disable_vga=1 ... */
	bool vfio_options_set;			  /* given explicitly (else host-display default) */
	char helper_units[CONFIG_MAX_UNITS][128]; /* stop-units = nvidia-persistenced.service ... */
	size_t n_helper_units;
};

/* Fills defaults: hostdevs, whole, auto, display-manager.service, auto, wait, 10 s,
 * 2 s grace, no options, no helper units. */
void config_defaults(struct vm_config *cfg);

/*
 * Applies one file (rooted path built by the caller) on top of cfg. The file must be a
 * regular file owned by uid 0 and not writable by group or other: otherwise -EPERM.
 * A symlink, directory or FIFO: -EPERM. Unknown keys, bad values, a NUL byte, a file
 * over 64 KiB: -EINVAL. Missing file: -ENOENT (no reason set). cfg is untouched on error.
 * Errors record a reason "FILE:LINE: ..." via reason_set().
 */
int config_apply_file(const char *path, struct vm_config *cfg);

/* The owner uid config files, their directories and the journals must have (0; tests
 * may change it). */
void config_set_required_owner(unsigned uid);
unsigned config_required_owner(void);

/* A directory (rooted) holding files root acts on (the configuration, the journals):
 * whoever can write it can add, remove or swap them whatever their own owner and mode, so
 * it gets their rules: the required owner, not writable by group or other, not a symlink.
 * 0; -ENOENT without a reason when missing; otherwise -errno with a reason naming path. */
int config_check_dir(const char *path);

/* A configuration file (dir false) or directory open as fd at path: owned by the required
 * owner, not writable by group or other. 0 or -EPERM with a reason naming path. */
int config_check_owner(const char *path, int fd, bool dir);

/*
 * Loads ROOT/etc/vfio-handoff/vfio-handoff.conf (optional) then
 * ROOT/etc/vfio-handoff/vm.d/<vm>.conf. Both directories get the files' rules (owner,
 * no group/other write, no symlink); a missing one means no file in it. Returns 1 when the VM opted in (its file exists),
 * 0 when it did not (cfg then holds defaults+global), negative on error with a reason.
 * An invalid VM name is -EINVAL with a reason.
 */
int config_load(const char *vm, struct vm_config *cfg);

/* Whether the VM's opt-in file exists, checked with one stat, no parsing (the hook's fast
 * path for VMs that did not opt in). An invalid name is "not opted in". */
bool config_vm_opted_in(const char *vm);

#endif
