/* After release: the host console and the units the journal stopped are back, or an error
 * says what to do. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "facts/consoles.h"
#include "input/config.h"
#include "kernel/units.h"
#include "steps/journal.h"
#include "steps/step.h"
#include "steps/verify.h"

/* --- after release --- */

static int fb_console_bound(void *data)
{
	int r = consoles_fb_bound();

	return r < 0 ? 0 : r;
}

int display_verify_restored(const struct journal_data *d, const struct vm_config *cfg)
{
	int timeout = cfg && cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
	bool had_vtcon = false, had_reason = reason_get()[0] != '\0';
	int problems = 0;

	for (size_t i = 0; i < d->n_steps; i++)
		if (d->steps[i].kind == STEP_UNBIND_VTCON)
			had_vtcon = true;
	/* fbcon binds by itself once the GPU driver's framebuffer is back: give it until the
	 * deadline. */
	if (had_vtcon && wait_until(fb_console_bound, NULL, timeout) < 0) {
		log_err("VM '%s': no frame buffer console is bound after release: the host "
			"console did not come back; check that the GPU driver loaded (dmesg), "
			"then bind it with 'echo 1 > /sys/class/vtconsole/vtconN/bind' for the "
			"vtcon whose name says frame buffer",
			d->vm);
		problems++;
	}
	for (size_t i = 0; i < d->n_steps; i++) {
		const char *unit = d->steps[i].arg;
		int r;

		if (d->steps[i].kind != STEP_STOP_UNIT)
			continue;
		r = unit_is_active(unit);
		if (r > 0)
			continue;
		log_err("VM '%s': %s is not active after release%s%s; start it with "
			"'systemctl start %s' (see 'journalctl -u %s')",
			d->vm, unit, r < 0 ? ": " : "", r < 0 ? reason_get() : "", unit, unit);
		problems++;
	}
	/* The checks' own failures are logged above; they are not the cause of anything. */
	if (!had_reason)
		reason_clear();
	return problems ? -EIO : 0;
}
