/* Test fixtures: fake sysfs, proc, dev and run trees under a temporary root, so the real
 * engine runs against them with the fake kernel (fakekernel.h) behind kernel_ops. */
#ifndef VH_TEST_FIXTURE_H
#define VH_TEST_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The tree, as Linux shows it (paths relative to ROOT, the temporary root):
 *
 * PCI (libpci's sysfs backend reads it with sysfs.path = ROOT/sys/bus/pci)
 *   sys/devices/pci0000:00/<bdf>/            every device flat under pci0000:00
 *     vendor device class ("0x030000") subsystem_vendor subsystem_device revision irq
 *     resource (13 lines, 17 for bridges) config (64 bytes: ids, class, header type with
 *     the multi-function bit) modalias numa_node reset_method
 *     driver_override                        "(null)" when unset
 *     boot_vga                               VGA class (0x0300xx) only
 *     iommu_group -> ../../../kernel/iommu_groups/<N>
 *     driver -> ../../../bus/pci/drivers/<drv>          only while bound
 *   sys/bus/pci/devices/<bdf> -> ../../../devices/pci0000:00/<bdf>
 *   sys/bus/pci/drivers/<drv>/{bind,unbind,new_id,remove_id,uevent}
 *     <bdf> -> ../../../../devices/pci0000:00/<bdf>      each bound device
 *     module -> ../../../../module/<mod>                  not for builtin drivers
 *   sys/bus/pci/drivers_probe
 *   sys/kernel/iommu_groups/<N>/{type, devices/<bdf> -> ../../../../devices/pci0000:00/<bdf>}
 *   dev/vfio/<N>                             while a device of group N is on vfio-pci
 *
 * Modules
 *   sys/module/<mod>/{initstate "live", refcnt, holders/<h> -> ../../<h>, parameters/<p>}
 *   builtin: sys/module/<mod>/{parameters/, uevent}, no initstate, no refcnt
 *   refcnt = pinned + holders + open files on its device nodes + 1 while the frame buffer
 *   console draws on fb0 of a device bound to one of its drivers. It is recomputed after
 *   every kernel op and fx_ call, and by the fake systemctl when processes come and go.
 *
 * Consoles and framebuffers
 *   sys/class/vtconsole/vtconN -> ../../devices/virtual/vtconsole/vtconN  {name, bind}
 *     vtcon0 "(S) dummy device"; the frame buffer console "(M) frame buffer device"
 *     vanishes with the last framebuffer and comes back bound when one is registered.
 *   sys/bus/platform/devices/<dev> -> ../../../devices/platform/<dev>
 *     (efi-framebuffer.0 or simple-framebuffer.0) {driver_override, modalias,
 *     driver -> ../../../bus/platform/drivers/<drv>}
 *   sys/bus/platform/drivers/<drv>/{bind, unbind, <dev> -> ../../../../devices/platform/<dev>}
 *   sys/class/graphics/fbN -> ../../devices/<owner dir>/graphics/fbN
 *     {name, dev "29:N", uevent, device -> the owner (platform framebuffer or GPU)}
 *   sys/class/drm/cardN -> ../../devices/pci0000:00/<bdf>/drm/cardN
 *     {dev "226:N", uevent, device -> ../../../<bdf>}; renderD(128+N) likewise
 *   sys/class/drm/cardN-<connector> -> .../drm/cardN/cardN-<connector> {status, enabled}
 *   sys/class/sound/controlCN -> .../<bdf>/sound/cardN/controlCN {dev "116:M", uevent}
 *   Every "dev" file has a "uevent" beside it with MAJOR, MINOR and DEVNAME ("dri/card0").
 *
 * Device nodes and holders
 *   Nodes (dev/dri/card0, dev/nvidia0, dev/fb0, ...) are empty regular files; their
 *   major:minor and owning module are listed in ROOT/.fake/devnodes (fake-only).
 *   proc/<pid>/{comm, cmdline, cgroup, fd/<n>}: fd/0..2 -> ROOT/dev/null, fd/3.. -> the
 *   held nodes, as absolute ROOT-prefixed links. The engine must find holders BY PATH:
 *   stat() each proc/<pid>/fd/<n> (following the link) and compare st_dev and st_ino with
 *   stat() of ROOT/dev/<DEVNAME>; comparing st_rdev as well is right for real hosts, but in
 *   a fixture every node has st_rdev 0. Fake pids are above PID_MAX_LIMIT (4194304), so a
 *   kill() sent to one can never reach a real process; it fails with ESRCH.
 *   proc/self is a directory (not a pid) holding mounts and mountinfo.
 *
 * Storage and network (for the "host needs it" checks)
 *   proc/self/mounts and proc/self/mountinfo; proc/mounts -> self/mounts; proc/swaps.
 *   NVMe: sys/devices/pci0000:00/<bdf>/nvme/nvme0/nvme0n1/nvme0n1p<k>/{dev, partition},
 *   sys/class/block/nvme0n1[p<k>] -> ../../devices/pci0000:00/<bdf>/nvme/nvme0/nvme0n1[/..],
 *   sys/block/nvme0n1, sys/class/nvme/nvme0, dev/nvme0n1p<k> (block 259:k).
 *   NIC: sys/devices/pci0000:00/<bdf>/net/<if>/{ifindex, operstate, address,
 *   device -> ../../../<bdf>}, sys/class/net/<if> -> ../../devices/pci0000:00/<bdf>/net/<if>,
 *   proc/net/route (default route: destination and mask 00000000), proc/net/ipv6_route.
 *
 * Units (the fake systemctl, tests/fixtures/fake-systemctl.c, installed at
 * ROOT/usr/bin/systemctl and ROOT/bin/systemctl)
 *   run/fake-systemd/<unit> "active"|"inactive"; alias/<name> holds the real unit;
 *   <unit>.refuse-stop / .refuse-start make that command fail; <unit>.pids lists the
 *   unit's processes (stop moves their proc/<pid> away, start brings them back);
 *   <unit>.graphics: the unit keeps the VT in graphics mode while active.
 *   etc/systemd/system/display-manager.service -> /lib/systemd/system/<unit> as distributions
 *   have it (absolute: read it with readlink and take the basename, never follow it).
 *
 * ROOT/.fake/ is the fake kernel's side state (which module provides which driver, native
 * drivers, what a driver creates for a device, counters, failure injection); fx_snapshot()
 * ignores it and ROOT/run/vfio-handoff.
 *
 * Errors in building a fixture fail the running cmocka test at once.
 */

#define FX_PID_BASE 4194400 /* first fake pid the topologies use */

/* --- Life cycle --- */

/* Makes a fresh tree under $TMPDIR (or /tmp), root_set()s it and installs the fake kernel.
 * Returns ROOT. A tree left by an earlier test is removed first. */
const char *fx_setup(void);
/* Removes the tree, restores the real kernel seam and root "/". Safe to call twice. */
void fx_teardown(void);
/* cmocka group/test setup and teardown wrappers around the two above. */
int fx_cmocka_setup(void **state);
int fx_cmocka_teardown(void **state);
const char *fx_root(void);

/* --- Tree access (rel is relative to ROOT; a leading '/' is allowed) --- */

/* printf into one of 16 rotating buffers: fine for arguments, not for keeping. */
const char *fx_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* ROOT + "/" + rel, in a rotating buffer: what the engine's path_join() gives. */
const char *fx_path(const char *rel);
void fx_write(const char *rel, const char *content); /* creates parent directories */
void fx_write_bin(const char *rel, const void *data, size_t n);
void fx_append(const char *rel, const char *text);
/* Reads a file, trailing newline stripped. 0 or -errno. */
int fx_read(const char *rel, char *buf, size_t n);
/* The file as a string ("" when absent), trailing newline stripped, rotating buffer. */
const char *fx_cat(const char *rel);
bool fx_exists(const char *rel);		   /* lstat: dangling links exist */
void fx_mkdir(const char *rel);			   /* mkdir -p */
void fx_link(const char *rel, const char *target); /* replaces an existing entry */
int fx_readlink(const char *rel, char *buf, size_t n);
void fx_rm(const char *rel);			/* rm -rf */
void fx_move(const char *from, const char *to); /* rename, parents created */

/* --- Modules and drivers --- */

/* A loaded module: pinned references the tree does not otherwise show, and the modules
 * that use it (space-separated, or NULL). Each holder is recorded as using mod, so removing
 * the holder drops it from mod's holders and loading it again puts it back (and loads mod
 * first, as modprobe does). */
void fx_module(const char *mod, int pinned, const char *holders);
/* A builtin module: sys/module/<mod> without initstate or refcnt. */
void fx_module_builtin(const char *mod);
/* A parameter shown under sys/module/<mod>/parameters; it comes back with this value when
 * the module is loaded again (as modprobe.d would give it). */
void fx_module_param(const char *mod, const char *name, const char *value);
/* module_remove(mod) fails with -EBUSY whatever its refcnt. */
void fx_module_stuck(const char *mod);
/* A PCI driver provided by module mod (NULL: builtin), loaded now: the driver directory
 * exists and mod is loaded (created with pinned 0 if not declared yet). */
void fx_driver(const char *drv, const char *mod);
/* A PCI driver whose module is known but not loaded: module_load(mod) creates it. */
void fx_driver_avail(const char *drv, const char *mod);
/* Unbinding a device from drv blocks in the kernel (-ETIMEDOUT, nothing changes) while any
 * process holds a node owned by drv's module: nvidia's remove waits for its files. */
void fx_driver_blocks_unbind(const char *drv);

/* --- PCI devices --- */

/* A PCI device. class is 24-bit (0x030000). driver: bound now (its directory must exist)
 * and recorded as the device's native driver, or NULL for unbound. group < 0: no IOMMU
 * group. boot_vga: 1, 0, or -1 for none (only VGA-class devices have the file). */
void fx_pci(const char *bdf, unsigned vendor, unsigned device, unsigned class, const char *driver,
	    int group, int boot_vga);
/* The driver drivers_probe binds the device to when no override says otherwise. */
void fx_native_driver(const char *bdf, const char *drv);

/* --- Consoles, framebuffers, DRM, sound, device nodes --- */

/* vtconN with the name shown ("(S) dummy device", "(M) frame buffer device") and bind. */
void fx_vtcon(int n, const char *name, int bind);
/* While on, the VT is in graphics mode: writes to a vtcon's bind succeed and change
 * nothing, as the kernel does. fx_unit_graphics() ties it to a unit. */
void fx_vt_graphics(bool on);
/* Boot framebuffer platform device dev ("efi-framebuffer.0"), bound to drv
 * ("efi-framebuffer") or unbound when drv is NULL; drv's directory is created. */
void fx_platform_fb(const char *dev, const char *drv);
/* Boot framebuffer platform device dev sits on PCI device bdf's memory: when bdf's native
 * driver probes it, dev is unregistered (fake_aperture.c). */
void fx_aperture(const char *bdf, const char *dev);
/* fbN named name ("EFI VGA", "i915drmfb"), owned by owner: a platform framebuffer device
 * or a PCI bdf. It disappears (with dev/fbN) when the owner is unbound from its driver and
 * comes back when it is bound to it again. mod: the module the frame buffer console and
 * open files on dev/fbN reference (the DRM driver's; NULL for a builtin framebuffer). */
void fx_fb(int n, const char *owner, const char *name, const char *mod);
/* DRM cardN and renderD(128+N) of PCI device bdf with nodes dev/dri/..., owned by the
 * device's driver (module mod for the nodes' references, NULL for none). connectors:
 * "HDMI-A-1:connected DP-1:disconnected" or NULL. */
void fx_drm_card(int n, const char *bdf, const char *mod, const char *connectors);
/* Sound card N of PCI device bdf: controlCN and dev/snd/controlCN. */
void fx_sound(int n, const char *bdf);
/* A device node: rel ("dev/nvidia0"), 'c' or 'b', major:minor, the module an open file on
 * it references (NULL for none), and the device that creates it (NULL: static node that
 * stays whatever the driver does). */
void fx_devnode(const char *rel, char type, unsigned major, unsigned minor, const char *mod,
		const char *owner);

/* --- Processes and units --- */

/* A process with comm and open files (NULL-terminated list of "/dev/..." paths, or NULL).
 * unit: the systemd unit it belongs to (stopping the unit ends it), or NULL. */
void fx_proc(int pid, const char *comm, const char *unit, const char *const open_paths[]);
/* The process exits: its proc/<pid> goes away. */
void fx_proc_exit(int pid);
/* A unit, active or not. */
void fx_unit(const char *unit, bool active);
/* alias -> unit, in run/fake-systemd/alias and, for display-manager.service, in
 * etc/systemd/system as distributions link it. */
void fx_unit_alias(const char *alias, const char *unit);
/* The unit keeps the VT in graphics mode while active (a display manager). */
void fx_unit_graphics(const char *unit);
void fx_unit_refuse_stop(const char *unit);
void fx_unit_refuse_start(const char *unit);
/* "active" or "inactive" (rotating buffer). */
const char *fx_unit_state(const char *unit);
/* Every fake systemctl command line so far, one per line; malloc'ed. */
char *fx_systemctl_log(void);

/* --- Storage and network --- */

/* An NVMe controller (class 0x010802, driver nvme) with namespace nvme<ctrl>n1 and one
 * partition p<part>; mountpoint != NULL mounts that partition there (ext4). */
void fx_nvme(const char *bdf, int group, int ctrl, int part, const char *mountpoint);
/* A mount line: source ("/dev/nvme0n1p2"), target, fstype, "major:minor". */
void fx_mount(const char *source, const char *target, const char *fstype, const char *majmin);
/* An Ethernet controller (class 0x020000, driver e1000e) with interface ifname, carrying
 * the IPv4 default route when default_route. */
void fx_nic(const char *bdf, int group, const char *ifname, bool default_route);

/* --- What the fake kernel did, and failures to inject --- */

/* Kernel ops so far (write_attr, module_load, module_remove each count one). */
int fx_writes(void);
/* The n-th kernel op (1-based, counting from fx_setup) fails with -err, changing nothing. */
void fx_fail_write_at(int n, int err);
/* Every kernel op whose description matches the fnmatch(3) pattern fails with -err,
 * changing nothing. Descriptions: "<rel path as written>=<value without newline>"
 * ("sys/bus/pci/drivers/vfio-pci/bind=0000:01:00.0"), "module_load=<mod>",
 * "module_remove=<mod>" (module names with '_'). */
void fx_fail_on(const char *pattern, int err);
void fx_fail_clear(void);
/* The driver a device is bound to, "" when unbound (rotating buffer). */
const char *fx_driver_of(const char *bdf);
/* refcnt of a loaded module, -1 when not loaded. */
int fx_refcnt(const char *mod);
/* Options module_load() was last given for mod, NULL if never loaded by the fake kernel
 * (rotating buffer). */
const char *fx_module_options(const char *mod);
/* Recomputes what the kernel derives (refcnts) after a test changed the tree by hand. */
void fx_sync(void);

/* --- Snapshots --- */

/* The whole tree as sorted text, one entry per line: "d <rel>", "f <rel> <content>"
 * (text escaped, binary as "hex:..."), "l <rel> -> <target>" (ROOT written as "$ROOT").
 * Ignores ROOT/.fake and ROOT/run/vfio-handoff. malloc'ed. */
char *fx_snapshot(void);
/* Prints the lines only in a ("-") or only in b ("+") to stderr; returns how many. */
int fx_snapshot_diff(const char *a, const char *b);
/* fixture_tree.c: the tree now against before, exactly (a failed test shows the diff), or
 * but for what a hand-off leaves by design (vfio-pci loaded with its driver directory,
 * /dev/vfio/vfio, the opt-in files); fx_diff_but_design() returns how many lines differ. */
void fx_assert_same_tree(const char *before);
int fx_diff_but_design(const char *before);
void fx_assert_same_but_design(const char *before);

#endif
