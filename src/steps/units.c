/* The stop-unit step: stop a systemd unit (systemctl waits until it is inactive); undo
 * starts it again. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "base/log.h"
#include "kernel/units.h"
#include "steps/step.h"

/* --- stop-unit U --- */

/* One systemctl per step: the planner asked is-active a moment before (the step is only
 * planned for an active unit), and stop of a unit that stopped meanwhile is a no-op that
 * exits 0. */
static int stop_unit_apply(const struct step *s, const struct step_env *env)
{
	return unit_stop(s->arg, step_timeout_ms(env));
}

/* Start of an active unit is a no-op that exits 0 too, so undo needs no is-active first;
 * release checks that the unit is active once, at its end (steps/verify.c). */
static int stop_unit_undo(const struct step *s, const struct step_env *env)
{
	struct reason_saved outer;
	int r;

	/* During a rollback the reason names the cause: this failure is only logged. */
	reason_push(&outer);
	r = unit_start(s->arg, step_timeout_ms(env));
	if (r < 0)
		log_err("cannot start %s again: %s; start it with 'systemctl start %s'", s->arg,
			reason_get(), s->arg);
	reason_pop(&outer);
	return r;
}

const struct step_ops step_ops_stop_unit = {
    .name = "stop-unit",
    .apply = stop_unit_apply,
    .undo = stop_unit_undo,
};
