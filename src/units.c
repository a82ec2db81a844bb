/* systemd units through systemctl (run by absolute path under the root prefix, so a fake
 * can stand in), and the stop-unit step: stop, wait until inactive; undo starts it. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "log.h"
#include "spawn.h"
#include "step.h"
#include "sysfs.h"
#include "units.h"
#include "util.h"

/* One is-active query is quick; this bounds a systemctl that hangs on PID 1. */
#define QUERY_TIMEOUT_MS 5000

/* The text of a failure, kept by the caller: apply makes it the reason, undo logs it
 * (during a rollback the reason already names the cause). */
struct why {
	char msg[512];
};

static int fail(struct why *w, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct why *w, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->msg, sizeof(w->msg), fmt, ap);
	va_end(ap);
	return r;
}

bool unit_name_ok(const char *unit)
{
	size_t len = strlen(unit);

	if (len == 0 || len > 127 || unit[0] == '-')
		return false;
	for (const char *c = unit; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr(":_.@\\-", *c)))
			return false;
	return true;
}

/* Runs systemctl VERB UNIT. The output's first line goes into out (for the reason). */
static int systemctl(const char *verb, const char *unit, int timeout_ms, char *out, size_t n,
		     int *ret_status, struct why *w)
{
	const char *argv[] = {"systemctl", "--no-ask-password", verb, unit, NULL};
	char path[VH_PATH_MAX];
	int r;

	if (!unit_name_ok(unit))
		return fail(w, -EINVAL, "invalid unit name '%s'", unit);
	r = spawn_find("systemctl", path, sizeof(path));
	if (r < 0)
		return fail(w, r, "systemctl not found (needed for %s)", unit);
	r = spawn_run(path, argv, timeout_ms, out, n, ret_status);
	if (r == -ETIMEDOUT)
		return fail(w, r, "systemctl %s %s did not finish within %d ms", verb, unit,
			    timeout_ms);
	if (r < 0)
		return fail(w, r, "cannot run %s: %s", path, strerror(-r));
	/* Only the first line: it goes into a one-line reason. */
	out[strcspn(out, "\n")] = '\0';
	strip_trailing(out);
	return 0;
}

static int state_of(const char *unit, char *buf, size_t n, struct why *w)
{
	char out[256];
	int status, r;

	r = systemctl("is-active", unit, QUERY_TIMEOUT_MS, out, sizeof(out), &status, w);
	if (r < 0)
		return r;
	/* is-active prints the state whatever its exit code (3 for inactive). */
	if (!out[0])
		return fail(w, -EIO, "systemctl is-active %s printed nothing (exit %d)", unit,
			    status);
	return strlcpy_chk(buf, out, n);
}

int unit_state(const char *unit, char *buf, size_t n)
{
	struct why w;
	int r = state_of(unit, buf, n, &w);

	return r < 0 ? reason_set(r, "%s", w.msg) : r;
}

static bool state_active(const char *st)
{
	return strcmp(st, "active") == 0 || strcmp(st, "activating") == 0 ||
	       strcmp(st, "reloading") == 0;
}

static int is_active(const char *unit, struct why *w)
{
	char st[64];
	int r = state_of(unit, st, sizeof(st), w);

	if (r < 0)
		return r;
	return state_active(st);
}

int unit_is_active(const char *unit)
{
	struct why w;
	int r = is_active(unit, &w);

	return r < 0 ? reason_set(r, "%s", w.msg) : r;
}

struct unit_wait {
	const char *unit;
	bool want_active;
	char last[64];
	struct why *why;
};

static int unit_reached(void *data)
{
	struct unit_wait *w = data;
	int r = state_of(w->unit, w->last, sizeof(w->last), w->why);

	if (r < 0)
		return r;
	if (w->want_active) {
		if (strcmp(w->last, "active") == 0)
			return 1;
		/* A unit that failed to start will not become active by waiting. */
		if (strcmp(w->last, "failed") == 0)
			return fail(w->why, -EIO, "unit %s failed to start: see journalctl -u %s",
				    w->unit, w->unit);
		return 0;
	}
	return strcmp(w->last, "inactive") == 0 || strcmp(w->last, "failed") == 0;
}

static int unit_change(const char *verb, const char *unit, bool want_active, int timeout_ms,
		       struct why *w)
{
	struct unit_wait uw = {.unit = unit, .want_active = want_active, .why = w};
	int64_t deadline = now_ms() + timeout_ms, left;
	char out[512];
	int status, r;

	log_info("%s %s", want_active ? "starting" : "stopping", unit);
	r = systemctl(verb, unit, timeout_ms, out, sizeof(out), &status, w);
	if (r < 0)
		return r;
	if (status != 0)
		return fail(w, -EIO, "systemctl %s %s failed (exit %d)%s%s", verb, unit, status,
			    out[0] ? ": " : "", out);
	/* systemctl returns when its job is done; the state is what counts. */
	left = deadline - now_ms();
	r = wait_until(unit_reached, &uw, left > 0 ? (int)left : 0);
	if (r == -ETIMEDOUT)
		return fail(w, r, "unit %s is still %s %d ms after systemctl %s", unit,
			    uw.last[0] ? uw.last : "in its old state", timeout_ms, verb);
	return r;
}

int unit_stop(const char *unit, int timeout_ms)
{
	struct why w;
	int r = unit_change("stop", unit, false, timeout_ms, &w);

	return r < 0 ? reason_set(r, "%s", w.msg) : r;
}

int unit_start(const char *unit, int timeout_ms)
{
	struct why w;
	int r = unit_change("start", unit, true, timeout_ms, &w);

	return r < 0 ? reason_set(r, "%s", w.msg) : r;
}

/* --- stop-unit U --- */

static int stop_unit_apply(const struct step *s, const struct step_env *env)
{
	int r = unit_is_active(s->arg);

	if (r < 0)
		return r;
	if (r == 0) {
		log_info("%s is not active; nothing to stop", s->arg);
		return 0;
	}
	return unit_stop(s->arg, step_timeout_ms(env));
}

static int stop_unit_undo(const struct step *s, const struct step_env *env)
{
	struct why w;
	int r = is_active(s->arg, &w);

	if (r > 0)
		return 0;
	if (r == 0)
		r = unit_change("start", s->arg, true, step_timeout_ms(env), &w);
	if (r < 0)
		log_err("cannot start %s again: %s; start it with 'systemctl start %s'", s->arg,
			w.msg, s->arg);
	return r;
}

const struct step_ops step_ops_stop_unit = {
    .name = "stop-unit",
    .apply = stop_unit_apply,
    .undo = stop_unit_undo,
};
