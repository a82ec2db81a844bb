/* Logging to syslog (ident vfio-handoff) and, when run by hand, to stderr; and the
 * one-line reason a failed operation reports. */
#ifndef VH_LOG_H
#define VH_LOG_H

#include <stdbool.h>
#include <syslog.h>

enum log_target {
	LOG_TO_SYSLOG = 1 << 0,
	LOG_TO_STDERR = 1 << 1,
};

/* targets: a mask of LOG_TO_*. max_prio: messages above it are dropped from stderr
 * (syslog always gets up to LOG_INFO; LOG_DEBUG only when verbose). */
void log_setup(unsigned targets, int max_prio);
void log_close(void);
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/*
 * The reason: the first failure recorded since the last reason_clear() wins (it is the
 * cause; later ones are consequences). Returns r so callers can write
 *   return reason_set(-ENOENT, "device %s does not exist", name);
 * r must be negative. The caller at the top reports it (once) and logs it.
 */
int reason_set(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *reason_get(void); /* "" when none */
void reason_clear(void);

/*
 * A nested reason, for work whose failure is not the operation's cause (an undo during a
 * rollback, a check after release): reason_push() saves the outer reason and starts an
 * empty one; the caller reads what failed with reason_get() and logs it; reason_pop()
 * puts the outer reason back. The reason stays the one channel for a failure's text.
 */
struct reason_saved {
	char text[1024];
};
void reason_push(struct reason_saved *saved);
void reason_pop(const struct reason_saved *saved);

#endif
