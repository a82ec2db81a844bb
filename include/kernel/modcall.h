/* The real module calls behind the kernel seam (libkmod), and the check that refuses a
 * module whose modprobe.d configuration would run an install command. */
#ifndef VH_KERNEL_MODCALL_H
#define VH_KERNEL_MODCALL_H

#include <stddef.h>

/* Loads name with options (libkmod probe, softdeps honoured, KMOD_PROBE_IGNORE_COMMAND).
 * Blocks as long as the module's init does: called in a deadline child. -EPERM, before
 * any system call, when the root prefix is not "/". */
int modcall_load(const char *name, const char *options);
/* Removes name (not its holders); -EBUSY when in use. -EPERM as above. */
int modcall_remove(const char *name);

/*
 * The modprobe.d `install` command that loading name would run (for it, a dependency or a
 * softdep), read from the configuration under the root prefix only: 1 with the module and
 * the command in mod and cmd, 0 when there is none. Reads files only.
 */
int modcall_install_command(const char *name, char *mod, size_t mod_n, char *cmd, size_t cmd_n);
/* 0, or -EPERM with a one-line reason naming the module and its install command. */
int modcall_refuse_install_command(const char *name);

#endif
