/* systemd units through systemctl, run by absolute path under the root prefix (so a fake
 * can stand in): state, stop and start, each waited for with a deadline. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "base/log.h"
#include "base/names.h"
#include "base/root.h"
#include "base/util.h"
#include "kernel/spawn.h"
#include "kernel/units.h"

/* One is-active query is quick; this bounds a systemctl that hangs on PID 1. */
#define QUERY_TIMEOUT_MS 5000

/* Runs systemctl VERB UNIT. The output's first line goes into out (for the reason). */
static int systemctl(const char *verb, const char *unit, int timeout_ms, char *out, size_t n,
		     int *ret_status)
{
	const char *argv[] = {"systemctl", "--no-ask-password", verb, unit, NULL};
	char path[VH_PATH_MAX];
	int r;

	if (!name_unit_valid(unit))
		return reason_set(-EINVAL, "invalid unit name '%s'", unit);
	r = spawn_find("systemctl", path, sizeof(path));
	if (r < 0)
		return reason_set(r, "systemctl not found (needed for %s)", unit);
	r = spawn_run(path, argv, timeout_ms, out, n, ret_status);
	if (r == -ETIMEDOUT)
		return reason_set(r, "systemctl %s %s did not finish within %d ms", verb, unit,
				  timeout_ms);
	if (r < 0)
		return reason_set(r, "cannot run %s: %s", path, strerror(-r));
	/* Only the first line: it goes into a one-line reason. */
	out[strcspn(out, "\n")] = '\0';
	strip_trailing(out);
	return 0;
}

static int state_of(const char *unit, char *buf, size_t n)
{
	char out[256];
	int status, r;

	r = systemctl("is-active", unit, QUERY_TIMEOUT_MS, out, sizeof(out), &status);
	if (r < 0)
		return r;
	/* is-active prints the state whatever its exit code (3 for inactive). */
	if (!out[0])
		return reason_set(-EIO, "systemctl is-active %s printed nothing (exit %d)", unit,
				  status);
	return strlcpy_chk(buf, out, n);
}

int unit_state(const char *unit, char *buf, size_t n)
{
	return state_of(unit, buf, n);
}

static bool state_active(const char *st)
{
	return strcmp(st, "active") == 0 || strcmp(st, "activating") == 0 ||
	       strcmp(st, "reloading") == 0;
}

int unit_is_active(const char *unit)
{
	char st[64];
	int r = state_of(unit, st, sizeof(st));

	if (r < 0)
		return r;
	return state_active(st);
}

/* systemctl stop and start (without --no-block) wait for their job and exit 0 only when it
 * finished as asked ("done"): the unit is inactive (active) then. A job that fails, is
 * cancelled or depends on one that failed makes systemctl exit non-zero. So the exit status
 * is the answer, and no is-active after it: each systemctl is a process, dear under
 * emulation. Release checks the state once more at its end (steps/verify.c). */
static int unit_change(const char *verb, const char *unit, bool want_active, int timeout_ms)
{
	char out[512];
	int status, r;

	log_info("%s %s", want_active ? "starting" : "stopping", unit);
	r = systemctl(verb, unit, timeout_ms, out, sizeof(out), &status);
	if (r < 0)
		return r;
	if (status != 0)
		return reason_set(-EIO, "systemctl %s %s failed (exit %d)%s%s", verb, unit, status,
				  out[0] ? ": " : "", out);
	return 0;
}

int unit_stop(const char *unit, int timeout_ms)
{
	return unit_change("stop", unit, false, timeout_ms);
}

int unit_start(const char *unit, int timeout_ms)
{
	return unit_change("start", unit, true, timeout_ms);
}
