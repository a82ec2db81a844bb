/* systemd units (the display manager, helper services such as nvidia-persistenced):
 * state, stop and start through systemctl, each waited for with a deadline. Unit names
 * pass name_unit_valid() (base/names.h) first. */
#ifndef VH_KERNEL_UNITS_H
#define VH_KERNEL_UNITS_H

#include <stddef.h>

/* `systemctl is-active UNIT`: the state word ("active", "inactive", "failed",
 * "activating", "deactivating", ...) into buf. 0 or -errno with a reason. */
int unit_state(const char *unit, char *buf, size_t n);

/* 1 when active (or activating, reloading), 0 when not, -errno on error. */
int unit_is_active(const char *unit);

/* Stops (starts) the unit: systemctl stop (start) waits for its job, within timeout_ms, and
 * exits 0 only when the unit got there; its exit status is the answer (no is-active after
 * it). 0 or -errno with a reason naming the unit. */
int unit_stop(const char *unit, int timeout_ms);
int unit_start(const char *unit, int timeout_ms);

#endif
