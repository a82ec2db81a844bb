/* The stop-unit step: stop a systemd unit and wait until it is inactive; undo starts it
 * again. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "base/log.h"
#include "kernel/units.h"
#include "steps/step.h"

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
	struct reason_saved outer;
	int r;

	/* During a rollback the reason names the cause: this failure is only logged. */
	reason_push(&outer);
	r = unit_is_active(s->arg);
	if (r == 0)
		r = unit_start(s->arg, step_timeout_ms(env));
	if (r < 0)
		log_err("cannot start %s again: %s; start it with 'systemctl start %s'", s->arg,
			reason_get(), s->arg);
	reason_pop(&outer);
	return r > 0 ? 0 : r;
}

const struct step_ops step_ops_stop_unit = {
    .name = "stop-unit",
    .apply = stop_unit_apply,
    .undo = stop_unit_undo,
};
