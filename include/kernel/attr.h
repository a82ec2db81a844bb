/* Bounded reads of attributes under the root prefix (sysfs, procfs): none of them takes a
 * device's lock, so they run in our own process. */
#ifndef VH_KERNEL_ATTR_H
#define VH_KERNEL_ATTR_H

#include <stdbool.h>
#include <stddef.h>

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

#endif
