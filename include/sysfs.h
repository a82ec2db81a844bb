/* Every path the program touches goes through one root prefix ("/" on a real host, a
 * fixture tree in tests), and every change to the kernel goes through one seam (kernel_ops)
 * so tests can put a fake kernel behind it. */
#ifndef VH_SYSFS_H
#define VH_SYSFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "root.h"

/* Reads a small attribute file (bounded by n-1 bytes), trailing whitespace stripped.
 * path is already rooted. 0 or -errno. */
int attr_read(const char *path, char *buf, size_t n);
/* Reads an integer attribute (decimal or 0x hex). */
int attr_read_long(const char *path, long *ret);
/* Basename of the target of the symlink at path (e.g. the driver link). -ENOENT if absent. */
int link_base(const char *path, char *buf, size_t n);
bool path_exists(const char *path);
/* The driver device dev on bus ("pci", "platform") is bound to, into buf ("" when
 * unbound). -ENOENT when the device is gone. */
int device_driver(const char *bus, const char *dev, char *buf, size_t n);

/*
 * The kernel seam. write_attr is one write(2) of val to the attribute at path (rooted),
 * checked for short writes and close(); timeout_ms bounds writes that can block in the
 * kernel (unbind): the real one does it in a child process with a deadline.
 * module_load loads a module by name with options (libkmod probe, softdeps honoured);
 * module_remove removes one module (not its holders), failing with -EBUSY/-EWOULDBLOCK
 * when in use.
 * fbcon_takeover asks fbcon to take the consoles again through framebuffer fb (its
 * device node fbdev, rooted), with the FBIOPUT_CON2FBMAP ioctl: on Linux 6.1 writing 1
 * to the frame buffer vtcon's bind does nothing while the framebuffer stayed registered.
 */
struct kernel_ops {
	int (*write_attr)(const char *path, const char *val, int timeout_ms);
	int (*module_load)(const char *name, const char *options);
	int (*module_remove)(const char *name, int timeout_ms);
	int (*fbcon_takeover)(const char *fbdev, int fb);
};

extern const struct kernel_ops kernel_ops_real;
/* Replaces the seam (tests). NULL restores the real one. */
void kernel_ops_set(const struct kernel_ops *ops);
const struct kernel_ops *kernel_ops_get(void);

/* Convenience wrappers through the seam. path is rooted by the caller. */
int kernel_write(const char *path, const char *val, int timeout_ms);
int kernel_module_load(const char *name, const char *options);
int kernel_module_remove(const char *name, int timeout_ms);
/* -EOPNOTSUPP when the seam has no fbcon_takeover. */
int kernel_fbcon_takeover(const char *fbdev, int fb);

/* Runs fn(data) in a child process (stdio on /dev/null) and returns its result, or
 * -ETIMEDOUT when it has not finished within timeout_ms: for kernel calls that can block
 * forever (an unbind while a device is open, a module whose remove hangs). */
int run_with_deadline(int (*fn)(void *data), void *data, int timeout_ms);

#endif
