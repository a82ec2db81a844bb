/* The names the program accepts, one rule each. A name that passes becomes a file name,
 * a systemctl argument or one component of a sysfs path, so each rule keeps out '/', ".",
 * "..", control characters and anything that would read as an option. */
#ifndef VH_BASE_NAMES_H
#define VH_BASE_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define VM_NAME_MAX 200
#define NAME_MAX_LEN 64 /* module, driver and platform device names */

/* VM name fit for a path: 1..VM_NAME_MAX bytes of well-formed UTF-8 with no control
 * character (C0, DEL, C1) and no '/', no leading '.'. */
bool name_vm_valid(const char *name);

/* A systemd unit name: 1..127 bytes of letters, digits and "@._:-", starting with a letter
 * or digit (a leading '-' would read as an option), ending in .service, .socket, .target
 * or .scope. */
bool name_unit_valid(const char *name);

/* A driver name as the kernel shows it under /sys/bus/<bus>/drivers (letters, digits,
 * "_.-"), a module name as modprobe knows it (letters, digits, "_-"), and a platform
 * device name (as a driver's): 1..NAME_MAX_LEN-1 bytes starting with a letter, digit or
 * '_'. */
bool name_driver_valid(const char *name);
bool name_module_valid(const char *name);
bool name_platform_valid(const char *name);

/* A module option as the configuration takes it: key=value, the key of [a-z0-9_], the
 * value of letters, digits and "_.,:-" (no quoting, nothing a shell or modprobe would
 * read further). */
bool name_option_valid(const char *opt);

/* "vtcon" and 1 to 3 digits. */
bool name_vtcon_valid(const char *name);

#endif
