/* The kernel boundary: every change to the kernel goes through one seam (kernel_ops) so
 * tests can put a fake kernel behind it, and every call through it has a deadline. */
#ifndef VH_KERNEL_KERNEL_H
#define VH_KERNEL_KERNEL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The kernel seam: every change to the kernel, and every read whose show() takes the
 * device's lock, goes through one of these. None of them is called in our own process:
 * kernel_write() and the others below run it in a child process that holds no descriptor
 * of ours but its result pipe, with a deadline, because bind, unbind, drivers_probe,
 * driver_override show and store all take device_lock, and a driver's remove() can hold
 * it forever (vfio-pci while the device is open, nvidia while /dev/nvidia* is open); a
 * module's init or exit can hang the same way.
 * write_attr is one write(2) of val to the attribute at path (rooted), checked for short
 * writes and close(). read_attr reads an attribute (driver_override) into buf.
 * module_load loads a module by name with options (libkmod probe, softdeps honoured; no
 * modprobe.d install command is ever run); module_remove removes one module (not its
 * holders), failing with -EBUSY when in use.
 * fbcon_takeover asks fbcon to take the consoles again through framebuffer fb (its
 * device node fbdev, rooted), with the FBIOPUT_CON2FBMAP ioctl: on Linux 6.1 writing 1
 * to the frame buffer vtcon's bind does nothing while the framebuffer stayed registered.
 * With a root other than "/" the real module calls and the ioctl are refused (-EPERM)
 * before any system call: a fixture's names are not this machine's.
 */
struct kernel_ops {
	int (*write_attr)(const char *path, const char *val);
	int (*read_attr)(const char *path, char *buf, size_t n);
	int (*module_load)(const char *name, const char *options);
	int (*module_remove)(const char *name);
	int (*fbcon_takeover)(const char *fbdev, int fb);
};

extern const struct kernel_ops kernel_ops_real;
#ifdef VH_TEST_SEAMS
/* Replaces the seam (test builds only). NULL restores the real one. */
void kernel_ops_set(const struct kernel_ops *ops);
#endif
const struct kernel_ops *kernel_ops_get(void);

/* The deadline of every kernel call whose caller gives none (timeout_ms <= 0): the VM's
 * timeout once the engine set it, 10 s before. */
void kernel_timeout_set(int timeout_ms);
int kernel_timeout_ms(void);

/*
 * Through the seam, each in a child with a deadline (timeout_ms <= 0: kernel_timeout_ms()).
 * path is rooted by the caller. -ETIMEDOUT when the call has not returned in time; the
 * device it concerns (the value written to bind, unbind or drivers_probe; the device
 * directory of driver_override) is then wedged: every later call on it in this run fails
 * at once with -EDEADLK. A module whose load or removal timed out is wedged the same way.
 */
int kernel_write(const char *path, const char *val, int timeout_ms);
int kernel_read(const char *path, char *buf, size_t n, int timeout_ms);
int kernel_module_load(const char *name, const char *options);
int kernel_module_remove(const char *name, int timeout_ms);
/* Whether dev on bus answers a call that takes its lock (a driver_override read): 0, or
 * -ETIMEDOUT (it is wedged then), or another -errno. */
int kernel_device_probe(const char *bus, const char *dev, int timeout_ms);
/* -EOPNOTSUPP when the seam has no fbcon_takeover. */
int kernel_fbcon_takeover(const char *fbdev, int fb);

/* Devices (PCI or platform names) and modules ("module:NAME") a kernel call did not return
 * from in this run. kernel_wedge() marks one (a device whose group another one's holder
 * keeps); kernel_wedged_clear() forgets them all. */
void kernel_wedge(const char *name);
bool kernel_is_wedged(const char *name);
size_t kernel_wedged_count(void);
const char *kernel_wedged_at(size_t i);
void kernel_wedged_clear(void);

#endif
