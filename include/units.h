/* systemd units (the display manager, helper services such as nvidia-persistenced):
 * state, stop and start through systemctl, each waited for with a deadline. */
#ifndef VH_UNITS_H
#define VH_UNITS_H

#include <stdbool.h>
#include <stddef.h>

/* A name safe to pass to systemctl: 1..127 bytes of [A-Za-z0-9:_.@\-], not starting with
 * '-' (it would be read as an option). */
bool unit_name_ok(const char *unit);

/* `systemctl is-active UNIT`: the state word ("active", "inactive", "failed",
 * "activating", "deactivating", ...) into buf. 0 or -errno with a reason. */
int unit_state(const char *unit, char *buf, size_t n);

/* 1 when active (or activating, reloading), 0 when not, -errno on error. */
int unit_is_active(const char *unit);

/* Stops (starts) the unit and waits until it is inactive (active), all within
 * timeout_ms. 0 or -errno with a reason naming the unit. */
int unit_stop(const char *unit, int timeout_ms);
int unit_start(const char *unit, int timeout_ms);

#endif
