/* The fake kernel for unit tests: a struct kernel_ops that changes the fixture tree the way
 * Linux changes /sys when drivers bind and unbind and modules come and go. */
#ifndef VH_TEST_FAKEKERNEL_H
#define VH_TEST_FAKEKERNEL_H

#include <stdbool.h>
#include <stddef.h>

#include "kernel/kernel.h"

/*
 * Installed by fx_setup(). It acts only under the fixture root (any other path: -EPERM,
 * nothing touched) and keeps all its state in the tree and ROOT/.fake, so a forked child
 * sees the same kernel. Every call counts as one kernel op for fx_writes() and failure
 * injection; an injected failure changes nothing.
 *
 * write_attr (the value loses one trailing newline, as the kernel's store() does):
 *   <dev>/driver_override     stores the value; "" clears it to "(null)"
 *   drivers/<drv>/unbind B    -ENODEV unless B is bound to drv; else unbinds; what the
 *                             driver made for B (DRM card, fb, nodes, net, nvme) goes away.
 *                             If drv blocks (fx_driver_blocks_unbind) while a process
 *                             holds a node of its module (for vfio-pci: the device's
 *                             group node dev/vfio/N), remove() waits with the device's
 *                             lock held, as Linux does: the call does not return until
 *                             the holder lets go, and the remove stays pending in the
 *                             tree when the caller is killed (a task in D state).
 *   device_lock               bind, unbind, drivers_probe and driver_override (written,
 *                             or read with read_attr) wait while a remove of the device
 *                             is pending; a pending remove completes at the first call
 *                             that finds its holder gone, or at fk_settle()
 *   drivers/<drv>/bind B      -ENODEV if B does not exist or drv does not match it (an
 *                             override names another driver; no override and drv is not
 *                             B's native driver: vfio-pci and pci-stub match only through
 *                             the override, as since Linux 5.16); -EBUSY if B is bound
 *   drivers/<drv>/new_id      -EOPNOTSUPP (not modelled: ids grab every matching device)
 *   drivers_probe B           -ENODEV if B does not exist; else 0 always: binds B to its
 *                             override, or without one to its native driver, when that
 *                             driver is loaded, and otherwise leaves it unbound
 *   vtconN/bind 0|1           always 0; changes nothing for the system console "(S)" or
 *                             while the VT is in graphics mode; else the frame buffer
 *                             console (un)binds and the dummy console takes the opposite
 *   platform bind/unbind      like PCI, for boot framebuffers
 *   other files               -EACCES when they exist, -ENOENT when not
 * Binding a device to vfio-pci creates dev/vfio/<group>; it goes when no device of the
 * group is left on vfio-pci. Loading vfio_pci creates dev/vfio/vfio, which stays. When
 * the last fbN goes, the frame buffer vtcon goes; when one comes back, the console comes
 * back bound.
 *
 * module_load (name with '-' or '_'): 0 if loaded or builtin; -ENOENT if unknown; else
 *   loads the modules it uses first, creates sys/module/<mod> and the drivers it provides,
 *   and probes every unbound device whose override (or, without one, native driver) is
 *   one of them. Options are recorded (fx_module_options).
 * module_remove: -ENOENT if not loaded, builtin included (delete_module(2)'s answer);
 *   -EBUSY if stuck, if it has holders or if its refcnt is not 0 (the real seam reports
 *   the kernel's EWOULDBLOCK as -EBUSY too); else unbinds every device of its drivers
 *   (rmmod does that silently), removes them and the module, and leaves the holders
 *   lists of the modules it used.
 */
extern const struct kernel_ops fake_kernel_ops;

/* Completes every pending remove whose holder let go, as the kernel does by itself the
 * moment the last file closes. Tests call it after a holder exits. */
void fk_settle(void);

/* Derived state: the frame buffer console following the framebuffers, and refcnts. */
void fk_sync(void);
/* Refcnts only (what builders need: consoles follow framebuffers only on kernel ops). */
void fk_refcnt_sync(void);

/* Shared by the support files. */
void fk_module_create(const char *mod);
void fk_driver_create(const char *drv);
/* bus "pci" or "platform": links dev and drv both ways and brings back what drv made for
 * dev when drv is its native driver. */
void fk_attach(const char *bus, const char *dev, const char *drv);
/* The native driver probed PCI device bdf: the firmware framebuffer devices declared on
 * its memory (fx_aperture) are unregistered, with what their driver made. */
void fk_aperture_takeover(const char *bdf);
/* HDMI audio components and device links (fake_component.c): the links follow the
 * drivers' binding; the references a bound component holds on the GPU driver's module. */
void fk_component_sync(void);
int fk_component_refs(const char *mod);
/* rel becomes part of what owner's native driver creates (parked while unbound). */
void fk_owned_add(const char *owner, const char *rel);
/* Appends line to the list file rel unless it is there already. */
void fk_line_add(const char *rel, const char *line);
bool fk_line_has(const char *rel, const char *line);
/* The whole file, NUL-terminated, malloc'ed; NULL when absent. */
char *fk_slurp(const char *rel, size_t *ret_len);
/* snprintf that fails the test instead of truncating; returns the length. */
int fk_fmt(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Fails the running cmocka test with the message. */
void fx_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
